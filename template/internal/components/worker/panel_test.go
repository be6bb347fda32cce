package worker

import (
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/riverqueue/river/rivertype"

	"github.com/aegisgo/aegis/template/internal/components/database"
	"github.com/aegisgo/aegis/template/internal/components/database/databasetest"
	"github.com/aegisgo/aegis/template/internal/components/frontend/frontendtest"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
)

// TestPanel renders the worker's dashboard panel and cancels, then retries,
// a job from it the way a browser without JavaScript does.
func TestPanel(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		client, err := NewClient(db, testSettings(), nil) // enqueues, does not work
		if err != nil {
			t.Fatal(err)
		}
		h := frontendtest.Handler(t, nil, func(r *registry.Registry) error {
			return registry.Value(r, client, registry.Component(Name))
		})
		res, err := client.Enqueue(t.Context(), okArgs{Token: token(t)}, nil)
		if err != nil {
			t.Fatal(err)
		}
		id := res.Job.ID

		b := frontendtest.NewBrowser(t, h)
		body := b.Get("/dashboard/panels/jobs")
		for _, want := range []string{
			"<title>Jobs · app</title>", "<h2 id=\"queues-heading\">Queues</h2>", "<code>default</code>",
			fmt.Sprintf(`<th scope="row">%d</th><td><code>test_ok</code></td>`, id),
			`action="/dashboard/panels/jobs/actions/cancel"`, "No failed jobs.",
		} {
			if !strings.Contains(body, want) {
				t.Errorf("panel lacks %q", want)
			}
		}
		post := func(action string) string {
			return b.Submit("/dashboard/panels/jobs/actions/"+action, url.Values{"id": {fmt.Sprint(id)}})
		}
		if after := post("cancel"); !strings.Contains(after, fmt.Sprintf("Job %d is cancelled.", id)) {
			t.Errorf("no notice after cancel:\n%s", after)
		}
		if j, _ := client.Job(t.Context(), id); j.State != rivertype.JobStateCancelled {
			t.Errorf("after cancel the job is %s", j.State)
		}
		if after := post("retry"); !strings.Contains(after, fmt.Sprintf("Job %d will run again", id)) {
			t.Errorf("no notice after retry:\n%s", after)
		}
		if j, _ := client.Job(t.Context(), id); j.State != rivertype.JobStateAvailable {
			t.Errorf("after retry the job is %s", j.State)
		}
	})
}
