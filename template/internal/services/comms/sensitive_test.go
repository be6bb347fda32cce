package comms

import (
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aegisgo/aegis/template/internal/components/frontend/frontendtest"
	"github.com/aegisgo/aegis/template/internal/runtime/logtest"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"

	"github.com/aegisgo/aegis/template/internal/runtime/testserver"
)

// secretLink is the one-time link of the tests: it must reach the recipient and nothing else.
const secretLink = "https://app.test/reset?token=s3cr3t-0ne-t1me-t0ken"

// TestSensitiveTemplates: the shipped reset and verification templates declare what they
// hold; the others do not; an empty block still marks a template.
func TestSensitiveTemplates(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "code.txt.tmpl"), []byte(`{{define "sensitive"}}
  {{.What}}
  code {{end}}{{define "subject"}}Your code{{end}}{{define "content"}}{{.Code}}{{end}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "blank.txt.tmpl"), []byte(`{{define "sensitive"}} {{end}}{{define "subject"}}Hi{{end}}{{define "content"}}x{{end}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	tpl, err := LoadTemplates(dir, "Acme")
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{
		"password-reset": "the password reset link", "verify-email": "the email verification link",
		"welcome": "", "password-changed": "", "blank": defaultSensitive,
	} {
		data, err := tpl.Sample(name)
		if err != nil {
			t.Fatal(err)
		}
		r, err := tpl.Render(name, data)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if r.Sensitive != want {
			t.Errorf("%s: Sensitive = %q, want %q", name, r.Sensitive, want)
		}
		if strings.Contains(r.Text, r.Sensitive) && r.Sensitive != "" {
			t.Errorf("%s: the reason leaked into the body:\n%s", name, r.Text)
		}
	}
	r, err := tpl.Render("code", map[string]any{"What": "the sign-in", "Code": "123456"})
	if err != nil || r.Sensitive != "the sign-in code" {
		t.Errorf("code: Sensitive = %q, %v; want one line from the data", r.Sensitive, err)
	}
	if _, err := tpl.Render("code", map[string]any{"Code": "123456"}); !errors.Is(err, ErrTemplate) {
		t.Errorf("a missing variable in the block = %v, want ErrTemplate", err)
	}
}

// TestRedact: the copy keeps the envelope and the attachments' names and sizes, and nothing
// that may carry the secret; the original is untouched.
func TestRedact(t *testing.T) {
	t.Parallel()
	m := &Message{From: "a@x.test", To: []string{"b@x.test"}, Bcc: []string{"c@x.test"}, Subject: "Reset", Text: secretLink,
		HTML: secretLink, Headers: map[string]string{"X-Link": secretLink}, Template: "password-reset", Sensitive: "the link",
		Attachments: []Attachment{{Filename: "a.txt", ContentType: "text/plain", Content: []byte(secretLink)}}}
	r := m.Redact()
	if !r.Redacted || r.Text != "" || r.HTML != "" || r.Headers != nil || r.Subject != "Reset" || r.To[0] != "b@x.test" ||
		r.Bcc[0] != "c@x.test" || r.Sensitive != "the link" || r.Template != "password-reset" ||
		r.Attachments[0].Content != nil || r.Attachments[0].Len() != int64(len(secretLink)) || r.Attachments[0].Filename != "a.txt" {
		t.Errorf("Redact = %+v", r)
	}
	if m.Redacted || m.Text != secretLink || m.Attachments[0].Content == nil {
		t.Errorf("Redact changed the original: %+v", m)
	}
	if _, err := prepare(*r, "app@x.test", 1<<20); !errors.Is(err, ErrRedacted) {
		t.Errorf("sending a redacted copy = %v, want ErrRedacted", err)
	}
}

// sensitiveEnv is a service whose logs a test reads, with its dashboard.
type sensitiveEnv struct {
	svc  *Service
	logs *logtest.Buffer
	h    http.Handler
}

func newSensitiveEnv(t *testing.T, email EmailProvider) sensitiveEnv {
	t.Helper()
	logs := &logtest.Buffer{}
	svc, err := New(Settings{AppName: "Acme"}, &Opts{Email: email, Logger: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	h := frontendtest.Handler(t, nil, func(r *registry.Registry) error { return registry.Value(r, svc) })
	t.Cleanup(func() {
		if strings.Contains(logs.String(), "s3cr3t") {
			t.Errorf("the secret reached the log:\n%s", logs)
		}
	})
	return sensitiveEnv{svc: svc, logs: logs, h: h}
}

func (e sensitiveEnv) sendReset(t *testing.T) ID {
	t.Helper()
	id, err := e.svc.SendTemplate(t.Context(), "password-reset", "ada@example.com", map[string]any{"Name": "Ada", "ResetURL": secretLink, "ExpiresIn": "1 hour"})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// TestSensitiveDeliveredOverSMTP: a reset mail reaches Mailpit with its link; the store then
// keeps its envelope only, the panel says the body was removed and why, and neither the
// service nor the panel resends it.
func TestSensitiveDeliveredOverSMTP(t *testing.T) {
	t.Parallel()
	mp, p := mailpitSMTP(t)
	e := newSensitiveEnv(t, p)
	id := e.sendReset(t)
	// An email sent with Send and a reason of its own, with an attachment.
	other, err := e.svc.Send(t.Context(), Message{To: []string{"bob@example.com"}, Subject: "Your key", Text: "key: s3cr3t-key",
		Sensitive: "the API\nkey", Attachments: []Attachment{{Filename: "key.txt", Content: []byte("s3cr3t-key-file")}}})
	if err != nil {
		t.Fatal(err)
	}

	if got := mp.MessageTo("ada@example.com", "Reset your Acme password"); !strings.Contains(got.Text, secretLink) || !strings.Contains(got.HTML, secretLink) {
		t.Fatalf("the recipient did not get the link:\n%s", got.Text)
	}
	if got := mp.MessageTo("bob@example.com", "Your key"); len(got.Attachments) != 1 {
		t.Fatalf("the key's attachment did not arrive: %+v", got.Attachments)
	}
	r, err := e.svc.Message(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != StatusSent || r.ProviderID == "" || r.Email == nil || !r.Email.Redacted || r.Email.Text != "" || r.Email.HTML != "" ||
		r.Email.Subject != "Reset your Acme password" || r.Email.To[0] != "ada@example.com" || r.Email.Sensitive != "the password reset link" {
		t.Fatalf("stored after delivery: %+v %+v", r, r.Email)
	}
	r2, _ := e.svc.Message(t.Context(), other)
	if !r2.Email.Redacted || r2.Email.Sensitive != "the API key" || r2.Email.Attachments[0].Content != nil ||
		r2.Email.Attachments[0].Len() != int64(len("s3cr3t-key-file")) {
		t.Fatalf("stored after delivery: %+v", r2.Email)
	}
	if _, err := e.svc.Resend(t.Context(), id); !errors.Is(err, ErrRedacted) || !strings.Contains(err.Error(), "request a new one") {
		t.Errorf("Resend of a redacted message = %v, want ErrRedacted", err)
	}

	// A plain message, whose Resend button gives the page a form (and the browser its CSRF
	// token) for the refused resend below.
	if _, err := e.svc.Send(t.Context(), Message{To: []string{"carl@example.com"}, Subject: "Hello", Text: "hi"}); err != nil {
		t.Fatal(err)
	}
	b := frontendtest.NewBrowser(t, e.h)
	list := b.Get("/dashboard/panels/comms")
	if strings.Count(list, "Resend<span") != 1 || strings.Contains(list, "s3cr3t") || !strings.Contains(list, "body removed") || strings.Contains(list, "Sensitive emails") {
		t.Errorf("list:\n%s", list)
	}
	one := b.Get("/dashboard/panels/comms?id=" + string(id))
	if !strings.Contains(one, "Body removed after delivery: it held the password reset link") || strings.Contains(one, "s3cr3t") ||
		strings.Contains(one, "Resend this message") {
		t.Errorf("message view:\n%s", one)
	}
	if one := b.Get("/dashboard/panels/comms?id=" + string(other)); !strings.Contains(one, "<code>key.txt</code> (text/plain; charset=utf-8, 15 bytes)") {
		t.Errorf("message view lacks the attachment's name and size:\n%s", one)
	}
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/dashboard/panels/comms/resources/preview?id="+string(id), nil))
	if rec.Code != http.StatusNotFound || strings.Contains(rec.Body.String(), "s3cr3t") {
		t.Errorf("preview of a redacted message = %d\n%s", rec.Code, rec.Body)
	}
	after := b.Submit("/dashboard/panels/comms/actions/resend", url.Values{"id": {string(id)}})
	if !strings.Contains(after, "cannot be resent") || strings.Contains(after, "was sent again") {
		t.Errorf("resend of a redacted message from the panel:\n%s", after)
	}
	if list, _ := e.svc.Messages(t.Context(), ListParams{}); len(list) != 3 {
		t.Errorf("%d messages after the refused resend, want 3", len(list))
	}
}

// TestSensitiveKeptUntilDelivered: a sensitive message that failed keeps its body (it must
// still be sent, and is resent whole), and so does one in the development outbox, the only
// place its link can be read.
func TestSensitiveKeptUntilDelivered(t *testing.T) {
	t.Parallel()
	t.Run("failed", func(t *testing.T) {
		t.Parallel()
		p, err := NewSMTP(SMTPParams{Host: "127.0.0.1", Port: testserver.FreePort(t), TLSPolicy: TLSNone, Timeout: 2 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		e := newSensitiveEnv(t, p)
		id, err := e.svc.SendTemplate(t.Context(), "password-reset", "ada@example.com", map[string]any{"Name": "Ada", "ResetURL": secretLink, "ExpiresIn": "1 hour"})
		if err == nil {
			t.Fatal("sent to a closed port")
		}
		r, _ := e.svc.Message(t.Context(), id)
		if r.Status != StatusFailed || r.Email.Redacted || !strings.Contains(r.Email.Text, secretLink) {
			t.Fatalf("failed message: %+v %+v", r, r.Email)
		}
		again, err := e.svc.Resend(t.Context(), id)
		if err == nil {
			t.Fatal("resent to a closed port")
		}
		if r, _ := e.svc.Message(t.Context(), again); r.Email.Sensitive != "the password reset link" || !strings.Contains(r.Email.Text, secretLink) {
			t.Errorf("the resent copy: %+v", r.Email)
		}
		one := frontendtest.NewBrowser(t, e.h).Get("/dashboard/panels/comms?id=" + string(id))
		if !strings.Contains(one, "Sensitive: it holds the password reset link. The body is removed once a provider has delivered it.") {
			t.Errorf("message view:\n%s", one)
		}
	})
	t.Run("outbox", func(t *testing.T) {
		t.Parallel()
		e := newSensitiveEnv(t, nil)
		id := e.sendReset(t)
		r, _ := e.svc.Message(t.Context(), id)
		if r.Status != StatusSent || r.Provider != ProviderOutbox || r.Email.Redacted || !strings.Contains(r.Email.Text, secretLink) {
			t.Fatalf("outbox message: %+v %+v", r, r.Email)
		}
		b := frontendtest.NewBrowser(t, e.h)
		if list := b.Get("/dashboard/panels/comms"); !strings.Contains(list, "keep their body here, since the outbox delivers them nowhere else") {
			t.Errorf("list does not say why the outbox keeps bodies:\n%s", list)
		}
		one := b.Get("/dashboard/panels/comms?id=" + string(id))
		if !strings.Contains(one, "The development outbox delivers nowhere else, so the body stays here.") || !strings.Contains(one, secretLink) {
			t.Errorf("message view:\n%s", one)
		}
	})
}

// A sensitive SMS (a one-time code) is kept like a sensitive email: its body stays until a
// provider delivered it (a failed attempt keeps it, the outbox keeps it), then the store, the
// list and the panel hold the number and what it held, never the code, and it is not resent.
func TestSensitiveSMS(t *testing.T) {
	t.Parallel()
	const code = "Your sign-in code is 424242"
	api := newFakeAPI(t)
	twilio := NewTwilio(api.Client(), TwilioParams{BaseURL: api.URL, AccountSID: "AC1", AuthToken: "tok", From: "+15005550006"})
	for _, tt := range []struct {
		name       string
		provider   SMSProvider
		status     int
		wantStatus Status
		wantKept   bool
	}{
		{name: "delivered", provider: twilio, status: 201, wantStatus: StatusSent},
		{name: "failed", provider: twilio, status: 400, wantStatus: StatusFailed, wantKept: true},
		{name: "outbox", wantStatus: StatusSent, wantKept: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			api.reply(tt.status, `{"sid":"SM1","code":21211,"message":"bad"}`, nil)
			svc, err := New(Settings{}, &Opts{SMS: tt.provider})
			if err != nil {
				t.Fatal(err)
			}
			id, err := svc.SendSMSMessage(t.Context(), SMS{To: "+14155550123", Body: code, Sensitive: "a sign-in\ncode"})
			if (err == nil) != (tt.wantStatus == StatusSent) {
				t.Fatalf("SendSMSMessage: %v", err)
			}
			r, err := svc.Message(t.Context(), id)
			if err != nil {
				t.Fatal(err)
			}
			if r.Status != tt.wantStatus || r.SMS.Sensitive != "a sign-in code" || (r.SMS.Body == code) != tt.wantKept || r.SMS.Redacted == tt.wantKept {
				t.Fatalf("record %+v %+v", r, r.SMS)
			}
			h := frontendtest.Handler(t, nil, func(r *registry.Registry) error { return registry.Value(r, svc) })
			b := frontendtest.NewBrowser(t, h)
			list, one := b.Get("/dashboard/panels/comms"), b.Get("/dashboard/panels/comms?id="+string(id))
			if tt.wantKept {
				if !strings.Contains(one, "Sensitive: it holds a sign-in code.") || !strings.Contains(one, code) {
					t.Errorf("message view:\n%s", one)
				}
				return
			}
			if strings.Contains(list+one, "424242") || !strings.Contains(list, "(SMS holding a sign-in code, body removed)") ||
				!strings.Contains(one, "Body removed after delivery: it held a sign-in code.") || strings.Contains(one, "Resend this message") {
				t.Errorf("list:\n%s\nmessage view:\n%s", list, one)
			}
			if _, err := svc.Resend(t.Context(), id); !errors.Is(err, ErrRedacted) || !strings.Contains(err.Error(), "held a sign-in code") {
				t.Errorf("Resend = %v, want ErrRedacted", err)
			}
		})
	}
}
