package analytics

import (
	"fmt"
	"html/template"
	"time"

	"github.com/aegisgo/aegis/template/internal/components/frontend"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
)

// The Analytics panel: events over the last day (or week) as a server-rendered SVG chart, the
// top events, unique users, a funnel the operator types in, and the buffer's health. Its
// range and funnel are GET parameters of the page (without JavaScript) or of the panel's
// fragment (htmx swaps the panel in place). It does not refresh itself: a refresh would fetch
// the fragment without the operator's range and funnel.
var panelTmpl = frontend.NewTemplate("analytics", template.FuncMap{
	"pct": func(f float64) float64 { return f * 100 },
}, `<form method="get" action="{{.Page}}" class="search" hx-get="{{.Fragment}}" hx-target="closest .panel" hx-swap="outerHTML">
  <label for="analytics-range">Range</label>
  <select id="analytics-range" name="range">{{range .Ranges}}<option value="{{.}}"{{if eq . $.Range}} selected{{end}}>last {{.}}</option>{{end}}</select>
  <label for="analytics-steps">Funnel steps (comma-separated)</label>
  <input id="analytics-steps" type="text" name="steps" value="{{.Steps}}" maxlength="700" placeholder="signup,activate,purchase">
  <button type="submit">Show</button>
</form>
<h2>Events per {{.Bucket}}</h2>
<div class="scroll chart" tabindex="0" role="group" aria-label="Events chart, scrollable">{{.Chart}}</div>
<p class="muted">{{.Total}} events in the last {{.Range}} ({{.Span}}, as GET /counts gives them for this range); {{.Unique}} unique user{{if ne .Unique 1}}s{{end}}{{if .KeptSince}} since {{.KeptSince}} (ANALYTICS_RETENTION keeps no older raw events; funnels count from then too){{end}}.</p>
<h2>Top events</h2>
{{if .Top}}<div class="scroll" tabindex="0" role="group" aria-label="Top events, scrollable"><table><thead><tr><th scope="col">Event</th><th scope="col">Count</th></tr></thead>
<tbody>{{range .Top}}<tr><th scope="row"><code>{{.Name}}</code></th><td>{{.Count}}</td></tr>{{end}}</tbody></table></div>
{{else}}<p class="muted">No events in this range. The app records them with <code>TrackEvent</code>, clients send them to <code>POST {{.EventsPath}}</code>.</p>{{end}}
{{if .Funnel}}<h2>Funnel</h2>
<div class="scroll" tabindex="0" role="group" aria-label="Funnel, scrollable"><table><thead><tr><th scope="col">Step</th><th scope="col">Users</th><th scope="col">Of the first step</th></tr></thead>
<tbody>{{range .Funnel}}<tr><th scope="row"><code>{{.Name}}</code></th><td>{{.Users}}</td><td>{{printf "%.1f" (pct .Rate)}}%</td></tr>{{end}}</tbody></table></div>
{{else if .FunnelError}}<p class="muted">Funnel: {{.FunnelError}}</p>{{end}}
<h2>Buffer</h2>
<p><span class="badge badge-{{.Health.Status}}">{{.Health.Status}}</span> {{.Health.Message}}</p>
<table><tbody>
<tr><th scope="row">Waiting</th><td>{{.Stats.Pending}} of at most {{.Limit}}</td></tr>
<tr><th scope="row">Stored</th><td>{{.Stats.Stored}} in {{.Stats.Flushes}} writes; the last {{.LastFlush}}</td></tr>
<tr><th scope="row">Dropped</th><td>{{.Stats.Dropped}}{{if .Stats.Refused}} ({{.Stats.Refused}} refused by the database){{end}}</td></tr>
<tr><th scope="row">Rejected</th><td>{{.Stats.Rejected}} (events of API batches answered 503, the buffer full or the service stopping, for their clients to send again)</td></tr>
<tr><th scope="row">Invalid</th><td>{{.Stats.Invalid}}</td></tr>
<tr><th scope="row">Failed writes</th><td>{{.Stats.Failures}}; the last {{.LastFailure}}</td></tr>
</tbody></table>`)

// panelRanges are the ranges the panel offers, with their buckets.
var panelRanges = map[string]struct {
	span   time.Duration
	bucket Bucket
}{"24h": {24 * time.Hour, Hour}, "7d": {7 * 24 * time.Hour, Day}, "30d": {30 * 24 * time.Hour, Day}}

func renderPanel(p *frontend.PanelContext) (template.HTML, error) {
	svc, err := registry.Get[*Service](p.Container)
	if err != nil {
		return "", fmt.Errorf("the analytics service is not available: %w", err)
	}
	ctx := p.Request.Context()
	rangeName := p.Request.FormValue("range")
	spec, ok := panelRanges[rangeName]
	if !ok {
		rangeName, spec = "24h", panelRanges["24h"]
	}
	now := svc.now().UTC()
	// Whole buckets, the current one included (to its end), as the chart shows them: the
	// chart widens its range to whole buckets, so a total or top list over the unwidened
	// range counted other events than the bars (those of the first bucket before the range
	// started). Over whole hours, Counts reads the same roll-up as the chart, so the total,
	// the top events and the bars agree, and equal GET /counts over this range.
	step, err := spec.bucket.step()
	if err != nil {
		return "", err
	}
	end := now.Truncate(step).Add(step)
	r := Range{From: end.Add(-spec.span), To: end}
	points, err := svc.Series(ctx, r, spec.bucket, "")
	if err != nil {
		return "", p.Problem("cannot read the chart's counts", err)
	}
	counts, err := svc.Counts(ctx, r)
	if err != nil {
		return "", p.Problem("cannot count events", err)
	}
	var total int64
	for _, c := range counts {
		total += c.Count
	}
	top := counts[:min(len(counts), 10)]
	// Unique users and funnels count from the raw events, which a retention shorter than the
	// range has deleted: count over what is kept and say since when.
	kept, cut := svc.Kept(r)
	unique, err := svc.UniqueUsers(ctx, kept, "")
	if err != nil {
		return "", p.Problem("cannot count unique users", err)
	}
	data := map[string]any{
		"Page": frontend.PanelsPath + "/" + p.Panel, "Fragment": frontend.FragmentsPath + "/panels/" + p.Panel, "Ranges": []string{"24h", "7d", "30d"}, "Range": rangeName,
		"Bucket": string(spec.bucket), "Chart": chartSVG(points, spec.bucket), "Total": total, "Span": r.From.Format("2006-01-02 15:04") + " to " + r.To.Format("2006-01-02 15:04 UTC"), "Unique": unique, "Top": top, "EventsPath": EventsPath,
		"Stats": svc.Stats(), "Health": svc.CheckHealth(ctx), "Limit": svc.settings.BufferLimit,
		"LastFlush": sinceLabel(now, svc.Stats().LastFlush), "LastFailure": sinceLabel(now, svc.Stats().LastFailure),
	}
	if cut {
		data["KeptSince"] = kept.From.Format("2006-01-02 15:04 UTC")
	}
	if steps := p.Request.FormValue("steps"); steps != "" {
		data["Steps"] = steps
		funnel, err := svc.Funnel(ctx, FunnelParams{Steps: splitSteps(steps), Range: kept})
		if err != nil {
			data["FunnelError"] = "give 2 to 10 distinct event names, comma-separated"
		} else {
			data["Funnel"] = funnel
		}
	}
	return p.Execute(panelTmpl, data)
}
