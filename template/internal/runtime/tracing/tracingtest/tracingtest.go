// Package tracingtest records the spans a part starts, against OpenTelemetry's API alone (the
// SDK belongs to the observability component, which an app may not have).
package tracingtest

import (
	"context"
	"sync"
	"testing"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/embedded"
	"go.opentelemetry.io/otel/trace/noop"
)

// Span is what a recorded span was given: its name, attributes and status (with its
// description), and the name of the recorded span it was started under ("" for a root).
type Span struct {
	Name        string
	Parent      string
	Attrs       map[attribute.Key]attribute.Value
	Status      codes.Code
	Description string
	Ended       bool
}

// Recorder is a tracer provider that keeps every span started through it.
type Recorder struct {
	embedded.TracerProvider
	mu    sync.Mutex
	spans []*Span
}

// Install makes a Recorder OpenTelemetry's global tracer provider until t ends. It changes
// a global: tests that use it must not run in parallel with other tracing tests.
func Install(t testing.TB) *Recorder {
	t.Helper()
	prev := otel.GetTracerProvider()
	r := &Recorder{}
	otel.SetTracerProvider(r)
	t.Cleanup(func() { otel.SetTracerProvider(prev) })
	return r
}

// Spans returns copies of the spans started so far, in order.
func (r *Recorder) Spans() []Span {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Span, 0, len(r.spans))
	for _, s := range r.spans {
		c := *s
		c.Attrs = make(map[attribute.Key]attribute.Value, len(s.Attrs))
		for k, v := range s.Attrs {
			c.Attrs[k] = v
		}
		out = append(out, c)
	}
	return out
}

// Find returns the last span named name, if any.
func (r *Recorder) Find(name string) (Span, bool) {
	spans := r.Spans()
	for i := len(spans) - 1; i >= 0; i-- {
		if spans[i].Name == name {
			return spans[i], true
		}
	}
	return Span{}, false
}

// Tracer returns a tracer that records into r.
func (r *Recorder) Tracer(string, ...trace.TracerOption) trace.Tracer { return tracer{r: r} }

type tracer struct {
	embedded.Tracer
	r *Recorder
}

func (t tracer) Start(ctx context.Context, name string, opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	s := &Span{Name: name, Attrs: map[attribute.Key]attribute.Value{}}
	if parent, ok := trace.SpanFromContext(ctx).(*span); ok {
		s.Parent = parent.s.Name
	}
	cfg := trace.NewSpanStartConfig(opts...)
	for _, a := range cfg.Attributes() {
		s.Attrs[a.Key] = a.Value
	}
	t.r.mu.Lock()
	t.r.spans = append(t.r.spans, s)
	t.r.mu.Unlock()
	ctx, inner := noop.NewTracerProvider().Tracer("").Start(ctx, name)
	// The context carries the recording span, as an SDK's would: parts that start spans only
	// under a recording one (IsRecording) see it, and children know their parent.
	sp := &span{Span: inner, r: t.r, s: s}
	return trace.ContextWithSpan(ctx, sp), sp
}

type span struct {
	trace.Span
	r *Recorder
	s *Span
}

func (s *span) IsRecording() bool { return true }

func (s *span) SetAttributes(kv ...attribute.KeyValue) {
	s.r.mu.Lock()
	defer s.r.mu.Unlock()
	for _, a := range kv {
		s.s.Attrs[a.Key] = a.Value
	}
}

func (s *span) SetStatus(c codes.Code, description string) {
	s.r.mu.Lock()
	s.s.Status, s.s.Description = c, description
	s.r.mu.Unlock()
}

func (s *span) End(...trace.SpanEndOption) {
	s.r.mu.Lock()
	s.s.Ended = true
	s.r.mu.Unlock()
}
