package tracing_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"

	"github.com/aegisgo/aegis/template/internal/runtime/tracing"
	"github.com/aegisgo/aegis/template/internal/runtime/tracing/tracingtest"
)

func TestTracer(t *testing.T) {
	if tracing.Tracer("x") != nil {
		t.Fatal("a tracer without a provider installed")
	}
	rec := tracingtest.Install(t)
	tr := tracing.Tracer("x")
	if tr == nil {
		t.Fatal("no tracer with a provider installed")
	}
	_, span := tr.Start(t.Context(), "work")
	span.SetAttributes(attribute.Int("n", 3))
	span.SetStatus(codes.Error, "failed")
	span.End()
	s, ok := rec.Find("work")
	if !ok || s.Attrs["n"].AsInt64() != 3 || s.Status != codes.Error || !s.Ended {
		t.Errorf("recorded %+v, %v", s, ok)
	}
}

// classError is an error type of this test's own, for TestErrorType.
type classError struct{ text string }

func (e *classError) Error() string { return e.text }

// TestErrorType: an error's class is the type of the innermost error it wraps, never its text.
func TestErrorType(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		err  error
		want string
	}{
		{"bare", &classError{"alice@example.com"}, "*tracing_test.classError"},
		{"wrapped twice", fmt.Errorf("job: %w", fmt.Errorf("send to alice@example.com: %w", &classError{"x"})), "*tracing_test.classError"},
		{"text only", errors.New("alice@example.com bounced"), "*errors.errorString"},
		{"joined", errors.Join(&classError{"a"}, &classError{"b"}), "*errors.joinError"},
		{"job timeout", fmt.Errorf("job: %w", context.DeadlineExceeded), "timeout"},
		{"cancelled", fmt.Errorf("job: %w", context.Canceled), "canceled"},
	} {
		if got := tracing.ErrorType(c.err); got != c.want {
			t.Errorf("%s: ErrorType = %q, want %q", c.name, got, c.want)
		}
	}
}

// TestRecordFailure: the span fails with the given description and the error's class, and
// nothing of the error's text.
func TestRecordFailure(t *testing.T) {
	rec := tracingtest.Install(t)
	_, span := tracing.Tracer("x").Start(t.Context(), "job")
	tracing.RecordFailure(span, fmt.Errorf("mail to alice@example.com: %w", &classError{"bounced"}), "the job failed")
	span.End()
	s, ok := rec.Find("job")
	if !ok || s.Status != codes.Error || s.Attrs["error.type"].AsString() != "*tracing_test.classError" {
		t.Fatalf("recorded %+v, %v", s, ok)
	}
	if strings.Contains(fmt.Sprint(s), "alice@example.com") || strings.Contains(fmt.Sprint(s), "bounced") {
		t.Errorf("the span carries the error's text: %+v", s)
	}
}
