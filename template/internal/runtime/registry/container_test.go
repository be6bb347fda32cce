package registry_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aegisgo/aegis/template/internal/runtime/registry"
	"github.com/aegisgo/aegis/template/internal/runtime/registry/registrytest"
)

var errBoom = errors.New("boom")

// TestGetErrors checks that each way a Get can fail returns a clear error wrapping the right
// sentinel and naming the service, never a panic.
func TestGetErrors(t *testing.T) {
	t.Parallel()
	type Req struct{}
	tests := []struct {
		name     string
		setup    func(t *testing.T, r *registry.Registry)
		start    bool
		stop     bool
		get      func(c *registry.Container) error
		sentinel error
		contains string
	}{
		{
			name:     "singleton before Start",
			setup:    func(t *testing.T, r *registry.Registry) { must(t, registry.Provide(r, newDB)) },
			get:      func(c *registry.Container) error { _, err := registry.Get[*DB](c); return err },
			sentinel: registry.ErrNotStarted,
			contains: "registry: get registry_test.DB: service not started",
		},
		{
			name: "singleton whose constructor failed",
			setup: func(t *testing.T, r *registry.Registry) {
				must(t, registry.Provide(r, func(context.Context) (*DB, error) { return nil, errBoom }))
			},
			start:    true,
			get:      func(c *registry.Container) error { _, err := registry.Get[*DB](c); return err },
			sentinel: registry.ErrFailed,
			contains: "service failed: construct registry_test.DB (registered at",
		},
		{
			name: "singleton whose Start failed",
			setup: func(t *testing.T, r *registry.Registry) {
				must(t, registry.Provide(r, newDB, registry.Hooks(registry.Lifecycle[*DB]{
					Start: func(context.Context, *DB) error { return errBoom },
				})))
			},
			start:    true,
			get:      func(c *registry.Container) error { _, err := registry.Get[*DB](c); return err },
			sentinel: errBoom,
			contains: "start registry_test.DB",
		},
		{
			name: "dependent of a failed singleton",
			setup: func(t *testing.T, r *registry.Registry) {
				must(t, registry.Provide(r, func(context.Context) (*DB, error) { return nil, errBoom }))
				must(t, registry.Provide1(r, newRepo))
			},
			start:    true,
			get:      func(c *registry.Container) error { _, err := registry.Get[*Repo](c); return err },
			sentinel: registry.ErrNotStarted,
			contains: "registry_test.Repo",
		},
		{
			name: "constructor returned nil",
			setup: func(t *testing.T, r *registry.Registry) {
				must(t, registry.Provide(r, func(context.Context) (*DB, error) { return nil, nil }))
			},
			start:    true,
			get:      func(c *registry.Container) error { _, err := registry.Get[*DB](c); return err },
			sentinel: registry.ErrFailed,
			contains: "constructor returned a nil *registry_test.DB",
		},
		{
			name:     "not registered",
			setup:    func(t *testing.T, r *registry.Registry) {},
			start:    true,
			get:      func(c *registry.Container) error { _, err := registry.Get[*DB](c); return err },
			sentinel: registry.ErrNotFound,
			contains: "get *registry_test.DB: service not found",
		},
		{
			name:     "not registered by name",
			setup:    func(t *testing.T, r *registry.Registry) { must(t, registry.Provide(r, newDB)) },
			start:    true,
			get:      func(c *registry.Container) error { _, err := registry.GetNamed[*DB](c, "nope"); return err },
			sentinel: registry.ErrNotFound,
			contains: `"nope"`,
		},
		{
			name: "ambiguous type",
			setup: func(t *testing.T, r *registry.Registry) {
				must(t, registry.Provide(r, newDB, registry.Name("a")))
				must(t, registry.Provide(r, newDB, registry.Name("b")))
			},
			start:    true,
			get:      func(c *registry.Container) error { _, err := registry.Get[*DB](c); return err },
			sentinel: registry.ErrAmbiguous,
			contains: "2 services have that type (a, b); use GetNamed",
		},
		{
			name: "scoped from the container",
			setup: func(t *testing.T, r *registry.Registry) {
				must(t, registry.Provide(r, func(context.Context) (*Req, error) { return &Req{}, nil }, registry.WithLifetime(registry.Scoped)))
			},
			start:    true,
			get:      func(c *registry.Container) error { _, err := registry.Get[*Req](c); return err },
			sentinel: registry.ErrOutsideScope,
			contains: "registry_test.Req",
		},
		{
			name: "transient needing a scoped service, from the container",
			setup: func(t *testing.T, r *registry.Registry) {
				must(t, registry.Provide(r, newDB, registry.WithLifetime(registry.Scoped)))
				must(t, registry.Provide1(r, newRepo, registry.WithLifetime(registry.Transient)))
			},
			start:    true,
			get:      func(c *registry.Container) error { _, err := registry.Get[*Repo](c); return err },
			sentinel: registry.ErrOutsideScope,
			contains: "construct registry_test.Repo: get registry_test.DB",
		},
		{
			name:     "after Stop",
			setup:    func(t *testing.T, r *registry.Registry) { must(t, registry.Provide(r, newDB)) },
			start:    true,
			stop:     true,
			get:      func(c *registry.Container) error { _, err := registry.Get[*DB](c); return err },
			sentinel: registry.ErrStopped,
			contains: "registry_test.DB",
		},
		{
			name:     "GetNamed with the wrong type",
			setup:    func(t *testing.T, r *registry.Registry) { must(t, registry.Provide(r, newDB, registry.Name("db"))) },
			start:    true,
			get:      func(c *registry.Container) error { _, err := registry.GetNamed[*Blob](c, "db"); return err },
			contains: "GetNamed: want *registry_test.Blob, got *registry_test.DB",
		},
		{
			name:     "nil resolver",
			setup:    func(t *testing.T, r *registry.Registry) {},
			get:      func(*registry.Container) error { _, err := registry.Get[*DB](nil); return err },
			sentinel: registry.ErrNilResolver,
		},
		{
			name:     "nil container",
			setup:    func(t *testing.T, r *registry.Registry) {},
			get:      func(*registry.Container) error { _, err := registry.Get[*DB]((*registry.Container)(nil)); return err },
			sentinel: registry.ErrNilResolver,
		},
		{
			name:     "nil resolver by name",
			setup:    func(t *testing.T, r *registry.Registry) {},
			get:      func(*registry.Container) error { _, err := registry.GetNamed[*DB](nil, "x"); return err },
			sentinel: registry.ErrNilResolver,
		},
		{
			name:     "nil scope",
			setup:    func(t *testing.T, r *registry.Registry) {},
			get:      func(*registry.Container) error { _, err := registry.Get[*DB]((*registry.Scope)(nil)); return err },
			sentinel: registry.ErrNilResolver,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := registry.New()
			tt.setup(t, r)
			c, err := r.Build()
			must(t, err)
			if tt.start {
				_ = c.Start(t.Context()) // may fail on purpose
			}
			if tt.stop {
				must(t, c.Stop(t.Context()))
			}
			err = tt.get(c)
			if err == nil {
				t.Fatal("want error, got nil")
			}
			if tt.sentinel != nil && !errors.Is(err, tt.sentinel) {
				t.Errorf("%v: does not wrap %v", err, tt.sentinel)
			}
			if !strings.Contains(err.Error(), tt.contains) {
				t.Errorf("%q does not contain %q", err, tt.contains)
			}
			if !strings.HasPrefix(err.Error(), "registry: ") {
				t.Errorf("%q lacks the package prefix", err)
			}
		})
	}
}

func TestMustGet(t *testing.T) {
	t.Parallel()
	r := registry.New()
	must(t, registry.Provide(r, newDB))
	c := registrytest.Start(t, r)
	if db := registry.MustGet[*DB](c); db.dsn != "mem" {
		t.Errorf("MustGet = %+v", db)
	}
	defer func() {
		if p := recover(); p == nil || !errors.Is(p.(error), registry.ErrNotFound) {
			t.Errorf("MustGet of a missing service: recovered %v", p)
		}
	}()
	registry.MustGet[*Blob](c)
}

func TestLifetimes(t *testing.T) {
	t.Parallel()
	type Req struct{ n int64 }
	type Tmp struct{ n int64 }
	var reqs, tmps atomic.Int64
	r := registry.New()
	must(t, registry.Provide(r, newDB))
	must(t, registry.Provide(r, func(context.Context) (*Req, error) { return &Req{reqs.Add(1)}, nil }, registry.WithLifetime(registry.Scoped)))
	must(t, registry.Provide(r, func(context.Context) (*Tmp, error) { return &Tmp{tmps.Add(1)}, nil }, registry.WithLifetime(registry.Transient)))
	c := registrytest.Start(t, r)

	if a, b := registry.MustGet[*DB](c), registry.MustGet[*DB](c); a != b {
		t.Error("singleton: two instances")
	}
	if a, b := registry.MustGet[*Tmp](c), registry.MustGet[*Tmp](c); a == b {
		t.Error("transient from the container: same instance twice")
	}
	s1, s2 := c.NewScope(t.Context()), c.NewScope(t.Context())
	defer s1.Close(t.Context())
	defer s2.Close(t.Context())
	if a, b := registry.MustGet[*Req](s1), registry.MustGet[*Req](s1); a != b {
		t.Error("scoped: two instances in one scope")
	}
	if a, b := registry.MustGet[*Req](s1), registry.MustGet[*Req](s2); a == b {
		t.Error("scoped: one instance shared by two scopes")
	}
	if a, b := registry.MustGet[*Tmp](s1), registry.MustGet[*Tmp](s1); a == b {
		t.Error("transient in a scope: same instance twice")
	}
	if registry.MustGet[*DB](s1) != registry.MustGet[*DB](c) {
		t.Error("singleton from a scope differs from the container's")
	}
}

func TestScopedBuildsOnceUnderConcurrency(t *testing.T) {
	t.Parallel()
	type Req struct{}
	var built atomic.Int64
	r := registry.New()
	must(t, registry.Provide(r, func(context.Context) (*Req, error) {
		built.Add(1)
		time.Sleep(10 * time.Millisecond) // widen the window for a second build
		return &Req{}, nil
	}, registry.WithLifetime(registry.Scoped)))
	c := registrytest.Start(t, r)
	s := c.NewScope(t.Context())
	defer s.Close(t.Context())

	var wg sync.WaitGroup
	got := make([]*Req, 32)
	for i := range got {
		wg.Go(func() { got[i] = registry.MustGet[*Req](s) })
	}
	wg.Wait()
	if n := built.Load(); n != 1 {
		t.Errorf("built %d times, want 1", n)
	}
	for _, g := range got {
		if g != got[0] {
			t.Fatal("different instances in one scope")
		}
	}
}

func TestScopedRetriesAfterFailure(t *testing.T) {
	t.Parallel()
	type Req struct{}
	var calls atomic.Int64
	r := registry.New()
	must(t, registry.Provide(r, func(context.Context) (*Req, error) {
		if calls.Add(1) == 1 {
			return nil, errBoom
		}
		return &Req{}, nil
	}, registry.WithLifetime(registry.Scoped)))
	c := registrytest.Start(t, r)
	s := c.NewScope(t.Context())
	defer s.Close(t.Context())
	if _, err := registry.Get[*Req](s); !errors.Is(err, errBoom) {
		t.Fatalf("first Get: %v", err)
	}
	if _, err := registry.Get[*Req](s); err != nil {
		t.Fatalf("second Get: %v", err)
	}
}

// closer records Close calls for io.Closer handling.
type closer struct {
	name string
	log  *events
}

func (c *closer) Close() error { c.log.add("close " + c.name); return nil }

func TestScopeClose(t *testing.T) {
	t.Parallel()
	type A struct{ *closer }
	type B struct{ *lifecycle }
	type T struct{ *closer }
	ev := &events{}
	var tmp atomic.Int64
	r := registry.New()
	must(t, registry.Provide(r, func(context.Context) (*A, error) {
		return &A{&closer{"a", ev}}, nil
	}, registry.WithLifetime(registry.Scoped)))
	must(t, registry.Provide1(r, func(_ context.Context, a *A) (*B, error) {
		return &B{&lifecycle{name: "b", log: ev}}, nil
	}, registry.WithLifetime(registry.Scoped)))
	must(t, registry.Provide(r, func(context.Context) (*T, error) {
		return &T{&closer{"t" + itoa(int(tmp.Add(1))), ev}}, nil
	}, registry.WithLifetime(registry.Transient)))
	c := registrytest.Start(t, r)

	s := c.NewScope(t.Context())
	registry.MustGet[*T](s) // t1
	registry.MustGet[*B](s) // builds a, then b
	registry.MustGet[*T](s) // t2
	registry.MustGet[*B](s) // reused
	must(t, s.Close(t.Context()))
	want := "start b,close t2,stop b,close a,close t1"
	if got := strings.Join(ev.all(), ","); got != want {
		t.Errorf("events %s, want %s", got, want)
	}
	must(t, s.Close(t.Context())) // idempotent
	if got := len(ev.all()); got != 5 {
		t.Errorf("second Close closed again: %v", ev.all())
	}
	for name, err := range map[string]error{
		"scoped":    errOf(registry.Get[*A](s)),
		"transient": errOf(registry.Get[*T](s)),
	} {
		if !errors.Is(err, registry.ErrScopeClosed) {
			t.Errorf("%s Get after Close: %v", name, err)
		}
	}
	// A transient resolved from the container belongs to the caller: nothing closes it.
	registry.MustGet[*T](c)
	must(t, c.Stop(t.Context()))
	if got := len(ev.all()); got != 5 {
		t.Errorf("container closed a caller-owned transient: %v", ev.all())
	}
}

func errOf[T any](_ T, err error) error { return err }

func TestScopeCloseErrorsAndPanics(t *testing.T) {
	t.Parallel()
	type A struct{}
	type B struct{}
	r := registry.New()
	must(t, registry.Provide(r, func(context.Context) (*A, error) { return &A{}, nil },
		registry.WithLifetime(registry.Scoped),
		registry.Hooks(registry.Lifecycle[*A]{Stop: func(context.Context, *A) error { return errBoom }})))
	must(t, registry.Provide(r, func(context.Context) (*B, error) { return &B{}, nil },
		registry.WithLifetime(registry.Scoped),
		registry.Hooks(registry.Lifecycle[*B]{Stop: func(context.Context, *B) error { panic("kaput") }})))
	c := registrytest.Start(t, r)
	s := c.NewScope(t.Context())
	registry.MustGet[*A](s)
	registry.MustGet[*B](s)
	err := s.Close(t.Context())
	if !errors.Is(err, errBoom) || !isType[*registry.PanicError](err) {
		t.Fatalf("Close: %v", err)
	}
	if !strings.Contains(err.Error(), "close registry_test.B") || !strings.Contains(err.Error(), "panic: kaput") {
		t.Errorf("Close: %v", err)
	}
}

func TestPanicsBecomeErrors(t *testing.T) {
	t.Parallel()
	type Req struct{}
	tests := []struct {
		name  string
		setup func(r *registry.Registry) error
		run   func(t *testing.T, r *registry.Registry) error
	}{
		{
			name: "singleton constructor",
			setup: func(r *registry.Registry) error {
				return registry.Provide(r, func(context.Context) (*DB, error) { panic("ctor") })
			},
			run: startErr,
		},
		{
			name: "start hook",
			setup: func(r *registry.Registry) error {
				return registry.Provide(r, newDB, registry.Hooks(registry.Lifecycle[*DB]{
					Start: func(context.Context, *DB) error { panic("start") },
				}))
			},
			run: startErr,
		},
		{
			name: "stop hook",
			setup: func(r *registry.Registry) error {
				return registry.Provide(r, newDB, registry.Hooks(registry.Lifecycle[*DB]{
					Stop: func(context.Context, *DB) error { panic("stop") },
				}))
			},
			run: func(t *testing.T, r *registry.Registry) error {
				c, err := r.Build()
				must(t, err)
				must(t, c.Start(t.Context()))
				return c.Stop(t.Context())
			},
		},
		{
			name: "scoped constructor",
			setup: func(r *registry.Registry) error {
				return registry.Provide(r, func(context.Context) (*Req, error) { panic("scoped") }, registry.WithLifetime(registry.Scoped))
			},
			run: func(t *testing.T, r *registry.Registry) error {
				c := registrytest.Start(t, r)
				s := c.NewScope(t.Context())
				defer s.Close(t.Context())
				return errOf(registry.Get[*Req](s))
			},
		},
		{
			name: "transient constructor",
			setup: func(r *registry.Registry) error {
				return registry.Provide(r, func(context.Context) (*Req, error) { panic(errBoom) }, registry.WithLifetime(registry.Transient))
			},
			run: func(t *testing.T, r *registry.Registry) error {
				return errOf(registry.Get[*Req](registrytest.Start(t, r)))
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := registry.New()
			must(t, tt.setup(r))
			err := tt.run(t, r)
			var pe *registry.PanicError
			if !errors.As(err, &pe) {
				t.Fatalf("want *PanicError, got %v", err)
			}
			if len(pe.Stack) == 0 {
				t.Error("no stack recorded")
			}
		})
	}
}

func startErr(t *testing.T, r *registry.Registry) error {
	c, err := r.Build()
	must(t, err)
	return c.Start(t.Context())
}

func TestStartIsIdempotent(t *testing.T) {
	t.Parallel()
	var n atomic.Int64
	r := registry.New()
	must(t, registry.Provide(r, func(context.Context) (*DB, error) { n.Add(1); return &DB{}, nil }))
	c := registrytest.Start(t, r)
	must(t, c.Start(t.Context()))
	if n.Load() != 1 {
		t.Errorf("constructed %d times", n.Load())
	}

	// A failed Start keeps failing the same way without doing anything.
	r2 := registry.New()
	must(t, registry.Provide(r2, func(context.Context) (*DB, error) { n.Add(1); return nil, errBoom }))
	c2, err := r2.Build()
	must(t, err)
	err1, err2 := c2.Start(t.Context()), c2.Start(t.Context())
	if err1 == nil || err1 != err2 || n.Load() != 2 {
		t.Errorf("second Start: %v, %v, constructed %d", err1, err2, n.Load())
	}
	if err := c2.Stop(t.Context()); err != nil {
		t.Errorf("Stop after failed Start: %v", err)
	}
}

func TestStartAfterStop(t *testing.T) {
	t.Parallel()
	r := registry.New()
	must(t, registry.Provide(r, newDB))
	c := registrytest.Start(t, r)
	must(t, c.Stop(t.Context()))
	must(t, c.Stop(t.Context())) // idempotent
	if err := c.Start(t.Context()); !errors.Is(err, registry.ErrStopped) {
		t.Errorf("Start after Stop: %v", err)
	}
}

func TestStopBeforeStart(t *testing.T) {
	t.Parallel()
	ev := &events{}
	r := registry.New()
	must(t, registry.Provide(r, func(context.Context) (*lifecycle, error) { return &lifecycle{name: "x", log: ev}, nil }))
	c, err := r.Build()
	must(t, err)
	must(t, c.Stop(t.Context()))
	var nilC *registry.Container
	must(t, nilC.Stop(t.Context()))
	must(t, c.Start(t.Context()))
	must(t, c.Stop(t.Context()))
	if got := strings.Join(ev.all(), ","); got != "start x,stop x" {
		t.Errorf("events %s", got)
	}
}

func TestStartCancelled(t *testing.T) {
	t.Parallel()
	ev := &events{}
	type Slow struct{}
	r := registry.New()
	must(t, registry.Provide(r, func(context.Context) (*lifecycle, error) { return &lifecycle{name: "first", log: ev}, nil }))
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	must(t, registry.Provide1(r, func(ctx context.Context, _ *lifecycle) (*Slow, error) {
		cancel() // the caller gives up while this constructor runs
		<-ctx.Done()
		return nil, ctx.Err()
	}))
	c, err := r.Build()
	must(t, err)
	err = c.Start(ctx)
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "construct registry_test.Slow") {
		t.Errorf("Start: %v", err)
	}
	if got := strings.Join(ev.all(), ","); got != "start first,stop first" {
		t.Errorf("events %s: what started must be stopped", got)
	}
}

func TestStartFailureRollsBack(t *testing.T) {
	t.Parallel()
	ev := &events{}
	type Bad struct{}
	r := registry.New()
	must(t, registry.Provide(r, func(context.Context) (*lifecycle, error) { return &lifecycle{name: "base", log: ev}, nil }))
	must(t, registry.Provide1(r, func(_ context.Context, _ *lifecycle) (*Repo, error) { return &Repo{}, nil },
		registry.Hooks(registry.Lifecycle[*Repo]{
			Start: func(context.Context, *Repo) error { ev.add("start repo"); return nil },
			Stop:  func(context.Context, *Repo) error { ev.add("stop repo"); return nil },
		})))
	at := here()
	must(t, registry.Provide1(r, func(_ context.Context, _ *Repo) (*Bad, error) { return nil, errBoom }))
	must(t, registry.Provide1(r, func(_ context.Context, _ *Bad) (*Handler, error) {
		t.Error("dependent of a failed service was constructed")
		return nil, nil
	}))
	c, err := r.Build()
	must(t, err)
	err = c.Start(t.Context())
	var se *registry.ServiceError
	if !errors.As(err, &se) || se.Service != "registry_test.Bad" || !errors.Is(err, errBoom) {
		t.Fatalf("Start: %v", err)
	}
	file, line := splitLoc(at)
	if want := "construct registry_test.Bad (registered at " + file + ":" + itoa(line+1) + "): boom"; !strings.Contains(err.Error(), want) {
		t.Errorf("Start: %q does not contain %q", err, want)
	}
	if got := strings.Join(ev.all(), ","); got != "start base,start repo,stop repo,stop base" {
		t.Errorf("events %s", got)
	}
	states := map[string]string{}
	for _, n := range c.Graph().Nodes {
		states[n.Name] = n.State
	}
	want := map[string]string{"registry_test.lifecycle": "stopped", "registry_test.Repo": "stopped", "registry_test.Bad": "failed", "registry_test.Handler": "registered"}
	for name, st := range want {
		if states[name] != st {
			t.Errorf("%s: state %s, want %s", name, states[name], st)
		}
	}
}

func TestStopOrderTimeoutAndLogging(t *testing.T) {
	t.Parallel()
	ev := &events{}
	type Slow struct{ *lifecycle }
	type Top struct{ *lifecycle }
	r := registry.New()
	must(t, registry.Provide(r, func(context.Context) (*lifecycle, error) { return &lifecycle{name: "base", log: ev}, nil }))
	must(t, registry.Provide1(r, func(_ context.Context, _ *lifecycle) (*Slow, error) {
		return &Slow{&lifecycle{name: "slow", log: ev, stopHang: 5 * time.Second}}, nil
	}))
	must(t, registry.Provide1(r, func(_ context.Context, _ *Slow) (*Top, error) {
		return &Top{&lifecycle{name: "top", log: ev, stopErr: errBoom}}, nil
	}))
	logger, logs := newLogger()
	c, err := r.BuildWith(&registry.ContainerOpts{StopTimeout: 300 * time.Millisecond, Logger: logger})
	must(t, err)
	must(t, c.Start(t.Context()))
	begin := time.Now()
	err = c.Stop(t.Context())
	if d := time.Since(begin); d > 3*time.Second {
		t.Errorf("Stop waited %s for a hung service", d)
	}
	if !errors.Is(err, errBoom) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Stop: %v", err)
	}
	if !strings.Contains(err.Error(), "stop registry_test.Slow") || !strings.Contains(err.Error(), "did not stop within 300ms") {
		t.Errorf("Stop: %v", err)
	}
	if got := strings.Join(ev.all(), ","); got != "start base,start slow,start top,stop top,stop base" {
		t.Errorf("events %s", got)
	}
	if l := logs.String(); !strings.Contains(l, "did not stop in time") || !strings.Contains(l, "service=registry_test.Slow") {
		t.Errorf("log: %s", l)
	}
}

// At debug level the log says when each singleton starts and how long its start took, so
// that LOG_LEVEL=debug shows where a slow start-up goes.
func TestStartLogsDurations(t *testing.T) {
	t.Parallel()
	type Slow struct{}
	r := registry.New()
	must(t, registry.Provide(r, func(context.Context) (*Slow, error) {
		time.Sleep(20 * time.Millisecond)
		return &Slow{}, nil
	}))
	logger, logs := newLogger()
	c, err := r.BuildWith(&registry.ContainerOpts{Logger: logger})
	must(t, err)
	must(t, c.Start(t.Context()))
	defer c.Stop(t.Context())
	var line string
	for l := range strings.Lines(logs.String()) {
		if strings.Contains(l, "registry: started service") && strings.Contains(l, "service=registry_test.Slow") {
			line = l
		}
	}
	_, d, ok := strings.Cut(strings.TrimSpace(line), "duration=")
	if !ok {
		t.Fatalf("no started line with a duration for registry_test.Slow in:\n%s", logs.String())
	}
	if got, err := time.ParseDuration(d); err != nil || got < 20*time.Millisecond {
		t.Errorf("duration %q (%v), want at least the constructor's 20ms", d, err)
	}
}

func TestStopBoundedByContext(t *testing.T) {
	t.Parallel()
	ev := &events{}
	r := registry.New()
	must(t, registry.Provide(r, func(context.Context) (*lifecycle, error) {
		return &lifecycle{name: "slow", log: ev, stopHang: 2 * time.Second}, nil
	}))
	logger, logs := newLogger()
	c, err := r.BuildWith(&registry.ContainerOpts{Logger: logger})
	must(t, err)
	must(t, c.Start(t.Context()))
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	begin := time.Now()
	if err := c.Stop(ctx); err == nil {
		t.Error("Stop: want error")
	}
	if d := time.Since(begin); d > time.Second {
		t.Errorf("Stop took %s past its context", d)
	}
	if !strings.Contains(logs.String(), "before the stop context ended") {
		t.Errorf("log: %s", logs)
	}
}

func TestBind(t *testing.T) {
	t.Parallel()
	r := registry.New()
	must(t, registry.Provide(r, newEnglish))
	must(t, registry.Bind[Greeter, *English](r))
	type Uses struct{ g Greeter }
	must(t, registry.Provide1(r, func(_ context.Context, g Greeter) (*Uses, error) { return &Uses{g}, nil }))
	c := registrytest.Start(t, r)
	g, err := registry.Get[Greeter](c)
	must(t, err)
	if g != Greeter(registry.MustGet[*English](c)) {
		t.Error("Get[Greeter] is not the registered *English")
	}
	if registry.MustGet[*Uses](c).g.Greet() != "hello" {
		t.Error("dependency through Bind")
	}
	if _, err := registry.GetNamed[Greeter](c, "registry_test.Greeter"); err != nil {
		t.Error(err)
	}
}

func TestBindNamedTargetAndScoped(t *testing.T) {
	t.Parallel()
	r := registry.New()
	must(t, registry.Provide(r, newEnglish, registry.Name("en"), registry.WithLifetime(registry.Scoped)))
	must(t, registry.Provide(r, newEnglish, registry.Name("en2"), registry.WithLifetime(registry.Scoped)))
	must(t, registry.Bind[Greeter, *English](r, registry.DependsOnNames("en2")))
	c := registrytest.Start(t, r)
	if _, err := registry.Get[Greeter](c); !errors.Is(err, registry.ErrOutsideScope) {
		t.Errorf("bound scoped from container: %v", err)
	}
	s := c.NewScope(t.Context())
	defer s.Close(t.Context())
	g := registry.MustGet[Greeter](s)
	if g != Greeter(must2(registry.GetNamed[*English](s, "en2"))) {
		t.Error("Bind with DependsOnNames did not pick en2")
	}
}

func must2[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestNamedDependencies(t *testing.T) {
	t.Parallel()
	type Pair struct{ a, b *DB }
	r := registry.New()
	must(t, registry.Provide(r, func(context.Context) (*DB, error) { return &DB{"primary"}, nil }, registry.Name("primary")))
	must(t, registry.Provide(r, func(context.Context) (*DB, error) { return &DB{"replica"}, nil }, registry.Name("replica")))
	must(t, registry.Provide2(r, func(_ context.Context, a, b *DB) (*Pair, error) { return &Pair{a, b}, nil },
		registry.DependsOnNames("replica", "primary")))
	c := registrytest.Start(t, r)
	p := registry.MustGet[*Pair](c)
	if p.a.dsn != "replica" || p.b.dsn != "primary" {
		t.Errorf("got %s, %s", p.a.dsn, p.b.dsn)
	}
	if db := must2(registry.GetNamed[*DB](c, "primary")); db.dsn != "primary" {
		t.Error(db.dsn)
	}
}

func TestProvideArities(t *testing.T) {
	t.Parallel()
	type (
		D1 struct{}
		D2 struct{}
		D3 struct{}
		D4 struct{}
		D5 struct{}
		D6 struct{}
		S3 struct{}
		S4 struct{}
		S5 struct{}
		S6 struct{}
	)
	r := registry.New()
	must(t, registry.Provide(r, func(context.Context) (*D1, error) { return &D1{}, nil }))
	must(t, registry.Provide1(r, func(context.Context, *D1) (*D2, error) { return &D2{}, nil }))
	must(t, registry.Provide2(r, func(context.Context, *D1, *D2) (*D3, error) { return &D3{}, nil }))
	must(t, registry.Provide3(r, func(context.Context, *D1, *D2, *D3) (*D4, error) { return &D4{}, nil }))
	must(t, registry.Provide4(r, func(context.Context, *D1, *D2, *D3, *D4) (*D5, error) { return &D5{}, nil }))
	must(t, registry.Provide5(r, func(context.Context, *D1, *D2, *D3, *D4, *D5) (*D6, error) { return &D6{}, nil }))
	must(t, registry.Provide6(r, func(_ context.Context, a *D1, b *D2, c *D3, d *D4, e *D5, f *D6) (*S6, error) {
		if a == nil || b == nil || c == nil || d == nil || e == nil || f == nil {
			return nil, errors.New("nil dependency")
		}
		return &S6{}, nil
	}))
	_, _, _ = S3{}, S4{}, S5{}
	c := registrytest.Start(t, r)
	registry.MustGet[*S6](c)
	for _, n := range c.Graph().Nodes {
		if n.Name == "registry_test.S6" && len(n.Deps) != 6 {
			t.Errorf("S6 deps %v", n.Deps)
		}
	}
}

func TestValueIsNotClosed(t *testing.T) {
	t.Parallel()
	ev := &events{}
	r := registry.New()
	must(t, registry.Value(r, &closer{"value", ev}))
	must(t, registry.Value(r, &lifecycle{name: "stoppable", log: ev}))
	must(t, registry.Provide(r, func(context.Context) (io.Closer, error) { return &closer{"built", ev}, nil }))
	c := registrytest.Start(t, r)
	if registry.MustGet[*closer](c) == nil {
		t.Fatal("value")
	}
	must(t, c.Stop(t.Context()))
	got := strings.Join(ev.all(), ",")
	if strings.Contains(got, "close value") || !strings.Contains(got, "stop stoppable") || !strings.Contains(got, "close built") {
		t.Errorf("events %s", got)
	}
}

func TestHooksLifecycle(t *testing.T) {
	t.Parallel()
	ev := &events{}
	type Plain struct{ name string }
	r := registry.New()
	must(t, registry.Provide(r, func(context.Context) (*Plain, error) { return &Plain{"p"}, nil },
		registry.Hooks(registry.Lifecycle[*Plain]{
			Start: func(_ context.Context, p *Plain) error { ev.add("start " + p.name); return nil },
			Stop:  func(_ context.Context, p *Plain) error { ev.add("stop " + p.name); return nil },
			Health: func(context.Context, *Plain) registry.Health {
				return registry.Health{Status: registry.StatusDegraded, Message: "slow"}
			},
		})))
	// Hooks replace the interface methods of a value that has them.
	must(t, registry.Provide(r, func(context.Context) (*lifecycle, error) { return &lifecycle{name: "iface", log: ev}, nil },
		registry.Hooks(registry.Lifecycle[*lifecycle]{Start: func(context.Context, *lifecycle) error { ev.add("hooked"); return nil }})))
	c := registrytest.Start(t, r)
	rep := c.CheckHealth(t.Context(), time.Second)
	if rep.Status != registry.StatusDegraded {
		t.Errorf("report %+v", rep)
	}
	must(t, c.Stop(t.Context()))
	got := ev.all()
	if len(got) != 4 || !strings.Contains(strings.Join(got, ","), "start p") || !strings.Contains(strings.Join(got, ","), "hooked") ||
		strings.Contains(strings.Join(got, ","), "start iface") {
		t.Errorf("events %v", got)
	}
}

func TestTransientOwnedBySingleton(t *testing.T) {
	t.Parallel()
	ev := &events{}
	type Owner struct{ *lifecycle }
	r := registry.New()
	must(t, registry.Provide(r, func(context.Context) (*closer, error) { return &closer{"tmp", ev}, nil }, registry.WithLifetime(registry.Transient)))
	must(t, registry.Provide1(r, func(_ context.Context, _ *closer) (*Owner, error) {
		return &Owner{&lifecycle{name: "owner", log: ev}}, nil
	}))
	c := registrytest.Start(t, r)
	must(t, c.Stop(t.Context()))
	if got := strings.Join(ev.all(), ","); got != "start owner,stop owner,close tmp" {
		t.Errorf("events %s", got)
	}
}

func TestConstructorContextCarriesResolver(t *testing.T) {
	t.Parallel()
	type Req struct{ db *DB }
	r := registry.New()
	must(t, registry.Provide(r, newDB))
	must(t, registry.Provide(r, func(ctx context.Context) (*Req, error) {
		res, ok := registry.FromContext(ctx)
		if !ok {
			return nil, errors.New("no resolver in ctx")
		}
		db, err := registry.Get[*DB](res)
		return &Req{db}, err
	}, registry.WithLifetime(registry.Scoped)))
	c := registrytest.Start(t, r)
	s := c.NewScope(t.Context())
	defer s.Close(t.Context())
	if registry.MustGet[*Req](s).db == nil {
		t.Error("no db")
	}
}

func TestContextHelpers(t *testing.T) {
	t.Parallel()
	if _, ok := registry.FromContext(t.Context()); ok {
		t.Error("empty context has a resolver")
	}
	if _, ok := registry.FromContext(registry.WithResolver(t.Context(), nil)); ok {
		t.Error("nil resolver reported present")
	}
	c, err := registry.New().Build()
	must(t, err)
	got, ok := registry.FromContext(registry.WithResolver(t.Context(), c))
	if !ok || got != registry.Resolver(c) {
		t.Error("round trip")
	}
}

// TestSingletonGetDoesNotAllocate guards the hot path.
func TestSingletonGetDoesNotAllocate(t *testing.T) {
	r := registry.New()
	must(t, registry.Provide(r, newDB))
	must(t, registry.Provide(r, newEnglish))
	must(t, registry.Bind[Greeter, *English](r))
	c := registrytest.Start(t, r)
	s := c.NewScope(t.Context())
	defer s.Close(t.Context())
	for name, f := range map[string]func(){
		"container":      func() { _, _ = registry.Get[*DB](c) },
		"scope":          func() { _, _ = registry.Get[*DB](s) },
		"interface bind": func() { _, _ = registry.Get[Greeter](c) },
	} {
		if n := testing.AllocsPerRun(100, f); n != 0 {
			t.Errorf("%s: %v allocations per Get", name, n)
		}
	}
}

// drainer is a lifecycle that also drains: its drain records what it could still get.
type drainer struct {
	*lifecycle
	c         func() *registry.Container
	drainHang time.Duration
}

func (d *drainer) Drain(ctx context.Context) error {
	_, err := registry.Get[*user](d.c())
	d.log.add("drain " + d.name + fmt.Sprintf(" (user available: %v)", err == nil))
	select {
	case <-time.After(d.drainHang):
	case <-ctx.Done():
		return ctx.Err()
	}
	return nil
}

type user struct{ *lifecycle }

// TestStopDrainsFirst: Stop drains every Drainer before it stops any service, so the work a
// drainer finishes can still use services that depend on it (the worker's jobs use comms,
// which sends through the worker); a drain is bounded by the stop timeout and its error joins
// Stop's.
func TestStopDrainsFirst(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		hang    time.Duration
		want    string
		wantErr bool
	}{
		{"drains", 0, "drain worker (user available: true),stop user,stop worker", false},
		{"drain past its timeout", time.Hour, "drain worker (user available: true),stop user,stop worker", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ev := &events{}
			var c *registry.Container
			r := registry.New()
			must(t, registry.Provide(r, func(context.Context) (*drainer, error) {
				return &drainer{lifecycle: &lifecycle{name: "worker", log: ev}, c: func() *registry.Container { return c }, drainHang: tc.hang}, nil
			}))
			must(t, registry.Provide1(r, func(_ context.Context, _ *drainer) (*user, error) {
				return &user{&lifecycle{name: "user", log: ev}}, nil
			}))
			var err error
			c, err = r.BuildWith(&registry.ContainerOpts{StopTimeout: 200 * time.Millisecond})
			must(t, err)
			must(t, c.Start(t.Context()))
			err = c.Stop(t.Context())
			if (err != nil) != tc.wantErr {
				t.Errorf("Stop: %v, want an error: %v", err, tc.wantErr)
			}
			if tc.wantErr && (!errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "drain registry_test.drainer")) {
				t.Errorf("Stop: %v, want the drain's timeout naming the service", err)
			}
			var got []string
			for _, e := range ev.all() {
				if !strings.HasPrefix(e, "start ") {
					got = append(got, e)
				}
			}
			if strings.Join(got, ",") != tc.want {
				t.Errorf("events %s, want %s", strings.Join(got, ","), tc.want)
			}
		})
	}
}
