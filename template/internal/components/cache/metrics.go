package cache

import (
	"context"
	"errors"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/aegisgo/aegis/template/internal/runtime/tracing"
)

// instrumentationScope names the meter of the cache's metrics and the tracer of its spans.
const instrumentationScope = "github.com/aegisgo/aegis/template/internal/components/cache"

// observe publishes the counts the cache keeps anyway (hits, misses, store failures) as
// OpenTelemetry counters, read when metrics are collected: nothing per call. Registered
// against the global meter provider, which hands them to an SDK installed later (the
// observability component's); without one they are never read.
func (c *Cache) observe() (metric.Registration, error) {
	meter := tracing.GlobalMeter(instrumentationScope)
	hits, err1 := meter.Int64ObservableCounter("cache.hits", metric.WithUnit("{read}"),
		metric.WithDescription("Cache reads that found the key."))
	misses, err2 := meter.Int64ObservableCounter("cache.misses", metric.WithUnit("{read}"),
		metric.WithDescription("Cache reads that did not find the key (store failures included)."))
	failures, err3 := meter.Int64ObservableCounter("cache.failures", metric.WithUnit("{call}"),
		metric.WithDescription("Cache calls the store failed (down, slow, full)."))
	if err := errors.Join(err1, err2, err3); err != nil {
		return nil, err
	}
	attrs := metric.WithAttributes(attribute.String("cache.backend", c.backend))
	return meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		o.ObserveInt64(hits, int64(c.hits.Load()), attrs)
		o.ObserveInt64(misses, int64(c.misses.Load()), attrs)
		o.ObserveInt64(failures, int64(c.failures.Load()), attrs)
		return nil
	}, hits, misses, failures)
}
