package observability

import (
	"cmp"
	"fmt"
	"html/template"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/aegisgo/aegis/template/internal/components/frontend"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
)

// The component's dashboard panels, contributed from this folder so that they leave with it
// (the frontend knows nothing of OpenTelemetry): Traces, the recent traces the ring keeps
// with a waterfall of each, and Metrics, the RED metrics per route.
const (
	TracesPanel  = "traces"
	MetricsPanel = "metrics"
)

// tracesRows is how many traces the list shows.
const tracesRows = 100

func contributePanels(r *registry.Registry) {
	// The Traces panel does not refresh itself: a refresh would fetch the fragment without
	// the operator's filter or trace.
	registry.Contribute(r, TracesPanel, frontend.Panel{Title: "Traces", Render: renderTraces, PanelOpts: frontend.PanelOpts{Order: 60}})
	registry.Contribute(r, MetricsPanel, frontend.Panel{Title: "Metrics", Render: renderMetrics, PanelOpts: frontend.PanelOpts{Order: 61, Refresh: 10}})
}

var tracesTmpl = frontend.NewTemplate("traces", template.FuncMap{
	"when": func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05.000 UTC") },
	"dur":  durLabel,
	"len":  func(s []SpanRecord) int { return len(s) },
	// map builds a template's data from pairs: (map "Self" $.Self "ID" .).
	"map": func(kv ...string) map[string]string {
		m := map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	},
	"statusCode": statusCode,
}, `{{define "rid"}}<a href="{{.Self}}?request_id={{.ID}}"><code>{{.ID}}</code></a>{{end}}
{{with .Selected}}<section aria-labelledby="trace-heading">
<h2 id="trace-heading">{{.Trace.Root.Name}}</h2>
{{with .Trace.Path}}<p><code>{{.}}</code></p>{{end}}
<p><a href="{{$.Self}}">All traces</a></p>
<table><tbody>
<tr><th scope="row">Trace ID</th><td><code>{{.Trace.ID}}</code></td></tr>
<tr><th scope="row">Started</th><td>{{when .Trace.Root.Start}}</td></tr>
<tr><th scope="row">Duration</th><td>{{dur .Trace.Duration}}</td></tr>
<tr><th scope="row">Status</th><td>{{template "status" .Trace}}</td></tr>
<tr><th scope="row">Spans</th><td>{{len .Trace.Spans}}{{with .Trace.Dropped}} ({{.}} more not kept){{end}}</td></tr>
{{with .Trace.RequestID}}<tr><th scope="row">Request ID</th><td>{{template "rid" (map "Self" $.Self "ID" .)}}</td></tr>{{end}}
</tbody></table>
<h3 id="waterfall-heading">Waterfall</h3>
<div class="scroll" tabindex="0" role="group" aria-labelledby="waterfall-heading">{{.Waterfall}}</div>
<h3 id="spans-heading">Spans</h3>
<div class="scroll" tabindex="0" role="group" aria-labelledby="spans-heading"><table>
<thead><tr><th scope="col">Span</th><th scope="col">Starts at</th><th scope="col">Duration</th><th scope="col">Status</th><th scope="col">Attributes</th></tr></thead>
<tbody>{{range .Rows}}<tr><th scope="row">{{.Indent}}{{.Span.Name}}</th><td>+{{dur .Offset}}</td><td>{{dur .Span.Duration}}</td>
<td>{{if .Span.Failed}}<span class="badge badge-unhealthy">error</span> {{.Span.Status}}{{else}}ok{{end}}</td>
<td>{{range .Span.Attrs}}<code>{{.Key}}={{.Value.String}}</code> {{end}}</td></tr>{{end}}</tbody>
</table></div>
</section>{{else}}{{with .Missing}}<p class="notice notice-error" role="alert">{{.}}</p>{{end}}{{end}}
<h2 id="traces-heading">{{if eq .Filter "slow"}}Slowest traces{{else if eq .Filter "failed"}}Failed traces{{else}}Recent traces{{end}}{{with .RequestID}} of request <code>{{.}}</code>{{end}}</h2>
<nav aria-label="Trace lists"><p>{{range $i, $f := .Filters}}{{if $i}} · {{end}}<a href="{{$.Self}}{{with $f.Value}}?filter={{.}}{{end}}"{{if eq $f.Value $.Filter}} aria-current="page"{{end}}>{{$f.Label}}</a>{{end}}</p></nav>
{{if .Traces}}<div class="scroll" tabindex="0" role="group" aria-labelledby="traces-heading"><table>
<thead><tr><th scope="col">Time</th><th scope="col">Root span</th><th scope="col">Status</th><th scope="col">Duration</th><th scope="col">Spans</th><th scope="col">Request ID</th></tr></thead>
<tbody>{{range .Traces}}<tr><td>{{when .Root.Start}}</td>
<th scope="row"><a href="{{$.Self}}?trace={{.ID}}">{{.Root.Name}}</a>{{with .Path}}<br><code class="muted">{{.}}</code>{{end}}</th>
<td>{{template "status" .}}</td><td>{{dur .Duration}}</td><td>{{len .Spans}}{{with .Dropped}}+{{.}}{{end}}</td>
<td>{{with .RequestID}}{{template "rid" (map "Self" $.Self "ID" .)}}{{end}}</td></tr>{{end}}</tbody>
</table></div>{{else}}<p class="muted">No traces {{if .RequestID}}of this request {{end}}held yet{{if eq .Filter "failed"}}: nothing failed{{end}}.</p>{{end}}
<p class="muted">Kept in memory: the newest {{.Size}} traces, the {{.KeptSlowest}} slowest since start and the latest {{.KeptFailed}} failed; {{.Stats.Completed}} completed since start, {{.Stats.DroppedSpans}} spans not kept.</p>
{{define "status"}}{{if .Failed}}<span class="badge badge-unhealthy">error</span>{{else}}<span class="badge badge-healthy">ok</span>{{end}}{{with statusCode .Root}} {{.}}{{end}}{{end}}`)

// statusCode is the HTTP status of a server span, or "".
func statusCode(s SpanRecord) string {
	for _, kv := range s.Attrs {
		if kv.Key == "http.response.status_code" {
			return kv.Value.String()
		}
	}
	return ""
}

type traceFilter struct{ Value, Label string }

var traceFilters = []traceFilter{{"", "Recent"}, {string(SlowTraces), "Slowest"}, {string(FailedTraces), "Failed"}}

func renderTraces(p *frontend.PanelContext) (template.HTML, error) {
	o, err := registry.Get[*Observability](p.Container)
	if err != nil {
		return "", fmt.Errorf("the observability component is not available: %w", err)
	}
	ring := o.Traces()
	if ring == nil {
		return template.HTML(`<p class="muted">No traces are kept: <code>OTEL_DASHBOARD_TRACES</code> is 0.</p>`), nil
	}
	filter := TraceFilter(p.Request.FormValue("filter"))
	if filter != SlowTraces && filter != FailedTraces {
		filter = AllTraces
	}
	requestID := p.Request.FormValue("request_id")
	data := map[string]any{
		"Self": frontend.PanelsPath + "/" + url.PathEscape(p.Panel), "Filter": string(filter), "Filters": traceFilters,
		"RequestID": requestID, "Traces": ring.Traces(filter, requestID, tracesRows), "Stats": ring.Stats(),
		"Size": ring.size, "KeptSlowest": keptSlowest, "KeptFailed": keptFailed,
	}
	if hex := p.Request.FormValue("trace"); hex != "" {
		id, err := trace.TraceIDFromHex(hex)
		t, ok := ring.Trace(id)
		switch {
		case err != nil:
			data["Missing"] = "That is not a trace ID."
		case !ok:
			data["Missing"] = "Trace " + hex + " is no longer kept (newer traces took its place)."
		default:
			rows := waterfallRows(t)
			data["Selected"] = map[string]any{"Trace": t, "Rows": rows, "Waterfall": waterfallSVG(t, rows)}
		}
	}
	return p.Execute(tracesTmpl, data)
}

// waterfallRow is one span of the waterfall, in drawing order.
type waterfallRow struct {
	Span   SpanRecord
	Depth  int
	Offset time.Duration // from the trace's first start
	Indent string        // for the table: two spaces per level
}

// waterfallRows orders t's spans as a waterfall draws them: each after its parent, siblings
// by start time. Spans whose parent is not held (dropped, or in another process) start a tree
// of their own.
func waterfallRows(t Trace) []waterfallRow {
	held := make(map[trace.SpanID]bool, len(t.Spans))
	var first time.Time
	for _, s := range t.Spans {
		held[s.SpanID] = true
		if first.IsZero() || s.Start.Before(first) {
			first = s.Start
		}
	}
	children := map[trace.SpanID][]SpanRecord{}
	var roots []SpanRecord
	for _, s := range t.Spans {
		if s.ParentID.IsValid() && held[s.ParentID] && s.ParentID != s.SpanID {
			children[s.ParentID] = append(children[s.ParentID], s)
		} else {
			roots = append(roots, s)
		}
	}
	byStart := func(a, b SpanRecord) int { return cmp.Or(a.Start.Compare(b.Start), cmp.Compare(a.Name, b.Name)) }
	rows := make([]waterfallRow, 0, len(t.Spans))
	var walk func(s SpanRecord, depth int)
	walk = func(s SpanRecord, depth int) {
		rows = append(rows, waterfallRow{Span: s, Depth: depth, Offset: s.Start.Sub(first), Indent: strings.Repeat("\u00a0\u00a0", depth)})
		kids := children[s.SpanID]
		slices.SortFunc(kids, byStart)
		for _, k := range kids {
			walk(k, depth+1)
		}
	}
	slices.SortFunc(roots, byStart)
	for _, r := range roots {
		walk(r, 0)
	}
	return rows
}

// Waterfall geometry, in SVG user units; the SVG scales to its container's width.
const (
	wfW       = 960
	wfLabelW  = 300 // span names, indented by depth
	wfDurW    = 90  // durations, right of the bars
	wfRowH    = 20
	wfBarH    = 12
	wfIndent  = 12
	wfMaxName = 40 // characters of a name drawn; the <title> has it whole
)

// waterfallSVG draws rows (from waterfallRows) as server-rendered SVG: one bar per span,
// offset and sized by time, its name indented by depth on the left and its duration on the
// right, and a <title> each (a tooltip, and text for screen readers). Failed spans are red.
func waterfallSVG(t Trace, rows []waterfallRow) template.HTML {
	var first, last time.Time
	for i, r := range rows {
		if i == 0 || r.Span.Start.Before(first) {
			first = r.Span.Start
		}
		if i == 0 || r.Span.End.After(last) {
			last = r.Span.End
		}
	}
	total := last.Sub(first)
	h := len(rows)*wfRowH + 24
	plotX, plotW := float64(wfLabelW), float64(wfW-wfLabelW-wfDurW)
	esc := template.HTMLEscapeString
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="waterfall" viewBox="0 0 %d %d" width="100%%" role="img" aria-labelledby="waterfall-title" xmlns="http://www.w3.org/2000/svg">`, wfW, h)
	fmt.Fprintf(&b, `<title id="waterfall-title">%s</title>`, esc(fmt.Sprintf("Waterfall of trace %s: %d spans over %s", t.ID, len(rows), durLabel(total))))
	// The time axis: 0 and the total.
	fmt.Fprintf(&b, `<line x1="%.1f" y1="18" x2="%.1f" y2="18" stroke="currentColor" stroke-opacity="0.4"/>`, plotX, plotX+plotW)
	fmt.Fprintf(&b, `<text x="%.1f" y="12" font-size="11" fill="currentColor">0</text>`, plotX)
	fmt.Fprintf(&b, `<text x="%.1f" y="12" font-size="11" text-anchor="end" fill="currentColor">%s</text>`, plotX+plotW, esc(durLabel(total)))
	for i, r := range rows {
		y := 24 + i*wfRowH
		x, w := plotX, plotW
		if total > 0 {
			x = plotX + plotW*float64(r.Span.Start.Sub(first))/float64(total)
			w = plotW * float64(r.Span.Duration()) / float64(total)
		}
		fill := "currentColor"
		if r.Span.Failed {
			fill = "#c62828"
		}
		name := r.Span.Name
		if n := []rune(name); len(n) > wfMaxName {
			name = string(n[:wfMaxName-1]) + "…"
		}
		tip := fmt.Sprintf("%s: %s, starting at +%s", r.Span.Name, durLabel(r.Span.Duration()), durLabel(r.Offset))
		if r.Span.Failed {
			tip += ", failed"
			if r.Span.Status != "" {
				tip += ": " + r.Span.Status
			}
		}
		fmt.Fprintf(&b, `<g class="span"><title>%s</title>`, esc(tip))
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="12" fill="currentColor">%s</text>`, 4+r.Depth*wfIndent, y+wfBarH-1, esc(name))
		fmt.Fprintf(&b, `<rect x="%.1f" y="%d" width="%.1f" height="%d" fill="%s" fill-opacity="0.7"/>`, x, y, max(w, 1), wfBarH, fill)
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="11" fill="currentColor">%s</text>`, wfW-wfDurW+6, y+wfBarH-1, esc(durLabel(r.Span.Duration())))
		b.WriteString(`</g>`)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) // every text above is escaped or a number
}

// durLabel writes d with three significant digits: 950µs, 12.3ms, 1.50s.
func durLabel(d time.Duration) string {
	switch {
	case d < time.Microsecond:
		return strconv.FormatInt(int64(d), 10) + "ns"
	case d < time.Millisecond:
		return strconv.FormatFloat(float64(d)/float64(time.Microsecond), 'f', precision(float64(d)/float64(time.Microsecond)), 64) + "µs"
	case d < time.Second:
		return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', precision(float64(d)/float64(time.Millisecond)), 64) + "ms"
	default:
		return strconv.FormatFloat(d.Seconds(), 'f', precision(d.Seconds()), 64) + "s"
	}
}

// precision is the decimals that give v three significant digits.
func precision(v float64) int {
	switch {
	case v >= 100:
		return 0
	case v >= 10:
		return 1
	default:
		return 2
	}
}
