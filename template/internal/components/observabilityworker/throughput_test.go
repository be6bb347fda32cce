package observabilityworker

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/aegisgo/aegis/template/internal/components/database"
	"github.com/aegisgo/aegis/template/internal/components/database/databasetest"
	"github.com/aegisgo/aegis/template/internal/components/frontend/frontendtest"
	"github.com/aegisgo/aegis/template/internal/components/observability"
	"github.com/aegisgo/aegis/template/internal/components/observability/observabilitytest"
	"github.com/aegisgo/aegis/template/internal/components/worker"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
)

type throughputArgs struct {
	Fail bool `json:"fail"`
}

func (throughputArgs) Kind() string { return "observability_throughput" }

// TestJobThroughput: N jobs worked and one that fails for good are counted at /metrics by
// outcome, and the dashboard's Metrics panel shows them: the totals, the throughput chart and
// the queues. The job metrics go through the global provider: not in parallel.
func TestJobThroughput(t *testing.T) {
	databasetest.Engines(t, func(t *testing.T, db *database.DB) {
		ctx := t.Context()
		obs, err := observability.New(ctx, observability.Settings{}, &observability.Opts{Global: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = obs.Stop(context.Background()) })
		task := worker.NewTask(func(_ context.Context, job *river.Job[throughputArgs]) error {
			if job.Args.Fail {
				return errors.New("failed on purpose")
			}
			return nil
		}, nil)
		w, err := worker.NewClient(db, worker.Settings{Queues: "default=4", PollInterval: 50 * time.Millisecond,
			FetchCooldown: 10 * time.Millisecond, ShutdownTimeout: 5 * time.Second},
			&worker.ClientOpts{Work: true, Tasks: registry.All[worker.Task]{{Name: throughputArgs{}.Kind(), Value: task}}})
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Start(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = w.Stop(context.Background()) })
		qm, err := NewQueueMetrics(obs.MeterProvider(), w, DepthMaxAge)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = qm.Stop(context.Background()) })

		const n = 6
		for range n {
			if _, err := w.Enqueue(ctx, throughputArgs{}, nil); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := w.Enqueue(ctx, throughputArgs{Fail: true}, &river.InsertOpts{MaxAttempts: 1}); err != nil {
			t.Fatal(err)
		}
		kind := []string{"river_job_kind", throughputArgs{}.Kind()}
		var ok, failed float64
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			m := observabilitytest.Scrape(t, obs)
			ok, _ = m.Value("river_job_duration_seconds", append(kind, "outcome", "ok")...)
			failed, _ = m.Value("river_job_duration_seconds", append(kind, "outcome", "error")...)
			if ok == n && failed == 1 || time.Now().After(deadline) {
				break
			}
		}
		if ok != n || failed != 1 {
			t.Fatalf("attempts at /metrics: %v ok, %v failed; want %d and 1", ok, failed, n)
		}

		// River marks a job completed just after its attempt ends: wait until the queue is
		// empty, counted as the health check and the Jobs panel count (the queue metrics
		// reuse that count).
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			counts, err := w.Count(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(counts.Queues) == 0 || time.Now().After(deadline) {
				break
			}
		}
		h := frontendtest.Handler(t, nil, func(r *registry.Registry) error { return registry.Value(r, obs) })
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequestWithContext(ctx, http.MethodGet, "/dashboard/panels/metrics", nil))
		body := rec.Body.String()
		for _, want := range []string{
			"Since the app started: " + strconv.Itoa(n) + " jobs completed, 1 attempt failed.",
			`<svg class="throughput"`, ": " + strconv.Itoa(n) + " completed, 1 failed", `class="failed"`,
			"Queue depth", `<code>default</code></th><td>0</td><td>0</td><td>0</td><td>0</td>`,
		} {
			if !strings.Contains(body, want) {
				t.Errorf("the Metrics panel lacks %q:\n%s", want, body)
			}
		}
	})
}
