// Package observability is the OpenTelemetry component: it installs the SDK behind the API
// the rest of the app instruments against (the backend's request spans and metrics, the
// HTTP client's calls), W3C trace context propagation, OTLP exporters when
// OTEL_EXPORTER_OTLP_ENDPOINT is set, and GET /metrics in Prometheus text format.
//
// Without this component nothing is installed: the OpenTelemetry API stays a no-op and the
// backend wraps no request at all.
package observability

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/exemplar"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"

	"github.com/aegisgo/aegis/template/internal/components/backend"
	"github.com/aegisgo/aegis/template/internal/config"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
)

// Name is the component's name, in the registry and in config.
const Name = "observability"

func init() {
	// The registry keeps registration errors and returns them from Build.
	_ = Register(registry.Default)
}

// Register adds the component to r: its settings, the SDK (*Observability), the
// backend.Telemetry the server instruments requests with, and the /metrics route. init()
// does it for registry.Default; tests call it on a fresh registry.
func Register(r *registry.Registry) error {
	registry.Contribute(r, Name, backend.Routes(mountMetrics))
	contributePanels(r)
	return errors.Join(
		config.Provide[Settings](r, Name),
		registry.Provide2(r, newObservability,
			registry.Component(Name),
			registry.Describe("OpenTelemetry SDK: request traces and metrics, OTLP export, /metrics"),
		),
		registry.Provide1(r, telemetry, registry.Hidden()),
	)
}

func newObservability(ctx context.Context, s Settings, core config.Core) (*Observability, error) {
	return New(ctx, s, &Opts{Production: core.Production(), Global: true})
}

// telemetry is what the backend instruments requests with.
func telemetry(_ context.Context, o *Observability) (backend.Telemetry, error) {
	return o.Telemetry(), nil
}

// Opts adjust New. A nil *Opts means all defaults.
type Opts struct {
	// Production closes /metrics without METRICS_TOKEN (development opens it to loopback).
	Production bool
	// Global installs the providers and the propagator as OpenTelemetry's globals
	// (otel.SetTracerProvider, ...), which libraries instrumented against the API use. The
	// app does; tests that run in parallel do not.
	Global bool
	// SpanProcessors receive every span besides the OTLP exporter (tests record them).
	SpanProcessors []sdktrace.SpanProcessor
	// Logger receives failed exports and a failed final flush, at WARN. Nil means
	// slog.Default() at the moment of logging, which the commands set up after New.
	Logger *slog.Logger
}

// FlushTimeout bounds the final flush in Stop: the spans and metrics the exporters still
// hold are sent within it or dropped, so that a collector that is down delays shutdown by
// this much at most (each export's own OTEL_EXPORTER_OTLP_TIMEOUT, 10 s by default, would
// take the registry's whole stop bound) and does not make the stop fail.
const FlushTimeout = 3 * time.Second

// Observability is the installed SDK: a tracer provider, a meter provider whose readers are
// the one behind /metrics (and OTLP when configured), and the propagator.
type Observability struct {
	settings   Settings
	production bool
	tracer     *sdktrace.TracerProvider
	meter      *sdkmetric.MeterProvider
	propagator propagation.TextMapPropagator
	reader     *sdkmetric.ManualReader // behind /metrics and the Metrics panel
	traces     *TraceRing              // nil with OTEL_DASHBOARD_TRACES=0
	started    time.Time               // the counters' start, for the Metrics panel's rates
	rates      rateWindow              // the Metrics panel's samples of the counters
	logger     func() *slog.Logger     // Opts.Logger or slog.Default()
	exports    []*exportStatus         // one per OTLP exporter, for the health check
	senders    []*otlpSender           // the OTLP exporters', aborted at the end of Stop
}

// New builds the SDK for s. It connects to nothing yet: the OTLP exporters send in the
// background and drop what a collector that is down does not take.
func New(ctx context.Context, s Settings, opts *Opts) (*Observability, error) {
	var o Opts
	if opts != nil {
		o = *opts
	}
	if err := s.ValidateFor(o.Production); err != nil {
		return nil, err
	}
	logger := func() *slog.Logger { return cmp.Or(o.Logger, slog.Default()) }
	var exports []*exportStatus
	var senders []*otlpSender
	res, err := newResource(ctx, s)
	if err != nil {
		return nil, err
	}
	// /metrics and the Metrics panel collect from this reader when asked; nothing runs
	// between scrapes.
	reader := sdkmetric.NewManualReader()
	meterOpts := []sdkmetric.Option{sdkmetric.WithResource(res), sdkmetric.WithReader(reader)}
	// Exemplars (a sampled span's IDs kept beside a measurement, offered on every sampled
	// request) leave the process over OTLP only: /metrics serves the Prometheus text format,
	// which carries none. Without OTLP metrics the SDK's default (trace_based) would record
	// them for nobody, so they are off unless OTEL_METRICS_EXEMPLAR_FILTER (the settings')
	// asks. The filter is always given as an option, which wins over the SDK's own reading of
	// the variable: the settings are what New acts on.
	metrics, otlpMetrics, err := otlpExport(s.OTLPEndpoint, "metrics", s.MetricsExporter, os.Getenv)
	if err != nil {
		return nil, err
	}
	meterOpts = append(meterOpts, sdkmetric.WithExemplarFilter(exemplarFilter(otlpMetrics, s.MetricsExemplarFilter)))
	// The sampler is the one the settings name (OTEL_TRACES_SAMPLER and
	// OTEL_TRACES_SAMPLER_ARG, checked by Validate), else the SDK's default,
	// ParentBased(AlwaysSample). The option wins over the SDK's own reading of the variables.
	traceOpts := []sdktrace.TracerProviderOption{sdktrace.WithResource(res)}
	if sampler := s.sampler(); sampler != nil {
		traceOpts = append(traceOpts, sdktrace.WithSampler(sampler))
	}
	var ring *TraceRing
	if s.DashboardTraces > 0 {
		ring = NewTraceRing(s.DashboardTraces)
		traceOpts = append(traceOpts, sdktrace.WithSpanProcessor(ring))
	}
	for _, sp := range o.SpanProcessors {
		traceOpts = append(traceOpts, sdktrace.WithSpanProcessor(sp))
	}
	// The exporters are the component's own (otlp_export.go: OTLP/HTTP with protobuf
	// written by hand; the official ones link gRPC, see the README) and read the other
	// OTEL_EXPORTER_OTLP_* variables as those do: per-signal endpoints, headers, timeout,
	// compression, certificates.
	// OTEL_TRACES_EXPORTER=none keeps spans off the wire, as OTEL_METRICS_EXPORTER=none does
	// metrics: for a backend that takes metrics only. The dashboard's ring keeps them.
	spans, otlpTraces, err := otlpExport(s.OTLPEndpoint, "traces", s.TracesExporter, os.Getenv)
	if err != nil {
		return nil, err
	}
	if otlpTraces {
		se := newSpanExporter(spans, nil)
		se.s.status = newExportStatus("traces", logger)
		exports, senders = append(exports, se.s.status), append(senders, se.s)
		traceOpts = append(traceOpts, sdktrace.WithBatcher(se))
	}
	// OTEL_METRICS_EXPORTER=none (the standard switch) keeps metrics off the wire: for
	// a backend that takes traces only, such as Jaeger, which answers 404 to
	// /v1/metrics. /metrics serves them either way.
	if otlpMetrics {
		me := newMetricExporter(metrics, nil)
		me.s.status = newExportStatus("metrics", logger)
		exports, senders = append(exports, me.s.status), append(senders, me.s)
		meterOpts = append(meterOpts, sdkmetric.WithReader(sdkmetric.NewPeriodicReader(me)))
	}
	obs := &Observability{
		settings:   s,
		production: o.Production,
		tracer:     sdktrace.NewTracerProvider(traceOpts...),
		meter:      sdkmetric.NewMeterProvider(meterOpts...),
		propagator: propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}),
		reader:     reader,
		traces:     ring,
		started:    time.Now(),
		logger:     logger,
		exports:    exports,
		senders:    senders,
	}
	if err := startRuntimeMetrics(obs.meter); err != nil {
		return nil, errors.Join(err, obs.Stop(ctx))
	}
	if o.Global {
		otel.SetTracerProvider(obs.tracer)
		otel.SetMeterProvider(obs.meter)
		otel.SetTextMapPropagator(obs.propagator)
		// The SDK reports failed exports and other trouble through otel.Handle, whose
		// default prints every one through the log package (INFO once slog is the default
		// logger): log at WARN instead, what an exporter has not, rate-limited.
		otel.SetErrorHandler(&errorHandler{logger: logger, now: time.Now, limit: warnLimiter{every: warnEvery}})
	}
	return obs, nil
}

// otlpExport is signal's (traces, metrics) OTLP exporter configuration, and whether it is
// exported at all: it is when it has somewhere to go (the base endpoint, or the signal's own
// OTEL_EXPORTER_OTLP_<SIGNAL>_ENDPOINT, which the specification lets stand alone: traces
// only to Jaeger or Tempo, for one) and exporter (the settings' OTEL_<SIGNAL>_EXPORTER)
// names otlp or is empty.
func otlpExport(base, signal, exporter string, getenv func(string) string) (otlpConfig, bool, error) {
	sig := strings.ToUpper(signal)
	wanted, err := exporterWanted(signal, exporter)
	if err != nil {
		return otlpConfig{}, false, err
	}
	if !wanted || strings.TrimSpace(base) == "" && strings.TrimSpace(getenv("OTEL_EXPORTER_OTLP_"+sig+"_ENDPOINT")) == "" {
		return otlpConfig{}, false, nil
	}
	cfg, err := otlpConfigFromEnv(base, signal, getenv)
	return cfg, err == nil, err
}

// exporters are the values OTEL_TRACES_EXPORTER and OTEL_METRICS_EXPORTER take here: otlp,
// none, and for metrics prometheus, which /metrics always is (so it means no OTLP metrics).
var exporters = map[string][]string{"traces": {"otlp", "none"}, "metrics": {"otlp", "prometheus", "none"}}

// exporterWanted reports whether OTEL_<SIGNAL>_EXPORTER (value, a comma-separated list as the
// specification has it; empty means otlp) asks for OTLP. A value this app has no exporter for
// (zipkin, console, a typo) is refused: taken as the default it would send the signal where
// the deployment said not to, and taken as none it would drop it without a word.
func exporterWanted(signal, value string) (bool, error) {
	value = strings.ToLower(strings.TrimSpace(value))
	if value == "" {
		return true, nil
	}
	otlp := false
	for name := range strings.SplitSeq(value, ",") {
		name = strings.TrimSpace(name)
		if !slices.Contains(exporters[signal], name) {
			return false, config.Invalid("OTEL_"+strings.ToUpper(signal)+"_EXPORTER", value, "is not an exporter this app has",
				"use "+orList(exporters[signal])+", or leave it empty for otlp")
		}
		otlp = otlp || name == "otlp"
	}
	return otlp, nil
}

// orList writes names as "a, b or c".
func orList(names []string) string {
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// exemplarFilters are the values of OTEL_METRICS_EXEMPLAR_FILTER the SDK knows.
var exemplarFilters = []string{"always_on", "always_off", "trace_based"}

// checkExemplarFilter refuses an OTEL_METRICS_EXEMPLAR_FILTER the SDK would ignore without a
// word (keeping its default, trace_based, which records exemplars that /metrics never serves).
func checkExemplarFilter(value string) error {
	v := strings.ToLower(strings.TrimSpace(value))
	if v == "" || slices.Contains(exemplarFilters, v) {
		return nil
	}
	return config.Invalid("OTEL_METRICS_EXEMPLAR_FILTER", value, "is not an exemplar filter",
		"use "+strings.Join(exemplarFilters, ", ")+", or leave it empty")
}

// exemplarsOff reports whether New turns exemplars off: when no metric leaves over OTLP and
// OTEL_METRICS_EXEMPLAR_FILTER (filter) says nothing.
func exemplarsOff(otlpMetrics bool, filter string) bool {
	return !otlpMetrics && strings.TrimSpace(filter) == ""
}

// exemplarFilter is the filter New gives the meter provider: the one OTEL_METRICS_EXEMPLAR_FILTER
// (filter, checked by Validate) names, else off without OTLP metrics (exemplarsOff) and the
// SDK's default, trace_based, with them.
func exemplarFilter(otlpMetrics bool, filter string) exemplar.Filter {
	switch strings.ToLower(strings.TrimSpace(filter)) {
	case "always_on":
		return exemplar.AlwaysOnFilter
	case "always_off":
		return exemplar.AlwaysOffFilter
	case "trace_based":
		return exemplar.TraceBasedFilter
	}
	if exemplarsOff(otlpMetrics, filter) {
		return exemplar.AlwaysOffFilter
	}
	return exemplar.TraceBasedFilter
}

// newResource describes the process: OTEL_SERVICE_NAME (or the binary's name), the
// attributes of OTEL_RESOURCE_ATTRIBUTES and the SDK's own.
func newResource(ctx context.Context, s Settings) (*resource.Resource, error) {
	// Trimmed as the SDK trims the variable: a blank one means the binary's name, not " ".
	name := strings.TrimSpace(s.ServiceName)
	if name == "" {
		name = filepath.Base(os.Args[0])
	}
	res, err := resource.New(ctx,
		resource.WithAttributes(semconv.ServiceName(name)),
		// After the name above, so OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES win.
		resource.WithFromEnv(),
		resource.WithTelemetrySDK(),
	)
	if errors.Is(err, resource.ErrPartialResource) {
		// The SDK's text ("error detecting resource: partial resource: missing value: [foo]")
		// does not say which variable it read.
		return nil, config.Invalid("OTEL_RESOURCE_ATTRIBUTES", os.Getenv("OTEL_RESOURCE_ATTRIBUTES"), "is not a list of key=value pairs",
			"write it as key1=value1,key2=value2 (values percent-encoded), such as deployment.environment.name=staging")
	}
	if err != nil {
		return nil, fmt.Errorf("observability: resource: %w", err)
	}
	return res, nil
}

// Telemetry is what the backend instruments requests with.
func (o *Observability) Telemetry() backend.Telemetry {
	return backend.Telemetry{TracerProvider: o.tracer, MeterProvider: o.meter, Propagator: o.propagator}
}

// TracerProvider returns the SDK's tracer provider.
func (o *Observability) TracerProvider() *sdktrace.TracerProvider { return o.tracer }

// MeterProvider returns the SDK's meter provider.
func (o *Observability) MeterProvider() *sdkmetric.MeterProvider { return o.meter }

// Traces returns the ring of recent traces the dashboard shows, or nil when
// OTEL_DASHBOARD_TRACES is 0.
func (o *Observability) Traces() *TraceRing { return o.traces }

// Propagator returns the propagator: W3C trace context and baggage.
func (o *Observability) Propagator() propagation.TextMapPropagator { return o.propagator }

// flushError names the signal whose final flush failed and, when the SDK reports no more than
// its context's end, says so in words rather than as Go's "context deadline exceeded".
func flushError(signal string, err error) error {
	switch {
	case err == nil || errors.Is(err, sdkmetric.ErrReaderShutdown):
		return err
	case err.Error() == context.DeadlineExceeded.Error():
		return &transportError{msg: signal + ": not sent within " + FlushTimeout.String(), err: err}
	case err.Error() == context.Canceled.Error():
		return &transportError{msg: signal + ": not sent, the stop was cancelled", err: err}
	}
	return fmt.Errorf("%s: %w", signal, err)
}

// Stop flushes what the exporters hold and shuts the providers down, within FlushTimeout
// (or ctx, if sooner). A flush that fails or runs out of time is logged at WARN and does not
// fail the stop: the telemetry it held is lost either way, and the app's exit status should
// say whether the app stopped cleanly, not whether a collector was up. It is safe to call
// twice (the SDK's Shutdown is) and before anything was recorded.
func (o *Observability) Stop(ctx context.Context) error {
	flushCtx, cancel := context.WithTimeout(ctx, FlushTimeout)
	defer cancel()
	// Concurrently, so that spans stuck on a collector that is down do not use up the
	// metrics' share of the bound, or the other way round.
	var traceErr error
	var wg sync.WaitGroup
	wg.Go(func() { traceErr = o.tracer.Shutdown(flushCtx) })
	meterErr := o.meter.Shutdown(flushCtx)
	wg.Wait()
	// Whatever is still being sent has missed the bound: end it rather than let it retry in
	// the background.
	for _, s := range o.senders {
		s.abort()
	}
	err := errors.Join(flushError("traces", traceErr), flushError("metrics", meterErr))
	if err == nil || errors.Is(err, sdkmetric.ErrReaderShutdown) {
		return nil
	}
	// errors.Join puts each error on a line of its own; the log line keeps them apart.
	attrs := []any{"err", oneLine(strings.ReplaceAll(err.Error(), "\n", "; "), 500), "timeout", FlushTimeout.String()}
	for _, s := range o.exports {
		if bad, reason, _ := s.health(); bad {
			attrs = append(attrs, "last_"+s.signal+"_export_error", reason)
		}
	}
	attrs = append(attrs, "hint", exportHint)
	o.logger().Warn("observability: final flush of traces and metrics failed; what it held is lost", attrs...)
	return nil
}

var (
	_ registry.Stopper       = (*Observability)(nil)
	_ registry.HealthChecker = (*Observability)(nil)
)
