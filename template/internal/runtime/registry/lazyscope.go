package registry

import (
	"context"
	"reflect"
	"sync/atomic"
)

// LazyScope is a Scope opened on first need, for units of work that mostly resolve nothing
// scoped: most HTTP requests. It is a Resolver. Singletons resolve from the Container without
// opening anything; the first scoped or transient service opens the Scope, and every later one
// uses that Scope, so a scoped service is still built once per unit of work. Close closes the
// Scope if one was opened, and costs nothing otherwise; after Close, scoped and transient
// services fail with ErrScopeClosed, as from a closed Scope.
//
// A LazyScope lives inside a per-request value (a ScopeContext, or a struct embedding one), so
// a request that resolves nothing scoped allocates nothing for its scope. Init it before use;
// it must not be copied after. It is safe for concurrent use.
type LazyScope struct {
	c   *Container
	ctx context.Context // given to the Scope when it opens: carries this LazyScope as Resolver
	s   atomic.Pointer[Scope]
}

// Init prepares l for a unit of work on c. Constructors of its instances will receive ctx (with
// the opened Scope as Resolver). Init must not run while l is in use.
func (l *LazyScope) Init(c *Container, ctx context.Context) {
	l.c, l.ctx = c, orBackground(ctx)
	l.s.Store(nil)
}

// Container returns the Container l was given by Init.
func (l *LazyScope) Container() *Container {
	if l == nil {
		return nil
	}
	return l.c
}

// Scope returns l's Scope, opening it on first call. After Close it returns a closed Scope.
func (l *LazyScope) Scope() *Scope {
	if l == nil {
		return nil
	}
	if s := l.s.Load(); s != nil {
		return s
	}
	s := l.c.NewScope(l.ctx)
	if l.s.CompareAndSwap(nil, s) {
		return s
	}
	return l.s.Load() // another goroutine opened (or closed) it first
}

// Close closes l's Scope if it was opened (see Scope.Close), and makes later scoped and
// transient resolutions fail with ErrScopeClosed. Closing again does nothing.
func (l *LazyScope) Close(ctx context.Context) error {
	if l == nil || l.endUnopened() {
		return nil
	}
	return l.s.Load().Close(ctx)
}

// endUnopened closes l if it was never opened, which takes nothing to do, and reports
// whether it did.
func (l *LazyScope) endUnopened() bool {
	return l.s.Load() == nil && l.s.CompareAndSwap(nil, l.c.endedScope())
}

func (l *LazyScope) resolve(t reflect.Type, name string) (any, error) {
	if l == nil {
		return nil, ErrNilResolver
	}
	n, err := l.c.lookup(t, name) // ErrNilResolver without a Container
	if err != nil {
		return nil, err
	}
	if n.e.lifetime == Singleton {
		return l.c.singleton(n)
	}
	return l.Scope().resolveNode(n)
}

// nilEnded is endedScope for a LazyScope that was never given a Container.
var nilEnded = &Scope{closed: true}

func (c *Container) endedScope() *Scope {
	if c == nil || c.ended == nil {
		return nilEnded
	}
	return c.ended
}

// ScopeContext is a context carrying a LazyScope as its Resolver: FromContext on it, or on any
// context derived from it, returns the LazyScope. Middleware installs one per request with a
// single allocation. To carry more per-request values in that allocation, embed it in a struct
// of your own whose Value method answers your keys and hands the rest to ScopeContext.Value.
type ScopeContext struct {
	context.Context
	Scope LazyScope
}

// Init sets sc's parent context and prepares its LazyScope on c. self is the context
// constructors of the scope's instances receive: nil means sc itself; a struct embedding sc
// passes itself, so constructors see its values too. Init must not run while sc is in use.
func (sc *ScopeContext) Init(c *Container, parent, self context.Context) {
	sc.Context = orBackground(parent)
	if self == nil {
		self = sc
	}
	sc.Scope.Init(c, self)
}

// Value answers FromContext's key with sc's LazyScope (when it has a Container) and hands
// every other key to the parent context.
func (sc *ScopeContext) Value(key any) any {
	if key == (resolverKey{}) && sc.Scope.c != nil {
		return &sc.Scope
	}
	return sc.Context.Value(key)
}
