package backend

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aegisgo/aegis/template/internal/runtime/logbuf"
	"github.com/aegisgo/aegis/template/internal/runtime/logtest"
)

// slogAccessLine is what slog.JSONHandler writes for the record accessLog builds.
func slogAccessLine(t *testing.T, tm time.Time, level slog.Level, method, path string, status int,
	n int64, d time.Duration, remote, id string) []byte {
	t.Helper()
	var buf bytes.Buffer
	rec := slog.NewRecord(tm, level, "request", 0)
	rec.AddAttrs(
		slog.String("method", method),
		slog.String("path", path),
		slog.Int("status", status),
		slog.Int64("bytes", n),
		slog.Duration("duration", d),
		slog.String("remote", remote),
		slog.String("request_id", id),
	)
	if err := slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}).Handle(context.Background(), rec); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func decodeLine(t *testing.T, line []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(line, &m); err != nil {
		t.Fatalf("line %q is not JSON: %v", line, err)
	}
	return m
}

// The access line appendAccessLine writes is the one slog.JSONHandler writes for the same
// record: the same bytes, so the same JSON object.
func TestAccessLineMatchesSlog(t *testing.T) {
	t.Parallel()
	times := []time.Time{
		time.Date(2026, 12, 4, 14, 5, 6, 123456789, time.UTC),
		time.Date(2026, 12, 4, 14, 5, 6, 120000000, time.FixedZone("CET", 3600)),
		time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("", -(3*3600+30*60))),
		time.Now(), // with a monotonic reading, as accessLog's
	}
	tests := []struct {
		level  slog.Level
		method string
		path   string
		status int
		n      int64
		d      time.Duration
		remote string
		id     string
	}{
		{slog.LevelInfo, "GET", "/api/v1/ping", 200, 18, 12345, "127.0.0.1:40000", "abc-123"},
		{slog.LevelInfo, "POST", "/café/日本語/\U0001F600", 201, 0, time.Millisecond, "[::1]:5", "r"},
		{slog.LevelInfo, "GET", `/q"uo"te\back\slash`, 404, 97, 0, "10.0.0.1:1", ""},
		{slog.LevelInfo, "GET", "/ctl\x00\x01\x07\x08\x0c\x1f\x7f\t\n\r/end", 400, 1, 1, "x", "y"},
		{slog.LevelInfo, "GET", "/bad\xff\xfeutf8\xc3", 200, 0, 0, "", ""},
		{slog.LevelInfo, "GET", "/sep\u2028\u2029/<html>&amp;", 200, 0, 0, "", ""},
		{slog.LevelError, "PUT", "/api/boom", 500, 123456789, 90 * time.Second, "192.168.0.1:65535", "id-500"},
		{slog.LevelDebug, "HEAD", "/health/live", 200, 0, -5, "h", "probe"},
		{slog.LevelWarn + 1, "GET", "/odd-level", 299, -1, 1 << 62, "a", "b"},
	}
	for _, tm := range times {
		for _, tt := range tests {
			got := appendAccessLine(nil, tm, tt.level, tt.method, tt.path, tt.status, tt.n, tt.d, tt.remote, tt.id)
			want := slogAccessLine(t, tm, tt.level, tt.method, tt.path, tt.status, tt.n, tt.d, tt.remote, tt.id)
			if !bytes.Equal(got, want) {
				t.Errorf("access line for %q:\n got %s\nwant %s", tt.path, got, want)
			}
			if g, w := decodeLine(t, got), decodeLine(t, want); !reflect.DeepEqual(g, w) {
				t.Errorf("access line for %q decodes to %v, want %v", tt.path, g, w)
			}
		}
	}
}

// accessRequests serves a few requests through accessLog(logger), each with a request ID.
func accessRequests(t *testing.T, logger *slog.Logger, after func(path string)) {
	t.Helper()
	mw := accessLog(logger, false)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasPrefix(r.URL.Path, "/boom"):
			http.Error(w, "boom", http.StatusInternalServerError)
		case r.URL.Path == "/empty":
		default:
			_, _ = io.WriteString(w, "hello")
		}
	}))
	for i, p := range []string{"/api/v1/ping", "/health/live", "/dashboard/fragments/x", "/café/\"q\"\\", "/ctl\x01\n\t", "/boom", "/empty"} {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.URL.Path = p
		req.RemoteAddr = "127.0.0.1:4000" + string(rune('0'+i))
		req = req.WithContext(WithRequestID(req.Context(), "rid-"+p))
		mw.ServeHTTP(httptest.NewRecorder(), req)
		if after != nil {
			after(p)
		}
	}
}

// accessLines decodes the JSON lines in s, without time and duration (they differ between
// two runs), after checking that they are there.
func accessLines(t *testing.T, s string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSuffix(s, "\n"), "\n") {
		if line == "" {
			continue
		}
		m := decodeLine(t, []byte(line))
		ts, _ := m["time"].(string)
		if _, err := time.Parse(time.RFC3339Nano, ts); err != nil {
			t.Errorf("line %s: time: %v", line, err)
		}
		if _, ok := m["duration"].(float64); !ok {
			t.Errorf("line %s: no numeric duration", line)
		}
		delete(m, "time")
		delete(m, "duration")
		out = append(out, m)
	}
	return out
}

// Through the app's handler chain (logbuf.JSONHandler, logbuf.Handler, LogHandler) the access
// log writes its own lines: the same objects as slog's, the same levels (debug for probes,
// error for 5xx, filtered by the handler's level), an error line flushed at once.
func TestAccessLogFastPath(t *testing.T) {
	t.Parallel()
	for _, level := range []slog.Level{slog.LevelDebug, slog.LevelInfo, slog.LevelError} {
		opts := &slog.HandlerOptions{Level: level}
		var fastOut logtest.Buffer
		w := logbuf.New(&fastOut, 0, time.Hour)
		fast := slog.New(LogHandler(logbuf.Handler(logbuf.JSONHandler(w, opts), w, slog.LevelError)))
		if _, ok := fast.Handler().(logbuf.LineHandler); !ok {
			t.Fatal("the app's handler chain is not a logbuf.LineHandler")
		}
		accessRequests(t, fast, func(p string) {
			if p == "/boom" && !strings.Contains(fastOut.String(), `"status":500`) {
				t.Errorf("level %v: the 5xx line was not flushed at once: %q", level, fastOut.String())
			}
		})
		_ = w.Close()

		var slowOut bytes.Buffer
		accessRequests(t, slog.New(LogHandler(slog.NewJSONHandler(&slowOut, opts))), nil)

		got, want := accessLines(t, fastOut.String()), accessLines(t, slowOut.String())
		if !reflect.DeepEqual(got, want) {
			t.Errorf("level %v: fast access lines\n%v\nwant (slog)\n%v", level, got, want)
		}
		wantLines := map[slog.Level]int{slog.LevelDebug: 7, slog.LevelInfo: 5, slog.LevelError: 1}[level]
		if len(got) != wantLines {
			t.Errorf("level %v: %d access lines, want %d: %v", level, len(got), wantLines, got)
		}
		for _, m := range got {
			p, _ := m["path"].(string)
			wantLevel := "INFO"
			switch {
			case p == "/boom":
				wantLevel = "ERROR"
			case isProbe(p):
				wantLevel = "DEBUG"
			}
			if m["level"] != wantLevel || m["msg"] != "request" || m["request_id"] != "rid-"+p {
				t.Errorf("level %v: line %v, want level %s, msg request, request_id rid-%s", level, m, wantLevel, p)
			}
		}
	}
}

// A logger with attributes is no LineHandler: the access log falls back to slog and its lines
// carry them.
func TestAccessLogWithAttrsUsesSlog(t *testing.T) {
	t.Parallel()
	var out logtest.Buffer
	w := logbuf.New(&out, 0, 0)
	logger := slog.New(LogHandler(logbuf.Handler(logbuf.JSONHandler(w, nil), w, slog.LevelError))).With("app", "x")
	if _, ok := logger.Handler().(logbuf.LineHandler); ok {
		t.Fatal("a handler with attributes must not take raw lines")
	}
	accessRequests(t, logger, nil)
	_ = w.Close()
	lines := accessLines(t, out.String())
	if len(lines) != 5 {
		t.Fatalf("%d lines, want 5: %v", len(lines), lines)
	}
	for _, m := range lines {
		if m["app"] != "x" {
			t.Errorf("line %v lacks app=x", m)
		}
	}
}

// BenchmarkAccessLine is the access line alone: slog.JSONHandler formatting the record
// accessLog builds against appendAccessLine, both to io.Discard.
func BenchmarkAccessLine(b *testing.B) {
	tm := time.Now()
	const path, remote, id = "/api/v1/ping", "127.0.0.1:40000", "AB3DEFGHIJKLMNOPQRSTUVWXYZ"
	b.Run("slog", func(b *testing.B) {
		h := slog.NewJSONHandler(io.Discard, nil)
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			rec := slog.NewRecord(tm, slog.LevelInfo, "request", 0)
			rec.AddAttrs(
				slog.String("method", "GET"),
				slog.String("path", path),
				slog.Int("status", 200),
				slog.Int64("bytes", 18),
				slog.Duration("duration", 12345),
				slog.String("remote", remote),
				slog.String("request_id", id),
			)
			_ = h.Handle(ctx, rec)
		}
	})
	b.Run("append", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			bp := lineBufs.Get().(*[]byte)
			*bp = appendAccessLine((*bp)[:0], tm, slog.LevelInfo, "GET", path, 200, 18, 12345, remote, id)
			_, _ = io.Discard.Write(*bp)
			lineBufs.Put(bp)
		}
	})
}

// TestAppendTime: the access line's time is what time.RFC3339Nano gives, whether the second
// is the one formatted before (stamps) or not: in turn within one second and across seconds,
// zones and their changes, with nanoseconds of every length and none, and years the cut
// at the fourth digit cannot take.
func TestAppendTime(t *testing.T) {
	t.Parallel()
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		berlin = time.FixedZone("CET", 3600) // no zone database: a fixed zone still differs
	}
	base := time.Date(2026, 3, 29, 0, 59, 58, 0, time.UTC) // Berlin moves to summer time at 01:00 UTC
	var times []time.Time
	for _, ns := range []int{0, 1, 10, 120000000, 123456789, 999999999, 500} {
		for s := range 4 {
			tm := base.Add(time.Duration(s)*time.Second + time.Duration(ns))
			times = append(times, tm, tm.In(berlin), tm.In(time.FixedZone("", -(3*3600+30*60))), tm.Local())
		}
	}
	times = append(times, time.Now(), time.Now().UTC(),
		time.Date(0, 1, 1, 0, 0, 0, 5, time.UTC), time.Date(9999, 12, 31, 23, 59, 59, 9, time.UTC),
		time.Date(10000, 1, 1, 0, 0, 0, 7, time.UTC), time.Date(-1, 6, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2026, 12, 4, 14, 5, 6, 0, time.FixedZone("", 14*3600)))
	for round := range 2 {
		for _, tm := range times {
			if got, want := string(appendTime([]byte("x"), tm)), "x"+tm.Format(time.RFC3339Nano); got != want {
				t.Errorf("round %d: appendTime(%v) = %s, want %s", round, tm, got, want)
			}
		}
	}
}
