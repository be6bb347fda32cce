package authcomms

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aegisgo/aegis/template/internal/components/backend"
	"github.com/aegisgo/aegis/template/internal/components/database"
	"github.com/aegisgo/aegis/template/internal/components/frontend/frontendtest"
	"github.com/aegisgo/aegis/template/internal/runtime/logtest"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
	"github.com/aegisgo/aegis/template/internal/runtime/registry/registrytest"
	"github.com/aegisgo/aegis/template/internal/services/auth"
	"github.com/aegisgo/aegis/template/internal/services/comms"
	"github.com/aegisgo/aegis/template/internal/services/comms/mailpittest"
	"github.com/aegisgo/aegis/template/internal/services/commsdb"
)

// testSecret is long enough for production rules.
const testSecret = "0123456789abcdef0123456789abcdef-authcomms-test"

// Subjects of the shipped templates with COMMS_APP_NAME=Acme.
const (
	subjectVerify       = "Confirm your email address for Acme"
	subjectReset        = "Reset your Acme password"
	subjectChanged      = "Your Acme password was changed"
	subjectEmailChanged = "Your Acme email address was changed"
)

// goodPassword and newPassword are not on the common list.
const (
	goodPassword = "correct horse battery staple"
	newPassword  = "tr0ub4dor and three more words"
)

// authSettings are fast (argon2id with 64 KiB and one pass) and keep auth's own limits out
// of the way.
func authSettings() auth.Settings {
	return auth.Settings{Secret: testSecret, Argon2MemoryKiB: 64, Argon2Iterations: 1, Argon2Parallelism: 1,
		LoginIPLimit: 1_000_000, LoginAccountLimit: 1_000_000, RegisterIPLimit: 1_000_000}.WithDefaults()
}

// testClock is the clock of tokens; tests move it forward to expire them.
type testClock struct{ offset atomic.Int64 }

func (c *testClock) now() time.Time          { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *testClock) advance(d time.Duration) { c.offset.Add(int64(d)) }

// env is one app: the real auth, comms (SMTP to its own Mailpit) and this glue on one
// database, served by the real backend handler on a real HTTP server.
type env struct {
	mp    *mailpittest.Server
	db    *database.DB
	comms *comms.Service
	svc   *Service
	auth  *auth.AuthService
	users *auth.UserService
	url   string
	logs  *logtest.Buffer
	clock *testClock
	seq   atomic.Int64
}

// setup builds the app; mod adjusts the glue's settings (the limits are out of the way
// unless it sets them).
func setup(t *testing.T, db *database.DB, mod func(*Settings)) *env {
	t.Helper()
	mp := mailpittest.Start(t)
	logs := &logtest.Buffer{}
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c, err := comms.New(comms.Settings{EmailProvider: comms.ProviderSMTP, SMTPHost: "127.0.0.1", SMTPPort: mp.SMTPPort,
		SMTPTLSPolicy: comms.TLSNone, SMTPTimeout: 5 * time.Second, AppName: "Acme", From: "Acme <noreply@acme.test>"},
		&comms.Opts{Logger: logger, Store: commsdb.NewStore(db)})
	if err != nil {
		t.Fatal(err)
	}
	as := authSettings()
	users, err := auth.NewUserServiceWith(db, as)
	if err != nil {
		t.Fatal(err)
	}
	s := Settings{MailIPLimit: 1_000_000, MailAccountLimit: 1_000_000, TokenIPLimit: 1_000_000}
	if mod != nil {
		mod(&s)
	}
	clock := &testClock{}
	svc, err := New(db, users, c, s, &Opts{Secret: as.Secret, BaseURL: "https://app.example.com", Logger: logger, Now: clock.now})
	if err != nil {
		t.Fatal(err)
	}
	a, err := auth.NewAuthServiceWith(db, users, as, &auth.AuthOpts{Logger: logger, Hooks: svc})
	if err != nil {
		t.Fatal(err)
	}
	srv := backend.NewServer(backend.Settings{MaxBodyBytes: 16 << 10})
	cont := registrytest.Start(t, registry.New(), func(r *registry.Registry) error {
		return errors.Join(
			registry.Value(r, srv, registry.Component(backend.Name)),
			registry.Value(r, users),
			registry.Value(r, a),
			registry.Value(r, svc),
		)
	})
	// The routes contributed from init(): auth's and this glue's.
	h, err := srv.Handler(cont, &backend.HandlerOpts{Title: "authcommstest", Logger: logger, Routes: registry.Contributions[backend.Routes](registry.Default)})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(h)
	t.Cleanup(hs.Close)
	t.Cleanup(func() {
		// No token may reach the logs, whatever happened.
		if m := tokenPattern.FindString(logs.String()); m != "" {
			t.Errorf("a token reached the log: %s", m)
		}
	})
	return &env{mp: mp, db: db, comms: c, svc: svc, auth: a, users: users, url: hs.URL, logs: logs, clock: clock}
}

// response is an answer read in full.
type response struct {
	status int
	header http.Header
	body   []byte
}

// call sends a JSON request to the app; token is a bearer access token or "".
func (e *env) call(t *testing.T, method, path string, body any, token string) response {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	r, err := http.NewRequestWithContext(t.Context(), method, e.url+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		r.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	return fetch(t, r)
}

// fetch sends r and reads the whole answer.
func fetch(t *testing.T, r *http.Request) response {
	t.Helper()
	res, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{status: res.StatusCode, header: res.Header, body: b}
}

// want asserts the status and decodes the body into T.
func want[T any](t *testing.T, r response, status int) T {
	t.Helper()
	var v T
	if r.status != status {
		t.Fatalf("status = %d, want %d; body %s", r.status, status, r.body)
	}
	if len(r.body) > 0 {
		if err := json.Unmarshal(r.body, &v); err != nil {
			t.Fatalf("decode %s: %v", r.body, err)
		}
	}
	return v
}

// problem is an RFC 9457 problem as huma writes it.
type problem struct {
	Title, Detail string
	Status        int
	Errors        []struct{ Location, Message string }
}

// wantProblem asserts r is a problem with status.
func wantProblem(t *testing.T, r response, status int) problem {
	t.Helper()
	if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("Content-Type = %q, want application/problem+json; status %d, body %s", ct, r.status, r.body)
	}
	p := want[problem](t, r, status)
	if p.Status != status || p.Title == "" || p.Detail == "" {
		t.Fatalf("problem = %+v, want status %d, a title and a detail", p, status)
	}
	return p
}

// account is a registered user.
type account struct {
	id              int64
	email, username string
	password        string
}

// register signs a fresh user up through the API.
func (e *env) register(t *testing.T) account {
	t.Helper()
	n := e.seq.Add(1)
	a := account{email: "user" + itoa(n) + "@example.com", username: "user" + itoa(n), password: goodPassword}
	u := want[auth.UserBody](t, e.call(t, "POST", auth.AuthPrefix+"/register",
		map[string]string{"email": a.email, "username": a.username, "password": a.password, "full_name": "User " + itoa(n)}, ""), http.StatusCreated)
	a.id = u.ID
	return a
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// login returns the status and, on success, the tokens.
func (e *env) login(t *testing.T, login, password string) (response, auth.TokenBody) {
	t.Helper()
	r := e.call(t, "POST", auth.AuthPrefix+"/login", map[string]string{"login": login, "password": password}, "")
	var tb auth.TokenBody
	if r.status == http.StatusOK {
		tb = want[auth.TokenBody](t, r, http.StatusOK)
	}
	return r, tb
}

// tokenPattern finds a link's token.
var tokenPattern = regexp.MustCompile(`token=([A-Za-z0-9_-]{64})`)

// linkToken returns the token of the link in m's text and checks the link's page.
func linkToken(t *testing.T, m mailpittest.Message, page string) string {
	t.Helper()
	if !strings.Contains(m.Text, page+"?token=") {
		t.Fatalf("no link to %s in:\n%s", page, m.Text)
	}
	found := tokenPattern.FindStringSubmatch(m.Text)
	if found == nil {
		t.Fatalf("no token in:\n%s", m.Text)
	}
	if !strings.Contains(m.HTML, found[1]) {
		t.Fatalf("the HTML part lacks the link:\n%s", m.HTML)
	}
	return found[1]
}

// mailsTo counts the messages to addr that arrived.
func (e *env) mailsTo(addr string) int {
	n := 0
	for _, s := range e.mp.Messages() {
		for _, a := range s.To {
			if strings.EqualFold(a.Address, addr) {
				n++
			}
		}
	}
	return n
}

// noTokenStored checks that the comms message store (the comms_messages table) and the
// dashboard's Comms panel hold no trace of token once the mails in progress were handed
// over, and that the panel says the body of the sensitive mail with subject was removed.
func (e *env) noTokenStored(t *testing.T, token, subject, reason string) {
	t.Helper()
	e.svc.wait()
	var rows []string
	if err := e.db.Bun().NewRaw(`SELECT payload FROM comms_messages`).Scan(t.Context(), &rows); err != nil {
		t.Fatal(err)
	}
	if len(rows) == 0 {
		t.Fatal("no message stored")
	}
	for _, row := range rows {
		if strings.Contains(row, token) {
			t.Errorf("comms_messages holds the token: %s", row)
		}
	}
	list, err := e.comms.Messages(t.Context(), comms.ListParams{})
	if err != nil {
		t.Fatal(err)
	}
	// The app's container: the routes contributed from init() need auth and this glue.
	h := frontendtest.Handler(t, nil, func(r *registry.Registry) error {
		return errors.Join(registry.Value(r, e.comms), registry.Value(r, e.users), registry.Value(r, e.auth), registry.Value(r, e.svc))
	})
	b := frontendtest.NewBrowser(t, h)
	if page := b.Get("/dashboard/panels/comms"); strings.Contains(page, token) {
		t.Errorf("the Comms panel shows the token:\n%s", page)
	}
	found := false
	for _, m := range list {
		page := b.Get("/dashboard/panels/comms?id=" + string(m.ID))
		if strings.Contains(page, token) {
			t.Errorf("the Comms panel shows the token in message %s:\n%s", m.ID, page)
		}
		if m.Summary() == subject {
			found = true
			if !strings.Contains(page, "Body removed after delivery: it held "+reason) {
				t.Errorf("the panel does not say the body of %q was removed:\n%s", subject, page)
			}
		}
	}
	if !found {
		t.Errorf("no stored message %q", subject)
	}
}
