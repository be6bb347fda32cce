package auth

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aegisgo/aegis/template/internal/components/database"
	"github.com/aegisgo/aegis/template/internal/components/database/databasetest"
	"github.com/aegisgo/aegis/template/internal/components/frontend"
)

// TestDashboardLogin: in production, with this service in the app, the
// dashboard asks for an admin login through it instead of basic auth.
func TestDashboardLogin(t *testing.T) {
	t.Parallel()
	productionDashboard(t, func(t *testing.T, db *database.DB, h http.Handler, users *UserService, a *AuthService) {
		tag := strings.ToLower(strings.NewReplacer("/", "-", "_", "-").Replace(t.Name()))
		const pw = "correct horse battery staple"
		admin := createUser(t, users, CreateUserParams{Email: "root-" + tag + "@example.com", Username: "root" + fmt.Sprint(len(tag)) + "x", Password: pw, Role: RoleAdmin})
		plain := createUser(t, users, CreateUserParams{Email: "joe-" + tag + "@example.com", Username: "joe" + fmt.Sprint(len(tag)) + "x", Password: pw})

		do := func(method, path string, form url.Values, cookies ...*http.Cookie) *httptest.ResponseRecorder {
			return serveDashboard(t, h, method, path, form, cookies...)
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
		token := csrfToken(loginPage)
		csrf := responseCookie(loginPage, "aegis_dashboard_csrf")
		if token == "" || csrf == nil {
			t.Fatal("the login page has no CSRF token or cookie")
		}
		login := func(who, password string, withCSRF bool) *httptest.ResponseRecorder {
			form := url.Values{"login": {who}, "password": {password}, "next": {"/dashboard/graph"}}
			if !withCSRF {
				return do(http.MethodPost, frontend.LoginPath, form)
			}
			form.Set(frontend.CSRFField, token)
			return do(http.MethodPost, frontend.LoginPath, form, csrf)
		}

		// No CSRF token: 403, and no session.
		if rec := login(admin.Email, pw, false); rec.Code != http.StatusForbidden || responseCookie(rec, "aegis_dashboard_session") != nil {
			t.Errorf("login without CSRF = %d", rec.Code)
		}
		// Bad password and unknown account: the same generic error.
		bad, unknown := login(admin.Email, "wrong password!", true), login("nobody@example.com", pw, true)
		for _, rec := range []*httptest.ResponseRecorder{bad, unknown} {
			if rec.Code != http.StatusUnauthorized || !strings.Contains(rec.Body.String(), "Wrong email, username or password.") || responseCookie(rec, "aegis_dashboard_session") != nil {
				t.Errorf("bad login = %d\n%s", rec.Code, rec.Body)
			}
		}
		// A user without the admin role: 403 at login, and with a session
		// of their own the dashboard answers 403 too.
		if rec := login(plain.Username, pw, true); rec.Code != http.StatusForbidden || responseCookie(rec, "aegis_dashboard_session") != nil {
			t.Errorf("non-admin login = %d", rec.Code)
		}
		plainSession, _, err := a.DashboardLogin(t.Context(), LoginParams{Login: plain.Email, Password: pw})
		if err != nil {
			t.Fatal(err)
		}
		if rec := do(http.MethodGet, "/", nil, &http.Cookie{Name: "aegis_dashboard_session", Value: plainSession}); rec.Code != http.StatusForbidden {
			t.Errorf("non-admin session GET / = %d, want 403", rec.Code)
		}

		// The admin signs in and sees the dashboard.
		ok := login(admin.Email, pw, true)
		sess := responseCookie(ok, "aegis_dashboard_session")
		if ok.Code != http.StatusSeeOther || ok.Header().Get("Location") != "/dashboard/graph" || sess == nil {
			t.Fatalf("admin login = %d, Location %q\n%s", ok.Code, ok.Header().Get("Location"), ok.Body)
		}
		// The cookie lives as long as the dashboard session may (its absolute
		// lifetime); the idle timeout is the server's to enforce.
		if !sess.HttpOnly || !sess.Secure || sess.SameSite != http.SameSiteStrictMode || sess.MaxAge != int(testSettings().DashboardSessionTTL/time.Second) {
			t.Errorf("session cookie = %+v", sess)
		}
		overview := do(http.MethodGet, "/", nil, sess, csrf)
		if !strings.Contains(overview.Body.String(), `action="/dashboard/logout"`) {
			t.Error("the overview has no sign-out form")
		}
		// The CSRF token of a signed-in page is the session's: the login
		// page's no longer works.
		sessToken := csrfToken(overview)
		if sessToken == "" || sessToken == token {
			t.Fatalf("the overview's CSRF token is %q, want one of the session, not the login page's", sessToken)
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
		if rec := do(http.MethodPost, frontend.LogoutPath, url.Values{frontend.CSRFField: {token}}, sess, csrf); rec.Code != http.StatusForbidden {
			t.Errorf("logout with the login page's CSRF token = %d, want 403", rec.Code)
		}
		out := do(http.MethodPost, frontend.LogoutPath, url.Values{frontend.CSRFField: {sessToken}}, sess, csrf)
		if out.Code != http.StatusSeeOther || out.Header().Get("Location") != frontend.LoginPath {
			t.Fatalf("logout = %d\n%s", out.Code, out.Body)
		}
		var rows []dashboardSession
		if err := db.Bun().NewSelect().Model(&rows).Where("token_hash = ?", hashToken(sess.Value)).Scan(t.Context()); err != nil || len(rows) != 1 || rows[0].RevokedAt == nil {
			t.Errorf("after logout the session is %+v (%v); want it revoked in the database", rows, err)
		}
		if rec := do(http.MethodGet, "/dashboard/graph", nil, sess); rec.Code != http.StatusSeeOther {
			t.Errorf("GET after logout = %d, want 303 to the login page", rec.Code)
		}
	})
}

// TestDashboardSession: the dashboard session is checked against the
// database on every request, so it outlives the access token and ends as
// soon as the account or the session changes.
func TestDashboardSession(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		s := testSettings()
		// Access tokens die at once: JWT expiry is in whole seconds, so 1ms
		// with 1ns of leeway (0 would mean the default) ends them within
		// the second, and no session below may depend on one.
		s.AccessTTL, s.Leeway = time.Millisecond, time.Nanosecond
		h, users, a := dashboardAppWith(t, db, &frontend.Opts{Production: true}, s, AuthOpts{})
		dash := dashboardAuth{a}
		const pw = "correct horse battery staple"

		tests := []struct {
			name string
			// after runs between the login and the session check.
			after      func(t *testing.T, u *User, token string)
			wantOK     bool
			wantAdmin  bool
			wantStatus int // of GET / with the session cookie
		}{
			{name: "fresh", after: func(*testing.T, *User, string) {}, wantOK: true, wantAdmin: true, wantStatus: http.StatusOK},
			{name: "past the access token lifetime", after: func(t *testing.T, u *User, _ string) {
				waitAccessExpiry(t, a, u)
			}, wantOK: true, wantAdmin: true, wantStatus: http.StatusOK},
			{name: "demoted", after: func(t *testing.T, u *User, _ string) {
				role := RoleUser
				if _, err := users.Update(t.Context(), u.ID, UpdateUserParams{Role: &role}); err != nil {
					t.Fatal(err)
				}
			}, wantOK: true, wantAdmin: false, wantStatus: http.StatusForbidden},
			{name: "deactivated", after: func(t *testing.T, u *User, _ string) {
				if _, err := users.Deactivate(t.Context(), u.ID); err != nil {
					t.Fatal(err)
				}
			}, wantStatus: http.StatusSeeOther},
			// Deactivate also revokes the sessions; the user check alone
			// must refuse an inactive account too.
			{name: "inactive, session not revoked", after: func(t *testing.T, u *User, _ string) {
				if _, err := db.Bun().NewUpdate().Model((*User)(nil)).Set("active = ?", false).Where("id = ?", u.ID).Exec(t.Context()); err != nil {
					t.Fatal(err)
				}
			}, wantStatus: http.StatusSeeOther},
			{name: "deleted", after: func(t *testing.T, u *User, _ string) {
				if err := users.Delete(t.Context(), u.ID); err != nil {
					t.Fatal(err)
				}
			}, wantStatus: http.StatusSeeOther},
			{name: "logged out", after: func(t *testing.T, _ *User, token string) {
				if err := dash.Logout(t.Context(), token); err != nil {
					t.Fatal(err)
				}
			}, wantStatus: http.StatusSeeOther},
			{name: "password changed elsewhere", after: func(t *testing.T, u *User, _ string) {
				if err := a.ChangePassword(t.Context(), u.ID, "", pw, "another correct horse battery staple"); err != nil {
					t.Fatal(err)
				}
			}, wantStatus: http.StatusSeeOther},
			{name: "session past its lifetime", after: func(t *testing.T, _ *User, token string) {
				if _, err := db.Bun().NewUpdate().Model((*dashboardSession)(nil)).Set("expires_at = ?", now().Add(-time.Second)).
					Where("token_hash = ?", hashToken(token)).Exec(t.Context()); err != nil {
					t.Fatal(err)
				}
			}, wantStatus: http.StatusSeeOther},
			{name: "session idle", after: func(t *testing.T, _ *User, token string) {
				if _, err := db.Bun().NewUpdate().Model((*dashboardSession)(nil)).Set("last_seen_at = ?", now().Add(-s.DashboardIdleTimeout)).
					Where("token_hash = ?", hashToken(token)).Exec(t.Context()); err != nil {
					t.Fatal(err)
				}
			}, wantStatus: http.StatusSeeOther},
		}
		// The subtests demote, deactivate and delete their admins in parallel: without an
		// admin of its own standing, one of them may find its admin the last active one, and
		// the last admin cannot be demoted (ErrLastAdmin).
		if _, err := users.Create(t.Context(), CreateUserParams{Email: "keeper@example.com", Username: "keeper", Password: pw, Role: RoleAdmin}); err != nil {
			t.Fatal(err)
		}
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				u, err := users.Create(t.Context(), CreateUserParams{Email: fmt.Sprintf("admin%d@example.com", i), Username: fmt.Sprintf("admin%d", i), Password: pw, Role: RoleAdmin})
				if err != nil {
					t.Fatal(err)
				}
				token, ttl, id, err := dash.Login(t.Context(), u.Username, pw, "")
				if err != nil {
					t.Fatal(err)
				}
				if ttl != s.DashboardSessionTTL || !id.Admin || strings.Contains(token, ".") {
					t.Fatalf("Login = token %q, ttl %v, %+v; want an opaque token living AUTH_DASHBOARD_SESSION_TTL (%v) and an admin", token, ttl, id, s.DashboardSessionTTL)
				}
				tt.after(t, u, token)

				id, ok, err := dash.Session(t.Context(), token, false)
				if err != nil || ok != tt.wantOK || id.Admin != tt.wantAdmin {
					t.Errorf("Session = %+v, %v, %v; want ok %v, admin %v", id, ok, err, tt.wantOK, tt.wantAdmin)
				}
				rec := serveDashboard(t, h, http.MethodGet, "/", nil, &http.Cookie{Name: "aegis_dashboard_session", Value: token})
				if rec.Code != tt.wantStatus {
					t.Errorf("GET / = %d, want %d", rec.Code, tt.wantStatus)
				}
			})
		}

		t.Run("unknown tokens", func(t *testing.T) {
			t.Parallel()
			for _, token := range []string{"", "forged", "forged~x", strings.Repeat("a", MaxTokenLength+1)} {
				if id, ok, err := dash.Session(t.Context(), token, true); ok || err != nil {
					t.Errorf("Session(%.20q) = %+v, %v, %v; want not ok and no error", token, id, ok, err)
				}
			}
		})
	})
}

// TestDashboardSessionDoesNotRotate: the dashboard polls with one cookie,
// several requests at a time, so checking a session must leave it as it was
// (rotation would make the second poll fail).
func TestDashboardSessionDoesNotRotate(t *testing.T) {
	t.Parallel()
	productionDashboard(t, func(t *testing.T, db *database.DB, h http.Handler, users *UserService, a *AuthService) {
		dash := dashboardAuth{a}
		const pw = "correct horse battery staple"
		u := createUser(t, users, CreateUserParams{Email: "root@example.com", Username: "root", Password: pw, Role: RoleAdmin})
		token, _, _, err := dash.Login(t.Context(), u.Email, pw, "")
		if err != nil {
			t.Fatal(err)
		}
		cookie := &http.Cookie{Name: "aegis_dashboard_session", Value: token}

		const n = 8
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				if _, ok, err := dash.Session(t.Context(), token, i%2 == 0); !ok || err != nil {
					t.Errorf("Session #%d = %v, %v", i, ok, err)
				}
				if rec := serveDashboard(t, h, http.MethodGet, "/dashboard/fragments/overview", nil, cookie); rec.Code != http.StatusOK {
					t.Errorf("poll #%d = %d", i, rec.Code)
				}
			})
		}
		wg.Wait()

		var rows []dashboardSession
		if err := db.Bun().NewSelect().Model(&rows).Where("user_id = ?", u.ID).Scan(t.Context()); err != nil {
			t.Fatal(err)
		}
		if len(rows) != 1 || rows[0].TokenHash != hashToken(token) || rows[0].RevokedAt != nil {
			t.Fatalf("after %d session checks the user's dashboard sessions are %+v; want the login's alone, live", 2*n, rows)
		}
		var refresh int64
		if refresh, err = db.Bun().NewSelect().Model((*refreshToken)(nil)).Where("user_id = ?", u.ID).Count(t.Context()); err != nil || refresh != 0 {
			t.Errorf("a dashboard sign-in left %d refresh tokens (%v), want none", refresh, err)
		}
	})
}

// waitAccessExpiry returns once an access token issued now for u is
// refused, so every access token issued before is expired too.
func waitAccessExpiry(t *testing.T, a *AuthService, u *User) {
	t.Helper()
	tok, err := a.IssueAccessToken(u)
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		_, _, err := a.Authenticate(t.Context(), tok)
		if errors.Is(err, ErrInvalidToken) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the access token still works after 5s (AUTH_ACCESS_TTL is %v): %v", a.signer.ttl, err)
		}
	}
}
