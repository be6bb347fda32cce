package observability

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"
)

// TestExportRedactsRoutedPath: a server span's url.path leaves the process with what its
// route's wildcards matched (an email, a token) replaced by REDACTED; literal segments, an
// unrouted path (the backend redacts it before any processor sees it) and other kinds of
// span are kept, and the ring keeps the raw path.
func TestExportRedactsRoutedPath(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		kind        trace.SpanKind
		route, path string
		want        string
	}{
		{"email", trace.SpanKindServer, "/api/v1/users/{email}", "/api/v1/users/ada@example.com", "/api/v1/users/REDACTED"},
		{"token mid-path", trace.SpanKindServer, "/reset/{token}/confirm", "/reset/s3cr3t-token/confirm", "/reset/REDACTED/confirm"},
		{"regexp wildcard", trace.SpanKindServer, "/items/{id:[0-9]+}", "/items/42", "/items/REDACTED"},
		{"partial segment", trace.SpanKindServer, "/files/{name}.json", "/files/secret.json", "/files/REDACTED"},
		{"catch-all", trace.SpanKindServer, "/static/*", "/static/js/app.js", "/static/REDACTED"},
		{"catch-all empty", trace.SpanKindServer, "/static/*", "/static/", "/static/"},
		{"longer than the route", trace.SpanKindServer, "/a/{id}", "/a/1/2", "/a/REDACTED/REDACTED"},
		{"trailing slash", trace.SpanKindServer, "/api/v1/users", "/api/v1/users/", "/api/v1/users/"},
		{"literal route", trace.SpanKindServer, "/health", "/health", "/health"},
		{"unrouted", trace.SpanKindServer, "", "/wp-admin/setup.php", "/wp-admin/setup.php"},
		{"client span", trace.SpanKindClient, "/users/{id}", "/users/7", "/users/7"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := tracetest.NewSpanRecorder()
			ring := NewTraceRing(4)
			tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec), sdktrace.WithSpanProcessor(ring))
			attrs := []attribute.KeyValue{attribute.String("http.request.method", "GET"), attribute.String("url.path", tt.path)}
			if tt.route != "" {
				attrs = append(attrs, attribute.String("http.route", tt.route))
			}
			_, span := tp.Tracer("test").Start(context.Background(), "GET", trace.WithSpanKind(tt.kind), trace.WithAttributes(attrs...))
			span.End()
			_ = tp.Shutdown(context.Background())

			var got coltracepb.ExportTraceServiceRequest
			if err := proto.Unmarshal(appendTraceRequest(nil, rec.Ended()), &got); err != nil {
				t.Fatal(err)
			}
			exported := "(none)"
			for _, kv := range got.GetResourceSpans()[0].GetScopeSpans()[0].GetSpans()[0].GetAttributes() {
				if kv.GetKey() == "url.path" {
					exported = kv.GetValue().GetStringValue()
				}
			}
			if exported != tt.want {
				t.Errorf("exported url.path %q, want %q", exported, tt.want)
			}
			if raw := rec.Ended()[0].Attributes()[1].Value.AsString(); raw != tt.path {
				t.Errorf("the span itself now holds url.path %q, want %q unchanged", raw, tt.path)
			}
			if traces := ring.Traces(AllTraces, "", 0); len(traces) != 1 || traces[0].Root.Attrs[1].Value.AsString() != tt.path {
				t.Errorf("the ring's traces %+v, want one with the raw path %q", traces, tt.path)
			}
		})
	}
}
