package backend

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/aegisgo/aegis/template/internal/runtime/registry"
)

// detachRoute is a streamed answer through Detach: it writes "a", then "b" once release is
// closed (or reports its context's cause on gone when it is cancelled first), then finishes.
// panicAfter makes the stream goroutine panic after "a".
type detachRoute struct {
	release    chan struct{}
	gone       chan error
	panicAfter bool
}

func (d detachRoute) routes(r *Router) error {
	r.Mux.Post("/test/detach", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.Copy(io.Discard, r.Body) // as huma has read it
		s, err := Detach(w, r, http.StatusOK)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		go func() {
			defer s.Finish()
			_, _ = s.Write([]byte("a"))
			if d.panicAfter {
				panic("stream broke")
			}
			select {
			case <-d.release:
				_, _ = s.Write([]byte("b"))
			case <-s.Context().Done():
				d.gone <- context.Cause(s.Context())
			}
		}()
	})
	return nil
}

func newDetachRoute() detachRoute {
	return detachRoute{release: make(chan struct{}), gone: make(chan error, 1)}
}

// TestDetach: a detached response sends the handler's headers and a chunked body that ends at
// Finish, and its connection serves the client's next request; a request that asks for the
// close gets Connection: close and a body delimited by it. The access line is written when
// the stream ends (status, bytes, the whole duration), not when the handler returned.
func TestDetach(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		close bool // the request says Connection: close
	}{{"kept", false}, {"closed", true}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			route := newDetachRoute()
			f := setup(t, setupOpts{routes: route.routes})
			base, _, _ := serving(t, f)
			client, dials := countingClient(t)
			req, _ := http.NewRequest(http.MethodPost, base+"/test/detach", strings.NewReader("x"))
			req.Close = tc.close
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			rd := bufio.NewReader(resp.Body)
			if b, err := rd.ReadByte(); err != nil || b != 'a' {
				t.Fatalf("first byte = %q, %v; want a", b, err)
			}
			chunked := len(resp.TransferEncoding) == 1 && resp.TransferEncoding[0] == "chunked"
			if resp.StatusCode != http.StatusOK || resp.Close != tc.close || chunked == tc.close ||
				resp.Header.Get(RequestIDHeader) == "" || resp.Header.Get("Content-Type") != "text/event-stream" {
				t.Fatalf("status %d, close %v, headers %v, transfer encoding %v; want 200, close %v (chunked if not), the request ID and the handler's headers",
					resp.StatusCode, resp.Close, resp.Header, resp.TransferEncoding, tc.close)
			}
			if n := len(accessLinesFor(t, f, "/test/detach")); n != 0 {
				t.Fatalf("%d access lines while the stream is open, want none before it ends", n)
			}
			held := 50 * time.Millisecond
			time.Sleep(held) // the line's duration must cover the time the stream was open
			close(route.release)
			rest, err := io.ReadAll(rd)
			if err != nil || string(rest) != "b" {
				t.Fatalf("rest of the body = %q, %v; want b, then its end", rest, err)
			}
			lines := waitAccessLines(t, f, "/test/detach")
			if len(lines) != 1 {
				t.Fatalf("access lines = %v, want one", lines)
			}
			l := lines[0]
			if l["status"] != float64(200) || l["bytes"] != float64(2) || l["duration"].(float64) < float64(held) ||
				l["request_id"] != resp.Header.Get(RequestIDHeader) {
				t.Errorf("access line = %v, want status 200, 2 bytes, a duration over %s and the request ID", l, held)
			}
			// The next request: on the same connection when it was kept.
			next, err := client.Get(base + "/health/live")
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, next.Body)
			next.Body.Close()
			want := 1
			if tc.close {
				want = 2
			}
			if next.StatusCode != http.StatusOK || dials.Load() != int32(want) {
				t.Errorf("next request: status %d over %d connections in all, want 200 over %d", next.StatusCode, dials.Load(), want)
			}
		})
	}
}

// TestDetachKeepAlive: one connection carries detached streams one after the other, a
// request pipelined behind a stream (read by net/http before the detach, or by the watch
// while it streams) is answered after it, and a connection given back that stays idle is
// closed after HTTP_IDLE_TIMEOUT.
func TestDetachKeepAlive(t *testing.T) {
	t.Parallel()
	t.Run("in a row", func(t *testing.T) {
		t.Parallel()
		route := newDetachRoute()
		close(route.release)
		f := setup(t, setupOpts{routes: route.routes})
		base, _, _ := serving(t, f)
		client, dials := countingClient(t)
		for i := range 3 {
			resp, err := client.Post(base+"/test/detach", "text/plain", strings.NewReader("x"))
			if err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if string(b) != "ab" || err != nil || dials.Load() != 1 {
				t.Fatalf("stream %d: body %q, %v over %d connections; want ab over one", i, b, err, dials.Load())
			}
		}
		if lines := waitAccessLines(t, f, "/test/detach"); len(lines) < 1 {
			t.Errorf("no access lines")
		}
	})
	for _, tc := range []struct {
		name  string
		early bool // the next request is sent with the first, before the detach
	}{{"pipelined before the detach", true}, {"pipelined while streaming", false}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			route := newDetachRoute()
			f := setup(t, setupOpts{routes: route.routes})
			base, _, _ := serving(t, f)
			next := "GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n"
			after := ""
			if tc.early {
				after = next
			}
			conn, rd, resp := rawDetach(t, base, after)
			if b, err := rd.Peek(1); err != nil || len(b) == 0 {
				t.Fatalf("first chunk: %v", err)
			}
			if !tc.early {
				if _, err := io.WriteString(conn, next); err != nil {
					t.Fatal(err)
				}
				time.Sleep(20 * time.Millisecond) // for the watch to read it (either way is right)
			}
			close(route.release)
			if b, err := io.ReadAll(resp.Body); string(b) != "ab" || err != nil {
				t.Fatalf("stream body = %q, %v; want ab", b, err)
			}
			resp2, err := http.ReadResponse(rd, nil)
			if err != nil {
				t.Fatalf("the pipelined request got no answer: %v", err)
			}
			resp2.Body.Close()
			if resp2.StatusCode != http.StatusOK || resp2.Header.Get(RequestIDHeader) == "" {
				t.Errorf("pipelined request: status %d, headers %v; want 200 from the app", resp2.StatusCode, resp2.Header)
			}
		})
	}
	t.Run("idle", func(t *testing.T) {
		t.Parallel()
		route := newDetachRoute()
		close(route.release)
		f := setup(t, setupOpts{routes: route.routes, settings: Settings{IdleTimeout: 50 * time.Millisecond}})
		base, _, _ := serving(t, f)
		_, rd, resp := rawDetach(t, base, "")
		if b, err := io.ReadAll(resp.Body); string(b) != "ab" || err != nil {
			t.Fatalf("stream body = %q, %v; want ab", b, err)
		}
		if n, err := rd.Read(make([]byte, 1)); n != 0 || !errors.Is(err, io.EOF) {
			t.Errorf("idle connection: read %d, %v; want it closed (EOF) after HTTP_IDLE_TIMEOUT", n, err)
		}
	})
}

// TestDetachKeepAliveShutdown: a connection given back that waits for its next request is
// closed by the shutdown, which then returns at once (nil: nothing was cut).
func TestDetachKeepAliveShutdown(t *testing.T) {
	t.Parallel()
	route := newDetachRoute()
	close(route.release)
	f := setup(t, setupOpts{routes: route.routes, settings: Settings{ShutdownTimeout: 10 * time.Second, IdleTimeout: time.Hour}})
	base, shutdown, wait := serving(t, f)
	_, rd, resp := rawDetach(t, base, "")
	if b, err := io.ReadAll(resp.Body); string(b) != "ab" || err != nil {
		t.Fatalf("stream body = %q, %v; want ab", b, err)
	}
	waitAccessLines(t, f, "/test/detach") // the stream has finished: its connection was given back
	shutdown()
	if err := wait(); err != nil {
		t.Errorf("Serve = %v, want nil: an idle connection is not a request cut off", err)
	}
	if n, err := rd.Read(make([]byte, 1)); n != 0 || !errors.Is(err, io.EOF) {
		t.Errorf("idle connection after the shutdown: read %d, %v; want it closed (EOF)", n, err)
	}
}

// TestClosing: the handler's Connection header asks for the close with the token in any case,
// among others.
func TestClosing(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		values []string
		want   bool
	}{
		{nil, false},
		{[]string{"close"}, true},
		{[]string{"Close"}, true},
		{[]string{"keep-alive, CLOSE"}, true},
		{[]string{"keep-alive", " close "}, true},
		{[]string{"keep-alive"}, false},
		{[]string{"closed"}, false},
	} {
		h := http.Header{}
		for _, v := range tc.values {
			h.Add("Connection", v)
		}
		if got := closing(h); got != tc.want {
			t.Errorf("closing(%q) = %v, want %v", tc.values, got, tc.want)
		}
	}
}

// rawDetach opens a connection of its own to base (closed at the test's end), sends the
// detaching route's request and after it after (a pipelined request, or nothing), and reads
// the response's head.
func rawDetach(t *testing.T, base, after string) (net.Conn, *bufio.Reader, *http.Response) {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(conn, "POST /test/detach HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nx"+after); err != nil {
		t.Fatal(err)
	}
	rd := bufio.NewReader(conn)
	resp, err := http.ReadResponse(rd, nil)
	if err != nil {
		t.Fatal(err)
	}
	return conn, rd, resp
}

// countingClient is a client of its own (its own idle connections) that counts the
// connections it opens.
func countingClient(t *testing.T) (*http.Client, *atomic.Int32) {
	dials := new(atomic.Int32)
	var d net.Dialer
	tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		dials.Add(1)
		return d.DialContext(ctx, network, addr)
	}}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}, dials
}

// TestDetachClientGone: the stream's context is cancelled (context.Canceled) when the client
// closes the connection, with nothing being written.
func TestDetachClientGone(t *testing.T) {
	t.Parallel()
	route := newDetachRoute()
	f := setup(t, setupOpts{routes: route.routes})
	base, _, _ := serving(t, f)
	resp := postDetach(t, base)
	if _, err := resp.Body.Read(make([]byte, 1)); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if err := <-route.gone; !errors.Is(err, context.Canceled) || !errors.Is(err, errClientGone) {
		t.Errorf("the stream's context ended with %v, want the client gone (context.Canceled)", err)
	}
	if lines := waitAccessLines(t, f, "/test/detach"); len(lines) != 1 || lines[0]["bytes"] != float64(1) {
		t.Errorf("access lines = %v, want one with 1 byte", lines)
	}
}

// TestDetachShutdown: Serve's shutdown waits for a detached stream as for a request; when the
// grace runs out it cancels the stream (ErrShuttingDown) and reports the cut.
func TestDetachShutdown(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		grace   time.Duration
		release bool // the stream ends by itself during the grace
	}{{"ends within the grace", 10 * time.Second, true}, {"cut at the grace", 50 * time.Millisecond, false}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			route := newDetachRoute()
			f := setup(t, setupOpts{routes: route.routes, settings: Settings{ShutdownTimeout: tc.grace}})
			base, shutdown, wait := serving(t, f)
			resp := postDetach(t, base)
			if _, err := resp.Body.Read(make([]byte, 1)); err != nil {
				t.Fatal(err)
			}
			served := make(chan error, 1)
			shutdown()
			go func() { served <- wait() }()
			if tc.release {
				select {
				case err := <-served:
					t.Fatalf("Serve returned (%v) while a detached stream was open", err)
				case <-time.After(100 * time.Millisecond):
				}
				close(route.release)
				if err := <-served; err != nil {
					t.Errorf("Serve = %v, want nil once the stream ended", err)
				}
				return
			}
			if err := <-route.gone; !errors.Is(err, ErrShuttingDown) {
				t.Errorf("the stream's context ended with %v, want ErrShuttingDown", err)
			}
			if err := <-served; err == nil || !strings.Contains(err.Error(), "HTTP_SHUTDOWN_TIMEOUT") {
				t.Errorf("Serve = %v, want an error naming HTTP_SHUTDOWN_TIMEOUT", err)
			}
		})
	}
}

// TestDetachPanic: a panic on the stream's goroutine is logged as the recoverer logs one, the
// connection closed with the chunked body unended (the client sees the answer cut) and the
// access line written; the process goes on.
func TestDetachPanic(t *testing.T) {
	t.Parallel()
	route := newDetachRoute()
	route.panicAfter = true
	f := setup(t, setupOpts{routes: route.routes})
	base, _, _ := serving(t, f)
	resp := postDetach(t, base)
	if b, err := io.ReadAll(resp.Body); string(b) != "a" || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("body = %q, %v; want a, then the close before the body's end", b, err)
	}
	if lines := waitAccessLines(t, f, "/test/detach"); len(lines) != 1 {
		t.Fatalf("access lines = %v, want one", lines)
	}
	panics := f.logs.Records(t, "panic serving request")
	if len(panics) != 1 || panics[0]["panic"] != "stream broke" || panics[0]["path"] != "/test/detach" ||
		!strings.Contains(panics[0]["stack"].(string), "detach_test.go") {
		t.Errorf("panic records = %v, want one with the panic, the path and the stack", panics)
	}
}

// TestDetachNotDetachable: a ResponseWriter that cannot be hijacked (as an HTTP/2 stream's)
// is refused before anything is written, and the handler answers as usual.
func TestDetachNotDetachable(t *testing.T) {
	t.Parallel()
	f := setup(t, setupOpts{routes: newDetachRoute().routes})
	rec := f.do(t, http.MethodPost, "/test/detach", strings.NewReader("x"), nil)
	if rec.Code != http.StatusInternalServerError || !strings.Contains(rec.Body.String(), ErrNotDetachable.Error()) {
		t.Errorf("status %d, body %q; want the handler's own answer naming ErrNotDetachable", rec.Code, rec.Body)
	}
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.ProtoMajor = 2
	if _, err := Detach(httptest.NewRecorder(), r, http.StatusOK); !errors.Is(err, ErrNotDetachable) {
		t.Errorf("Detach of an HTTP/2 request = %v, want ErrNotDetachable", err)
	}
}

// accessLinesFor returns the access lines logged so far for path.
func accessLinesFor(t *testing.T, f fixture, path string) []map[string]any {
	var out []map[string]any
	for _, l := range f.logs.Records(t, "request") {
		if l["path"] == path {
			out = append(out, l)
		}
	}
	return out
}

// waitAccessLines waits for path's access line (written by the stream's goroutine as it
// ends, after the client saw the close) and returns the lines.
func waitAccessLines(t *testing.T, f fixture, path string) []map[string]any {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if lines := accessLinesFor(t, f, path); len(lines) > 0 || time.Now().After(deadline) {
			return lines
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestDetachSpan: the request's span (the observability component's) ends when the detached
// stream ends, with its route and status, not when the handler returned.
func TestDetachSpan(t *testing.T) {
	t.Parallel()
	route := newDetachRoute()
	f := setup(t, setupOpts{})
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	h, err := f.srv.Handler(f.c, &HandlerOpts{
		Logger: slog.New(slog.DiscardHandler), Telemetry: &Telemetry{TracerProvider: tp},
		Routes: registry.All[Routes]{{Name: "detach", Value: route.routes}},
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	resp, err := http.Post(srv.URL+"/test/detach", "text/plain", strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := resp.Body.Read(make([]byte, 1)); err != nil {
		t.Fatal(err)
	}
	if n := len(rec.Ended()); n != 0 {
		t.Fatalf("%d spans ended while the stream is open, want none", n)
	}
	close(route.release)
	if _, err := io.ReadAll(resp.Body); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(rec.Ended()) == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	spans := rec.Ended()
	if len(spans) != 1 {
		t.Fatalf("%d spans ended, want 1", len(spans))
	}
	attrs := map[string]string{}
	for _, kv := range spans[0].Attributes() {
		attrs[string(kv.Key)] = kv.Value.String()
	}
	if attrs["http.route"] != "/test/detach" || attrs["http.response.status_code"] != "200" {
		t.Errorf("span attributes %v, want the route and status 200", attrs)
	}
}

// postDetach asks the detaching route of newDetachRoute; the body is closed at the test's end.
func postDetach(t *testing.T, base string) *http.Response {
	t.Helper()
	resp, err := http.Post(base+"/test/detach", "text/plain", strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = resp.Body.Close() })
	return resp
}
