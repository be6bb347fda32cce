package app

import (
	"io"
	"log/slog"
	"sync"

	"github.com/aegisgo/aegis/template/internal/components/backend"
	"github.com/aegisgo/aegis/template/internal/config"
	"github.com/aegisgo/aegis/template/internal/runtime/logbuf"
)

// newLogger returns the logger the core settings ask for, writing to w: text
// for people in development, JSON for collectors in production. Records
// logged with a request's context carry its request_id.
//
// JSON output is buffered (logbuf: flushed every 100 ms, when 64 KiB are
// waiting, at once for errors, and when the command ends): with an access line
// per request, one write(2) per line costs a server a measurable share of its
// CPU. Text output, for a person at a terminal, is written line by line. The JSON
// handler is slog's (logbuf.JSONHandler): the access log formats its lines itself, the
// same bytes slog would write, and hands them to it (backend.accessLog).
func (a *cli) newLogger(core config.Core, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: core.Level()}
	var h slog.Handler
	if core.Format() == config.FormatJSON {
		buf := a.logs.add(w)
		h = logbuf.Handler(logbuf.JSONHandler(buf, opts), buf, slog.LevelError)
	} else {
		h = slog.NewTextHandler(w, opts)
	}
	return slog.New(backend.LogHandler(h))
}

// logWriters are the buffered log writers of one invocation, closed (flushed)
// when it ends.
type logWriters struct {
	mu   sync.Mutex
	list []*logbuf.Writer
}

func (l *logWriters) add(w io.Writer) *logbuf.Writer {
	b := logbuf.New(w, 0, 0)
	l.mu.Lock()
	l.list = append(l.list, b)
	l.mu.Unlock()
	return b
}

// close flushes every buffered writer; later log lines are written through.
func (l *logWriters) close() {
	l.mu.Lock()
	list := l.list
	l.mu.Unlock()
	for _, b := range list {
		_ = b.Close()
	}
}
