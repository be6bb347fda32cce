package worker

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aegisgo/aegis/template/internal/components/database"
	"github.com/aegisgo/aegis/template/internal/components/database/databasetest"
	"github.com/aegisgo/aegis/template/internal/runtime/logtest"
)

// cutProxy forwards TCP connections to target until cut: then it closes the ones open and
// refuses new ones, until restored. It stands for PostgreSQL restarting or the network failing.
type cutProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	cut    bool
	conns  []net.Conn
}

func newCutProxy(t *testing.T, target string) *cutProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln, target: target}
	t.Cleanup(func() { _ = ln.Close(); p.setCut(true) })
	go p.serve()
	return p
}

func (p *cutProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.cut {
			p.mu.Unlock()
			_ = c.Close()
			continue
		}
		u, err := net.Dial("tcp", p.target)
		if err != nil {
			p.mu.Unlock()
			_ = c.Close()
			continue
		}
		p.conns = append(p.conns, c, u)
		p.mu.Unlock()
		go func() { _, _ = io.Copy(u, c); _ = u.Close(); _ = c.Close() }()
		go func() { _, _ = io.Copy(c, u); _ = u.Close(); _ = c.Close() }()
	}
}

func (p *cutProxy) setCut(cut bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = cut
	if cut {
		for _, c := range p.conns {
			_ = c.Close()
		}
		p.conns = nil
	}
}

// TestDatabaseOutageLogsOneLine cuts a working client off its database for a few seconds:
// River's retries each logged an ERROR (about 30 lines in 8 s per process, hundreds a
// minute); now the outage logs one WARN line, River's connection errors are left out, and
// the database answering again logs one INFO line. The client then works jobs again.
func TestDatabaseOutageLogsOneLine(t *testing.T) {
	direct := databasetest.New(t, database.Postgres)
	u, err := url.Parse(direct.Settings().URL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := newCutProxy(t, u.Host)
	u.Host = proxy.ln.Addr().String()
	s := direct.Settings()
	s.URL = u.String()
	db, err := database.Open(t.Context(), s)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })

	var logs logtest.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	client, err := NewClient(db, testSettings(), &ClientOpts{Work: true, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	if err := client.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Stop(context.Background()) })

	proxy.setCut(true)
	// Long enough for River's producers, notifier and elector to fail several times each.
	time.Sleep(3 * time.Second)
	proxy.setCut(false)

	const back = "worker: database reachable again"
	deadline := time.Now().Add(30 * time.Second)
	for len(logs.Records(t, back)) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no %q line 30 s after the database came back; logs:\n%s", back, logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}

	var down, riverErrs int
	for line := range strings.Lines(logs.String()) {
		switch {
		case strings.Contains(line, `"msg":"worker: database unreachable`):
			down++
		case strings.Contains(line, `"level":"ERROR"`) && isConnLost(line):
			riverErrs++
		}
	}
	if down != 1 || riverErrs != 0 {
		t.Errorf("the outage logged %d unreachable lines (want 1) and %d connection errors (want 0); logs:\n%s", down, riverErrs, logs.String())
	}

	// Still working: a job enqueued after the outage completes.
	tok := token(t)
	res, err := client.Enqueue(t.Context(), okArgs{Token: tok}, nil)
	if err != nil {
		t.Fatal(err)
	}
	waitState(t, client, res.Job.ID, "completed", 30*time.Second)
}

func TestIsConnLost(t *testing.T) {
	tests := []struct {
		text string
		want bool
	}{
		{"failed to connect to `user=postgres database=x`: 127.0.0.1:5432 (127.0.0.1): failed to receive message: unexpected EOF", true},
		{"error beginning transaction: failed to connect to `user=postgres database=x`: dial error: connection refused", true},
		{"read tcp 127.0.0.1:1->127.0.0.1:2: read: connection reset by peer", true},
		{"FATAL: terminating connection due to administrator command (SQLSTATE 57P01)", true},
		{"FATAL: the database system is starting up (SQLSTATE 57P03)", true},
		{"conn closed", true},
		{`ERROR: relation "river_job" does not exist (SQLSTATE 42P01)`, false},
		{"job args: json: cannot unmarshal string", false},
	}
	for _, tt := range tests {
		if got := isConnLost(tt.text); got != tt.want {
			t.Errorf("isConnLost(%q) = %v, want %v", tt.text, got, tt.want)
		}
	}
}
