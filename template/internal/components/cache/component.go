package cache

import (
	"context"
	"errors"

	"github.com/aegisgo/aegis/template/internal/config"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
)

// Name is the cache's name as a component, in the registry and in config.
const Name = "cache"

func init() {
	// The registry keeps registration errors and returns them from Build, so
	// the result here is already handled.
	_ = Register(registry.Default)
}

// Register adds the cache component to r, built from the CACHE_* settings.
// init() does it for registry.Default; tests call it on a fresh registry.
func Register(r *registry.Registry) error {
	return errors.Join(
		config.Provide[Settings](r, Name),
		registry.Provide1(r, newCache,
			registry.Component(Name),
			// Services run without the cache when it is down, so an outage
			// degrades readiness instead of failing it.
			registry.Optional(),
			registry.Describe("Key-value cache: in memory, or Redis when CACHE_URL is set"),
		),
		// Plumbing: its health is the cache's, reported above.
		registry.Provide1(r, sharedLimits, registry.Hidden()),
	)
}

func newCache(_ context.Context, s Settings) (*Cache, error) { return Open(s) }
