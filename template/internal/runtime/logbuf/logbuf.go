// Package logbuf buffers a process's log output: one write(2) per batch of lines instead of
// one per line. An app logging a JSON access line per request spends a measurable share of
// its CPU in those system calls (bench/RESULTS.md, issue 18).
//
// A Writer keeps whole writes (slog handlers write one complete line per call), in order, and
// hands them to the underlying writer when its buffer would overflow, at most Delay after the
// first buffered write, on Flush, and on Close. Handler flushes after every record at or above
// a level, so an error (a panic being reported, a failing dependency) is out at once, with
// everything logged before it. What it cannot save is the last Delay of output when the
// process dies without running its exit path: a fatal signal, or an unrecovered panic on a
// goroutine the app does not own. MinLevel filters a handler's records by level.
package logbuf

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"time"
)

// Defaults of New.
const (
	DefaultSize  = 64 << 10
	DefaultDelay = 100 * time.Millisecond
)

// Writer is a buffered io.Writer for log lines, safe for concurrent use.
type Writer struct {
	mu      sync.Mutex
	w       io.Writer
	buf     []byte
	size    int
	delay   time.Duration
	timer   *time.Timer // flushes Delay after the first write into an empty buffer
	pending bool        // timer is armed
	closed  bool        // after Close, writes go straight through
}

// New returns a Writer on w with a buffer of size bytes (DefaultSize if <= 0) flushed at most
// delay (DefaultDelay if <= 0) after a line enters it. No goroutine or timer runs while
// nothing is buffered.
func New(w io.Writer, size int, delay time.Duration) *Writer {
	if size <= 0 {
		size = DefaultSize
	}
	if delay <= 0 {
		delay = DefaultDelay
	}
	return &Writer{w: w, size: size, delay: delay}
}

// Write buffers p, or writes it through (after what is buffered) when it does not fit in an
// empty buffer or the Writer is closed. p is never split.
func (b *Writer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.buf)+len(p) > b.size || b.closed {
		if err := b.flushLocked(); err != nil {
			return 0, err
		}
		if len(p) > b.size || b.closed {
			return b.writeLocked(p)
		}
	}
	if b.buf == nil {
		b.buf = make([]byte, 0, b.size)
	}
	b.buf = append(b.buf, p...)
	if !b.pending {
		b.pending = true
		if b.timer == nil {
			b.timer = time.AfterFunc(b.delay, b.tick)
		} else {
			b.timer.Reset(b.delay)
		}
	}
	return len(p), nil
}

func (b *Writer) tick() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.pending = false
	_ = b.flushLocked()
}

// Flush writes what is buffered.
func (b *Writer) Flush() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.flushLocked()
}

// Close flushes, stops the timer, and makes later writes go straight through: a process may
// still log on its way out. It does not close the underlying writer.
func (b *Writer) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	if b.timer != nil {
		b.timer.Stop()
		b.pending = false
	}
	err := b.flushLocked()
	b.buf = nil
	return err
}

func (b *Writer) flushLocked() error {
	if len(b.buf) == 0 {
		return nil
	}
	_, err := b.writeLocked(b.buf)
	// Lines that failed are dropped rather than retried: a log sink that is gone would
	// otherwise hold the buffer full forever.
	b.buf = b.buf[:0]
	return err
}

func (b *Writer) writeLocked(p []byte) (int, error) {
	n, err := b.w.Write(p)
	if err == nil && n < len(p) {
		err = io.ErrShortWrite
	}
	return n, err
}

// Handler wraps h, which writes to w, so that a record at level or above is flushed at once,
// with everything buffered before it.
//
// When h is a LineHandler, so is the handler returned: a line it takes is flushed at once too
// when its level is at or above level.
func Handler(h slog.Handler, w *Writer, level slog.Leveler) slog.Handler {
	f := &flushHandler{Handler: h, w: w, level: level}
	if lh, ok := h.(LineHandler); ok {
		return &flushLineHandler{flushHandler: f, line: lh}
	}
	return f
}

// LineHandler is a slog.Handler that also takes lines formatted by its caller exactly as it
// would format a record of its own: the access log (backend) writes its JSON line itself,
// without building a slog.Record, when the app's handler is a JSONHandler of this package.
type LineHandler interface {
	slog.Handler
	// HandleLine writes line, one complete line with its newline, as the output of a record
	// at level. The caller has checked Enabled.
	HandleLine(level slog.Level, line []byte) error
}

// JSONHandler is slog.NewJSONHandler(w, opts). Without opts.ReplaceAttr and opts.AddSource,
// what slog writes for a record depends only on the record, so the handler is a LineHandler
// too: a caller may write a line it formatted the same way, straight to w (whole writes keep
// lines apart: w is safe for concurrent use). WithAttrs and WithGroup return plain slog
// handlers (their lines carry more than the record).
func JSONHandler(w *Writer, opts *slog.HandlerOptions) slog.Handler {
	h := slog.NewJSONHandler(w, opts)
	if opts != nil && (opts.ReplaceAttr != nil || opts.AddSource) {
		return h
	}
	return &jsonHandler{JSONHandler: h, w: w}
}

type jsonHandler struct {
	*slog.JSONHandler
	w *Writer
}

func (h *jsonHandler) HandleLine(_ slog.Level, line []byte) error {
	_, err := h.w.Write(line)
	return err
}

type flushLineHandler struct {
	*flushHandler
	line LineHandler
}

func (h *flushLineHandler) HandleLine(level slog.Level, line []byte) error {
	err := h.line.HandleLine(level, line)
	if level >= h.level.Level() {
		_ = h.w.Flush()
	}
	return err
}

type flushHandler struct {
	slog.Handler
	w     *Writer
	level slog.Leveler
}

func (h *flushHandler) Handle(ctx context.Context, r slog.Record) error {
	err := h.Handler.Handle(ctx, r)
	if r.Level >= h.level.Level() {
		_ = h.w.Flush()
	}
	return err
}

func (h *flushHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &flushHandler{Handler: h.Handler.WithAttrs(attrs), w: h.w, level: h.level}
}

func (h *flushHandler) WithGroup(name string) slog.Handler {
	return &flushHandler{Handler: h.Handler.WithGroup(name), w: h.w, level: h.level}
}

// MinLevel wraps h so that records below min are dropped, whatever h would take: a library's
// routine logs (River's info), or a service's warnings where its caller reports the same
// failure itself (the ai chat REPL).
func MinLevel(h slog.Handler, min slog.Level) slog.Handler { return minLevel{h, min} }

type minLevel struct {
	slog.Handler
	min slog.Level
}

func (h minLevel) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && h.Handler.Enabled(ctx, l)
}

func (h minLevel) WithAttrs(attrs []slog.Attr) slog.Handler {
	return minLevel{h.Handler.WithAttrs(attrs), h.min}
}

func (h minLevel) WithGroup(name string) slog.Handler {
	return minLevel{h.Handler.WithGroup(name), h.min}
}
