package registry

import (
	"context"
	"io"
	"runtime/debug"
)

// Starter is implemented by services that do work after construction, once their
// dependencies are started: open listeners, start background loops. Start must return
// without blocking, and release what it acquired when it returns an error (the service is
// then not stopped). A singleton's context is cancelled when Container.Start returns, so
// background work must use a context of its own; a scoped or transient service is started
// when it is constructed, with its scope's context.
type Starter interface {
	Start(ctx context.Context) error
}

// Stopper is implemented by services that must be stopped: drain, flush, close. Stop is called
// once, after every service that depends on this one has stopped, and must return when ctx is
// done. Values built by a constructor that implement io.Closer instead are closed; values
// registered with Value are not (the caller owns them) unless they implement Stopper.
type Stopper interface {
	Stop(ctx context.Context) error
}

// Drainer is implemented by services that run work of their own which uses other services,
// found at run time rather than declared as dependencies: the worker's jobs, the scheduler's
// runs. Stop calls Drain on every started singleton that has it, concurrently, before it stops
// any singleton: Drain stops taking new work and waits for the work in hand, which can still
// use every service. It is bounded by the service's StopTimeout; Stop follows as usual.
type Drainer interface {
	Drain(ctx context.Context) error
}

// HealthChecker is implemented by singletons that can report their health. CheckHealth is
// called concurrently with everything else, must honour ctx, and should be cheap: health
// endpoints call it on every probe.
type HealthChecker interface {
	CheckHealth(ctx context.Context) Health
}

// Lifecycle holds hooks for a value that does not implement the lifecycle interfaces; attach
// it with the Hooks option. Nil fields are skipped (the interface method, if any, is used).
type Lifecycle[T any] struct {
	Start  func(ctx context.Context, v T) error
	Stop   func(ctx context.Context, v T) error
	Health func(ctx context.Context, v T) Health
}

// hooks is Lifecycle with the type erased, as stored on a registration.
type hooks struct {
	start  func(context.Context, any) error
	stop   func(context.Context, any) error
	health func(context.Context, any) Health
}

func (h Lifecycle[T]) erase() hooks {
	var out hooks
	if h.Start != nil {
		out.start = func(ctx context.Context, v any) error { return h.Start(ctx, v.(T)) }
	}
	if h.Stop != nil {
		out.stop = func(ctx context.Context, v any) error { return h.Stop(ctx, v.(T)) }
	}
	if h.Health != nil {
		out.health = func(ctx context.Context, v any) Health { return h.Health(ctx, v.(T)) }
	}
	return out
}

// starter returns how to start v, or nil.
func (e *entry) starter(v any) func(context.Context) error {
	if e.derived {
		return nil // derived values and the container itself have no lifecycle of their own
	}
	if e.hooks.start != nil {
		return func(ctx context.Context) error { return e.hooks.start(ctx, v) }
	}
	if s, ok := v.(Starter); ok {
		return s.Start
	}
	return nil
}

// stopper returns how to stop v, or nil. io.Closer is honoured only for values the registry
// built: a Value (os.Stdout, a pool the caller owns) is not ours to close.
func (e *entry) stopper(v any) func(context.Context) error {
	if e.derived {
		return nil
	}
	if e.hooks.stop != nil {
		return func(ctx context.Context) error { return e.hooks.stop(ctx, v) }
	}
	if s, ok := v.(Stopper); ok {
		return s.Stop
	}
	if c, ok := v.(io.Closer); ok && !e.isValue {
		return func(context.Context) error { return c.Close() }
	}
	return nil
}

// drainer returns how to drain v, or nil (see Drainer).
func (e *entry) drainer(v any) func(context.Context) error {
	if d, ok := v.(Drainer); ok && !e.derived {
		return d.Drain
	}
	return nil
}

// checker returns how to check v's health, or nil.
func (e *entry) checker(v any) func(context.Context) Health {
	if e.derived {
		return nil
	}
	if e.hooks.health != nil {
		return func(ctx context.Context) Health { return e.hooks.health(ctx, v) }
	}
	if h, ok := v.(HealthChecker); ok {
		return h.CheckHealth
	}
	return nil
}

// safely calls f, turning a panic into a *PanicError so user code cannot crash the app
// through the registry.
func safely(f func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = &PanicError{Value: p, Stack: debug.Stack()}
		}
	}()
	return f()
}
