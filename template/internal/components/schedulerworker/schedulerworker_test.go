package schedulerworker

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/aegisgo/aegis/template/internal/components/database"
	"github.com/aegisgo/aegis/template/internal/components/database/databasetest"
	"github.com/aegisgo/aegis/template/internal/components/scheduler"
	"github.com/aegisgo/aegis/template/internal/components/worker"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
	"github.com/aegisgo/aegis/template/internal/runtime/registry/registrytest"
)

// flaky counts runs per database (each engine's subtest has its own), resolved from the
// job's scope.
var flaky sync.Map // *database.DB -> *atomic.Int64

func init() {
	registry.Contribute(registry.Default, "test_worker_flaky", scheduler.Every(time.Hour, func(ctx context.Context) error {
		res, ok := registry.FromContext(ctx)
		if !ok {
			return errors.New("no scope")
		}
		db, err := registry.Get[*database.DB](res)
		if err != nil {
			return err
		}
		n, _ := flaky.LoadOrStore(db, new(atomic.Int64))
		if n.(*atomic.Int64).Add(1) == 1 {
			return errors.New("first run fails")
		}
		return nil
	}, nil))
}

// A tick enqueued as a job runs the scheduled function in the worker; a failure is retried.
func TestTickRunsAsRetriedJob(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		ctx := t.Context()
		r := registry.New()
		_ = registry.Value(r, db)
		_ = registry.Provide(r, func(ctx context.Context) (*scheduler.Scheduler, error) {
			return scheduler.New(scheduler.Settings{}, nil)
		})
		c := registrytest.Start(t, r)
		w, err := worker.NewClient(db, worker.Settings{PollInterval: 50 * time.Millisecond}, &worker.ClientOpts{Work: true, Container: c})
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Start(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = w.Stop(context.Background()) })

		tick := time.Now().UTC().Truncate(time.Hour)
		d := NewDispatcher(w)
		if queued, err := d.Dispatch(ctx, "test_worker_flaky", tick); err != nil || !queued {
			t.Fatalf("first dispatch: queued %v, %v; want queued", queued, err)
		}
		// A duplicate is skipped, and says so: the scheduler then leaves the tick's history to
		// the worker.
		if queued, err := d.Dispatch(ctx, "test_worker_flaky", tick); err != nil || queued {
			t.Fatalf("second dispatch: queued %v, %v; want not queued again", queued, err)
		}
		list, err := w.Jobs(ctx, river.NewJobListParams().Kinds(TickArgs{}.Kind()))
		if err != nil || len(list.Jobs) != 1 {
			t.Fatalf("tick jobs %v, %v; want one", list, err)
		}
		id := list.Jobs[0].ID
		deadline := time.Now().Add(20 * time.Second)
		for {
			j, err := w.Job(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if j.State == rivertype.JobStateCompleted {
				if j.Attempt != 2 || j.Queue != worker.QueueSystem {
					t.Errorf("completed at attempt %d on queue %s, want 2 on system", j.Attempt, j.Queue)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("tick job is %s after 20s: %+v", j.State, j.Errors)
			}
			time.Sleep(50 * time.Millisecond)
		}
	})
}

// historyStore is a scheduler.Store that keeps every run by job and tick.
type historyStore struct {
	mu   sync.Mutex
	runs map[string]scheduler.Run // job + tick -> run
}

func runKey(job string, tick time.Time) string {
	return job + "@" + tick.UTC().Format(time.RFC3339Nano)
}

func (s *historyStore) Claim(_ context.Context, r scheduler.Run) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.runs[runKey(r.Job, r.Tick)]; ok {
		return false, nil
	}
	s.runs[runKey(r.Job, r.Tick)] = r
	return true, nil
}

func (s *historyStore) Finish(_ context.Context, r scheduler.Run) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.runs[runKey(r.Job, r.Tick)] = r
	return nil
}

func (s *historyStore) Last(context.Context) (map[string]scheduler.Run, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]scheduler.Run{}
	for _, r := range s.runs {
		if prev, ok := out[r.Job]; !ok || r.Tick.After(prev.Tick) {
			out[r.Job] = r
		}
	}
	return out, nil
}

func (s *historyStore) SaveSchedule(context.Context, []scheduler.Entry) error { return nil }

func (s *historyStore) run(job string, tick time.Time) scheduler.Run {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.runs[runKey(job, tick)]
}

// TestTickCancelledBeforeRun: a tick's job cancelled ('jobs cancel', the panel) before a worker
// ran it never runs, so nothing else records its end: the history must say it was cancelled,
// not "enqueued" for ever.
func TestTickCancelledBeforeRun(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		ctx := t.Context()
		store := &historyStore{runs: map[string]scheduler.Run{}}
		r := registry.New()
		_ = registry.Value(r, db)
		_ = registry.Provide(r, func(ctx context.Context) (*scheduler.Scheduler, error) {
			return scheduler.New(scheduler.Settings{}, &scheduler.Opts{Store: store})
		})
		c := registrytest.Start(t, r)
		// Enqueue only: no worker takes the job before it is cancelled.
		w, err := worker.NewClient(db, worker.Settings{}, &worker.ClientOpts{Container: c})
		if err != nil {
			t.Fatal(err)
		}
		tick := time.Now().UTC().Truncate(time.Hour)
		claim := scheduler.Run{Job: "test_worker_flaky", Tick: tick, Instance: "scheduler", Started: time.Now().UTC(), Outcome: scheduler.OutcomeRunning}
		if _, err := store.Claim(ctx, claim); err != nil {
			t.Fatal(err)
		}
		if _, err := NewDispatcher(w).Dispatch(ctx, claim.Job, tick); err != nil {
			t.Fatal(err)
		}
		enqueued := claim
		enqueued.Outcome = scheduler.OutcomeEnqueued
		if err := store.Finish(ctx, enqueued); err != nil {
			t.Fatal(err)
		}
		list, err := w.Jobs(ctx, river.NewJobListParams().Kinds(TickArgs{}.Kind()))
		if err != nil || len(list.Jobs) != 1 {
			t.Fatalf("tick jobs %v, %v; want one", list, err)
		}
		j, err := w.Cancel(ctx, list.Jobs[0].ID)
		if err != nil || j.State != rivertype.JobStateCancelled {
			t.Fatalf("cancel: %v, %v; want cancelled", j, err)
		}
		if got := store.run(claim.Job, tick); got.Outcome != "cancelled" {
			t.Errorf("the cancelled tick is recorded %+v, want outcome cancelled", got)
		}
	})
}

// A tick typed on the command line (jobs enqueue scheduler_tick) names its job and time, or
// is refused before it is stored: {} ran as a tick of no job and failed every attempt, and so
// did a tick of a job the binary does not have (test_worker_flaky is this file's own job).
func TestTickArgsDecode(t *testing.T) {
	t.Parallel()
	task := worker.NewTask(runTick, nil)
	for _, tt := range []struct{ args, wantErr string }{
		{`{}`, "job and tick are required"},
		{`{"job":"cleanup"}`, "job and tick are required"},
		{`{"tick":"2026-01-02T03:04:05Z"}`, "job and tick are required"},
		{`{"job":"nosuch","tick":"2026-01-02T03:04:05Z"}`, `no scheduled job "nosuch"; 'schedule list' shows them`},
		{`{"job":"test_worker_flaky","tick":"2026-01-02T03:04:05Z"}`, ""},
	} {
		_, err := task.DecodeArgs([]byte(tt.args))
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("DecodeArgs(%s) = %v, want nil", tt.args, err)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("DecodeArgs(%s) = %v, want an error containing %q", tt.args, err, tt.wantErr)
		}
	}
}
