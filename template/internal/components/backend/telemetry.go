package backend

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-chi/chi/v5"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// instrumentationScope names the tracer and meter of the server's instrumentation.
const instrumentationScope = "github.com/aegisgo/aegis/template/internal/components/backend"

// Telemetry is the OpenTelemetry a handler instruments its requests with: a span and RED
// metrics per request. It is a contribution kind; the observability component contributes
// the one it installs (the SDK, its exporters and propagators). Without one the handler
// wraps nothing, so an app without the component pays nothing per request: the decision is
// taken once, when the handler is built, rather than calling the no-op API on every request
// (which would cost a context and a request copy each).
type Telemetry struct {
	// TracerProvider makes the request spans. Nil means no spans.
	TracerProvider trace.TracerProvider
	// MeterProvider makes the request metrics. Nil means no metrics.
	MeterProvider metric.MeterProvider
	// Propagator reads the caller's trace context (W3C traceparent) from the request
	// headers. Nil means every request starts a new trace.
	Propagator propagation.TextMapPropagator
}

// enabled reports whether t instruments anything.
func (t Telemetry) enabled() bool { return t.TracerProvider != nil || t.MeterProvider != nil }

// The request metrics, named as OpenTelemetry's HTTP semantic conventions name them.
const (
	metricRequestDuration = "http.server.request.duration"
	metricRequests        = "http.server.requests"
	metricErrors          = "http.server.errors"
)

// durationBuckets are the semantic conventions' advised boundaries, in seconds.
var durationBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10}

// instrument returns the middleware that gives each request a server span (named by its
// route pattern once routed, with the status and the request ID) and records the RED
// metrics per route: requests, 5xx errors and a duration histogram. It goes after
// requestIDMiddleware (whose request context holds the ID, chi's routing context and the
// access log's recorder) and before the access log, whose line then carries the trace.
func instrument(t Telemetry, router chi.Routes) (func(http.Handler) http.Handler, error) {
	in := &instrumentation{propagator: t.Propagator, router: router}
	if t.Propagator != nil {
		for _, f := range t.Propagator.Fields() {
			in.fields = append(in.fields, http.CanonicalHeaderKey(f))
		}
	}
	if t.TracerProvider != nil {
		in.tracer = t.TracerProvider.Tracer(instrumentationScope)
	}
	if t.MeterProvider != nil {
		meter := t.MeterProvider.Meter(instrumentationScope)
		var errs [4]error
		in.duration, errs[0] = meter.Float64Histogram(metricRequestDuration, metric.WithUnit("s"),
			metric.WithDescription("Duration of HTTP server requests."),
			metric.WithExplicitBucketBoundaries(durationBuckets...))
		// The counters are read at collection from counts kept per route (routeInfo): the
		// SDK's synchronous Add, per request and per reader (Prometheus, OTLP), cost more than
		// the histogram's Record it duplicates.
		in.requests, errs[1] = meter.Int64ObservableCounter(metricRequests, metric.WithUnit("{request}"),
			metric.WithDescription("HTTP requests answered."))
		in.errors, errs[2] = meter.Int64ObservableCounter(metricErrors, metric.WithUnit("{request}"),
			metric.WithDescription("HTTP requests answered with a 5xx status."))
		if errs[1] == nil && errs[2] == nil {
			_, errs[3] = meter.RegisterCallback(in.observe, in.requests, in.errors)
		}
		if err := errors.Join(errs[:]...); err != nil {
			return nil, fmt.Errorf("backend: request metrics: %w", err)
		}
	}
	return in.middleware, nil
}

type instrumentation struct {
	tracer     trace.Tracer // nil: no spans
	propagator propagation.TextMapPropagator
	duration   metric.Float64Histogram // nil (with the counters): no metrics
	requests   metric.Int64ObservableCounter
	errors     metric.Int64ObservableCounter
	// routes holds what is fixed per method, route and status: the metric attributes
	// (building and sorting the set on every request was a fifth of the middleware's time)
	// and the span name (a concatenation per request otherwise). The keys are bounded by the
	// routes (chi patterns, "" when unrouted), methods and statuses.
	routes sync.Map // routeKey -> *routeInfo
	// fields are the propagator's header names, canonical.
	fields []string
	// router is the app's router, whose routes' literal first segments (firsts, gathered
	// once at the first unrouted request, when every route is registered) an unrouted
	// request's exported url.path may keep (see unroutedPath).
	router     chi.Routes
	firstsOnce sync.Once
	firsts     map[string]bool
}

type routeKey struct {
	method, route string
	status        int
}

// serverSpan is the start options of every request span; a shared slice, as the metric
// options below, because a variadic call through an interface allocates its arguments.
var serverSpan = []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindServer)}

// routeInfo is what one method, route and status's requests share, and their counts.
type routeInfo struct {
	spanName string // "GET /api/items/{id}", or the method alone when unrouted
	record   []metric.RecordOption
	observe  []metric.ObserveOption
	requests atomic.Int64
	errors   atomic.Int64 // 5xx answers
}

func (in *instrumentation) route(method, route string, status int) *routeInfo {
	k := routeKey{method, route, status}
	if o, ok := in.routes.Load(k); ok {
		return o.(*routeInfo)
	}
	set := metric.WithAttributeSet(attribute.NewSet(
		attribute.String("http.request.method", method),
		attribute.String("http.route", route),
		attribute.Int("http.response.status_code", status),
	))
	o := &routeInfo{spanName: spanMethod(method), record: []metric.RecordOption{set}, observe: []metric.ObserveOption{set}}
	if route != "" {
		o.spanName = spanMethod(method) + " " + route
	}
	// LoadOrStore: a request that raced this one may have stored it first, with a count.
	actual, _ := in.routes.LoadOrStore(k, o)
	return actual.(*routeInfo)
}

// knownMethod is the request's method as metrics and spans name it: one of HTTP's own, or
// "_OTHER" (OpenTelemetry's HTTP conventions). Whatever a client sends as its method must not
// become a new series and a new entry of the route cache each time.
func knownMethod(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodConnect, http.MethodOptions, http.MethodTrace:
		return m
	}
	return otherMethod
}

const otherMethod = "_OTHER"

// spanMethod is the method part of a server span's name: "HTTP" for an unknown method, as the
// conventions ask.
func spanMethod(m string) string {
	if m == otherMethod {
		return "HTTP"
	}
	return m
}

// observe reports the request counters at collection, a series per method, route and status
// once counted (as the SDK's synchronous counter reports one from its first Add on).
func (in *instrumentation) observe(_ context.Context, o metric.Observer) error {
	in.routes.Range(func(_, v any) bool {
		ri := v.(*routeInfo)
		if n := ri.requests.Load(); n > 0 {
			o.ObserveInt64(in.requests, n, ri.observe...)
		}
		if n := ri.errors.Load(); n > 0 {
			o.ObserveInt64(in.errors, n, ri.observe...)
		}
		return true
	})
	return nil
}

// carries reports whether h holds any header the propagator reads: most requests carry no
// trace context, and asking the propagator costs a canonicalised header name per field.
func (in *instrumentation) carries(h http.Header) bool {
	for _, k := range in.fields {
		if len(h[k]) > 0 {
			return true
		}
	}
	return false
}

func (in *instrumentation) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ctx := r.Context()
		method := knownMethod(r.Method)
		var span trace.Span
		if in.tracer != nil {
			carried := in.propagator != nil && in.carries(r.Header)
			if rc, ok := ctx.(*requestContext); ok && rc.span == nil {
				// The request's own context (requestIDMiddleware's) holds the span: a copy of
				// the request per request spared. The span starts over Background, with the
				// parent the request carries or the context already had.
				parent := context.Background()
				if carried {
					parent = in.propagator.Extract(parent, propagation.HeaderCarrier(r.Header))
				} else if outer := trace.SpanFromContext(ctx); outer.SpanContext().IsValid() {
					parent = trace.ContextWithSpan(parent, outer)
				}
				rc.span, span = in.tracer.Start(parent, spanMethod(method), serverSpan...)
			} else {
				if carried {
					ctx = in.propagator.Extract(ctx, propagation.HeaderCarrier(r.Header))
				}
				ctx, span = in.tracer.Start(ctx, spanMethod(method), serverSpan...)
				r = r.WithContext(ctx)
			}
		}
		next.ServeHTTP(w, r)
		if rc, ok := ctx.(*requestContext); ok && rc.detached != nil {
			d := rc.detached
			d.inst, d.instStart, d.instSpan, d.method = in, start, span, method
			return
		}
		in.finish(ctx, w, r, start, method, span)
	})
}

// finish ends the request's span and records its metrics.
func (in *instrumentation) finish(ctx context.Context, w http.ResponseWriter, r *http.Request,
	start time.Time, method string, span trace.Span) {
	status := responseStatus(ctx, w)
	route := ""
	if rctx := chi.RouteContext(ctx); rctx != nil {
		route = rctx.RoutePattern()
	}
	info := in.route(method, route, status)
	if span != nil {
		// The attributes go on only when the span is kept (an unsampled request, most of
		// them at a 10% ratio, then costs nothing here), all in one call: each call copies
		// its arguments and grows the span's slice once more.
		if span.IsRecording() {
			span.SetName(info.spanName)
			// The HTTP server conventions' attributes, the ones the traces panel shows first
			// (it keeps a few) first; the client's address is the one the access log
			// writes (realClient's, behind a trusted proxy).
			var buf [10]attribute.KeyValue
			// A routed path goes as it is: the observability component's exporter replaces
			// what the route's wildcards matched, and its dashboard ring keeps it raw. An
			// unrouted one (a 404, a 405) has no route to tell its parts apart, so it is
			// redacted here, before any processor sees it (see unroutedPath).
			path := r.URL.Path
			if route == "" {
				path = in.unroutedPath(path)
			}
			attrs := append(buf[:0],
				attribute.String("http.request.method", method),
				attribute.String("url.path", path))
			if route != "" { // unrouted: no http.route
				attrs = append(attrs, attribute.String("http.route", route))
			}
			attrs = append(attrs,
				attribute.Int("http.response.status_code", status),
				attribute.String("request_id", RequestID(ctx)))
			if status >= 500 {
				attrs = append(attrs, attribute.String("error.type", strconv.Itoa(status)))
				span.SetStatus(codes.Error, http.StatusText(status))
			}
			attrs = append(attrs,
				attribute.String("client.address", ClientIP(r.RemoteAddr)),
				attribute.String("url.scheme", scheme(r)),
				attribute.String("network.protocol.version", protocolVersion(r)))
			if ua := r.UserAgent(); ua != "" {
				attrs = append(attrs, attribute.String("user_agent.original", ua))
			}
			span.SetAttributes(attrs...)
		}
		span.End()
	}
	if in.duration != nil {
		info.requests.Add(1)
		if status >= 500 {
			info.errors.Add(1)
		}
		in.duration.Record(ctx, time.Since(start).Seconds(), info.record...)
	}
}

// redactedSegment replaces, in a span's url.path, a segment no route spells out.
const redactedSegment = "REDACTED"

// unroutedPath is the url.path a span gets for a request no route matched: a scanner's
// probe, a mistyped or truncated link, which may hold a token, an email or an ID, and goes to
// a tracing backend the app does not control. Only the first segment may stay, and only when
// it is the literal first segment of one of the app's routes ("/api/REDACTED" says which part
// of the app was asked); everything else becomes one REDACTED ("/REDACTED"). "/" and a path
// that is only a known first segment ("/api", "/api/") stay. The span's name (the method
// alone) and the missing http.route say it was unrouted; the access log keeps the raw path.
func (in *instrumentation) unroutedPath(path string) string {
	if path == "/" || path == "*" || path == "" { // "*": OPTIONS *
		return path
	}
	rest, ok := strings.CutPrefix(path, "/")
	if !ok {
		return redactedSegment
	}
	first, tail, _ := strings.Cut(rest, "/")
	if !in.knownFirst(first) {
		return "/" + redactedSegment
	}
	if tail == "" {
		return path
	}
	return "/" + first + "/" + redactedSegment
}

// knownFirst reports whether seg is the literal first segment of a route of the app.
func (in *instrumentation) knownFirst(seg string) bool {
	if seg == "" || in.router == nil {
		return false
	}
	in.firstsOnce.Do(func() {
		in.firsts = map[string]bool{}
		// Walk lists mounted routers' routes under their prefix ("/api/v1/items/{id}").
		_ = chi.Walk(in.router, func(_, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
			first, _, _ := strings.Cut(strings.TrimPrefix(route, "/"), "/")
			if first != "" && !strings.ContainsAny(first, "{*") {
				in.firsts[first] = true
			}
			return nil
		})
	})
	return in.firsts[seg]
}

// scheme is the request's URL scheme as the client used it (a trusted proxy's TLS counts).
func scheme(r *http.Request) string {
	if Secure(r) {
		return "https"
	}
	return "http"
}

// protocolVersion is the HTTP version without its name: "1.1", "2".
func protocolVersion(r *http.Request) string {
	switch {
	case r.ProtoMajor == 2:
		return "2"
	case r.ProtoMajor == 1 && r.ProtoMinor == 0:
		return "1.0"
	}
	return "1.1"
}

// responseStatus is the status the request was answered with: the access log's recorder
// notes it (in the request context, or as the writer), and nothing written means 200.
func responseStatus(ctx context.Context, w http.ResponseWriter) int {
	status := 0
	if rc := requestContextOf(ctx); rc != nil && rc.rw.ResponseWriter != nil {
		status = rc.rw.status
	} else if sw, ok := w.(statusWriter); ok {
		status = sw.Status()
	}
	if status == 0 {
		return http.StatusOK
	}
	return status
}

// traceAttrs returns the trace_id and span_id of the sampled span ctx carries, if any, as
// log attributes. An unsampled trace is exported nowhere, so its IDs would lead nowhere.
func traceAttrs(ctx context.Context) (slog.Attr, slog.Attr, bool) {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsValid() || !sc.IsSampled() {
		return slog.Attr{}, slog.Attr{}, false
	}
	return slog.String("trace_id", sc.TraceID().String()), slog.String("span_id", sc.SpanID().String()), true
}
