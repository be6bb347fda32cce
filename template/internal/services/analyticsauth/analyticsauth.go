// Package analyticsauth is the glue between the analytics and auth services (owned by the
// pair): it gives analytics an Identity, so tracked events carry the user of the request (the
// access token's user), POST /api/v1/analytics/events attributes a batch to the bearer token's
// user, the GET /api/v1/analytics/... endpoints need the admin role, and UserStats counts the
// accounts. Neither service names the other; this package is generated only with both.
package analyticsauth

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/danielgtaylor/huma/v2"

	"github.com/aegisgo/aegis/template/internal/components/database"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
	"github.com/aegisgo/aegis/template/internal/services/analytics"
	"github.com/aegisgo/aegis/template/internal/services/auth"
)

func init() {
	// Registration errors are kept by the registry and reported by Build.
	_ = Register(registry.Default)
}

// Register provides the Identity that the analytics service takes as an optional dependency.
func Register(r *registry.Registry) error {
	return registry.Provide2(r, newIdentity, registry.Describe("analytics sees the auth service's users and admins"))
}

func newIdentity(_ context.Context, a *auth.AuthService, db *database.DB) (analytics.Identity, error) {
	return New(a, db)
}

// Identity is analytics.Identity on the auth service.
type Identity struct {
	auth *auth.AuthService
	db   *database.DB
}

// New returns the Identity of a's users, counting the accounts in db.
func New(a *auth.AuthService, db *database.DB) (*Identity, error) {
	if a == nil || db == nil {
		return nil, errors.New("analyticsauth: nil auth service or database")
	}
	return &Identity{auth: a, db: db}, nil
}

// UserID is the ID of the user the auth middleware put in ctx.
func (i *Identity) UserID(ctx context.Context) (string, bool) {
	u, ok := auth.UserFromContext(ctx)
	if !ok {
		return "", false
	}
	return strconv.FormatInt(u.ID, 10), true
}

// Authenticate lets requests without an Authorization header through as anonymous, and
// checks the token of those that have one (401 when it is invalid): a client that means to
// be someone is never silently counted as no one.
func (i *Identity) Authenticate() func(huma.Context, func(huma.Context)) {
	user := i.auth.RequireUser()
	return func(ctx huma.Context, next func(huma.Context)) {
		if ctx.Header("Authorization") == "" {
			next(ctx)
			return
		}
		user(ctx, next)
	}
}

// RequireAdmin admits admins only.
func (i *Identity) RequireAdmin() func(huma.Context, func(huma.Context)) {
	return i.auth.RequireRole(auth.RoleAdmin)
}

// UserStats counts the accounts and the active ones.
func (i *Identity) UserStats(ctx context.Context) (analytics.UserCounts, error) {
	var c analytics.UserCounts
	err := i.db.SQL().QueryRowContext(ctx,
		"SELECT COUNT(*), COALESCE(SUM(CASE WHEN active THEN 1 ELSE 0 END), 0) FROM auth_users").Scan(&c.Total, &c.Active)
	if err != nil {
		return c, fmt.Errorf("analyticsauth: count users: %w", err)
	}
	return c, nil
}

var _ analytics.Identity = (*Identity)(nil)
