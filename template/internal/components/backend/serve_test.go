package backend

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// serving starts f's server on a free port and returns its base URL, a
// function that triggers shutdown, and one that waits for Serve's result.
func serving(t *testing.T, f fixture) (string, context.CancelFunc, func() error) {
	t.Helper()
	ln, err := f.srv.Listen(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.srv.Serve(ctx, ln, f.h) }()
	wait := sync.OnceValue(func() error { return <-done })
	t.Cleanup(func() {
		cancel()
		_ = wait()
	})
	return "http://" + ln.Addr().String(), cancel, wait
}

func TestServeDrainsInFlight(t *testing.T) {
	t.Parallel()
	f := setup(t, setupOpts{settings: Settings{ShutdownTimeout: 5 * time.Second}})
	base, shutdown, wait := serving(t, f)

	type result struct {
		body string
		err  error
	}
	got := make(chan result, 1)
	go func() {
		resp, err := http.Get(base + "/test/slow?ms=1000&key=drain")
		if err != nil {
			got <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		got <- result{string(b), err}
	}()
	<-slowEntered("drain") // the request is in the handler
	shutdown()

	// While draining, the listener is closed: new connections are refused before the
	// in-flight request ends. Shutdown closes it soon after it begins; how soon depends on the
	// machine, so the test dials until refused rather than after a fixed sleep (20 ms was too
	// short on a loaded CI machine).
	var r result
	refused := false
	for !refused {
		conn, err := net.DialTimeout("tcp", strings.TrimPrefix(base, "http://"), 200*time.Millisecond)
		if err != nil {
			refused = true
			break
		}
		conn.Close()
		select {
		case r = <-got:
			t.Fatalf("the in-flight request ended (%q, %v) while the listener still accepted connections", r.body, r.err)
		case <-time.After(10 * time.Millisecond):
		}
	}

	r = <-got
	if r.err != nil || r.body != "done" {
		t.Errorf("in-flight request = %q, %v; want it to finish with done", r.body, r.err)
	}
	if err := wait(); err != nil {
		t.Errorf("Serve = %v, want nil after a clean drain", err)
	}
}

func TestServeDrainTimeout(t *testing.T) {
	t.Parallel()
	f := setup(t, setupOpts{settings: Settings{ShutdownTimeout: 50 * time.Millisecond}})
	base, shutdown, wait := serving(t, f)
	go func() {
		resp, err := http.Get(base + "/test/slow?ms=10000&key=timeout")
		if err == nil {
			resp.Body.Close()
		}
	}()
	<-slowEntered("timeout")
	start := time.Now()
	shutdown()
	err := wait()
	if err == nil || !strings.Contains(err.Error(), "HTTP_SHUTDOWN_TIMEOUT") {
		t.Errorf("Serve = %v, want an error naming HTTP_SHUTDOWN_TIMEOUT", err)
	}
	if elapsed := time.Since(start); elapsed > 2*time.Second {
		t.Errorf("shutdown took %s with a 50ms timeout", elapsed)
	}
}

func TestServeTwice(t *testing.T) {
	t.Parallel()
	f := setup(t, setupOpts{})
	base, _, _ := serving(t, f)
	resp, err := http.Get(base + LivePath) // answered: the first Serve is running
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	defer cancel()
	if err := f.srv.Serve(ctx, ln, f.h); err == nil || !strings.Contains(err.Error(), "already serving") {
		t.Errorf("a second Serve on the same server = %v, want an error", err)
	}
}

func TestListenPortInUse(t *testing.T) {
	t.Parallel()
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	port := taken.Addr().(*net.TCPAddr).Port
	_, err = NewServer(Settings{Host: "127.0.0.1", Port: port}).Listen(t.Context())
	want := fmt.Sprintf("backend: cannot listen on 127.0.0.1:%d: address already in use; stop the other process or set PORT to a free port", port)
	if err == nil || err.Error() != want || !errors.Is(err, syscall.EADDRINUSE) {
		t.Errorf("Listen on a taken port = %v, want %q (one line, no listen tcp ...: bind:)", err, want)
	}
}

// TestLongHandlers: a handler may run past HTTP_READ_TIMEOUT and past huma's body-read
// timeout once it has read its body. Those deadlines bound reading; one set after the body
// was read stays on the connection, where net/http's background read (which watches for a
// client that hangs up) fails when it passes and cancels the request's context. A body sent
// slower than HTTP_READ_TIMEOUT is still cut.
func TestLongHandlers(t *testing.T) {
	t.Parallel()
	f := setup(t, setupOpts{settings: Settings{ReadTimeout: 100 * time.Millisecond}})
	base, _, _ := serving(t, f)
	tests := []struct {
		name, method, path, body string
		want                     string
	}{
		{"no body, past the read timeout", http.MethodGet, "/test/slow?ms=400&key=long", "", "done"},
		{"huma body, past its body-read timeout", http.MethodPost, "/test/slow-echo?ms=400", `{"text":"hi"}`, `"text":"hi"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.method == http.MethodGet {
				go func() { <-slowEntered("long") }()
			}
			req, _ := http.NewRequest(tt.method, base+tt.path, strings.NewReader(tt.body))
			if tt.body != "" {
				req.Header.Set("Content-Type", "application/json")
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), tt.want) {
				t.Errorf("%d %s, want 200 with %s", resp.StatusCode, b, tt.want)
			}
		})
	}
	t.Run("a body slower than the read timeout", func(t *testing.T) {
		pr, pw := io.Pipe()
		go func() {
			_, _ = pw.Write([]byte("a"))
			time.Sleep(400 * time.Millisecond)
			_, _ = pw.Write([]byte("b"))
			_ = pw.Close()
		}()
		req, _ := http.NewRequest(http.MethodPost, base+"/test/raw", pr)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && string(b) == "2" {
				t.Errorf("a body sent over 400 ms was read whole under a 100 ms read timeout")
			}
		}
	})
}
