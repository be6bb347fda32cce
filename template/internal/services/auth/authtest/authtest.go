// Package authtest gives the tests of the parts that meet auth (its glues, composites) the
// real auth services on a test database, fast enough to create many accounts, and tokens for
// the accounts they create.
package authtest

import (
	"context"
	"strings"
	"testing"

	"github.com/aegisgo/aegis/template/internal/components/database"
	"github.com/aegisgo/aegis/template/internal/services/auth"
)

// Password is the password of every account Accounts creates that does not set its own; it
// is not on auth's list of common passwords.
const Password = "correct horse battery staple"

// Settings are auth's settings for tests: a secret long enough for production's rules and
// argon2id at 64 KiB and one pass, so that hashing costs microseconds.
func Settings() auth.Settings {
	return auth.Settings{Secret: strings.Repeat("k", 40), Argon2MemoryKiB: 64, Argon2Iterations: 1, Argon2Parallelism: 1, Leeway: auth.DefaultLeeway}.WithDefaults()
}

// Env is auth on one database: the user service and the auth service over it.
type Env struct {
	Users *auth.UserService
	Auth  *auth.AuthService
}

// New returns auth's services on db with Settings.
func New(t testing.TB, db *database.DB) *Env {
	t.Helper()
	users, err := auth.NewUserServiceWith(db, Settings())
	if err != nil {
		t.Fatal(err)
	}
	return With(t, db, users)
}

// With returns the auth service over users, a user service a test built itself.
func With(t testing.TB, db *database.DB, users *auth.UserService) *Env {
	t.Helper()
	a, err := auth.NewAuthServiceWith(db, users, Settings(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return &Env{Users: users, Auth: a}
}

// Accounts creates the accounts ps describes, with Password where one has none.
func (e *Env) Accounts(ctx context.Context, t testing.TB, ps ...auth.CreateUserParams) {
	t.Helper()
	for _, p := range ps {
		if p.Password == "" {
			p.Password = Password
		}
		if _, err := e.Users.Create(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
}

// Token signs login in with Password and returns the access token.
func (e *Env) Token(ctx context.Context, t testing.TB, login string) string {
	t.Helper()
	p, err := e.Auth.Login(ctx, auth.LoginParams{Login: login, Password: Password, IP: "192.0.2.1"})
	if err != nil {
		t.Fatal(err)
	}
	return p.AccessToken
}
