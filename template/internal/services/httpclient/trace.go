package httpclient

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/aegisgo/aegis/template/internal/runtime/tracing"
)

// instrumentationScope names the tracer of the client's calls.
const instrumentationScope = "github.com/aegisgo/aegis/template/internal/services/httpclient"

// startSpan starts the client span of one call (retries included) when a tracer provider
// is installed; otherwise it returns ctx and a nil span.
func startSpan(ctx context.Context, req *http.Request) (context.Context, trace.Span) {
	t := tracing.Tracer(instrumentationScope)
	if t == nil {
		return ctx, nil
	}
	return t.Start(ctx, req.Method, trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(
			attribute.String("http.request.method", req.Method),
			attribute.String("server.address", req.URL.Hostname()),
			attribute.String("url.path", redactedPath(req.URL)),
		))
}

// endSpan records the call's outcome on span and ends it. A failed call's span says what
// kind of failure it was (a fixed description, and the error's class as error.type) and never
// the error's text: a transport error can quote what the server sent (net/http's "malformed
// HTTP response") or a URL with its credentials, and spans leave the app for a tracing
// backend. The log line and the panel show the redacted text.
func endSpan(span trace.Span, resp *http.Response, err error) {
	switch {
	case err != nil:
		tracing.RecordFailure(span, err, failureDescription(err))
	case resp != nil:
		span.SetAttributes(attribute.Int("http.response.status_code", resp.StatusCode))
		if resp.StatusCode >= 400 {
			// OpenTelemetry's HTTP conventions: a client span's 4xx is an error too (a server
			// span leaves it unset, the caller having erred), and error.type is the status code.
			span.SetAttributes(attribute.String("error.type", strconv.Itoa(resp.StatusCode)))
			span.SetStatus(codes.Error, http.StatusText(resp.StatusCode))
		}
	}
	span.End()
}

// failureDescription is a failed call's span status description: a fixed phrase per kind.
func failureDescription(err error) string {
	switch {
	case errors.Is(err, ErrBreakerOpen):
		return "circuit breaker open"
	case errors.Is(err, context.DeadlineExceeded):
		return "timed out"
	case errors.Is(err, context.Canceled):
		return "canceled"
	}
	return "transport error"
}
