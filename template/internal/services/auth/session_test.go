package auth

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/uptrace/bun"

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

// revokeAfterCheck logs the session out once, right after the session check
// it watches for has read the database: a logout that commits between that
// read and the caching of its answer.
type revokeAfterCheck struct {
	armed  atomic.Bool
	revoke func(ctx context.Context)
}

func (*revokeAfterCheck) BeforeQuery(ctx context.Context, _ *bun.QueryEvent) context.Context {
	return ctx
}

func (h *revokeAfterCheck) AfterQuery(ctx context.Context, e *bun.QueryEvent) {
	if strings.Contains(e.Query, "EXISTS") && strings.Contains(e.Query, "family_id") && h.armed.CompareAndSwap(true, false) {
		h.revoke(ctx)
	}
}

// TestSessionCacheRace: a session check that read the session live just
// before this process revoked it must not cache that answer. Before, the
// logout dropped the session's cache entry and the check then stored "live"
// behind it: the logged-out access token kept working for
// AUTH_SESSION_CHECK_TTL (up to an hour) in the very process that logged it
// out, which is promised to refuse it at once.
func TestSessionCacheRace(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		hook := &revokeAfterCheck{}
		//lint:ignore SA1019 the hook must be on the DB the service is built on
		db.Bun().AddQueryHook(hook)
		s := testSettings()
		s.SessionCheckTTL = time.Hour
		users, a := newServices(t, db, s, AuthOpts{})
		u := createUser(t, users, CreateUserParams{Email: "cache@example.com", Username: "cache", Password: goodPassword})
		pair, err := a.Login(t.Context(), LoginParams{Login: u.Email, Password: goodPassword})
		if err != nil {
			t.Fatal(err)
		}
		hook.revoke = func(ctx context.Context) {
			if err := a.Logout(context.WithoutCancel(ctx), pair.RefreshToken); err != nil {
				t.Error(err)
			}
		}
		hook.armed.Store(true)
		// The check reads the session live; the logout lands before its answer is kept.
		if _, _, err := a.Authenticate(t.Context(), pair.AccessToken); err != nil {
			t.Fatalf("the check under way when the logout came: %v", err)
		}
		if hook.armed.Load() {
			t.Fatal("the session check was not seen")
		}
		if _, _, err := a.Authenticate(t.Context(), pair.AccessToken); !errors.Is(err, ErrInvalidToken) {
			t.Fatalf("after the logout: %v, want ErrInvalidToken", err)
		}
	})
}
