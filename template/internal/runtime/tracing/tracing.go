// Package tracing gives components and services the tracer and the meter they instrument
// with, against OpenTelemetry's API only: the observability component installs the SDK as the
// global provider. Without it, Tracer and Meter return nil and callers skip their spans and
// measurements, which keeps them free of the no-op API's own cost (a context and a span value
// per call).
package tracing

import (
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/trace"
)

// apiProvider is the global tracer provider as the API starts: a no-op until an SDK is set.
var apiProvider = otel.GetTracerProvider()

// Tracer returns the global provider's tracer for scope (the instrumenting package's import
// path), or nil when no provider has been installed.
func Tracer(scope string) trace.Tracer {
	tp := otel.GetTracerProvider()
	if tp == apiProvider {
		return nil
	}
	return tp.Tracer(scope)
}
