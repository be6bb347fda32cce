package analyticsscheduler

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aegisgo/aegis/template/internal/components/database"
	"github.com/aegisgo/aegis/template/internal/components/database/databasetest"
	"github.com/aegisgo/aegis/template/internal/components/scheduler"
	"github.com/aegisgo/aegis/template/internal/runtime/logtest"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
	"github.com/aegisgo/aegis/template/internal/runtime/registry/registrytest"
	"github.com/aegisgo/aegis/template/internal/services/analytics"
)

// TestJobContributed: the job is registered hourly, valid, and makes up one missed run.
func TestJobContributed(t *testing.T) {
	t.Parallel()
	r := registry.New()
	Register(r)
	jobs := registry.Contributions[*scheduler.Job](r)
	if len(jobs) != 1 || jobs[0].Name != JobName {
		t.Fatalf("jobs %+v, want %s", jobs, JobName)
	}
	j := jobs[0].Value
	if err := j.ValidateContribution(JobName); err != nil || j.Spec != "every 1h0m0s" || j.Missed != scheduler.MissedRunOnce {
		t.Errorf("job %+v: %v", j, err)
	}
}

// TestRetain: the job deletes the raw events past ANALYTICS_RETENTION through the service of
// its scope and keeps the hourly counts.
func TestRetain(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		svc, err := analytics.New(db, analytics.Settings{Retention: 24 * time.Hour}, nil)
		if err != nil {
			t.Fatal(err)
		}
		now := time.Now()
		svc.TrackEvent(analytics.Event{Name: "old", At: now.Add(-48 * time.Hour)})
		svc.TrackEvent(analytics.Event{Name: "new", At: now.Add(-time.Hour)})
		if err := svc.Flush(t.Context()); err != nil {
			t.Fatal(err)
		}
		c := registrytest.Start(t, registry.New(), func(r *registry.Registry) error { return registry.Value(r, svc) })
		if err := Retain(registry.WithResolver(t.Context(), c)); err != nil {
			t.Fatal(err)
		}
		var events, hourly int64
		if err := db.SQL().QueryRowContext(context.Background(), "SELECT (SELECT COUNT(*) FROM analytics_events), (SELECT SUM(count) FROM analytics_hourly)").Scan(&events, &hourly); err != nil {
			t.Fatal(err)
		}
		if events != 1 || hourly != 2 {
			t.Errorf("%d events and %d in the hourly counts after the job, want 1 and 2", events, hourly)
		}
		if err := Retain(context.Background()); err == nil {
			t.Error("Retain without a scope did not fail")
		}
	})
}

// TestRetainConcurrentAndLogged: two runs at once (a caught-up run meeting the hourly one, or
// two instances) delete each old event once and fail neither; a run that deleted rows says so
// at info, through the service's logger, so an operator can account for the missing raw
// events; a run that found nothing stays at debug.
func TestRetainConcurrentAndLogged(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		logs := &logtest.Buffer{}
		logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		svc, err := analytics.New(db, analytics.Settings{Retention: 24 * time.Hour}, &analytics.Opts{Logger: logger})
		if err != nil {
			t.Fatal(err)
		}
		now := time.Now()
		for range 3 {
			svc.TrackEvent(analytics.Event{Name: "old", At: now.Add(-48 * time.Hour)})
		}
		svc.TrackEvent(analytics.Event{Name: "new", At: now.Add(-time.Hour)})
		if err := svc.Flush(t.Context()); err != nil {
			t.Fatal(err)
		}
		c := registrytest.Start(t, registry.New(), func(r *registry.Registry) error { return registry.Value(r, svc) })
		ctx := registry.WithResolver(t.Context(), c)

		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i := range errs {
			wg.Go(func() { errs[i] = Retain(ctx) })
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("concurrent run %d: %v", i, err)
			}
		}
		var events int64
		if err := db.SQL().QueryRowContext(context.Background(), "SELECT COUNT(*) FROM analytics_events").Scan(&events); err != nil {
			t.Fatal(err)
		}
		if events != 1 {
			t.Errorf("%d events after two concurrent runs, want 1", events)
		}
		out := logs.String()
		info := 0
		for line := range strings.SplitSeq(strings.TrimSpace(out), "\n") {
			if strings.Contains(line, "level=INFO") {
				info++
				if !strings.Contains(line, "deleted=") || !strings.Contains(line, "ANALYTICS_RETENTION") {
					t.Errorf("info line %q does not say how many were deleted and why", line)
				}
			}
		}
		// Both runs may have deleted some of the three (each logs its own share at info),
		// but at least one did.
		if info == 0 {
			t.Errorf("no info line after deleting 3 events; logs:\n%s", out)
		}

		if err := Retain(ctx); err != nil {
			t.Fatal(err)
		}
		out = strings.TrimPrefix(logs.String(), out)
		if strings.Contains(out, "level=INFO") || !strings.Contains(out, "level=DEBUG") || !strings.Contains(out, "deleted=0") {
			t.Errorf("a run deleting nothing logged %q, want one debug line with deleted=0", out)
		}
	})
}
