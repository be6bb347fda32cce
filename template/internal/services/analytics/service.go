package analytics

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aegisgo/aegis/template/internal/components/database"
	"github.com/aegisgo/aegis/template/internal/runtime/ratelimit"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
)

// flushTimeout bounds one background write, so a hung database does not stop the flusher
// from trying again (Track never waits for it either way).
const flushTimeout = 30 * time.Second

// writeBatches is how many ANALYTICS_BUFFER_SIZE batches one transaction writes at most:
// under a steady load more than one batch waits by the time the flusher runs, and a commit
// per thousand events would cap PostgreSQL near half the rate (see bench/RESULTS.md).
const writeBatches = 10

// dropWindow is how long health stays degraded after events were dropped.
const dropWindow = 15 * time.Minute

// slowWrite is how long a write may run before health turns degraded. A write of ten
// batches takes well under a second; one running this long waits on a lock or a hung
// database, which flushTimeout only ends (and reports as a failure) after 30 seconds, while
// the events pile up in memory behind a healthy check.
const slowWrite = 10 * time.Second

// Service tracks events and answers questions about them. Track and its variants never block
// on the database: they append to a bounded buffer that a background loop writes in batches
// every ANALYTICS_FLUSH_INTERVAL, or as soon as ANALYTICS_BUFFER_SIZE events wait. Stop
// writes what is left; the container stops the service before the database, which it
// depends on. It is safe for concurrent use.
type Service struct {
	db       *database.DB
	settings Settings
	identity Identity        // nil without the analytics+auth glue
	memo     Memo            // nil without the analytics+cache glue
	limits   ratelimit.Store // nil: the ingest limit counts per process
	logger   *slog.Logger
	now      func() time.Time

	mu       sync.Mutex
	buf      []Event // waiting, oldest first; with inflight at most BufferLimit
	spare    []Event // the other buffer, swapped in while buf is written
	inflight int     // taken from buf by the write in progress, not yet stored
	stopped  bool
	lastDrop time.Time
	// lastReject is when an API batch was last refused whole (see addAll).
	lastReject time.Time

	flushMu sync.Mutex // one write at a time: the loop, Flush and Stop
	kick    chan struct{}
	quit    chan struct{}
	done    chan struct{}
	started atomic.Bool
	stop    sync.Once

	tracked, stored, dropped, invalid, flushes, failures atomic.Int64
	// refused counts the dropped events the database refused for a value (see writeSplit).
	refused atomic.Int64
	// rejected counts the events of API batches refused whole (see addAll): not dropped.
	rejected                 atomic.Int64
	lastFlush, lastFailure   atomic.Int64 // unix nanoseconds; 0: never
	writing                  atomic.Int64 // unix nanoseconds the write in progress started; 0: none
	nulLogged, refusedLogged atomic.Bool
	// nonFiniteLogged: a NaN or infinite property was warned about once.
	nonFiniteLogged atomic.Bool
}

// Opts adjust New; nil means defaults.
type Opts struct {
	Identity Identity
	Memo     Memo
	// Limits, when not nil, is the store ANALYTICS_INGEST_IP_LIMIT is counted in across
	// instances (the cache component's, on Redis); nil counts per process.
	Limits ratelimit.Store
	// Logger receives the flusher's warnings; slog.Default() when nil.
	Logger *slog.Logger
	// Now is the clock events are stamped with (time.Now when nil).
	Now func() time.Time
}

// NewService is the registry constructor: the container passes the database, the settings,
// the glue's Identity and Memo when their owners are selected, and the cache's shared limit
// store when the cache runs on Redis.
func NewService(_ context.Context, db *database.DB, s Settings, id registry.Maybe[Identity], memo registry.Maybe[Memo], limits registry.Maybe[ratelimit.Shared]) (*Service, error) {
	return New(db, s, &Opts{Identity: id.Value, Memo: memo.Value, Limits: limits.Value.Store})
}

// New returns a Service writing to db with s (defaults filled in). Start begins the
// background writes; until then events wait in the buffer.
func New(db *database.DB, s Settings, opts *Opts) (*Service, error) {
	if db == nil {
		return nil, errors.New("analytics: new service: nil database")
	}
	s = s.WithDefaults()
	if err := s.Validate(); err != nil {
		return nil, err
	}
	var o Opts
	if opts != nil {
		o = *opts
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Service{
		db: db, settings: s, identity: o.Identity, memo: o.Memo, limits: o.Limits, logger: o.Logger, now: o.Now,
		buf:   make([]Event, 0, s.BufferSize),
		spare: make([]Event, 0, s.BufferSize),
		kick:  make(chan struct{}, 1), quit: make(chan struct{}), done: make(chan struct{}),
	}, nil
}

// Settings returns the settings the service runs with, defaults filled in.
func (s *Service) Settings() Settings { return s.settings }

// Track records the event name with props for the user of ctx (see WithUser and Identity).
// It never blocks on the database and never fails: an invalid name, or a NUL character
// (U+0000) in props or the user, is counted as invalid, and a full buffer (the database down
// for long) counts the event as dropped; both show in Stats and in the health check. props
// must not change after the call.
func (s *Service) Track(ctx context.Context, name string, props map[string]any) {
	s.add(Event{Name: name, UserID: s.userID(ctx), Props: props, At: s.now()})
}

// TrackUserAction records a user_action event for userID ("" for the user of ctx) with the
// action and its context as properties.
func (s *Service) TrackUserAction(ctx context.Context, userID, action string, props map[string]any) {
	if userID == "" {
		userID = s.userID(ctx)
	}
	p := make(map[string]any, len(props)+1)
	for k, v := range props {
		p[k] = v
	}
	p["action"] = action
	s.add(Event{Name: EventUserAction, UserID: userID, Props: p, At: s.now()})
}

// TrackPageView records a page_view event of page (and referrer, when known) for the user
// of ctx.
func (s *Service) TrackPageView(ctx context.Context, page, referrer string) {
	p := map[string]any{"page": page}
	if referrer != "" {
		p["referrer"] = referrer
	}
	s.add(Event{Name: EventPageView, UserID: s.userID(ctx), Props: p, At: s.now()})
}

// TrackEvent records e as given (its At, when zero, is now). It reports false, and counts the
// event as dropped or invalid, when it was not kept.
func (s *Service) TrackEvent(e Event) bool {
	if e.At.IsZero() {
		e.At = s.now()
	}
	return s.add(e)
}

func (s *Service) add(e Event) bool {
	if !ValidName(e.Name) {
		if s.invalid.Add(1) == 1 {
			s.logger.Warn("analytics: an event name does not match the pattern; such events are counted as invalid and not stored",
				slog.String("pattern", NamePattern))
		}
		return false
	}
	// Refused here like a bad name, rather than left for the database to refuse at write time.
	if hasNUL(e.Props) || strings.IndexByte(e.UserID, 0) >= 0 {
		s.invalid.Add(1)
		if s.nulLogged.CompareAndSwap(false, true) {
			s.logger.Warn("analytics: an event's properties or user hold a NUL character (U+0000), which the database cannot store; such events are counted as invalid and not stored")
		}
		return false
	}
	if hasNonFinite(e.Props) {
		s.invalid.Add(1)
		if s.nonFiniteLogged.CompareAndSwap(false, true) {
			s.logger.Warn("analytics: an event's properties hold NaN or an infinite number, which JSON cannot carry; such events are counted as invalid and not stored")
		}
		return false
	}
	s.mu.Lock()
	if s.stopped || len(s.buf)+s.inflight >= s.settings.BufferLimit {
		s.lastDrop = s.now()
		s.mu.Unlock()
		s.dropped.Add(1)
		return false
	}
	s.buf = append(s.buf, e)
	full := len(s.buf) >= s.settings.BufferSize
	s.mu.Unlock()
	s.tracked.Add(1)
	if full {
		select {
		case s.kick <- struct{}{}:
		default:
		}
	}
	return true
}

// addAll keeps every event of evs or, when they do not all fit, none: a batch from the API
// is stored whole or not at all. A refused batch is counted as rejected, not dropped: its
// client is answered 503 with Retry-After and sends it again, so nothing is lost (counted as
// dropped, a retried batch would show as both dropped and stored). Health still turns
// degraded, so that a flood or a slow database shows, saying the batches were rejected.
func (s *Service) addAll(evs []Event) bool {
	s.mu.Lock()
	if s.stopped || len(s.buf)+s.inflight+len(evs) > s.settings.BufferLimit {
		s.lastReject = s.now()
		s.mu.Unlock()
		s.rejected.Add(int64(len(evs)))
		return false
	}
	s.buf = append(s.buf, evs...)
	full := len(s.buf) >= s.settings.BufferSize
	s.mu.Unlock()
	s.tracked.Add(int64(len(evs)))
	if full {
		select {
		case s.kick <- struct{}{}:
		default:
		}
	}
	return true
}

// Start begins the background writes. It returns at once.
func (s *Service) Start(context.Context) error {
	if s.started.CompareAndSwap(false, true) {
		go s.loop()
	}
	return nil
}

// loop writes the buffer every FlushInterval and when it fills. After a failed write it waits
// for the next interval, whatever fills, so a database that is down is not hammered.
func (s *Service) loop() {
	defer close(s.done)
	tick := time.NewTicker(s.settings.FlushInterval)
	defer tick.Stop()
	failing := false
	for {
		select {
		case <-s.quit:
			return
		case <-tick.C:
		case <-s.kick:
			if failing {
				continue
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), flushTimeout)
		err := s.Flush(ctx)
		cancel()
		if err != nil && !failing {
			// The cause may quote SQL; the log gets the operation only, and health the count.
			s.logger.Warn("analytics: writing events failed; they stay in memory (up to ANALYTICS_BUFFER_LIMIT) and are retried",
				slog.Int("waiting", s.Pending()), slog.String("error_kind", errorKind(err)))
		}
		if err == nil && failing {
			s.logger.Info("analytics: writing events works again", slog.Int64("dropped", s.dropped.Load()))
		}
		failing = err != nil
	}
}

// Flush writes every waiting event now, in transactions of up to ten times BufferSize. An
// event the database refuses for one of its values is dropped and counted (see writeSplit).
// On failure the events not written go back to the front of the buffer, as many as fit
// beside those that arrived meanwhile (the rest are dropped and counted).
func (s *Service) Flush(ctx context.Context) error {
	s.flushMu.Lock()
	defer s.flushMu.Unlock()
	s.mu.Lock()
	batch := s.buf
	s.buf, s.spare = s.spare[:0], nil
	s.inflight = len(batch)
	s.mu.Unlock()
	all := batch
	if len(batch) == 0 {
		s.giveBack(all)
		return nil
	}
	s.writing.Store(s.now().UnixNano())
	defer s.writing.Store(0)
	for len(batch) > 0 {
		n := min(len(batch), s.settings.BufferSize*writeBatches)
		rows := s.encode(batch[:n])
		done, written, err := s.writeSplit(ctx, rows)
		s.stored.Add(int64(written))
		if err != nil {
			s.failures.Add(1)
			s.lastFailure.Store(s.now().UnixNano())
			// Retry only what is not stored or dropped yet: a split write may have stored a part.
			left := make([]Event, 0, len(rows)-done+len(batch)-n)
			for _, r := range rows[done:] {
				left = append(left, batch[r.i])
			}
			s.requeue(append(left, batch[n:]...))
			return err
		}
		s.mu.Lock()
		s.inflight -= n
		s.mu.Unlock()
		clear(batch[:n]) // release the property maps
		batch = batch[n:]
	}
	s.flushes.Add(1)
	s.lastFlush.Store(s.now().UnixNano())
	s.giveBack(all)
	return nil
}

// giveBack makes b the spare buffer again.
func (s *Service) giveBack(b []Event) {
	s.mu.Lock()
	s.spare = b[:0]
	s.mu.Unlock()
}

// requeue puts the events of a failed write before those that arrived during it, keeping at
// most BufferLimit and counting the rest as dropped.
func (s *Service) requeue(failed []Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inflight = 0
	arrived := s.buf
	room := s.settings.BufferLimit - len(failed)
	take := min(len(arrived), max(room, 0))
	if len(failed) > s.settings.BufferLimit {
		failed = failed[:s.settings.BufferLimit]
	}
	kept := append(failed, arrived[:take]...)
	if lost := len(arrived) - take; lost > 0 {
		s.dropped.Add(int64(lost))
		s.lastDrop = s.now()
	}
	clear(arrived)
	s.spare = arrived[:0]
	s.buf = kept
}

// Stop stops the background loop and writes what is left before the database closes. It is
// idempotent and bounded by ctx; events tracked after it are dropped.
func (s *Service) Stop(ctx context.Context) error {
	var err error
	s.stop.Do(func() {
		s.mu.Lock()
		s.stopped = true
		s.mu.Unlock()
		close(s.quit)
		if s.started.Load() {
			select {
			case <-s.done:
			case <-ctx.Done():
				err = fmt.Errorf("analytics: stop: %w", ctx.Err())
				return
			}
		}
		if ferr := s.Flush(ctx); ferr != nil {
			err = fmt.Errorf("analytics: stop: %d events could not be stored: %w", s.Pending(), ferr)
		}
	})
	return err
}

// Logger is the logger the service was made with, for the glue that acts on its behalf
// (the retention job) to log where the service does.
func (s *Service) Logger() *slog.Logger { return s.logger }

// Pending is the number of events waiting in memory, those being written included.
func (s *Service) Pending() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.buf) + s.inflight
}

// Stats are the service's counters since it was made.
type Stats struct {
	Tracked  int64 `json:"tracked" doc:"Events accepted into the buffer (stored, waiting, or dropped later when the buffer overflowed)."`
	Stored   int64 `json:"stored" doc:"Events written to the database."`
	Dropped  int64 `json:"dropped" doc:"Events lost because the buffer was full (the database slow or down) or the service stopped, or refused by the database (see refused)."`
	Refused  int64 `json:"refused" doc:"Of the dropped events, those the database refused for a value it cannot store (PostgreSQL's data exceptions); the rest of their batch was stored."`
	Rejected int64 `json:"rejected" doc:"Events of API batches answered 503 (the buffer full or the service stopping), for their clients to send again: neither tracked nor dropped."`
	Invalid  int64 `json:"invalid" doc:"Events refused for a malformed name, or a NUL character (U+0000) in their properties or user."`
	Pending  int   `json:"pending" doc:"Events waiting in memory."`
	Flushes  int64 `json:"flushes" doc:"Successful writes of the buffer."`
	Failures int64 `json:"failures" doc:"Failed writes of the buffer."`
	// LastFlush and LastFailure are zero when there was none, and then left out of the JSON
	// rather than shown as 0001-01-01T00:00:00Z.
	LastFlush   time.Time `json:"last_flush,omitzero" doc:"When the buffer was last written; absent before the first write."`
	LastFailure time.Time `json:"last_failure,omitzero" doc:"When a write of the buffer last failed; absent when none has."`
}

// Stats returns the counters.
func (s *Service) Stats() Stats {
	return Stats{
		Tracked: s.tracked.Load(), Stored: s.stored.Load(), Dropped: s.dropped.Load(), Refused: s.refused.Load(), Rejected: s.rejected.Load(),
		Invalid: s.invalid.Load(), Pending: s.Pending(), Flushes: s.flushes.Load(), Failures: s.failures.Load(),
		LastFlush: unixTime(s.lastFlush.Load()), LastFailure: unixTime(s.lastFailure.Load()),
	}
}

func unixTime(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// CheckHealth is degraded while writes fail (the last one failed), while a write has been
// running for slowWrite or longer (the database locked or hung), or when events were
// dropped, or API batches rejected, in the last 15 minutes; the counters are in the details. It never queries the
// database.
func (s *Service) CheckHealth(context.Context) registry.Health {
	st := s.Stats()
	s.mu.Lock()
	lastDrop, lastReject := s.lastDrop, s.lastReject
	s.mu.Unlock()
	details := map[string]any{"tracked": st.Tracked, "stored": st.Stored, "dropped": st.Dropped, "refused": st.Refused, "rejected": st.Rejected, "invalid": st.Invalid,
		"pending": st.Pending, "flushes": st.Flushes, "failures": st.Failures, "buffer_limit": s.settings.BufferLimit}
	var running time.Duration
	if w := s.writing.Load(); w != 0 {
		running = s.now().Sub(time.Unix(0, w))
	}
	switch {
	case running >= slowWrite:
		return registry.Health{Status: registry.StatusDegraded, Details: details,
			Message: fmt.Sprintf("a write to the database has been running for %s (the database locked or slow); %d events waiting in memory, %d dropped",
				running.Round(time.Second), st.Pending, st.Dropped)}
	case st.LastFailure.After(st.LastFlush):
		return registry.Health{Status: registry.StatusDegraded, Details: details,
			Message: fmt.Sprintf("writing events to the database fails; %d waiting in memory, %d dropped", st.Pending, st.Dropped)}
	case !lastDrop.IsZero() && s.now().Sub(lastDrop) < dropWindow:
		return registry.Health{Status: registry.StatusDegraded, Details: details,
			Message: fmt.Sprintf("%d events dropped (%d refused by the database for a value it cannot store, the rest for a full buffer); the last %s ago",
				st.Dropped, st.Refused, s.now().Sub(lastDrop).Round(time.Second))}
	case !lastReject.IsZero() && s.now().Sub(lastReject) < dropWindow:
		return registry.Health{Status: registry.StatusDegraded, Details: details,
			Message: fmt.Sprintf("%d events of API batches rejected with 503 (the buffer full or the service stopping), for their clients to send again; the last %s ago",
				st.Rejected, s.now().Sub(lastReject).Round(time.Second))}
	}
	return registry.Health{Status: registry.StatusHealthy, Details: details,
		Message: fmt.Sprintf("%d events stored, %d waiting", st.Stored, st.Pending)}
}

// errorKind names the kind of a write error for the log without its text, which may quote
// SQL or data.
func errorKind(err error) string {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "cancelled"
	case errors.Is(err, database.ErrClosed):
		return "database closed"
	default:
		return "database error"
	}
}

// Interface guards.
var (
	_ registry.Starter       = (*Service)(nil)
	_ registry.Stopper       = (*Service)(nil)
	_ registry.HealthChecker = (*Service)(nil)
)
