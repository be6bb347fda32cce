package observability

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

// TestOTLPExport points the component at a stand-in OTLP/HTTP collector: Stop flushes the
// spans and metrics to /v1/traces and /v1/metrics as protobuf, and a second Stop is a no-op.
func TestOTLPExport(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var got []string
	var metrics []byte // the /v1/metrics bodies: protobuf, whose strings are plain bytes
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, r.Method+" "+r.URL.Path+" "+r.Header.Get("Content-Type"))
		if r.URL.Path == "/v1/metrics" {
			metrics = append(metrics, body...)
		}
		mu.Unlock()
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(collector.Close)

	obs, err := New(t.Context(), Settings{OTLPEndpoint: collector.URL + "/"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, span := obs.TracerProvider().Tracer("test").Start(t.Context(), "work")
	counter, err := obs.MeterProvider().Meter("test").Int64Counter("things")
	if err != nil {
		t.Fatal(err)
	}
	counter.Add(ctx, 1)
	span.End()
	if err := obs.Stop(context.Background()); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if err := obs.Stop(context.Background()); err != nil {
		t.Errorf("second Stop: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, want := range []string{"POST /v1/traces application/x-protobuf", "POST /v1/metrics application/x-protobuf"} {
		if !slices.Contains(got, want) {
			t.Errorf("the collector got %q, want %q among them", got, want)
		}
	}
	// The Go runtime's metrics go over OTLP too, not only the app's.
	for _, want := range []string{"things", "go.goroutine.count", "go.memory.used"} {
		if !bytes.Contains(metrics, []byte(want)) {
			t.Errorf("the metrics sent over OTLP lack %s", want)
		}
	}
}

// TestStandardVariables: the SDK honours OTEL_TRACES_SAMPLER, OTEL_SERVICE_NAME and
// OTEL_RESOURCE_ATTRIBUTES (set in the environment, so not in parallel).
func TestStandardVariables(t *testing.T) {
	t.Setenv("OTEL_TRACES_SAMPLER", "always_off")
	t.Setenv("OTEL_SERVICE_NAME", "from-env")
	t.Setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment.name=staging")
	obs, err := New(t.Context(), Settings{ServiceName: "from-settings"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = obs.Stop(context.Background()) })
	_, span := obs.TracerProvider().Tracer("test").Start(t.Context(), "work")
	if span.IsRecording() {
		t.Error("OTEL_TRACES_SAMPLER=always_off: the span records")
	}
	span.End()
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, MetricsPath, nil)
	req.RemoteAddr = "127.0.0.1:1"
	obs.MetricsHandler().ServeHTTP(rec, req)
	body := rec.Body.String()
	for _, want := range []string{`service_name="from-env"`, `deployment_environment_name="staging"`} {
		if !strings.Contains(body, want) {
			t.Errorf("target_info lacks %s:\n%s", want, body)
		}
	}
}

// TestMetricsExporterNone: OTEL_METRICS_EXPORTER=none sends the spans and no metrics, for a
// backend that takes traces only (Jaeger answers 404 to /v1/metrics, which Stop would
// report).
func TestMetricsExporterNone(t *testing.T) {
	t.Parallel()
	url, paths := pathCollector(t)
	obs, err := New(t.Context(), Settings{OTLPEndpoint: url, MetricsExporter: "none"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := exportSpan(t, obs, paths); !slices.Equal(got, []string{"/v1/traces"}) {
		t.Errorf("the collector got %q, want the traces alone", got)
	}
}

// TestExemplarsOff: exemplars are recorded only where they can leave the process (OTLP
// metrics), unless OTEL_METRICS_EXEMPLAR_FILTER chooses.
func TestExemplarsOff(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name        string
		otlpMetrics bool
		filter      string
		off         bool
	}{
		{"prometheus only", false, "", true},
		{"prometheus only, blank variable", false, " ", true},
		{"prometheus only, asked for", false, "always_on", false},
		{"otlp metrics", true, "", false},
		{"otlp metrics, asked off", true, "always_off", false}, // the SDK applies it
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := exemplarsOff(tc.otlpMetrics, tc.filter); got != tc.off {
				t.Errorf("exemplarsOff(%v, %q) = %v, want %v", tc.otlpMetrics, tc.filter, got, tc.off)
			}
		})
	}
}

// TestSignalEndpointAlone: a per-signal endpoint is enough to export that signal, as the
// OpenTelemetry specification has it: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT alone sends the spans
// (and no metrics, which have nowhere to go), the way to send traces only to Jaeger or Tempo.
// In the environment, so not in parallel.
func TestSignalEndpointAlone(t *testing.T) {
	for _, tc := range []struct {
		name, variable, path string
		want                 []string // the paths the collector gets
	}{
		{"traces", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "/custom/traces", []string{"/custom/traces"}},
		{"metrics", "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "/custom/metrics", []string{"/custom/metrics"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url, paths := pathCollector(t)
			t.Setenv(tc.variable, url+tc.path)

			obs, err := New(t.Context(), Settings{}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if h := obs.CheckHealth(t.Context()); h.Details["otlp"] != true {
				t.Errorf("health details %v, want otlp: true", h.Details)
			}
			if got := exportSpan(t, obs, paths); !slices.Equal(got, tc.want) {
				t.Errorf("the collector got %q, want %q", got, tc.want)
			}
		})
	}
}

// TestTracesExporterNone: OTEL_TRACES_EXPORTER=none sends the metrics and no spans, as
// OTEL_METRICS_EXPORTER=none does the other way round: for a backend that takes metrics
// only.
func TestTracesExporterNone(t *testing.T) {
	t.Parallel()
	url, paths := pathCollector(t)
	obs, err := New(t.Context(), Settings{OTLPEndpoint: url, TracesExporter: "none"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := exportSpan(t, obs, paths); !slices.Equal(got, []string{"/v1/metrics"}) {
		t.Errorf("the collector got %q, want the metrics alone", got)
	}
}

// pathCollector is an OTLP/HTTP collector that accepts everything and tells which paths it
// was sent to, each once, in the order they came.
func pathCollector(t *testing.T) (url string, paths func() []string) {
	t.Helper()
	var mu sync.Mutex
	var got []string
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		if !slices.Contains(got, r.URL.Path) {
			got = append(got, r.URL.Path)
		}
		mu.Unlock()
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(collector.Close)
	return collector.URL, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(got)
	}
}

// exportSpan ends a span and stops obs, which flushes it, and returns where the collector
// was sent to.
func exportSpan(t *testing.T, obs *Observability, paths func() []string) []string {
	t.Helper()
	_, span := obs.TracerProvider().Tracer("test").Start(t.Context(), "work")
	span.End()
	if err := obs.Stop(context.Background()); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	return paths()
}

// TestBlankServiceName: a blank OTEL_SERVICE_NAME (spaces, as an edited .env or a shell's
// "OTEL_SERVICE_NAME= x" leaves it) means the binary's name, as an empty one does and as the
// SDK reads it (trimmed), rather than service.name " " on every trace and series. Set in the
// environment, so not in parallel.
func TestBlankServiceName(t *testing.T) {
	binary := `service_name="` + filepath.Base(os.Args[0]) + `"`
	for _, name := range []string{"", " ", "\t "} {
		t.Setenv("OTEL_SERVICE_NAME", name)
		t.Setenv("OTEL_RESOURCE_ATTRIBUTES", "")
		obs, err := New(t.Context(), Settings{ServiceName: name}, nil)
		if err != nil {
			t.Fatal(err)
		}
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodGet, MetricsPath, nil)
		req.RemoteAddr = "127.0.0.1:1"
		obs.MetricsHandler().ServeHTTP(rec, req)
		_ = obs.Stop(context.Background())
		if !strings.Contains(rec.Body.String(), binary) {
			t.Errorf("OTEL_SERVICE_NAME=%q: target_info lacks %s:\n%s", name, binary, grepLine(rec.Body.String(), "target_info{"))
		}
	}
}

// grepLine is the first line of s containing sub, or "" without one.
func grepLine(s, sub string) string {
	for line := range strings.Lines(s) {
		if strings.Contains(line, sub) {
			return line
		}
	}
	return ""
}
