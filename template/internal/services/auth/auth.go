// Package auth is the authentication service: accounts with argon2id
// passwords and roles, login with short-lived JWT access tokens and rotating
// refresh tokens, rate-limited logins, and the admin user API.
//
// Endpoints (all in /openapi.json): POST /api/v1/auth/{register,login,
// refresh,logout,change-password}, GET and PATCH /api/v1/auth/me, and for
// admins GET /api/v1/users, GET/PATCH/DELETE /api/v1/users/{id} and POST
// /api/v1/users/{id}/deactivate.
//
// Other packages protect their own operations with AuthService.RequireRole
// (huma) or AuthService.RequireRoleHTTP (chi), resolving the AuthService once
// when their routes are mounted, and read the caller with UserFromContext:
//
//	a, err := registry.Get[*auth.AuthService](r.Container)
//	if err != nil {
//		return err
//	}
//	huma.Register(r.API, huma.Operation{
//		Method: http.MethodGet, Path: "/api/v1/reports",
//		Middlewares: huma.Middlewares{a.RequireRole(auth.RoleAdmin)},
//	}, func(ctx context.Context, _ *struct{}) (*Out, error) {
//		me, _ := auth.UserFromContext(ctx)
//		...
//	})
//
// The logic lives in two services, UserService and AuthService, registered
// in the registry; handlers and the `users` command only call them.
//
// Security rules (docs/security.md, "Authentication", states them for the
// app): argon2id work is bounded (AUTH_HASH_CONCURRENCY, beyond it 503 with
// Retry-After); every password check (login, change password, email change)
// shares the per-IP and per-account limits, and registration has a per-IP
// limit (429 with Retry-After); an access token stops working when its
// session (sid) is logged out or revoked (at once in this process, within
// AUTH_SESSION_CHECK_TTL elsewhere); identifiers are NFKC-normalised and may
// not hold invisible, bidi-control or mixed-script text; and UserService
// refuses to let an admin deactivate or demote themselves, or anyone the last
// active admin (the `users activate|deactivate|set-role` commands included).
package auth

import (
	"embed"
	"errors"

	"github.com/aegisgo/aegis/template/internal/command"
	"github.com/aegisgo/aegis/template/internal/components/backend"
	"github.com/aegisgo/aegis/template/internal/components/database"
	"github.com/aegisgo/aegis/template/internal/config"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
)

// Name is the service's name in the catalog, in config and for migrations.
const Name = "auth"

//go:embed migrations
var migrationFiles embed.FS

func init() {
	// Registration errors are kept by the registry and reported by Build.
	_ = Register(registry.Default)
}

// Register adds UserService and AuthService to r, with the service's
// settings, migrations, routes and `users` command. init() does it for
// registry.Default; tests use a fresh registry. AuthService needs
// config.Core, which the app's commands provide.
func Register(r *registry.Registry) error {
	registry.Contribute(r, Name, database.MigrationsFrom(migrationFiles))
	registry.Contribute(r, Name, backend.Routes(mount))
	registry.Contribute(r, "users", command.Builder(usersCommand))
	return errors.Join(
		config.Provide[Settings](r, Name),
		registry.Provide2(r, NewUserService, registry.Describe("accounts: users, passwords (argon2id), roles")),
		registry.Provide3(r, newEnv, registry.Hidden()),
		registry.Provide5(r, NewAuthService, registry.Describe("login, JWT access tokens, rotating refresh tokens, login rate limits")),
	)
}
