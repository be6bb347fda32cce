package observabilityworker

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/aegisgo/aegis/template/internal/components/database"
	"github.com/aegisgo/aegis/template/internal/components/database/databasetest"
	"github.com/aegisgo/aegis/template/internal/components/observability"
	"github.com/aegisgo/aegis/template/internal/components/worker"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
)

// outcomeArgs makes a job end as its How says: "fail" returns an error, "panic" panics,
// "snooze" asks River to run it again later.
type outcomeArgs struct {
	How string `json:"how"`
}

func (outcomeArgs) Kind() string { return "observability_outcome" }

// jobFailedError is the class of the failing attempt's error.
type jobFailedError struct{}

func (jobFailedError) Error() string { return "failed on purpose" }

var errJobFailed error = jobFailedError{}

// TestJobAttemptOutcome: the work span and the attempt's metric say how the attempt ended.
// A panic is a failed attempt (River retries it), not a success because the task returned
// no error; a snooze is no failure (the task asked to run later). The SDK is the global
// one: not in parallel.
func TestJobAttemptOutcome(t *testing.T) {
	databasetest.Engines(t, func(t *testing.T, db *database.DB) {
		// An SDK per engine: each counts its own attempts.
		spans := tracetest.NewSpanRecorder()
		obs, err := observability.New(t.Context(), observability.Settings{},
			&observability.Opts{Global: true, SpanProcessors: []sdktrace.SpanProcessor{spans}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = obs.Stop(context.Background()) })
		task := worker.NewTask(func(_ context.Context, job *river.Job[outcomeArgs]) error {
			switch job.Args.How {
			case "fail":
				// Personal data in the text, as a real task's error often has.
				return fmt.Errorf("welcome email to alice@example.com: %w", errJobFailed)
			case "panic":
				panic("panicked on purpose")
			case "snooze":
				return river.JobSnooze(time.Hour)
			}
			return nil
		}, nil)
		w, err := worker.NewClient(db, worker.Settings{Queues: "default=4", PollInterval: 50 * time.Millisecond,
			FetchCooldown: 10 * time.Millisecond, ShutdownTimeout: 5 * time.Second},
			&worker.ClientOpts{Work: true, Tasks: registry.All[worker.Task]{{Name: outcomeArgs{}.Kind(), Value: task}}})
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = w.Stop(context.Background()) })

		tests := []struct {
			how     string
			status  codes.Code
			outcome string
		}{
			{"ok", codes.Unset, "ok"},
			{"fail", codes.Error, "error"},
			{"panic", codes.Error, "error"},
			{"snooze", codes.Unset, "snoozed"},
		}
		ids := map[int64]string{}
		for _, tt := range tests {
			res, err := w.Enqueue(t.Context(), outcomeArgs{How: tt.how}, nil)
			if err != nil {
				t.Fatal(err)
			}
			ids[res.Job.ID] = tt.how
		}
		// The first attempt's span of each job, by how it ends.
		first := map[string]sdktrace.ReadOnlySpan{}
		for deadline := time.Now().Add(10 * time.Second); len(first) < len(tests) && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			for _, s := range spans.Ended() {
				if s.Name() != "work "+(outcomeArgs{}).Kind() {
					continue
				}
				for _, a := range s.Attributes() {
					if how, ok := ids[a.Value.AsInt64()]; ok && a.Key == "messaging.message.id" && first[how] == nil {
						first[how] = s
					}
				}
			}
		}
		body := scrape(t, obs)
		for _, tt := range tests {
			s := first[tt.how]
			if s == nil {
				t.Errorf("%s: no work span within 10s", tt.how)
				continue
			}
			if s.Status().Code != tt.status {
				t.Errorf("%s: span status %v %q, want %v", tt.how, s.Status().Code, s.Status().Description, tt.status)
			}
			if tt.how == "fail" {
				checkErrorClass(t, s)
			}
			if !hasSeries(body, "river_job_duration_seconds_count{", `outcome="`+tt.outcome+`"`) {
				t.Errorf("%s: /metrics has no attempt with outcome %q", tt.how, tt.outcome)
			}
		}
		if n := countOf(body, `outcome="ok"`); n != 1 {
			t.Errorf("attempts counted ok: %g, want 1 (the panic's and the snooze's are not)", n)
		}
	})
}

// scrape returns obs's /metrics, asked from this machine.
func scrape(t *testing.T, obs *observability.Observability) string {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, observability.MetricsPath, nil)
	req.RemoteAddr = "127.0.0.1:40000"
	rec := httptest.NewRecorder()
	obs.MetricsHandler().ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("/metrics: %d", rec.Code)
	}
	return rec.Body.String()
}

// hasSeries reports whether body has a line of the outcome test's kind starting with prefix
// and holding label.
func hasSeries(body, prefix, label string) bool {
	for line := range strings.Lines(body) {
		if strings.HasPrefix(line, prefix) && strings.Contains(line, `river_job_kind="`+outcomeArgs{}.Kind()+`"`) && strings.Contains(line, label) {
			return true
		}
	}
	return false
}

// countOf is the river_job_duration_seconds_count of the outcome test's kind with label.
func countOf(body, label string) float64 {
	for line := range strings.Lines(body) {
		if strings.HasPrefix(line, "river_job_duration_seconds_count{") && strings.Contains(line, `river_job_kind="`+outcomeArgs{}.Kind()+`"`) && strings.Contains(line, label) {
			f := strings.Fields(line)
			v, _ := strconv.ParseFloat(f[len(f)-1], 64)
			return v
		}
	}
	return 0
}

// checkErrorClass: a failed attempt's span says the error's class (error.type, and
// exception.type on its event), never its text, which held an email address.
func checkErrorClass(t *testing.T, s sdktrace.ReadOnlySpan) {
	t.Helper()
	const class = "observabilityworker.jobFailedError"
	texts := []string{s.Status().Description}
	var errorType string
	for _, a := range s.Attributes() {
		texts = append(texts, a.Value.String())
		if a.Key == "error.type" {
			errorType = a.Value.AsString()
		}
	}
	var exceptionType string
	for _, e := range s.Events() {
		for _, a := range e.Attributes {
			texts = append(texts, a.Value.String())
			if a.Key == "exception.type" {
				exceptionType = a.Value.AsString()
			}
		}
	}
	if errorType != class || exceptionType != class {
		t.Errorf("fail: error.type %q, exception.type %q, want %q", errorType, exceptionType, class)
	}
	for _, text := range texts {
		if strings.Contains(text, "alice@example.com") || strings.Contains(text, "on purpose") {
			t.Errorf("fail: the span carries the error's text: %q", text)
		}
	}
}
