package worker

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/aegisgo/aegis/template/internal/components/database"
	"github.com/aegisgo/aegis/template/internal/components/database/databasetest"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
)

// drainMailer stands for a service that enqueues through the worker and is used by its jobs,
// as comms is: it depends on *Client, so the container stops it before the worker.
type drainMailer struct{ stopped atomic.Bool }

func (m *drainMailer) Stop(context.Context) error { m.stopped.Store(true); return nil }

type drainArgs struct {
	Token string `json:"token"`
}

func (drainArgs) Kind() string { return "test_drain" }

func init() {
	registry.Contribute(registry.Default, drainArgs{}.Kind(), NewTask(func(ctx context.Context, job *river.Job[drainArgs]) error {
		runCount(job.Args.Token).Add(1)
		time.Sleep(500 * time.Millisecond) // the container's Stop begins meanwhile
		res, _ := registry.FromContext(ctx)
		m, err := registry.Get[*drainMailer](res)
		if err != nil {
			return err
		}
		if m.stopped.Load() {
			return errors.New("the mailer was stopped under a running job")
		}
		return nil
	}, nil))
}

// TestStopDrainsJobsFirst: a job running when the app stops finishes with the services it
// uses, even one that depends on the worker (comms sends through it) and so stops before it:
// the container drains the worker before it stops anything. The job used to fail with
// "registry: get comms.Service: stopped" at every deploy that caught one, using an attempt.
func TestStopDrainsJobsFirst(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		s := testSettings()
		tok := token(t)
		r := registry.New()
		_ = registry.Provide1(r, func(_ context.Context, c *registry.Container) (*Client, error) {
			return NewClient(db, s, &ClientOpts{Work: true, Container: c})
		}, registry.StopTimeout(stopTimeout))
		_ = registry.Provide1(r, func(_ context.Context, _ *Client) (*drainMailer, error) { return &drainMailer{}, nil })
		c, err := r.Build()
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		w, err := registry.Get[*Client](c)
		if err != nil {
			t.Fatal(err)
		}
		res, err := w.Enqueue(t.Context(), drainArgs{Token: tok}, nil)
		if err != nil {
			t.Fatal(err)
		}
		waitState(t, w, res.Job.ID, rivertype.JobStateRunning, 10*time.Second)
		if err := c.Stop(context.Background()); err != nil {
			t.Fatal(err)
		}
		enq, err := NewClient(db, s, nil)
		if err != nil {
			t.Fatal(err)
		}
		j, err := enq.Job(t.Context(), res.Job.ID)
		if err != nil {
			t.Fatal(err)
		}
		if j.State != rivertype.JobStateCompleted || len(j.Errors) != 0 {
			t.Errorf("the job running at stop is %s with errors %+v, want completed without errors", j.State, j.Errors)
		}
		// Enqueueing still works once the worker has drained: a service stopping after it
		// (authcomms finishing an account email) may still send.
		if _, err := w.Enqueue(context.Background(), drainArgs{Token: tok}, nil); err != nil {
			t.Errorf("enqueue after the drain: %v", err)
		}
	})
}
