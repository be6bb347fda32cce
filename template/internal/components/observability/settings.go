package observability

import (
	"net/url"
	"strconv"
	"strings"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/aegisgo/aegis/template/internal/config"
)

// Settings configure the component. The OpenTelemetry SDK reads some standard OTEL_*
// variables itself (OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES for the resource) and New
// the exporters' own, as the official exporters do (OTEL_EXPORTER_OTLP_HEADERS, _TIMEOUT,
// _CERTIFICATE, the per-signal endpoints, ...); those declared here are the ones the app acts
// on or that every deployment sets, loaded and checked once with the other settings. The zero
// value exports nothing and serves /metrics to this machine only (in development).
//
// No setting bounds the shutdown: Stop gives the final flush FlushTimeout (3 s), whatever
// OTEL_EXPORTER_OTLP_TIMEOUT says, logs a failed one at WARN and does not fail the stop. A
// failing export degrades the health check rather than failing it (see CheckHealth).
type Settings struct {
	ServiceName  string `env:"OTEL_SERVICE_NAME" envDefault:"" doc:"Service name on traces and metrics (OpenTelemetry's variable); empty means the binary's name."`
	OTLPEndpoint string `env:"OTEL_EXPORTER_OTLP_ENDPOINT" envDefault:"" doc:"OTLP/HTTP collector to push traces and metrics to (e.g. http://localhost:4318); empty exports nothing unless OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or OTEL_EXPORTER_OTLP_METRICS_ENDPOINT (full URLs) is set; /metrics still serves."`
	MetricsToken string `env:"METRICS_TOKEN" envDefault:"" doc:"Bearer token GET /metrics requires (Authorization: Bearer ...); at least 32 characters in production; aegis init writes a random one to .env. Empty closes it in production; development always lets this machine in without it."`
	// DashboardTraces sizes the in-memory ring of recent traces behind the dashboard's Traces
	// panel; the slowest 50 and the latest 50 failed are kept besides.
	DashboardTraces int `env:"OTEL_DASHBOARD_TRACES" envDefault:"200" doc:"Recent traces kept in memory for the dashboard's Traces panel (besides the 50 slowest and 50 failed); 0 keeps none."`
	// TracesSampler and TracesSamplerArg are OpenTelemetry's own variables, declared here so
	// that a bad value is refused with the other settings (the SDK would log it at INFO and
	// sample every trace) and New builds the sampler from them (see sampler).
	TracesSampler    string `env:"OTEL_TRACES_SAMPLER" envDefault:"" doc:"Which traces are kept (OpenTelemetry's variable): parentbased_traceidratio with OTEL_TRACES_SAMPLER_ARG=0.1 keeps 10%; also parentbased_always_on, parentbased_always_off, traceidratio, always_on, always_off; empty means parentbased_always_on."`
	TracesSamplerArg string `env:"OTEL_TRACES_SAMPLER_ARG" envDefault:"" doc:"The ratio of traces the *traceidratio samplers keep, 0 to 1; empty means 1."`
	// TracesExporter, MetricsExporter and MetricsExemplarFilter are OpenTelemetry's variables
	// too, declared so that New takes them from the settings (as the sampler) rather than
	// reading the environment itself, and a value this app has no use for is refused with the
	// other settings.
	TracesExporter        string `env:"OTEL_TRACES_EXPORTER" envDefault:"" doc:"Where spans go (OpenTelemetry's variable): otlp (to the OTLP endpoint) or none (the dashboard's Traces panel keeps them); empty means otlp."`
	MetricsExporter       string `env:"OTEL_METRICS_EXPORTER" envDefault:"" doc:"Where metrics go besides /metrics (OpenTelemetry's variable): otlp, or none (or prometheus) for a backend that takes traces only, such as Jaeger; empty means otlp."`
	MetricsExemplarFilter string `env:"OTEL_METRICS_EXEMPLAR_FILTER" envDefault:"" doc:"Which measurements keep an exemplar, a sampled span's IDs (OpenTelemetry's variable): always_on, always_off or trace_based; empty means trace_based when metrics go over OTLP, none otherwise (/metrics carries none)."`
}

// MinMetricsToken is the shortest METRICS_TOKEN production accepts, as for
// HEALTH_DETAILS_TOKEN and DASHBOARD_SECRET: the token is all that guards
// /metrics (route names and volumes) from the internet there.
const MinMetricsToken = 32

// placeholderPrefix starts the value .env.example gives METRICS_TOKEN; aegis init
// writes a random one to .env in its place, and production refuses the placeholder.
const placeholderPrefix = "change-me"

// maxDashboardTraces bounds OTEL_DASHBOARD_TRACES: a trace may hold 256 spans.
const maxDashboardTraces = 10000

// Validate reports a bad value, naming its variable.
func (s Settings) Validate() error {
	if s.DashboardTraces < 0 || s.DashboardTraces > maxDashboardTraces {
		return config.Invalid("OTEL_DASHBOARD_TRACES", strconv.Itoa(s.DashboardTraces), "is out of range",
			"use 0 (keep none) to "+strconv.Itoa(maxDashboardTraces))
	}
	if err := checkSampler(s.TracesSampler, s.TracesSamplerArg); err != nil {
		return err
	}
	if _, err := exporterWanted("traces", s.TracesExporter); err != nil {
		return err
	}
	if _, err := exporterWanted("metrics", s.MetricsExporter); err != nil {
		return err
	}
	if err := checkExemplarFilter(s.MetricsExemplarFilter); err != nil {
		return err
	}
	// Not quoted: a collector's URL may carry credentials (user info, which Go sends as basic
	// auth, or a key in the query), and the error is printed and logged at start.
	if err := otlpEndpoint.Check("OTEL_EXPORTER_OTLP_ENDPOINT", s.OTLPEndpoint); err != nil {
		return err
	}
	return checkBaseEndpoint(s.OTLPEndpoint)
}

// checkBaseEndpoint refuses an OTEL_EXPORTER_OTLP_ENDPOINT that is a signal's URL
// (http://localhost:4318/v1/traces, as a collector's docs or a per-signal variable show it):
// each signal's path is added to it, so the app would post to /v1/traces/v1/traces and
// /v1/traces/v1/metrics, and every export fail with a 404 that says nothing of why.
func checkBaseEndpoint(endpoint string) error {
	u, err := url.Parse(strings.TrimSpace(endpoint))
	if err != nil {
		return nil // otlpEndpoint.Check reports it
	}
	for _, signal := range []string{"traces", "metrics"} {
		if strings.HasSuffix(strings.TrimSuffix(u.Path, "/"), "/v1/"+signal) {
			return config.InvalidSecret("OTEL_EXPORTER_OTLP_ENDPOINT", "ends in /v1/"+signal+", a signal's path, to which the app adds /v1/traces and /v1/metrics",
				"set it to the collector's base URL without /v1/"+signal+", such as http://localhost:4318, or give the full URL to OTEL_EXPORTER_OTLP_"+strings.ToUpper(signal)+"_ENDPOINT instead")
		}
	}
	return nil
}

// otlpEndpoint is what an OTLP/HTTP endpoint setting may be.
var otlpEndpoint = config.HTTPURL{
	Fix:    "use the collector's OTLP/HTTP address, such as http://localhost:4318",
	Secret: true, AllowUser: true, AllowQuery: true, AllowFragment: true,
}

// ValidateFor is Validate plus the rules of production: a METRICS_TOKEN of at
// least MinMetricsToken characters. Development takes a short one, so a
// local scrape config can say "dev".
func (s Settings) ValidateFor(production bool) error {
	if err := s.Validate(); err != nil {
		return err
	}
	if production && strings.HasPrefix(s.MetricsToken, placeholderPrefix) {
		return config.InvalidSecret("METRICS_TOKEN", "is the placeholder of .env.example",
			"use a random value such as the output of: openssl rand -hex 32")
	}
	if production && s.MetricsToken != "" && len(s.MetricsToken) < MinMetricsToken {
		return config.InvalidSecret("METRICS_TOKEN", "is shorter than "+strconv.Itoa(MinMetricsToken)+" characters in production",
			"use a random value such as the output of: openssl rand -hex 32")
	}
	return nil
}

// samplers are the values of OTEL_TRACES_SAMPLER the SDK knows, and whether each takes a
// ratio in OTEL_TRACES_SAMPLER_ARG.
var samplers = map[string]bool{
	"always_on": false, "always_off": false, "traceidratio": true,
	"parentbased_always_on": false, "parentbased_always_off": false, "parentbased_traceidratio": true,
}

// checkSampler checks OTEL_TRACES_SAMPLER (name) and OTEL_TRACES_SAMPLER_ARG (arg). The
// SDK takes a bad value without failing: it logs one line at INFO and samples every trace (an
// unknown sampler is the default, a ratio it cannot parse or out of [0, 1] is 1.0), so a typo
// meant to keep 10% exported everything. Refuse them at start instead, as the other settings
// are.
//
// An argument the sampler does not take is refused too, whatever its value: the SDK ignores
// it, so OTEL_TRACES_SAMPLER_ARG=0.1 set without OTEL_TRACES_SAMPLER (the default,
// parentbased_always_on) silently kept every trace.
func checkSampler(name, arg string) error {
	lower := strings.ToLower(strings.TrimSpace(name))
	takesRatio, ok := samplers[lower]
	if !ok && lower != "" {
		return config.Invalid("OTEL_TRACES_SAMPLER", name, "is not a sampler",
			"use parentbased_traceidratio (with OTEL_TRACES_SAMPLER_ARG=0.1 to keep 10%), parentbased_always_on, parentbased_always_off, traceidratio, always_on or always_off, or leave it empty")
	}
	arg = strings.TrimSpace(arg)
	if arg == "" {
		return nil
	}
	if !takesRatio {
		sampler := lower
		if sampler == "" {
			sampler = "empty (parentbased_always_on)"
		}
		return config.Invalid("OTEL_TRACES_SAMPLER_ARG", arg, "has no effect: OTEL_TRACES_SAMPLER is "+sampler+", which takes no ratio",
			"set OTEL_TRACES_SAMPLER=parentbased_traceidratio to keep that share of traces, or unset OTEL_TRACES_SAMPLER_ARG")
	}
	// !(0 <= r <= 1) also refuses NaN, which ParseFloat accepts.
	if r, err := strconv.ParseFloat(arg, 64); err != nil || !(r >= 0 && r <= 1) {
		return config.Invalid("OTEL_TRACES_SAMPLER_ARG", arg, "is not a ratio between 0 and 1",
			"use the share of traces to keep as a decimal, such as 0.1 for 10%")
	}
	return nil
}

// sampler is the sampler s names, or nil when it names none (the SDK's default,
// ParentBased(AlwaysSample)). Validate has checked the values.
func (s Settings) sampler() sdktrace.Sampler {
	name := strings.ToLower(strings.TrimSpace(s.TracesSampler))
	ratio := 1.0
	if arg := strings.TrimSpace(s.TracesSamplerArg); arg != "" {
		if r, err := strconv.ParseFloat(arg, 64); err == nil {
			ratio = r
		}
	}
	switch name {
	case "always_on":
		return sdktrace.AlwaysSample()
	case "always_off":
		return sdktrace.NeverSample()
	case "traceidratio":
		return sdktrace.TraceIDRatioBased(ratio)
	case "parentbased_always_on":
		return sdktrace.ParentBased(sdktrace.AlwaysSample())
	case "parentbased_always_off":
		return sdktrace.ParentBased(sdktrace.NeverSample())
	case "parentbased_traceidratio":
		return sdktrace.ParentBased(sdktrace.TraceIDRatioBased(ratio))
	}
	return nil
}
