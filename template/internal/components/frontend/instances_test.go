package frontend

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/aegisgo/aegis/template/internal/runtime/registry"
)

// TestCSRFAcrossInstances: behind a load balancer the login form may come from one instance and
// its post go to another. With one DASHBOARD_SECRET on both the post passes the CSRF check;
// without it the refusal must name DASHBOARD_SECRET, since reloading the page, which it
// otherwise suggests, lands on any instance again.
func TestCSRFAcrossInstances(t *testing.T) {
	t.Parallel()
	const shared = "0123456789abcdef0123456789abcdef-shared"
	tests := []struct {
		name    string
		one     string // DASHBOARD_SECRET of the instance serving the form
		two     string // and of the one receiving the post
		refused bool
		says    string
	}{
		{name: "same secret", one: shared, two: shared},
		{name: "no secret", refused: true, says: "DASHBOARD_SECRET"},
		{name: "different secrets", one: shared, two: shared + "-other", refused: true, says: "reload the page"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			instance := func(secret string) env {
				a := &fakeAuth{}
				return setup(t, setupOpts{opts: &Opts{Production: true, Settings: Settings{Secret: secret},
					Authenticator: func(*registry.Container) Authenticator { return a }}})
			}
			one, two := instance(tt.one), instance(tt.two)
			form := do(t, one.h, httptest.NewRequestWithContext(t.Context(), http.MethodGet, LoginPath, nil))
			m := regexp.MustCompile(`name="csrf_token" value="([^"]+)"`).FindStringSubmatch(form.Body.String())
			if m == nil {
				t.Fatalf("the login page has no CSRF token\n%s", form.Body)
			}
			body := url.Values{CSRFField: {m[1]}, "login": {"ada@example.com"}, "password": {"hunter2-but-longer"}}
			req := httptest.NewRequestWithContext(t.Context(), http.MethodPost, LoginPath, strings.NewReader(body.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Accept", "application/json")
			for _, c := range form.Result().Cookies() {
				req.AddCookie(c)
			}
			rec := do(t, two.h, req)
			if refused := rec.Code == http.StatusForbidden; refused != tt.refused {
				t.Fatalf("POST %s to the other instance = %d, refused %v, want %v\n%s", LoginPath, rec.Code, refused, tt.refused, rec.Body)
			}
			if tt.refused && !strings.Contains(rec.Body.String(), tt.says) {
				t.Errorf("the refusal does not say %q:\n%s", tt.says, rec.Body)
			}
		})
	}
}
