// Package analyticscache is the glue between the analytics service and the cache component
// (owned by the pair): it gives analytics a Memo on the cache, so the user statistics are
// computed once per ANALYTICS_CACHE_TTL (per instance, or across instances with Redis) rather
// than on every request.
package analyticscache

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/aegisgo/aegis/template/internal/components/cache"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
	"github.com/aegisgo/aegis/template/internal/services/analytics"
)

func init() {
	// Registration errors are kept by the registry and reported by Build.
	_ = Register(registry.Default)
}

// Register provides the Memo that the analytics service takes as an optional dependency.
func Register(r *registry.Registry) error {
	return registry.Provide1(r, newMemo, registry.Describe("analytics caches its statistics in the cache"))
}

func newMemo(_ context.Context, c *cache.Cache) (analytics.Memo, error) { return New(c) }

// Memo is analytics.Memo on the cache component.
type Memo struct {
	cache *cache.Cache
}

// New returns a Memo on c.
func New(c *cache.Cache) (*Memo, error) {
	if c == nil {
		return nil, errors.New("analyticscache: nil cache")
	}
	return &Memo{cache: c}, nil
}

// Remember is cache.GetOrCompute for JSON values: concurrent callers of one key share one computation, and a
// cache that fails falls back to computing.
func (m *Memo) Remember(ctx context.Context, key string, ttl time.Duration, compute func(context.Context) ([]byte, error)) ([]byte, error) {
	// The values are JSON already: stored as they are, not as base64 strings.
	v, err := cache.GetOrCompute(ctx, m.cache, key, ttl, func(ctx context.Context) (json.RawMessage, error) {
		b, err := compute(ctx)
		return json.RawMessage(b), err
	})
	return []byte(v), err
}

var _ analytics.Memo = (*Memo)(nil)
