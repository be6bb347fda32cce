package observability

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"go.opentelemetry.io/otel/baggage"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/aegisgo/aegis/template/internal/components/backend"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
	"github.com/aegisgo/aegis/template/internal/runtime/registry/registrytest"
)

// TestRequestSpanParents: the request span (which the request's own context holds, without a
// copy of the request) is what handlers see as the current span, and its parent is the
// caller's trace context when the request carries one, else a span the server's context
// already had, else none; baggage the request carries reaches the handler with it.
func TestRequestSpanParents(t *testing.T) {
	t.Parallel()
	spans := tracetest.NewSpanRecorder()
	obs, err := New(t.Context(), Settings{}, &Opts{SpanProcessors: []sdktrace.SpanProcessor{spans}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = obs.Stop(context.Background()) })
	srv := backend.NewServer(backend.Settings{})
	c := registrytest.Start(t, registry.New(), func(r *registry.Registry) error {
		return registry.Value(r, srv, registry.Component(backend.Name))
	})
	type seen struct {
		span trace.SpanContext
		bag  string
	}
	got := make(chan seen, 1)
	tel := obs.Telemetry()
	h, err := srv.Handler(c, &backend.HandlerOpts{Logger: slog.New(slog.DiscardHandler), Telemetry: &tel, Routes: registry.All[backend.Routes]{
		{Name: "test", Value: func(r *backend.Router) error {
			r.Mux.Get("/here", func(w http.ResponseWriter, r *http.Request) {
				got <- seen{trace.SpanContextFromContext(r.Context()), baggage.FromContext(r.Context()).Member("tenant").Value()}
			})
			return nil
		}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	outer, outerSpan := obs.TracerProvider().Tracer("test").Start(context.Background(), "outer")
	defer outerSpan.End()
	const remote = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	for _, tc := range []struct {
		name    string
		ctx     context.Context
		header  http.Header
		parent  string // the parent's span ID, "" for a root span
		baggage string
	}{
		{"no parent", context.Background(), nil, "", ""},
		{"a span in the server's context", outer, nil, outerSpan.SpanContext().SpanID().String(), ""},
		{"the caller's trace context", context.Background(), http.Header{"Traceparent": {remote}}, "00f067aa0ba902b7", ""},
		{"the caller's, over the server's", outer, http.Header{"Traceparent": {remote}}, "00f067aa0ba902b7", ""},
		{"baggage", context.Background(), http.Header{"Baggage": {"tenant=acme"}}, "", "acme"},
	} {
		req := httptest.NewRequestWithContext(tc.ctx, http.MethodGet, "/here", nil)
		for k, v := range tc.header {
			req.Header[k] = v
		}
		h.ServeHTTP(httptest.NewRecorder(), req)
		s := <-got
		ended := spans.Ended()
		last := ended[len(ended)-1]
		if last.Name() != "GET /here" {
			t.Fatalf("%s: the last span is %q", tc.name, last.Name())
		}
		if s.span.SpanID() != last.SpanContext().SpanID() {
			t.Errorf("%s: the handler's current span is %s, not the request's %s", tc.name, s.span.SpanID(), last.SpanContext().SpanID())
		}
		parent := ""
		if last.Parent().IsValid() {
			parent = last.Parent().SpanID().String()
		}
		if parent != tc.parent {
			t.Errorf("%s: parent %q, want %q", tc.name, parent, tc.parent)
		}
		if s.bag != tc.baggage {
			t.Errorf("%s: baggage tenant=%q, want %q", tc.name, s.bag, tc.baggage)
		}
	}
}
