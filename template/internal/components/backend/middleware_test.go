package backend

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
)

func TestRequestID(t *testing.T) {
	t.Parallel()
	f := setup(t, setupOpts{})
	tests := []struct {
		name     string
		path     string
		incoming string
		keep     bool
	}{
		{name: "sane id is honoured", path: "/docs", incoming: "abc-123_DEF.4:5/6+7=8@9", keep: true},
		{name: "sane id on the live probe", path: LivePath, incoming: "probe-42", keep: true},
		{name: "spaces are replaced", path: "/docs", incoming: "hello world"},
		{name: "control characters are replaced", path: "/docs", incoming: "a\x01b"},
		{name: "too long is replaced", path: "/docs", incoming: strings.Repeat("a", maxRequestIDLen+1)},
		{name: "missing is generated", path: "/docs"},
		{name: "missing is generated on the live probe", path: LivePath},
	}
	seen := map[string]bool{}
	for _, tt := range tests {
		h := http.Header{}
		if tt.incoming != "" {
			h.Set(RequestIDHeader, tt.incoming)
		}
		rec := f.do(t, http.MethodGet, tt.path, nil, h)
		got := rec.Header().Get(RequestIDHeader)
		switch {
		case tt.keep && got != tt.incoming:
			t.Errorf("%s: X-Request-ID = %q, want %q echoed", tt.name, got, tt.incoming)
		case !tt.keep && (got == "" || got == tt.incoming || !saneRequestID(got)):
			t.Errorf("%s: X-Request-ID = %q, want a fresh sane ID", tt.name, got)
		case !tt.keep && seen[got]:
			t.Errorf("%s: generated ID %q twice", tt.name, got)
		}
		seen[got] = true
	}
}

func TestRequestIDInLogs(t *testing.T) {
	t.Parallel()
	f := setup(t, setupOpts{})
	h := http.Header{}
	h.Set(RequestIDHeader, "trace-me")
	f.do(t, http.MethodGet, "/docs", nil, h)
	access := f.logs.Records(t, "request")
	if len(access) != 1 || access[0]["request_id"] != "trace-me" || access[0]["status"] != float64(200) || access[0]["level"] != "INFO" {
		t.Errorf("access log = %v, want one INFO line with request_id trace-me and status 200", access)
	}
	for _, k := range []string{"method", "path", "bytes", "duration", "remote"} {
		if len(access) == 1 && access[0][k] == nil {
			t.Errorf("access log lacks %q: %v", k, access[0])
		}
	}
}

func TestLogHandler(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	logger := slog.New(LogHandler(slog.NewTextHandler(&buf, nil))).With("app", "x")
	ctx := WithRequestID(context.Background(), "r-1")

	logger.InfoContext(ctx, "with id")
	logger.InfoContext(ctx, "explicit", "request_id", "mine")
	logger.Info("without ctx")

	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("got %d lines: %q", len(lines), buf.String())
	}
	if !strings.Contains(lines[0], "request_id=r-1") {
		t.Errorf("line %q lacks request_id=r-1", lines[0])
	}
	if strings.Count(lines[1], "request_id=") != 1 || !strings.Contains(lines[1], "request_id=mine") {
		t.Errorf("line %q: an explicit request_id must not be duplicated", lines[1])
	}
	if strings.Contains(lines[2], "request_id") {
		t.Errorf("line %q has a request_id without a request", lines[2])
	}
}

func TestPanicRecovery(t *testing.T) {
	t.Parallel()
	f := setup(t, setupOpts{})
	h := http.Header{}
	h.Set(RequestIDHeader, "panic-1")
	rec := f.do(t, http.MethodGet, "/test/panic", nil, h)
	p := problem(t, rec, http.StatusInternalServerError)
	if strings.Contains(rec.Body.String(), "secret internals") || strings.Contains(rec.Body.String(), "goroutine") {
		t.Errorf("the 500 leaks internals: %s", rec.Body)
	}
	if p.Instance != "/test/panic" {
		t.Errorf("instance = %q, want the path", p.Instance)
	}
	logged := f.logs.Records(t, "panic serving request")
	if len(logged) != 1 {
		t.Fatalf("panic log lines = %d, want 1; logs:\n%s", len(logged), f.logs)
	}
	stack, _ := logged[0]["stack"].(string)
	if logged[0]["panic"] != "boom: secret internals" || logged[0]["request_id"] != "panic-1" || !strings.Contains(stack, "goroutine") {
		t.Errorf("panic log = %v, want the value, the request ID and a stack", logged[0])
	}
	if access := f.logs.Records(t, "request"); len(access) != 1 || access[0]["status"] != float64(500) || access[0]["level"] != "ERROR" {
		t.Errorf("access log = %v, want one ERROR line with status 500", access)
	}
}

// chunked hides a reader's length so the request has no Content-Length.
type chunked struct{ io.Reader }

func TestBodyLimit(t *testing.T) {
	t.Parallel()
	f := setup(t, setupOpts{settings: Settings{MaxBodyBytes: 64}})
	small := `{"text":"hi"}`
	big := `{"text":"` + strings.Repeat("x", 100) + `"}`
	tests := []struct {
		name       string
		path       string
		body       io.Reader
		wantStatus int
		problem    bool
	}{
		{name: "huma small", path: "/test/echo", body: strings.NewReader(small), wantStatus: 200},
		{name: "huma declared too big", path: "/test/echo", body: strings.NewReader(big), wantStatus: 413, problem: true},
		{name: "huma chunked too big", path: "/test/echo", body: chunked{strings.NewReader(big)}, wantStatus: 413, problem: true},
		{name: "raw declared too big", path: "/test/raw", body: strings.NewReader(big), wantStatus: 413, problem: true},
		{name: "raw chunked too big", path: "/test/raw", body: chunked{strings.NewReader(big)}, wantStatus: 413},
		{name: "raw small", path: "/test/raw", body: strings.NewReader(small), wantStatus: 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := http.Header{"Content-Type": {"application/json"}}
			rec := f.do(t, http.MethodPost, tt.path, tt.body, h)
			if tt.problem {
				problem(t, rec, tt.wantStatus)
				return
			}
			if rec.Code != tt.wantStatus {
				t.Fatalf("status = %d, want %d; body %s", rec.Code, tt.wantStatus, rec.Body)
			}
		})
	}
}

func TestNotFoundIsProblem(t *testing.T) {
	t.Parallel()
	f := setup(t, setupOpts{})
	problem(t, f.do(t, http.MethodGet, "/no/such/page", nil, nil), http.StatusNotFound)
}
