package registry_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
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
