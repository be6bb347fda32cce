package worker

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/aegisgo/aegis/template/internal/components/database"
	"github.com/aegisgo/aegis/template/internal/components/database/databasetest"
	"github.com/aegisgo/aegis/template/internal/runtime/logtest"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
	"github.com/aegisgo/aegis/template/internal/runtime/registry/registrytest"
)

// failArgs fail their attempt: with JobCancel when Cancel is set. Secret stands for personal
// data in a job's arguments, which the log must not show.
type failArgs struct {
	Secret string `json:"secret"`
	Cancel bool   `json:"cancel,omitempty"`
}

func (failArgs) Kind() string { return "test_fail" }

func init() {
	registry.Contribute(registry.Default, failArgs{}.Kind(), NewTask(func(ctx context.Context, job *river.Job[failArgs]) error {
		err := errors.New("smtp: connection refused\n(second line)")
		if job.Args.Cancel {
			return river.JobCancel(err)
		}
		return err
	}, nil))
}

// Each attempt that fails is logged once, at WARN while it will be retried and at ERROR when
// the job is discarded, with its kind, ID and attempt, never its arguments.
func TestFailedAttemptsAreLogged(t *testing.T) {
	tests := []struct {
		name        string
		maxAttempts int
		cancel      bool
		state       rivertype.JobState
		level, msg  string
	}{
		{"retried", 3, false, rivertype.JobStateRetryable, "WARN", "worker: job attempt failed; it will be retried"},
		{"discarded", 1, false, rivertype.JobStateDiscarded, "ERROR", "worker: job failed its last attempt and is discarded; 'jobs retry' runs it again"},
		{"cancelled by the task", 3, true, rivertype.JobStateCancelled, "WARN", "worker: job cancelled by its task; it will not run again"},
	}
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		logs := &logtest.Buffer{}
		logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		c, err := NewClient(db, testSettings(), &ClientOpts{Work: true, Container: registrytest.Start(t, registry.New()), Logger: logger})
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := c.Stop(context.Background()); err != nil {
				t.Error(err)
			}
		})
		for _, tt := range tests {
			secret := token(t)
			res, err := c.Enqueue(t.Context(), failArgs{Secret: secret, Cancel: tt.cancel}, &river.InsertOpts{MaxAttempts: tt.maxAttempts})
			if err != nil {
				t.Fatal(err)
			}
			waitState(t, c, res.Job.ID, tt.state, 10*time.Second)
			// The attempt's error as stored, and shown by 'jobs show', the panel and the API: the
			// task's own, without River's "JobCancelError: " before it.
			j, err := c.Job(t.Context(), res.Job.ID)
			if err != nil {
				t.Fatal(err)
			}
			if len(j.Errors) == 0 || j.Errors[0].Error != "smtp: connection refused\n(second line)" {
				t.Errorf("%s: stored attempt errors %+v, want the task's error as it is", tt.name, j.Errors)
			}
			var found []map[string]any
			for _, rec := range logs.Records(t, tt.msg) {
				// A retried job may have had its second attempt by now: look at the first.
				if rec["id"] == float64(res.Job.ID) && rec["attempt"] == float64(1) {
					found = append(found, rec)
				}
			}
			if len(found) != 1 {
				t.Errorf("%s: %d records %q for job %d, want 1; log:\n%s", tt.name, len(found), tt.msg, res.Job.ID, logs)
				continue
			}
			rec := found[0]
			if rec["level"] != tt.level || rec["kind"] != "test_fail" || rec["max_attempts"] != float64(tt.maxAttempts) ||
				rec["error"] != "smtp: connection refused; (second line)" {
				t.Errorf("%s: record %v", tt.name, rec)
			}
			if strings.Contains(logs.String(), secret) {
				t.Errorf("%s: the log shows the job's arguments:\n%s", tt.name, logs)
			}
		}
	})
}
