package scheduler

import (
	"context"
	"errors"
	"log/slog"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aegisgo/aegis/template/internal/command"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
	"github.com/aegisgo/aegis/template/internal/runtime/registry/registrytest"
)

// panicNow in a run's context makes test_fail panic.
type panicNow struct{}

func init() {
	// test_every's runs are counted in each test's own store or dispatcher: the schedulers of
	// parallel tests run it too.
	registry.Contribute(registry.Default, "test_every", Every(time.Second, func(ctx context.Context) error { return nil }, nil))
	registry.Contribute(registry.Default, "test_cron", Cron("0 3 * * *", func(ctx context.Context) error { return nil }, &JobOpts{Missed: MissedRunOnce}))
	// test_fail panics when its context says so, and fails otherwise: steered per call, so the
	// test gives the same result however often it runs.
	registry.Contribute(registry.Default, "test_fail", Every(time.Hour, func(ctx context.Context) error {
		if ctx.Value(panicNow{}) != nil {
			panic("boom")
		}
		return errors.New("broken")
	}, nil))
	// test_manual is steered by a *manualControl in its context, so parallel tests do not
	// share state; without one it returns at once.
	registry.Contribute(registry.Default, "test_manual", Every(time.Hour, func(ctx context.Context) error {
		c, ok := ctx.Value(manualControl{}).(*manualControl)
		if !ok {
			return nil
		}
		close(c.started)
		select {
		case <-c.release:
			return nil
		case <-ctx.Done():
			c.cancelled <- ctx.Err()
			return ctx.Err()
		}
	}, nil))
}

// manualControl sequences a run of test_manual: started closes when it begins, closing
// release lets it return, and cancelled receives its context's error if that ends first.
type manualControl struct {
	started, release chan struct{}
	cancelled        chan error
}

func startManual(t *testing.T, s *Scheduler) (*manualControl, <-chan RunNowResult) {
	t.Helper()
	c := &manualControl{started: make(chan struct{}), release: make(chan struct{}), cancelled: make(chan error, 1)}
	// The request's context is cancelled at once: the run must not care.
	ctx, cancel := context.WithCancel(context.WithValue(t.Context(), manualControl{}, c))
	defer cancel()
	done, err := s.RunInBackground(ctx, "test_manual")
	if err != nil {
		t.Fatal(err)
	}
	<-c.started
	return c, done
}

// stopping waits, without sleeping, until s refuses new manual runs.
func stopping(s *Scheduler) {
	for {
		s.mu.Lock()
		st := s.stopping
		s.mu.Unlock()
		if st {
			return
		}
		runtime.Gosched()
	}
}

func TestNextAndTick(t *testing.T) {
	t.Parallel()
	s, err := New(Settings{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 23, 10, 15, 30, 0, time.UTC)
	cron, every := s.byName["test_cron"], s.byName["example_heartbeat"]
	if got, want := cron.Next(at), time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("cron next %s, want %s", got, want)
	}
	if got, want := every.Next(at), time.Date(2026, 11, 23, 11, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("hourly next %s, want %s", got, want)
	}
	tick := time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC)
	for _, fired := range []time.Duration{-200 * time.Millisecond, 0, 30 * time.Millisecond, 400 * time.Millisecond} {
		if got := cron.tickAt(tick.Add(fired)); !got.Equal(tick) {
			t.Errorf("cron fired at %s names tick %s, want %s", fired, got, tick)
		}
		if got := every.tickAt(tick.Add(fired)); !got.Equal(tick) {
			t.Errorf("interval job fired at %s names tick %s, want %s", fired, got, tick)
		}
	}
}

func TestRegistrationErrors(t *testing.T) {
	t.Parallel()
	fn := func(context.Context) error { return nil }
	_, err := jobList(registry.All[*Job]{
		{Name: "a", Value: Every(time.Hour, fn, nil), Registered: "x.go:1"},
		{Name: "a", Value: Every(time.Hour, fn, nil), Registered: "y.go:2"},
		{Name: "Bad Name", Value: Every(time.Hour, fn, nil), Registered: "z.go:3"},
		{Name: "fast", Value: Every(time.Millisecond, fn, nil), Registered: "f.go:4"},
		{Name: "bad_cron", Value: Cron("61 * * * *", fn, nil), Registered: "c.go:5"},
	})
	for _, w := range []string{"x.go:1", "y.go:2", "z.go:3", "f.go:4", "below 1s", "c.go:5", "cron expression"} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("errors %v, want %q", err, w)
		}
	}
	// Contributed, the same mistakes fail Build with the file:lines of both registrations.
	r := registry.New()
	registry.Contribute(r, "a", Every(time.Hour, fn, nil))
	registry.Contribute(r, "a", Every(time.Hour, fn, nil))
	registry.Contribute(r, "fast", Every(time.Millisecond, fn, nil))
	err = r.Validate()
	for _, w := range []string{"scheduler_test.go:", "duplicate name", "below 1s"} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("Validate = %v, want %q", err, w)
		}
	}
}

func TestTicksInProcess(t *testing.T) {
	t.Parallel()
	// The runs are counted in this scheduler's store, not in test_every: the package's parallel
	// tests start schedulers that run it too.
	store := &tickLog{memoryStore: newMemoryStore()}
	s, err := New(Settings{}, &Opts{Tick: true, Store: store})
	if err != nil {
		t.Fatal(err)
	}
	from := time.Now()
	if err := s.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	// Two runs, however late a loaded machine fires them (a wait that costs 1-2 s when fast).
	waitFor(t, "test_every to run twice", func() bool { return len(store.runs()) >= 2 })
	if err := s.Stop(t.Context()); err != nil {
		t.Fatal(err)
	}
	runs := store.runs()
	checkTicks(t, runs, from, time.Now())
	for _, r := range runs {
		if r.Outcome != OutcomeOK {
			t.Errorf("run of tick %s: %s %q, want ok", r.Tick, r.Outcome, r.Error)
		}
	}
	st, err := s.Status(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range st {
		if j.Job.Name == "test_every" && (j.Last == nil || j.Last.Outcome != OutcomeOK) {
			t.Errorf("status of test_every: %+v", j.Last)
		}
	}
	if err := s.Stop(t.Context()); err != nil {
		t.Errorf("second Stop: %v", err)
	}
}

// tickLog is a memoryStore that keeps every finished run of test_every.
type tickLog struct {
	*memoryStore
	mu       sync.Mutex
	finished []Run
}

func (s *tickLog) Finish(ctx context.Context, r Run) error {
	if r.Job == "test_every" {
		s.mu.Lock()
		s.finished = append(s.finished, r)
		s.mu.Unlock()
	}
	return s.memoryStore.Finish(ctx, r)
}

func (s *tickLog) runs() []Run {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.finished)
}

// waitFor polls cond until it holds. The deadline is for a hung scheduler, not a measure: on a
// loaded CI machine ticks fire late (a fixed sleep then counted too few of them).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("waited 30 s for %s", what)
		}
	}
}

// checkTicks checks that the runs of an every-second job between from and to each ran a
// distinct tick, on a whole second, within that time: at most one run a tick, and no more
// ticks than seconds passed.
func checkTicks(t *testing.T, runs []Run, from, to time.Time) {
	t.Helper()
	seen := map[time.Time]bool{}
	for _, r := range runs {
		tick := r.Tick
		if seen[tick] {
			t.Errorf("tick %s ran twice", tick)
		}
		seen[tick] = true
		// A run names the tick nearest its firing (tickAt): within half a second of it.
		if !tick.Equal(tick.Truncate(time.Second)) || tick.Before(from.Add(-time.Second)) || tick.After(to.Add(time.Second)) {
			t.Errorf("tick %s is not a whole second between %s and %s", tick, from, to)
		}
	}
	if len(runs) < 2 {
		t.Errorf("%d runs of an every-second job, want at least 2", len(runs))
	}
}

// The store and the dispatcher are optional dependencies: the scheduler uses those the
// container provides (the glue packages'), and memory and this process without them.
func TestOptionalStoreAndDispatcher(t *testing.T) {
	t.Parallel()
	for _, withPlugins := range []bool{false, true} {
		store := newMemoryStore()
		c := registrytest.Start(t, registry.New(), AddTo, func(r *registry.Registry) error {
			err := registry.Value(r, command.RoleNone)
			if withPlugins {
				err = errors.Join(err, registry.Value[Store](r, store), registry.Value[Dispatcher](r, &fakeDispatcher{}))
			}
			return err
		})
		s := registry.MustGet[*Scheduler](c)
		if got := s.store == Store(store); got != withPlugins {
			t.Errorf("with plugins %v: uses the container's store: %v", withPlugins, got)
		}
		if got := s.dispatcher != nil; got != withPlugins {
			t.Errorf("with plugins %v: has a dispatcher: %v", withPlugins, got)
		}
		if err := c.Stop(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
}

func TestRunNowRecordsFailures(t *testing.T) {
	t.Parallel()
	s, err := New(Settings{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := s.RunNow(context.WithValue(t.Context(), panicNow{}, true), "test_fail")
	if err == nil || !strings.Contains(err.Error(), "panicked") || r.Outcome != OutcomeFailed {
		t.Errorf("a panicking job: %+v, %v", r, err)
	}
	r, err = s.RunNow(t.Context(), "test_fail")
	if err == nil || r.Outcome != OutcomeFailed || r.Error != "broken" {
		t.Errorf("a failing job: %+v, %v", r, err)
	}
	if _, err := s.RunNow(t.Context(), "nope"); err == nil {
		t.Error("RunNow of an unknown job succeeded")
	}
}

// fakeDispatcher records dispatched ticks of test_every.
type fakeDispatcher struct {
	mu    sync.Mutex
	ticks []Run
}

func (f *fakeDispatcher) Dispatch(ctx context.Context, job string, tick time.Time) (bool, error) {
	if job == "test_every" {
		f.mu.Lock()
		f.ticks = append(f.ticks, Run{Job: job, Tick: tick})
		f.mu.Unlock()
	}
	return true, nil
}

func (f *fakeDispatcher) dispatched() []Run {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.ticks)
}

// failingDispatcher fails the first fails dispatches of test_every, as an enqueue does while
// the database is briefly unreachable.
type failingDispatcher struct {
	fakeDispatcher
	fails atomic.Int32
	calls []time.Time // the tick of each call
}

func (f *failingDispatcher) Dispatch(ctx context.Context, job string, tick time.Time) (bool, error) {
	if job != "test_every" {
		return true, nil
	}
	f.mu.Lock()
	f.calls = append(f.calls, tick)
	f.mu.Unlock()
	if f.fails.Add(-1) >= 0 {
		return false, errors.New("enqueue: connection refused")
	}
	return f.fakeDispatcher.Dispatch(ctx, job, tick)
}

// finishStore keeps every finished run of test_every by tick.
type finishStore struct {
	*memoryStore
	mu   sync.Mutex
	runs map[time.Time]Run
}

func (s *finishStore) Finish(ctx context.Context, r Run) error {
	if r.Job == "test_every" {
		s.mu.Lock()
		if s.runs == nil {
			s.runs = map[time.Time]Run{}
		}
		s.runs[r.Tick] = r
		s.mu.Unlock()
	}
	return s.memoryStore.Finish(ctx, r)
}

func (s *finishStore) finished(tick time.Time) (Run, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.runs[tick]
	return r, ok
}

// TestDispatchRetried: a tick whose dispatch fails is dispatched again, the same tick, and
// recorded as enqueued once that works; a dispatch that keeps failing is recorded as failed
// after the last try.
func TestDispatchRetried(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name  string
		fails int32
		want  Outcome
		calls int
	}{
		{"recovers", 2, OutcomeEnqueued, 3},
		{"gives up", 100, OutcomeFailed, 4},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			store := &finishStore{memoryStore: newMemoryStore()}
			d := &failingDispatcher{}
			d.fails.Store(tt.fails)
			s, err := New(Settings{}, &Opts{Tick: true, Store: store, Dispatcher: d, Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				t.Fatal(err)
			}
			s.dispatchWaits = []time.Duration{time.Millisecond, time.Millisecond, time.Millisecond}
			if err := s.Start(t.Context()); err != nil {
				t.Fatal(err)
			}
			defer s.Stop(context.Background())
			var first Run
			waitFor(t, "the first tick's outcome", func() bool {
				d.mu.Lock()
				defer d.mu.Unlock()
				if len(d.calls) == 0 {
					return false
				}
				var ok bool
				first, ok = store.finished(d.calls[0])
				return ok
			})
			d.mu.Lock()
			calls := slices.Clone(d.calls)
			d.mu.Unlock()
			var same int
			for _, c := range calls {
				if c.Equal(first.Tick) {
					same++
				}
			}
			if first.Outcome != tt.want || same != tt.calls {
				t.Errorf("first tick: outcome %s after %d dispatches, want %s after %d", first.Outcome, same, tt.want, tt.calls)
			}
		})
	}
}

// Two schedulers sharing a store run each tick once; missed runs of MissedRunOnce jobs are
// caught up once.
func TestSharedStoreRunsTickOnce(t *testing.T) {
	t.Parallel()
	store := newMemoryStore()
	// test_cron last ran two days ago: its run of yesterday 03:00 was missed.
	_, _ = store.Claim(t.Context(), Run{Job: "test_cron", Tick: time.Now().UTC().Add(-48 * time.Hour).Truncate(24 * time.Hour).Add(3 * time.Hour)})
	d := &fakeDispatcher{}
	from := time.Now()
	var ss []*Scheduler
	for range 2 {
		s, err := New(Settings{}, &Opts{Tick: true, Store: store, Dispatcher: d})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		ss = append(ss, s)
	}
	// Three ticks and the catch-up, however late a loaded machine runs them.
	caughtUp := func() bool {
		last, _ := store.Last(t.Context())
		return last["test_cron"].Outcome == OutcomeEnqueued
	}
	waitFor(t, "three ticks and the catch-up", func() bool { return len(d.dispatched()) >= 3 && caughtUp() })
	for _, s := range ss {
		if err := s.Stop(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	checkTicks(t, d.dispatched(), from, time.Now())
	last, _ := store.Last(t.Context())
	if r := last["test_cron"]; r.Outcome != OutcomeEnqueued || time.Since(r.Tick) > 48*time.Hour {
		t.Errorf("missed cron run not caught up: %+v", r)
	}
}

// slowStore's SaveSchedule waits for release or for its context, as a database write that
// waits for SQLite's lock would; Last waits the same way.
type slowStore struct {
	*memoryStore
	release chan struct{}
	saved   atomic.Bool
	ended   atomic.Bool // a call returned because its context ended
}

func (s *slowStore) wait(ctx context.Context) error {
	select {
	case <-s.release:
		return nil
	case <-ctx.Done():
		s.ended.Store(true)
		return ctx.Err()
	}
}

func (s *slowStore) SaveSchedule(ctx context.Context, _ []Entry) error {
	if err := s.wait(ctx); err != nil {
		return err
	}
	s.saved.Store(true)
	return nil
}

func (s *slowStore) Last(ctx context.Context) (map[string]Run, error) {
	if err := s.wait(ctx); err != nil {
		return nil, err
	}
	return s.memoryStore.Last(ctx)
}

// Recording the schedule and reading the run history happen beside the app's start: Start
// returns while the store is still busy, the work finishes afterwards, and Stop ends and
// awaits work that has not finished.
func TestStartDoesNotWaitForTheStore(t *testing.T) {
	t.Parallel()
	for _, finish := range []bool{true, false} {
		store := &slowStore{memoryStore: newMemoryStore(), release: make(chan struct{})}
		s, err := New(Settings{}, &Opts{Tick: true, Store: store})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		if err := s.Start(ctx); err != nil {
			t.Fatal(err)
		}
		cancel() // as Container.Start does once every service has started
		if store.saved.Load() {
			t.Fatal("Start waited for SaveSchedule")
		}
		if finish {
			close(store.release)
			deadline := time.Now().Add(5 * time.Second)
			for !store.saved.Load() && time.Now().Before(deadline) {
				time.Sleep(time.Millisecond)
			}
			if !store.saved.Load() {
				t.Fatal("the schedule was not saved after Start")
			}
		}
		if err := s.Stop(context.Background()); err != nil {
			t.Fatal(err)
		}
		if !finish && !store.ended.Load() {
			t.Error("Stop returned while the start-up work still waited on the store")
		}
	}
}

// A manual run in progress when the scheduler stops is awaited while it finishes in time, and
// cancelled when Stop's context ends first; either way its outcome is recorded.
func TestRunInBackgroundAtStop(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name        string
		tick        bool
		stop        func(s *Scheduler, ctx context.Context) error
		finishes    bool // the run ends on its own once Stop waits for it
		wantStopErr error
		wantOutcome Outcome
		wantRunErr  error
	}{
		{name: "awaited", stop: (*Scheduler).Stop, finishes: true, wantOutcome: OutcomeOK},
		{name: "awaited while ticking", tick: true, stop: (*Scheduler).Stop, finishes: true, wantOutcome: OutcomeOK},
		{name: "cancelled at the deadline", stop: (*Scheduler).Stop, wantStopErr: context.Canceled, wantOutcome: OutcomeFailed, wantRunErr: context.Canceled},
		{name: "cancelled at the deadline while ticking", tick: true, stop: (*Scheduler).Stop, wantStopErr: context.Canceled, wantOutcome: OutcomeFailed, wantRunErr: context.Canceled},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, err := New(Settings{}, &Opts{Tick: tc.tick})
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Start(t.Context()); err != nil {
				t.Fatal(err)
			}
			c, done := startManual(t, s)

			// A run that ends on its own gets all the time it needs; for one that does not,
			// Stop's context has already ended.
			ctx, cancel := context.WithCancel(context.Background())
			if !tc.finishes {
				cancel()
			}
			defer cancel()
			stopped := make(chan error, 1)
			go func() { stopped <- tc.stop(s, ctx) }()
			if tc.finishes {
				stopping(s)
				select {
				case err := <-stopped:
					t.Fatalf("Stop returned (%v) while a manual run was in progress", err)
				default:
				}
				close(c.release)
			}
			if err := <-stopped; !errors.Is(err, tc.wantStopErr) {
				t.Fatalf("Stop = %v, want %v", err, tc.wantStopErr)
			}
			if !tc.finishes {
				if err := <-c.cancelled; !errors.Is(err, context.Canceled) {
					t.Errorf("the run's context ended with %v, want it cancelled", err)
				}
				// Once cancelled, the run ends; a second Stop waits for it to be recorded.
				if err := s.Stop(context.Background()); err != nil {
					t.Errorf("second Stop: %v", err)
				}
			}

			res := <-done
			if !errors.Is(res.Err, tc.wantRunErr) || res.Run.Outcome != tc.wantOutcome {
				t.Errorf("run = %+v, %v; want %s, %v", res.Run, res.Err, tc.wantOutcome, tc.wantRunErr)
			}
			if _, open := <-done; open {
				t.Error("the result channel is not closed after its result")
			}
			st, err := s.Status(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			for _, j := range st {
				if j.Job.Name == "test_manual" && (j.Last == nil || j.Last.Outcome != tc.wantOutcome) {
					t.Errorf("recorded run of test_manual: %+v, want %s", j.Last, tc.wantOutcome)
				}
			}
		})
	}
}

// Once Stop or Detach began, RunInBackground refuses with ErrStopped; an unknown job is
// refused before that.
func TestRunInBackgroundRefuses(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		job     string
		stop    func(s *Scheduler) error
		wantErr error
	}{
		{name: "after Stop", job: "test_manual", stop: func(s *Scheduler) error { return s.Stop(context.Background()) }, wantErr: ErrStopped},
		{name: "after Stop before Start", job: "test_manual", stop: func(s *Scheduler) error { return s.Stop(context.Background()) }, wantErr: ErrStopped},
		{name: "unknown job", job: "nope", stop: func(*Scheduler) error { return nil }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, err := New(Settings{}, &Opts{Tick: true})
			if err != nil {
				t.Fatal(err)
			}
			if tc.name != "after Stop before Start" {
				if err := s.Start(t.Context()); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = s.Stop(context.Background()) })
			}
			if err := tc.stop(s); err != nil {
				t.Fatal(err)
			}
			done, err := s.RunInBackground(t.Context(), tc.job)
			if err == nil || done != nil {
				t.Fatalf("RunInBackground = %v, %v; want an error", done, err)
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Errorf("error %v, want %v", err, tc.wantErr)
			}
			if !strings.Contains(err.Error(), tc.job) {
				t.Errorf("error %q does not name the job", err)
			}
		})
	}
}

// A tick run by the worker (Execute) shows as running in the history while it runs, not as
// enqueued, and a dispatcher recording "enqueued" late does not hide that; once it ends, its
// outcome.
func TestExecuteRecordsRunning(t *testing.T) {
	t.Parallel()
	store := newMemoryStore()
	s, err := New(Settings{}, &Opts{Store: store, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	tick := time.Now().UTC().Truncate(time.Hour)
	claim := Run{Job: "test_manual", Tick: tick, Instance: "dispatcher", Started: time.Now().UTC(), Outcome: OutcomeRunning}
	if won, err := store.Claim(ctx, claim); err != nil || !won {
		t.Fatalf("claim: %v, %v", won, err)
	}
	outcome := func() Outcome {
		t.Helper()
		st, err := s.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, j := range st {
			if j.Job.Name == "test_manual" && j.Last != nil && j.Last.Tick.Equal(tick) {
				return j.Last.Outcome
			}
		}
		return ""
	}
	enqueued := claim
	enqueued.Outcome = OutcomeEnqueued
	for _, tc := range []struct {
		name            string
		enqueuedAtStart bool // the dispatcher records "enqueued" before the worker begins
	}{{"enqueued, then run", true}, {"run before enqueued is recorded", false}} {
		if tc.enqueuedAtStart {
			if err := store.Finish(ctx, enqueued); err != nil {
				t.Fatal(err)
			}
		}
		c := &manualControl{started: make(chan struct{}), release: make(chan struct{}), cancelled: make(chan error, 1)}
		done := make(chan error, 1)
		go func() { done <- s.Execute(context.WithValue(ctx, manualControl{}, c), "test_manual", tick) }()
		<-c.started
		if !tc.enqueuedAtStart {
			if err := store.Finish(ctx, enqueued); err != nil {
				t.Fatal(err)
			}
		}
		if got := outcome(); got != OutcomeRunning {
			t.Errorf("%s: while the job runs the history says %q, want %q", tc.name, got, OutcomeRunning)
		}
		close(c.release)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if got := outcome(); got != OutcomeOK {
			t.Errorf("%s: after the job the history says %q, want %q", tc.name, got, OutcomeOK)
		}
	}
}
