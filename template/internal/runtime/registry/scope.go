package registry

import (
	"context"
	"errors"
	"reflect"
	"sync"
)

// Scope holds the scoped and transient instances of one unit of work: an HTTP request (see
// Middleware) or a background job. Scoped services are constructed on first use and reused
// within the scope; Close stops what the scope created. A Scope is safe for concurrent use.
type Scope struct {
	c    *Container
	ctx  context.Context // given to NewScope
	bctx scopeContext    // given to constructors

	mu     sync.Mutex
	cond   sync.Cond // signalled when a scoped instance finishes building
	slots  []slot    // per scoped service, made on first use
	made   owned     // instances to close, in creation order
	closed bool
}

// scopeContext is the scope's context with the scope as its Resolver. It lives inside the Scope
// so that giving constructors a context costs no allocation per request.
type scopeContext struct {
	context.Context
	s *Scope
}

func (c *scopeContext) Value(key any) any {
	if key == (resolverKey{}) {
		return c.s
	}
	return c.Context.Value(key)
}

type slot struct {
	state uint8 // slotEmpty, slotBuilding, slotReady
	v     any
}

const (
	slotEmpty uint8 = iota
	slotBuilding
	slotReady
)

// NewScope opens a scope. Constructors of its instances receive ctx (carrying the scope as
// Resolver). Close it when the unit of work ends.
func (c *Container) NewScope(ctx context.Context) *Scope {
	ctx = orBackground(ctx)
	s := &Scope{c: c, ctx: ctx}
	s.bctx = scopeContext{ctx, s}
	s.cond.L = &s.mu
	return s
}

func (s *Scope) resolve(t reflect.Type, name string) (any, error) {
	if s == nil {
		return nil, ErrNilResolver
	}
	n, err := s.c.lookup(t, name) // ErrNilResolver without a Container
	if err != nil {
		return nil, err
	}
	return s.resolveNode(n)
}

// resolveNode returns the instance of n (found by lookup) for this scope.
func (s *Scope) resolveNode(n *node) (any, error) {
	switch n.e.lifetime {
	case Singleton:
		return s.c.singleton(n)
	case Scoped:
		return s.scoped(n)
	}
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return nil, &ServiceError{Op: "get", Service: n.name(), Err: ErrScopeClosed}
	}
	v, err := s.c.build(&s.bctx, n, s, s)
	if err != nil {
		return nil, err
	}
	if err := s.track(n, v); err != nil {
		return nil, err
	}
	return v, nil
}

// scoped returns the scope's instance of n, building it once even under concurrent Gets.
func (s *Scope) scoped(n *node) (any, error) {
	s.mu.Lock()
	for {
		if s.closed {
			s.mu.Unlock()
			return nil, &ServiceError{Op: "get", Service: n.name(), Err: ErrScopeClosed}
		}
		if s.slots == nil {
			s.slots = make([]slot, s.c.nScoped)
		}
		sl := &s.slots[n.slot]
		if sl.state == slotReady {
			v := sl.v
			s.mu.Unlock()
			return v, nil
		}
		if sl.state == slotEmpty {
			sl.state = slotBuilding
			break
		}
		s.cond.Wait() // another goroutine is building it
	}
	s.mu.Unlock()

	v, err := s.c.build(&s.bctx, n, s, s)

	s.mu.Lock()
	defer s.cond.Broadcast()
	if s.closed { // Close released the slots while we were building
		s.mu.Unlock()
		if err != nil {
			return nil, err
		}
		return nil, errors.Join(&ServiceError{Op: "get", Service: n.name(), Err: ErrScopeClosed},
			s.c.stopInstance(context.WithoutCancel(s.ctx), n, v, false))
	}
	sl := &s.slots[n.slot]
	if err != nil {
		sl.state = slotEmpty // a later Get tries again
		s.mu.Unlock()
		return nil, err
	}
	sl.v, sl.state = v, slotReady
	s.made.track(n, v)
	s.mu.Unlock()
	return v, nil
}

// track takes ownership of a transient built in this scope.
func (s *Scope) track(n *node, v any) error {
	s.mu.Lock()
	if !s.closed {
		s.made.track(n, v)
		s.mu.Unlock()
		return nil
	}
	s.mu.Unlock()
	return errors.Join(&ServiceError{Op: "get", Service: n.name(), Err: ErrScopeClosed},
		s.c.stopInstance(context.WithoutCancel(s.ctx), n, v, false))
}

// Close stops the instances created in the scope, newest first (Stop hook, else Stopper,
// else io.Closer), and returns their errors. Each Stop gets a context bounded by the service's
// stop timeout; unlike Container.Stop, Close waits for it (a request must not leave work
// running behind it). Later Gets of scoped or transient services fail with ErrScopeClosed.
// Closing again does nothing.
func (s *Scope) Close(ctx context.Context) error {
	if s == nil {
		return nil
	}
	ctx = orBackground(ctx)
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	made := s.made
	s.made, s.slots = nil, nil
	s.cond.Broadcast()
	s.mu.Unlock()

	var errs []error
	for i := len(made) - 1; i >= 0; i-- {
		if err := s.c.stopInstance(ctx, made[i].n, made[i].v, false); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
