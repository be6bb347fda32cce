package observability

import (
	"fmt"

	"go.opentelemetry.io/contrib/instrumentation/runtime"
	"go.opentelemetry.io/otel/metric"
)

// startRuntimeMetrics publishes the Go runtime's metrics (memory used and allocated,
// goroutines, the GC's goal, GOGC, GOMAXPROCS) through mp, read at collection, so that they
// reach OTLP like the app's own. /metrics adds the standard go_info, go_goroutines,
// go_threads and process_* besides (process.go; dashboards built on them keep working, OTLP
// carries none of those). The instruments live as long as mp: its shutdown ends them.
func startRuntimeMetrics(mp metric.MeterProvider) error {
	if err := runtime.Start(runtime.WithMeterProvider(mp)); err != nil {
		return fmt.Errorf("observability: runtime metrics: %w", err)
	}
	return nil
}
