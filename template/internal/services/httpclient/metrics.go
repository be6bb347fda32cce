package httpclient

import (
	"context"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// metricCallDuration is OpenTelemetry's HTTP client duration, per call (retries included).
const metricCallDuration = "http.client.request.duration"

// apiMeterProvider is the global meter provider as the API starts: a no-op until an SDK is
// installed (the observability component); comparing against it keeps calls free of the
// no-op API's cost.
var apiMeterProvider = otel.GetMeterProvider()

type callMetrics struct {
	provider metric.MeterProvider
	duration metric.Float64Histogram
}

// currentMetrics holds the instrument of the provider last seen: one per installed SDK.
var currentMetrics atomic.Pointer[callMetrics]

// callBuckets reach the client's longest default waits, in seconds.
var callBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}

// recordCall records one call to req's host by the client named name, with its outcome: the
// status, or "error" (transport error, breaker open, deadline) when there is none.
func recordCall(ctx context.Context, name string, req *http.Request, resp *http.Response, d time.Duration) {
	mp := otel.GetMeterProvider()
	if mp == apiMeterProvider {
		return
	}
	m := currentMetrics.Load()
	if m == nil || m.provider != mp {
		h, err := mp.Meter(instrumentationScope).Float64Histogram(metricCallDuration, metric.WithUnit("s"),
			metric.WithDescription("Duration of outbound HTTP calls, retries included, by client, host and outcome."),
			metric.WithExplicitBucketBoundaries(callBuckets...))
		if err != nil {
			return
		}
		m = &callMetrics{provider: mp, duration: h}
		currentMetrics.Store(m)
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
