package observabilityworker

import (
	"context"
	"testing"

	"github.com/aegisgo/aegis/template/internal/components/database"
	"github.com/aegisgo/aegis/template/internal/components/database/databasetest"
	"github.com/aegisgo/aegis/template/internal/components/observability"
	"github.com/aegisgo/aegis/template/internal/components/observability/jaegertest"
)

// TestJaegerTrace is TestRequestTrace against a real backend: the component exports over
// OTLP/HTTP to a Jaeger of the test's own, as the app does with OTEL_EXPORTER_OTLP_ENDPOINT,
// and the trace is read back from Jaeger's query API. That checks what the recorder cannot:
// the spans survive the exporter and the wire, and a backend links them into one trace. It
// skips when Jaeger is not installed. Globals, as the app, so not in parallel.
func TestJaegerTrace(t *testing.T) {
	jaeger := jaegertest.Start(t)
	// Jaeger takes traces only (404 on /v1/metrics): the standard switch turns the metric
	// export off, as the compose file does.
	const service = "aegis-jaeger-test"
	obs, err := observability.New(t.Context(),
		observability.Settings{ServiceName: service, OTLPEndpoint: jaeger.OTLPEndpoint, MetricsExporter: "none"},
		&observability.Opts{Global: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := obs.Stop(context.Background()); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})

	databasetest.Engines(t, func(t *testing.T, db *database.DB) {
		traceID := requestThroughApp(t, db, obs).TraceID().String()
		// The job's span ends after the job has signalled, so the flush runs before every
		// look until the trace holds it.
		tr := jaeger.WaitTrace(traceID, obs.TracerProvider().ForceFlush, func(tr jaegertest.Trace) bool {
			for _, s := range tr.Spans {
				if s.OperationName == workSpan {
					return true
				}
			}
			return false
		})

		byName := map[string]jaegertest.Span{}
		for _, s := range tr.Spans {
			if _, dup := byName[s.OperationName]; dup {
				t.Errorf("two %q spans in the trace", s.OperationName)
			}
			byName[s.OperationName] = s
			if p := tr.Processes[s.ProcessID]; p.ServiceName != service {
				t.Errorf("%s: service %q, want %q", s.OperationName, p.ServiceName, service)
			}
		}
		for _, link := range []struct {
			child, parent, kind string // parent "" is a root span
		}{
			{requestSpan, "", "server"},
			{insertSpan, requestSpan, "client"},
			{enqueueSpan, requestSpan, "producer"},
			{workSpan, enqueueSpan, "consumer"},
		} {
			child, ok := byName[link.child]
			if !ok {
				t.Errorf("jaeger's trace %s lacks %q (it holds %d spans)", traceID, link.child, len(tr.Spans))
				continue
			}
			want := ""
			if link.parent != "" {
				want = byName[link.parent].SpanID
				if want == "" {
					continue // reported above
				}
			}
			if got := child.Parent(); got != want {
				t.Errorf("%s: parent span %q, want %q (%s)", link.child, got, want, link.parent)
			}
			if kind, _ := child.Tag("span.kind"); kind != link.kind {
				t.Errorf("%s: span.kind %v, want %s", link.child, kind, link.kind)
			}
		}
	})
}
