package worker

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"time"
)

// River logs every failed fetch (each queue, each poll), listener reconnect, leader election
// and maintenance pass as an ERROR with the driver's message: with the database unreachable
// for a few seconds a worker process wrote some 30 lines, and a minute's outage hundreds, all
// saying the same thing. outage turns that into two lines: the first connection error logs
// "worker: database unreachable" (WARN), River's connection errors are dropped while it lasts,
// and a ping that succeeds logs "worker: database reachable again" (INFO) with how long it
// lasted and how many lines were left out. River retries by itself; nothing here changes that.

// outagePing is how often the database is pinged while it is unreachable.
const outagePing = time.Second

// connLost are the driver's words for a connection that could not be made or was lost: pgx
// ("failed to connect to", "conn closed"), the network ("connection refused", "reset", EOF),
// and PostgreSQL going down or starting (SQLSTATE 57P01, 57P03). River logs errors as text.
var connLost = []string{
	"failed to connect to",
	"conn closed",
	"connection refused",
	"connection reset",
	"broken pipe",
	"unexpected eof",
	"i/o timeout",
	"no such host",
	"network is unreachable",
	"terminating connection",
	"the database system is",
	"closed pool",
	"sqlstate 57p0",
	"sqlstate 08",
}

// isConnLost reports whether an error's text says the database could not be reached.
func isConnLost(text string) bool {
	text = strings.ToLower(text)
	for _, s := range connLost {
		if strings.Contains(text, s) {
			return true
		}
	}
	return false
}

type outage struct {
	ping   func(context.Context) error
	logger *slog.Logger // where the two lines go: the app's logger
	every  time.Duration

	mu      sync.Mutex
	down    bool
	since   time.Time
	dropped int
	done    chan struct{} // closed by stop: ends the ping loop
	stopped bool
}

func newOutage(logger *slog.Logger, ping func(context.Context) error, every time.Duration) *outage {
	return &outage{ping: ping, logger: logger, every: every, done: make(chan struct{})}
}

// lost takes a connection error River would have logged: the first of an outage logs the
// outage's own line and starts pinging, the others are counted.
func (o *outage) lost(ctx context.Context, text string) {
	o.mu.Lock()
	if o.down {
		o.dropped++
		o.mu.Unlock()
		return
	}
	o.down, o.since, o.dropped = true, time.Now(), 1
	stopped := o.stopped
	o.mu.Unlock()
	o.logger.WarnContext(ctx, "worker: database unreachable; jobs wait and River retries, its connection errors are not logged until the database answers again", "err", firstLine(text, 300))
	if !stopped {
		go o.watch()
	}
}

// watch pings until the database answers (or stop), then logs that it is back.
func (o *outage) watch() {
	t := time.NewTicker(o.every)
	defer t.Stop()
	for {
		select {
		case <-o.done:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), o.every*2)
		err := o.ping(ctx)
		cancel()
		if err != nil {
			continue
		}
		o.mu.Lock()
		since, dropped := o.since, o.dropped
		o.down = false
		o.mu.Unlock()
		o.logger.Info("worker: database reachable again", "after", time.Since(since).Round(time.Millisecond).String(), "errors_not_logged", dropped)
		return
	}
}

// stop ends the ping loop; an outage still under way is not reported over.
func (o *outage) stop() {
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.stopped {
		o.stopped = true
		close(o.done)
	}
}

// outageHandler is River's log handler: River's warnings and errors about a lost connection
// go to the outage, the rest to next.
type outageHandler struct {
	next slog.Handler
	o    *outage
}

func (h outageHandler) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

func (h outageHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level >= slog.LevelWarn {
		var text string
		r.Attrs(func(a slog.Attr) bool {
			if a.Key == "err" || a.Key == "error" {
				text = a.Value.String()
				return false
			}
			return true
		})
		if text != "" && isConnLost(text) {
			h.o.lost(ctx, text)
			return nil
		}
	}
	return h.next.Handle(ctx, r)
}

func (h outageHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return outageHandler{next: h.next.WithAttrs(as), o: h.o}
}

func (h outageHandler) WithGroup(name string) slog.Handler {
	return outageHandler{next: h.next.WithGroup(name), o: h.o}
}
