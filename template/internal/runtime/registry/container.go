package registry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"sync"
	"sync/atomic"
	"time"
)

// StopTimeoutDefault bounds the stop of each service when neither ContainerOpts.StopTimeout
// nor the service's StopTimeout option says otherwise.
const StopTimeoutDefault = 10 * time.Second

// ContainerOpts configures a Container. A nil *ContainerOpts, like the zero value, means the
// defaults.
type ContainerOpts struct {
	// StopTimeout bounds stopping each singleton and closing each scoped or transient
	// instance, unless the service has its own StopTimeout. Zero means StopTimeoutDefault.
	StopTimeout time.Duration
	// Logger receives what did not stop in time and debug-level lifecycle events. Nil means
	// slog.Default() at the moment of logging, so an app may configure logging after Build.
	Logger *slog.Logger
}

// Container is a validated, frozen Registry with the instances it constructs. Resolve
// services from it with Get and GetNamed, or from a Scope it opens.
//
// Lifecycle, in order:
//
//  1. Start constructs every singleton, then calls its Start hook (Hooks Start, else
//     Starter), in dependency order; singletons that do not depend on each other start
//     concurrently. If one fails, those not yet begun are skipped, those still starting are
//     cancelled (what the cancellation makes them fail with is not reported), and those
//     already started are stopped in reverse order. WaitStarted tells background work begun
//     by a started singleton when every singleton has started.
//  2. While started, Get returns singletons without locking or allocating. Scoped and
//     transient instances are constructed on demand (and started, if they have a Start hook).
//  3. Stop first drains the singletons that implement Drainer (the worker, the scheduler),
//     concurrently, while every service still runs; then it stops singletons in reverse
//     dependency order (a service stops after everything that depends on it): the Stop
//     hook, else Stopper, else io.Closer (not for Value).
//     Transients built for a singleton are stopped after it. Each stop is bounded by the
//     service's StopTimeout; one that does not return in time is logged and abandoned.
//
// Start and Stop are idempotent and may be called from different goroutines. A Container is
// started at most once; after Stop, Start fails with ErrStopped.
type Container struct {
	nodes      []*node // registration order
	byName     map[string]*node
	byType     map[reflect.Type]*node // Get[T] target, bindings already followed
	ambiguous  map[reflect.Type][]string
	singletons []*node // dependency order: every node after its prerequisites
	nScoped    int
	opts       ContainerOpts

	// ended stands for the Scope of a LazyScope closed before anything opened it: closed,
	// so it refuses scoped and transient services like any closed Scope, and shared.
	ended *Scope

	sem      chan struct{} // held by Start and Stop; a channel so waiting honours ctx
	phase    phase
	startErr error

	// startDone is closed when Start has finished starting the singletons, before a failed
	// start is rolled back, so that work begun by a started singleton (a worker's job) can
	// wait for the services it resolves lazily without holding up the rollback's Stop calls.
	// startOutcome is written once before it is closed.
	startDone    chan struct{}
	startOutcome error

	shared sharedHealth // SharedHealth's report
}

type phase uint8

const (
	phaseIdle phase = iota
	phaseStarted
	phaseFailed // Start failed and rolled back
	phaseStopped
)

// Node states, stored atomically. Only singletons leave stateRegistered.
const (
	stateRegistered uint32 = iota
	stateStarting
	stateStarted
	stateFailed
	stateStopping
	stateStopped
)

// node is one service inside a Container.
type node struct {
	e          *entry
	deps       []*node // per constructor parameter, as registered (bindings not followed)
	target     *node   // the node that holds instances: itself, or a binding's final target
	slot       int     // index of a scoped node's instance in Scope.slots
	order      int     // index in Container.singletons
	prereqs    []*node // singletons that must be started first (direct, or through transients)
	dependents []*node // singletons that have this one among their prereqs

	state atomic.Uint32
	value any   // written once before state becomes stateStarted
	err   error // written once before state becomes stateFailed
	owned owned // transients built for this singleton, stopped after it
}

func (n *node) name() string { return n.e.name }

// owned is a list of instances to stop, in creation order.
type owned []instance

type instance struct {
	n *node
	v any
}

// tracker takes ownership of transient instances built while constructing something.
type tracker interface {
	track(n *node, v any) error
}

func (o *owned) track(n *node, v any) error {
	if n.e.stopper(v) != nil {
		*o = append(*o, instance{n, v})
	}
	return nil
}

// Build validates the registry and freezes it into a Container with the default options.
func (r *Registry) Build() (*Container, error) { return r.BuildWith(nil) }

// BuildWith is Build with options; nil means the defaults.
func (r *Registry) BuildWith(opts *ContainerOpts) (*Container, error) {
	if r == nil {
		return nil, fmt.Errorf("registry: build: %w", errNilRegistry)
	}
	p := analyze(r.snapshot())
	if len(p.errs) > 0 {
		return nil, errors.Join(p.errs...)
	}
	c := &Container{
		byName:    make(map[string]*node, len(p.entries)),
		byType:    make(map[reflect.Type]*node, len(p.byType)),
		ambiguous: make(map[reflect.Type][]string),
		sem:       make(chan struct{}, 1),
		startDone: make(chan struct{}),
	}
	if opts != nil {
		c.opts = *opts
	}
	c.ended = c.NewScope(context.Background())
	c.ended.closed = true
	index := make(map[*entry]*node, len(p.entries))
	for _, e := range p.entries {
		if e.self { // derived for this build only, so it may capture c
			e.ctor = func(context.Context, []any) (any, error) { return c, nil }
		}
		n := &node{e: e}
		c.nodes = append(c.nodes, n)
		c.byName[e.name] = n
		index[e] = n
	}
	for i, n := range c.nodes {
		for _, d := range p.deps[i] {
			n.deps = append(n.deps, index[d])
		}
	}
	for _, n := range c.nodes {
		n.target = n
		for n.target.e.alias { // validation rules out cycles, so this ends
			n.target = n.target.deps[0]
		}
		if !n.e.alias && n.e.lifetime == Scoped {
			n.slot = c.nScoped
			c.nScoped++
		}
	}
	for t, list := range p.byType {
		if e, candidates := defaultOf(list); e != nil {
			c.byType[t] = index[e].target
		} else {
			c.ambiguous[t] = candidates
		}
	}
	c.orderSingletons()
	return c, nil
}

// orderSingletons sorts singletons so each comes after its prerequisites, and links
// prerequisites both ways for concurrent start and reverse stop.
func (c *Container) orderSingletons() {
	visited := make(map[*node]bool)
	var visit func(n *node)
	visit = func(n *node) {
		if visited[n] {
			return
		}
		visited[n] = true
		n.prereqs = prerequisites(n)
		for _, p := range n.prereqs {
			visit(p)
		}
		n.order = len(c.singletons)
		c.singletons = append(c.singletons, n)
	}
	for _, n := range c.nodes {
		if !n.e.alias && n.e.lifetime == Singleton {
			visit(n)
		}
	}
	for _, n := range c.singletons {
		for _, p := range n.prereqs {
			p.dependents = append(p.dependents, n)
		}
	}
}

// prerequisites are the singletons n's construction reads: its singleton dependencies and
// those of the transients it builds.
func prerequisites(n *node) []*node {
	var out []*node
	seen := map[*node]bool{}
	var walk func(n *node)
	walk = func(n *node) {
		for _, d := range n.deps {
			t := d.target
			if seen[t] {
				continue
			}
			seen[t] = true
			switch t.e.lifetime {
			case Singleton:
				out = append(out, t)
			case Transient:
				walk(t)
			}
		}
	}
	walk(n)
	return out
}

func (c *Container) logger() *slog.Logger {
	if c != nil && c.opts.Logger != nil {
		return c.opts.Logger
	}
	return slog.Default()
}

// debug logs a lifecycle step, checking the level first: building the record on every start
// and stop would cost more than the step itself for most services.
func (c *Container) debug(ctx context.Context, msg string, n *node, attrs ...any) {
	if l := c.logger(); l.Enabled(ctx, slog.LevelDebug) {
		l.DebugContext(ctx, msg, append([]any{"service", n.name()}, attrs...)...)
	}
}

func (c *Container) stopTimeout(n *node) time.Duration {
	switch {
	case n.e.stopTimeout > 0:
		return n.e.stopTimeout
	case c.opts.StopTimeout > 0:
		return c.opts.StopTimeout
	}
	return StopTimeoutDefault
}

// orBackground keeps a nil context (a caller's bug) from becoming a panic inside the registry.
func orBackground(ctx context.Context) context.Context {
	if ctx == nil {
		return context.Background()
	}
	return ctx
}

func (c *Container) lock(ctx context.Context) error {
	select {
	case c.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

func (c *Container) unlock() { <-c.sem }

// Start constructs and starts every singleton (see Container for the order). On failure it
// stops what had started and returns an error naming each failed service and its cause
// (*ServiceError); the container is then unusable. Calling Start again returns the first
// call's result without doing anything. The ctx passed to constructors and Start hooks carries
// the container as Resolver and is cancelled when Start returns.
func (c *Container) Start(ctx context.Context) error {
	if c == nil {
		return fmt.Errorf("registry: start: nil *Container")
	}
	ctx = orBackground(ctx)
	if err := c.lock(ctx); err != nil {
		return fmt.Errorf("registry: start: %w", err)
	}
	defer c.unlock()
	switch c.phase {
	case phaseStarted, phaseFailed:
		return c.startErr
	case phaseStopped:
		return fmt.Errorf("registry: start: %w", ErrStopped)
	}
	c.startErr = c.start(ctx)
	c.phase = phaseStarted
	if c.startErr != nil {
		c.phase = phaseFailed
	}
	return c.startErr
}

func (c *Container) start(ctx context.Context) error {
	startCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	buildCtx := WithResolver(startCtx, c)

	done := make([]chan struct{}, len(c.singletons))
	for i := range done {
		done[i] = make(chan struct{})
	}
	var (
		mu       sync.Mutex
		failures []error
		started  []*node
		wg       sync.WaitGroup
	)
	for _, n := range c.singletons {
		wg.Go(func() {
			defer close(done[n.order])
			for _, p := range n.prereqs {
				<-done[p.order]
				if p.state.Load() != stateStarted {
					return // a prerequisite failed or was skipped
				}
			}
			if startCtx.Err() != nil {
				return
			}
			n.state.Store(stateStarting)
			c.debug(startCtx, "registry: starting service", n)
			began := time.Now()
			v, err := c.build(buildCtx, n, nil, &n.owned)
			if err != nil {
				// What the failed singleton built for itself is ours to release now: the
				// node will not be stopped.
				c.stopOwned(context.WithoutCancel(ctx), n)
				n.err = err
				n.state.Store(stateFailed)
				mu.Lock()
				// A failure that is only the cancellation this start made after an earlier
				// failure ("ping: context canceled") would bury the cause under a second,
				// misleading error: report real failures only.
				if !cancelledByUs(ctx, startCtx, err) {
					failures = append(failures, err)
				}
				mu.Unlock()
				cancel(err)
				return
			}
			n.value = v
			n.state.Store(stateStarted)
			// Where a slow start-up goes: LOG_LEVEL=debug shows each service's share.
			c.debug(startCtx, "registry: started service", n, "duration", time.Since(began))
			mu.Lock()
			started = append(started, n)
			mu.Unlock()
		})
	}
	wg.Wait()

	if len(failures) == 0 && len(started) == len(c.singletons) {
		c.startFinished(nil)
		return nil
	}
	errs := failures
	if len(failures) == 0 {
		errs = append(errs, fmt.Errorf("registry: start: %w", context.Cause(ctx)))
	}
	// Before the rollback: a started singleton's Stop may wait for work that waits in
	// WaitStarted.
	c.startFinished(errors.Join(errs...))
	// The caller's ctx may be what was cancelled; stopping must still happen, bounded by
	// each service's stop timeout.
	if err := c.stopNodes(context.WithoutCancel(ctx), started); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// cancelledByUs reports whether err is only the cancellation of startCtx that start made itself
// after a failure, rather than a failure of its own or of the caller's ctx.
func cancelledByUs(ctx, startCtx context.Context, err error) bool {
	return startCtx.Err() != nil && ctx.Err() == nil && errors.Is(err, context.Canceled)
}

// startFinished records how starting the singletons went and wakes WaitStarted.
func (c *Container) startFinished(err error) {
	c.startOutcome = err
	close(c.startDone)
}

// WaitStarted returns nil once Start has constructed and started every singleton, at once if
// it already has. If the start fails, it returns an error matching ErrFailed and the start's
// error, before the started singletons are stopped; if ctx ends first, its cause. Work that a
// singleton begins in its Start hook and that resolves other services lazily, such as a job
// queue's handlers, waits here: a singleton's dependents and independent singletons may still
// be starting when its own Start returns.
func (c *Container) WaitStarted(ctx context.Context) error {
	if c == nil {
		return fmt.Errorf("registry: wait for start: nil *Container")
	}
	select {
	case <-c.startDone:
	default:
		select {
		case <-c.startDone:
		case <-orBackground(ctx).Done():
			return fmt.Errorf("registry: wait for start: %w", context.Cause(ctx))
		}
	}
	if c.startOutcome != nil {
		return because(ErrFailed, c.startOutcome)
	}
	return nil
}

// build makes a new instance of n: resolves its dependencies, calls the constructor and the
// Start hook. Transients built on the way are handed to tr (nil: the caller owns them).
func (c *Container) build(ctx context.Context, n *node, s *Scope, tr tracker) (any, error) {
	var args []any
	if len(n.deps) > 0 {
		args = make([]any, len(n.deps))
		for i, d := range n.deps {
			v, err := c.dependency(ctx, d.target, s, tr)
			if err != nil {
				return nil, &ServiceError{Op: "construct", Service: n.name(), Err: err}
			}
			args[i] = v
		}
	}
	var v any
	err := safely(func() error {
		var err error
		v, err = n.e.ctor(ctx, args)
		return err
	})
	if err == nil && isNil(v) {
		err = fmt.Errorf("constructor returned a nil %s and no error", n.e.typ)
	}
	if err != nil {
		return nil, &ServiceError{Op: "construct", Service: n.name(), Registered: n.e.loc.String(), Err: err}
	}
	if start := n.e.starter(v); start != nil {
		if err := safely(func() error { return start(ctx) }); err != nil {
			return nil, &ServiceError{Op: "start", Service: n.name(), Registered: n.e.loc.String(), Err: err}
		}
	}
	return v, nil
}

// dependency resolves one constructor argument (t is already past any binding).
func (c *Container) dependency(ctx context.Context, t *node, s *Scope, tr tracker) (any, error) {
	switch t.e.lifetime {
	case Scoped:
		if s == nil {
			return nil, &ServiceError{Op: "get", Service: t.name(), Err: ErrOutsideScope}
		}
		return s.scoped(t)
	case Transient:
		v, err := c.build(ctx, t, s, tr)
		if err != nil {
			return nil, err
		}
		if tr != nil {
			if err := tr.track(t, v); err != nil {
				return nil, err
			}
		}
		return v, nil
	}
	return c.singleton(t)
}

// singleton returns a started singleton's instance or says why there is none.
func (c *Container) singleton(n *node) (any, error) {
	switch n.state.Load() {
	case stateStarted:
		return n.value, nil
	case stateFailed:
		return nil, &ServiceError{Op: "get", Service: n.name(), Err: because(ErrFailed, n.err)}
	case stateStopping, stateStopped:
		return nil, &ServiceError{Op: "get", Service: n.name(), Err: ErrStopped}
	}
	return nil, &ServiceError{Op: "get", Service: n.name(), Err: ErrNotStarted}
}

// Stop stops every started singleton (see Container for the order) and returns the errors of
// those that failed or did not stop in time. It returns when all are stopped, abandoned after
// their timeout, or ctx is done. Stop before Start, after a failed Start, or a second time
// does nothing and returns nil.
func (c *Container) Stop(ctx context.Context) error {
	if c == nil {
		return nil
	}
	ctx = orBackground(ctx)
	if err := c.lock(ctx); err != nil {
		return fmt.Errorf("registry: stop: %w", err)
	}
	defer c.unlock()
	if c.phase != phaseStarted {
		return nil
	}
	c.phase = phaseStopped
	var started []*node
	for _, n := range c.singletons {
		if n.state.Load() == stateStarted {
			started = append(started, n)
		}
	}
	drainErr := c.drainNodes(ctx, started)
	return errors.Join(drainErr, c.stopNodes(ctx, started))
}

// drainNodes calls Drain on the given started singletons that implement Drainer, all at
// once, each bounded by its stop timeout, and returns their errors.
func (c *Container) drainNodes(ctx context.Context, nodes []*node) error {
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
	)
	for _, n := range nodes {
		drain := n.e.drainer(n.value)
		if drain == nil {
			continue
		}
		wg.Go(func() {
			c.debug(ctx, "registry: draining service", n)
			if err := c.bounded(ctx, n, "drain", drain, true); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// stopNodes stops the given started singletons, each after its started dependents, as
// concurrently as that allows.
func (c *Container) stopNodes(ctx context.Context, nodes []*node) error {
	in := make(map[*node]chan struct{}, len(nodes))
	for _, n := range nodes {
		in[n] = make(chan struct{})
	}
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
	)
	for _, n := range nodes {
		wg.Go(func() {
			defer close(in[n])
			for _, d := range n.dependents {
				if ch, ok := in[d]; ok {
					<-ch
				}
			}
			n.state.Store(stateStopping)
			c.debug(ctx, "registry: stopping service", n)
			err := c.stopInstance(ctx, n, n.value, true)
			if e := c.stopOwned(ctx, n); e != nil {
				err = errors.Join(err, e)
			}
			n.state.Store(stateStopped)
			if err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// stopOwned stops the transients built for singleton n, newest first.
func (c *Container) stopOwned(ctx context.Context, n *node) error {
	var errs []error
	for i := len(n.owned) - 1; i >= 0; i-- {
		o := n.owned[i]
		if err := c.stopInstance(ctx, o.n, o.v, true); err != nil {
			errs = append(errs, err)
		}
	}
	n.owned = nil
	return errors.Join(errs...)
}

// stopInstance stops one instance within its stop timeout. With abandon set, a hook that
// ignores its context is left running once the timeout passes, so one stuck service cannot
// hold up shutdown; scopes call it synchronously instead, to avoid a goroutine per request.
func (c *Container) stopInstance(ctx context.Context, n *node, v any, abandon bool) error {
	stop := n.e.stopper(v)
	if stop == nil {
		return nil
	}
	op := "close"
	if n.e.lifetime == Singleton {
		op = "stop"
	}
	return c.bounded(ctx, n, op, stop, abandon)
}

// bounded runs a stop or drain hook of n within n's stop timeout. With abandon, a hook that
// does not return in time is logged and left running; the error names the operation.
func (c *Container) bounded(ctx context.Context, n *node, op string, hook func(context.Context) error, abandon bool) error {
	timeout := c.stopTimeout(n)
	hookCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if !abandon {
		if err := safely(func() error { return hook(hookCtx) }); err != nil {
			return &ServiceError{Op: op, Service: n.name(), Registered: n.e.loc.String(), Err: err}
		}
		return nil
	}
	result := make(chan error, 1) // buffered: an abandoned hook must not block forever on send
	go func() { result <- safely(func() error { return hook(hookCtx) }) }()
	var err error
	select {
	case err = <-result:
	case <-hookCtx.Done():
		select {
		case err = <-result: // finished just in time
		default:
			// Say which limit ran out: the service's own timeout, or the caller's context.
			limit := "within " + timeout.String()
			if ctx.Err() != nil {
				limit = "before the stop context ended"
			}
			verb := "stop"
			if op == "drain" {
				verb = "drain"
			}
			c.logger().Warn("registry: service did not "+verb+" in time",
				"service", n.name(), "limit", limit, "cause", context.Cause(hookCtx))
			err = fmt.Errorf("did not %s %s: %w", verb, limit, context.Cause(hookCtx))
		}
	}
	if err != nil {
		return &ServiceError{Op: op, Service: n.name(), Registered: n.e.loc.String(), Err: err}
	}
	return nil
}
