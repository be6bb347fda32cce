package observabilityworker

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aegisgo/aegis/template/internal/components/database"
	"github.com/aegisgo/aegis/template/internal/components/database/databasetest"
	"github.com/aegisgo/aegis/template/internal/components/observability"
)

// TestJobMetrics: with the SDK installed, /metrics counts the enqueued job and its attempt
// (duration by outcome, and its wait), labelled by kind and queue. Globals: not in parallel.
func TestJobMetrics(t *testing.T) {
	obs, err := observability.New(t.Context(), observability.Settings{}, &observability.Opts{Global: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = obs.Stop(context.Background()) })

	databasetest.Engines(t, func(t *testing.T, db *database.DB) {
		requestThroughApp(t, db, obs)
		kind := `river_job_kind="` + recordedArgs{}.Kind() + `"`
		want := []string{"river_jobs_enqueued_total{", "river_job_duration_seconds_bucket{", `outcome="ok"`, "river_job_wait_seconds_count{", kind}
		var body string
		// The attempt is recorded as the job's middleware returns, just after the job ran.
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			req := httptest.NewRequest(http.MethodGet, observability.MetricsPath, nil)
			req.RemoteAddr = "127.0.0.1:40000"
			rec := httptest.NewRecorder()
			obs.MetricsHandler().ServeHTTP(rec, req)
			body = rec.Body.String()
			missing := false
			for _, w := range want {
				missing = missing || !strings.Contains(body, w)
			}
			if !missing {
				return
			}
			if time.Now().After(deadline) {
				break
			}
		}
		for _, w := range want {
			if !strings.Contains(body, w) {
				t.Errorf("/metrics lacks %s", w)
			}
		}
	})
}
