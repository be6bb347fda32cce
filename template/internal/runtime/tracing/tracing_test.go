package tracing_test

import (
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
