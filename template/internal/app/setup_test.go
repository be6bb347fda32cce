package app

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"

	"github.com/aegisgo/aegis/template/internal/components/backend"
	"github.com/aegisgo/aegis/template/internal/runtime/logtest"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
)

// recorder is a service that remembers being stopped.
type recorder struct {
	mu      sync.Mutex
	stopped bool
}

func (r *recorder) Stop(context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stopped = true
	return nil
}

func (r *recorder) wasStopped() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stopped
}

// failing is a service whose Start fails.
type failing struct{}

func (failing) Start(context.Context) error { return errors.New("cannot connect to 127.0.0.1:5432") }

// harness is a cli on a fresh registry holding the backend, with captured
// output.
type harness struct {
	cli    *cli
	reg    *registry.Registry
	stdout *logtest.Buffer
	stderr *logtest.Buffer
}

func setup(t *testing.T) *harness {
	t.Helper()
	reg := registry.New()
	if err := backend.Register(reg); err != nil {
		t.Fatal(err)
	}
	h := &harness{reg: reg, stdout: &logtest.Buffer{}, stderr: &logtest.Buffer{}}
	// A fresh registry: the test binary also links every component's and service's routes.
	h.cli = &cli{name: "shop", stdout: h.stdout, stderr: h.stderr, reg: reg}
	// serve installs its logger as the default; put the test's back.
	prev := slog.Default()
	t.Cleanup(func() { slog.SetDefault(prev) })
	return h
}

func (h *harness) run(ctx context.Context, args ...string) int {
	return run(ctx, h.cli, args)
}

// cleanEnv makes the settings the app reads start from their defaults.
func cleanEnv(t *testing.T) {
	t.Helper()
	for _, k := range []string{"APP_ENV", "LOG_LEVEL", "LOG_FORMAT", "HOST", "PORT", "HEALTH_TIMEOUT", "HTTP_SHUTDOWN_TIMEOUT"} {
		t.Setenv(k, "")
	}
}
