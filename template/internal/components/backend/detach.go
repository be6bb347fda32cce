package backend

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/aegisgo/aegis/template/internal/runtime/registry"
)

// ErrNotDetachable is Detach's answer when the request cannot be detached: not HTTP/1.x (an
// HTTP/2 stream has no connection of its own to take), not under the backend's middleware, or
// a ResponseWriter that cannot be hijacked. Nothing was written: answer the usual way.
var ErrNotDetachable = errors.New("backend: the request cannot be detached")

// Detached is a response that outlives its handler: Detach took the HTTP/1.x connection from
// net/http and wrote the status line and headers, the handler returned, and whoever holds the
// Detached writes the body and calls Finish at the end. A stream held for minutes then keeps
// only its connection and the goroutine writing it: net/http's serve goroutine (with the
// handler's stack), its background read of the connection, its 4 KiB read and write buffers,
// the response's chunking buffer and the request's and response's objects are freed when the
// handler returns (bench/RESULTS.md, "Memory per open stream, detached streams").
//
// The middleware's work for the request's end runs at Finish instead of at the handler's
// return: the registry scope is closed, the access line written (status, bytes sent, the whole
// duration) and the request's span ended.
//
// Under Serve, an HTTP/1.1 request that keeps its connection gets a chunked body that Finish
// ends, and the connection goes back to net/http for the client's next request, as after any
// answer. Otherwise (HTTP/1.0, Connection: close, a request body left unread, TLS, another
// server) the body is delimited by the connection's close.
//
// Write and Finish are for one goroutine; Context may be used from any.
type Detached struct {
	conn     net.Conn
	ctx      context.Context
	cancel   context.CancelCauseFunc
	r        *http.Request // what Finish needs of the request (finishing)
	rc       *requestContext
	status   int
	bytes    int64
	finished bool          // Finish ran (it is for one goroutine)
	returned chan struct{} // closed when the handler has returned through the middleware
	logger   *slog.Logger  // the recoverer's, for a panic
	set      *detachedSet  // the server's, or nil (a handler served by other means)

	// A chunked body (the connection is kept): the chunk being written, what the client sent
	// of its next request already, and the watch's end (closed when it returned; it cancels
	// the Context first if the client left).
	chunked bool
	chunk   []byte
	pending []byte
	watched chan struct{}

	// The middleware's deferred work, set as each middleware's handler returns (innermost
	// first) and run by Finish in that order.
	scope     *registry.Container // closeScope
	access    *accessLogger       // accessLog
	logStart  time.Time
	inst      *instrumentation // instrument
	instStart time.Time
	instSpan  trace.Span
	method    string
	route     bool // requestIDMiddleware: put the routing context back
}

// errClientGone is the cause of a detached stream's context when a write to the client failed.
// It is a context.Canceled, as the request's context's error is when net/http sees the client
// leave.
var errClientGone = fmt.Errorf("backend: the client went away: %w", context.Canceled)

// ErrShuttingDown is the cause of a detached stream's context when the server's shutdown grace
// (HTTP_SHUTDOWN_TIMEOUT) ran out before the stream ended.
var ErrShuttingDown = errors.New("backend: the server is shutting down")

// maxPending bounds what a detached stream's watch keeps of what the client sends while the
// stream is open (a pipelined next request): beyond it the watch stops reading.
const maxPending = 4 << 10

// Detach takes the connection of r, an HTTP/1.x request, from net/http and writes the status
// and the headers set on w so far. It returns ErrNotDetachable (having written nothing) when r
// cannot be detached; the caller then answers through w as usual.
//
// After Detach the handler must return without touching w or r's body, and the Detached's
// owner must call Finish, deferred, on the goroutine that writes the body: Finish also reports
// a panic of that goroutine as the recoverer does (logged with its stack; the connection is
// closed, so that the client sees the answer cut), so that it does not end the process. Finish
// waits for the handler to have returned through the middleware: calling it on the handler's
// goroutine would never return.
//
// Its Context is r's, values and all, and stays valid after the handler returns; it is
// cancelled when the client leaves (a failed write, or the connection closed) and when the
// server's shutdown grace runs out (Serve tracks detached streams: a shutdown waits for them
// as for requests).
func Detach(w http.ResponseWriter, r *http.Request, status int) (*Detached, error) {
	rc := requestContextOf(r.Context())
	if r.ProtoMajor != 1 || rc == nil || rc.rw.ResponseWriter == nil || rc.detached != nil {
		return nil, ErrNotDetachable
	}
	set, _ := r.Context().Value(detachedSetKey{}).(*detachedSet)
	// The connection can serve the client's next request if the client wants that and its
	// body was read to the end (net/http closes it otherwise too): one Read, of nothing left.
	chunked := set != nil && set.keep != nil && r.ProtoMinor >= 1 && !r.Close && bodyDone(r)
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotDetachable, err)
	}
	if _, ok := conn.(*tls.Conn); ok {
		chunked = false // net/http would not know it for TLS once given back
	}
	// What net/http would have written first: the status line, the handler's headers, Date.
	h := w.Header()
	if closing(h) { // the handler asked for the close
		chunked = false
	}
	h.Del("Content-Length")
	if chunked {
		h.Set("Transfer-Encoding", "chunked")
	} else {
		h.Set("Connection", "close")
		h.Del("Transfer-Encoding")
	}
	if _, ok := h["Date"]; !ok {
		h.Set("Date", time.Now().UTC().Format(http.TimeFormat))
	}
	var buf bytes.Buffer
	buf.Grow(512)
	fmt.Fprintf(&buf, "HTTP/1.1 %03d %s\r\n", status, http.StatusText(status))
	_ = h.Write(&buf)
	buf.WriteString("\r\n")

	ctx, cancel := context.WithCancelCause(context.WithoutCancel(r.Context()))
	d := &Detached{conn: conn, ctx: ctx, cancel: cancel, r: finishing(r), rc: rc, status: status,
		returned: make(chan struct{}), chunked: chunked}
	if chunked {
		d.watched = make(chan struct{})
		// What net/http read past the request: the client's next one, pipelined.
		if n := brw.Reader.Buffered(); n > 0 {
			p, _ := brw.Reader.Peek(n)
			d.pending = append([]byte(nil), p...)
		}
	}
	rc.detached = d
	rc.rw.status = status
	// The recorder must no longer hold net/http's response (and through it the connection's
	// buffers); the request its body (the body reads from the connection's buffer).
	rc.rw.ResponseWriter = hijacked{}
	r.Body = http.NoBody
	if set != nil {
		d.set = set
		set.add(d)
	}
	if _, err := conn.Write(buf.Bytes()); err != nil {
		d.cancel(errClientGone)
	}
	// net/http's read deadline (HTTP_READ_TIMEOUT) would end the watch below.
	_ = conn.SetReadDeadline(time.Time{})
	go d.watch()
	return d, nil
}

// closing reports whether h's Connection header holds the close token (in any case, among
// others), as net/http reads it.
func closing(h http.Header) bool {
	for _, v := range h["Connection"] {
		for t := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), "close") {
				return true
			}
		}
	}
	return false
}

// bodyDone reports whether r's body has been read to its end.
func bodyDone(r *http.Request) bool {
	if r.Body == nil || r.Body == http.NoBody {
		return true
	}
	var b [1]byte
	n, err := r.Body.Read(b[:])
	return n == 0 && errors.Is(err, io.EOF)
}

// finishing is what Finish and the panic report read of r, without the rest (the parsed
// headers, the form, the URL's query): a stream keeps it for minutes.
func finishing(r *http.Request) *http.Request {
	f := &http.Request{
		Method:     r.Method,
		URL:        &url.URL{Path: r.URL.Path, RawPath: r.URL.RawPath},
		Proto:      r.Proto,
		ProtoMajor: r.ProtoMajor,
		ProtoMinor: r.ProtoMinor,
		Host:       r.Host,
		RemoteAddr: r.RemoteAddr,
		RequestURI: r.RequestURI,
		TLS:        r.TLS,
		Header:     http.Header{},
	}
	if ua := r.Header.Values("User-Agent"); len(ua) > 0 {
		f.Header["User-Agent"] = ua
	}
	return f.WithContext(r.Context())
}

// watch cancels the Context when the client closes the connection, as net/http's background
// read does for a request: a stream may wait long for its next event, and the provider call
// should not go on for nobody. It reads until the connection fails (Finish closes it, or, to
// keep the connection, ends the read with a deadline in the past). What a client sends of its
// next request meanwhile is kept for it, up to maxPending: then the watch stops.
func (d *Detached) watch() {
	if d.watched != nil {
		defer close(d.watched)
	}
	var b [1]byte
	for {
		n, err := d.conn.Read(b[:])
		if n > 0 && d.chunked {
			d.pending = append(d.pending, b[0])
			if len(d.pending) >= maxPending {
				return
			}
		}
		if err != nil {
			if !errors.Is(err, os.ErrDeadlineExceeded) {
				d.cancel(errClientGone)
			}
			return
		}
	}
}

// hijacked stands for the ResponseWriter of a detached request in the access log's recorder.
type hijacked struct{}

func (hijacked) Header() http.Header       { return http.Header{} }
func (hijacked) Write([]byte) (int, error) { return 0, http.ErrHijacked }
func (hijacked) WriteHeader(int)           {}

// Context is the request's context, valid until Finish: cancelled when the client went away
// (a failed write) or the server's shutdown grace ran out (context.Cause says which).
func (d *Detached) Context() context.Context { return d.ctx }

// Write writes p to the client at once (nothing is buffered: an event is one write), as one
// chunk of a chunked body. A failed write cancels the Context.
func (d *Detached) Write(p []byte) (int, error) {
	if d.ctx.Err() != nil {
		return 0, context.Cause(d.ctx)
	}
	if len(p) == 0 {
		return 0, nil // an empty chunk would end a chunked body
	}
	out := p
	if d.chunked {
		d.chunk = strconv.AppendInt(d.chunk[:0], int64(len(p)), 16)
		d.chunk = append(d.chunk, "\r\n"...)
		d.chunk = append(d.chunk, p...)
		d.chunk = append(d.chunk, "\r\n"...)
		out = d.chunk
	}
	n, err := d.conn.Write(out)
	if d.chunked {
		// Of what went out, the part that was p.
		n = min(max(n-(len(out)-len(p)-2), 0), len(p))
	}
	d.bytes += int64(n)
	if err != nil {
		d.cancel(errClientGone)
		return n, fmt.Errorf("%w: %w", errClientGone, err)
	}
	return n, nil
}

// Flush does nothing (Write does not buffer); it is there for code written for a
// ResponseWriter's Flush.
func (d *Detached) Flush() error { return nil }

// SetWriteDeadline bounds the writes to the client (HTTP_WRITE_TIMEOUT no longer applies).
func (d *Detached) SetWriteDeadline(t time.Time) error { return d.conn.SetWriteDeadline(t) }

// Finish ends the response: it ends the chunked body and gives the connection back to the
// server, or closes it (see Detached), and runs the middleware's work for the
// request's end (the scope closed, the access line, the span). Deferred on the goroutine that
// writes the body, it also recovers a panic there and reports it as the recoverer does.
func (d *Detached) Finish() {
	v := recover()
	// The middleware notes its work (and the recoverer its logger) as the handler returns
	// through it: wait for that.
	<-d.returned
	if v != nil {
		if err, ok := v.(error); !ok || !errors.Is(err, http.ErrAbortHandler) {
			logger := d.logger
			if logger == nil {
				logger = slog.Default()
			}
			logger.LogAttrs(d.ctx, slog.LevelError, "panic serving request",
				slog.String("panic", fmt.Sprint(v)),
				slog.String("method", clip(d.r.Method)),
				slog.String("path", clip(d.r.URL.Path)),
				slog.String("request_id", RequestID(d.ctx)),
				slog.String("stack", string(debug.Stack())),
			)
		}
	}
	if d.finished {
		return
	}
	d.finished = true
	d.end(v == nil)
	d.cancel(context.Canceled)
	rc, r := d.rc, d.r
	rc.rw.bytes = d.bytes
	if d.scope != nil {
		registry.CloseScope(d.scope, &rc.Scope, r)
	}
	if d.access != nil {
		d.access.write(r, &rc.rw, d.logStart)
	}
	if d.inst != nil {
		d.inst.finish(r.Context(), nil, r, d.instStart, d.method, d.instSpan)
	}
	if d.route {
		routeContexts.Put(rc.route)
	}
	if d.set != nil {
		d.set.remove(d)
	}
}

// end ends the body and gives the connection back for the client's next request or closes
// it. complete is false after a panic: the client must see the answer cut, not ended.
func (d *Detached) end(complete bool) {
	if !d.chunked {
		_ = d.conn.Close()
		return
	}
	keep := complete && d.ctx.Err() == nil // chunked: d.set.keep is there
	if keep {
		if _, err := d.conn.Write([]byte("0\r\n\r\n")); err != nil {
			keep = false
		}
	}
	// Stop the watch, keeping what it read of the next request.
	_ = d.conn.SetReadDeadline(time.Unix(1, 0))
	<-d.watched
	if !keep || d.ctx.Err() != nil { // the watch found the client gone
		_ = d.conn.Close()
		return
	}
	_ = d.conn.SetDeadline(time.Time{})
	d.set.keep.giveBack(d.conn, d.pending)
}

// detachedSetKey is the key of the server's detachedSet in the connections' base context.
type detachedSetKey struct{}

// detachedSet is the detached streams of one Serve: http.Server.Shutdown no longer sees their
// connections, so Serve waits for them itself.
type detachedSet struct {
	keep *keepListener // Serve's, to give connections back to; nil: they are closed

	mu      sync.Mutex
	streams map[*Detached]struct{}
	idle    chan struct{} // closed when the set empties while someone waits; nil otherwise
}

func (s *detachedSet) add(d *Detached) {
	s.mu.Lock()
	if s.streams == nil {
		s.streams = make(map[*Detached]struct{})
	}
	s.streams[d] = struct{}{}
	s.mu.Unlock()
}

func (s *detachedSet) remove(d *Detached) {
	s.mu.Lock()
	delete(s.streams, d)
	if len(s.streams) == 0 && s.idle != nil {
		close(s.idle)
		s.idle = nil
	}
	s.mu.Unlock()
}

// drain waits for the detached streams to end until ctx is done, then cancels those left
// (ErrShuttingDown) and waits up to grace for them to finish (to store what they had). It
// returns how many were still open at the end.
func (s *detachedSet) drain(ctx context.Context, grace time.Duration) int {
	if s.wait(ctx) {
		return 0
	}
	s.mu.Lock()
	for d := range s.streams {
		d.cancel(ErrShuttingDown)
	}
	s.mu.Unlock()
	after, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if s.wait(after) {
		return 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for d := range s.streams {
		_ = d.conn.Close()
	}
	return len(s.streams)
}

// wait reports whether the set emptied before ctx was done.
func (s *detachedSet) wait(ctx context.Context) bool {
	s.mu.Lock()
	if len(s.streams) == 0 {
		s.mu.Unlock()
		return true
	}
	if s.idle == nil {
		s.idle = make(chan struct{})
	}
	idle := s.idle
	s.mu.Unlock()
	select {
	case <-idle:
		return true
	case <-ctx.Done():
		return false
	}
}
