package observability

import (
	"compress/gzip"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/resource"
)

// TestPromName: OpenTelemetry's names and units as Prometheus names, as OpenTelemetry's
// Prometheus compatibility rules translate them.
func TestPromName(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name, unit string
		gauge      bool
		want       string
	}{
		{"http.server.request.duration", "s", false, "http_server_request_duration_seconds"},
		{"go.memory.used", "By", true, "go_memory_used_bytes"},
		{"go.goroutine.count", "{goroutine}", true, "go_goroutines"}, // _count is a histogram's
		{"db.client.connection.count", "{connection}", true, "db_client_connections"},
		{"queue.entry.count", "{entry}", true, "queue_entries"},
		{"db.client.connection.wait_count", "{request}", false, "db_client_connection_wait_count"}, // a counter: _total follows
		{"go.config.gogc", "%", true, "go_config_gogc_percent"},
		{"cpu.utilization", "1", true, "cpu_utilization_ratio"},
		{"http.server.requests", "1", false, "http_server_requests"},
		{"net.io", "By/s", true, "net_io_bytes_per_second"},
		{"db.client.connection.wait_time", "s", false, "db_client_connection_wait_time_seconds"},
		{"queue.latency.seconds", "s", false, "queue_latency_seconds"}, // the unit is there already
		{"weird-name..x", "{a}/{b}", true, "weird_name_x"},
		{"2xx.responses", "", false, "_2xx_responses"},
		{"temperature", "Cel", true, "temperature_celsius"},
		{"payload", "KiBy", true, "payload_kibibytes"},
		{"things", "widgets", true, "things_widgets"}, // an unknown unit is kept as words
	} {
		if got := promName(c.name, c.unit, c.gauge); got != c.want {
			t.Errorf("promName(%q, %q, gauge %v) = %q, want %q", c.name, c.unit, c.gauge, got, c.want)
		}
	}
}

// TestPromFamilies: every kind of aggregation the SDK makes, from two scopes, with the
// resource as target_info, escaped help and label values, colliding label names and a name
// claimed with two types; then the text parses with Prometheus' own parser, to the values put in.
func TestPromFamilies(t *testing.T) {
	t.Parallel()
	now := time.Now()
	attrs := attribute.NewSet(attribute.String("http.route", `/a "b" \c`+"\n"), attribute.Int("http.response.status_code", 200))
	rm := &metricdata.ResourceMetrics{
		Resource: resource.NewSchemaless(attribute.String("service.name", "shop")),
		ScopeMetrics: []metricdata.ScopeMetrics{
			{Scope: instrumentation.Scope{Name: "one", Version: "1.0"}, Metrics: []metricdata.Metrics{
				{Name: "requests", Description: "Requests\nserved \\ counted.", Unit: "{request}",
					Data: metricdata.Sum[int64]{IsMonotonic: true, Temporality: metricdata.CumulativeTemporality,
						DataPoints: []metricdata.DataPoint[int64]{{Attributes: attrs, Time: now, Value: 7}}}},
				{Name: "inflight", Unit: "{request}",
					Data: metricdata.Sum[int64]{IsMonotonic: false, DataPoints: []metricdata.DataPoint[int64]{{Value: -2}}}},
				{Name: "duration", Unit: "s", Data: metricdata.Histogram[float64]{DataPoints: []metricdata.HistogramDataPoint[float64]{{
					Attributes: attrs, Count: 6, Sum: 2.5, Bounds: []float64{0.1, 1}, BucketCounts: []uint64{1, 3, 2}}}}},
				{Name: "load", Unit: "1", Data: metricdata.Gauge[float64]{DataPoints: []metricdata.DataPoint[float64]{
					{Attributes: attribute.NewSet(attribute.String("a.b", "x"), attribute.String("a_b", "y")), Value: math.Inf(1)}}}},
				{Name: "spread", Data: metricdata.ExponentialHistogram[float64]{}}, // no text form: left out
			}},
			{Scope: instrumentation.Scope{Name: "two"}, Metrics: []metricdata.Metrics{
				{Name: "requests", Unit: "{request}", Data: metricdata.Sum[float64]{IsMonotonic: true,
					DataPoints: []metricdata.DataPoint[float64]{{Value: 1.5}}}},
				{Name: "load", Unit: "1", Data: metricdata.Sum[int64]{IsMonotonic: true, // load_ratio is a gauge above
					DataPoints: []metricdata.DataPoint[int64]{{Value: 1}}}},
				{Name: "load.ratio", Data: metricdata.Sum[int64]{IsMonotonic: false,
					DataPoints: []metricdata.DataPoint[int64]{{Value: 3}}}},
			}},
		},
	}
	families, errs := promFamilies(rm)
	if len(errs) != 0 {
		t.Errorf("errors: %v", errs)
	}
	var b strings.Builder
	if err := writeText(&b, families); err != nil {
		t.Fatal(err)
	}
	text := b.String()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	parsed, err := parser.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		t.Fatalf("the text does not parse: %v\n%s", err, text)
	}
	// The protobuf text form spaces itself at random (on purpose): compare with single spaces.
	get := func(name string) string { return strings.Join(strings.Fields(parsed[name].String()), " ") }
	for _, c := range []struct{ family, want string }{
		{"target_info", `name:"service_name" value:"shop"`},
		{"requests_total", `help:"Requests\nserved \\ counted."`},
		{"requests_total", `name:"http_route" value:"/a \"b\" \\c\n"`},
		{"requests_total", `counter:{value:7}`},
		{"requests_total", `counter:{value:1.5}`},
		{"requests_total", `name:"otel_scope_name" value:"two"`},
		{"requests_total", `name:"otel_scope_version" value:"1.0"`},
		{"inflight", `type:GAUGE`},
		{"inflight", `gauge:{value:-2}`},
		{"duration_seconds", `sample_count:6 sample_sum:2.5`},
		{"duration_seconds", `cumulative_count:1 upper_bound:0.1`},
		{"duration_seconds", `cumulative_count:4 upper_bound:1`},
		{"duration_seconds", `cumulative_count:6 upper_bound:inf`},
		{"load_ratio", `name:"a_b" value:"x;y"`},
		{"load_ratio", `gauge:{value:inf}`},
	} {
		if got := get(c.family); !strings.Contains(got, c.want) {
			t.Errorf("%s lacks %s:\n%s", c.family, c.want, got)
		}
	}
	if parsed["spread"] != nil {
		t.Error("an exponential histogram was written in the text format, which has no form for it")
	}
	// load (a counter from scope two) would be load_total; load.ratio (an up-down counter) is
	// a gauge named load_ratio like scope one's gauge, so the two series share the family.
	if n := len(parsed["load_ratio"].GetMetric()); n != 2 {
		t.Errorf("load_ratio has %d series, want 2:\n%s", n, text)
	}

	// A name two instruments claim with different types: the first stays, the other is reported.
	rm.ScopeMetrics = append(rm.ScopeMetrics, metricdata.ScopeMetrics{Metrics: []metricdata.Metrics{
		{Name: "inflight", Data: metricdata.Histogram[int64]{DataPoints: []metricdata.HistogramDataPoint[int64]{{Count: 1}}}},
	}})
	families, errs = promFamilies(rm)
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "inflight is a gauge and a histogram") {
		t.Errorf("errors = %v, want one about inflight", errs)
	}
	for _, f := range families {
		if f.Name == "inflight" && f.Type != "gauge" {
			t.Errorf("inflight became a %s", f.Type)
		}
	}

	// Families read elsewhere (the runtime's) sort in with the collection's, and come first
	// when they claim a name with another type.
	rm2 := *rm
	rm2.ScopeMetrics = rm.ScopeMetrics[:1]
	families, errs = promFamilies(&rm2, gauge("go_threads", "", 9), counter("duration_seconds", "", 1))
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "duration_seconds is a counter and a histogram") {
		t.Errorf("errors = %v, want one about duration_seconds", errs)
	}
	var names []string
	for _, f := range families {
		names = append(names, f.Name)
	}
	if want := []string{"duration_seconds", "go_threads", "inflight", "load_ratio", "requests_total", "target_info"}; !slices.Equal(names, want) {
		t.Errorf("families %v, want %v", names, want)
	}
}

// TestMetricsGzip: a scraper that accepts gzip (Prometheus does) gets it; one that does not,
// plain text; both parse to the same families, runtime and process metrics among them.
func TestMetricsGzip(t *testing.T) {
	t.Parallel()
	obs, err := New(t.Context(), Settings{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = obs.Stop(t.Context()) })
	for _, c := range []struct {
		accept string
		gzip   bool
	}{
		{"", false},
		{"gzip", true},
		{"deflate, gzip;q=0.5", true},
		{"gzip;q=0", false},
		{"identity", false},
	} {
		req := httptest.NewRequest(http.MethodGet, MetricsPath, nil)
		req.RemoteAddr = "127.0.0.1:1"
		if c.accept != "" {
			req.Header.Set("Accept-Encoding", c.accept)
		}
		rec := httptest.NewRecorder()
		obs.MetricsHandler().ServeHTTP(rec, req)
		var body io.Reader = rec.Body
		if got := rec.Header().Get("Content-Encoding") == "gzip"; got != c.gzip {
			t.Errorf("Accept-Encoding %q: gzipped %v, want %v", c.accept, got, c.gzip)
			continue
		}
		if c.gzip {
			zr, err := gzip.NewReader(rec.Body)
			if err != nil {
				t.Fatal(err)
			}
			body = zr
		}
		if ct := rec.Header().Get("Content-Type"); ct != "text/plain; version=0.0.4; charset=utf-8" {
			t.Errorf("Content-Type %q", ct)
		}
		parser := expfmt.NewTextParser(model.UTF8Validation)
		parsed, err := parser.TextToMetricFamilies(body)
		if err != nil {
			t.Fatalf("Accept-Encoding %q: %v", c.accept, err)
		}
		want := []string{"go_info", "go_goroutines", "go_threads", "go_memory_used_bytes", "target_info"}
		if runtime.GOOS == "linux" {
			want = append(want, "process_cpu_seconds_total", "process_resident_memory_bytes", "process_open_fds",
				"process_max_fds", "process_start_time_seconds", "process_virtual_memory_bytes")
		}
		for _, name := range want {
			if parsed[name] == nil {
				t.Errorf("Accept-Encoding %q: no %s", c.accept, name)
			}
		}
	}
}
