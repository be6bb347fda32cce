package scheduler

import (
	"errors"
	"fmt"
	"html/template"
	"time"

	"github.com/aegisgo/aegis/template/internal/components/frontend"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
)

// The scheduler's dashboard panel: every job with its schedule, last run and
// outcome, next run, and a "Run now" button. It lives in this folder so it
// leaves with the component.
func init() {
	registry.Contribute(registry.Default, "scheduler", frontend.Panel{Title: "Scheduled jobs", Render: renderPanel, PanelOpts: frontend.PanelOpts{
		Order:   20,
		Refresh: 5,
		Actions: map[string]frontend.ActionFunc{"run": runNowAction},
	}})
}

// panelWait is how long the "Run now" action waits for the run before it
// answers; a longer run goes on and the panel's refresh shows its outcome.
const panelWait = 10 * time.Second

var panelTmpl = frontend.NewTemplate("scheduler", template.FuncMap{
	"when": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format("2006-01-02 15:04:05 UTC")
	},
	"iso": func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
}, `{{if not .Jobs}}<p class="muted">No scheduled jobs are registered.</p>{{else}}
<div class="scroll" tabindex="0" role="group" aria-label="Scheduled jobs, scrollable">
<table>
  <thead><tr><th scope="col">Job</th><th scope="col">Schedule</th><th scope="col">Last run</th><th scope="col">Outcome</th><th scope="col">Next run</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
  <tbody>
  {{range .Jobs}}<tr>
    <th scope="row"><code>{{.Job.Name}}</code></th>
    <td><code>{{.Job.Spec}}</code></td>
    <td>{{with .Last}}<time datetime="{{iso .Started}}">{{when .Started}}</time>{{if .Duration}} <span class="muted">({{.Duration}})</span>{{end}}{{else}}<span class="muted">never</span>{{end}}</td>
    <td>{{with .Last}}<span class="badge badge-{{if eq (print .Outcome) "failed"}}unhealthy{{else if or (eq (print .Outcome) "running") (eq (print .Outcome) "cancelled")}}degraded{{else}}healthy{{end}}">{{.Outcome}}</span>{{with .Error}}<span class="msg"> {{.}}</span>{{end}}{{else}}<span class="muted">none</span>{{end}}</td>
    <td><time datetime="{{iso .Next}}">{{when .Next}}</time></td>
    <td><form method="post" action="{{$.URL}}" hx-post="{{$.URL}}" hx-target="closest .panel" hx-swap="outerHTML">{{$.CSRF}}<input type="hidden" name="job" value="{{.Job.Name}}"><button type="submit">Run now<span class="visually-hidden"> {{.Job.Name}}</span></button></form></td>
  </tr>
  {{end}}</tbody>
</table>
</div>{{end}}
<p class="muted">Instance <code>{{.Instance}}</code>. "Run now" runs the job in this process at once, like <code>schedule run</code>.</p>`)

func renderPanel(p *frontend.PanelContext) (template.HTML, error) {
	s, err := registry.Get[*Scheduler](p.Container)
	if err != nil {
		return "", fmt.Errorf("the scheduler is not available: %w", err)
	}
	jobs, err := s.Status(p.Request.Context())
	if err != nil {
		// The store's error: the database's driver text, with schedulerdb.
		return "", p.Problem("cannot read the jobs' runs", err)
	}
	return p.Execute(panelTmpl, map[string]any{
		"Jobs": jobs, "Instance": s.Instance(), "URL": p.ActionURL("run"), "CSRF": p.CSRFField(),
	})
}

// runNowAction runs the job named by the form's "job" field. The run is not
// tied to the request (closing the page does not cancel it) but to the
// scheduler: shutdown waits for it, then cancels it.
func runNowAction(p *frontend.PanelContext) error {
	s, err := registry.Get[*Scheduler](p.Container)
	if err != nil {
		return fmt.Errorf("the scheduler is not available: %w", err)
	}
	name := p.Request.PostFormValue("job")
	done, err := s.RunInBackground(p.Request.Context(), name)
	var noJob *NoJobError
	if errors.As(err, &noJob) {
		return fmt.Errorf("there is no scheduled job %q", name)
	}
	if errors.Is(err, ErrStopped) {
		return fmt.Errorf("job %s was not started: the app is shutting down", name)
	}
	if err != nil {
		return fmt.Errorf("job %s was not started: %w", name, err)
	}
	wait := time.NewTimer(panelWait)
	defer wait.Stop()
	select {
	case res := <-done:
		if res.Err != nil && res.Run.Started.IsZero() {
			// The run was not recorded (the store's Claim failed): the store's error, the
			// database's driver text with schedulerdb.
			return p.Problem("job "+name+" was not started", res.Err)
		}
		if res.Err != nil {
			return fmt.Errorf("job %s failed: %w", name, res.Err)
		}
		p.Notice = "Ran " + name + "."
		return nil
	case <-wait.C:
		p.Notice = "Started " + name + "; it is still running, and its outcome appears here when it ends."
		return nil
	}
}
