package logbuf_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aegisgo/aegis/template/internal/runtime/logbuf"
)

// sink records each write it gets, so tests see batching as well as content.
type sink struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	writes int
	fail   error
}

func (s *sink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return 0, s.fail
	}
	s.writes++
	return s.buf.Write(p)
}

func (s *sink) snapshot() (string, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String(), s.writes
}

// Lines logged concurrently through slog all arrive, whole, each goroutine's in order, in
// few writes; nothing arrives before Flush or the delay.
func TestConcurrentLinesCompleteAndOrdered(t *testing.T) {
	t.Parallel()
	s := &sink{}
	w := logbuf.New(s, 4096, time.Hour) // the delay never fires here: only size and Close flush
	logger := slog.New(slog.NewJSONHandler(w, nil))
	const goroutines, lines = 8, 500
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range lines {
				logger.Info("line", "g", g, "i", i, "pad", strings.Repeat("x", i%50))
			}
		})
	}
	wg.Wait()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	out, writes := s.snapshot()
	got := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(got) != goroutines*lines {
		t.Fatalf("%d lines, want %d", len(got), goroutines*lines)
	}
	next := make([]int, goroutines)
	for _, line := range got {
		var rec struct{ G, I int }
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("incomplete line %q: %v", line, err)
		}
		if rec.I != next[rec.G] {
			t.Fatalf("goroutine %d: line %d after %d", rec.G, rec.I, next[rec.G]-1)
		}
		next[rec.G]++
	}
	if writes >= len(got)/10 {
		t.Errorf("%d writes for %d lines: not buffered", writes, len(got))
	}
}

func TestDelayFlushes(t *testing.T) {
	t.Parallel()
	s := &sink{}
	w := logbuf.New(s, 0, 20*time.Millisecond)
	fmt.Fprintln(w, "one")
	if out, _ := s.snapshot(); out != "" {
		t.Errorf("written at once: %q", out)
	}
	deadline := time.Now().Add(5 * time.Second)
	s.waitFor(t, "one\n", deadline, "the delay did not flush")
	// The timer rearms for the next line.
	fmt.Fprintln(w, "two")
	s.waitFor(t, "one\ntwo\n", deadline, "the delay did not flush the second line")
}

// waitFor returns once s holds want, failing with msg at deadline.
func (s *sink) waitFor(t *testing.T, want string, deadline time.Time, msg string) {
	t.Helper()
	for {
		if out, _ := s.snapshot(); out == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal(msg)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestSizeFlushCloseAndAfter(t *testing.T) {
	t.Parallel()
	s := &sink{}
	w := logbuf.New(s, 10, time.Hour)
	fmt.Fprint(w, "aaaa\n")
	fmt.Fprint(w, "bbbb\n") // fills the buffer exactly
	if out, _ := s.snapshot(); out != "" {
		t.Errorf("flushed before full: %q", out)
	}
	fmt.Fprint(w, "cc\n") // does not fit: the buffer goes first
	if out, _ := s.snapshot(); out != "aaaa\nbbbb\n" {
		t.Errorf("after overflow: %q", out)
	}
	fmt.Fprint(w, "a line longer than the buffer\n") // buffered first, then itself
	if out, _ := s.snapshot(); out != "aaaa\nbbbb\ncc\na line longer than the buffer\n" {
		t.Errorf("after a long line: %q", out)
	}
	fmt.Fprint(w, "dd\n")
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	fmt.Fprint(w, "after close\n") // straight through
	if out, _ := s.snapshot(); !strings.HasSuffix(out, "cc\na line longer than the buffer\ndd\nafter close\n") {
		t.Errorf("after Close: %q", out)
	}
	s.fail = errors.New("disk full")
	if _, err := fmt.Fprint(w, "lost\n"); err == nil {
		t.Error("no error from a failing writer")
	}
}

// An error record goes out at once, after what was buffered before it.
func TestHandlerFlushesErrors(t *testing.T) {
	t.Parallel()
	s := &sink{}
	w := logbuf.New(s, 0, time.Hour)
	logger := slog.New(logbuf.Handler(slog.NewTextHandler(w, nil), w, slog.LevelError)).With("app", "x").WithGroup("g")
	logger.Info("first")
	if out, _ := s.snapshot(); out != "" {
		t.Errorf("info written at once: %q", out)
	}
	logger.ErrorContext(context.Background(), "broken")
	out, _ := s.snapshot()
	if i, j := strings.Index(out, "first"), strings.Index(out, "broken"); i < 0 || j < i {
		t.Errorf("after an error: %q, want first then broken", out)
	}
}

// BenchmarkWriter is the cost that decides buffering: an access-log-sized line written
// directly (one write(2) per line) and through a Writer, to /dev/null (as bench/compare.sh
// runs the app) and to a pipe drained by another goroutine (as a container runtime or
// systemd collects a service's output).
func BenchmarkWriter(b *testing.B) {
	line := []byte(`{"time":"2026-12-04T14:00:00.000000000Z","level":"INFO","msg":"request","method":"GET","path":"/api/v1/ping","status":200,"bytes":71,"duration":41230,"remote":"127.0.0.1:40000","request_id":"0123456789ABCDEF-1a2b"}` + "\n")
	sinks := map[string]func(b *testing.B) io.Writer{
		"devnull": func(b *testing.B) io.Writer {
			f, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = f.Close() })
			return f
		},
		"pipe": func(b *testing.B) io.Writer {
			r, w, err := os.Pipe()
			if err != nil {
				b.Fatal(err)
			}
			done := make(chan struct{})
			go func() { _, _ = io.Copy(io.Discard, r); close(done) }()
			b.Cleanup(func() { _ = w.Close(); <-done; _ = r.Close() })
			return w
		},
	}
	for _, sink := range []string{"devnull", "pipe"} {
		for _, buffered := range []bool{false, true} {
			name := sink + "/direct"
			if buffered {
				name = sink + "/buffered"
			}
			b.Run(name, func(b *testing.B) {
				w := sinks[sink](b)
				if buffered {
					bw := logbuf.New(w, 0, 0)
					b.Cleanup(func() { _ = bw.Close() })
					w = bw
				}
				b.ReportAllocs()
				for b.Loop() {
					_, _ = w.Write(line)
				}
			})
		}
	}
}

func TestJSONHandlerLines(t *testing.T) {
	var out bytes.Buffer
	w := logbuf.New(&out, 0, time.Hour)
	defer w.Close()
	if _, ok := logbuf.JSONHandler(w, &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr { return a }}).(logbuf.LineHandler); ok {
		t.Error("JSONHandler with ReplaceAttr takes raw lines")
	}
	if _, ok := logbuf.JSONHandler(w, &slog.HandlerOptions{AddSource: true}).(logbuf.LineHandler); ok {
		t.Error("JSONHandler with AddSource takes raw lines")
	}
	if _, ok := logbuf.Handler(slog.NewJSONHandler(w, nil), w, slog.LevelError).(logbuf.LineHandler); ok {
		t.Error("Handler of a plain slog handler takes raw lines")
	}
	h, ok := logbuf.Handler(logbuf.JSONHandler(w, nil), w, slog.LevelError).(logbuf.LineHandler)
	if !ok {
		t.Fatal("logbuf.Handler(JSONHandler) is not a LineHandler")
	}
	if _, ok := h.WithAttrs([]slog.Attr{slog.Int("a", 1)}).(logbuf.LineHandler); ok {
		t.Error("a handler with attributes takes raw lines")
	}
	if _, ok := h.WithGroup("g").(logbuf.LineHandler); ok {
		t.Error("a handler with a group takes raw lines")
	}
	_ = h.HandleLine(slog.LevelInfo, []byte("{\"a\":1}\n"))
	if out.Len() != 0 {
		t.Errorf("an info line was written at once: %q", out.String())
	}
	_ = h.HandleLine(slog.LevelError, []byte("{\"b\":2}\n"))
	if got := out.String(); got != "{\"a\":1}\n{\"b\":2}\n" {
		t.Errorf("after an error line, output = %q, want both lines in order", got)
	}
}
