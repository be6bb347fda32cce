package auth

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/width"

	"github.com/aegisgo/aegis/template/internal/components/database"
	"github.com/aegisgo/aegis/template/internal/components/database/databasetest"
)

// TestPasswordChecksThrottled: every request that verifies a password
// (login, change password, email change) goes through the login limiter,
// per account and per client IP, and is answered 429 with Retry-After.
func TestPasswordChecksThrottled(t *testing.T) {
	t.Parallel()
	type step struct {
		kind, remote, password string
		status                 int
	}
	const wrong = "not the password at all"
	cases := []struct {
		name     string
		ipLimit  int
		accLimit int
		steps    []step
	}{
		{"change password: wrong current password per account", 1000, 3, []step{
			{"change", "192.0.2.1:1", wrong, 422}, {"change", "192.0.2.2:1", wrong, 422}, {"change", "192.0.2.3:1", wrong, 422},
			{"change", "192.0.2.4:1", wrong, 429}, {"change", "192.0.2.5:1", "", 429},
		}},
		{"change password: per IP", 3, 1000, []step{
			{"change", "192.0.2.9:1", wrong, 422}, {"change", "192.0.2.9:2", wrong, 422}, {"change", "192.0.2.9:3", wrong, 422},
			{"change", "192.0.2.9:4", wrong, 429}, {"login", "192.0.2.9:5", "", 429}, {"login", "192.0.2.10:1", "", 200},
		}},
		{"login and change password share the account's count", 1000, 3, []step{
			{"login", "192.0.2.1:1", wrong, 401}, {"login", "192.0.2.2:1", wrong, 401}, {"change", "192.0.2.3:1", wrong, 422},
			{"change", "192.0.2.4:1", "", 429}, {"login", "192.0.2.5:1", "", 429},
		}},
		{"email change: wrong current password per account", 1000, 2, []step{
			{"email", "192.0.2.1:1", wrong, 422}, {"email", "192.0.2.2:1", wrong, 422},
			{"email", "192.0.2.3:1", "", 429}, {"login", "192.0.2.4:1", "", 429},
		}},
		{"a right password resets the account's count", 1000, 3, []step{
			{"change", "192.0.2.1:1", wrong, 422}, {"change", "192.0.2.1:2", wrong, 422}, {"login", "192.0.2.1:3", "", 200},
			{"change", "192.0.2.1:4", wrong, 422}, {"change", "192.0.2.1:5", wrong, 422}, {"change", "192.0.2.1:6", wrong, 422},
			{"change", "192.0.2.1:7", wrong, 429},
		}},
		// The owner proved the mailbox, and the failures were guesses at the old password.
		{"a password reset clears the account's failures", 1000, 2, []step{
			{"login", "192.0.2.1:1", wrong, 401}, {"login", "192.0.2.2:1", wrong, 401}, {"login", "192.0.2.3:1", "", 429},
			{"reset", "", "", 0}, {"login", "192.0.2.4:1", "", 200},
			{"login", "192.0.2.5:1", wrong, 401}, {"login", "192.0.2.6:1", wrong, 401}, {"login", "192.0.2.7:1", "", 429},
		}},
		// Behind a load balancer: locked out on this instance, the owner resets the password
		// through another one, whose limiter this one does not share; the login landing here
		// gets in all the same, and new guesses start a new count.
		{"a password reset on another instance clears the failures here too", 1000, 2, []step{
			{"login", "192.0.2.1:1", wrong, 401}, {"login", "192.0.2.2:1", wrong, 401}, {"login", "192.0.2.3:1", "", 429},
			{"reset-other", "", "", 0}, {"login", "192.0.2.4:1", "", 200},
			{"login", "192.0.2.5:1", wrong, 401}, {"login", "192.0.2.6:1", wrong, 401}, {"login", "192.0.2.7:1", "", 429},
		}},
		{"a password change on another instance clears the failures here too", 1000, 2, []step{
			{"login", "192.0.2.1:1", wrong, 401}, {"login", "192.0.2.2:1", wrong, 401}, {"login", "192.0.2.3:1", "", 429},
			{"change-other", "", "", 0}, {"login", "192.0.2.4:1", "", 200},
		}},
	}
	databasetest.Engines(t, func(t *testing.T, db *database.DB) {
		for ci, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				f := setup(t, db, func(s *Settings) {
					s.LoginIPLimit, s.LoginIPWindow = c.ipLimit, time.Minute
					s.LoginAccountLimit, s.LoginAccountWindow = c.accLimit, time.Hour
				})
				f.seq.Store(int64(ci) * 100) // the cases share the database: fresh accounts
				a := f.newAccount(t)
				tok := f.login(t, a) // from the default remote address, before the steps
				for i, s := range c.steps {
					password := s.password
					if password == "" {
						password = a.password
					}
					var rec *httptest.ResponseRecorder
					switch s.kind {
					case "reset":
						a.password = "a fresh passphrase from the link"
						if err := f.auth.ResetPassword(t.Context(), a.id, a.password); err != nil {
							t.Fatalf("step %d: reset: %v", i, err)
						}
						continue
					case "reset-other", "change-other":
						// Another instance of the app: its own services, and limiter, on the same database.
						_, other := newServices(t, db, testSettings(), AuthOpts{})
						next := "a fresh passphrase from elsewhere"
						var err error
						if s.kind == "reset-other" {
							err = other.ResetPassword(t.Context(), a.id, next)
						} else {
							err = other.ChangePasswordWith(t.Context(), ChangePasswordParams{UserID: a.id, Current: a.password, New: next})
						}
						if err != nil {
							t.Fatalf("step %d: %s: %v", i, s.kind, err)
						}
						a.password = next
						continue
					case "login":
						rec = f.do(t, req{method: "POST", path: "/api/v1/auth/login", remote: s.remote,
							body: map[string]string{"email": a.email, "password": password}})
					case "change":
						// The new password is refused (too short) when the current one is right, so
						// the account's password never changes: 422 either way, unless throttled.
						rec = f.do(t, req{method: "POST", path: "/api/v1/auth/change-password", remote: s.remote, token: tok.AccessToken,
							body: map[string]string{"current_password": password, "new_password": "short"}})
						if s.password == "" && s.status != http.StatusTooManyRequests {
							s.status = http.StatusUnprocessableEntity
						}
					case "email":
						rec = f.do(t, req{method: "PATCH", path: "/api/v1/auth/me", remote: s.remote, token: tok.AccessToken,
							body: map[string]string{"email": "moved-" + a.email, "current_password": password}})
					}
					if rec.Code != s.status {
						t.Fatalf("step %d (%s from %s): status %d, want %d; body %s", i, s.kind, s.remote, rec.Code, s.status, rec.Body)
					}
					if s.status == http.StatusTooManyRequests {
						problem(t, rec, http.StatusTooManyRequests)
						if ra := rec.Header().Get("Retry-After"); ra == "" || ra == "0" {
							t.Errorf("step %d: Retry-After = %q", i, ra)
						}
					}
				}
			})
		}
	})
}

// TestUnknownAccountLimitedAsLookedUp: the failures of an unknown login count
// against the form it is looked up in (NFKC, lower case), as an existing
// account's count against the account whatever form names it. Before, they
// counted against the text as typed, so the same address written with
// full-width letters started a count of its own: the third form of an
// existing account got 429 and that of an unknown one 401, which told an
// attacker which addresses have accounts.
func TestUnknownAccountLimitedAsLookedUp(t *testing.T) {
	t.Parallel()
	databasetest.Engines(t, func(t *testing.T, db *database.DB) {
		f := setup(t, db, func(s *Settings) {
			s.LoginAccountLimit = 2
			s.LoginAccountWindow = time.Hour
		})
		a := f.newAccount(t) // user<n>@example.com
		forms := func(email string) []string {
			return []string{email, width.Widen.String(email), strings.ToUpper(width.Widen.String(email[:1])) + email[1:]}
		}
		for _, email := range []string{a.email, "ghost@example.com"} {
			var got []int
			for i, form := range forms(email) {
				got = append(got, f.do(t, req{method: "POST", path: "/api/v1/auth/login", remote: fmt.Sprintf("198.51.100.%d:1", i+1),
					body: map[string]string{"email": form, "password": "not the password at all"}}).Code)
			}
			if want := []int{401, 401, 429}; !slices.Equal(got, want) {
				t.Errorf("%s in three forms, wrong password: %v, want %v", email, got, want)
			}
		}
	})
}

// TestAccountLimitHoldsUnderBurst: wrong passwords sent for one account all
// at once, from as many addresses, get AUTH_LOGIN_ACCOUNT_LIMIT
// verifications, not one each. Before, each request checked the limit before
// its verification and counted its failure after it, so a burst all passed
// the check first: here every request of the burst waits for the one hashing
// slot, held by the test, after its check.
func TestAccountLimitHoldsUnderBurst(t *testing.T) {
	t.Parallel()
	databasetest.Engines(t, func(t *testing.T, db *database.DB) {
		s := testSettings()
		s.LoginAccountLimit = 2
		s.LoginAccountWindow = time.Hour
		s.HashConcurrency = 1
		s.HashWait = time.Minute
		users, a := newServices(t, db, s, AuthOpts{})
		u := createUser(t, users, CreateUserParams{Email: "burst@example.com", Username: "burst", Password: goodPassword})
		release, err := users.hasher.gate.acquire(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		const n = 8
		errs := make(chan error, n)
		for i := range n {
			go func() {
				_, err := a.Login(t.Context(), LoginParams{Login: u.Email, Password: "not the password at all", IP: fmt.Sprintf("198.51.100.%d", i+1)})
				errs <- err
			}()
		}
		deadline := time.Now().Add(10 * time.Second)
		for users.hasher.gate.waiting.Load() == 0 && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		time.Sleep(200 * time.Millisecond) // the rest of the burst arrives (too short a wait only lets the test pass)
		release()
		verified, limited := 0, 0
		for range n {
			var rl *RateLimitError
			switch err := <-errs; {
			case errors.Is(err, ErrInvalidCredentials):
				verified++
			case errors.As(err, &rl):
				limited++
			default:
				t.Errorf("login: %v", err)
			}
		}
		if verified != s.LoginAccountLimit || limited != n-s.LoginAccountLimit {
			t.Errorf("a burst of %d wrong passwords: %d verified, %d limited; want %d verified", n, verified, limited, s.LoginAccountLimit)
		}
	})
}
