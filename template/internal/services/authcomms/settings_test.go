package authcomms

import (
	"strings"
	"testing"
)

// The front end's pages go into every verification and reset email: a URL the links cannot
// be built on, or one carrying credentials every recipient would see, is refused at start.
func TestPageURLs(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name, url, want string // want "" for valid
	}{
		{"empty: the app's own pages", "", ""},
		{"page", "https://app.example.com/verify-email", ""},
		{"page with a query", "https://app.example.com/account?tab=verify", ""},
		{"relative", "/verify-email", `config: AUTH_VERIFY_EMAIL_URL="/verify-email" is not an absolute http(s) URL`},
		{"fragment", "https://app.example.com/#/verify", `config: AUTH_VERIFY_EMAIL_URL="https://app.example.com/#/verify" has a fragment`},
		{"credentials", "https://ops:hunter2@app.example.com/verify", "config: AUTH_VERIFY_EMAIL_URL (value not shown) holds a user name or password"},
	} {
		s := Settings{VerifyURL: tt.url}.WithDefaults()
		err := s.Validate()
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s: %v, want nil", tt.name, err)
		case tt.want != "" && (err == nil || !strings.HasPrefix(err.Error(), tt.want)):
			t.Errorf("%s: %v, want %q", tt.name, err, tt.want)
		}
	}
}
