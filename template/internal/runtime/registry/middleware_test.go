package registry_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/aegisgo/aegis/template/internal/runtime/registry"
	"github.com/aegisgo/aegis/template/internal/runtime/registry/registrytest"
)

func TestMiddleware(t *testing.T) {
	t.Parallel()
	ev := &events{}
	type Req struct{ *closer }
	var n int
	r := registry.New()
	must(t, registry.Provide(r, func(context.Context) (*Req, error) {
		n++
		return &Req{&closer{"req" + itoa(n), ev}}, nil
	}, registry.WithLifetime(registry.Scoped)))
	c := registrytest.Start(t, r)

	var seen []*Req
	h := registry.Middleware(c)(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		res, ok := registry.FromContext(req.Context())
		if !ok {
			http.Error(w, "no scope", http.StatusInternalServerError)
			return
		}
		a, err := registry.Get[*Req](res)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		seen = append(seen, a, registry.MustGet[*Req](res))
		ev.add("handled")
		if req.URL.Path == "/panic" {
			panic(http.ErrAbortHandler)
		}
	}))
	for _, path := range []string{"/a", "/b"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		if rec.Code != http.StatusOK {
			t.Fatalf("%s: %d %s", path, rec.Code, rec.Body)
		}
	}
	func() {
		defer func() { _ = recover() }()
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/panic", nil))
	}()
	if seen[0] != seen[1] || seen[0] == seen[2] {
		t.Error("want one instance per request")
	}
	if got := strings.Join(ev.all(), ","); got != "handled,close req1,handled,close req2,handled,close req3" {
		t.Errorf("events %s", got)
	}
}

// nullWriter is a ResponseWriter that allocates nothing, for counting the middleware's own
// allocations.
type nullWriter struct{ h http.Header }

func (w nullWriter) Header() http.Header       { return w.h }
func (nullWriter) WriteHeader(int)             {}
func (nullWriter) Write(p []byte) (int, error) { return len(p), nil }

// lazyFixture registers a singleton, a scoped and a transient service; the scoped and transient
// ones count their constructions and record their closing.
type lazyFixture struct {
	c       *registry.Container
	ev      *events
	scoped  atomic.Int32
	transis atomic.Int32
}

type (
	lazySingle struct{}
	lazyReq    struct{ *closer }
	lazyTemp   struct{ *closer }
	ctxKey     struct{}
	otherKey   struct{}
)

func newLazyFixture(t *testing.T) *lazyFixture {
	f := &lazyFixture{ev: &events{}}
	r := registry.New()
	must(t, registry.Provide(r, func(context.Context) (*lazySingle, error) { return &lazySingle{}, nil }))
	must(t, registry.Provide(r, func(ctx context.Context) (*lazyReq, error) {
		// Constructors see the values of the request context.
		tag, _ := ctx.Value(ctxKey{}).(string)
		return &lazyReq{&closer{"req" + itoa(int(f.scoped.Add(1))) + tag, f.ev}}, nil
	}, registry.WithLifetime(registry.Scoped)))
	must(t, registry.Provide(r, func(context.Context) (*lazyTemp, error) {
		return &lazyTemp{&closer{"temp" + itoa(int(f.transis.Add(1))), f.ev}}, nil
	}, registry.WithLifetime(registry.Transient)))
	f.c = registrytest.Start(t, r)
	return f
}

// A request that resolves nothing scoped opens no Scope: the LazyScope inside the
// ScopeContext costs no allocation, singletons resolve through it, and closing it is free.
func TestLazyScopeUnusedCostsNothing(t *testing.T) {
	f := newLazyFixture(t)
	sc := new(registry.ScopeContext)
	ctx := context.Background()
	allocs := testing.AllocsPerRun(100, func() {
		sc.Init(f.c, ctx, nil)
		res, ok := registry.FromContext(sc)
		if !ok {
			t.Fatal("no resolver in the ScopeContext")
		}
		if _, err := registry.Get[*lazySingle](res); err != nil {
			t.Fatal(err)
		}
		if err := sc.Scope.Close(ctx); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("unused lazy scope: %v allocations, want 0", allocs)
	}
	if n := f.scoped.Load() + f.transis.Load(); n != 0 {
		t.Errorf("%d scoped or transient instances built, want none", n)
	}

	// Through Middleware, a request that needs no scope costs the ScopeContext and
	// net/http's copy of the request, nothing more.
	h := registry.Middleware(f.c)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		res, _ := registry.FromContext(r.Context())
		_, _ = registry.Get[*lazySingle](res)
	}))
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	w := nullWriter{http.Header{}}
	if allocs := testing.AllocsPerRun(100, func() { h.ServeHTTP(w, req) }); allocs != 2 {
		t.Errorf("Middleware, nothing scoped resolved: %v allocations, want 2 (context, request copy)", allocs)
	}
	if len(f.ev.all()) != 0 {
		t.Errorf("events %v, want none", f.ev.all())
	}
}

// A scoped service is built once per request, from any goroutine of the request; transients
// are built per Get; both are closed when the request ends, newest first, and a resolver that
// outlives its request refuses them.
func TestLazyScopeRequest(t *testing.T) {
	f := newLazyFixture(t)
	var leaked registry.Resolver
	h := registry.Middleware(f.c)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		res, _ := registry.FromContext(r.Context())
		leaked = res
		var wg sync.WaitGroup
		got := make([]*lazyReq, 8)
		for i := range got {
			wg.Go(func() { got[i] = registry.MustGet[*lazyReq](res) })
		}
		wg.Wait()
		for _, g := range got {
			if g != got[0] {
				t.Error("two instances of a scoped service in one request")
			}
		}
		registry.MustGet[*lazyTemp](res)
		registry.MustGet[*lazyTemp](res)
	}))
	ctx := context.WithValue(context.Background(), ctxKey{}, "-tagged")
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequestWithContext(ctx, http.MethodGet, "/", nil))
	if got := strings.Join(f.ev.all(), ","); got != "close temp2,close temp1,close req1-tagged" {
		t.Errorf("events %s", got)
	}
	if _, err := registry.Get[*lazyReq](leaked); !errors.Is(err, registry.ErrScopeClosed) {
		t.Errorf("scoped Get after the request: %v, want ErrScopeClosed", err)
	}
	if _, err := registry.Get[*lazySingle](leaked); err != nil {
		t.Errorf("singleton Get after the request: %v", err)
	}

	// The same for a request that opened nothing: a resolver kept past its end must not open
	// a scope nobody will close.
	h = registry.Middleware(f.c)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		leaked, _ = registry.FromContext(r.Context())
	}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
	for _, get := range []func() error{
		func() error { _, err := registry.Get[*lazyReq](leaked); return err },
		func() error { _, err := registry.Get[*lazyTemp](leaked); return err },
	} {
		if err := get(); !errors.Is(err, registry.ErrScopeClosed) {
			t.Errorf("Get after an unopened request ended: %v, want ErrScopeClosed", err)
		}
	}
	if n := f.scoped.Load() + f.transis.Load(); n != 3 {
		t.Errorf("%d instances built, want 3", n)
	}
}

// Concurrent requests each get their own scoped instance, and every instance is closed.
func TestLazyScopeConcurrentRequests(t *testing.T) {
	f := newLazyFixture(t)
	h := registry.Middleware(f.c)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		res, _ := registry.FromContext(r.Context())
		a := registry.MustGet[*lazyReq](res)
		if b := registry.MustGet[*lazyReq](res); a != b {
			t.Error("two instances of a scoped service in one request")
		}
		_, _ = w.Write([]byte(a.name))
	}))
	const n = 50
	names := make([]string, n)
	var wg sync.WaitGroup
	for i := range names {
		wg.Go(func() {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
			names[i] = rec.Body.String()
		})
	}
	wg.Wait()
	seen := map[string]bool{}
	for _, name := range names {
		if seen[name] {
			t.Errorf("two requests shared %s", name)
		}
		seen[name] = true
	}
	closed := f.ev.all()
	if len(closed) != n {
		t.Fatalf("%d closes, want %d", len(closed), n)
	}
	for _, e := range closed {
		if !seen[strings.TrimPrefix(e, "close ")] {
			t.Errorf("unexpected %q", e)
		}
	}
}

// A struct embedding ScopeContext carries its own values in the same allocation, and the
// scope's constructors see them.
type tagged struct {
	registry.ScopeContext
	tag string
}

func (c *tagged) Value(key any) any {
	if key == (ctxKey{}) {
		return c.tag
	}
	return c.ScopeContext.Value(key)
}

func TestScopeContextEmbedded(t *testing.T) {
	f := newLazyFixture(t)
	tc := &tagged{tag: "-own"}
	tc.Init(f.c, context.Background(), tc)
	res, ok := registry.FromContext(context.WithValue(tc, otherKey{}, 1)) // derived contexts too
	if !ok {
		t.Fatal("no resolver")
	}
	if got := registry.MustGet[*lazyReq](res).name; got != "req1-own" {
		t.Errorf("constructor saw %q, want req1-own", got)
	}
	if err := tc.Scope.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(f.ev.all(), ","); got != "close req1-own" {
		t.Errorf("events %s", got)
	}

	// Without a container, the context carries no resolver.
	var empty registry.ScopeContext
	empty.Init(nil, context.Background(), nil)
	if _, ok := registry.FromContext(&empty); ok {
		t.Error("FromContext found a resolver without a container")
	}
}
