package scheduler

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

var (
	everyRuns atomic.Int64
	failRuns  atomic.Int64
)

func init() {
	Every("test_every", time.Second, func(ctx context.Context) error {
		everyRuns.Add(1)
		return nil
	}, nil)
	Cron("test_cron", "0 3 * * *", func(ctx context.Context) error { return nil }, &JobOpts{Missed: MissedRunOnce})
	Every("test_fail", time.Hour, func(ctx context.Context) error {
		if failRuns.Add(1) == 1 {
			panic("boom")
		}
		return errors.New("broken")
	}, nil)
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
	s := &jobSet{}
	s.add(&Job{Name: "a", fn: func(context.Context) error { return nil }, where: "x.go:1"}, nil)
	s.add(&Job{Name: "a", fn: func(context.Context) error { return nil }, where: "y.go:2"}, nil)
	s.add(&Job{Name: "Bad Name", fn: func(context.Context) error { return nil }, where: "z.go:3"}, nil)
	_, err := s.list()
	if err == nil || !strings.Contains(err.Error(), "x.go:1") || !strings.Contains(err.Error(), "y.go:2") || !strings.Contains(err.Error(), "z.go:3") {
		t.Errorf("errors %v, want the duplicate and the bad name with their places", err)
	}
}

func TestTicksInProcess(t *testing.T) {
	t.Parallel()
	s, err := New(Settings{}, &Opts{Tick: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	before := everyRuns.Load()
	time.Sleep(2500 * time.Millisecond)
	if err := s.Stop(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := everyRuns.Load() - before; n < 2 || n > 3 {
		t.Errorf("an every-second job ran %d times in 2.5s", n)
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

func TestWaitsForPlugins(t *testing.T) {
	t.Parallel()
	s, err := New(Settings{}, &Opts{Tick: true, WaitFor: []string{"store"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	if s.Ticking() {
		t.Fatal("ticking before its plugin attached")
	}
	if err := s.Attach(t.Context(), "store", Plugin{Store: newMemoryStore()}); err != nil {
		t.Fatal(err)
	}
	if !s.Ticking() {
		t.Fatal("not ticking after its plugin attached")
	}
	if err := s.Detach(t.Context(), "store"); err != nil {
		t.Fatal(err)
	}
	if s.Ticking() {
		t.Fatal("still ticking after Detach")
	}
}

func TestRunNowRecordsFailures(t *testing.T) {
	t.Parallel()
	s, err := New(Settings{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := s.RunNow(t.Context(), "test_fail")
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

// fakeDispatcher records dispatched ticks.
type fakeDispatcher struct{ n atomic.Int64 }

func (f *fakeDispatcher) Dispatch(ctx context.Context, job string, tick time.Time) error {
	if job == "test_every" {
		f.n.Add(1)
	}
	return nil
}

// Two schedulers sharing a store run each tick once; missed runs of MissedRunOnce jobs are
// caught up once.
func TestSharedStoreRunsTickOnce(t *testing.T) {
	t.Parallel()
	store := newMemoryStore()
	// test_cron last ran two days ago: its run of yesterday 03:00 was missed.
	_, _ = store.Claim(t.Context(), Run{Job: "test_cron", Tick: time.Now().UTC().Add(-48 * time.Hour).Truncate(24 * time.Hour).Add(3 * time.Hour)})
	d := &fakeDispatcher{}
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
	time.Sleep(3200 * time.Millisecond)
	for _, s := range ss {
		if err := s.Stop(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if n := d.n.Load(); n < 3 || n > 4 {
		t.Errorf("two schedulers dispatched %d ticks of an every-second job in 3.2s, want 3", n)
	}
	last, _ := store.Last(t.Context())
	if r := last["test_cron"]; r.Outcome != OutcomeEnqueued || time.Since(r.Tick) > 48*time.Hour {
		t.Errorf("missed cron run not caught up: %+v", r)
	}
}
