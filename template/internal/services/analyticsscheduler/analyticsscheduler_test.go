package analyticsscheduler

import (
	"context"
	"testing"
	"time"

	"github.com/aegisgo/aegis/template/internal/components/database"
	"github.com/aegisgo/aegis/template/internal/components/database/databasetest"
	"github.com/aegisgo/aegis/template/internal/components/scheduler"
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
