package httpclient

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/aegisgo/aegis/template/internal/runtime/tracing"
)

// metricCallDuration is OpenTelemetry's HTTP client duration, per call (retries included).
const metricCallDuration = "http.client.request.duration"

type callMetrics struct {
	duration metric.Float64Histogram
}

// instruments are made once per installed SDK (the observability component); without one
// calls record nothing and skip the no-op API's cost.
var instruments = tracing.NewInstruments(instrumentationScope, func(m metric.Meter) (*callMetrics, error) {
	h, err := m.Float64Histogram(metricCallDuration, metric.WithUnit("s"),
		metric.WithDescription("Duration of outbound HTTP calls, retries included, by client, host and outcome."),
		metric.WithExplicitBucketBoundaries(callBuckets...))
	if err != nil {
		return nil, err
	}
	return &callMetrics{duration: h}, nil
})

// callBuckets reach the client's longest default waits, in seconds.
var callBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}

// recordCall records one call to req's host by the client named name, with its outcome: the
// status, or "error" (transport error, breaker open, deadline) when there is none.
func recordCall(ctx context.Context, name string, req *http.Request, resp *http.Response, d time.Duration) {
	m := instruments.Get()
	if m == nil {
		return
	}
	outcome := "error"
	if resp != nil {
		outcome = strconv.Itoa(resp.StatusCode)
	}
	m.duration.Record(ctx, d.Seconds(), metric.WithAttributes(
		attribute.String("httpclient.name", name),
		attribute.String("server.address", req.URL.Hostname()),
		attribute.String("http.request.method", req.Method),
		attribute.String("outcome", outcome),
	))
}
