package httpclient

import (
	"context"
	"net/http"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// instrumentationScope names the tracer of the client's calls.
const instrumentationScope = "github.com/aegisgo/aegis/template/internal/services/httpclient"

// apiTracerProvider is OpenTelemetry's global tracer provider as the API starts: a no-op
// until an SDK is installed (the observability component installs one). Comparing against
// it keeps a call free of the no-op API's own cost (a context per span) when nothing
// records spans.
var apiTracerProvider = otel.GetTracerProvider()

// startSpan starts the client span of one call (retries included) when a tracer provider
// is installed; otherwise it returns ctx and a nil span.
func startSpan(ctx context.Context, req *http.Request) (context.Context, trace.Span) {
	tp := otel.GetTracerProvider()
	if tp == apiTracerProvider {
		return ctx, nil
	}
	return tp.Tracer(instrumentationScope).Start(ctx, req.Method, trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(
			attribute.String("http.request.method", req.Method),
			attribute.String("server.address", req.URL.Hostname()),
			attribute.String("url.path", redactedPath(req.URL)),
		))
}

// endSpan records the call's outcome on span and ends it.
func endSpan(span trace.Span, resp *http.Response, err error) {
	switch {
	case err != nil:
		span.SetStatus(codes.Error, err.Error())
	case resp != nil:
		span.SetAttributes(attribute.Int("http.response.status_code", resp.StatusCode))
		if resp.StatusCode >= 500 {
			span.SetStatus(codes.Error, http.StatusText(resp.StatusCode))
		}
	}
	span.End()
}
