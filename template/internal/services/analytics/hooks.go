package analytics

import (
	"context"
	"time"

	"github.com/danielgtaylor/huma/v2"
)

// Identity is what the service knows of the app's accounts. The analytics+auth glue
// (internal/services/analyticsauth) provides one when the auth service is selected; without it
// events carry only the users set with WithUser, GET endpoints need ANALYTICS_READ_TOKEN and
// there are no user statistics. The service takes it as an optional dependency, so analytics
// never imports auth.
type Identity interface {
	// UserID returns the user of a request or job context, "" and false for none. It is called
	// by Track on every event, so it must be cheap (a context lookup).
	UserID(ctx context.Context) (string, bool)
	// Authenticate returns the middleware of POST /api/v1/analytics/events: it puts the
	// bearer token's user in the context when the request carries a token (and refuses an
	// invalid token), and lets anonymous requests through.
	Authenticate() func(huma.Context, func(huma.Context))
	// RequireAdmin returns the middleware of the GET endpoints: admins only.
	RequireAdmin() func(huma.Context, func(huma.Context))
	// UserStats counts the accounts.
	UserStats(ctx context.Context) (UserCounts, error)
}

// UserCounts are the accounts as Identity counts them.
type UserCounts struct {
	Total  int64
	Active int64
}

// Memo caches computed values. The analytics+cache glue (internal/services/analyticscache)
// provides one on the cache component; without it nothing is cached.
type Memo interface {
	// Remember returns the value cached under key, or computes, caches (for ttl) and returns
	// it. A cache that fails must fall back to compute, never fail the caller for it.
	Remember(ctx context.Context, key string, ttl time.Duration, compute func(context.Context) ([]byte, error)) ([]byte, error)
}

type userKey struct{}

// WithUser returns ctx carrying the user events tracked with it belong to, for work that has
// no request (a job acting for a user). It wins over the request's authenticated user.
func WithUser(ctx context.Context, userID string) context.Context {
	return context.WithValue(ctx, userKey{}, userID)
}

// userID is the user of ctx: WithUser's, else Identity's, else none.
func (s *Service) userID(ctx context.Context) string {
	if ctx == nil {
		return ""
	}
	if id, ok := ctx.Value(userKey{}).(string); ok {
		return id
	}
	if s.identity != nil {
		if id, ok := s.identity.UserID(ctx); ok {
			return id
		}
	}
	return ""
}
