package registrybench

import (
	"context"
	"reflect"
	"strconv"
	"testing"

	"github.com/aegisgo/aegis/template/internal/runtime/registry"
	"github.com/samber/do/v2"
	"go.uber.org/dig"
)

// Single is the singleton every library resolves; Request is the request-scoped service,
// which depends on it.
type (
	Single  struct{ n int }
	Request struct{ single *Single }
)

// sinks keep results alive so the compiler cannot drop the work.
var (
	sinkSingle  *Single
	sinkRequest *Request
)

func newSingle() *Single                           { return &Single{n: 1} }
func newRequest(s *Single) *Request                { return &Request{single: s} }
func aegisSingle(context.Context) (*Single, error) { return newSingle(), nil }
func aegisRequest(_ context.Context, s *Single) (*Request, error) {
	return newRequest(s), nil
}

// aegisContainer is the 100-service graph plus Single and Request, built and started.
func aegisContainer(b *testing.B) *registry.Container {
	r := registry.New()
	registerAegis(r)
	must(b, registry.Provide(r, aegisSingle))
	must(b, registry.Provide1(r, aegisRequest, registry.WithLifetime(registry.Scoped)))
	c, err := r.Build()
	must(b, err)
	must(b, c.Start(context.Background()))
	b.Cleanup(func() { _ = c.Stop(context.Background()) })
	return c
}

func doInjector(b *testing.B) do.Injector {
	i := do.New()
	provideDo(i)
	do.Provide(i, func(do.Injector) (*Single, error) { return newSingle(), nil })
	must(b, invokeDoSinks(i))
	_, err := do.Invoke[*Single](i) // construct it now: we measure resolution, not construction
	must(b, err)
	return i
}

func digContainer(b *testing.B) *dig.Container {
	c := dig.New()
	must(b, provideDig(c))
	must(b, c.Provide(newSingle))
	must(b, c.Invoke(func(*Single) {}))
	return c
}

func must(b *testing.B, err error) {
	b.Helper()
	if err != nil {
		b.Fatal(err)
	}
}

// BenchmarkSingleton resolves an already constructed singleton from a container of about
// 100 services.
func BenchmarkSingleton(b *testing.B) {
	b.Run("map", func(b *testing.B) {
		// The floor: a plain map from type to instance, as large as the containers.
		m := map[reflect.Type]any{reflect.TypeFor[*Single](): newSingle()}
		for i := range 101 { // filler, so the map is as large as the containers
			m[reflect.ArrayOf(i+1, reflect.TypeFor[byte]())] = i
		}
		b.ResetTimer()
		for b.Loop() {
			sinkSingle = m[reflect.TypeFor[*Single]()].(*Single)
		}
	})
	b.Run("aegis", func(b *testing.B) {
		c := aegisContainer(b)
		b.ResetTimer()
		for b.Loop() {
			s, err := registry.Get[*Single](c)
			if err != nil {
				b.Fatal(err)
			}
			sinkSingle = s
		}
	})
	b.Run("aegis_scope", func(b *testing.B) {
		// A singleton resolved through a request scope, as handlers do.
		c := aegisContainer(b)
		s := c.NewScope(context.Background())
		defer s.Close(context.Background())
		b.ResetTimer()
		for b.Loop() {
			v, err := registry.Get[*Single](s)
			if err != nil {
				b.Fatal(err)
			}
			sinkSingle = v
		}
	})
	b.Run("samber_do", func(b *testing.B) {
		i := doInjector(b)
		b.ResetTimer()
		for b.Loop() {
			s, err := do.Invoke[*Single](i)
			if err != nil {
				b.Fatal(err)
			}
			sinkSingle = s
		}
	})
	b.Run("dig", func(b *testing.B) {
		c := digContainer(b)
		f := func(s *Single) { sinkSingle = s }
		b.ResetTimer()
		for b.Loop() {
			if err := c.Invoke(f); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkScoped opens a fresh scope, resolves a request-scoped service (which depends on a
// singleton) and closes the scope: the per-request cost.
func BenchmarkScoped(b *testing.B) {
	const batch = 1024
	b.Run("aegis", func(b *testing.B) {
		c := aegisContainer(b)
		ctx := context.Background()
		b.ResetTimer()
		for b.Loop() {
			s := c.NewScope(ctx)
			r, err := registry.Get[*Request](s)
			if err != nil {
				b.Fatal(err)
			}
			sinkRequest = r
			if err := s.Close(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("samber_do", func(b *testing.B) {
		// do wants a unique name per child scope and keeps shut-down children in the parent
		// until the parent shuts down, so a new root is made every 1024 requests (amortised).
		names := make([]string, batch)
		for i := range names {
			names[i] = "req-" + strconv.Itoa(i)
		}
		var root do.Injector
		n := 0
		b.ResetTimer()
		for b.Loop() {
			if n%batch == 0 {
				root = doInjector(b)
			}
			scope := root.Scope(names[n%batch])
			n++
			do.Provide(scope, func(i do.Injector) (*Request, error) {
				s, err := do.Invoke[*Single](i)
				return newRequest(s), err
			})
			r, err := do.Invoke[*Request](scope)
			if err != nil {
				b.Fatal(err)
			}
			sinkRequest = r
			if rep := scope.Shutdown(); !rep.Succeed {
				b.Fatal(rep)
			}
		}
	})
	b.Run("dig", func(b *testing.B) {
		// dig scopes cannot be closed and stay referenced by their parent, so a new root is
		// made every 1024 requests (amortised).
		var root *dig.Container
		n := 0
		f := func(r *Request) { sinkRequest = r }
		b.ResetTimer()
		for b.Loop() {
			if n%batch == 0 {
				root = digContainer(b)
			}
			n++
			scope := root.Scope("request")
			if err := scope.Provide(newRequest); err != nil {
				b.Fatal(err)
			}
			if err := scope.Invoke(f); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkGraph100 registers a 100-service graph, validates it and constructs every service.
func BenchmarkGraph100(b *testing.B) {
	b.Run("aegis", func(b *testing.B) {
		ctx := context.Background()
		for b.Loop() {
			r := registry.New()
			registerAegis(r)
			c, err := r.Build() // validation: missing deps, cycles, lifetimes
			if err != nil {
				b.Fatal(err)
			}
			if err := c.Start(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("samber_do", func(b *testing.B) {
		for b.Loop() {
			i := do.New()
			provideDo(i)
			if err := invokeDoSinks(i); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("dig", func(b *testing.B) {
		for b.Loop() {
			c := dig.New() // validates acyclicity as each constructor is provided
			if err := provideDig(c); err != nil {
				b.Fatal(err)
			}
			if err := c.Invoke(func(digSinks) {}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
