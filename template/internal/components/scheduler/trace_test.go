package scheduler

import (
	"context"
	"sync"
	"testing"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/embedded"
	"go.opentelemetry.io/otel/trace/noop"
)

// recordingProvider notes the spans started and their status, against the API alone (the
// SDK belongs to the observability component).
type recordingProvider struct {
	embedded.TracerProvider
	mu    sync.Mutex
	spans map[string]codes.Code
}

func (p *recordingProvider) Tracer(string, ...trace.TracerOption) trace.Tracer {
	return recordingTracer{p: p}
}

type recordingTracer struct {
	embedded.Tracer
	p *recordingProvider
}

func (t recordingTracer) Start(ctx context.Context, name string, _ ...trace.SpanStartOption) (context.Context, trace.Span) {
	t.p.mu.Lock()
	t.p.spans[name] = codes.Unset
	t.p.mu.Unlock()
	ctx, inner := noop.NewTracerProvider().Tracer("").Start(ctx, name)
	return ctx, &recordingSpan{Span: inner, p: t.p, name: name}
}

type recordingSpan struct {
	trace.Span
	p    *recordingProvider
	name string
}

func (s *recordingSpan) SetStatus(c codes.Code, _ string) {
	s.p.mu.Lock()
	s.p.spans[s.name] = c
	s.p.mu.Unlock()
}

// TestRunSpans: with a tracer provider installed, each run is a span named after its job,
// marked as an error when the job fails. It sets OpenTelemetry's global: not parallel.
func TestRunSpans(t *testing.T) {
	prev := otel.GetTracerProvider()
	p := &recordingProvider{spans: map[string]codes.Code{}}
	otel.SetTracerProvider(p)
	t.Cleanup(func() { otel.SetTracerProvider(prev) })
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
	p.mu.Lock()
	defer p.mu.Unlock()
	for name, want := range map[string]codes.Code{"schedule test_cron": codes.Unset, "schedule test_fail": codes.Error} {
		if got, ok := p.spans[name]; !ok || got != want {
			t.Errorf("span %q: started %v, status %v; want status %v", name, ok, got, want)
		}
	}
}
