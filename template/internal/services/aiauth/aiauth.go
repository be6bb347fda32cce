// Package aiauth is the glue between the ai and auth services (owned by the pair): it gives ai
// an Identity, so every conversation and every call of the usage ledger belongs to the user
// of the access token, the /api/v1/ai endpoints need a token, AI_DAILY_TOKEN_QUOTA applies
// per user, and admins may read everyone's usage. Neither service names the other; this
// package is generated only with both.
package aiauth

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/danielgtaylor/huma/v2"

	"github.com/aegisgo/aegis/template/internal/runtime/registry"
	"github.com/aegisgo/aegis/template/internal/services/ai"
	"github.com/aegisgo/aegis/template/internal/services/auth"
)

func init() {
	// Registration errors are kept by the registry and reported by Build.
	_ = Register(registry.Default)
}

// Register provides the Identity that the ai service takes as an optional dependency.
func Register(r *registry.Registry) error {
	return registry.Provide1(r, newIdentity, registry.Describe("ai conversations, usage and quotas belong to the auth service's users"))
}

func newIdentity(_ context.Context, a *auth.AuthService) (ai.Identity, error) { return New(a) }

// Identity is ai.Identity on the auth service.
type Identity struct {
	auth *auth.AuthService
}

// New returns the Identity of a's users.
func New(a *auth.AuthService) (*Identity, error) {
	if a == nil {
		return nil, errors.New("aiauth: nil auth service")
	}
	return &Identity{auth: a}, nil
}

// UserID is the ID of the user the auth middleware put in ctx.
func (i *Identity) UserID(ctx context.Context) (string, bool) {
	u, ok := auth.UserFromContext(ctx)
	if !ok {
		return "", false
	}
	return strconv.FormatInt(u.ID, 10), true
}

// IsAdmin reports whether the user of ctx has the admin role.
func (i *Identity) IsAdmin(ctx context.Context) bool {
	u, ok := auth.UserFromContext(ctx)
	return ok && u.HasRole(auth.RoleAdmin)
}

// RequireUser admits requests with a valid access token of an active user.
func (i *Identity) RequireUser() func(huma.Context, func(huma.Context)) {
	return i.auth.RequireUser()
}

// RequireUserHTTP is RequireUser for the MCP endpoint.
func (i *Identity) RequireUserHTTP() func(http.Handler) http.Handler {
	return i.auth.RequireRoleHTTP("")
}

// UserNames names the users of ids for the dashboard's AI panel: the email, else the
// username. An ID that is not a number or of no user (deleted since) is left out; the panel
// then shows the ID. The panel lists at most a few conversations, so one lookup per distinct
// user is cheap.
func (i *Identity) UserNames(ctx context.Context, ids []string) (map[string]string, error) {
	out := make(map[string]string, len(ids))
	for _, id := range ids {
		n, err := strconv.ParseInt(id, 10, 64)
		if err != nil {
			continue
		}
		u, err := i.auth.Users().Get(ctx, n)
		switch {
		case errors.Is(err, auth.ErrNotFound):
			continue
		case err != nil:
			return nil, fmt.Errorf("aiauth: name user %s: %w", id, err)
		}
		if name := cmp.Or(u.Email, u.Username); name != "" {
			out[id] = name
		}
	}
	return out, nil
}

var (
	_ ai.Identity  = (*Identity)(nil)
	_ ai.UserNamer = (*Identity)(nil)
)
