package worker

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"html/template"
	"slices"
	"strconv"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/aegisgo/aegis/template/internal/components/frontend"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
)

// The worker's dashboard panel: jobs per queue and state, failed jobs with
// their last error, the most recent jobs, and buttons to retry or cancel a
// job. It lives in this folder so it leaves with the component.
func init() {
	registry.Contribute(registry.Default, "jobs", frontend.Panel{Title: "Jobs", Render: renderPanel, PanelOpts: frontend.PanelOpts{
		Order:   10,
		Refresh: 5,
		Actions: map[string]frontend.ActionFunc{
			"retry":  jobAction(retryJob, "Job %d will run again as soon as a worker is free."),
			"cancel": jobAction(cancelJob, "Job %d is cancelled."),
		},
	}})
}

// panelStates are the columns of the queue table, in a job's life order: the live states
// (Counts has the discarded and cancelled jobs of the last hour in total only).
var panelStates = []string{"available", "scheduled", "running", "retryable"}

// panelRows is how many failed and recent jobs the panel lists.
const panelRows = 15

// panelJob is one job row of the panel.
type panelJob struct {
	*rivertype.JobRow
	LastError string
	CanRetry  bool
	CanCancel bool
}

type panelQueue struct {
	Name   string
	Counts []int
}

var panelTmpl = frontend.NewTemplate("jobs", template.FuncMap{
	"when": func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") },
	"iso":  func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
}, `{{with .NoWorkers}}<p role="status"><strong>{{.}}</strong></p>{{end}}
<h2 id="queues-heading">Queues</h2>
{{if .Queues}}<div class="scroll" tabindex="0" role="group" aria-labelledby="queues-heading"><table>
  <thead><tr><th scope="col">Queue</th>{{range .States}}<th scope="col">{{.}}</th>{{end}}</tr></thead>
  <tbody>{{range .Queues}}<tr><th scope="row"><code>{{.Name}}</code></th>{{range .Counts}}<td>{{.}}</td>{{end}}</tr>{{end}}</tbody>
</table></div>{{else}}<p class="muted">No jobs waiting, running or to be retried.</p>{{end}}
<p>In the last hour: {{.Discarded}} discarded (failed for good), {{.Cancelled}} cancelled.</p>
{{define "joblist"}}<div class="scroll" tabindex="0" role="group" aria-label="{{.Label}}"><table>
  <thead><tr><th scope="col">ID</th><th scope="col">Kind</th><th scope="col">Queue</th><th scope="col">State</th><th scope="col">Attempt</th><th scope="col">Created</th><th scope="col">Last error</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
  <tbody>{{range .Jobs}}<tr>
    <th scope="row">{{.ID}}</th><td><code>{{.Kind}}</code></td><td>{{.Queue}}</td><td>{{.State}}</td>
    <td>{{.Attempt}}/{{.MaxAttempts}}</td><td><time datetime="{{iso .CreatedAt}}">{{when .CreatedAt}}</time></td>
    <td>{{with .LastError}}<span class="msg">{{.}}</span>{{else}}<span class="muted">none</span>{{end}}</td>
    <td class="actions">{{if .CanRetry}}<form method="post" action="{{$.Retry}}" hx-post="{{$.Retry}}" hx-target="closest .panel" hx-swap="outerHTML">{{$.CSRF}}<input type="hidden" name="id" value="{{.ID}}"><button type="submit">Retry<span class="visually-hidden"> job {{.ID}}</span></button></form>{{end}}
      {{if .CanCancel}}<form method="post" action="{{$.Cancel}}" hx-post="{{$.Cancel}}" hx-target="closest .panel" hx-swap="outerHTML">{{$.CSRF}}<input type="hidden" name="id" value="{{.ID}}"><button type="submit">Cancel<span class="visually-hidden"> job {{.ID}}</span></button></form>{{end}}</td>
  </tr>{{end}}</tbody>
</table></div>{{end}}
<h2>Failed jobs</h2>
<p class="muted">To be retried, discarded (failed for good), or cancelled with an error (their task gave up); the latest failures first.</p>
{{if .Failed.Jobs}}{{template "joblist" .Failed}}{{else}}<p class="muted">No failed jobs.</p>{{end}}
<h2>Recent jobs</h2>
<p class="muted">Every state, the newest first.</p>
{{if .Recent.Jobs}}{{template "joblist" .Recent}}{{else}}<p class="muted">No jobs yet.</p>{{end}}`)

func renderPanel(p *frontend.PanelContext) (template.HTML, error) {
	c, err := registry.Get[*Client](p.Container)
	if err != nil {
		return "", fmt.Errorf("the worker is not available: %w", err)
	}
	ctx := p.Request.Context()
	counts, err := c.Count(ctx)
	if err != nil {
		return "", c.dbProblem(ctx, "cannot count jobs", err)
	}
	var queues []panelQueue
	for name, states := range counts.Queues {
		q := panelQueue{Name: name}
		for _, s := range panelStates {
			q.Counts = append(q.Counts, states[s])
		}
		queues = append(queues, q)
	}
	slices.SortFunc(queues, func(a, b panelQueue) int { return cmp.Compare(a.Name, b.Name) })
	failed, recent, err := panelJobs(ctx, c)
	if err != nil {
		return "", c.dbProblem(ctx, "cannot list jobs", err)
	}
	// Label names each list's scrollable group after its heading: two groups both called
	// "Jobs" could not be told apart by a screen reader's list of landmarks and groups.
	// Jobs that wait with no process to work them look like a slow queue: say why, as health
	// does (one query of River's leader, only where this server works no jobs itself).
	var noWorkersLine string
	if seen, _, ok := c.workersSeen(ctx); ok && !seen {
		noWorkersLine = "This server works no jobs itself (WORKER_IN_PROCESS=false), and " + noWorkers + "."
	}
	jobs := func(label string, js []panelJob) map[string]any {
		return map[string]any{"Label": label, "Jobs": js, "Retry": p.ActionURL("retry"), "Cancel": p.ActionURL("cancel"), "CSRF": p.CSRFField()}
	}
	return p.Execute(panelTmpl, map[string]any{
		"States": panelStates, "Queues": queues, "Failed": jobs("Failed jobs, scrollable", failed), "Recent": jobs("Recent jobs, scrollable", recent),
		"Discarded": counts.States["discarded"], "Cancelled": counts.States["cancelled"], "NoWorkers": noWorkersLine,
	})
}

func jobID(p *frontend.PanelContext) (int64, error) {
	id, err := strconv.ParseInt(p.Request.PostFormValue("id"), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a job ID", p.Request.PostFormValue("id"))
	}
	return id, nil
}

// jobAction is the panel action that applies do (Client.Retry or Client.Cancel) to the job
// the form names and then shows notice, a format of the job's ID.
func jobAction(do func(*Client, context.Context, int64) (*rivertype.JobRow, error), notice string) frontend.ActionFunc {
	return func(p *frontend.PanelContext) error {
		c, err := registry.Get[*Client](p.Container)
		if err != nil {
			return fmt.Errorf("the worker is not available: %w", err)
		}
		id, err := jobID(p)
		if err != nil {
			return err
		}
		if _, err := do(c, p.Request.Context(), id); err != nil {
			return err
		}
		p.Notice = fmt.Sprintf(notice, id)
		return nil
	}
}

// canRetry reports whether the panel offers Retry for a job in state: River's JobRetry makes
// any job but a running one available at once, so Retry suits one that failed (retryable,
// discarded), was cancelled, or waits (scheduled, pending: run it now). A completed job would
// run its work a second time (another email sent) with one more attempt counted, and an
// available or running one has nothing to retry.
func canRetry(state rivertype.JobState) bool {
	switch state {
	case rivertype.JobStateRetryable, rivertype.JobStateDiscarded, rivertype.JobStateCancelled,
		rivertype.JobStateScheduled, rivertype.JobStatePending:
		return true
	}
	return false
}

// retryJob is the panel's retry: Client.Retry for a job canRetry allows. The check is here
// too, not only in the rows offered, because a form can be posted from a page rendered
// before the job completed, or crafted. It reads the job first, so a job that completes
// between the read and the retry still runs again: the window is a few milliseconds, and
// River offers no conditional retry to close it.
func retryJob(c *Client, ctx context.Context, id int64) (*rivertype.JobRow, error) {
	j, err := c.Job(ctx, id)
	if errors.Is(err, river.ErrNotFound) {
		return nil, fmt.Errorf("there is no job %d: it may have been deleted; reload the panel", id)
	}
	if err != nil {
		return nil, c.dbProblem(ctx, "cannot read the job", err)
	}
	if err := retryRefusal(j, "enqueue a new job if that is what you want"); err != nil {
		return nil, err
	}
	j, err = c.Retry(ctx, id)
	if err != nil {
		return nil, c.dbProblem(ctx, "cannot retry the job", err)
	}
	return j, nil
}

// cancelJob is the panel's and the command's cancel: Client.Cancel, and an error when the job
// had already ended. River leaves a completed or discarded job as it is without an error, so
// "cancelled" would be reported for a job that ran (or failed) and was not cancelled at all.
func cancelJob(c *Client, ctx context.Context, id int64) (*rivertype.JobRow, error) {
	j, err := c.Cancel(ctx, id)
	if err != nil {
		return nil, c.dbProblem(ctx, "cannot cancel the job", err)
	}
	if j.State == rivertype.JobStateCompleted || j.State == rivertype.JobStateDiscarded {
		return nil, fmt.Errorf("job %d is %s, so there is nothing to cancel", j.ID, j.State)
	}
	return j, nil
}

// retryRefusal says why the job j is not retried (canRetry), or is nil; completedFix is
// what to do instead for a completed job, which the panel and the command word differently.
func retryRefusal(j *rivertype.JobRow, completedFix string) error {
	switch {
	case j.State == rivertype.JobStateCompleted:
		return fmt.Errorf("job %d completed successfully, so it is not retried: that would run its work again; %s", j.ID, completedFix)
	case j.State == rivertype.JobStateRunning:
		return fmt.Errorf("job %d is running, so it is not retried: wait for it to finish, or cancel it first", j.ID)
	case !canRetry(j.State):
		return fmt.Errorf("job %d is %s, so it is not retried: it runs as soon as a worker is free", j.ID, j.State)
	}
	return nil
}

// dbProblem words a failed query of River's tables for the panel (which shows its errors) and
// the command as health does, with Database.Problem: the driver's own text names the database
// user and database (pgx's "failed to connect to `user=... database=...`"), and stays in a
// debug line. River's "no such job" keeps its own error, which callers test for.
func (c *Client) dbProblem(ctx context.Context, what string, err error) error {
	if errors.Is(err, river.ErrNotFound) {
		return err
	}
	c.logger.DebugContext(ctx, "worker: "+what, "err", err)
	return &worded{msg: what + ": " + c.db.Problem(err), err: err}
}

// worded is an error shown by its words, which hold none of the cause's text; errors.Is and
// errors.As still reach the cause.
type worded struct {
	msg string
	err error
}

func (e *worded) Error() string { return e.msg }
func (e *worded) Unwrap() error { return e.err }

// panelJobs lists the panel's failed and recent jobs with queries that read panelRows rows
// of an index each, whatever the number of jobs:
//   - recent: no state filter (States() without arguments drops River's state predicate,
//     which would make SQLite sort every job), newest id first: the primary key, backwards;
//   - failed: the retryable jobs by id (a live state: the state index, then few rows), the
//     discarded ones and the cancelled ones with an error by finalized_at (River's partial
//     (state, finalized_at) index), merged by when they last failed, latest first.
func panelJobs(ctx context.Context, c *Client) (failed, recent []panelJob, err error) {
	list := func(params *river.JobListParams) ([]*rivertype.JobRow, error) {
		res, err := c.Jobs(ctx, params.First(panelRows))
		if err != nil {
			return nil, err
		}
		return res.Jobs, nil
	}
	retryable, err := list(river.NewJobListParams().States(rivertype.JobStateRetryable).
		OrderBy(river.JobListOrderByID, river.SortOrderDesc))
	if err != nil {
		return nil, nil, err
	}
	discarded, err := list(river.NewJobListParams().States(rivertype.JobStateDiscarded).
		OrderBy(river.JobListOrderByFinalizedAt, river.SortOrderDesc))
	if err != nil {
		return nil, nil, err
	}
	cancelled, err := list(river.NewJobListParams().States(rivertype.JobStateCancelled).
		OrderBy(river.JobListOrderByFinalizedAt, river.SortOrderDesc))
	if err != nil {
		return nil, nil, err
	}
	latest, err := list(river.NewJobListParams().States().OrderBy(river.JobListOrderByID, river.SortOrderDesc))
	if err != nil {
		return nil, nil, err
	}
	both := append(retryable, discarded...)
	for _, j := range cancelled {
		// With an error, its task gave up (river.JobCancel(err): a permanent failure, such as
		// a refused email address) or it was stopped while running: a failure too. One
		// cancelled before it ran, by an operator, is not.
		if len(j.Errors) > 0 {
			both = append(both, j)
		}
	}
	slices.SortStableFunc(both, func(a, b *rivertype.JobRow) int {
		if d := failedAt(b).Compare(failedAt(a)); d != 0 {
			return d
		}
		return cmp.Compare(b.ID, a.ID)
	})
	return panelRowsOf(both[:min(len(both), panelRows)]), panelRowsOf(latest), nil
}

// failedAt is when j last failed: when it was discarded, else its last recorded error (a
// retryable job has one), else its last attempt.
func failedAt(j *rivertype.JobRow) time.Time {
	if j.FinalizedAt != nil {
		return *j.FinalizedAt
	}
	if n := len(j.Errors); n > 0 {
		return j.Errors[n-1].At
	}
	if j.AttemptedAt != nil {
		return *j.AttemptedAt
	}
	return j.CreatedAt
}

// panelRowsOf makes the panel's rows of jobs: the last error and the actions each allows.
func panelRowsOf(jobs []*rivertype.JobRow) []panelJob {
	out := make([]panelJob, 0, len(jobs))
	for _, j := range jobs {
		pj := panelJob{JobRow: j}
		if n := len(j.Errors); n > 0 {
			pj.LastError = j.Errors[n-1].Error
		}
		switch j.State {
		case rivertype.JobStateRunning, rivertype.JobStateAvailable, rivertype.JobStateScheduled,
			rivertype.JobStateRetryable, rivertype.JobStatePending:
			pj.CanCancel = true
		}
		pj.CanRetry = canRetry(j.State)
		out = append(out, pj)
	}
	return out
}
