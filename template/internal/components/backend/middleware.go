package backend

import (
	"bufio"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/otel/trace"

	"github.com/aegisgo/aegis/template/internal/runtime/logbuf"
)

// isProbe reports requests that arrive every few seconds for as long as
// someone watches: health checkers, and the dashboard's live fragments (the
// frontend polls /dashboard/fragments/...). Logging them at info would bury
// everything else.
func isProbe(path string) bool {
	return strings.HasPrefix(path, "/health/") || strings.HasPrefix(path, "/dashboard/fragments/")
}

// accessLog writes one structured line per request once it is answered:
// debug for health probes, warn for 503 (a part of the app off or not ready),
// error for the other 5xx, info otherwise. Method and path are clipped (clip)
// when long.
//
// It runs on every request, so it is written for cost: the ResponseWriter
// wrapper lives in the request context's allocation (requestIDMiddleware),
// and the record goes straight to the logger's handler, built with the time
// already taken for the duration and without the caller's program counter
// (slog's Logger looks it up on every call, for AddSource, which the app
// does not use: the access log's source would always be this file anyway).
//
// When the handler is the app's JSON handler (a logbuf.LineHandler: slog's
// JSONHandler with nothing added), the line is appended here, the same bytes
// slog would write for the record (appendAccessLine), and handed over
// whole: slog's generic formatting of 7 attributes was ~8% of the server's
// CPU on an API request. Any other handler gets the slog.Record.
//
// traced (the handler instruments requests with a tracer) adds the trace_id and span_id
// of the request's span; without it the context is not searched for one.
func accessLog(logger *slog.Logger, traced bool) func(http.Handler) http.Handler {
	h := logger.Handler()
	lh, _ := h.(logbuf.LineHandler)
	a := &accessLogger{h: h, lh: lh, traced: traced}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			var rw *recorder
			rc := requestContextOf(r.Context())
			if rc != nil && rc.rw.ResponseWriter == nil {
				rw = &rc.rw
			} else {
				rw = new(recorder)
			}
			rw.ResponseWriter = w
			defer a.end(rc, r, rw, start)
			next.ServeHTTP(rw, r)
		})
	}
}

// accessLogger writes accessLog's lines.
type accessLogger struct {
	h      slog.Handler
	lh     logbuf.LineHandler // h, when it takes whole lines
	traced bool
}

// end writes the access line, or has a detached response (Detach) write it when it finishes.
func (a *accessLogger) end(rc *requestContext, r *http.Request, rw *recorder, start time.Time) {
	if rc != nil && rc.detached != nil && rw == &rc.rw {
		rc.detached.access, rc.detached.logStart = a, start
		return
	}
	a.write(r, rw, start)
}

// write writes the access line of r, answered through rw since start.
func (a *accessLogger) write(r *http.Request, rw *recorder, start time.Time) {
	h, lh, traced := a.h, a.lh, a.traced
	status := rw.status
	if status == 0 {
		// Nothing written: net/http will send 200 with an empty body.
		status = http.StatusOK
	}
	level := slog.LevelInfo
	switch {
	case status == http.StatusServiceUnavailable:
		// The app saying a part of it is off or not ready (a service not
		// configured, readiness while starting): a state, not a failure, and
		// any client may ask for it as often as it likes.
		level = slog.LevelWarn
	case status >= 500:
		level = slog.LevelError
	case isProbe(r.URL.Path):
		level = slog.LevelDebug
	}
	ctx := r.Context()
	if !h.Enabled(ctx, level) {
		return
	}
	now := time.Now()
	method, path := r.Method, r.URL.Path
	if len(method) > maxShown || len(path) > maxShown {
		method, path = clip(method), clip(path)
	}
	if lh != nil {
		bp := lineBufs.Get().(*[]byte)
		*bp = appendAccessLine((*bp)[:0], now, level, method, path, status,
			rw.bytes, now.Sub(start), r.RemoteAddr, RequestID(ctx))
		if traced {
			// The IDs as hex straight into the line: their String methods would
			// allocate two strings per sampled request.
			if sc := trace.SpanContextFromContext(ctx); sc.IsValid() && sc.IsSampled() {
				*bp = appendTrace(*bp, sc.TraceID(), sc.SpanID())
			}
		}
		_ = lh.HandleLine(level, *bp)
		if cap(*bp) <= 4<<10 {
			lineBufs.Put(bp)
		}
		return
	}
	var traceID, spanID slog.Attr
	hasTrace := false
	if traced {
		traceID, spanID, hasTrace = traceAttrs(ctx)
	}
	rec := slog.NewRecord(now, level, "request", 0)
	rec.AddAttrs(
		slog.String("method", method),
		slog.String("path", path),
		slog.Int("status", status),
		slog.Int64("bytes", rw.bytes),
		slog.Duration("duration", now.Sub(start)),
		slog.String("remote", r.RemoteAddr),
		slog.String("request_id", RequestID(ctx)),
	)
	if hasTrace {
		rec.AddAttrs(traceID, spanID)
	}
	_ = h.Handle(ctx, rec)
}

// lineBufs holds the access log's line buffers (a line is ~250 bytes; longer
// paths grow one, buffers over 4 KiB are dropped).
var lineBufs = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// appendAccessLine appends the access line as slog.JSONHandler (no
// ReplaceAttr, no AddSource, no attributes or groups added) writes the record
// accessLog would otherwise build: time (RFC 3339 with nanoseconds), level,
// msg, then the attributes in order; durations as integer nanoseconds;
// strings escaped by slog's rules (appendJSONString). TestAccessLineMatchesSlog
// holds the two together.
func appendAccessLine(b []byte, t time.Time, level slog.Level, method, path string, status int,
	bytes int64, d time.Duration, remote, requestID string) []byte {
	b = append(b, `{"time":"`...)
	b = appendTime(b, t)
	b = append(b, `","level":`...)
	b = appendJSONString(b, level.String())
	b = append(b, `,"msg":"request","method":`...)
	b = appendJSONString(b, method)
	b = append(b, `,"path":`...)
	b = appendJSONString(b, path)
	b = append(b, `,"status":`...)
	b = strconv.AppendInt(b, int64(status), 10)
	b = append(b, `,"bytes":`...)
	b = strconv.AppendInt(b, bytes, 10)
	b = append(b, `,"duration":`...)
	b = strconv.AppendInt(b, int64(d), 10)
	b = append(b, `,"remote":`...)
	b = appendJSONString(b, remote)
	b = append(b, `,"request_id":`...)
	b = appendJSONString(b, requestID)
	return append(b, "}\n"...)
}

// stamps holds the date and time of the second the last access line was written in, as
// RFC 3339 writes them: working out the calendar date for each line (time.Time.AppendFormat)
// was a third of the line's cost, and lines come many to a second.
var stamps atomic.Pointer[stamp]

// stamp is one second of one location, formatted.
type stamp struct {
	sec  int64
	loc  *time.Location
	date string // 2006-01-02T15:04:05
	zone string // Z, or the offset: +01:00
}

// appendTime appends t as t.AppendFormat(b, time.RFC3339Nano) does: the date and time to
// the second, the nanoseconds after a dot without their trailing zeros (nothing when 0),
// then the zone.
func appendTime(b []byte, t time.Time) []byte {
	sec, loc := t.Unix(), t.Location()
	s := stamps.Load()
	if s == nil || s.sec != sec || s.loc != loc {
		whole := time.Unix(sec, 0).In(loc).Format(time.RFC3339)
		if y := t.Year(); y < 0 || y > 9999 || len(whole) < 20 {
			return t.AppendFormat(b, time.RFC3339Nano) // no four-digit year to cut at
		}
		s = &stamp{sec: sec, loc: loc, date: whole[:19], zone: whole[19:]}
		stamps.Store(s)
	}
	b = append(b, s.date...)
	if ns := t.Nanosecond(); ns != 0 {
		var d [10]byte
		d[0] = '.'
		for i := 9; i > 0; i-- {
			d[i] = byte('0' + ns%10)
			ns /= 10
		}
		n := len(d)
		for d[n-1] == '0' {
			n--
		}
		b = append(b, d[:n]...)
	}
	return append(b, s.zone...)
}

// appendTrace adds the trace_id and span_id attributes to an access line appendAccessLine
// ended (both IDs are hex: nothing to escape).
func appendTrace(b []byte, traceID trace.TraceID, spanID trace.SpanID) []byte {
	b = b[:len(b)-2] // "}\n"
	b = append(b, `,"trace_id":"`...)
	b = hex.AppendEncode(b, traceID[:])
	b = append(b, `","span_id":"`...)
	b = hex.AppendEncode(b, spanID[:])
	return append(b, "\"}\n"...)
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s quoted as log/slog's JSON handler does
// (appendEscapedJSONString, encoding/json's rules without HTML escaping):
// `"` and `\` escaped, \n \r \t, other bytes below 0x20 as \u00XX, invalid
// UTF-8 as \ufffd, U+2028 and U+2029 as \u2028 and \u2029.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// recorder is the access log's ResponseWriter: it notes the status and the
// body bytes, and passes everything else through. Flush, Hijack, Push and
// ReadFrom reach the wrapped writer (an error when it cannot), and Unwrap
// lets http.ResponseController find the features it offers.
type recorder struct {
	http.ResponseWriter
	status int   // first final status sent, 0 before
	bytes  int64 // body bytes written
}

func (w *recorder) WriteHeader(code int) {
	if code >= 100 && code <= 199 && code != http.StatusSwitchingProtocols {
		w.ResponseWriter.WriteHeader(code) // informational: more headers follow
		return
	}
	if w.status != 0 {
		return // net/http would only complain about a superfluous call
	}
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

func (w *recorder) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK // the wrapped writer sends it with the first byte
	}
	n, err := w.ResponseWriter.Write(p)
	w.bytes += int64(n)
	return n, err
}

// ReadFrom keeps net/http's sendfile path for files (io.Copy to the response).
func (w *recorder) ReadFrom(src io.Reader) (int64, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := io.Copy(w.ResponseWriter, src)
	w.bytes += n
	return n, err
}

// Status is the status sent so far, 0 before any (recoverer asks).
func (w *recorder) Status() int { return w.status }

func (w *recorder) Flush() { _ = w.FlushError() }

// FlushError is what http.ResponseController.Flush calls.
func (w *recorder) FlushError() error {
	err := http.NewResponseController(w.ResponseWriter).Flush()
	if err == nil && w.status == 0 {
		w.status = http.StatusOK
	}
	return err
}

func (w *recorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return http.NewResponseController(w.ResponseWriter).Hijack()
}

func (w *recorder) Push(target string, opts *http.PushOptions) error {
	if p, ok := w.ResponseWriter.(http.Pusher); ok {
		return p.Push(target, opts)
	}
	return http.ErrNotSupported
}

func (w *recorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

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
					slog.String("method", clip(r.Method)),
					slog.String("path", clip(r.URL.Path)),
					slog.String("request_id", RequestID(ctx)),
					slog.String("stack", string(debug.Stack())),
				)
				if sw, ok := w.(statusWriter); ok && sw.Status() != 0 {
					// Headers are out; the best we can do is cut the response short.
					panic(http.ErrAbortHandler)
				}
				writeProblem(w, r, http.StatusInternalServerError, unexpectedDetail)
			}()
			next.ServeHTTP(w, r)
			if rc, ok := r.Context().(*requestContext); ok && rc.detached != nil {
				rc.detached.logger = logger // for a panic while it streams
			}
		})
	}
}

// limitBody refuses bodies larger than limit: at once with 413 when
// Content-Length says so, and otherwise by making reads past the limit fail
// (huma operations are capped to the same limit, so they answer 413 too: their
// body is read first by limitedAdapter (readBodyFirst), which answers the failed read with
// 413). A body of exactly limit bytes passes, for huma operations too
// (limitedAdapter).
func limitBody(limit int64) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.ContentLength > limit {
				writeProblem(w, r, http.StatusRequestEntityTooLarge, tooLargeMessage(r.ContentLength, limit, limit))
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
