package observability

import (
	"cmp"
	"fmt"
	"html/template"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/aegisgo/aegis/template/internal/components/frontend"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
)

// The Prometheus names of the backend's RED metrics, as /metrics serves them.
const (
	promRequests = "http_server_requests_total"
	promErrors   = "http_server_errors_total"
	promDuration = "http_server_request_duration_seconds"
)

// routeStats are one route's RED metrics, over every status.
type routeStats struct {
	Method, Route string
	Requests      float64
	Errors        float64
	Rate          float64 // requests per second over the rate's window
	ErrorRatio    float64
	P50, P95, P99 float64 // seconds; +Inf: beyond the last bucket
	bounds        []float64
	cumulative    []uint64 // per bound, summed over the statuses
	count         uint64
}

// rateWindow keeps samples of the request counters, taken when the Metrics panel renders,
// so that its rates are over the last minutes rather than since start: at most one sample per
// rateSampleEvery, none older than rateWindowSpan, whatever the traffic.
type rateWindow struct {
	mu      sync.Mutex
	samples []rateSample // oldest first
}

type rateSample struct {
	at     time.Time
	counts map[[2]string]float64 // requests by method and route
}

const (
	rateSampleEvery = 10 * time.Second
	rateWindowSpan  = 5 * time.Minute
)

// observe records counts at now when the last sample is old enough, and returns the oldest
// sample kept, the rates' base.
func (w *rateWindow) observe(now time.Time, counts map[[2]string]float64) rateSample {
	w.mu.Lock()
	defer w.mu.Unlock()
	for len(w.samples) > 0 && now.Sub(w.samples[0].at) > rateWindowSpan {
		w.samples = w.samples[1:]
	}
	if n := len(w.samples); n == 0 || now.Sub(w.samples[n-1].at) >= rateSampleEvery {
		w.samples = append(w.samples, rateSample{at: now, counts: counts})
	}
	return w.samples[0]
}

// routeMetrics reads the RED metrics per route from the registry /metrics serves, in
// process: the same numbers a scrape would get, without a request. The rates are over the
// window it returns: since the oldest sample of o.rates, or since start before there is one
// (the first view).
func (o *Observability) routeMetrics(now time.Time) ([]*routeStats, time.Duration, error) {
	families, err := o.prom.Gather()
	if err != nil {
		return nil, 0, fmt.Errorf("observability: gather metrics: %w", err)
	}
	routes := map[[2]string]*routeStats{}
	route := func(m *dto.Metric) *routeStats {
		var key [2]string
		for _, l := range m.GetLabel() {
			switch l.GetName() {
			case "http_request_method":
				key[0] = l.GetValue()
			case "http_route":
				key[1] = l.GetValue()
			}
		}
		rs, ok := routes[key]
		if !ok {
			rs = &routeStats{Method: key[0], Route: key[1]}
			routes[key] = rs
		}
		return rs
	}
	for _, f := range families {
		switch f.GetName() {
		case promRequests:
			for _, m := range f.GetMetric() {
				route(m).Requests += m.GetCounter().GetValue()
			}
		case promErrors:
			for _, m := range f.GetMetric() {
				route(m).Errors += m.GetCounter().GetValue()
			}
		case promDuration:
			for _, m := range f.GetMetric() {
				rs, h := route(m), m.GetHistogram()
				if rs.bounds == nil {
					for _, bk := range h.GetBucket() {
						rs.bounds = append(rs.bounds, bk.GetUpperBound())
					}
					rs.cumulative = make([]uint64, len(rs.bounds))
				}
				// Every status of a route has the same buckets (the backend's boundaries).
				for i, bk := range h.GetBucket() {
					if i < len(rs.cumulative) {
						rs.cumulative[i] += bk.GetCumulativeCount()
					}
				}
				rs.count += h.GetSampleCount()
			}
		}
	}
	counts := make(map[[2]string]float64, len(routes))
	for key, rs := range routes {
		counts[key] = rs.Requests
	}
	base := o.rates.observe(now, counts)
	window := now.Sub(base.at)
	if window < time.Second {
		window, base.counts = now.Sub(o.started), nil
	}
	out := make([]*routeStats, 0, len(routes))
	for key, rs := range routes {
		if rs.Requests > 0 {
			rs.ErrorRatio = rs.Errors / rs.Requests
		}
		if window > 0 {
			rs.Rate = (rs.Requests - base.counts[key]) / window.Seconds()
		}
		rs.P50, rs.P95, rs.P99 = rs.quantile(0.5), rs.quantile(0.95), rs.quantile(0.99)
		out = append(out, rs)
	}
	slices.SortFunc(out, func(a, b *routeStats) int {
		return cmp.Or(cmp.Compare(b.Requests, a.Requests), cmp.Compare(a.Route, b.Route), cmp.Compare(a.Method, b.Method))
	})
	return out, window, nil
}

// quantile estimates the q-quantile from the histogram, as Prometheus's histogram_quantile
// does: linear within the bucket the rank falls in; +Inf past the last bound.
func (rs *routeStats) quantile(q float64) float64 {
	if rs.count == 0 {
		return math.NaN()
	}
	rank := q * float64(rs.count)
	var prevBound float64
	var prevCount uint64
	for i, bound := range rs.bounds {
		c := rs.cumulative[i]
		if float64(c) >= rank {
			if c == prevCount {
				return bound
			}
			return prevBound + (bound-prevBound)*(rank-float64(prevCount))/float64(c-prevCount)
		}
		prevBound, prevCount = bound, c
	}
	return math.Inf(1)
}

// Buckets are the histogram's per-bucket counts (not cumulative), for the chart.
func (rs *routeStats) buckets() []uint64 {
	out := make([]uint64, len(rs.cumulative)+1)
	var prev uint64
	for i, c := range rs.cumulative {
		out[i] = c - prev
		prev = c
	}
	out[len(out)-1] = rs.count - prev // past the last bound
	return out
}

var metricsTmpl = template.Must(template.New("metrics").Funcs(template.FuncMap{
	"secs":  secondsLabel,
	"pct":   func(f float64) string { return strconv.FormatFloat(f*100, 'f', 1, 64) + "%" },
	"rate":  func(f float64) string { return strconv.FormatFloat(f, 'f', 3, 64) },
	"num":   func(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) },
	"chart": histogramSVG,
	"lower": strings.ToLower,
}).Parse(`<h2 id="routes-heading">Requests per route</h2>
{{if .Routes}}<div class="scroll" tabindex="0" role="group" aria-labelledby="routes-heading"><table>
<thead><tr><th scope="col">Route</th><th scope="col">Requests</th><th scope="col">Per second</th><th scope="col">Errors (5xx)</th><th scope="col">p50</th><th scope="col">p95</th><th scope="col">p99</th><th scope="col">Durations</th></tr></thead>
<tbody>{{range .Routes}}<tr><th scope="row"><span class="method method-{{.Method | lower}}">{{.Method}}</span> <code>{{with .Route}}{{.}}{{else}}(no route){{end}}</code></th>
<td>{{num .Requests}}</td><td>{{rate .Rate}}</td><td>{{num .Errors}} ({{pct .ErrorRatio}})</td>
<td>{{secs .P50}}</td><td>{{secs .P95}}</td><td>{{secs .P99}}</td><td>{{chart .}}</td></tr>{{end}}</tbody>
</table></div>
<p class="muted">Counted since the app started ({{.Uptime}} ago); per second is the average over the last {{.Window}}. Percentiles are estimated from the duration histogram's buckets, as Prometheus does. The same metrics are at <code>GET /metrics</code>.</p>
{{else}}<p class="muted">No requests counted yet.</p>{{end}}`))

func renderMetrics(p *frontend.PanelContext) (template.HTML, error) {
	o, err := registry.Get[*Observability](p.Container)
	if err != nil {
		return "", fmt.Errorf("the observability component is not available: %w", err)
	}
	now := time.Now()
	routes, window, err := o.routeMetrics(now)
	if err != nil {
		return "", err
	}
	return p.Execute(metricsTmpl, map[string]any{"Routes": routes, "Uptime": now.Sub(o.started).Round(time.Second).String(),
		"Window": window.Round(time.Second).String()})
}

// secondsLabel writes a duration in seconds for the table: "n/a" without data.
func secondsLabel(s float64) string {
	switch {
	case math.IsNaN(s):
		return "n/a"
	case math.IsInf(s, 1):
		return "> 10s"
	}
	return durLabel(time.Duration(s * float64(time.Second)))
}

// The histogram chart's geometry, in SVG user units.
const histW, histH = 150, 28

// histogramSVG draws a route's duration histogram as small bars, one per bucket, each with a
// <title> (the bucket's range and count).
func histogramSVG(rs *routeStats) template.HTML {
	counts := rs.buckets()
	var peak uint64
	for _, c := range counts {
		peak = max(peak, c)
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="histogram" viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-label="%s" xmlns="http://www.w3.org/2000/svg">`,
		histW, histH, histW, histH, template.HTMLEscapeString("Durations of "+rs.Method+" "+rs.Route+", per bucket"))
	slot := float64(histW) / float64(len(counts))
	for i, c := range counts {
		h := 0.0
		if peak > 0 {
			h = float64(histH-2) * float64(c) / float64(peak)
		}
		lo, hi := "0", "+Inf"
		if i > 0 {
			lo = secondsLabel(rs.bounds[i-1])
		}
		if i < len(rs.bounds) {
			hi = secondsLabel(rs.bounds[i])
		}
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="currentColor" fill-opacity="0.7"><title>%s</title></rect>`,
			float64(i)*slot+0.5, float64(histH)-h, max(slot-1, 0.5), max(h, 0.5), template.HTMLEscapeString(fmt.Sprintf("%s to %s: %d", lo, hi, c)))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) // every text above is escaped or a number
}
