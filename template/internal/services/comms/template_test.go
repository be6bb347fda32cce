package comms

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aegisgo/aegis/template/internal/config"
)

// Every shipped template renders with its sample data, both parts, subject from the template.
func TestShippedTemplates(t *testing.T) {
	t.Parallel()
	tpl, err := LoadTemplates("", "Acme")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"email-changed", "password-changed", "password-reset", "verify-email", "welcome"}
	if got := tpl.Names(); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("Names = %v, want %v", got, want)
	}
	for _, name := range want {
		data, err := tpl.Sample(name)
		if err != nil {
			t.Fatal(err)
		}
		r, err := tpl.Render(name, data)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if r.Subject == "" || !strings.Contains(r.Text, "Ada") || !strings.Contains(r.HTML, "<p>Hello Ada,</p>") ||
			!strings.Contains(r.HTML, "Acme") || !strings.Contains(r.Text, "Acme") {
			t.Errorf("%s rendered as %+v", name, r)
		}
	}
	r, _ := tpl.Render("welcome", map[string]any{"Name": "<Bob>", "LoginURL": "javascript:alert(1)"})
	if strings.Contains(r.HTML, "<Bob>") || strings.Contains(r.HTML, "javascript:") || !strings.Contains(r.Text, "<Bob>") {
		t.Errorf("the HTML part is not escaped, or the text part is:\n%s\n%s", r.HTML, r.Text)
	}
	if r.Subject != "Welcome to Acme, <Bob>" {
		t.Errorf("subject %q", r.Subject)
	}
	// An app without a sign-in page of its own (ONBOARDING_LOGIN_URL empty) sends no button
	// that would lead its users to the operators' dashboard or a JSON answer.
	r, err = tpl.Render("welcome", map[string]any{"Name": "Ada", "LoginURL": ""})
	if err != nil || strings.Contains(r.HTML, "Sign in") || strings.Contains(r.HTML, "href") || strings.Contains(r.Text, "Sign in") ||
		!strings.Contains(r.Text, "Your account is ready.") {
		t.Errorf("welcome without a LoginURL: %v\n%s\n%s", err, r.HTML, r.Text)
	}
}

func TestTemplateErrors(t *testing.T) {
	t.Parallel()
	tpl, err := LoadTemplates("", "Acme")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tpl.Render("nope", nil); !errors.Is(err, ErrUnknownTemplate) || !strings.Contains(err.Error(), "welcome") {
		t.Errorf("unknown template: %v", err)
	}
	if _, err := tpl.Render("welcome", map[string]any{"Name": "Ada"}); !errors.Is(err, ErrTemplate) || !strings.Contains(err.Error(), "LoginURL") {
		t.Errorf("missing variable: %v, want ErrTemplate naming LoginURL", err)
	}
	if _, err := tpl.Render("welcome", struct{ Name string }{"Ada"}); !errors.Is(err, ErrTemplate) {
		t.Errorf("missing struct field: %v", err)
	}
	if _, err := tpl.Render("welcome", nil); !errors.Is(err, ErrTemplate) {
		t.Errorf("nil data: %v", err)
	}
	if _, err := tpl.Render("welcome", map[string]any{"Name": "Ada\r\nBcc: x@example.com", "LoginURL": "u"}); !errors.Is(err, ErrHeaderInjection) {
		t.Errorf("line break into the subject: %v", err)
	}
}

// COMMS_TEMPLATES_DIR replaces the built-in files of the same name and adds new templates.
func TestTemplatesDir(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("welcome.txt.tmpl", `{{define "subject"}}Hi {{.Name}}{{end}}{{define "content"}}Custom {{.Name}}{{end}}`)
	write("invoice.txt.tmpl", `{{define "subject"}}Invoice {{.Number}}{{end}}{{define "content"}}Pay {{.Amount}}{{end}}`)
	write("invoice.json", `{"Number": "7", "Amount": "9 EUR"}`)
	tpl, err := LoadTemplates(dir, "Acme")
	if err != nil {
		t.Fatal(err)
	}
	r, err := tpl.Render("welcome", map[string]any{"Name": "Ada", "LoginURL": "u"})
	if err != nil || r.Subject != "Hi Ada" || !strings.HasPrefix(r.Text, "Custom Ada") || !strings.Contains(r.HTML, "Welcome to Acme") {
		t.Errorf("overridden welcome: %+v, %v (the HTML part stays built in)", r, err)
	}
	data, _ := tpl.Sample("invoice")
	if r, err := tpl.Render("invoice", data); err != nil || r.Subject != "Invoice 7" || r.HTML != "" {
		t.Errorf("added invoice: %+v, %v", r, err)
	}
	write("broken.txt.tmpl", `{{define "subject"}}{{.X}`)
	// Each is a *config.Error, which the app prints as it is (not inside the registry's
	// "construct comms.Service (registered at /path/comms.go:64)"), naming what is wrong.
	for _, tc := range []struct{ dir, want string }{
		{dir, "holds a template that does not load: template broken.txt.tmpl"},
		{filepath.Join(dir, "none"), "does not exist"},
		{filepath.Join(dir, "invoice.json"), "is not a folder"},
	} {
		_, err := LoadTemplates(tc.dir, "Acme")
		var ce *config.Error
		if !errors.As(err, &ce) || ce.Var != "COMMS_TEMPLATES_DIR" || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("LoadTemplates(%s): %v, want a COMMS_TEMPLATES_DIR error that %s", tc.dir, err, tc.want)
		}
	}
}
