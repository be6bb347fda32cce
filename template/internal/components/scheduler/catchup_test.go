package scheduler

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/aegisgo/aegis/template/internal/runtime/logtest"
)

// barrierStore's Last returns once n callers wait in it, as when instances start together:
// every one reads the history before any claims the missed run.
type barrierStore struct {
	*memoryStore
	mu      sync.Mutex
	n       int
	waiting int
	all     chan struct{}
}

func (s *barrierStore) Last(ctx context.Context) (map[string]Run, error) {
	s.mu.Lock()
	if s.waiting++; s.waiting == s.n {
		close(s.all)
	}
	s.mu.Unlock()
	select {
	case <-s.all:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return s.memoryStore.Last(ctx)
}

// TestCatchUpLoggedOnce: instances starting together each try the catch-up of a missed run;
// one claims it and runs it, and only that one logs "running missed job once", so the logs of
// n instances do not read as n runs.
func TestCatchUpLoggedOnce(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name      string
		instances int
	}{
		{"one instance", 1},
		{"three instances", 3},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			store := &barrierStore{memoryStore: newMemoryStore(), n: tt.instances, all: make(chan struct{})}
			// test_cron (03:00 daily, MissedRunOnce) last ran two days ago.
			twoDaysAgo := time.Now().UTC().Add(-48 * time.Hour).Truncate(24 * time.Hour).Add(3 * time.Hour)
			if err := store.Finish(t.Context(), Run{Job: "test_cron", Tick: twoDaysAgo, Outcome: OutcomeOK}); err != nil {
				t.Fatal(err)
			}
			var logs logtest.Buffer
			logger := slog.New(slog.NewJSONHandler(&logs, nil))
			var ss []*Scheduler
			for range tt.instances {
				s, err := New(Settings{}, &Opts{Tick: true, Store: store, Dispatcher: &fakeDispatcher{}, Logger: logger})
				if err != nil {
					t.Fatal(err)
				}
				ss = append(ss, s)
			}
			for _, s := range ss {
				if err := s.Start(t.Context()); err != nil {
					t.Fatal(err)
				}
			}
			deadline := time.Now().Add(5 * time.Second)
			for {
				last, _ := store.memoryStore.Last(t.Context())
				if last["test_cron"].Tick.After(twoDaysAgo) {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("the missed run was not caught up")
				}
				time.Sleep(10 * time.Millisecond)
			}
			for _, s := range ss {
				if err := s.Stop(context.Background()); err != nil {
					t.Fatal(err)
				}
			}
			if n := len(logs.Records(t, "scheduler: running missed job once")); n != 1 {
				t.Errorf("%d instances logged the catch-up %d times, want once\n%s", tt.instances, n, logs.String())
			}
		})
	}
}

// A run stopped from outside (shutdown, the worker's job cancelled) is a WARN "job
// interrupted", not an ERROR "job failed", which would page someone at every deploy; a job
// failing on its own, its timeout included, is still an ERROR.
func TestInterruptedRunIsNotAnError(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name        string
		interrupt   bool
		wantLevel   string
		wantMsg     string
		wantOutcome Outcome
		fromTimeout bool
	}{
		{name: "cancelled from outside", interrupt: true, wantLevel: "WARN", wantMsg: "scheduler: job interrupted", wantOutcome: OutcomeFailed},
		{name: "past its timeout", fromTimeout: true, wantLevel: "ERROR", wantMsg: "scheduler: job failed", wantOutcome: OutcomeFailed},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var logs logtest.Buffer
			settings := Settings{}
			if tt.fromTimeout {
				settings.JobTimeout = 50 * time.Millisecond
			}
			s, err := New(settings, &Opts{Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
			if err != nil {
				t.Fatal(err)
			}
			c := &manualControl{started: make(chan struct{}), release: make(chan struct{}), cancelled: make(chan error, 1)}
			ctx, cancel := context.WithCancel(context.WithValue(t.Context(), manualControl{}, c))
			defer cancel()
			done := make(chan error, 1)
			go func() { done <- s.Execute(ctx, "test_manual", time.Now()) }()
			<-c.started
			if tt.interrupt {
				cancel()
			}
			if err := <-done; err == nil {
				t.Fatal("the run did not fail")
			}
			recs := logs.Records(t, tt.wantMsg)
			if len(recs) != 1 || recs[0]["level"] != tt.wantLevel {
				t.Errorf("logs %s, want one %s %q", logs.String(), tt.wantLevel, tt.wantMsg)
			}
			last, err := s.store.Last(t.Context())
			if err != nil || last["test_manual"].Outcome != tt.wantOutcome {
				t.Errorf("recorded run %+v (%v), want outcome %s", last["test_manual"], err, tt.wantOutcome)
			}
		})
	}
}

// allDispatcher records every dispatch, whichever the job.
type allDispatcher struct {
	mu     sync.Mutex
	ticks  map[string][]time.Time
	queued map[time.Time]bool // ticks already in the queue
}

func (d *allDispatcher) Dispatch(_ context.Context, job string, tick time.Time) (bool, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.ticks[job] = append(d.ticks[job], tick)
	return !d.queued[tick], nil
}

func (d *allDispatcher) has(job string, tick time.Time) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, t := range d.ticks[job] {
		if t.Equal(tick) {
			return true
		}
	}
	return false
}

// TestLostClaimEnqueuedAtStart: a tick an instance claimed but never recorded as enqueued (it
// died between the two) is enqueued by the next scheduler to start, and recorded as such; a
// tick recorded with an outcome is left alone.
func TestLostClaimEnqueuedAtStart(t *testing.T) {
	t.Parallel()
	store := &finishStore{memoryStore: newMemoryStore()}
	lost := time.Now().UTC().Add(-10 * time.Second).Truncate(time.Second)
	done := time.Now().UTC().Add(-time.Minute).Truncate(time.Second)
	for _, r := range []Run{
		{Job: "test_every", Tick: lost, Instance: "gone", Started: lost, Outcome: OutcomeRunning},
		{Job: "test_fail", Tick: done, Instance: "gone", Started: done, Outcome: OutcomeOK},
	} {
		if won, err := store.Claim(t.Context(), r); !won || err != nil {
			t.Fatalf("claim %+v: %v, %v", r, won, err)
		}
	}
	d := &allDispatcher{ticks: map[string][]time.Time{}}
	catchUp(t, store, d, "test_every", lost)
	if got, _ := store.finished(lost); got.Outcome != OutcomeEnqueued {
		t.Errorf("the lost tick is recorded %q, want %q", got.Outcome, OutcomeEnqueued)
	}
	if d.has("test_fail", done) {
		t.Error("a tick with an outcome was enqueued again")
	}
}

// TestRestartKeepsRunningTick: a tick a worker has begun (Execute recorded it running, with
// the worker's start) is still in the queue, so the next scheduler to start finds it running
// and, enqueuing it again, hears that it is queued already; it must not record the tick as
// enqueued, which would move a running row back and hide the run in progress.
func TestRestartKeepsRunningTick(t *testing.T) {
	t.Parallel()
	store := &finishStore{memoryStore: newMemoryStore()}
	tick := time.Now().UTC().Add(-10 * time.Second).Truncate(time.Second)
	claim := Run{Job: "test_every", Tick: tick, Instance: "gone", Started: tick, Outcome: OutcomeRunning}
	if won, err := store.Claim(t.Context(), claim); !won || err != nil {
		t.Fatalf("claim: %v, %v", won, err)
	}
	running := Run{Job: "test_every", Tick: tick, Instance: "worker", Started: tick.Add(2 * time.Second), Outcome: OutcomeRunning}
	if err := store.Finish(t.Context(), running); err != nil { // as Execute records it
		t.Fatal(err)
	}
	d := &allDispatcher{ticks: map[string][]time.Time{}, queued: map[time.Time]bool{tick: true}}
	catchUp(t, store, d, "test_every", tick)
	last, err := store.Last(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	// test_every ticks every second, so its latest run may be a newer tick; read this one.
	if got, _ := store.finished(tick); got != running {
		t.Errorf("the running tick is recorded %+v, want %+v (latest %+v)", got, running, last["test_every"])
	}
}

// catchUp starts a ticking scheduler over store, waits until it has enqueued job's tick (its
// catch-up at start) and stops it.
func catchUp(t *testing.T, store Store, d *allDispatcher, job string, tick time.Time) {
	t.Helper()
	s, err := New(Settings{}, &Opts{Tick: true, Store: store, Dispatcher: d, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !d.has(job, tick) {
		if time.Now().After(deadline) {
			t.Fatalf("the tick %s of %s was not enqueued at start", tick, job)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := s.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
}
