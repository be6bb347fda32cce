package scheduler

import (
	"net/url"
	"strings"
	"testing"

	"github.com/aegisgo/aegis/template/internal/components/frontend/frontendtest"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
)

// TestPanel renders the scheduler's dashboard panel and presses "Run now"
// the way a browser without JavaScript does: GET the page (cookie and form
// token), POST the form, follow the redirect.
func TestPanel(t *testing.T) {
	t.Parallel()
	sch, err := New(Settings{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	h := frontendtest.Handler(t, nil, func(r *registry.Registry) error {
		return registry.Value(r, sch, registry.Component(Name))
	})
	b := frontendtest.NewBrowser(t, h)
	body := b.Get("/dashboard/panels/scheduler")
	for _, want := range []string{
		"<code>test_cron</code>", "<code>cron 0 3 * * *</code>",
		`action="/dashboard/panels/scheduler/actions/run"`, `name="job" value="test_cron"`, "never",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("panel lacks %q", want)
		}
	}
	post := func(job string) string {
		return b.Submit("/dashboard/panels/scheduler/actions/run", url.Values{"job": {job}})
	}
	after := post("test_cron")
	if !strings.Contains(after, "Ran test_cron.") || !strings.Contains(after, `badge-healthy">ok</span>`) {
		t.Errorf("after Run now, the panel lacks the notice or the ok outcome:\n%s", after)
	}
	if after := post("nope"); !strings.Contains(after, "Failed: there is no scheduled job &#34;nope&#34;") {
		t.Errorf("an unknown job was not refused:\n%s", after)
	}
	// Once the scheduler stops (the app shuts down), Run now is refused rather than started
	// with nobody to wait for it.
	if err := sch.Stop(t.Context()); err != nil {
		t.Fatal(err)
	}
	if after := post("test_cron"); !strings.Contains(after, "Failed: job test_cron was not started: the app is shutting down") {
		t.Errorf("Run now after Stop was not refused:\n%s", after)
	}
}
