package schedulerworker

import (
	"context"
	"errors"
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
