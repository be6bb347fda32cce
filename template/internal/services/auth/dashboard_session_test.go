package auth

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/aegisgo/aegis/template/internal/components/database"
	"github.com/aegisgo/aegis/template/internal/components/database/databasetest"
	"github.com/aegisgo/aegis/template/internal/components/frontend"
)

// TestDashboardSessionIsNotARefreshToken: the dashboard's session cookie
// and the API's refresh token are different things; neither works as the
// other, through the HTTP API as through the service.
func TestDashboardSessionIsNotARefreshToken(t *testing.T) {
	t.Parallel()
	productionDashboard(t, func(t *testing.T, _ *database.DB, h http.Handler, users *UserService, a *AuthService) {
		u := createUser(t, users, CreateUserParams{Email: "root@example.com", Username: "root", Password: goodPassword, Role: RoleAdmin})
		session := dashboardSignIn(t, h, u.Email, goodPassword)
		pair, err := a.Login(t.Context(), LoginParams{Login: u.Email, Password: goodPassword})
		if err != nil {
			t.Fatal(err)
		}

		// The dashboard cookie refreshes nothing...
		body, _ := json.Marshal(map[string]string{"refresh_token": session.Value})
		req := httptest.NewRequestWithContext(t.Context(), http.MethodPost, "/api/v1/auth/refresh", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusUnauthorized {
			t.Errorf("POST /api/v1/auth/refresh with the dashboard cookie = %d, want 401\n%s", rec.Code, rec.Body)
		}
		if _, err := a.Refresh(t.Context(), session.Value); err == nil {
			t.Error("Refresh accepts the dashboard session")
		}
		// ...and a refresh token opens no dashboard.
		if rec := serveDashboard(t, h, http.MethodGet, "/", nil, &http.Cookie{Name: session.Name, Value: pair.RefreshToken}); rec.Code != http.StatusSeeOther {
			t.Errorf("GET / with a refresh token as the session cookie = %d, want 303 to the login page", rec.Code)
		}
		if _, ok, err := (dashboardAuth{a}).Session(t.Context(), pair.RefreshToken, false); ok || err != nil {
			t.Errorf("Session(refresh token) = %v, %v; want refused", ok, err)
		}
		// Both still work for what they are.
		if rec := serveDashboard(t, h, http.MethodGet, "/", nil, session); rec.Code != http.StatusOK {
			t.Errorf("GET / with the dashboard session = %d", rec.Code)
		}
		if _, err := a.Refresh(t.Context(), pair.RefreshToken); err != nil {
			t.Errorf("Refresh(refresh token): %v", err)
		}
	})
}

// TestDashboardSessionLifetime: a dashboard session ends after
// AUTH_DASHBOARD_IDLE_TIMEOUT without the operator doing anything (the live
// refreshes do not count), AUTH_DASHBOARD_SESSION_TTL after sign-in however
// active, and at logout, on the server (the same cookie is refused after).
func TestDashboardSessionLifetime(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		s := testSettings()
		s.DashboardIdleTimeout, s.DashboardSessionTTL = 30*time.Minute, 12*time.Hour
		clock := &testClock{t: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
		h, users, _ := dashboardAppWith(t, db, &frontend.Opts{Production: true}, s, AuthOpts{Now: clock.now})

		const (
			page = "page"   // GET /dashboard/graph: the operator at work
			poll = "poll"   // GET of a live fragment: htmx, in the background
			out  = "logout" // POST /dashboard/logout
		)
		type step struct {
			after time.Duration // since the previous step
			do    string
			want  int
		}
		tests := []struct {
			name  string
			steps []step
		}{
			{"idle just under the timeout", []step{{29 * time.Minute, page, http.StatusOK}}},
			{"idle past the timeout", []step{{30 * time.Minute, page, http.StatusSeeOther}}},
			{"activity restarts the idle timeout", []step{
				{20 * time.Minute, page, http.StatusOK},
				{25 * time.Minute, page, http.StatusOK},
				{25 * time.Minute, page, http.StatusOK},
				{30 * time.Minute, page, http.StatusSeeOther},
			}},
			{"polling does not keep an idle session", []step{
				{10 * time.Minute, poll, http.StatusOK},
				{10 * time.Minute, poll, http.StatusOK},
				{9 * time.Minute, poll, http.StatusOK},
				{2 * time.Minute, poll, http.StatusUnauthorized},
				{0, page, http.StatusSeeOther},
			}},
			{"absolute lifetime, however active", func() []step {
				var st []step
				for range 11*60/20 + 2 { // every 20 minutes until just before 11h40m
					st = append(st, step{20 * time.Minute, page, http.StatusOK})
				}
				return append(st, step{20 * time.Minute, page, http.StatusSeeOther}) // 12h
			}()},
			{"logout ends it on the server", []step{
				{time.Minute, page, http.StatusOK},
				{0, out, http.StatusSeeOther},
				{0, page, http.StatusSeeOther},
				{0, poll, http.StatusUnauthorized},
			}},
		}
		for i, tt := range tests {
			// One clock for every case: run them in turn.
			u := createUser(t, users, CreateUserParams{Email: fmt.Sprintf("op%d@example.com", i), Username: fmt.Sprintf("op%d", i), Password: goodPassword, Role: RoleAdmin})
			session := dashboardSignIn(t, h, u.Email, goodPassword)
			elapsed := time.Duration(0)
			for j, st := range tt.steps {
				clock.advance(st.after)
				elapsed += st.after
				var rec *httptest.ResponseRecorder
				switch st.do {
				case page:
					rec = serveDashboard(t, h, http.MethodGet, "/dashboard/graph", nil, session)
				case poll:
					req := httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/dashboard/fragments/overview", nil)
					req.Host = "127.0.0.1:8000"
					req.Header.Set("HX-Request", "true")
					req.AddCookie(session)
					rec = httptest.NewRecorder()
					h.ServeHTTP(rec, req)
				case out:
					token := csrfToken(serveDashboard(t, h, http.MethodGet, "/", nil, session))
					if token == "" {
						t.Fatalf("%s: no CSRF token on the overview", tt.name)
					}
					rec = serveDashboard(t, h, http.MethodPost, frontend.LogoutPath, url.Values{frontend.CSRFField: {token}}, session)
				}
				if rec.Code != st.want {
					t.Errorf("%s, step %d (%s at +%v): %d, want %d", tt.name, j+1, st.do, elapsed, rec.Code, st.want)
					break
				}
			}
			clock.advance(24 * time.Hour) // the next case starts after this one's sessions are long gone
		}
	})
}

// testClock is a clock tests move by hand, safe for the handler's goroutines.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// TestDashboardLoginRaceWithReset: a dashboard sign-in whose account has its
// password reset, or is deactivated, while it checks the password opens no
// session. Each case makes the change (and revokes the sessions, as the real
// ones do) in a transaction held open while the sign-in runs, then commits.
// Before, the sign-in stored its session after the revocation, and the
// session lived on with the old password.
func TestDashboardLoginRaceWithReset(t *testing.T) {
	cases := []struct{ name, set string }{
		{"password reset", "password_hash = 'replaced'"},
		{"deactivation", "active = FALSE"},
	}
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		users, a := newServices(t, db, testSettings(), AuthOpts{})
		for i, c := range cases {
			u := createUser(t, users, CreateUserParams{Email: fmt.Sprintf("held%d@example.com", i), Username: fmt.Sprintf("held%d", i), Password: goodPassword, Role: RoleAdmin})
			type result struct {
				token string
				err   error
			}
			r := whileHeld(t, db, func(ctx context.Context, tx bun.Tx) error {
				if _, err := tx.ExecContext(ctx, "UPDATE auth_users SET "+c.set+" WHERE id = ?", u.ID); err != nil {
					return err
				}
				return revokeSessions(ctx, tx, u.ID, "")
			}, func() result {
				token, _, err := a.DashboardLogin(t.Context(), LoginParams{Login: u.Email, Password: goodPassword})
				return result{token, err}
			})
			if r.err == nil {
				if _, err := a.DashboardSessionUser(t.Context(), r.token, false); err == nil {
					t.Errorf("%s: the dashboard session opened meanwhile outlived the change", c.name)
				}
			}
		}
	})
}
