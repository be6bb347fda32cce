package worker

import (
	"context"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/aegisgo/aegis/template/internal/components/database"
	"github.com/aegisgo/aegis/template/internal/components/database/databasetest"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
	"github.com/aegisgo/aegis/template/internal/runtime/registry/registrytest"
)

type gatedArgs struct {
	Token string `json:"token"`
}

func (gatedArgs) Kind() string { return "test_gated" }

func init() {
	registry.Contribute(registry.Default, gatedArgs{}.Kind(), NewTask(func(ctx context.Context, job *river.Job[gatedArgs]) error {
		runCount(job.Args.Token).Add(1)
		res, _ := registry.FromContext(ctx)
		_, err := registry.Get[*registrytest.Gate](res)
		return err
	}, nil))
}

// TestJobsWaitForContainerStart: a job fetched while a service its handler needs is still
// starting waits for the container's start instead of failing with "service not started".
func TestJobsWaitForContainerStart(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		s := testSettings()
		tok := token(t)
		// Queued before the app starts, so the worker fetches it as soon as it starts.
		enq, err := NewClient(db, s, nil)
		if err != nil {
			t.Fatal(err)
		}
		res, err := enq.Enqueue(t.Context(), gatedArgs{Token: tok}, nil)
		if err != nil {
			t.Fatal(err)
		}

		g := registrytest.NewGate()
		r := registry.New()
		_ = registry.Value(r, g)
		_ = registry.Provide1(r, func(_ context.Context, c *registry.Container) (*Client, error) {
			return NewClient(db, s, &ClientOpts{Work: true, Container: c})
		}, registry.StopTimeout(stopTimeout))
		c, err := r.Build()
		if err != nil {
			t.Fatal(err)
		}
		started := make(chan error, 1)
		go func() { started <- c.Start(t.Context()) }()
		t.Cleanup(func() {
			if err := c.Stop(context.Background()); err != nil {
				t.Error(err)
			}
		})
		<-g.Entered()
		// The worker, which does not depend on the gate, has started and fetched the job
		// while the gate is still starting; the handler must not have run.
		waitState(t, enq, res.Job.ID, rivertype.JobStateRunning, 10*time.Second)
		if n := runCount(tok).Load(); n != 0 {
			t.Fatalf("the handler ran %d times before the container finished starting", n)
		}
		g.Release()
		if err := <-started; err != nil {
			t.Fatal(err)
		}
		j := waitState(t, enq, res.Job.ID, rivertype.JobStateCompleted, 10*time.Second)
		if j.Attempt != 1 || len(j.Errors) != 0 {
			t.Errorf("job completed at attempt %d with errors %+v, want the first attempt without errors", j.Attempt, j.Errors)
		}
	})
}
