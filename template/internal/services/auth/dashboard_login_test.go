package auth

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/aegisgo/aegis/template/internal/components/database"
	"github.com/aegisgo/aegis/template/internal/components/database/databasetest"
	"github.com/aegisgo/aegis/template/internal/components/frontend"
	"github.com/aegisgo/aegis/template/internal/components/frontend/frontendtest"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
)

// TestDashboardLogin: in production, with this service in the app, the
// dashboard asks for an admin login through it instead of basic auth.
func TestDashboardLogin(t *testing.T) {
	t.Parallel()
	databasetest.Engines(t, func(t *testing.T, db *database.DB) {
		t.Parallel()
		h, users, a := dashboardApp(t, db, &frontend.Opts{Production: true})
		tag := strings.ToLower(strings.NewReplacer("/", "-", "_", "-").Replace(t.Name()))
		const pw = "correct horse battery staple"
		admin, err := users.Create(t.Context(), CreateUserParams{Email: "root-" + tag + "@example.com", Username: "root" + fmt.Sprint(len(tag)) + "x", Password: pw, Role: RoleAdmin})
		if err != nil {
			t.Fatal(err)
		}
		plain, err := users.Create(t.Context(), CreateUserParams{Email: "joe-" + tag + "@example.com", Username: "joe" + fmt.Sprint(len(tag)) + "x", Password: pw})
		if err != nil {
			t.Fatal(err)
		}

		do := func(method, path string, form url.Values, cookies ...*http.Cookie) *httptest.ResponseRecorder {
			var req *http.Request
			if form != nil {
				req = httptest.NewRequestWithContext(t.Context(), method, path, strings.NewReader(form.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			} else {
				req = httptest.NewRequestWithContext(t.Context(), method, path, nil)
			}
			req.Host = "127.0.0.1:8000"
			for _, ck := range cookies {
				req.AddCookie(ck)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			return rec
		}
		cookie := func(rec *httptest.ResponseRecorder, name string) *http.Cookie {
			for _, ck := range rec.Result().Cookies() {
				if ck.Name == name {
					return ck
				}
			}
			return nil
		}

		// Anonymous: pages redirect to the login page, fragments get 401.
		if rec := do(http.MethodGet, "/dashboard/graph", nil); rec.Code != http.StatusSeeOther || !strings.HasPrefix(rec.Header().Get("Location"), frontend.LoginPath+"?next=") {
			t.Fatalf("anonymous GET /dashboard/graph = %d, Location %q", rec.Code, rec.Header().Get("Location"))
		}
		if rec := do(http.MethodGet, "/dashboard/fragments/overview", nil); rec.Code != http.StatusUnauthorized {
			t.Errorf("anonymous fragment = %d, want 401", rec.Code)
		}
		if rec := do(http.MethodGet, "/dashboard/panels/users", nil, &http.Cookie{Name: "aegis_dashboard_session", Value: "forged~x"}); rec.Code != http.StatusSeeOther {
			t.Errorf("forged session = %d, want 303", rec.Code)
		}
		loginPage := do(http.MethodGet, frontend.LoginPath+"?next=/dashboard/graph", nil)
		if loginPage.Code != http.StatusOK || !strings.Contains(loginPage.Body.String(), `name="password"`) {
			t.Fatalf("login page = %d\n%s", loginPage.Code, loginPage.Body)
		}
		token := regexp.MustCompile(`name="csrf_token" value="([^"]+)"`).FindStringSubmatch(loginPage.Body.String())
		csrf := cookie(loginPage, "aegis_dashboard_csrf")
		if token == nil || csrf == nil {
			t.Fatal("the login page has no CSRF token or cookie")
		}
		login := func(who, password string, withCSRF bool) *httptest.ResponseRecorder {
			form := url.Values{"login": {who}, "password": {password}, "next": {"/dashboard/graph"}}
			if !withCSRF {
				return do(http.MethodPost, frontend.LoginPath, form)
			}
			form.Set(frontend.CSRFField, token[1])
			return do(http.MethodPost, frontend.LoginPath, form, csrf)
		}

		// No CSRF token: 403, and no session.
		if rec := login(admin.Email, pw, false); rec.Code != http.StatusForbidden || cookie(rec, "aegis_dashboard_session") != nil {
			t.Errorf("login without CSRF = %d", rec.Code)
		}
		// Bad password and unknown account: the same generic error.
		bad, unknown := login(admin.Email, "wrong password!", true), login("nobody@example.com", pw, true)
		for _, rec := range []*httptest.ResponseRecorder{bad, unknown} {
			if rec.Code != http.StatusUnauthorized || !strings.Contains(rec.Body.String(), "Wrong email, username or password.") || cookie(rec, "aegis_dashboard_session") != nil {
				t.Errorf("bad login = %d\n%s", rec.Code, rec.Body)
			}
		}
		// A user without the admin role: 403 at login, and with a session
		// of their own the dashboard answers 403 too.
		if rec := login(plain.Username, pw, true); rec.Code != http.StatusForbidden || cookie(rec, "aegis_dashboard_session") != nil {
			t.Errorf("non-admin login = %d", rec.Code)
		}
		pair, err := a.Login(t.Context(), LoginParams{Login: plain.Email, Password: pw})
		if err != nil {
			t.Fatal(err)
		}
		if rec := do(http.MethodGet, "/", nil, &http.Cookie{Name: "aegis_dashboard_session", Value: pair.AccessToken + "~" + pair.RefreshToken}); rec.Code != http.StatusForbidden {
			t.Errorf("non-admin session GET / = %d, want 403", rec.Code)
		}

		// The admin signs in and sees the dashboard.
		ok := login(admin.Email, pw, true)
		sess := cookie(ok, "aegis_dashboard_session")
		if ok.Code != http.StatusSeeOther || ok.Header().Get("Location") != "/dashboard/graph" || sess == nil {
			t.Fatalf("admin login = %d, Location %q\n%s", ok.Code, ok.Header().Get("Location"), ok.Body)
		}
		if !sess.HttpOnly || !sess.Secure || sess.SameSite != http.SameSiteStrictMode || sess.MaxAge <= 0 || sess.MaxAge > 3600 {
			t.Errorf("session cookie = %+v", sess)
		}
		if rec := do(http.MethodGet, "/", nil, sess, csrf); !strings.Contains(rec.Body.String(), `action="/dashboard/logout"`) {
			t.Error("the overview has no sign-out form")
		}
		for _, path := range []string{"/", "/dashboard/graph", "/dashboard/panels/users", "/dashboard/fragments/overview"} {
			if rec := do(http.MethodGet, path, nil, sess); rec.Code != http.StatusOK {
				t.Errorf("admin GET %s = %d", path, rec.Code)
			}
		}

		// Logout (CSRF-protected) ends the session.
		if rec := do(http.MethodPost, frontend.LogoutPath, url.Values{}, sess, csrf); rec.Code != http.StatusForbidden {
			t.Errorf("logout without CSRF = %d, want 403", rec.Code)
		}
		out := do(http.MethodPost, frontend.LogoutPath, url.Values{frontend.CSRFField: {token[1]}}, sess, csrf)
		if out.Code != http.StatusSeeOther || out.Header().Get("Location") != frontend.LoginPath {
			t.Fatalf("logout = %d\n%s", out.Code, out.Body)
		}
		if _, err := a.Refresh(t.Context(), strings.SplitN(sess.Value, "~", 2)[1]); err == nil {
			t.Error("the session's refresh token still works after logout")
		}
	})
}

// dashboardApp starts an app with the backend, the dashboard (opts) and this
// service on db, and returns its handler.
func dashboardApp(t *testing.T, db *database.DB, opts *frontend.Opts) (http.Handler, *UserService, *AuthService) {
	t.Helper()
	users, err := NewUserServiceWith(db, testSettings())
	if err != nil {
		t.Fatal(err)
	}
	a, err := NewAuthServiceWith(db, users, testSettings(), &AuthOpts{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	h := frontendtest.Handler(t, opts, func(r *registry.Registry) error {
		return errors.Join(registry.Value(r, users), registry.Value(r, a))
	})
	return h, users, a
}
