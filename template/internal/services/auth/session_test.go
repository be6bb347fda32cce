package auth

import (
	"net/http"
	"testing"
	"time"

	"github.com/aegisgo/aegis/template/internal/components/database"
	"github.com/aegisgo/aegis/template/internal/components/database/databasetest"
)

// TestAccessTokenEndsWithSession: an access token is only as good as the
// session (sid) it was issued for. Logout, a password change (other
// sessions), deactivation and refresh-token reuse end it at once in this
// process, whatever the token's own expiry says.
func TestAccessTokenEndsWithSession(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		end  func(t *testing.T, f *fixture, a account, victim, other TokenBody)
		// keep: whether the other session's access token still works after.
		keep bool
	}{
		{"logout", func(t *testing.T, f *fixture, a account, victim, other TokenBody) {
			expect[struct{}](t, f.do(t, req{method: "POST", path: "/api/v1/auth/logout", body: map[string]string{"refresh_token": victim.RefreshToken}}), http.StatusNoContent)
		}, true},
		{"password change from another session", func(t *testing.T, f *fixture, a account, victim, other TokenBody) {
			expect[struct{}](t, f.do(t, req{method: "POST", path: "/api/v1/auth/change-password", token: other.AccessToken,
				body: map[string]string{"current_password": a.password, "new_password": "a brand new passphrase"}}), http.StatusNoContent)
		}, true},
		{"deactivation", func(t *testing.T, f *fixture, a account, victim, other TokenBody) {
			if _, err := f.users.Deactivate(t.Context(), a.id); err != nil {
				t.Fatal(err)
			}
		}, false},
		{"refresh token reuse", func(t *testing.T, f *fixture, a account, victim, other TokenBody) {
			expect[TokenBody](t, f.do(t, req{method: "POST", path: "/api/v1/auth/refresh", body: map[string]string{"refresh_token": victim.RefreshToken}}), http.StatusOK)
			problem(t, f.do(t, req{method: "POST", path: "/api/v1/auth/refresh", body: map[string]string{"refresh_token": victim.RefreshToken}}), http.StatusUnauthorized)
		}, true},
	}
	databasetest.Engines(t, func(t *testing.T, db *database.DB) {
		for ci, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				f := setup(t, db, func(s *Settings) { s.SessionCheckTTL = time.Hour })
				f.seq.Store(int64(ci)*100 + 1000)
				a := f.newAccount(t)
				victim, other := f.login(t, a), f.login(t, a)
				me := func(tok TokenBody) int {
					return f.do(t, req{method: "GET", path: "/api/v1/auth/me", token: tok.AccessToken}).Code
				}
				// Both sessions work, and the check is now cached (an hour).
				if me(victim) != http.StatusOK || me(other) != http.StatusOK {
					t.Fatal("fresh sessions do not work")
				}
				c.end(t, f, a, victim, other)
				if code := me(victim); code != http.StatusUnauthorized {
					t.Fatalf("after %s: /me with the session's access token = %d, want 401", c.name, code)
				}
				if want := map[bool]int{true: http.StatusOK, false: http.StatusUnauthorized}[c.keep]; me(other) != want {
					t.Fatalf("after %s: /me with the other session = %d, want %d", c.name, me(other), want)
				}
			})
		}
	})
}

// TestSessionCheckTTL: a session revoked where this process cannot see it
// (another instance, straight in the database) stops working within
// AUTH_SESSION_CHECK_TTL.
func TestSessionCheckTTL(t *testing.T) {
	t.Parallel()
	databasetest.Engines(t, func(t *testing.T, db *database.DB) {
		const ttl = 50 * time.Millisecond
		f := setup(t, db, func(s *Settings) { s.SessionCheckTTL = ttl })
		tok := f.login(t, f.newAccount(t))
		me := func() int { return f.do(t, req{method: "GET", path: "/api/v1/auth/me", token: tok.AccessToken}).Code }
		if me() != http.StatusOK {
			t.Fatal("fresh session does not work")
		}
		if _, err := db.Bun().NewUpdate().Model((*refreshToken)(nil)).Set("revoked_at = ?", now()).Where("1 = 1").Exec(t.Context()); err != nil {
			t.Fatal(err)
		}
		time.Sleep(ttl + 10*time.Millisecond)
		if code := me(); code != http.StatusUnauthorized {
			t.Fatalf("%s after a revocation elsewhere: /me = %d, want 401", ttl+10*time.Millisecond, code)
		}
	})
}
