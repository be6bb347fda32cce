// Package registrytest starts containers for tests: a test registers what it needs on a fresh
// registry.Registry, and Start builds and starts it and stops it when the test ends.
package registrytest

import (
	"context"
	"testing"

	"github.com/aegisgo/aegis/template/internal/runtime/registry"
)

// Start adds to r what each register function adds (a component's Register, or a func doing
// the test's own registrations), builds r, starts the container and stops it when the test
// ends. Any error fails the test at once.
func Start(t testing.TB, r *registry.Registry, register ...func(*registry.Registry) error) *registry.Container {
	t.Helper()
	c := Build(t, r, register...)
	if err := c.Start(t.Context()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { _ = c.Stop(context.Background()) })
	return c
}

// Build adds to r what each register function adds and builds r, failing the test on an
// error. The container is not started: for a test of what Start does (call Stop if Start
// succeeds).
func Build(t testing.TB, r *registry.Registry, register ...func(*registry.Registry) error) *registry.Container {
	t.Helper()
	for _, add := range register {
		if err := add(r); err != nil {
			t.Fatal(err)
		}
	}
	c, err := r.Build()
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	return c
}

// Gate is a service whose Start blocks until Release: a slow service, to test what may or may
// not happen while a container is still starting. Make it with NewGate.
type Gate struct{ entered, release chan struct{} }

// NewGate returns a closed gate.
func NewGate() *Gate { return &Gate{entered: make(chan struct{}), release: make(chan struct{})} }

// Start waits until Release, or until ctx ends (the container cancelling its start).
func (g *Gate) Start(ctx context.Context) error {
	close(g.entered)
	select {
	case <-g.release:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Entered is closed once Start has begun.
func (g *Gate) Entered() <-chan struct{} { return g.entered }

// Release lets Start return.
func (g *Gate) Release() { close(g.release) }
