package auth

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/aegisgo/aegis/template/internal/components/cache/cachetest"
	"github.com/aegisgo/aegis/template/internal/components/database"
	"github.com/aegisgo/aegis/template/internal/components/database/databasetest"
)

// This file needs the cache component: it belongs to auth and cache together
// (it skips without TEST_REDIS_URL).

// TestLimitsHoldAcrossInstances: two instances of an app (an AuthService
// and a cache client each) on one database and one Redis: the login and
// registration limits count the attempts of both, so a client spreading its
// guesses over the instances gets the limit, not twice it, and a right
// password through one instance clears the account's failures for both.
func TestLimitsHoldAcrossInstances(t *testing.T) {
	t.Parallel()
	caches := cachetest.RedisInstances(t, 2)
	db := databasetest.New(t, database.SQLite)
	s := testSettings()
	s.LoginIPLimit, s.LoginIPWindow = 4, time.Minute
	s.LoginAccountLimit, s.LoginAccountWindow = 3, time.Hour
	s.RegisterIPLimit, s.RegisterIPWindow = 2, time.Minute
	var instances [2]*AuthService
	var users *UserService
	for i, c := range caches {
		users, instances[i] = newServices(t, db, s, AuthOpts{Limits: c.RateLimits()})
	}
	const wrong = "not the password at all"
	attempt := func(i int, p LoginParams) error {
		_, err := instances[i%2].Login(t.Context(), p)
		return err
	}
	limited := func(err error) bool {
		var rl *RateLimitError
		return errors.As(err, &rl)
	}
	tests := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"login by IP", func(t *testing.T) {
			for i := range 8 {
				err := attempt(i, LoginParams{Login: fmt.Sprintf("nobody%d@example.com", i), Password: wrong, IP: "203.0.113.7"})
				if limited(err) != (i >= s.LoginIPLimit) {
					t.Fatalf("attempt %d from one IP through instance %d: %v; want 429 past %d in all", i+1, i%2+1, err, s.LoginIPLimit)
				}
			}
		}},
		{"login by account", func(t *testing.T) {
			u := createUser(t, users, CreateUserParams{Email: "shared@example.com", Username: "shared", Password: goodPassword})
			for i := range 5 {
				err := attempt(i, LoginParams{Login: u.Email, Password: wrong, IP: fmt.Sprintf("198.51.100.%d", i+1)})
				if limited(err) != (i >= s.LoginAccountLimit) {
					t.Fatalf("failure %d through instance %d: %v; want 429 past %d in all", i+1, i%2+1, err, s.LoginAccountLimit)
				}
			}
		}},
		{"a right password clears the account for both", func(t *testing.T) {
			u := createUser(t, users, CreateUserParams{Email: "clear@example.com", Username: "clear", Password: goodPassword})
			for i := range 2 {
				if err := attempt(0, LoginParams{Login: u.Email, Password: wrong, IP: fmt.Sprintf("192.0.2.%d", i+1)}); !errors.Is(err, ErrInvalidCredentials) {
					t.Fatalf("failure %d: %v", i+1, err)
				}
			}
			if err := attempt(0, LoginParams{Login: u.Email, Password: goodPassword, IP: "192.0.2.3"}); err != nil {
				t.Fatalf("right password: %v", err)
			}
			// Two failures left the count at 0 everywhere: three more fit through the other instance.
			for i := range 3 {
				if err := attempt(1, LoginParams{Login: u.Email, Password: wrong, IP: fmt.Sprintf("192.0.2.%d", i+4)}); !errors.Is(err, ErrInvalidCredentials) {
					t.Fatalf("failure %d after the reset, through the other instance: %v", i+1, err)
				}
			}
		}},
		{"registration by IP", func(t *testing.T) {
			for i := range 4 {
				_, err := instances[i%2].Register(t.Context(), RegisterParams{Email: fmt.Sprintf("new%d@example.com", i),
					Username: fmt.Sprintf("new%d", i), Password: goodPassword, IP: "203.0.113.7"})
				if limited(err) != (i >= s.RegisterIPLimit) {
					t.Fatalf("registration %d through instance %d: %v; want 429 past %d in all", i+1, i%2+1, err, s.RegisterIPLimit)
				}
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, tt.run)
	}
}
