package registry

import (
	"context"
	"fmt"
	"reflect"
	"strings"
)

// Resolver is where services are resolved from: a *Container or a *Scope. Get on a Container
// serves singletons and transients; a Scope also serves scoped services.
type Resolver interface {
	resolve(t reflect.Type, name string) (any, error)
}

// Get returns the service of type T: the only one registered with that type, or else the one
// registered without Name. A started singleton is returned without locking or allocating.
// Errors wrap ErrNotFound, ErrAmbiguous, ErrNotStarted, ErrFailed, ErrStopped,
// ErrOutsideScope, ErrScopeClosed or ErrNilResolver, and name the service.
func Get[T any](r Resolver) (T, error) {
	t := reflect.TypeFor[T]()
	// The fast path, written out here so it is compiled into each caller's instantiation: a
	// map lookup, an atomic load and a type assertion.
	var c *Container
	switch r := r.(type) {
	case *Container:
		c = r
	case *Scope:
		if r != nil {
			c = r.c
		}
	case *LazyScope:
		if r != nil {
			c = r.c
		}
	}
	if c != nil {
		if n := c.byType[t]; n != nil && n.state.Load() == stateStarted {
			if v, ok := n.value.(T); ok {
				return v, nil
			}
		}
	}
	var (
		v   any
		err = ErrNilResolver
	)
	if r != nil {
		v, err = r.resolve(t, "")
	}
	if err != nil {
		var zero T
		return zero, err
	}
	return cast[T](v, t)
}

// GetNamed returns the service registered under name, which must have type T.
func GetNamed[T any](r Resolver, name string) (T, error) {
	var (
		v   any
		err = ErrNilResolver
		t   = reflect.TypeFor[T]()
	)
	if r != nil {
		v, err = r.resolve(t, name)
	}
	if err != nil {
		var zero T
		return zero, err
	}
	return cast[T](v, t)
}

// cast converts a resolved instance; validation makes failure impossible, and the check
// keeps an internal bug from becoming a panic in the caller.
func cast[T any](v any, t reflect.Type) (T, error) {
	x, ok := v.(T)
	if !ok {
		return x, fmt.Errorf("registry: get %s: internal error: instance has type %T", t, v)
	}
	return x, nil
}

// MustGet is Get that panics on error, for main functions and tests.
func MustGet[T any](r Resolver) T {
	v, err := Get[T](r)
	if err != nil {
		panic(err)
	}
	return v
}

type resolverKey struct{}

// WithResolver returns a context carrying r. Middleware puts each request's LazyScope in the
// request context without it (ScopeContext), saving an allocation.
func WithResolver(ctx context.Context, r Resolver) context.Context {
	return context.WithValue(ctx, resolverKey{}, r)
}

// FromContext returns the Resolver put into ctx by WithResolver, or the LazyScope of the
// ScopeContext ctx is or derives from (Middleware puts one in every request context).
func FromContext(ctx context.Context) (Resolver, bool) {
	r, ok := ctx.Value(resolverKey{}).(Resolver)
	return r, ok && r != nil
}

func (c *Container) resolve(t reflect.Type, name string) (any, error) {
	n, err := c.lookup(t, name)
	if err != nil {
		return nil, err
	}
	switch n.e.lifetime {
	case Singleton:
		return c.singleton(n)
	case Scoped:
		return nil, &ServiceError{Op: "get", Service: n.name(), Err: ErrOutsideScope}
	}
	// A transient resolved outside a scope belongs to the caller: nothing tracks it.
	return c.build(WithResolver(context.Background(), c), n, nil, nil)
}

// lookup finds the node that holds instances for (t, name), bindings followed.
func (c *Container) lookup(t reflect.Type, name string) (*node, error) {
	if c == nil {
		return nil, ErrNilResolver
	}
	if name != "" {
		n, ok := c.byName[name]
		if !ok {
			return nil, &ServiceError{Op: "get", Service: fmt.Sprintf("%q", name), Err: ErrNotFound}
		}
		if n.e.typ != t {
			return nil, &TypeError{Service: name, Registered: n.e.loc.String(), Context: "GetNamed", Want: t.String(), Got: n.e.typ.String()}
		}
		return n.target, nil
	}
	if n := c.byType[t]; n != nil {
		return n, nil
	}
	if candidates, ok := c.ambiguous[t]; ok {
		return nil, &ServiceError{Op: "get", Service: t.String(),
			Err: fmt.Errorf("%w: %d services have that type (%s); use GetNamed", ErrAmbiguous, len(candidates), strings.Join(candidates, ", "))}
	}
	return nil, &ServiceError{Op: "get", Service: t.String(), Err: ErrNotFound}
}

var (
	_ Resolver = (*Container)(nil)
	_ Resolver = (*Scope)(nil)
	_ Resolver = (*LazyScope)(nil)
)
