package tracing_test

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/aegisgo/aegis/template/internal/runtime/tracing"
)

type counter struct{ c metric.Int64Counter }

// TestMeter: nil meter and instruments until an SDK is installed, then instruments made once
// per provider, and again for the next one. Installs global providers: not in parallel, and
// last in the file (the API keeps the last provider set).
func TestMeter(t *testing.T) {
	builds := 0
	inst := tracing.NewInstruments("x", func(m metric.Meter) (*counter, error) {
		builds++
		c, err := m.Int64Counter("x.calls")
		return &counter{c}, err
	})
	if tracing.Meter("x") != nil || inst.Get() != nil {
		t.Fatal("a meter without a provider installed")
	}
	if tracing.GlobalMeter("x") == nil {
		t.Fatal("no global meter")
	}
	for i := range 2 {
		mp := sdkmetric.NewMeterProvider()
		t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
		otel.SetMeterProvider(mp)
		if tracing.Meter("x") == nil {
			t.Fatal("no meter with a provider installed")
		}
		first := inst.Get()
		if first == nil || inst.Get() != first || builds != i+1 {
			t.Fatalf("provider %d: instruments %p, %p after %d builds", i, first, inst.Get(), builds)
		}
	}
}
