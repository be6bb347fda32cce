package httpclient

import (
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aegisgo/aegis/template/internal/runtime/logtest"
)

// fixture is what most tests need: clients whose debug logs go to a buffer as JSON.
type fixture struct {
	cs   *Clients
	logs *logtest.Buffer
}

// fastSettings keep the waits short so the tests run in milliseconds.
func fastSettings() Settings {
	return Settings{Timeout: 5 * time.Second, Backoff: time.Millisecond, MaxDelay: 20 * time.Millisecond,
		BreakerFailures: 100, BreakerCooldown: 100 * time.Millisecond}
}

func setup(t *testing.T, s Settings) *fixture {
	t.Helper()
	logs := &logtest.Buffer{}
	cs, err := NewClients(s, &ClientsOpts{Logger: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cs.Stop(t.Context()) })
	return &fixture{cs: cs, logs: logs}
}

func (f *fixture) client(t *testing.T, name string, o Options) *Client {
	t.Helper()
	c, err := f.cs.New(name, o)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// server is an httptest server that counts the requests it gets; handle sees the count,
// starting at 1, so it can fail the first ones on purpose.
type server struct {
	*httptest.Server
	n atomic.Int64
}

func newServer(t *testing.T, handle func(n int, w http.ResponseWriter, r *http.Request)) *server {
	t.Helper()
	s := &server{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		handle(int(s.n.Add(1)), w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *server) count() int { return int(s.n.Load()) }

func (s *server) host() string { return s.Listener.Addr().String() }

// reset drops the connection without an answer, with a TCP reset.
func reset(w http.ResponseWriter) {
	conn, _, err := w.(http.Hijacker).Hijack()
	if err != nil {
		panic(err)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}
