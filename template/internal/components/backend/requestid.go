package backend

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"log/slog"
	"net/http"
	"strconv"
	"sync/atomic"
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
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
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

// requestIDMiddleware sets the ID on the response and in the request context.
func requestIDMiddleware(g *requestIDs) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			id := g.fromRequest(r)
			w.Header()[requestIDHeaderKey] = []string{id}
			next.ServeHTTP(w, r.WithContext(WithRequestID(r.Context(), id)))
		})
	}
}

// LogHandler wraps h so that records logged with a request's context (for
// example slog.InfoContext(r.Context(), ...)) carry a request_id attribute.
// The app installs it around its default handler.
func LogHandler(h slog.Handler) slog.Handler { return contextHandler{h} }

type contextHandler struct{ slog.Handler }

func (h contextHandler) Handle(ctx context.Context, rec slog.Record) error {
	if id := RequestID(ctx); id != "" && !hasAttr(rec, "request_id") {
		rec = rec.Clone()
		rec.AddAttrs(slog.String("request_id", id))
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
