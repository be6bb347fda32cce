package observability

import (
	"cmp"
	"context"
	"fmt"
	"html/template"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

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

// rateWindow keeps samples of the request and job counters, taken when the Metrics panel
// renders, so that its rates and the job throughput chart are over the last minutes rather
// than since start: at most one sample per rateSampleEvery, none older than rateWindowSpan,
// whatever the traffic (at most 31 samples).
type rateWindow struct {
	mu      sync.Mutex
	samples []rateSample // oldest first
}

type rateSample struct {
	at     time.Time
	counts map[[2]string]float64 // requests by method and route
	jobs   jobTotals
}

// jobTotals are the job attempts ended since start, by outcome.
type jobTotals struct{ OK, Failed float64 }

const (
	rateSampleEvery = 10 * time.Second
	rateWindowSpan  = 5 * time.Minute
)

// observe records s when the last sample is old enough, and returns the samples kept, oldest
// first (the rates' base is the first): a copy, safe to read after the lock.
func (w *rateWindow) observe(s rateSample) []rateSample {
	w.mu.Lock()
	defer w.mu.Unlock()
	for len(w.samples) > 0 && s.at.Sub(w.samples[0].at) > rateWindowSpan {
		w.samples = w.samples[1:]
	}
	if n := len(w.samples); n == 0 || s.at.Sub(w.samples[n-1].at) >= rateSampleEvery {
		w.samples = append(w.samples, s)
	}
	return slices.Clone(w.samples)
}

// The Prometheus names of the worker's job metrics, the queue depth (the observabilityworker
// glue) and the database pool (the observabilitydatabase glue), as /metrics serves them. The
// panel shows them when they are there: it knows neither the worker nor the database.
const (
	promJobDuration  = "river_job_duration_seconds"
	promQueueDepth   = "river_queue_depth"
	promPoolConns    = "db_client_connections"
	promPoolMax      = "db_client_connection_max"
	promPoolWaits    = "db_client_connection_wait_count_total"
	promPoolWaitTime = "db_client_connection_wait_duration_seconds_total"
)

// metricsView is what the Metrics panel shows, read from one collection of the metrics.
type metricsView struct {
	Routes []*routeStats
	Window time.Duration // of the routes' rates
	// HasJobs is true when the app has the worker's metrics (a job ran, or the queues are
	// published); Jobs are the totals since start, JobPoints the samples and now, oldest first.
	HasJobs   bool
	Jobs      jobTotals
	JobPoints []jobPoint
	Queues    []queueDepth
	Pools     []poolStats
}

// jobPoint is the job totals at a time: the throughput chart's bars are the differences.
type jobPoint struct {
	At   time.Time
	Jobs jobTotals
}

// queueDepth is one queue's jobs by live state.
type queueDepth struct {
	Name                                     string
	Available, Scheduled, Retryable, Running float64
}

// poolStats is one database pool's connections.
type poolStats struct {
	Name, System     string
	Used, Idle, Max  float64
	Waits, WaitTotal float64 // WaitTotal in seconds
}

// routeMetrics reads the RED metrics per route from the collection /metrics serves, in
// process: the same numbers a scrape would get, without a request. The rates are over the
// window it returns: since the oldest sample of o.rates, or since start before there is one
// (the first view).
func (o *Observability) routeMetrics(ctx context.Context, now time.Time) ([]*routeStats, time.Duration, error) {
	v, err := o.metricsView(ctx, now)
	return v.Routes, v.Window, err
}

// metricsView collects the metrics once and reads the routes, the jobs, the queues and the
// database pools from it, and samples the counters into o.rates.
func (o *Observability) metricsView(ctx context.Context, now time.Time) (metricsView, error) {
	families, err := o.gather(ctx)
	if err != nil {
		return metricsView{}, err
	}
	var v metricsView
	routes := map[[2]string]*routeStats{}
	route := func(m *promSeries) *routeStats {
		key := [2]string{m.label("http_request_method"), m.label("http_route")}
		rs, ok := routes[key]
		if !ok {
			rs = &routeStats{Method: key[0], Route: key[1]}
			routes[key] = rs
		}
		return rs
	}
	queues := map[string]*queueDepth{}
	pools := map[string]*poolStats{}
	pool := func(m *promSeries) *poolStats {
		name := m.label("db_client_connection_pool_name")
		ps, ok := pools[name]
		if !ok {
			ps = &poolStats{Name: name, System: m.label("db_system_name")}
			pools[name] = ps
		}
		return ps
	}
	for _, f := range families {
		switch f.Name {
		case promRequests:
			for i := range f.Series {
				m := &f.Series[i]
				route(m).Requests += m.Value
			}
		case promErrors:
			for i := range f.Series {
				m := &f.Series[i]
				route(m).Errors += m.Value
			}
		case promDuration:
			for i := range f.Series {
				m := &f.Series[i]
				rs := route(m)
				if rs.bounds == nil {
					rs.bounds = m.Bounds
					rs.cumulative = make([]uint64, len(rs.bounds))
				}
				// Every status of a route has the same buckets (the backend's boundaries).
				for i, c := range m.Cumulative {
					if i < len(rs.cumulative) {
						rs.cumulative[i] += c
					}
				}
				rs.count += m.Count
			}
		case promJobDuration:
			v.HasJobs = true
			for i := range f.Series {
				m := &f.Series[i]
				n := float64(m.Count)
				// A snoozed attempt (the task asked to run later) is neither.
				switch m.label("outcome") {
				case "ok":
					v.Jobs.OK += n
				case "error":
					v.Jobs.Failed += n
				}
			}
		case promQueueDepth:
			v.HasJobs = true
			for i := range f.Series {
				m := &f.Series[i]
				name := m.label("river_queue")
				q, ok := queues[name]
				if !ok {
					q = &queueDepth{Name: name}
					queues[name] = q
				}
				n := m.Value
				switch m.label("river_job_state") {
				case "available":
					q.Available += n
				case "scheduled":
					q.Scheduled += n
				case "retryable":
					q.Retryable += n
				case "running":
					q.Running += n
				}
			}
		case promPoolConns:
			for i := range f.Series {
				m := &f.Series[i]
				switch m.label("db_client_connection_state") {
				case "used":
					pool(m).Used += m.Value
				case "idle":
					pool(m).Idle += m.Value
				}
			}
		case promPoolMax:
			for i := range f.Series {
				m := &f.Series[i]
				pool(m).Max += m.Value
			}
		case promPoolWaits:
			for i := range f.Series {
				m := &f.Series[i]
				pool(m).Waits += m.Value
			}
		case promPoolWaitTime:
			for i := range f.Series {
				m := &f.Series[i]
				pool(m).WaitTotal += m.Value
			}
		}
	}
	counts := make(map[[2]string]float64, len(routes))
	for key, rs := range routes {
		counts[key] = rs.Requests
	}
	samples := o.rates.observe(rateSample{at: now, counts: counts, jobs: v.Jobs})
	base := samples[0]
	v.Window = now.Sub(base.at)
	if v.Window < time.Second {
		v.Window, base.counts = now.Sub(o.started), nil
	}
	v.Routes = make([]*routeStats, 0, len(routes))
	for key, rs := range routes {
		if rs.Requests > 0 {
			rs.ErrorRatio = rs.Errors / rs.Requests
		}
		if v.Window > 0 {
			rs.Rate = (rs.Requests - base.counts[key]) / v.Window.Seconds()
		}
		rs.P50, rs.P95, rs.P99 = rs.quantile(0.5), rs.quantile(0.95), rs.quantile(0.99)
		v.Routes = append(v.Routes, rs)
	}
	slices.SortFunc(v.Routes, func(a, b *routeStats) int {
		return cmp.Or(cmp.Compare(b.Requests, a.Requests), cmp.Compare(a.Route, b.Route), cmp.Compare(a.Method, b.Method))
	})
	v.JobPoints = jobPoints(samples, now, v.Jobs, o.started)
	for _, q := range queues {
		v.Queues = append(v.Queues, *q)
	}
	slices.SortFunc(v.Queues, func(a, b queueDepth) int { return cmp.Compare(a.Name, b.Name) })
	for _, p := range pools {
		v.Pools = append(v.Pools, *p)
	}
	slices.SortFunc(v.Pools, func(a, b poolStats) int { return cmp.Compare(a.Name, b.Name) })
	return v, nil
}

// jobPoints are the throughput chart's points: the samples, then now when it was not sampled;
// with a single point (the first view) the chart starts at the app's start, from zero.
func jobPoints(samples []rateSample, now time.Time, current jobTotals, started time.Time) []jobPoint {
	points := make([]jobPoint, 0, len(samples)+2)
	for _, s := range samples {
		points = append(points, jobPoint{At: s.at, Jobs: s.jobs})
	}
	if n := len(points); n == 0 || points[n-1].At.Before(now) {
		points = append(points, jobPoint{At: now, Jobs: current})
	}
	if len(points) == 1 && started.Before(now) {
		points = append([]jobPoint{{At: started}}, points...)
	}
	return points
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
// The exposition's bounds end with +Inf, whose cumulative count is the total: only bounds
// without it need a bucket past the last one.
func (rs *routeStats) buckets() []uint64 {
	n := len(rs.cumulative)
	closed := n > 0 && n <= len(rs.bounds) && math.IsInf(rs.bounds[n-1], 1)
	out := make([]uint64, n, n+1)
	var prev uint64
	for i, c := range rs.cumulative {
		out[i] = c - prev
		prev = c
	}
	if !closed {
		out = append(out, rs.count-prev) // past the last bound
	}
	return out
}

var metricsTmpl = frontend.NewTemplate("metrics", template.FuncMap{
	"secs": secondsLabel,
	"pct":  func(f float64) string { return strconv.FormatFloat(f*100, 'f', 1, 64) + "%" },
	"rate": func(f float64) string { return strconv.FormatFloat(f, 'f', 3, 64) },
	"num":  func(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) },
	// count is a number with its noun: "1 job", "3 jobs".
	"count": func(f float64, one, many string) string {
		if f == 1 {
			return "1 " + one
		}
		return strconv.FormatFloat(f, 'f', -1, 64) + " " + many
	},
	"chart": histogramSVG,
	"usage": poolSVG,
	"lower": strings.ToLower,
}, `<h2 id="routes-heading">Requests per route</h2>
{{if .Routes}}<div class="scroll" tabindex="0" role="group" aria-labelledby="routes-heading"><table>
<thead><tr><th scope="col">Route</th><th scope="col">Requests</th><th scope="col">Per second</th><th scope="col">Errors (5xx)</th><th scope="col">p50</th><th scope="col">p95</th><th scope="col">p99</th><th scope="col">Durations</th></tr></thead>
<tbody>{{range .Routes}}<tr><th scope="row"><span class="method method-{{.Method | lower}}">{{.Method}}</span> <code>{{with .Route}}{{.}}{{else}}(no route){{end}}</code></th>
<td>{{num .Requests}}</td><td>{{rate .Rate}}</td><td>{{num .Errors}} ({{pct .ErrorRatio}})</td>
<td>{{secs .P50}}</td><td>{{secs .P95}}</td><td>{{secs .P99}}</td><td>{{chart .}}</td></tr>{{end}}</tbody>
</table></div>
<p class="muted">Counted since the app started ({{.Uptime}} ago); per second is the average over the last {{.Window}}. Percentiles are estimated from the duration histogram's buckets, as Prometheus does. The same metrics are at <code>GET /metrics</code>.</p>
{{else}}<p class="muted">No requests counted yet.</p>{{end}}
{{if .HasJobs}}<h2 id="jobs-heading">Job throughput</h2>
<p>Since the app started: {{count .Jobs.OK "job" "jobs"}} completed, {{count .Jobs.Failed "attempt" "attempts"}} failed. Over the last {{.JobWindow}}: {{num .Recent.OK}} completed, {{num .Recent.Failed}} failed ({{rate .RecentRate}} per second).</p>
<div class="scroll" tabindex="0" role="group" aria-labelledby="jobs-heading">{{.Throughput}}</div>
<p class="muted">Job attempts per second in each interval between the panel's samples (one per 10 s at most while it is open, none older than 5 minutes); failed attempts in red, on top. From <code>river_job_duration_seconds</code>.</p>
{{if .Queues}}<h3 id="depth-heading">Queue depth</h3>
<div class="scroll" tabindex="0" role="group" aria-labelledby="depth-heading"><table>
<thead><tr><th scope="col">Queue</th><th scope="col">Available</th><th scope="col">Scheduled</th><th scope="col">Retryable</th><th scope="col">Running</th></tr></thead>
<tbody>{{range .Queues}}<tr><th scope="row"><code>{{.Name}}</code></th><td>{{num .Available}}</td><td>{{num .Scheduled}}</td><td>{{num .Retryable}}</td><td>{{num .Running}}</td></tr>{{end}}</tbody>
</table></div>
<p class="muted">Available jobs wait for a worker: that is the queue's depth. Counted at most every 10 s (<code>river_queue_depth</code>).</p>{{end}}{{end}}
{{if .Pools}}<h2 id="pool-heading">Database pool</h2>
<div class="scroll" tabindex="0" role="group" aria-labelledby="pool-heading"><table>
<thead><tr><th scope="col">Pool</th><th scope="col">In use</th><th scope="col">Idle</th><th scope="col">Max</th><th scope="col">Usage</th><th scope="col">Waits</th><th scope="col">Waited</th></tr></thead>
<tbody>{{range .Pools}}<tr><th scope="row">{{.System}} <code>{{.Name}}</code></th><td>{{num .Used}}</td><td>{{num .Idle}}</td><td>{{num .Max}}</td><td>{{usage .}}</td><td>{{num .Waits}}</td><td>{{if .WaitTotal}}{{secs .WaitTotal}}{{else}}0{{end}}</td></tr>{{end}}</tbody>
</table></div>
<p class="muted">Waits are the requests for a connection that found none idle, since start, and waited the total shown (<code>db_client_connection_*</code>).</p>{{end}}`)

func renderMetrics(p *frontend.PanelContext) (template.HTML, error) {
	o, err := registry.Get[*Observability](p.Container)
	if err != nil {
		return "", fmt.Errorf("the observability component is not available: %w", err)
	}
	now := time.Now()
	v, err := o.metricsView(p.Request.Context(), now)
	if err != nil {
		return "", err
	}
	first, last := v.JobPoints[0], v.JobPoints[len(v.JobPoints)-1]
	recent := jobTotals{OK: last.Jobs.OK - first.Jobs.OK, Failed: last.Jobs.Failed - first.Jobs.Failed}
	var recentRate float64
	if d := last.At.Sub(first.At).Seconds(); d > 0 {
		recentRate = (recent.OK + recent.Failed) / d
	}
	return p.Execute(metricsTmpl, map[string]any{"Routes": v.Routes, "Uptime": now.Sub(o.started).Round(time.Second).String(),
		"Window":  v.Window.Round(time.Second).String(),
		"HasJobs": v.HasJobs, "Jobs": v.Jobs, "Recent": recent, "RecentRate": recentRate,
		"JobWindow": durLabel(last.At.Sub(first.At)), "Throughput": throughputSVG(v.JobPoints),
		"Queues": v.Queues, "Pools": v.Pools})
}

// The throughput chart's geometry, in SVG user units: the plot, and a line of labels below.
const thrW, thrH, thrLabelH = 320, 48, 14

// throughputSVG draws the job attempts between consecutive points as bars placed and sized by
// time, their height the rate (attempts per second) so that intervals of any length compare:
// completed at the bottom, failed stacked above in red, a <title> on each bar and on the image.
func throughputSVG(points []jobPoint) template.HTML {
	esc := template.HTMLEscapeString
	start, end := points[0].At, points[len(points)-1].At
	span := end.Sub(start)
	type bar struct {
		from, to   time.Time
		ok, failed float64
		rate       float64
	}
	var bars []bar
	var peak, okSum, failedSum float64
	for i := 1; i < len(points); i++ {
		prev, cur := points[i-1], points[i]
		d := cur.At.Sub(prev.At).Seconds()
		if d <= 0 {
			continue
		}
		b := bar{from: prev.At, to: cur.At, ok: max(cur.Jobs.OK-prev.Jobs.OK, 0), failed: max(cur.Jobs.Failed-prev.Jobs.Failed, 0)}
		b.rate = (b.ok + b.failed) / d
		peak = max(peak, b.rate)
		okSum, failedSum = okSum+b.ok, failedSum+b.failed
		bars = append(bars, b)
	}
	num := func(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="throughput" viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-labelledby="throughput-title" xmlns="http://www.w3.org/2000/svg">`,
		thrW, thrH+thrLabelH, thrW, thrH+thrLabelH)
	fmt.Fprintf(&b, `<title id="throughput-title">%s</title>`, esc(fmt.Sprintf("Job throughput over the last %s: %s completed, %s failed, at most %s per second",
		durLabel(span), num(okSum), num(failedSum), strconv.FormatFloat(peak, 'f', 2, 64))))
	fmt.Fprintf(&b, `<line x1="0" y1="%d" x2="%d" y2="%d" stroke="currentColor" stroke-opacity="0.4"/>`, thrH, thrW, thrH)
	fmt.Fprintf(&b, `<text x="0" y="%d" font-size="10" fill="currentColor">-%s</text>`, thrH+thrLabelH-2, esc(durLabel(span)))
	fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="10" text-anchor="end" fill="currentColor">now; peak %s/s</text>`, thrW, thrH+thrLabelH-2, strconv.FormatFloat(peak, 'f', 2, 64))
	for _, br := range bars {
		x, w := 0.0, float64(thrW)
		if span > 0 {
			x = float64(thrW) * float64(br.from.Sub(start)) / float64(span)
			w = float64(thrW) * float64(br.to.Sub(br.from)) / float64(span)
		}
		var hOK, hFailed float64
		if peak > 0 {
			scale := float64(thrH-2) / peak
			d := br.to.Sub(br.from).Seconds()
			hOK, hFailed = br.ok/d*scale, br.failed/d*scale
		}
		tip := fmt.Sprintf("%s to %s UTC: %s completed, %s failed (%s per second)", br.from.UTC().Format("15:04:05"), br.to.UTC().Format("15:04:05"),
			num(br.ok), num(br.failed), strconv.FormatFloat(br.rate, 'f', 2, 64))
		fmt.Fprintf(&b, `<g class="interval"><title>%s</title>`, esc(tip))
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="currentColor" fill-opacity="0.7"/>`,
			x+0.5, float64(thrH)-hOK, max(w-1, 0.5), max(hOK, 0.5))
		if hFailed > 0 {
			fmt.Fprintf(&b, `<rect class="failed" x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="#c62828" fill-opacity="0.8"/>`,
				x+0.5, float64(thrH)-hOK-hFailed, max(w-1, 0.5), hFailed)
		}
		b.WriteString(`</g>`)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) // every text above is escaped or a number
}

// The pool chart's geometry: one bar, the pool's size.
const poolW, poolH = 100, 12

// poolSVG draws a pool's connections as one bar of its size: in use solid, idle faint.
func poolSVG(ps poolStats) template.HTML {
	size := max(ps.Max, ps.Used+ps.Idle, 1)
	used := float64(poolW) * ps.Used / size
	idle := float64(poolW) * ps.Idle / size
	label := fmt.Sprintf("%s in use, %s idle, of %s", strconv.FormatFloat(ps.Used, 'f', -1, 64),
		strconv.FormatFloat(ps.Idle, 'f', -1, 64), strconv.FormatFloat(ps.Max, 'f', -1, 64))
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="pool" viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-label="%s" xmlns="http://www.w3.org/2000/svg"><title>%s</title>`,
		poolW, poolH, poolW, poolH, template.HTMLEscapeString(label), template.HTMLEscapeString(label))
	fmt.Fprintf(&b, `<rect x="0" y="0" width="%d" height="%d" fill="none" stroke="currentColor" stroke-opacity="0.4"/>`, poolW, poolH)
	fmt.Fprintf(&b, `<rect x="0" y="0" width="%.1f" height="%d" fill="currentColor" fill-opacity="0.7"/>`, used, poolH)
	fmt.Fprintf(&b, `<rect x="%.1f" y="0" width="%.1f" height="%d" fill="currentColor" fill-opacity="0.25"/>`, used, idle, poolH)
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) // every text above is escaped or a number
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
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="currentColor" fill-opacity="0.7"><title>%s</title></rect>`,
			float64(i)*slot+0.5, float64(histH)-h, max(slot-1, 0.5), max(h, 0.5), template.HTMLEscapeString(bucketLabel(rs.bounds, i)+": "+strconv.FormatUint(c, 10)))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) // every text above is escaped or a number
}

// bucketLabel names the range of bucket i of a histogram with these upper bounds: "0 to
// 100ms", "100ms to 1.00s", and the open last one "over 1.00s" (its bound +Inf or past the
// last bound), never a made-up "+Inf" or "> 10s" end.
func bucketLabel(bounds []float64, i int) string {
	lo := "0"
	if i > 0 {
		lo = secondsLabel(bounds[i-1])
	}
	if i >= len(bounds) || math.IsInf(bounds[i], 1) {
		if i == 0 {
			return "any duration"
		}
		return "over " + lo
	}
	return lo + " to " + secondsLabel(bounds[i])
}
