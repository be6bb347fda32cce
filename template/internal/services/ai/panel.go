package ai

import (
	"context"
	"fmt"
	"html/template"
	"slices"
	"strings"
	"time"

	"github.com/aegisgo/aegis/template/internal/components/frontend"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
)

// PanelName is the dashboard panel's URL name (/dashboard/panels/ai).
const PanelName = "ai"

// panelDays is the range of the panel's usage chart, today included.
const panelDays = 14

// The AI panel: the profiles and the service's health, tokens per day as a server-rendered
// SVG chart, usage per model, the latest conversations and the last failed calls.
var panelTmpl = frontend.NewTemplate("ai", nil, `<p><span class="badge badge-{{.Health.Status}}">{{.Health.Status}}</span> {{.Health.Message}}</p>
{{if .Profiles}}<div class="scroll" tabindex="0" role="group" aria-label="Profiles, scrollable"><table><thead><tr><th scope="col">Profile</th><th scope="col">Provider</th><th scope="col">Model</th></tr></thead>
<tbody>{{range .Profiles}}<tr><th scope="row">{{.Name}}</th><td>{{.Provider}}</td><td>{{.Model}}</td></tr>{{end}}</tbody></table></div>{{end}}
<h2>Tokens per day, last {{.Days}} days</h2>
<div class="scroll chart" tabindex="0" role="group" aria-label="Tokens chart, scrollable">{{.Chart}}</div>
{{if .Models}}<div class="scroll" tabindex="0" role="group" aria-label="Usage per model, scrollable"><table><thead><tr><th scope="col">Model</th><th scope="col">Calls</th><th scope="col">Errors</th><th scope="col">Input</th><th scope="col">Output</th><th scope="col">Cost (USD)</th></tr></thead>
<tbody>{{range .Models}}<tr><th scope="row">{{.Model}}</th><td>{{.Calls}}</td><td>{{.Errors}}</td><td>{{.InputTokens}}</td><td>{{.OutputTokens}}</td><td>{{printf "%.4f" .CostUSD}}</td></tr>{{end}}</tbody></table></div>
{{else}}<p class="muted">No AI calls in the last {{.Days}} days.</p>{{end}}
<h2>Latest conversations</h2>
{{if .Conversations}}<div class="scroll" tabindex="0" role="group" aria-label="Conversations, scrollable"><table><thead><tr><th scope="col">ID</th><th scope="col">Title</th><th scope="col">User</th><th scope="col">Updated</th></tr></thead>
<tbody>{{range .Conversations}}<tr><td>{{.ID}}</td><td>{{.Title}}</td><td>{{if .User}}<span title="user {{.UserID}}">{{.User}}</span>{{else if .UserID}}{{.UserID}}{{else}}-{{end}}</td><td>{{.UpdatedAt.UTC.Format "2006-01-02 15:04"}}</td></tr>{{end}}</tbody></table></div>
{{else}}<p class="muted">No conversations yet.</p>{{end}}
<h2>Last errors</h2>
{{if .Errors}}<div class="scroll" tabindex="0" role="group" aria-label="Errors, scrollable"><table><thead><tr><th scope="col">When</th><th scope="col">Kind</th><th scope="col">Provider / model</th><th scope="col">Error</th></tr></thead>
<tbody>{{range .Errors}}<tr><td>{{.At.UTC.Format "2006-01-02 15:04:05"}}</td><td>{{.Kind}}</td><td>{{.Provider}} / {{.Model}}</td><td>{{.Error}}</td></tr>{{end}}</tbody></table></div>
{{else}}<p class="muted">No failed calls.</p>{{end}}`)

func renderPanel(p *frontend.PanelContext) (template.HTML, error) {
	svc, err := registry.Get[*Service](p.Container)
	if err != nil {
		return "", fmt.Errorf("the ai service is not available: %w", err)
	}
	ctx := p.Request.Context()
	now := svc.now().UTC()
	from := now.AddDate(0, 0, -(panelDays - 1))
	rows, err := svc.store.usage(ctx, from.Format(time.DateOnly), now.Format(time.DateOnly), "", true)
	if err != nil {
		return "", p.Problem("cannot read the usage", err)
	}
	perDay := map[string]int64{}
	perModel := map[string]*UsageRow{}
	var models []*UsageRow
	for _, r := range rows {
		perDay[r.Day] += r.InputTokens + r.OutputTokens
		m, ok := perModel[r.Model]
		if !ok {
			m = &UsageRow{Model: r.Model}
			perModel[r.Model] = m
			models = append(models, m)
		}
		m.Calls += r.Calls
		m.Errors += r.Errors
		m.InputTokens += r.InputTokens
		m.OutputTokens += r.OutputTokens
		m.CostUSD += r.CostUSD
	}
	days := make([]dayTokens, 0, panelDays)
	for d := range panelDays {
		day := from.AddDate(0, 0, d).Format(time.DateOnly)
		days = append(days, dayTokens{Day: day, Tokens: perDay[day]})
	}
	convs, err := svc.store.recentConversations(ctx, 10)
	if err != nil {
		return "", p.Problem("cannot list conversations", err)
	}
	views := svc.conversationViews(ctx, convs)
	errs, err := svc.LastErrors(ctx, 5)
	if err != nil {
		return "", p.Problem("cannot read the last errors", err)
	}
	return p.Execute(panelTmpl, map[string]any{
		"Health": svc.CheckHealth(ctx), "Profiles": svc.Profiles(), "Days": panelDays, "Chart": tokensChart(days),
		"Models": models, "Conversations": views, "Errors": errs,
	})
}

// conversationView is a conversation as the panel lists it: with its user's name when the
// Identity can tell it (see UserNamer).
type conversationView struct {
	Conversation
	User string // "" when unknown: the panel shows UserID
}

// conversationViews names the users of convs. A failed lookup is logged and leaves the IDs:
// the panel is still worth showing.
func (s *Service) conversationViews(ctx context.Context, convs []Conversation) []conversationView {
	out := make([]conversationView, len(convs))
	var ids []string
	for i, c := range convs {
		out[i].Conversation = c
		if c.UserID != "" && !slices.Contains(ids, c.UserID) {
			ids = append(ids, c.UserID)
		}
	}
	namer, ok := s.identity.(UserNamer)
	if !ok || len(ids) == 0 {
		return out
	}
	names, err := namer.UserNames(ctx, ids)
	if err != nil {
		s.logger.WarnContext(ctx, "ai: panel: name the users of conversations", "error", err)
		return out
	}
	for i := range out {
		out[i].User = names[out[i].UserID]
	}
	return out
}

// dayTokens is one bar of the chart.
type dayTokens struct {
	Day    string
	Tokens int64
}

// Chart geometry, in SVG user units; the SVG scales to its container's width.
const (
	chartW, chartH = 720, 180
	padL, padR     = 56, 8
	padT, padB     = 8, 24
)

// tokensChart draws tokens per day as bars, rendered on the server: no script. Each bar has
// a <title> (a tooltip, and text for screen readers); the chart an aria label with the total.
func tokensChart(days []dayTokens) template.HTML {
	var peak, total int64
	for _, d := range days {
		peak = max(peak, d.Tokens)
		total += d.Tokens
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="ai-chart" viewBox="0 0 %d %d" width="100%%" role="img" aria-label="%s" preserveAspectRatio="none" xmlns="http://www.w3.org/2000/svg">`,
		chartW, chartH, template.HTMLEscapeString(fmt.Sprintf("Tokens per day: %d in all, at most %d in one day", total, peak)))
	plotW, plotH := float64(chartW-padL-padR), float64(chartH-padT-padB)
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="currentColor" stroke-opacity="0.4"/>`, padL, chartH-padB, chartW-padR, chartH-padB)
	if peak > 0 { // an empty fortnight has one label, 0: a peak of 0 above it reads as a broken scale
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="11" text-anchor="end" fill="currentColor">%d</text>`, padL-4, padT+10, peak)
	}
	fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="11" text-anchor="end" fill="currentColor">0</text>`, padL-4, chartH-padB)
	if len(days) > 0 {
		slot := plotW / float64(len(days))
		gap := min(slot*0.2, 4)
		for i, d := range days {
			h := 0.0
			if peak > 0 {
				h = plotH * float64(d.Tokens) / float64(peak)
			}
			x := float64(padL) + float64(i)*slot
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="currentColor" fill-opacity="0.7"><title>%s: %d tokens</title></rect>`,
				x+gap/2, float64(chartH-padB)-h, max(slot-gap, 0.5), h, d.Day, d.Tokens)
		}
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="11" text-anchor="start" fill="currentColor">%s</text>`, padL, chartH-6, days[0].Day)
		// The ledger's days are UTC days, which the operator's own may not be.
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="11" text-anchor="end" fill="currentColor">%s UTC</text>`, chartW-padR, chartH-6, days[len(days)-1].Day)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) // every text above is a number, a date or escaped
}
