package observabilitydatabase

import (
	"context"
	"errors"
	"fmt"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/aegisgo/aegis/template/internal/components/database"
	"github.com/aegisgo/aegis/template/internal/components/observability"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
)

// Name is the glue's name in the registry.
const Name = "observabilitydatabase"

// instrumentationScope names the meter of the pool's metrics.
const instrumentationScope = "github.com/aegisgo/aegis/template/internal/components/observabilitydatabase"

// The pool's metrics, named as OpenTelemetry's database semantic conventions name them; the
// waits are cumulative counters, as database/sql and pgxpool keep them (the conventions'
// wait_time histogram needs a timing per request, which neither pool gives).
const (
	metricConnCount    = "db.client.connection.count"
	metricConnMax      = "db.client.connection.max"
	metricWaits        = "db.client.connection.wait_count"
	metricWaitDuration = "db.client.connection.wait_duration"
)

func init() {
	// The registry keeps registration errors and returns them from Build.
	_ = Register(registry.Default)
}

// Register adds the pool's metrics to r: a singleton built from the component's meter
// provider and the database, so the container starts it after both and stops it before.
func Register(r *registry.Registry) error {
	return registry.Provide2(r, newPoolMetrics,
		registry.Name(Name),
		registry.Hidden(),
	)
}

func newPoolMetrics(_ context.Context, o *observability.Observability, db *database.DB) (*PoolMetrics, error) {
	return NewPoolMetrics(o.MeterProvider(), db)
}

// PoolMetrics publishes the database's connection pool through mp: connections in use and
// idle, the pool's size, and the requests that waited for a connection. The numbers are read
// when metrics are collected (a scrape of /metrics, an OTLP export): nothing per query.
type PoolMetrics struct {
	reg metric.Registration
}

// NewPoolMetrics registers the pool's instruments with mp; Stop unregisters them.
func NewPoolMetrics(mp metric.MeterProvider, db *database.DB) (*PoolMetrics, error) {
	meter := mp.Meter(instrumentationScope)
	count, err1 := meter.Int64ObservableUpDownCounter(metricConnCount, metric.WithUnit("{connection}"),
		metric.WithDescription("Connections open in the pool, by state: used or idle."))
	maxConns, err2 := meter.Int64ObservableUpDownCounter(metricConnMax, metric.WithUnit("{connection}"),
		metric.WithDescription("Most connections the pool opens at once."))
	waits, err3 := meter.Int64ObservableCounter(metricWaits, metric.WithUnit("{request}"),
		metric.WithDescription("Connection requests that found the pool empty and waited."))
	waited, err4 := meter.Float64ObservableCounter(metricWaitDuration, metric.WithUnit("s"),
		metric.WithDescription("Total time connection requests waited for a connection."))
	if err := errors.Join(err1, err2, err3, err4); err != nil {
		return nil, fmt.Errorf("observabilitydatabase: pool instruments: %w", err)
	}
	system := "sqlite"
	if db.Engine() == database.Postgres {
		system = "postgresql"
	}
	pool := []attribute.KeyValue{
		attribute.String("db.system.name", system),
		attribute.String("db.client.connection.pool.name", db.PoolName()),
	}
	all := metric.WithAttributes(pool...)
	used := metric.WithAttributes(append(pool, attribute.String("db.client.connection.state", "used"))...)
	idle := metric.WithAttributes(append(pool, attribute.String("db.client.connection.state", "idle"))...)
	reg, err := meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		st := db.PoolStats()
		o.ObserveInt64(count, int64(st.InUse), used)
		o.ObserveInt64(count, int64(st.Idle), idle)
		o.ObserveInt64(maxConns, int64(st.Max), all)
		o.ObserveInt64(waits, st.Waits, all)
		o.ObserveFloat64(waited, st.WaitDuration.Seconds(), all)
		return nil
	}, count, maxConns, waits, waited)
	if err != nil {
		return nil, fmt.Errorf("observabilitydatabase: pool metrics: %w", err)
	}
	return &PoolMetrics{reg: reg}, nil
}

// Stop unregisters the instruments' callback, so collection no longer reads a database that
// is closing.
func (p *PoolMetrics) Stop(context.Context) error {
	if err := p.reg.Unregister(); err != nil {
		return fmt.Errorf("observabilitydatabase: stop pool metrics: %w", err)
	}
	return nil
}

var _ registry.Stopper = (*PoolMetrics)(nil)
