package worker

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"
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
			"<h2 id=\"queues-heading\">Queues</h2>", "<code>default</code>",
			fmt.Sprintf(`<th scope="row">%d</th><td><code>test_ok</code></td>`, id),
			`action="/dashboard/panels/jobs/actions/cancel"`, "No failed jobs.",
			// What keeps a row one line tall on a phone (the stylesheet's .scroll table
			// time and .actions), and the list's group named by its own heading.
			`<td class="actions">`, `<time datetime="`, `aria-label="Recent jobs, scrollable"`,
		} {
			if !strings.Contains(body, want) {
				t.Errorf("panel lacks %q", want)
			}
		}
		// The client works no jobs and, on PostgreSQL, no worker process holds River's
		// leadership: the panel says why jobs wait, as health does (it said nothing). SQLite
		// cannot tell, and says nothing.
		const noWorkers = "no worker process is running: jobs wait until one starts"
		if got, want := strings.Contains(body, noWorkers), db.Engine() == database.Postgres; got != want {
			t.Errorf("panel says %q: %v, want %v", noWorkers, got, want)
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

// TestPanelRetryCompleted: a completed job offers no Retry, and a retry posted for it all
// the same (from a page rendered before it completed) is refused with a reason, the job left
// completed with its one attempt; a scheduled one is still retried (run now).
func TestPanelRetryCompleted(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		client := setup(t, db, testSettings())
		h := frontendtest.Handler(t, nil, func(r *registry.Registry) error {
			return registry.Value(r, client, registry.Component(Name))
		})
		res, err := client.Enqueue(t.Context(), okArgs{Token: token(t)}, nil)
		if err != nil {
			t.Fatal(err)
		}
		id := res.Job.ID
		waitState(t, client, id, rivertype.JobStateCompleted, 10*time.Second)
		// A job waiting for later, so the page has forms (and the test browser a CSRF token).
		later, err := client.Enqueue(t.Context(), okArgs{Token: token(t)}, &river.InsertOpts{ScheduledAt: time.Now().Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}

		b := frontendtest.NewBrowser(t, h)
		body := b.Get("/dashboard/panels/jobs")
		if !strings.Contains(body, fmt.Sprintf(`<th scope="row">%d</th>`, id)) {
			t.Fatalf("the completed job is not listed:\n%s", body)
		}
		if strings.Contains(body, fmt.Sprintf("Retry<span class=\"visually-hidden\"> job %d</span>", id)) {
			t.Errorf("the completed job offers Retry:\n%s", body)
		}
		after := b.Submit("/dashboard/panels/jobs/actions/retry", url.Values{"id": {fmt.Sprint(id)}})
		if !strings.Contains(after, fmt.Sprintf("job %d completed successfully, so it is not retried", id)) {
			t.Errorf("no refusal after retrying a completed job:\n%s", after)
		}
		j, err := client.Job(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		if j.State != rivertype.JobStateCompleted || j.Attempt != 1 {
			t.Errorf("after the refused retry the job is %s, attempt %d; want completed, 1", j.State, j.Attempt)
		}
		if after := b.Submit("/dashboard/panels/jobs/actions/retry", url.Values{"id": {fmt.Sprint(later.Job.ID)}}); !strings.Contains(after, fmt.Sprintf("Job %d will run again", later.Job.ID)) {
			t.Errorf("a scheduled job was not retried (run now):\n%s", after)
		}
		if after := b.Submit("/dashboard/panels/jobs/actions/retry", url.Values{"id": {"999999999"}}); !strings.Contains(after, "there is no job 999999999") {
			t.Errorf("no reason after retrying a missing job:\n%s", after)
		}
	})
}

// TestPanelRowActions: which states offer Retry and Cancel.
func TestPanelRowActions(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		state         rivertype.JobState
		retry, cancel bool
	}{
		{rivertype.JobStateAvailable, false, true},
		{rivertype.JobStatePending, true, true},
		{rivertype.JobStateScheduled, true, true},
		{rivertype.JobStateRunning, false, true},
		{rivertype.JobStateRetryable, true, true},
		{rivertype.JobStateCompleted, false, false},
		{rivertype.JobStateDiscarded, true, false},
		{rivertype.JobStateCancelled, true, false},
	} {
		row := panelRowsOf([]*rivertype.JobRow{{State: tt.state}})[0]
		if row.CanRetry != tt.retry || row.CanCancel != tt.cancel {
			t.Errorf("%s: retry %v, cancel %v; want %v, %v", tt.state, row.CanRetry, row.CanCancel, tt.retry, tt.cancel)
		}
	}
}

// TestPanelHidesConnectionDetails: when the database refuses new connections, the panel shows
// what failed in health's words (the server's host:port), not the driver's text, which named
// the database user and database ("failed to connect to `user=... database=...`"), and
// retrying a job says the same.
func TestPanelHidesConnectionDetails(t *testing.T) {
	db := databasetest.New(t, database.Postgres)
	client, err := NewClient(db, testSettings(), nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := client.Enqueue(t.Context(), okArgs{Token: token(t)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	h := frontendtest.Handler(t, nil, func(r *registry.Registry) error {
		return registry.Value(r, client, registry.Component(Name))
	})
	b := frontendtest.NewBrowser(t, h)
	b.Get("/dashboard/panels/jobs") // the form's CSRF token

	// The test's database refuses new connections and the pool's own are closed, so the
	// panel's next query must connect again.
	refused := databasetest.RefuseConnections(t, db)

	for _, tc := range []struct {
		name, body, says string
	}{
		{"panel", b.Get("/dashboard/panels/jobs"), "cannot count jobs: " + refused.Host},
		{"retry", b.Submit("/dashboard/panels/jobs/actions/retry", url.Values{"id": {fmt.Sprint(res.Job.ID)}}), "cannot read the job: " + refused.Host},
	} {
		refused.Check(t, tc.name, tc.body, tc.says)
	}
}
