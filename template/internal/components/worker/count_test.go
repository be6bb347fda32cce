package worker

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river/rivertype"

	"github.com/aegisgo/aegis/template/internal/components/database"
	"github.com/aegisgo/aegis/template/internal/components/database/databasetest"
	"github.com/aegisgo/aegis/template/internal/components/frontend/frontendtest"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
)

// jobAs puts job id in state as if it had run: finalized (discarded, completed, cancelled) at
// finalized, and with one recorded error at errAt when errAt is not zero.
func jobAs(t *testing.T, db *database.DB, id int64, state rivertype.JobState, finalized, errAt time.Time) {
	t.Helper()
	var fin, errs any
	if !errAt.IsZero() {
		errs = fmt.Sprintf(`[{"at":%q,"attempt":1,"error":"boom %d","trace":""}]`, errAt.UTC().Format(time.RFC3339Nano), id)
	}
	q := `UPDATE river_job SET state = ?, finalized_at = ?, errors = jsonb(?), attempt = 1 WHERE id = ?`
	if !finalized.IsZero() {
		fin = finalized.UTC().Format(sqliteTime)
	}
	if db.Engine() == database.Postgres {
		q = `UPDATE river_job SET state = $1, finalized_at = $2, errors = CASE WHEN $3::text IS NULL THEN NULL ELSE ARRAY[($3::jsonb)->0] END, attempt = 1 WHERE id = $4`
		fin = nil
		if !finalized.IsZero() {
			fin = finalized
		}
	}
	if _, err := db.SQL().ExecContext(t.Context(), q, string(state), fin, errs, id); err != nil {
		t.Fatalf("job %d to %s: %v", id, state, err)
	}
}

// enqueueN enqueues n jobs and returns their IDs, oldest first.
func enqueueN(t *testing.T, c *Client, n int) []int64 {
	t.Helper()
	ids := make([]int64, n)
	for i := range ids {
		res, err := c.Enqueue(t.Context(), okArgs{Token: token(t)}, nil)
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = res.Job.ID
	}
	return ids
}

// TestPanelJobs: the failed list has the retryable and discarded jobs only, the latest failure
// first (whatever their IDs), and the recent list every state, newest ID first, with the
// queries that read the indexes (no state filter; one state each for the failed jobs).
func TestPanelJobs(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		c, err := NewClient(db, testSettings(), nil) // enqueues, does not work
		if err != nil {
			t.Fatal(err)
		}
		ids := enqueueN(t, c, 8)
		now := time.Now()
		jobAs(t, db, ids[0], rivertype.JobStateDiscarded, now.Add(-time.Minute), now.Add(-time.Minute)) // latest failure
		jobAs(t, db, ids[1], rivertype.JobStateCompleted, now.Add(-2*time.Minute), time.Time{})
		jobAs(t, db, ids[2], rivertype.JobStateRetryable, time.Time{}, now.Add(-3*time.Minute))
		jobAs(t, db, ids[3], rivertype.JobStateDiscarded, now.Add(-48*time.Hour), now.Add(-48*time.Hour)) // oldest failure
		jobAs(t, db, ids[4], rivertype.JobStateCancelled, now.Add(-time.Minute), time.Time{})
		jobAs(t, db, ids[5], rivertype.JobStateRetryable, time.Time{}, now.Add(-10*time.Minute))
		// ids[6], ids[7] stay available.

		failed, recent, err := panelJobs(t.Context(), c)
		if err != nil {
			t.Fatal(err)
		}
		got := func(js []panelJob) (out []string) {
			for _, j := range js {
				out = append(out, fmt.Sprintf("%d:%s", j.ID, j.State))
			}
			return out
		}
		want := []string{
			fmt.Sprintf("%d:discarded", ids[0]), fmt.Sprintf("%d:retryable", ids[2]),
			fmt.Sprintf("%d:retryable", ids[5]), fmt.Sprintf("%d:discarded", ids[3]),
		}
		if g := got(failed); strings.Join(g, " ") != strings.Join(want, " ") {
			t.Errorf("failed jobs = %v, want %v (latest failure first)", g, want)
		}
		want = want[:0]
		states := []string{"discarded", "completed", "retryable", "discarded", "cancelled", "retryable", "available", "available"}
		for i := len(ids) - 1; i >= 0; i-- {
			want = append(want, fmt.Sprintf("%d:%s", ids[i], states[i]))
		}
		if g := got(recent); strings.Join(g, " ") != strings.Join(want, " ") {
			t.Errorf("recent jobs = %v, want %v (every state, newest first)", g, want)
		}
		for _, j := range failed {
			if j.LastError != fmt.Sprintf("boom %d", j.ID) || !j.CanRetry {
				t.Errorf("failed job %d: last error %q, can retry %v", j.ID, j.LastError, j.CanRetry)
			}
		}

		// The rendered panel: the same order, the last hour's failures in the queue table.
		h := frontendtest.Handler(t, nil, func(r *registry.Registry) error {
			return registry.Value(r, c, registry.Component(Name))
		})
		body := frontendtest.NewBrowser(t, h).Get("/dashboard/panels/jobs")
		failedHTML, recentHTML, ok := strings.Cut(body, "<h2>Recent jobs</h2>")
		if !ok {
			t.Fatalf("no recent jobs in the panel:\n%s", body)
		}
		rowIDs := func(html string) (out []string) {
			for _, m := range regexp.MustCompile(`<th scope="row">(\d+)</th>`).FindAllStringSubmatch(html, -1) {
				out = append(out, m[1])
			}
			return out
		}
		idsOf := func(js []panelJob) (out []string) {
			for _, j := range js {
				out = append(out, fmt.Sprint(j.ID))
			}
			return out
		}
		if g, w := rowIDs(failedHTML), idsOf(failed); strings.Join(g, ",") != strings.Join(w, ",") {
			t.Errorf("panel's failed rows %v, want %v", g, w)
		}
		if g, w := rowIDs(recentHTML), idsOf(recent); strings.Join(g, ",") != strings.Join(w, ",") {
			t.Errorf("panel's recent rows %v, want %v", g, w)
		}
		for _, s := range []string{"In the last hour: 1 discarded (failed for good), 1 cancelled.", "boom " + fmt.Sprint(ids[0])} {
			if !strings.Contains(body, s) {
				t.Errorf("panel lacks %q", s)
			}
		}
	})
}

// TestCount counts the live states all and the discarded and cancelled jobs of the last hour
// only, never the completed ones, and the health check reports them so.
func TestCount(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		c, err := NewClient(db, testSettings(), nil)
		if err != nil {
			t.Fatal(err)
		}
		ids := enqueueN(t, c, 7)
		now := time.Now()
		jobAs(t, db, ids[0], rivertype.JobStateCompleted, now.Add(-time.Minute), time.Time{})
		jobAs(t, db, ids[1], rivertype.JobStateDiscarded, now.Add(-time.Minute), now.Add(-time.Minute))
		jobAs(t, db, ids[2], rivertype.JobStateDiscarded, now.Add(-2*time.Hour), now.Add(-2*time.Hour)) // too old
		jobAs(t, db, ids[3], rivertype.JobStateCancelled, now.Add(-time.Minute), time.Time{})
		jobAs(t, db, ids[4], rivertype.JobStateRetryable, time.Time{}, now.Add(-time.Minute))
		// ids[5], ids[6] stay available.

		counts, err := c.Count(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]int{"available": 2, "retryable": 1, "discarded": 1, "cancelled": 1}
		if fmt.Sprint(counts.States) != fmt.Sprint(want) {
			t.Errorf("counts = %v, want %v", counts.States, want)
		}
		if fmt.Sprint(counts.Queues) != fmt.Sprint(map[string]map[string]int{"default": {"available": 2, "retryable": 1}}) {
			t.Errorf("per queue = %v, want the live states, all in default", counts.Queues)
		}
		if d := time.Since(counts.Since) - FailedWindow; d < 0 || d > time.Minute {
			t.Errorf("Since = %v, want about an hour ago", counts.Since)
		}
		h := c.CheckHealth(t.Context())
		// An enqueue-only client on PostgreSQL is degraded with jobs waiting and no worker
		// process (TestEnqueueOnlyHealthSeesWorkerProcesses); the counts are what this checks.
		wantStatus := registry.StatusHealthy
		if db.Engine() == database.Postgres {
			wantStatus = registry.StatusDegraded
		}
		if h.Status != wantStatus || h.Details["discarded_last_hour"] != 1 || h.Details["retryable"] != 1 ||
			!strings.Contains(h.Message, "1 discarded in the last hour") {
			t.Errorf("health = %+v", h)
		}
	})
}

// TestCountReadsIndexesOnly: on SQLite, the plan of Count's query searches indexes and scans
// no table nor whole index, so its cost follows the live jobs, not the completed history.
func TestCountReadsIndexesOnly(t *testing.T) {
	t.Parallel()
	db := databasetest.New(t, database.SQLite)
	// Many finished jobs, so the planner has statistics as in production.
	if _, err := db.SQL().ExecContext(t.Context(), `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000)
		INSERT INTO river_job (kind, state, finalized_at, args) SELECT 'test_ok', CASE WHEN i % 30 = 0 THEN 'discarded' ELSE 'completed' END,
		strftime('%Y-%m-%d %H:%M:%f', 'now', '-' || (i % 1000) || ' minutes'), jsonb('{}') FROM n`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.SQL().ExecContext(t.Context(), `ANALYZE`); err != nil {
		t.Fatal(err)
	}
	q, arg := countQuery(database.SQLite, time.Now().Add(-FailedWindow))
	rows, err := db.SQL().QueryContext(t.Context(), "EXPLAIN QUERY PLAN "+q, arg)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, notused int
		var detail string
		if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	searches := 0
	for _, step := range plan {
		if strings.HasPrefix(step, "SCAN") {
			t.Errorf("Count's plan scans: %q (plan %q)", step, plan)
		}
		if strings.HasPrefix(step, "SEARCH river_job USING") {
			searches++
		}
	}
	if searches != 2 || !strings.Contains(strings.Join(plan, "\n"), "USING COVERING INDEX river_job_state_and_finalized_at_index") {
		t.Errorf("plan %q, want two index searches, the failures' on the partial index alone", plan)
	}
	c, err := NewClient(db, testSettings(), nil)
	if err != nil {
		t.Fatal(err)
	}
	counts, err := c.Count(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	// Discarded when i % 30 == 0, finalized i % 1000 minutes ago: in the last hour when < 60.
	want := 0
	for i := 1; i <= 20000; i++ {
		if i%30 == 0 && i%1000 < 60 {
			want++
		}
	}
	if counts.States["discarded"] != want || counts.States["completed"] != 0 {
		t.Errorf("counts %v, want %d discarded of the last hour and no completed", counts.States, want)
	}
}

// TestHealthHidesDriverError: a worker that cannot count its jobs is unhealthy with one line
// saying so, not the driver's error, which quotes the SQL's table (and, on PostgreSQL, the
// SQLSTATE): /health/detailed shows the message.
func TestHealthHidesDriverError(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		c, err := NewClient(db, testSettings(), nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.SQL().ExecContext(t.Context(), `ALTER TABLE river_job RENAME TO river_job_gone`); err != nil {
			t.Fatal(err)
		}
		h := c.CheckHealth(t.Context())
		if h.Status != registry.StatusUnhealthy {
			t.Fatalf("health %+v, want unhealthy", h)
		}
		if want := "worker: cannot count jobs: a table is missing; run the migrations ('" + database.CommandName() + " migrate up')"; h.Message != want {
			t.Errorf("message %q, want %q", h.Message, want)
		}
	})
}
