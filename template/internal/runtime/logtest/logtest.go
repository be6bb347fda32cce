// Package logtest captures what an app writes while a test runs (its logs, a command's or a
// child process's output) for the test to read.
package logtest

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
)

// Buffer is a bytes.Buffer safe for concurrent use: a logger or a process writes while the
// test reads. The zero value is an empty buffer ready to use.
type Buffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p to the buffer.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns what was written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Records returns the records whose msg is msg of a buffer holding JSON logs (one record a
// line, as slog.JSONHandler writes them); a line that is not JSON fails the test.
func (b *Buffer) Records(t testing.TB, msg string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for line := range strings.Lines(b.String()) {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if rec["msg"] == msg {
			out = append(out, rec)
		}
	}
	return out
}

// HideSecret fails t unless every error in errs is set, names name (when
// name is not empty) and, logged through slog's text handler, shows nothing
// of secret. input is what the errors came from; the failures show it with
// secret masked.
func HideSecret(t testing.TB, input, secret, name string, errs ...error) {
	t.Helper()
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	for _, e := range errs {
		if e == nil {
			t.Errorf("%q: no error, want one", strings.ReplaceAll(input, secret, "<marker>"))
			continue
		}
		logger.Error("config", "err", e)
		if name != "" && !strings.Contains(e.Error(), name) {
			t.Errorf("error %q does not name %s", e, name)
		}
	}
	if strings.Contains(logs.String(), secret) {
		t.Errorf("an error shows the secret:\n%s", logs.String())
	}
}
