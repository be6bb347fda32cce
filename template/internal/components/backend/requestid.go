package backend

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/go-chi/chi/v5"

	"github.com/aegisgo/aegis/template/internal/runtime/logbuf"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
)

// RequestIDHeader carries the request ID in both directions.
const RequestIDHeader = "X-Request-ID"

// requestIDHeaderKey is RequestIDHeader in the canonical form net/http stores
// header keys in, for direct map access (no canonicalisation per request).
const requestIDHeaderKey = "X-Request-Id"

// maxRequestIDLen bounds an incoming ID we are willing to echo and log.
const maxRequestIDLen = 128

type requestIDKey struct{}

// RequestID returns the ID of the request ctx belongs to, or "" outside one.
func RequestID(ctx context.Context) string {
	if rc, ok := ctx.(*requestContext); ok {
		return rc.id
	}
	switch v := ctx.Value(requestIDKey{}).(type) {
	case *requestContext:
		return v.id
	case string:
		return v
	}
	return ""
}

// WithRequestID returns a copy of ctx carrying id, for code that starts work
// on behalf of a request (a job, an outgoing call) and wants its logs tied to it.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// requestIDs generates IDs as a random per-process prefix plus a counter:
// unique across instances, ordered within one, and far cheaper than reading
// 16 random bytes per request (this runs on the /health/live fast path).
type requestIDs struct {
	prefix string
	n      atomic.Uint64
}

func newRequestIDs() *requestIDs {
	var b [10]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never returns an error since Go 1.24
	return &requestIDs{prefix: base32.HexEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:]) + "-"}
}

func (g *requestIDs) next() string {
	var buf [48]byte
	b := append(buf[:0], g.prefix...)
	b = strconv.AppendUint(b, g.n.Add(1), 36)
	return string(b)
}

// fromRequest returns the client's X-Request-ID when it is sane (short,
// printable, no spaces: safe to echo and log), or a fresh one.
func (g *requestIDs) fromRequest(r *http.Request) string {
	if v := r.Header[requestIDHeaderKey]; len(v) == 1 && saneRequestID(v[0]) {
		return v[0]
	}
	return g.next()
}

func saneRequestID(id string) bool {
	if id == "" || len(id) > maxRequestIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '-', c == '_', c == '.', c == ':', c == '/', c == '+', c == '=', c == '@':
		default:
			return false
		}
	}
	return true
}

// requestContext is the context of one request: its ID and its registry scope (opened only
// if the request resolves a scoped service), installed with one WithContext and one
// allocation. It also holds the header value and the access log's wrapper of the
// ResponseWriter, which share that allocation.
type requestContext struct {
	registry.ScopeContext
	route  *chi.Context // chi's routing context (chi.RouteContext), pooled
	id     string
	header [1]string // X-Request-ID's value in the response headers
	rw     recorder  // accessLog's wrapper of the ResponseWriter
	// span is the request span's context (the instrumentation's): one that holds the span
	// (and a trace context or baggage the request brought) over context.Background, asked
	// before the parent, so that the span needs no WithContext and no copy of the request.
	span context.Context
	// detached is the response Detach took over, nil for every other request.
	detached *Detached
}

// returned tells a detached response that its handler has returned through the middleware.
func (c *requestContext) returned() {
	if c.detached != nil {
		close(c.detached.returned)
	}
}

// Value answers RequestID's key with the request context itself (a pointer: no allocation,
// where a string would be boxed on every call) and FromContext's with the request's scope.
func (c *requestContext) Value(key any) any {
	switch key {
	case requestIDKey{}:
		return c
	case chi.RouteCtxKey:
		if c.route != nil {
			return c.route
		}
	}
	if c.span != nil {
		if v := c.span.Value(key); v != nil {
			return v
		}
	}
	return c.ScopeContext.Value(key)
}

// requestContextOf returns the request context ctx is or derives from, or nil.
func requestContextOf(ctx context.Context) *requestContext {
	if rc, ok := ctx.(*requestContext); ok {
		return rc
	}
	rc, _ := ctx.Value(requestIDKey{}).(*requestContext)
	return rc
}

// routeContexts recycles chi's routing contexts, as chi's own Mux does.
var routeContexts = sync.Pool{New: func() any { return chi.NewRouteContext() }}

// requestIDMiddleware sets the ID on the response and gives the request its context: the ID
// (RequestID), a scope of c (registry.FromContext), closed by closeScope at the end of the
// chain, and a routing context for routes, the router the chain ends in. A chi router that
// finds a routing context in the request's context routes with it, as a mounted sub-router
// does; otherwise it would add its own with one more context and one more copy of the
// request. c may be nil: no scope then; routes may be nil: no routing context then (a chain
// installed inside a router, which has made its own).
func requestIDMiddleware(g *requestIDs, c *registry.Container, routes chi.Routes) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rc := &requestContext{id: g.fromRequest(r)}
			rc.header[0] = rc.id
			rc.Init(c, r.Context(), rc)
			w.Header()[requestIDHeaderKey] = rc.header[:]
			// A detached response (Detach) finishes once the middleware has noted its work.
			defer rc.returned()
			if routes == nil {
				next.ServeHTTP(w, r.WithContext(rc))
				return
			}
			rc.route = routeContexts.Get().(*chi.Context)
			rc.route.Reset()
			rc.route.Routes = routes
			next.ServeHTTP(w, r.WithContext(rc))
			// Like chi's Mux, the routing context is reused once the request is answered
			// (not if the chain panics: the pool then makes another), a detached one's when
			// it finishes.
			if rc.detached != nil {
				rc.detached.route = true
				return
			}
			routeContexts.Put(rc.route)
		})
	}
}

// closeScope closes the request's scope (if it was opened) when the rest of the chain
// returns, even if it panics: it goes innermost, so instances close before the access log
// line is written and before recoverer answers a panic. Without requestIDMiddleware (of the
// same container) before it, it opens a scope per request itself (registry.Middleware).
func closeScope(c *registry.Container) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		own := registry.Middleware(c)(next)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rc := requestContextOf(r.Context())
			if rc == nil || rc.Scope.Container() != c {
				own.ServeHTTP(w, r)
				return
			}
			defer closeScopeOf(c, rc, r)
			next.ServeHTTP(w, r)
		})
	}
}

// closeScopeOf closes rc's scope, or has a detached response close it when it finishes.
func closeScopeOf(c *registry.Container, rc *requestContext, r *http.Request) {
	if rc.detached != nil {
		rc.detached.scope = c
		return
	}
	registry.CloseScope(c, &rc.Scope, r)
}

// LogHandler wraps h so that records logged with a request's context (for
// example slog.InfoContext(r.Context(), ...)) carry a request_id attribute,
// and records logged inside an OpenTelemetry span its trace_id and span_id.
// The app installs it around its default handler. When h is a
// logbuf.LineHandler, so is the result (lines pass through as they are: the
// access log's carry their request_id already).
func LogHandler(h slog.Handler) slog.Handler {
	if lh, ok := h.(logbuf.LineHandler); ok {
		return contextLineHandler{contextHandler{h}, lh}
	}
	return contextHandler{h}
}

type contextHandler struct{ slog.Handler }

type contextLineHandler struct {
	contextHandler
	line logbuf.LineHandler
}

func (h contextLineHandler) HandleLine(level slog.Level, line []byte) error {
	return h.line.HandleLine(level, line)
}

func (h contextHandler) Handle(ctx context.Context, rec slog.Record) error {
	cloned := false
	if id := RequestID(ctx); id != "" && !hasAttr(rec, "request_id") {
		rec = rec.Clone()
		cloned = true
		rec.AddAttrs(slog.String("request_id", id))
	}
	// A record made inside a span (the observability component traces requests, jobs and
	// calls) carries its IDs, so logs and traces join; without the component no context
	// holds a span and this is one lookup.
	if traceID, spanID, ok := traceAttrs(ctx); ok && !hasAttr(rec, "trace_id") {
		if !cloned {
			rec = rec.Clone()
		}
		rec.AddAttrs(traceID, spanID)
	}
	return h.Handler.Handle(ctx, rec)
}

func (h contextHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return contextHandler{h.Handler.WithAttrs(attrs)}
}

func (h contextHandler) WithGroup(name string) slog.Handler {
	return contextHandler{h.Handler.WithGroup(name)}
}

func hasAttr(rec slog.Record, key string) bool {
	found := false
	rec.Attrs(func(a slog.Attr) bool {
		found = a.Key == key
		return !found
	})
	return found
}
