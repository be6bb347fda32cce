package observabilityworker

import (
	"context"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/aegisgo/aegis/template/internal/components/database"
	"github.com/aegisgo/aegis/template/internal/components/database/databasetest"
	"github.com/aegisgo/aegis/template/internal/components/observability/observabilitytest"
	"github.com/aegisgo/aegis/template/internal/components/worker"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
)

// enqueueOnly is a client that inserts jobs and works none, so they stay where they are put.
func enqueueOnly(t *testing.T, db *database.DB) *worker.Client {
	t.Helper()
	task := worker.NewTask(func(context.Context, *river.Job[recordedArgs]) error { return nil }, nil)
	w, err := worker.NewClient(db, worker.Settings{}, &worker.ClientOpts{
		Tasks: registry.All[worker.Task]{{Name: recordedArgs{}.Kind(), Value: task}}})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// TestQueueDepth: jobs inserted and not worked show at /metrics per queue and state
// (available now, scheduled later), empty queues at zero; a scrape younger than the
// counts' max age reuses them (no count per scrape), an older one counts again.
func TestQueueDepth(t *testing.T) {
	t.Parallel()
	databasetest.Engines(t, func(t *testing.T, db *database.DB) {
		t.Parallel()
		ctx := t.Context()
		obs := observabilitytest.Start(t)
		w := enqueueOnly(t, db)
		const maxAge = time.Hour // long enough that only the test's own counts refresh it
		qm, err := NewQueueMetrics(obs.MeterProvider(), w, maxAge)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = qm.Stop(context.Background()) })

		const now, later = 5, 2
		for range now {
			if _, err := w.Enqueue(ctx, recordedArgs{}, &river.InsertOpts{Queue: "mail"}); err != nil {
				t.Fatal(err)
			}
		}
		for range later {
			if _, err := w.Enqueue(ctx, recordedArgs{}, &river.InsertOpts{Queue: "mail", ScheduledAt: time.Now().Add(time.Hour)}); err != nil {
				t.Fatal(err)
			}
		}
		depth := func(m observabilitytest.Metrics, queue, state string) float64 {
			t.Helper()
			v, ok := m.Value("river_queue_depth", "river_queue", queue, "river_job_state", state)
			if !ok {
				t.Fatalf("no river_queue_depth{river_queue=%q,river_job_state=%q} in /metrics", queue, state)
			}
			return v
		}
		tests := []struct {
			queue, state string
			want         float64
		}{
			{"mail", "available", now},
			{"mail", "scheduled", later},
			{"mail", "running", 0},
			{"mail", "retryable", 0},
			{worker.QueueDefault, "available", 0},
			{worker.QueueSystem, "available", 0},
		}
		m := observabilitytest.Scrape(t, obs)
		for _, tt := range tests {
			if got := depth(m, tt.queue, tt.state); got != tt.want {
				t.Errorf("%s %s = %v, want %v", tt.queue, tt.state, got, tt.want)
			}
		}

		// One more job: the next scrape still reads the counts it reused, until they are
		// counted again (here by Count, as the health check and the Jobs panel do).
		if _, err := w.Enqueue(ctx, recordedArgs{}, &river.InsertOpts{Queue: "mail"}); err != nil {
			t.Fatal(err)
		}
		if got := depth(observabilitytest.Scrape(t, obs), "mail", "available"); got != now {
			t.Errorf("a scrape within the max age counted again: available = %v, want the cached %d", got, now)
		}
		if _, err := w.Count(ctx); err != nil {
			t.Fatal(err)
		}
		if got := depth(observabilitytest.Scrape(t, obs), "mail", "available"); got != now+1 {
			t.Errorf("after a count: available = %v, want %d", got, now+1)
		}
	})
}
