package worker

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river/rivertype"

	"github.com/aegisgo/aegis/template/internal/runtime/logtest"
)

// TestRescuedJobLogged: a job re-run after its worker was killed mid-job logged nothing that
// said so (River's rescuer is silent), so it looked like a first run. Its attempt now logs one
// WARN line naming the rescue.
func TestRescuedJobLogged(t *testing.T) {
	const line = "worker: running a job rescued from a lost worker"
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name   string
		errors []rivertype.AttemptError
		want   bool
	}{
		{"first attempt", nil, false},
		{"retry after a failure", []rivertype.AttemptError{{At: at, Attempt: 1, Error: "boom"}}, false},
		{"rescued", []rivertype.AttemptError{{At: at, Attempt: 1, Error: rescuedError}}, true},
		{"failed after an earlier rescue", []rivertype.AttemptError{{At: at, Attempt: 1, Error: rescuedError}, {At: at, Attempt: 2, Error: "boom"}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs logtest.Buffer
			c := &Client{logger: slog.New(slog.NewJSONHandler(&logs, nil))}
			job := &rivertype.JobRow{ID: 7, Kind: "test_ok", Attempt: len(tt.errors) + 1, MaxAttempts: 5, Errors: tt.errors}
			if err := c.logAttempt(context.Background(), job, func(context.Context) error { return nil }); err != nil {
				t.Fatal(err)
			}
			got := strings.Contains(logs.String(), line)
			if got != tt.want {
				t.Fatalf("rescue line logged = %v, want %v; logs:\n%s", got, tt.want, logs.String())
			}
			if got && !strings.Contains(logs.String(), `"rescued_at":"2026-01-02T03:04:05Z"`) {
				t.Errorf("the line does not say when the job was rescued:\n%s", logs.String())
			}
		})
	}
}
