package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aegisgo/aegis/template/internal/runtime/registry"
)

func TestUsageAndExitCodes(t *testing.T) {
	cleanEnv(t)
	closed := closedURL(t)
	tests := []struct {
		args       []string
		wantCode   int
		wantOut    string // substring of stdout
		wantErr    string // substring of stderr
		oneLineErr bool
	}{
		{args: nil, wantCode: 0, wantOut: "Usage:"},
		{args: []string{"--help"}, wantCode: 0, wantOut: "shop serve"},
		{args: []string{"serve", "--help"}, wantCode: 0, wantOut: "Examples:"},
		{args: []string{"health"}, wantCode: 0, wantOut: "Available Commands:"},
		{args: []string{"version"}, wantCode: 0, wantOut: "shop dev (commit "},
		{args: []string{"--version"}, wantCode: 0, wantOut: "shop dev (commit "},
		{args: []string{"bogus"}, wantCode: 2, wantErr: `shop: unknown command "bogus" for "shop" (see 'shop --help')`, oneLineErr: true},
		{args: []string{"serv"}, wantCode: 2, wantErr: `did you mean "serve"?`, oneLineErr: true},
		{args: []string{"srve"}, wantCode: 2, wantErr: `unknown command "srve" for "shop"; did you mean "serve"?`, oneLineErr: true},
		{args: []string{"health", "stauts"}, wantCode: 2, wantErr: `did you mean "status"?`, oneLineErr: true},
		// A leaf given an argument says it takes none; "unknown command" is for groups.
		{args: []string{"serve", "extra"}, wantCode: 2, wantErr: `shop: serve takes no arguments, got "extra" (see 'shop serve --help')`, oneLineErr: true},
		{args: []string{"version", "extra", "more"}, wantCode: 2, wantErr: `shop: version takes no arguments, got "extra" "more" (see 'shop version --help')`, oneLineErr: true},
		{args: []string{"health", "status", "extra"}, wantCode: 2, wantErr: `shop: health status takes no arguments, got "extra" (see 'shop health status --help')`, oneLineErr: true},
		{args: []string{"services", "graph", "--format", "dot", "extra"}, wantCode: 2, wantErr: `shop: services graph takes no arguments, got "extra" (see 'shop services graph --help')`, oneLineErr: true},
		{args: []string{"health", "bogus"}, wantCode: 2, wantErr: `unknown command "bogus" for "shop health"`, oneLineErr: true},
		{args: []string{"services", "--bogus"}, wantCode: 2, wantErr: "unknown flag: --bogus (see 'shop services --help')", oneLineErr: true},
		{args: []string{"services", "graph", "--format", "png"}, wantCode: 2, wantErr: `unknown --format "png"; use one of mermaid, dot, json`, oneLineErr: true},
		{args: []string{"health", "status", "--timeout", "soon"}, wantCode: 2, wantErr: `shop: --timeout "soon" is not a duration such as 90s, 15m or 24h (see 'shop health status --help')`, oneLineErr: true},
		{args: []string{"health", "probe", "--url", closed, "--timeout", "2s"}, wantCode: 1, wantErr: "shop: health: cannot reach " + closed + "/health/ready: connection refused; is the server running?", oneLineErr: true},
		{args: []string{"health", "status", "--url", closed}, wantCode: 1, wantErr: "is the server running?", oneLineErr: true},
		// Flag values no request can succeed with are usage errors, not a server to blame.
		{args: []string{"health", "probe", "--timeout", "0s"}, wantCode: 2, wantErr: `shop: --timeout must be a positive duration such as 5s (got 0s) (see 'shop health probe --help')`, oneLineErr: true},
		{args: []string{"health", "status", "--timeout", "-1s"}, wantCode: 2, wantErr: `--timeout must be a positive duration such as 5s (got -1s)`, oneLineErr: true},
		{args: []string{"health", "status", "--url", "staging:8000"}, wantCode: 2, wantErr: `shop: --url "staging:8000": is not an absolute http(s) URL; use the server's base URL such as http://10.0.0.5:8000 (see 'shop health status --help')`, oneLineErr: true},
		{args: []string{"health", "probe", "--url", "notaurl"}, wantCode: 2, wantErr: `--url "notaurl": is not an absolute http(s) URL`, oneLineErr: true},
		{args: []string{"services", "grph"}, wantCode: 2, wantErr: `shop: unknown command "grph" for "shop services"; did you mean "graph"? (see 'shop services --help')`, oneLineErr: true},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			h := setup(t)
			code := h.run(t.Context(), tt.args...)
			if code != tt.wantCode {
				t.Errorf("exit code = %d, want %d\nstdout: %s\nstderr: %s", code, tt.wantCode, h.stdout, h.stderr)
			}
			if !strings.Contains(h.stdout.String(), tt.wantOut) {
				t.Errorf("stdout lacks %q:\n%s", tt.wantOut, h.stdout)
			}
			if !strings.Contains(h.stderr.String(), tt.wantErr) {
				t.Errorf("stderr lacks %q:\n%s", tt.wantErr, h.stderr)
			}
			if tt.oneLineErr && strings.Count(h.stderr.String(), "\n") != 1 {
				t.Errorf("stderr is not one line:\n%s", h.stderr)
			}
		})
	}
}

// TestHealthURLFlag: --url is held to the rules of an http(s) URL setting (config.HTTPURL):
// what they refuse is a usage error (exit 2) worded for the flag, the password never shown;
// what they accept reaches the server.
func TestHealthURLFlag(t *testing.T) {
	cleanEnv(t)
	const fix = "; use the server's base URL such as http://10.0.0.5:8000 (see 'shop health probe --help')\n"
	server := fakeServer(t, registry.Report{Status: registry.StatusHealthy}, 200, `{"status":"ready"}`)
	tls := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, `{"status":"ready"}`)
	}))
	t.Cleanup(tls.Close)
	for _, tt := range []struct {
		name, url string
		wantCode  int
		wantErr   string // all of stderr
	}{
		{"missing scheme", "10.0.0.5:8000", 2, `shop: --url "10.0.0.5:8000": is not an absolute http(s) URL` + fix},
		{"ftp scheme", "ftp://10.0.0.5:8000", 2, `shop: --url "ftp://10.0.0.5:8000": is not an absolute http(s) URL` + fix},
		{"no host", "http:///health", 2, `shop: --url "http:///health": is not an absolute http(s) URL` + fix},
		{"port without host", "http://:8000", 2, `shop: --url "http://:8000": is not an absolute http(s) URL` + fix},
		{"user info", "http://ops:hunter2@10.0.0.5:8000", 2, `shop: --url (value not shown): holds a user name or password` + fix},
		{"spaces", "http://my server:8000", 2, `shop: --url "http://my server:8000": is not an absolute http(s) URL` + fix},
		{"query", server + "/?debug=1", 2, `shop: --url "` + server + `/?debug=1": has a query` + fix},
		{"fragment", server + "#top", 2, `shop: --url "` + server + `#top": has a fragment` + fix},
		{"http", server, 0, ""},
		{"https", tls.URL, -1, ""}, // accepted: fails (exit 1) on the test server's certificate, not as usage
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := setup(t)
			code := h.run(t.Context(), "health", "probe", "--url", tt.url, "--timeout", "2s")
			switch {
			case tt.wantCode == -1:
				if code != 1 || !strings.Contains(h.stderr.String(), "certificate") {
					t.Errorf("exit code = %d, stderr %q; want 1 and the server's certificate refused", code, h.stderr)
				}
			case code != tt.wantCode || h.stderr.String() != tt.wantErr:
				t.Errorf("exit code = %d, stderr %q; want %d, %q", code, h.stderr, tt.wantCode, tt.wantErr)
			}
		})
	}
}

// With the server down, probe says so in one line naming the URL it tried,
// whether the URL comes from --url or from HOST and PORT.
func TestHealthProbeServerDown(t *testing.T) {
	cleanEnv(t)
	closed := closedURL(t)
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(closed, "http://"))
	tests := []struct {
		name string
		env  map[string]string
		args []string
	}{
		{name: "--url", args: []string{"health", "probe", "--url", closed}},
		{name: "HOST and PORT", env: map[string]string{"HOST": "127.0.0.1", "PORT": port}, args: []string{"health", "probe"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			h := setup(t)
			code := h.run(t.Context(), tt.args...)
			want := "shop: health: cannot reach " + closed + "/health/ready: connection refused; is the server running? Point --url at it, or set HOST and PORT\n"
			if code != 1 || h.stderr.String() != want || h.stdout.String() != "" {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit 1 and stderr %q", code, h.stdout, h.stderr, want)
			}
		})
	}
}

// TestHealthProbeNotTLS: https:// in --url for a plain-HTTP server says to use http://, not
// Go's "http: server gave HTTP response to HTTPS client".
func TestHealthProbeNotTLS(t *testing.T) {
	cleanEnv(t)
	plain := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(plain.Close)
	target := strings.Replace(plain.URL, "http://", "https://", 1)
	h := setup(t)
	code := h.run(t.Context(), "health", "probe", "--url", target)
	want := "shop: health: " + target + "/health/ready did not answer in TLS; use http:// in --url for a plain-HTTP server\n"
	if code != 1 || h.stderr.String() != want {
		t.Errorf("exit %d, stderr %q; want exit 1 and stderr %q", code, h.stderr, want)
	}
}

// closedURL returns the URL of a port nothing listens on.
func closedURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}

// TestServe runs the real serve command on a free port, checks it with the
// health commands, then interrupts it.
func TestServe(t *testing.T) {
	cleanEnv(t)
	t.Setenv("PORT", "0")
	t.Setenv("LOG_FORMAT", "json")
	h := setup(t)
	rec := &recorder{}
	if err := registry.Value(h.reg, rec, registry.Name("recorder")); err != nil {
		t.Fatal(err)
	}

	ctx, interrupt := context.WithCancel(t.Context())
	defer interrupt()
	exit := make(chan int, 1)
	go func() { exit <- h.run(ctx, "serve") }()

	// With JSON logs the "listening" record names the address (the plain line on stdout is
	// for text logs, TestServeStdout).
	listening := regexp.MustCompile(`"msg":"listening","url":"(http://127\.0\.0\.1:(\d+))"`)
	var m []string
	for deadline := time.Now().Add(10 * time.Second); m == nil; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no listening record within 10s; stderr:\n%s", h.stderr)
		}
		m = listening.FindStringSubmatch(h.stderr.String())
	}
	url := m[1]
	if m[2] == "0" {
		t.Fatalf("the listening record names port 0: %s", m[0])
	}

	status := setup(t)
	if code := status.run(t.Context(), "health", "status", "--url", url); code != 0 {
		t.Errorf("health status = %d\n%s%s", code, status.stdout, status.stderr)
	}
	for _, want := range []string{"Overall: healthy", "backend", "component", "recorder", "service"} {
		if !strings.Contains(status.stdout.String(), want) {
			t.Errorf("health status output lacks %q:\n%s", want, status.stdout)
		}
	}
	asJSON := setup(t)
	if code := asJSON.run(t.Context(), "health", "status", "--json", "--url", url); code != 0 {
		t.Errorf("health status --json = %d", code)
	}
	var rep registry.Report
	if err := json.Unmarshal([]byte(asJSON.stdout.String()), &rep); err != nil || len(rep.Checks) != 2 {
		t.Errorf("health status --json printed %s (%v), want a report with 2 checks", asJSON.stdout, err)
	}
	probe := setup(t)
	if code := probe.run(t.Context(), "health", "probe", "--url", url); code != 0 || probe.stdout.String() != "ready\n" {
		t.Errorf("health probe = %d %q, want 0 ready", code, probe.stdout)
	}

	// Access lines, buffered by the JSON logger: all out, whole and in order once serve returns.
	const requests = 200
	for i := range requests {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, url+"/no/such/page", nil)
		req.Header.Set("X-Request-ID", fmt.Sprint("line-", i))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
	}

	interrupt()
	select {
	case code := <-exit:
		if code != 0 {
			t.Errorf("serve exited %d after interrupt; stderr:\n%s", code, h.stderr)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("serve did not stop within 5s of the interrupt")
	}
	if !rec.wasStopped() {
		t.Error("services were not stopped")
	}
	logs := h.stderr.String()
	for _, want := range []string{`"msg":"listening"`, `"msg":"stopping services"`, `"msg":"stopped"`} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %s:\n%s", want, logs)
		}
	}
	var order []string
	next := 0
	for _, line := range strings.Split(strings.TrimSuffix(logs, "\n"), "\n") {
		var rec struct {
			Msg       string `json:"msg"`
			RequestID string `json:"request_id"`
		}
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("incomplete log line %q: %v", line, err)
		}
		if rec.Msg == "request" && strings.HasPrefix(rec.RequestID, "line-") {
			if rec.RequestID != fmt.Sprint("line-", next) {
				t.Fatalf("access line %s after line-%d", rec.RequestID, next-1)
			}
			if next == 0 {
				order = append(order, "requests")
			}
			next++
			continue
		}
		order = append(order, rec.Msg)
	}
	if next != requests {
		t.Errorf("%d access lines, want %d", next, requests)
	}
	if got := strings.Join(order, ","); !regexp.MustCompile(`listening,.*requests,.*stopping services,.*stopped$`).MatchString(got) {
		t.Errorf("log order %s, want listening, the requests, stopping services, stopped", got)
	}
}

func TestServeFailures(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	_, takenPort, _ := net.SplitHostPort(taken.Addr().String())

	tests := []struct {
		name    string
		env     map[string]string
		extra   func(*registry.Registry) error
		wantErr string
	}{
		{
			name:    "bad app env",
			env:     map[string]string{"APP_ENV": "staging"},
			wantErr: `shop: config: APP_ENV="staging" is not valid; use one of development, production`,
		},
		{
			name:    "bad port",
			env:     map[string]string{"PORT": "http"},
			wantErr: `config: PORT="http" is not a valid whole number`,
		},
		{
			name: "service fails to start",
			env:  map[string]string{"PORT": "0"},
			extra: func(r *registry.Registry) error {
				return registry.Provide(r, func(context.Context) (failing, error) { return failing{}, nil }, registry.Name("db"))
			},
			wantErr: "cannot connect to 127.0.0.1:5432",
		},
		{
			name: "missing dependency",
			env:  map[string]string{"PORT": "0"},
			extra: func(r *registry.Registry) error {
				return registry.Provide1(r, func(context.Context, *recorder) (failing, error) { return failing{}, nil }, registry.Name("needs-recorder"))
			},
			wantErr: "needs-recorder",
		},
		{
			name:    "port in use",
			env:     map[string]string{"PORT": takenPort},
			wantErr: "set PORT to a free port",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cleanEnv(t)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			h := setup(t)
			if tt.extra != nil {
				_ = tt.extra(h.reg) // errors are kept by the registry and reported by Build
			}
			code := h.run(t.Context(), "serve")
			if code != 1 {
				t.Errorf("exit code = %d, want 1; stderr:\n%s", code, h.stderr)
			}
			lines := strings.Split(strings.TrimSpace(h.stderr.String()), "\n")
			last := lines[len(lines)-1]
			if !strings.Contains(last, tt.wantErr) || !strings.HasPrefix(last, "shop: ") {
				t.Errorf("last stderr line = %q, want the one-line error %q", last, tt.wantErr)
			}
		})
	}
}

// fakeServer answers the health endpoints with a fixed report.
func fakeServer(t *testing.T, rep registry.Report, readyStatus int, readyBody string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/health/detailed":
			if rep.Status == registry.StatusUnhealthy {
				w.WriteHeader(http.StatusServiceUnavailable)
			}
			_ = json.NewEncoder(w).Encode(rep)
		case "/health/ready":
			w.WriteHeader(readyStatus)
			_, _ = io.WriteString(w, readyBody)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestHealthCommands(t *testing.T) {
	cleanEnv(t)
	checks := []registry.CheckResult{
		{Name: "db", Kind: "component", Status: registry.StatusUnhealthy, Message: "connection refused", Latency: 2 * time.Millisecond},
		{Name: "users", Kind: "service", Status: registry.StatusHealthy, TimedOut: false},
	}
	tests := []struct {
		name     string
		args     []string
		status   registry.Status
		ready    int
		body     string
		wantCode int
		wantOut  string
		wantErr  string
	}{
		{name: "status unhealthy", args: []string{"health", "status"}, status: registry.StatusUnhealthy, wantCode: 1, wantOut: "unhealthy  2ms      connection refused"},
		{name: "status degraded", args: []string{"health", "status"}, status: registry.StatusDegraded, wantCode: 0, wantOut: "Overall: degraded"},
		{name: "probe ready", args: []string{"health", "probe"}, status: registry.StatusHealthy, ready: 200, body: `{"status":"ready"}`, wantCode: 0, wantOut: "ready"},
		{name: "probe not ready", args: []string{"health", "probe"}, status: registry.StatusUnhealthy, ready: 503, body: `{"status":"not_ready","reason":"unhealthy: db"}`, wantCode: 1, wantErr: "not ready: unhealthy: db"},
		{name: "probe wrong url", args: []string{"health", "probe"}, status: registry.StatusHealthy, ready: 404, wantCode: 1, wantErr: "answered 404 Not Found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			url := fakeServer(t, registry.Report{Status: tt.status, Checks: checks, CheckedAt: time.Now()}, tt.ready, tt.body)
			h := setup(t)
			code := h.run(t.Context(), append(tt.args, "--url", url+"/")...)
			if code != tt.wantCode {
				t.Errorf("exit code = %d, want %d\nstdout: %s\nstderr: %s", code, tt.wantCode, h.stdout, h.stderr)
			}
			if !strings.Contains(h.stdout.String(), tt.wantOut) {
				t.Errorf("stdout lacks %q:\n%s", tt.wantOut, h.stdout)
			}
			if !strings.Contains(h.stderr.String(), tt.wantErr) {
				t.Errorf("stderr lacks %q:\n%s", tt.wantErr, h.stderr)
			}
		})
	}
}

func TestHealthDefaultURL(t *testing.T) {
	cleanEnv(t)
	url := fakeServer(t, registry.Report{Status: registry.StatusHealthy}, 200, `{"status":"ready"}`)
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(url, "http://"))
	t.Setenv("HOST", "0.0.0.0") // a wildcard listen address is reached on loopback
	t.Setenv("PORT", port)
	h := setup(t)
	if code := h.run(t.Context(), "health", "probe"); code != 0 {
		t.Errorf("health probe with HOST/PORT = %d; stderr %s", code, h.stderr)
	}
}

type store struct{}

func TestServicesCommands(t *testing.T) {
	cleanEnv(t)
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"services"}, []string{"NAME", "KIND", "LIFETIME", "STATE", "DEPENDS ON", "backend", "component", "singleton", "registered", "repo", "service", "scoped", "store"}},
		{[]string{"services", "graph"}, []string{"flowchart LR", "repo", "-->"}},
		{[]string{"services", "graph", "--format", "dot"}, []string{"digraph services", `"repo" -> "store"`}},
		{[]string{"services", "graph", "--format", "json"}, []string{`"nodes"`, `"name": "repo"`, `"deps": [`}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			h := setup(t)
			_ = registry.Provide(h.reg, func(context.Context) (*store, error) { return &store{}, nil }, registry.Name("store"))
			_ = registry.Provide1(h.reg, func(_ context.Context, s *store) (*recorder, error) { return &recorder{}, nil },
				registry.Name("repo"), registry.WithLifetime(registry.Scoped))
			if code := h.run(t.Context(), tt.args...); code != 0 {
				t.Fatalf("exit code = %d; stderr %s", code, h.stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(h.stdout.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, h.stdout)
				}
			}
		})
	}
}

func TestServicesInvalidGraph(t *testing.T) {
	cleanEnv(t)
	h := setup(t)
	_ = registry.Provide1(h.reg, func(context.Context, *store) (*recorder, error) { return &recorder{}, nil }, registry.Name("orphan"))
	if code := h.run(t.Context(), "services"); code != 1 || !strings.Contains(h.stderr.String(), "orphan") {
		t.Errorf("services with a missing dependency = %d, stderr %q; want 1 naming orphan", code, h.stderr)
	}
}

func TestOneLine(t *testing.T) {
	t.Parallel()
	err := errorsJoin("config: A is bad", "config: B is bad")
	if got := oneLine(err); got != "config: A is bad ; config: B is bad" {
		t.Errorf("oneLine = %q", got)
	}
}

func errorsJoin(msgs ...string) error {
	var errs []error
	for _, m := range msgs {
		errs = append(errs, errors.New(m))
	}
	return errors.Join(errs...)
}

func TestGCPercent(t *testing.T) {
	for _, tt := range []struct {
		name    string
		env     map[string]string
		want    int
		wantSet bool
	}{
		{"GOGC unset: the app's default", map[string]string{}, DefaultGCPercent, true},
		{"GOGC set: the operator's value stays", map[string]string{"GOGC": "50"}, 0, false},
		{"GOGC=off stays off", map[string]string{"GOGC": "off"}, 0, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, set := gcPercent(func(k string) (string, bool) { v, ok := tt.env[k]; return v, ok })
			if got != tt.want || set != tt.wantSet {
				t.Errorf("gcPercent = %d, %v; want %d, %v", got, set, tt.want, tt.wantSet)
			}
		})
	}
}
