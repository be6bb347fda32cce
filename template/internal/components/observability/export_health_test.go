package observability

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/aegisgo/aegis/template/internal/runtime/logtest"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
)

const (
	msgExportFailed = "observability: OTLP export failed"
	msgFlushFailed  = "observability: final flush of traces and metrics failed; what it held is lost"
)

// closedPort returns the address of a port nothing listens on: a collector that is down.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

// jsonLogger logs to a buffer the test reads, at every level.
func jsonLogger() (*slog.Logger, *logtest.Buffer) {
	var buf logtest.Buffer
	return slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})), &buf
}

// TestStopCollectorDown: with the collector down, Stop gives up on the final flush within
// FlushTimeout, returns nil (a stop that fails makes serve exit 1) and says so at WARN with
// what to check. OTEL_METRICS_EXPORTER is set per case: not parallel.
func TestStopCollectorDown(t *testing.T) {
	for _, c := range []struct {
		name, metricsExporter string
	}{
		{name: "traces and metrics"},
		{name: "traces only", metricsExporter: "none"},
	} {
		t.Run(c.name, func(t *testing.T) {
			logger, logs := jsonLogger()
			obs, err := New(t.Context(), Settings{OTLPEndpoint: "http://" + closedPort(t), MetricsExporter: c.metricsExporter}, &Opts{Logger: logger})
			if err != nil {
				t.Fatal(err)
			}
			// What one request leaves behind: a span for the batcher and a measurement.
			_, span := obs.TracerProvider().Tracer("test").Start(t.Context(), "GET /")
			span.End()
			counter, err := obs.MeterProvider().Meter("test").Int64Counter("requests")
			if err != nil {
				t.Fatal(err)
			}
			counter.Add(t.Context(), 1, metric.WithAttributes(attribute.String("route", "/")))

			start := time.Now()
			err = obs.Stop(context.Background())
			took := time.Since(start)
			if err != nil {
				t.Errorf("Stop = %v, want nil: a collector that is down must not fail the stop", err)
			}
			if took > FlushTimeout+time.Second {
				t.Errorf("Stop took %v, want at most about FlushTimeout (%v)", took, FlushTimeout)
			}
			recs := logs.Records(t, msgFlushFailed)
			if len(recs) != 1 {
				t.Fatalf("%d %q lines, want 1; log:\n%s", len(recs), msgFlushFailed, logs)
			}
			if recs[0]["level"] != "WARN" || !strings.Contains(fmt.Sprint(recs[0]["hint"]), "OTEL_EXPORTER_OTLP_ENDPOINT") {
				t.Errorf("flush failure logged as %v, want WARN with a hint naming OTEL_EXPORTER_OTLP_ENDPOINT", recs[0])
			}
			// Each failure names its signal, in words: not Go's network or context text.
			if e := fmt.Sprint(recs[0]["err"]); !strings.Contains(e, "traces: ") ||
				strings.Contains(e, "context deadline exceeded") || strings.Contains(e, "dial tcp") {
				t.Errorf("flush failure err = %q, want the signal named and no Go error text", e)
			}
			if err := obs.Stop(context.Background()); err != nil {
				t.Errorf("second Stop = %v, want nil", err)
			}
		})
	}
}

// TestExportHealth: a failing export makes the health check degraded, with the error and
// when it happened, and is logged at WARN once however often it repeats within a minute;
// a successful export makes it healthy again.
func TestExportHealth(t *testing.T) {
	t.Parallel()
	var status atomic.Int32
	status.Store(http.StatusBadRequest) // not retried: the export fails at once
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(int(status.Load()))
	}))
	t.Cleanup(collector.Close)
	logger, logs := jsonLogger()
	obs, err := New(t.Context(), Settings{OTLPEndpoint: collector.URL + "/?key=s3cret"}, &Opts{Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = obs.Stop(context.Background()) })
	if h := obs.CheckHealth(t.Context()); h.Status != registry.StatusHealthy || strings.Contains(h.Message, "working") ||
		!strings.Contains(h.Message, "no traces export finished yet") && !strings.Contains(h.Message, "no metrics export finished yet") {
		t.Errorf("before any export: %+v, want healthy saying none has finished, not that the export works", h)
	}

	for range 3 {
		if err := obs.MeterProvider().ForceFlush(t.Context()); err == nil {
			t.Fatal("ForceFlush succeeded against a collector answering 400")
		}
	}
	h := obs.CheckHealth(t.Context())
	if h.Status != registry.StatusDegraded || !strings.Contains(h.Message, "400") {
		t.Errorf("after failed exports: %+v, want degraded naming the 400", h)
	}
	d, _ := h.Details["metrics"].(map[string]any)
	if d["last_error_at"] == nil || !strings.Contains(fmt.Sprint(d["last_error"]), "400 Bad Request") || d["failures_since_success"] != 3 {
		t.Errorf("metrics details %v, want the last error, its time and 3 failures", d)
	}
	if strings.Contains(fmt.Sprint(h), "s3cret") {
		t.Errorf("the health check shows the endpoint's query: %+v", h)
	}
	recs := logs.Records(t, msgExportFailed)
	if len(recs) != 1 || recs[0]["level"] != "WARN" || recs[0]["signal"] != "metrics" {
		t.Errorf("export failures logged as %v, want one WARN line for metrics (the rest within the minute held back); log:\n%s", recs, logs)
	}
	if strings.Contains(logs.String(), "s3cret") {
		t.Errorf("the log shows the endpoint's query:\n%s", logs)
	}

	status.Store(http.StatusOK)
	if err := obs.MeterProvider().ForceFlush(t.Context()); err != nil {
		t.Fatal(err)
	}
	h = obs.CheckHealth(t.Context())
	if h.Status != registry.StatusHealthy {
		t.Errorf("after a successful export: %+v, want healthy", h)
	}
	d, _ = h.Details["metrics"].(map[string]any)
	if d["last_success_at"] == nil || d["last_error"] == nil {
		t.Errorf("metrics details %v, want the last success and, still, the last error", d)
	}
	if recs := logs.Records(t, "observability: OTLP export works again"); len(recs) != 1 {
		t.Errorf("%d recovery lines, want 1; log:\n%s", len(recs), logs)
	}
}

// TestExportHealthOff: without an endpoint there is nothing to export and the check is healthy.
func TestExportHealthOff(t *testing.T) {
	t.Parallel()
	obs, err := New(t.Context(), Settings{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = obs.Stop(context.Background()) })
	if h := obs.CheckHealth(t.Context()); h.Status != registry.StatusHealthy || h.Details["otlp"] != false {
		t.Errorf("%+v, want healthy with otlp false", h)
	}
}

// TestExportStatusRateLimit walks one signal's status through failures and successes on a
// clock the test moves: the first failure is logged, then at most one a minute with how many
// were held back; the health follows the last outcome.
func TestExportStatusRateLimit(t *testing.T) {
	t.Parallel()
	refused := errors.New("otlp: POST http://127.0.0.1:18399/v1/traces: dial tcp: connection refused")
	type step struct {
		at       time.Duration // since the start
		err      error
		warn     bool // a WARN line is logged
		held     int  // ... saying how many were not logged before it
		failing  bool // the health after the step
		recovery bool // an INFO line says it works again
	}
	for _, c := range []struct {
		name  string
		steps []step
	}{
		{name: "first failure logged at once", steps: []step{
			{at: 0, err: refused, warn: true, failing: true},
		}},
		{name: "repeats within a minute held back, then counted", steps: []step{
			{at: 0, err: refused, warn: true, failing: true},
			{at: 5 * time.Second, err: refused, failing: true},
			{at: 10 * time.Second, err: refused, failing: true},
			{at: 59 * time.Second, err: refused, failing: true},
			{at: 61 * time.Second, err: refused, warn: true, held: 3, failing: true},
			{at: 70 * time.Second, err: refused, failing: true},
		}},
		{name: "success clears, a new failure within the minute waits", steps: []step{
			{at: 0, err: refused, warn: true, failing: true},
			{at: time.Second, recovery: true},
			{at: 2 * time.Second},
			{at: 3 * time.Second, err: refused, failing: true},
			{at: 2 * time.Minute, err: refused, warn: true, held: 1, failing: true},
		}},
		{name: "success alone logs nothing", steps: []step{
			{at: 0}, {at: time.Minute},
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			logger, logs := jsonLogger()
			start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
			var now time.Time
			s := newExportStatus("traces", func() *slog.Logger { return logger })
			s.now = func() time.Time { return now }
			warns, recoveries := 0, 0
			for i, st := range c.steps {
				now = start.Add(st.at)
				err := s.record(st.err)
				var logged *exportFailure
				if (st.err != nil) != errors.As(err, &logged) {
					t.Errorf("step %d: record returned %v, want the error marked as logged iff there is one", i, err)
				}
				recs := logs.Records(t, msgExportFailed)
				if st.warn {
					warns++
				}
				if len(recs) != warns {
					t.Fatalf("step %d: %d WARN lines, want %d; log:\n%s", i, len(recs), warns, logs)
				}
				if st.warn {
					last := recs[len(recs)-1]
					if last["level"] != "WARN" || last["not_logged_since_last_warning"] != float64(st.held) || !strings.Contains(fmt.Sprint(last["err"]), "connection refused") {
						t.Errorf("step %d: %v, want WARN with the error and %d held back", i, last, st.held)
					}
				}
				if st.recovery {
					recoveries++
				}
				if got := len(logs.Records(t, "observability: OTLP export works again")); got != recoveries {
					t.Errorf("step %d: %d recovery lines, want %d", i, got, recoveries)
				}
				failing, reason, d := s.health()
				if failing != st.failing {
					t.Errorf("step %d: failing = %v, want %v", i, failing, st.failing)
				}
				if st.failing && (reason != refused.Error() || d["last_error_at"] != now.Format(time.RFC3339)) {
					t.Errorf("step %d: reason %q, details %v, want the error and its time", i, reason, d)
				}
			}
		})
	}
}

// TestErrorHandler: what an exporter has logged is not logged again; anything else is, at
// WARN, at most once a minute.
func TestErrorHandler(t *testing.T) {
	t.Parallel()
	logger, logs := jsonLogger()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	h := &errorHandler{logger: func() *slog.Logger { return logger }, now: func() time.Time { return now }, limit: warnLimiter{every: warnEvery}}
	for _, c := range []struct {
		err     error
		advance time.Duration
		want    int // lines so far
	}{
		{err: &exportFailure{err: errors.New("otlp: POST x: connection refused")}, want: 0},
		{err: fmt.Errorf("batch: %w", &exportFailure{err: errors.New("wrapped")}), want: 0},
		{err: nil, want: 0},
		{err: errors.New("otlp: POST x: the collector rejected 3 spans"), want: 1},
		{err: errors.New("again"), advance: time.Second, want: 1},
		{err: errors.New("a minute later"), advance: time.Minute, want: 2},
	} {
		now = now.Add(c.advance)
		h.Handle(c.err)
		recs := logs.Records(t, "observability: OpenTelemetry error")
		if len(recs) != c.want {
			t.Fatalf("after %v: %d lines, want %d; log:\n%s", c.err, len(recs), c.want, logs)
		}
		if len(recs) > 0 && recs[len(recs)-1]["level"] != "WARN" {
			t.Errorf("logged at %v, want WARN", recs[len(recs)-1]["level"])
		}
	}
}
