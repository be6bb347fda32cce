package scheduler

import (
	"testing"

	"go.opentelemetry.io/otel/codes"

	"github.com/aegisgo/aegis/template/internal/runtime/tracing/tracingtest"
)

// TestRunSpans: with a tracer provider installed, each run is a span named after its job,
// marked as an error when the job fails. It sets OpenTelemetry's global: not parallel.
func TestRunSpans(t *testing.T) {
	rec := tracingtest.Install(t)
	s, err := New(Settings{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.RunNow(t.Context(), "test_cron"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RunNow(t.Context(), "test_fail"); err == nil {
		t.Fatal("test_fail did not fail")
	}
	for name, want := range map[string]codes.Code{"schedule test_cron": codes.Unset, "schedule test_fail": codes.Error} {
		if got, ok := rec.Find(name); !ok || got.Status != want || !got.Ended || got.Attrs["scheduler.job"].AsString() == "" {
			t.Errorf("span %q: %+v (found %v), want status %v", name, got, ok, want)
		}
	}
}
