package backend

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5/middleware"
)

// isProbe reports requests that arrive every few seconds for as long as
// someone watches: health checkers, and the dashboard's live fragments (the
// frontend polls /dashboard/fragments/...). Logging them at info would bury
// everything else.
func isProbe(path string) bool {
	return strings.HasPrefix(path, "/health/") || strings.HasPrefix(path, "/dashboard/fragments/")
}

// accessLog writes one structured line per request once it is answered:
// debug for health probes, error for 5xx, info otherwise.
func accessLog(logger *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
			defer func() {
				status := ww.Status()
				if status == 0 {
					// Nothing written: net/http will send 200 with an empty body.
					status = http.StatusOK
				}
				level := slog.LevelInfo
				switch {
				case status >= 500:
					level = slog.LevelError
				case isProbe(r.URL.Path):
					level = slog.LevelDebug
				}
				ctx := r.Context()
				if !logger.Enabled(ctx, level) {
					return
				}
				logger.LogAttrs(ctx, level, "request",
					slog.String("method", r.Method),
					slog.String("path", r.URL.Path),
					slog.Int("status", status),
					slog.Int("bytes", ww.BytesWritten()),
					slog.Duration("duration", time.Since(start)),
					slog.String("remote", r.RemoteAddr),
					slog.String("request_id", RequestID(ctx)),
				)
			}()
			next.ServeHTTP(ww, r)
		})
	}
}

// statusWriter is what recoverer needs from the access log's wrapper: whether
// a status has gone out already.
type statusWriter interface{ Status() int }

// recoverer turns a panic in a handler into a logged stack trace and a
// problem+json 500 that tells the client nothing about the internals.
func recoverer(logger *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			defer func() {
				v := recover()
				if v == nil {
					return
				}
				if err, ok := v.(error); ok && errors.Is(err, http.ErrAbortHandler) {
					// net/http's own signal to drop the connection quietly.
					panic(v)
				}
				ctx := r.Context()
				logger.LogAttrs(ctx, slog.LevelError, "panic serving request",
					slog.String("panic", fmt.Sprint(v)),
					slog.String("method", r.Method),
					slog.String("path", r.URL.Path),
					slog.String("request_id", RequestID(ctx)),
					slog.String("stack", string(debug.Stack())),
				)
				if sw, ok := w.(statusWriter); ok && sw.Status() != 0 {
					// Headers are out; the best we can do is cut the response short.
					panic(http.ErrAbortHandler)
				}
				writeProblem(w, r, http.StatusInternalServerError,
					"The server hit an unexpected error. Quote the X-Request-ID header when reporting it.")
			}()
			next.ServeHTTP(w, r)
		})
	}
}

// limitBody refuses bodies larger than limit: at once with 413 when
// Content-Length says so, and otherwise by making reads past the limit fail
// (huma operations are capped to the same limit, so they answer 413 too).
func limitBody(limit int64) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.ContentLength > limit {
				writeProblem(w, r, http.StatusRequestEntityTooLarge,
					fmt.Sprintf("The request body is %d bytes; the limit is %d (MAX_BODY_BYTES).", r.ContentLength, limit))
				return
			}
			if r.Body != nil && r.Body != http.NoBody {
				r.Body = http.MaxBytesReader(w, r.Body, limit)
			}
			next.ServeHTTP(w, r)
		})
	}
}

// hsts tells browsers to use HTTPS only (Strict-Transport-Security), in
// production and on requests that came over TLS: the header means nothing
// over plain HTTP, and in development it would pin localhost to HTTPS for
// every other app on the machine. maxAge -1 turns it off.
func hsts(production bool, maxAge int) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		if !production || maxAge < 0 {
			return next
		}
		value := "max-age=" + strconv.Itoa(maxAge)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if Secure(r) {
				w.Header().Set("Strict-Transport-Security", value)
			}
			next.ServeHTTP(w, r)
		})
	}
}
