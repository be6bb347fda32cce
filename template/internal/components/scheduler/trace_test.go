package scheduler

import (
	"testing"

	"go.opentelemetry.io/otel/codes"

	"github.com/aegisgo/aegis/template/internal/runtime/tracing/tracingtest"
)

// TestRunSpans: with a tracer provider installed, each run is a span named after its job,
// marked as an error when the job fails, with the error's class and not its text (which can
// name what the job was about). It sets OpenTelemetry's global: not parallel.
func TestRunSpans(t *testing.T) {
	rec := tracingtest.Install(t)
	s, err := New(Settings{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.RunNow(t.Context(), "test_cron"); err != nil {
		t.Fatal(err)
	}
	_, runErr := s.RunNow(t.Context(), "test_fail")
	if runErr == nil {
		t.Fatal("test_fail did not fail")
	}
	for name, want := range map[string]codes.Code{"schedule test_cron": codes.Unset, "schedule test_fail": codes.Error} {
		if got, ok := rec.Find(name); !ok || got.Status != want || !got.Ended || got.Attrs["scheduler.job"].AsString() == "" {
			t.Errorf("span %q: %+v (found %v), want status %v", name, got, ok, want)
		}
	}
	failed, _ := rec.Find("schedule test_fail")
	if failed.Attrs["error.type"].AsString() == "" {
		t.Errorf("the failed run's span has no error.type: %+v", failed)
	}
	if failed.Description != "the scheduled job failed" {
		t.Errorf("the failed run's status says %q, want the fixed sentence, not the error's text (%q)", failed.Description, runErr)
	}
}
