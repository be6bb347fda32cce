package ai

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"
)

// Identity is what the service knows of the app's accounts. The ai+auth glue
// (internal/services/aiauth) provides one when the auth service is selected: conversations
// and usage then belong to users, the endpoints need a token and AI_DAILY_TOKEN_QUOTA
// applies. Without it, the endpoints need AI_ACCESS_TOKEN (or, outside production with it
// empty, nothing) and conversations are shared.
type Identity interface {
	// UserID returns the user of a request or job context, "" and false for none; it must be
	// cheap (a context lookup).
	UserID(ctx context.Context) (string, bool)
	// IsAdmin reports whether the user of ctx may read everyone's usage.
	IsAdmin(ctx context.Context) bool
	// RequireUser returns the middleware of every endpoint: a valid access token.
	RequireUser() func(huma.Context, func(huma.Context))
	// RequireUserHTTP is RequireUser for plain net/http handlers (the MCP server at /mcp).
	RequireUserHTTP() func(http.Handler) http.Handler
}

// UserNamer is an Identity that can also name its users: the dashboard's AI panel shows a
// conversation's user by name (an email or username) rather than by ID when the Identity
// is one. It is a separate interface so an Identity without accounts to read need not
// implement it.
type UserNamer interface {
	// UserNames returns a name to show for each of ids that names a user; an ID of no user
	// (deleted since) is left out.
	UserNames(ctx context.Context, ids []string) (map[string]string, error)
}
