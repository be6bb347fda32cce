package registry

import (
	"context"
	"errors"
	"reflect"
)

// Provide registers a constructor for T with no dependencies. The constructor runs once for a
// singleton (in Container.Start), once per Scope for a scoped service, on every Get for a
// transient one. It must not return a nil pointer, func or channel without an error.
//
// The returned error is also kept by r and reported by Validate and Build, so an init
// function may ignore it.
func Provide[T any](r *Registry, ctor func(ctx context.Context) (T, error), opts ...Option) error {
	var f ctorFunc
	if ctor != nil {
		f = func(ctx context.Context, _ []any) (any, error) { return ctor(ctx) }
	}
	return r.register(caller(1), registration{what: "Provide", typ: reflect.TypeFor[T](), ctor: f}, opts)
}

// Provide1 registers a constructor for T whose parameter after ctx is its dependency, resolved
// by type (or by name, with DependsOnNames). See Provide.
func Provide1[T, D1 any](r *Registry, ctor func(ctx context.Context, d1 D1) (T, error), opts ...Option) error {
	var f ctorFunc
	if ctor != nil {
		f = func(ctx context.Context, d []any) (any, error) { return ctor(ctx, arg[D1](d, 0)) }
	}
	return r.register(caller(1), registration{
		what: "Provide", typ: reflect.TypeFor[T](), ctor: f,
		params: []reflect.Type{reflect.TypeFor[D1]()},
	}, opts)
}

// Provide2 registers a constructor for T whose 2 parameters after ctx are its dependencies, resolved
// by type (or by name, with DependsOnNames). See Provide.
func Provide2[T, D1, D2 any](r *Registry, ctor func(ctx context.Context, d1 D1, d2 D2) (T, error), opts ...Option) error {
	var f ctorFunc
	if ctor != nil {
		f = func(ctx context.Context, d []any) (any, error) { return ctor(ctx, arg[D1](d, 0), arg[D2](d, 1)) }
	}
	return r.register(caller(1), registration{
		what: "Provide", typ: reflect.TypeFor[T](), ctor: f,
		params: []reflect.Type{reflect.TypeFor[D1](), reflect.TypeFor[D2]()},
	}, opts)
}

// Provide3 registers a constructor for T whose 3 parameters after ctx are its dependencies, resolved
// by type (or by name, with DependsOnNames). See Provide.
func Provide3[T, D1, D2, D3 any](r *Registry, ctor func(ctx context.Context, d1 D1, d2 D2, d3 D3) (T, error), opts ...Option) error {
	var f ctorFunc
	if ctor != nil {
		f = func(ctx context.Context, d []any) (any, error) {
			return ctor(ctx, arg[D1](d, 0), arg[D2](d, 1), arg[D3](d, 2))
		}
	}
	return r.register(caller(1), registration{
		what: "Provide", typ: reflect.TypeFor[T](), ctor: f,
		params: []reflect.Type{reflect.TypeFor[D1](), reflect.TypeFor[D2](), reflect.TypeFor[D3]()},
	}, opts)
}

// Provide4 registers a constructor for T whose 4 parameters after ctx are its dependencies, resolved
// by type (or by name, with DependsOnNames). See Provide.
func Provide4[T, D1, D2, D3, D4 any](r *Registry, ctor func(ctx context.Context, d1 D1, d2 D2, d3 D3, d4 D4) (T, error), opts ...Option) error {
	var f ctorFunc
	if ctor != nil {
		f = func(ctx context.Context, d []any) (any, error) {
			return ctor(ctx, arg[D1](d, 0), arg[D2](d, 1), arg[D3](d, 2), arg[D4](d, 3))
		}
	}
	return r.register(caller(1), registration{
		what: "Provide", typ: reflect.TypeFor[T](), ctor: f,
		params: []reflect.Type{reflect.TypeFor[D1](), reflect.TypeFor[D2](), reflect.TypeFor[D3](), reflect.TypeFor[D4]()},
	}, opts)
}

// Provide5 registers a constructor for T whose 5 parameters after ctx are its dependencies, resolved
// by type (or by name, with DependsOnNames). See Provide.
func Provide5[T, D1, D2, D3, D4, D5 any](r *Registry, ctor func(ctx context.Context, d1 D1, d2 D2, d3 D3, d4 D4, d5 D5) (T, error), opts ...Option) error {
	var f ctorFunc
	if ctor != nil {
		f = func(ctx context.Context, d []any) (any, error) {
			return ctor(ctx, arg[D1](d, 0), arg[D2](d, 1), arg[D3](d, 2), arg[D4](d, 3), arg[D5](d, 4))
		}
	}
	return r.register(caller(1), registration{
		what: "Provide", typ: reflect.TypeFor[T](), ctor: f,
		params: []reflect.Type{reflect.TypeFor[D1](), reflect.TypeFor[D2](), reflect.TypeFor[D3](), reflect.TypeFor[D4](), reflect.TypeFor[D5]()},
	}, opts)
}

// Provide6 registers a constructor for T whose 6 parameters after ctx are its dependencies, resolved
// by type (or by name, with DependsOnNames). See Provide.
func Provide6[T, D1, D2, D3, D4, D5, D6 any](r *Registry, ctor func(ctx context.Context, d1 D1, d2 D2, d3 D3, d4 D4, d5 D5, d6 D6) (T, error), opts ...Option) error {
	var f ctorFunc
	if ctor != nil {
		f = func(ctx context.Context, d []any) (any, error) {
			return ctor(ctx, arg[D1](d, 0), arg[D2](d, 1), arg[D3](d, 2), arg[D4](d, 3), arg[D5](d, 4), arg[D6](d, 5))
		}
	}
	return r.register(caller(1), registration{
		what: "Provide", typ: reflect.TypeFor[T](), ctor: f,
		params: []reflect.Type{reflect.TypeFor[D1](), reflect.TypeFor[D2](), reflect.TypeFor[D3](), reflect.TypeFor[D4](), reflect.TypeFor[D5](), reflect.TypeFor[D6]()},
	}, opts)
}

// arg converts a resolved dependency to its parameter type. Validation guarantees the type,
// so the comma-ok form only keeps a bug here from becoming a panic.
func arg[D any](d []any, i int) D {
	v, _ := d[i].(D)
	return v
}

// Bind makes Get[I] (and dependencies of type I) yield the service registered as T, which
// must implement the interface I. The binding shares T's instance and lifetime. Name names the
// binding; DependsOnNames("x") picks the T named x.
func Bind[I, T any](r *Registry, opts ...Option) error {
	it, tt := reflect.TypeFor[I](), reflect.TypeFor[T]()
	reg := registration{what: "Bind", typ: it, params: []reflect.Type{tt}}
	switch {
	case it.Kind() != reflect.Interface:
		reg.errs = append(reg.errs, &TypeError{Context: "Bind", Want: "an interface type", Got: it.String()})
	case !tt.Implements(it):
		reg.errs = append(reg.errs, &TypeError{Context: "Bind target " + tt.String() + " does not implement " + it.String(), Want: it.String(), Got: tt.String()})
	}
	return r.register(caller(1), reg, opts)
}

// Value registers an existing value as a singleton. The container starts and stops it only
// if it implements Starter or Stopper (or has Hooks); it never closes it as an io.Closer,
// because the caller owns it.
func Value[T any](r *Registry, v T, opts ...Option) error {
	boxed := any(v)
	reg := registration{what: "Value", typ: reflect.TypeFor[T](),
		ctor: func(context.Context, []any) (any, error) { return boxed, nil }}
	if isNil(boxed) {
		reg.errs = append(reg.errs, errors.New("nil value"))
	}
	return r.register(caller(1), reg, opts)
}

// isNil reports whether v is nil or a nil pointer, func, channel or unsafe pointer: values
// that would panic on first use. Nil maps and slices are usable and allowed.
func isNil(v any) bool {
	if v == nil {
		return true
	}
	switch rv := reflect.ValueOf(v); rv.Kind() {
	case reflect.Pointer, reflect.Func, reflect.Chan, reflect.UnsafePointer:
		return rv.IsNil()
	}
	return false
}
