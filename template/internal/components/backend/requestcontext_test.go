package backend

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/danielgtaylor/huma/v2"
	"github.com/go-chi/chi/v5"

	"github.com/aegisgo/aegis/template/internal/runtime/logtest"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
	"github.com/aegisgo/aegis/template/internal/runtime/registry/registrytest"
)

// perRequest is a scoped service: one per request that asks, closed when it ends.
type perRequest struct {
	id     string // the request ID its constructor saw
	closed *atomic.Int32
}

func (p *perRequest) Close() error { p.closed.Add(1); return nil }

// The request's one context carries its ID and its scope everywhere a handler looks: raw
// chi handlers and huma operations; the scope opens only when asked and closes at the end.
func TestRequestContext(t *testing.T) {
	t.Parallel()
	var built, closed atomic.Int32
	reg := registry.New()
	srv := NewServer(Settings{})
	if err := errors.Join(
		registry.Value(reg, srv, registry.Component(Name)),
		registry.Provide(reg, func(ctx context.Context) (*perRequest, error) {
			built.Add(1)
			return &perRequest{id: RequestID(ctx), closed: &closed}, nil
		}, registry.WithLifetime(registry.Scoped)),
	); err != nil {
		t.Fatal(err)
	}
	c := registrytest.Start(t, reg)
	type out struct {
		Body struct {
			ID    string `json:"id"`
			Scope string `json:"scope"`
		}
	}
	routes := Routes(func(r *Router) error {
		r.Mux.Get("/raw/{what}", func(w http.ResponseWriter, req *http.Request) {
			ctx := req.Context()
			got := RequestID(ctx)
			if chi := req.PathValue("what"); chi == "scope" {
				res, ok := registry.FromContext(ctx)
				if !ok {
					http.Error(w, "no scope", http.StatusInternalServerError)
					return
				}
				a, b := registry.MustGet[*perRequest](res), registry.MustGet[*perRequest](res)
				if a != b {
					http.Error(w, "two instances", http.StatusInternalServerError)
					return
				}
				got += " " + a.id
			}
			_, _ = io.WriteString(w, got)
		})
		huma.Get(r.API, "/huma", func(ctx context.Context, _ *struct{}) (*out, error) {
			o := &out{}
			o.Body.ID = RequestID(ctx)
			res, _ := registry.FromContext(ctx)
			p, err := registry.Get[*perRequest](res)
			if err != nil {
				return nil, err
			}
			o.Body.Scope = p.id
			return o, nil
		})
		return nil
	})
	logs := &logtest.Buffer{}
	h, err := srv.Handler(c, &HandlerOpts{Logger: slog.New(slog.NewJSONHandler(logs, nil)), Routes: registry.All[Routes]{{Name: "t", Value: routes}}})
	if err != nil {
		t.Fatal(err)
	}
	do := func(path, id string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.Header.Set(RequestIDHeader, id)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK || rec.Header().Get(RequestIDHeader) != id {
			t.Fatalf("GET %s: %d %s, X-Request-ID %q", path, rec.Code, rec.Body, rec.Header().Get(RequestIDHeader))
		}
		return rec
	}
	if got := do("/raw/id", "r1").Body.String(); got != "r1" || built.Load() != 0 {
		t.Errorf("raw handler saw %q, %d scoped instances built; want r1 and none", got, built.Load())
	}
	if got := do("/raw/scope", "r2").Body.String(); got != "r2 r2" || built.Load() != 1 || closed.Load() != 1 {
		t.Errorf("raw handler saw %q, built %d, closed %d; want \"r2 r2\", 1, 1", got, built.Load(), closed.Load())
	}
	if got := do("/huma", "r3").Body.String(); !strings.Contains(got, `"id":"r3","scope":"r3"`) || built.Load() != 2 || closed.Load() != 2 {
		t.Errorf("huma operation answered %s, built %d, closed %d", got, built.Load(), closed.Load())
	}
	for i, rec := range logs.Records(t, "request") {
		if want := []string{"r1", "r2", "r3"}[i]; rec["request_id"] != want {
			t.Errorf("access line %d: request_id %v, want %s", i, rec["request_id"], want)
		}
	}
}

type otherKey struct{}

// RequestID reads the request context, a WithRequestID on top of it, or a plain context.
func TestRequestIDLookup(t *testing.T) {
	t.Parallel()
	rc := &requestContext{id: "outer"}
	rc.Init(nil, context.Background(), rc)
	if got := RequestID(rc); got != "outer" {
		t.Errorf("RequestID(request context) = %q", got)
	}
	if got := RequestID(context.WithValue(rc, otherKey{}, 1)); got != "outer" {
		t.Errorf("RequestID(derived) = %q", got)
	}
	if got := RequestID(WithRequestID(rc, "job")); got != "job" {
		t.Errorf("RequestID(WithRequestID over it) = %q, want job", got)
	}
	if got := RequestID(context.Background()); got != "" {
		t.Errorf("RequestID(background) = %q", got)
	}
	if _, ok := registry.FromContext(rc); ok {
		t.Error("a request context without a container must carry no resolver")
	}
}

// fullWriter is a ResponseWriter with every optional feature net/http's has.
type fullWriter struct {
	*httptest.ResponseRecorder
	hijacked bool
	readFrom bool
}

func (w *fullWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	w.hijacked = true
	return nil, nil, nil
}

func (w *fullWriter) ReadFrom(r io.Reader) (int64, error) {
	w.readFrom = true
	return io.Copy(w.ResponseRecorder, r)
}

// The access log's wrapper records what it must and hides nothing the wrapped writer offers.
func TestRecorder(t *testing.T) {
	t.Parallel()
	full := &fullWriter{ResponseRecorder: httptest.NewRecorder()}
	w := &recorder{ResponseWriter: full}
	rc := http.NewResponseController(w)
	if err := rc.Flush(); err != nil || !full.Flushed || w.Status() != http.StatusOK {
		t.Errorf("Flush: %v, flushed %v, status %d", err, full.Flushed, w.Status())
	}
	if _, _, err := rc.Hijack(); err != nil || !full.hijacked {
		t.Errorf("Hijack: %v, hijacked %v", err, full.hijacked)
	}
	w.WriteHeader(http.StatusTeapot)                          // superfluous: dropped
	n, err := io.Copy(w, chunked{strings.NewReader("hello")}) // through ReadFrom
	if err != nil || n != 5 || !full.readFrom {
		t.Errorf("io.Copy: %d %v, ReadFrom used %v", n, err, full.readFrom)
	}
	_, _ = w.Write([]byte("!"))
	if w.bytes != 6 || w.Status() != http.StatusOK || full.Code != http.StatusOK || full.Body.String() != "hello!" {
		t.Errorf("bytes %d status %d; wrapped got %d %q", w.bytes, w.Status(), full.Code, full.Body)
	}
	if w.Unwrap() != full {
		t.Error("Unwrap does not return the wrapped writer")
	}

	// Informational statuses pass through and are not the response's status.
	codes := &codeWriter{}
	w = &recorder{ResponseWriter: codes}
	w.WriteHeader(http.StatusEarlyHints)
	if w.Status() != 0 {
		t.Errorf("status after 103 = %d, want 0", w.Status())
	}
	w.WriteHeader(http.StatusNotFound)
	w.WriteHeader(http.StatusOK)
	if w.Status() != http.StatusNotFound || len(codes.codes) != 2 || codes.codes[1] != http.StatusNotFound {
		t.Errorf("status %d, wrapped writer got %v; want 404 and [103 404]", w.Status(), codes.codes)
	}

	// A writer without the features: errors, not panics.
	bare := &recorder{ResponseWriter: nullOnly{}}
	if err := http.NewResponseController(bare).Flush(); !errors.Is(err, http.ErrNotSupported) {
		t.Errorf("Flush on a bare writer: %v, want ErrNotSupported", err)
	}
	if _, _, err := bare.Hijack(); !errors.Is(err, http.ErrNotSupported) {
		t.Errorf("Hijack on a bare writer: %v, want ErrNotSupported", err)
	}
	if err := bare.Push("/x", nil); !errors.Is(err, http.ErrNotSupported) {
		t.Errorf("Push on a bare writer: %v", err)
	}
	if bare.Status() != 0 {
		t.Errorf("status after a failed flush = %d, want 0", bare.Status())
	}
}

type nullOnly struct{}

func (nullOnly) Header() http.Header         { return http.Header{} }
func (nullOnly) WriteHeader(int)             {}
func (nullOnly) Write(p []byte) (int, error) { return len(p), nil }

type codeWriter struct {
	nullOnly
	codes []int
}

func (w *codeWriter) WriteHeader(code int) { w.codes = append(w.codes, code) }

// The request context carries chi's routing context, so chi routes with it instead of adding
// its own (one more context and one more copy of the request): a handler's context is the
// request context itself. The pooled routing context is reset between requests: path
// parameters and patterns of one request never show in the next, mounted sub-routers included.
func TestRoutingContext(t *testing.T) {
	t.Parallel()
	reg := registry.New()
	srv := NewServer(Settings{})
	if err := registry.Value(reg, srv, registry.Component(Name)); err != nil {
		t.Fatal(err)
	}
	c := registrytest.Start(t, reg)
	show := func(w http.ResponseWriter, req *http.Request) {
		rctx := chi.RouteContext(req.Context())
		rc, _ := req.Context().(*requestContext)
		direct := rc != nil && rctx != nil && rc.route == rctx // chi routed with ours, added none
		fmt.Fprintf(w, "%s|%s|%s|%v", rctx.RoutePattern(), chi.URLParam(req, "id"), chi.URLParam(req, "x"), direct)
	}
	type out struct{ Body struct{ ID string } }
	routes := Routes(func(r *Router) error {
		r.Mux.Get("/items/{id}", show)
		sub := chi.NewRouter()
		sub.Get("/{x}", show)
		r.Mux.Mount("/sub", sub)
		huma.Get(r.API, "/huma/{id}", func(_ context.Context, in *struct {
			ID string `path:"id"`
		}) (*out, error) {
			o := &out{}
			o.Body.ID = in.ID
			return o, nil
		})
		return nil
	})
	h, err := srv.Handler(c, &HandlerOpts{Logger: slog.New(slog.DiscardHandler), Routes: registry.All[Routes]{{Name: "t", Value: routes}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ path, want string }{
		{"/items/1", "/items/{id}|1||true"},
		{"/sub/a", "/sub/{x}||a|true"},
		{"/items/2", "/items/{id}|2||true"},
		{"/huma/3", `"ID":"3"`},
		{"/sub/b", "/sub/{x}||b|true"},
		{"/nowhere", "No route matches /nowhere"},
		{"/items/4", "/items/{id}|4||true"},
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, tt.path, nil))
		if !strings.Contains(rec.Body.String(), tt.want) {
			t.Errorf("GET %s: %d %q, want it to contain %q", tt.path, rec.Code, rec.Body, tt.want)
		}
	}
}
