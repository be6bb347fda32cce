package httpclient

import (
	"fmt"
	"html/template"
	"time"

	"github.com/aegisgo/aegis/template/internal/components/frontend"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
)

// The dashboard's "Outbound HTTP" panel (registered in Register): every host called with its
// circuit breaker and counts, then the clients and their options. It lives in this folder so
// it leaves with the service.

var panelTmpl = frontend.NewTemplate("http", template.FuncMap{
	"when":  func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") },
	"round": func(d time.Duration) string { return d.Round(time.Second).String() },
	"badge": func(state string) string {
		switch state {
		case BreakerOpen:
			return "badge-unhealthy"
		case BreakerHalfOpen:
			return "badge-degraded"
		}
		return "badge-healthy"
	},
}, `<h2 id="hosts-heading">Hosts</h2>
{{if .Hosts}}<div class="scroll" tabindex="0" role="group" aria-labelledby="hosts-heading"><table>
  <thead><tr><th scope="col">Host</th><th scope="col">Circuit breaker</th><th scope="col">Calls</th><th scope="col">Failures</th><th scope="col">Retries</th><th scope="col">Last error</th></tr></thead>
  <tbody>{{range .Hosts}}<tr>
    <th scope="row"><code>{{.Host}}</code></th>
    <td><span class="badge {{badge .Breaker}}">{{.Breaker}}</span>{{if eq .Breaker "open"}} <span class="muted">probe in {{round .Reopen}}</span>{{end}}{{if .Opened}} <span class="muted">(opened {{.Opened}}×)</span>{{end}}</td>
    <td>{{.Calls}}</td><td>{{.Failures}}</td><td>{{.Retries}}</td>
    <td>{{if .LastError}}<span class="msg">{{.LastError}}</span> <span class="muted">{{when .LastErrorAt}}</span>{{else}}<span class="muted">none</span>{{end}}</td>
  </tr>{{end}}</tbody>
</table></div>{{else}}<p class="muted">No outbound calls yet.</p>{{end}}
<p class="muted">Calls count requests once, however many attempts each took; Failures, the calls that ended in an error or a 5xx, 408 or 429 answer; Retries, the attempts after the first. A breaker counts attempts, not calls: it opens after {{.Settings.BreakerFailures}} consecutive failed attempts (transport errors, 5xx), so one call and its retries can open it, and lets a probe through {{.Settings.BreakerCooldown}} later.</p>
<h2 id="clients-heading">Clients</h2>
{{if .Clients}}<div class="scroll" tabindex="0" role="group" aria-labelledby="clients-heading"><table>
  <thead><tr><th scope="col">Client</th><th scope="col">Base URL</th><th scope="col">Timeout</th><th scope="col">Attempts</th></tr></thead>
  <tbody>{{range .Clients}}<tr><th scope="row">{{.Name}}</th><td>{{with .Base}}<code>{{.}}</code>{{else}}<span class="muted">none</span>{{end}}</td><td>{{.Timeout}}</td><td>{{.Attempts}}</td></tr>{{end}}</tbody>
</table></div>{{else}}<p class="muted">No client built yet: services build theirs with Clients.New.</p>{{end}}`)

type panelClient struct {
	Name, Base string
	Timeout    time.Duration
	Attempts   int
}

func renderPanel(p *frontend.PanelContext) (template.HTML, error) {
	cs, err := registry.Get[*Clients](p.Container)
	if err != nil {
		return "", fmt.Errorf("the HTTP clients are not available: %w", err)
	}
	var clients []panelClient
	for _, c := range cs.Clients() {
		pc := panelClient{Name: c.name, Timeout: c.o.Timeout, Attempts: c.o.MaxAttempts}
		if c.base != nil {
			pc.Base = RedactURL(c.base)
		}
		clients = append(clients, pc)
	}
	return p.Execute(panelTmpl, map[string]any{"Hosts": cs.Hosts(), "Clients": clients, "Settings": cs.s})
}
