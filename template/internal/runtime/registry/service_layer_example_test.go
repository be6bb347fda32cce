package registry_test

// The code of the app's docs/service-layer.md, kept compiling and running here. TestServiceLayerDocs
// checks that every Go block of the page appears verbatim in this file.

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/aegisgo/aegis/template/internal/runtime/registry"
	"github.com/aegisgo/aegis/template/internal/runtime/registry/registrytest"
)

// --- internal/services/accounts.go

// Accounts stores sign-ups. A real app would hold a *database.DB here.
type Accounts struct {
	mu     sync.Mutex
	emails map[string]bool
}

func NewAccounts(ctx context.Context) (*Accounts, error) {
	return &Accounts{emails: map[string]bool{}}, nil
}

func (a *Accounts) Create(email string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.emails[email] {
		return fmt.Errorf("%s is already signed up", email)
	}
	a.emails[email] = true
	return nil
}

// --- internal/services/mailer.go

// Mailer is an interface so tests can swap in a fake.
type Mailer interface {
	Send(ctx context.Context, to, body string) error
}

// LogMailer prints mail instead of sending it.
type LogMailer struct{}

func NewLogMailer(ctx context.Context) (*LogMailer, error) { return &LogMailer{}, nil }

func (*LogMailer) Send(ctx context.Context, to, body string) error {
	fmt.Printf("mail to %s: %s\n", to, body)
	return nil
}

// --- internal/services/audit.go

// AuditLog collects what one request or job did and writes it out when the scope closes.
type AuditLog struct {
	entries []string
}

func NewAuditLog(ctx context.Context) (*AuditLog, error) { return &AuditLog{}, nil }

func (a *AuditLog) Record(entry string) { a.entries = append(a.entries, entry) }

// Close is called by Scope.Close at the end of the request or job.
func (a *AuditLog) Close() error {
	fmt.Printf("audit: %s\n", strings.Join(a.entries, "; "))
	return nil
}

// --- internal/services/signup.go

// SignupService holds the business logic; handlers and jobs only call it.
type SignupService struct {
	accounts *Accounts
	mail     Mailer
	audit    *AuditLog
}

func NewSignupService(ctx context.Context, accounts *Accounts, mail Mailer, audit *AuditLog) (*SignupService, error) {
	return &SignupService{accounts: accounts, mail: mail, audit: audit}, nil
}

func (s *SignupService) Signup(ctx context.Context, email string) error {
	if !strings.Contains(email, "@") {
		return fmt.Errorf("signup: %q is not an email address", email)
	}
	if err := s.accounts.Create(email); err != nil {
		return fmt.Errorf("signup: %w", err)
	}
	s.audit.Record("signed up " + email)
	return s.mail.Send(ctx, email, "welcome!")
}

func init() {
	r := registry.Default
	_ = registry.Provide(r, NewAccounts, registry.Describe("sign-up storage"))
	_ = registry.Provide(r, NewLogMailer, registry.Kind(registry.KindComponent))
	_ = registry.Bind[Mailer, *LogMailer](r)
	_ = registry.Provide(r, NewAuditLog, registry.WithLifetime(registry.Scoped))
	_ = registry.Provide3(r, NewSignupService, registry.WithLifetime(registry.Scoped))
}

// --- internal/components/backend/signup.go

// SignupHandler is thin: read the input, call the service, write the status.
func SignupHandler(w http.ResponseWriter, r *http.Request) {
	scope, _ := registry.FromContext(r.Context()) // put there by registry.Middleware
	signup, err := registry.Get[*SignupService](scope)
	if err != nil {
		http.Error(w, "service unavailable", http.StatusServiceUnavailable)
		return
	}
	if err := signup.Signup(r.Context(), r.FormValue("email")); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	w.WriteHeader(http.StatusCreated)
}

// --- internal/components/worker/import.go

// ImportSignups is a background job: one scope per run, as one per request.
func ImportSignups(ctx context.Context, c *registry.Container, emails []string) (err error) {
	scope := c.NewScope(ctx)
	defer func() { err = errors.Join(err, scope.Close(ctx)) }()

	signup, err := registry.Get[*SignupService](scope)
	if err != nil {
		return err
	}
	for _, email := range emails {
		if err := signup.Signup(ctx, email); err != nil {
			return err
		}
	}
	return nil
}

// --- cmd/app/main.go (the serve command, shortened)

func Example_serviceLayer() {
	ctx := context.Background()
	c, err := registry.Default.Build() // everything init() registered, validated
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := c.Start(ctx); err != nil {
		fmt.Println(err)
		return
	}
	defer c.Stop(ctx)

	mux := http.NewServeMux()
	mux.HandleFunc("POST /signup", SignupHandler)
	handler := registry.Middleware(c)(mux) // a scope per request

	form := url.Values{"email": {"ada@example.com"}}
	req := httptest.NewRequest(http.MethodPost, "/signup", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	handler.ServeHTTP(rec, req)
	fmt.Println("HTTP", rec.Code)

	if err := ImportSignups(ctx, c, []string{"grace@example.com", "alan@example.com"}); err != nil {
		fmt.Println(err)
	}
	// Output:
	// mail to ada@example.com: welcome!
	// audit: signed up ada@example.com
	// HTTP 201
	// mail to grace@example.com: welcome!
	// mail to alan@example.com: welcome!
	// audit: signed up grace@example.com; signed up alan@example.com
}

// --- internal/services/signup_test.go

// fakeMailer records mail instead of sending it.
type fakeMailer struct {
	sent []string
}

func (f *fakeMailer) Send(ctx context.Context, to, body string) error {
	f.sent = append(f.sent, to)
	return nil
}

func TestSignupSendsWelcome(t *testing.T) {
	// A fresh Registry: only what this test needs, with the mailer swapped for a fake.
	r := registry.New()
	mail := &fakeMailer{}
	_ = registry.Provide(r, NewAccounts)
	_ = registry.Value[Mailer](r, mail)
	_ = registry.Provide(r, NewAuditLog, registry.WithLifetime(registry.Scoped))
	_ = registry.Provide3(r, NewSignupService, registry.WithLifetime(registry.Scoped))

	c := registrytest.Start(t, r) // built and started; stopped when the test ends

	scope := c.NewScope(t.Context())
	defer scope.Close(t.Context())
	signup := registry.MustGet[*SignupService](scope)

	if err := signup.Signup(t.Context(), "ada@example.com"); err != nil {
		t.Fatal(err)
	}
	if err := signup.Signup(t.Context(), "ada@example.com"); err == nil {
		t.Error("second sign-up with the same email succeeded")
	}
	if len(mail.sent) != 1 || mail.sent[0] != "ada@example.com" {
		t.Errorf("sent %v, want one welcome to ada@example.com", mail.sent)
	}
}

// TestServiceLayerDocs keeps docs/service-layer.md honest: every Go block on the page must
// appear verbatim in this package's tests, where it compiles and runs. A block introduced by a
// "From [file](path):" line quotes another owner's file (a chapter that owner adds to the page),
// and that owner's tests check it.
func TestServiceLayerDocs(t *testing.T) {
	t.Parallel()
	// The page ships with every app, at docs/service-layer.md of the app's root.
	root := filepath.Join("..", "..", "..")
	doc, err := os.ReadFile(filepath.Join(root, "docs", "service-layer.md"))
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob("*_test.go")
	if err != nil {
		t.Fatal(err)
	}
	var src strings.Builder
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		src.Write(b)
	}
	blocks := 0
	for rest := string(doc); ; {
		start := strings.Index(rest, "```go\n")
		if start < 0 {
			break
		}
		before := rest[:start]
		rest = rest[start+len("```go\n"):]
		end := strings.Index(rest, "\n```")
		if end < 0 {
			t.Fatal("unterminated Go block")
		}
		block := rest[:end]
		rest = rest[end:]
		if quotedFrom(before) {
			continue
		}
		blocks++
		if !strings.Contains(src.String(), block) {
			first, _, _ := strings.Cut(block, "\n")
			t.Errorf("Go block starting %q is not in the package's tests; update the page or the example", first)
		}
	}
	if blocks < 5 {
		t.Errorf("found %d Go blocks on the page, want the whole example", blocks)
	}
}

// quotedFrom reports whether the text before a code block ends with a "From [file](path):"
// line and a blank line: the block quotes that file.
func quotedFrom(before string) bool {
	lines := strings.Split(strings.TrimSuffix(before, "\n\n"), "\n")
	last := lines[len(lines)-1]
	return strings.HasPrefix(last, "From [") && strings.HasSuffix(last, "):")
}
