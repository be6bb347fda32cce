package observabilityworker

import (
	"context"
	"fmt"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/aegisgo/aegis/template/internal/components/observability"
	"github.com/aegisgo/aegis/template/internal/components/worker"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
)

// Name is the glue's name in the registry.
const Name = "observabilityworker"

// instrumentationScope names the meter of the queues' metrics.
const instrumentationScope = "github.com/aegisgo/aegis/template/internal/components/observabilityworker"

// metricQueueDepth is the jobs of a queue by live state; available is the depth proper.
const metricQueueDepth = "river.queue.depth"

// DepthMaxAge is how old the counts behind the queue metrics may be: a collection reuses the
// worker's last count (its health check's, its panel's, an earlier collection's) when it is
// younger, so the database counts at most once per DepthMaxAge however often /metrics is
// scraped and however many scrapers there are.
const DepthMaxAge = 10 * time.Second

// depthStates are the live states reported per queue.
var depthStates = []string{"available", "scheduled", "retryable", "running"}

// countTimeout bounds a count made for a collection: a slow database leaves the queue
// metrics out of that scrape rather than holding it.
const countTimeout = 2 * time.Second

func init() {
	// The registry keeps registration errors and returns them from Build.
	_ = Register(registry.Default)
}

// Register adds the queue metrics to r: a singleton built from the component's meter provider
// and the worker's client, started after both and stopped before.
func Register(r *registry.Registry) error {
	return registry.Provide2(r, newQueueMetrics,
		registry.Name(Name),
		registry.Hidden(),
	)
}

func newQueueMetrics(_ context.Context, o *observability.Observability, c *worker.Client) (*QueueMetrics, error) {
	return NewQueueMetrics(o.MeterProvider(), c, DepthMaxAge)
}

// QueueMetrics publishes the jobs of each queue by state through a meter provider, read from
// the worker's cached counts (worker.Client.RecentCount) when metrics are collected.
type QueueMetrics struct {
	reg metric.Registration
}

// NewQueueMetrics registers the queue depth gauge with mp, reading c's counts when they are
// at most maxAge old; Stop unregisters it.
func NewQueueMetrics(mp metric.MeterProvider, c *worker.Client, maxAge time.Duration) (*QueueMetrics, error) {
	meter := mp.Meter(instrumentationScope)
	depth, err := meter.Int64ObservableGauge(metricQueueDepth, metric.WithUnit("{job}"),
		metric.WithDescription("Jobs in each queue by state: available (waiting for a worker: the depth), scheduled, retryable and running."))
	if err != nil {
		return nil, fmt.Errorf("observabilityworker: queue instruments: %w", err)
	}
	reg, err := meter.RegisterCallback(func(ctx context.Context, o metric.Observer) error {
		ctx, cancel := context.WithTimeout(ctx, countTimeout)
		defer cancel()
		counts, err := c.RecentCount(ctx, maxAge)
		if err != nil {
			return fmt.Errorf("observabilityworker: queue depth: %w", err)
		}
		// The queues this process works and the two every app has show at zero when empty,
		// so a drained queue reads 0 rather than vanishing.
		queues := map[string]bool{worker.QueueDefault: true, worker.QueueSystem: true}
		for q := range c.Queues() {
			queues[q] = true
		}
		for q := range counts.Queues {
			queues[q] = true
		}
		for q := range queues {
			for _, state := range depthStates {
				o.ObserveInt64(depth, int64(counts.Queues[q][state]), metric.WithAttributes(
					attribute.String("river.queue", q), attribute.String("river.job.state", state)))
			}
		}
		return nil
	}, depth)
	if err != nil {
		return nil, fmt.Errorf("observabilityworker: queue metrics: %w", err)
	}
	return &QueueMetrics{reg: reg}, nil
}

// Stop unregisters the gauge's callback, so collection no longer counts through a worker that
// is stopping.
func (q *QueueMetrics) Stop(context.Context) error {
	if err := q.reg.Unregister(); err != nil {
		return fmt.Errorf("observabilityworker: stop queue metrics: %w", err)
	}
	return nil
}

var _ registry.Stopper = (*QueueMetrics)(nil)
