package observability

import (
	"context"
	"fmt"
	"html"
	"math"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/aegisgo/aegis/template/internal/components/frontend/frontendtest"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
)

// panelSetup serves the component's routes with a few requests made (an item with a request
// ID, a failure) and a job's trace of four spans, and returns the dashboard's handler with the
// component and the item's and the job's trace IDs.
func panelSetup(t *testing.T) (h http.Handler, item, job trace.TraceID) {
	t.Helper()
	f := setup(t, Settings{DashboardTraces: 20}, false)
	for _, path := range []string{"/api/items/7", "/boom", "/api/items/8", "/favicon.ico"} {
		get(t, f.url+path, http.Header{"X-Request-Id": {"req" + strings.ReplaceAll(path, "/", "-")}})
	}
	items := f.obs.Traces().Traces(AllTraces, "req-api-items-7", 1)
	if len(items) != 1 {
		t.Fatalf("the ring holds no trace of request req-api-items-7: %+v", f.obs.Traces().Stats())
	}
	tr := f.obs.TracerProvider().Tracer("test")
	ctx, root := tr.Start(t.Context(), "work send_welcome", trace.WithSpanKind(trace.SpanKindConsumer))
	txCtx, tx := tr.Start(ctx, "tx")
	_, insert := tr.Start(txCtx, "insert users")
	insert.End()
	tx.End()
	_, send := tr.Start(ctx, "smtp send")
	send.SetStatus(codes.Error, "connection refused")
	send.End()
	root.End()
	h = frontendtest.Handler(t, nil, func(r *registry.Registry) error { return registry.Value(r, f.obs) })
	return h, items[0].ID, root.SpanContext().TraceID()
}

func page(t *testing.T, h http.Handler, path string) string {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequestWithContext(context.Background(), http.MethodGet, path, nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET %s = %d\n%s", path, rec.Code, rec.Body)
	}
	return rec.Body.String()
}

func TestTracesPanel(t *testing.T) {
	t.Parallel()
	h, id, job := panelSetup(t)
	const self = "/dashboard/panels/traces"
	tests := []struct {
		query      string
		want, lack []string
	}{
		{"", []string{"GET /api/items/{id}", "GET /boom", "badge-unhealthy", "badge-healthy",
			`href="/dashboard/panels/traces?request_id=req-api-items-7"`, `href="/dashboard/panels/traces?trace=` + id.String() + `"`,
			`aria-current="page">Recent`, `<code class="muted">/api/items/7</code>`, `<code class="muted">/api/items/8</code>`,
			// A request no route matched has a root span named by its method alone, and its
			// path redacted at the source (backend's unroutedPath): a probe's or a mistyped
			// link's may hold a token. The access log keeps it.
			`<code class="muted">/REDACTED</code>`},
			[]string{`<code class="muted">/boom</code>`, "/favicon.ico"}},
		{"?filter=failed", []string{"Failed traces", "GET /boom", " 500"}, []string{"GET /api/items/{id}"}},
		{"?filter=slow", []string{"Slowest traces", "GET /boom", "GET /api/items/{id}", `aria-current="page">Slowest`}, nil},
		{"?request_id=req-api-items-7", []string{"req-api-items-7", "GET /api/items/{id}"}, []string{"GET /boom", "req-api-items-8"}},
		{"?trace=" + id.String(), []string{`<svg class="waterfall"`, `<title id="waterfall-title">Waterfall of trace ` + id.String(),
			`<g class="span"><title>GET /api/items/{id}: `, "Request ID", "All traces", `href="/dashboard/panels/traces?request_id=req-api-items-7"`,
			"<p><code>/api/items/7</code></p>"}, nil},
		{"?trace=" + job.String(), []string{"work send_welcome", "<title>smtp send: ", ", failed: connection refused</title>",
			"\u00a0\u00a0\u00a0\u00a0insert users"}, []string{`<th scope="row">Request ID</th>`}},
		{"?trace=not-hex", []string{"That is not a trace ID."}, []string{"<svg"}},
		{"?trace=0123456789abcdef0123456789abcdef", []string{"is no longer kept"}, []string{"<svg"}},
	}
	for _, tt := range tests {
		body := page(t, h, self+tt.query)
		for _, w := range tt.want {
			if !strings.Contains(body, w) {
				t.Errorf("%s%s lacks %q", self, tt.query, w)
			}
		}
		for _, l := range append(tt.lack, "This panel failed to render") {
			if strings.Contains(body, l) {
				t.Errorf("%s%s shows %q", self, tt.query, l)
			}
		}
	}
	// The fragment htmx would fetch renders too.
	if body := page(t, h, "/dashboard/fragments/panels/traces"); !strings.Contains(body, `class="panel"`) {
		t.Errorf("fragment: %s", body)
	}
}

func TestMetricsPanel(t *testing.T) {
	t.Parallel()
	h, _, _ := panelSetup(t)
	body := page(t, h, "/dashboard/panels/metrics")
	for _, want := range []string{"<code>/api/items/{id}</code>", "<code>/boom</code>",
		"<td>2</td>", "0 (0.0%)", "1 (100.0%)", `<svg class="histogram"`, "<title>0 to 5.00ms: "} {
		if !strings.Contains(body, want) {
			t.Errorf("the Metrics panel lacks %q:\n%s", want, body)
		}
	}
	// Without the worker and the database (their glues publish those metrics) the panel
	// shows neither.
	for _, lack := range []string{"Job throughput", "Queue depth", "Database pool"} {
		if strings.Contains(body, lack) {
			t.Errorf("the Metrics panel shows %q without a worker or a database", lack)
		}
	}
}

// TestMetricsPanelJobsAndPool: job attempts, queue depths and a pool published under the
// names the worker and the glues use show in the panel: the totals, the throughput chart, the
// queues' table and the pool's, with its usage bar.
func TestMetricsPanelJobsAndPool(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	obs, err := New(ctx, Settings{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = obs.Stop(context.Background()) })
	meter := obs.MeterProvider().Meter("test")
	attempts, err := meter.Float64Histogram("river.job.duration", metric.WithUnit("s"))
	if err != nil {
		t.Fatal(err)
	}
	for i, outcome := range []string{"ok", "ok", "ok", "error"} {
		attempts.Record(ctx, 0.01*float64(i+1), metric.WithAttributes(attribute.String("river.queue", "default"), attribute.String("outcome", outcome)))
	}
	depth, _ := meter.Int64ObservableGauge("river.queue.depth", metric.WithUnit("{job}"))
	conns, _ := meter.Int64ObservableUpDownCounter("db.client.connection.count", metric.WithUnit("{connection}"))
	maxConns, _ := meter.Int64ObservableUpDownCounter("db.client.connection.max", metric.WithUnit("{connection}"))
	waits, _ := meter.Int64ObservableCounter("db.client.connection.wait_count", metric.WithUnit("{request}"))
	waited, _ := meter.Float64ObservableCounter("db.client.connection.wait_duration", metric.WithUnit("s"))
	pool := []attribute.KeyValue{attribute.String("db.system.name", "sqlite"), attribute.String("db.client.connection.pool.name", "data/app.db")}
	_, err = meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		o.ObserveInt64(depth, 7, metric.WithAttributes(attribute.String("river.queue", "mail"), attribute.String("river.job.state", "available")))
		o.ObserveInt64(depth, 2, metric.WithAttributes(attribute.String("river.queue", "mail"), attribute.String("river.job.state", "scheduled")))
		o.ObserveInt64(conns, 3, metric.WithAttributes(append(pool, attribute.String("db.client.connection.state", "used"))...))
		o.ObserveInt64(conns, 1, metric.WithAttributes(append(pool, attribute.String("db.client.connection.state", "idle"))...))
		o.ObserveInt64(maxConns, 10, metric.WithAttributes(pool...))
		o.ObserveInt64(waits, 4, metric.WithAttributes(pool...))
		o.ObserveFloat64(waited, 0.25, metric.WithAttributes(pool...))
		return nil
	}, depth, conns, maxConns, waits, waited)
	if err != nil {
		t.Fatal(err)
	}
	h := frontendtest.Handler(t, nil, func(r *registry.Registry) error { return registry.Value(r, obs) })
	body := page(t, h, "/dashboard/panels/metrics")
	for _, want := range []string{
		"Job throughput", "3 jobs completed, 1 attempt failed", `<svg class="throughput"`,
		`<title id="throughput-title">Job throughput over the last `, ": 3 completed, 1 failed", `class="failed"`,
		"Queue depth", "<th scope=\"row\"><code>mail</code></th><td>7</td><td>2</td><td>0</td><td>0</td>",
		"Database pool", "sqlite <code>data/app.db</code></th><td>3</td><td>1</td><td>10</td>",
		`<svg class="pool"`, "<title>3 in use, 1 idle, of 10</title>", "<td>4</td><td>250ms</td>",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the Metrics panel lacks %q:\n%s", want, body)
		}
	}
}

// TestThroughputSVG: one bar per interval, placed by time and as high as its rate, failed
// attempts stacked in red, a title on each.
func TestThroughputSVG(t *testing.T) {
	t.Parallel()
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	tests := []struct {
		name       string
		points     []jobPoint
		bars       int
		want, lack []string
	}{
		{"first view", []jobPoint{{At: at(0)}, {At: at(10), Jobs: jobTotals{OK: 20}}}, 1,
			[]string{`<rect x="0.5" y="2.0" width="319.0" height="46.0"`, "<title>03:04:05 to 03:04:15 UTC", ": 20 completed, 0 failed (2.00 per second)", "peak 2.00/s"},
			[]string{`class="failed"`}},
		{"two intervals", []jobPoint{{At: at(0)}, {At: at(10), Jobs: jobTotals{OK: 10}}, {At: at(40), Jobs: jobTotals{OK: 10, Failed: 3}}}, 2,
			[]string{`<rect x="0.5" y="2.0" width="79.0" height="46.0"`, `<rect class="failed" x="80.5" y="43.4" width="239.0" height="4.6"`,
				": 0 completed, 3 failed (0.10 per second)", "over the last 40.0s: 10 completed, 3 failed"}, nil},
		{"nothing worked", []jobPoint{{At: at(0)}, {At: at(10)}}, 1, []string{"peak 0.00/s", "0 completed, 0 failed"}, nil},
	}
	for _, tt := range tests {
		svg := string(throughputSVG(tt.points))
		if n := strings.Count(svg, `<g class="interval">`); n != tt.bars {
			t.Errorf("%s: %d bars, want %d:\n%s", tt.name, n, tt.bars, svg)
		}
		for _, w := range tt.want {
			if !strings.Contains(svg, w) {
				t.Errorf("%s: the chart lacks %q:\n%s", tt.name, w, svg)
			}
		}
		for _, l := range tt.lack {
			if strings.Contains(svg, l) {
				t.Errorf("%s: the chart has %q:\n%s", tt.name, l, svg)
			}
		}
	}
}

// TestRouteRates: the first view's rate is since start, later ones over the window since the
// oldest sample; times are given, not waited for.
func TestRouteRates(t *testing.T) {
	t.Parallel()
	f := setup(t, Settings{}, false)
	base := time.Now()
	f.obs.started = base.Add(-4 * time.Second)
	items := func(now time.Time) (float64, time.Duration) {
		t.Helper()
		routes, window, err := f.obs.routeMetrics(t.Context(), now)
		if err != nil {
			t.Fatal(err)
		}
		for _, rs := range routes {
			if rs.Route == "/api/items/{id}" {
				return rs.Rate, window
			}
		}
		t.Fatalf("no /api/items/{id} in %v", routes)
		return 0, 0
	}
	for range 2 {
		get(t, f.url+"/api/items/1", nil)
	}
	tests := []struct {
		at       time.Duration // after base
		requests int           // made before
		rate     float64
		window   time.Duration
	}{
		{0, 0, 2.0 / 4, 4 * time.Second},                                  // since start: the first sample is now
		{5 * time.Second, 3, 3.0 / 5, 5 * time.Second},                    // since the sample at base
		{20 * time.Second, 4, 7.0 / 20, 20 * time.Second},                 // a second sample at +20s, the base stays
		{5*time.Minute + 10*time.Second, 4, 4.0 / 290, 290 * time.Second}, // base dropped: from +20s
	}
	for _, tt := range tests {
		for range tt.requests {
			get(t, f.url+"/api/items/1", nil)
		}
		rate, window := items(base.Add(tt.at))
		if math.Abs(rate-tt.rate) > 1e-9 || window != tt.window {
			t.Errorf("at +%s: rate %v over %s, want %v over %s", tt.at, rate, window, tt.rate, tt.window)
		}
	}
}

func TestQuantile(t *testing.T) {
	t.Parallel()
	bounds := []float64{0.1, 0.5, 1}
	tests := []struct {
		cumulative []uint64
		count      uint64
		q, want    float64
	}{
		{[]uint64{10, 90, 100}, 100, 0.5, 0.3},
		{[]uint64{10, 90, 100}, 100, 0.95, 0.75},
		{[]uint64{10, 90, 100}, 100, 0.99, 0.95},
		{[]uint64{10, 90, 100}, 100, 0.05, 0.05},
		{[]uint64{0, 0, 0}, 10, 0.5, math.Inf(1)},
		{[]uint64{0, 0, 0}, 0, 0.5, math.NaN()},
	}
	for _, tt := range tests {
		rs := &routeStats{bounds: bounds, cumulative: tt.cumulative, count: tt.count}
		got := rs.quantile(tt.q)
		if math.IsNaN(tt.want) && math.IsNaN(got) {
			continue
		}
		if math.Abs(got-tt.want) > 1e-9 && !(math.IsInf(got, 1) && math.IsInf(tt.want, 1)) {
			t.Errorf("quantile(%v) of %v/%d = %v, want %v", tt.q, tt.cumulative, tt.count, got, tt.want)
		}
	}
}

// TestWaterfall: each span after its parent, siblings by start, one bar and title each; a
// span whose parent is not held starts a tree of its own.
func TestWaterfall(t *testing.T) {
	t.Parallel()
	sid := func(b byte) trace.SpanID { return trace.SpanID{b} }
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	tr := Trace{ID: trace.TraceID{1}, Spans: []SpanRecord{
		{SpanID: sid(4), ParentID: sid(2), Name: "insert", Start: at(3), End: at(4)},
		{SpanID: sid(3), ParentID: sid(1), Name: "enqueue", Start: at(5), End: at(6), Failed: true, Status: "full"},
		{SpanID: sid(1), Name: "GET /x", Start: at(0), End: at(10)},
		{SpanID: sid(2), ParentID: sid(1), Name: "tx", Start: at(2), End: at(5)},
		{SpanID: sid(5), ParentID: sid(9), Name: "orphan <b>", Start: at(1), End: at(2)},
	}}
	tr.Root = tr.Spans[2]
	rows := waterfallRows(tr)
	var got []string
	for _, r := range rows {
		got = append(got, fmt.Sprintf("%d:%s", r.Depth, r.Span.Name))
	}
	if want := "[0:GET /x 1:tx 2:insert 1:enqueue 0:orphan <b>]"; fmt.Sprint(got) != want {
		t.Errorf("rows %v, want %s", got, want)
	}
	svg := string(waterfallSVG(tr, rows))
	for _, want := range []string{`<rect x="300.0" y="24" width="570.0"`, "<title>enqueue: 1.00ms, starting at +5.00ms, failed: full</title>",
		`fill="#c62828"`, "orphan &lt;b&gt;", ">10.0ms</text>"} {
		if !strings.Contains(svg, want) {
			t.Errorf("the waterfall lacks %q:\n%s", want, svg)
		}
	}
	if n := strings.Count(svg, `<g class="span">`); n != 5 {
		t.Errorf("%d span groups, want 5", n)
	}
}

// TestPanelsEmpty: before the first request, and with no ring at all, both panels render a
// line saying so (not an error, an empty table or a chart of nothing).
func TestPanelsEmpty(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		traces int
		pages  map[string][]string // path: what it must show
	}{
		{"fresh", 20, map[string][]string{
			"/dashboard/panels/traces":                                   {"No traces held yet."},
			"/dashboard/panels/traces?filter=failed":                     {"No traces held yet: nothing failed."},
			"/dashboard/panels/traces?filter=slow":                       {"No traces held yet."},
			"/dashboard/panels/traces?request_id=nope":                   {"No traces of this request held yet."},
			"/dashboard/panels/traces?trace=" + strings.Repeat("ab", 16): {"is no longer kept"},
			"/dashboard/panels/metrics":                                  {"No requests counted yet."},
			"/dashboard/fragments/panels/metrics":                        {"No requests counted yet."},
		}},
		{"no ring", 0, map[string][]string{
			"/dashboard/panels/traces":                                   {"No traces are kept: <code>OTEL_DASHBOARD_TRACES</code> is 0."},
			"/dashboard/panels/traces?trace=" + strings.Repeat("ab", 16): {"No traces are kept"},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			obs, err := New(t.Context(), Settings{DashboardTraces: tc.traces}, nil)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = obs.Stop(context.Background()) })
			h := frontendtest.Handler(t, nil, func(r *registry.Registry) error { return registry.Value(r, obs) })
			for path, want := range tc.pages {
				body := page(t, h, path)
				for _, w := range want {
					if !strings.Contains(body, w) {
						t.Errorf("%s lacks %q", path, w)
					}
				}
				for _, lack := range []string{"This panel failed to render", "<svg", "NaN", "<tbody></tbody>"} {
					if strings.Contains(body, lack) {
						t.Errorf("%s shows %q", path, lack)
					}
				}
			}
		})
	}
}

// TestHistogramBars: one bar per bucket, titled with its range. The exposition's bounds end
// with +Inf (its cumulative count is the total), which once drew a bar "1.00s to > 10s" and
// an always-empty one "> 10s to +Inf"; bounds without it get the bucket past the last bound.
func TestHistogramBars(t *testing.T) {
	t.Parallel()
	want := []string{"0 to 100ms: 1", "100ms to 1.00s: 2", "over 1.00s: 1"}
	tests := []struct {
		name       string
		bounds     []float64
		cumulative []uint64
	}{
		{"exposition, ending in +Inf", []float64{0.1, 1, math.Inf(1)}, []uint64{1, 3, 4}},
		{"explicit bounds only", []float64{0.1, 1}, []uint64{1, 3}},
	}
	titles := regexp.MustCompile(`<title>([^<]*)</title>`)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs := &routeStats{Method: "GET", Route: "/x", bounds: tt.bounds, cumulative: tt.cumulative, count: 4}
			var got []string
			for _, m := range titles.FindAllStringSubmatch(string(histogramSVG(rs)), -1) {
				got = append(got, html.UnescapeString(m[1]))
			}
			if !slices.Equal(got, want) {
				t.Errorf("bars %q, want %q", got, want)
			}
		})
	}
}
