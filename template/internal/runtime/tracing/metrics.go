package tracing

import (
	"sync/atomic"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"
)

// apiMeterProvider is the global meter provider as the API starts: a no-op (delegating to an
// SDK set later) until one is installed.
var apiMeterProvider = otel.GetMeterProvider()

// Meter returns the global provider's meter for scope, or nil when no SDK has been installed:
// for instruments recorded per call (a job, an outbound request), which then skip the no-op
// API's own cost. Instruments read at collection (observable ones) use GlobalMeter instead.
func Meter(scope string) metric.Meter {
	mp := otel.GetMeterProvider()
	if mp == apiMeterProvider {
		return nil
	}
	return mp.Meter(scope)
}

// GlobalMeter returns the global provider's meter for scope whether or not an SDK is
// installed: the API's meter hands its instruments and callbacks over to an SDK installed
// later, so observable instruments registered at start are collected once one is. They cost
// nothing until then (no one collects).
func GlobalMeter(scope string) metric.Meter {
	return otel.GetMeterProvider().Meter(scope)
}

// Instruments holds the instruments a package records with, made once per installed meter
// provider (a test may install several in turn) and nil without one. Get is safe for
// concurrent use and, once made, costs a load and a comparison.
type Instruments[T any] struct {
	scope string
	build func(metric.Meter) (*T, error)
	cur   atomic.Pointer[instrumentsOf[T]]
}

type instrumentsOf[T any] struct {
	provider metric.MeterProvider
	value    *T
}

// NewInstruments returns the instruments build makes with the meter of scope (the
// instrumenting package's import path).
func NewInstruments[T any](scope string, build func(metric.Meter) (*T, error)) *Instruments[T] {
	return &Instruments[T]{scope: scope, build: build}
}

// Get returns the instruments of the global provider, or nil when no SDK is installed or build
// failed: metrics are never a reason for the work they measure to fail.
func (i *Instruments[T]) Get() *T {
	mp := otel.GetMeterProvider()
	if mp == apiMeterProvider {
		return nil
	}
	if c := i.cur.Load(); c != nil && c.provider == mp {
		return c.value
	}
	v, err := i.build(mp.Meter(i.scope))
	if err != nil {
		return nil
	}
	i.cur.Store(&instrumentsOf[T]{provider: mp, value: v})
	return v
}
