// Package auth is the authentication service: accounts with argon2id
// passwords and roles, login with short-lived JWT access tokens and rotating
// refresh tokens, rate-limited logins, and the admin user API.
//
// Endpoints (all in /openapi.json): POST /api/v1/auth/{register,login,
// refresh,logout,change-password}, GET and PATCH /api/v1/auth/me, and for
// admins GET /api/v1/users, GET/PATCH/DELETE /api/v1/users/{id} and POST
// /api/v1/users/{id}/deactivate.
//
// Other packages protect their own operations with RequireRole (huma) or
// RequireRoleHTTP (chi) and read the caller with UserFromContext:
//
//	huma.Register(r.API, huma.Operation{
//		Method: http.MethodGet, Path: "/api/v1/reports",
//		Middlewares: huma.Middlewares{auth.RequireRole(auth.RoleAdmin)},
//	}, func(ctx context.Context, _ *struct{}) (*Out, error) {
//		me, _ := auth.UserFromContext(ctx)
//		...
//	})
//
// The logic lives in two services, UserService and AuthService, registered
// in the registry; handlers and the `users` command only call them.
package auth

import (
	"embed"
	"errors"
	"io/fs"

	"github.com/aegisgo/aegis/template/internal/app"
	"github.com/aegisgo/aegis/template/internal/components/backend"
	"github.com/aegisgo/aegis/template/internal/components/database"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
)

// Name is the service's name in the catalog, in config and for migrations.
const Name = "auth"

//go:embed migrations
var migrationFiles embed.FS

// Migrations returns the auth schema: sqlite/*.sql and postgres/*.sql.
func Migrations() fs.FS {
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		// "migrations" is embedded above; Sub only fails on an invalid name.
		return migrationFiles
	}
	return sub
}

func init() {
	database.RegisterMigrations(Name, Migrations())
	// Registration errors are kept by the registry and reported by Build.
	_ = Register(registry.Default)
	backend.Routes(Name, mount)
	app.AddCommand(usersCommand)
}

// Register adds UserService and AuthService to r. init() does it for
// registry.Default; tests use a fresh registry.
func Register(r *registry.Registry) error {
	return errors.Join(
		registry.Provide1(r, NewUserService, registry.Describe("accounts: users, passwords (argon2id), roles")),
		registry.Provide2(r, NewAuthService, registry.Describe("login, JWT access tokens, rotating refresh tokens, login rate limits")),
	)
}
