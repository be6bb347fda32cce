package worker

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/aegisgo/aegis/template/internal/components/database"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
)

// FailedWindow is how far back Count counts the jobs that ended without success (discarded and
// cancelled): their number grows with WORKER_DISCARDED_RETENTION, so an all-time count would
// read every one of them on each health check; the recent ones are what an operator acts on.
const FailedWindow = time.Hour

// Counts is how many jobs are in each state. The live states (available, pending, scheduled,
// running, retryable) are counted all, per queue and in total; discarded and cancelled jobs
// only in total and when they ended after Since (FailedWindow ago); completed jobs are not
// counted: there are many and they need nothing.
type Counts struct {
	Queues map[string]map[string]int // queue -> live state -> jobs
	States map[string]int            // state -> jobs, all queues
	Since  time.Time                 // discarded and cancelled jobs are counted from then on
}

// countSQL counts without reading the finished jobs: the live states per queue from a prefix
// of River's (state, queue, priority, scheduled_at, id) index, and the recent discarded and
// cancelled jobs per state from a range of its partial (state, finalized_at) index alone (no
// queue: that would read each row), so the cost follows the backlog and the failures of the
// last hour, not the history.
var countSQL = fmt.Sprintf(countTemplate, "state", "?")

// countPostgres is countSQL in PostgreSQL's dialect (state is an enum; $1 placeholder).
var countPostgres = fmt.Sprintf(countTemplate, "state::text", "$1")

// countTemplate is Count's SQL with the state column (%[1]s) and the placeholder (%[2]s) left
// to the dialect.
const countTemplate = `SELECT queue, %[1]s, count(*) FROM river_job
WHERE state IN ('available', 'pending', 'retryable', 'running', 'scheduled')
GROUP BY queue, state
UNION ALL
SELECT NULL, %[1]s, count(*) FROM river_job
WHERE state IN ('cancelled', 'discarded') AND finalized_at IS NOT NULL AND finalized_at >= %[2]s
GROUP BY state`

// sqliteTime is how riversqlite writes timestamps (UTC text), so comparisons are textual.
const sqliteTime = "2006-01-02 15:04:05.000"

// countQuery returns Count's SQL and its argument for engine, counting failures since since.
func countQuery(engine database.Engine, since time.Time) (string, any) {
	if engine == database.Postgres {
		return countPostgres, since
	}
	return countSQL, since.UTC().Format(sqliteTime)
}

// Count returns the number of jobs by state: every job waiting, running or to be retried (per
// queue too), and the discarded and cancelled ones of the last FailedWindow. It reads indexes
// only, so it stays cheap whatever the number of finished jobs. The result is kept for
// RecentCount; its maps are shared with later callers and must not be changed.
func (c *Client) Count(ctx context.Context) (Counts, error) {
	out, err := c.count(ctx)
	if err != nil {
		return Counts{}, err
	}
	c.counted.mu.Lock()
	c.counted.counts, c.counted.at = out, time.Now()
	c.counted.mu.Unlock()
	return out, nil
}

// countCache is the last Count and when it was made.
type countCache struct {
	refresh sync.Mutex // held by RecentCount while it counts, so callers at once share one count
	mu      sync.Mutex
	counts  Counts
	at      time.Time
}

// RecentCount returns the last Count when it is at most maxAge old (the health check's, the
// Jobs panel's or an earlier RecentCount's), else counts again. Metrics read the queues with it
// at every collection: however often /metrics is scraped, the database counts at most once per
// maxAge. Its maps must not be changed.
func (c *Client) RecentCount(ctx context.Context, maxAge time.Duration) (Counts, error) {
	c.counted.refresh.Lock()
	defer c.counted.refresh.Unlock()
	c.counted.mu.Lock()
	counts, at := c.counted.counts, c.counted.at
	c.counted.mu.Unlock()
	if !at.IsZero() && time.Since(at) <= maxAge {
		return counts, nil
	}
	return c.Count(ctx)
}

func (c *Client) count(ctx context.Context) (Counts, error) {
	since := time.Now().Add(-FailedWindow)
	q, arg := countQuery(c.db.Engine(), since)
	rows, err := c.db.SQL().QueryContext(ctx, q, arg)
	if err != nil {
		return Counts{}, fmt.Errorf("worker: count jobs: %w", err)
	}
	defer rows.Close()
	out := Counts{Queues: map[string]map[string]int{}, States: map[string]int{}, Since: since}
	for rows.Next() {
		var queue sql.NullString
		var state string
		var n int
		if err := rows.Scan(&queue, &state, &n); err != nil {
			return Counts{}, fmt.Errorf("worker: count jobs: %w", err)
		}
		out.States[state] += n
		if !queue.Valid {
			continue
		}
		if out.Queues[queue.String] == nil {
			out.Queues[queue.String] = map[string]int{}
		}
		out.Queues[queue.String][state] += n
	}
	if err := rows.Err(); err != nil {
		return Counts{}, fmt.Errorf("worker: count jobs: %w", err)
	}
	return out, nil
}

// CheckHealth reports the queues' depths (jobs available to run now), the running, scheduled
// and retryable (failed, to be retried) jobs, and the jobs discarded (failed for good) in the
// last hour, so /health/detailed shows the backlog. A worker whose job loop stopped by itself,
// or a database it cannot count jobs in, is unhealthy.
func (c *Client) CheckHealth(ctx context.Context) registry.Health {
	details := map[string]any{"role": "client"}
	if c.work {
		details["role"] = "worker"
		details["concurrency"] = c.queues
	}
	counts, err := c.Count(ctx)
	if err != nil {
		// The driver's text stays in a debug line: the message is shown by /health/detailed.
		c.logger.DebugContext(ctx, "worker: health check cannot count jobs", "err", err)
		return registry.Health{Status: registry.StatusUnhealthy, Message: "worker: cannot count jobs: " + c.db.Problem(err), Details: details}
	}
	depth := map[string]int{}
	for name := range c.queues {
		depth[name] = 0
	}
	for queue, states := range counts.Queues {
		depth[queue] = states["available"]
	}
	details["queue_depth"] = depth
	details["running"] = counts.States["running"]
	details["scheduled"] = counts.States["scheduled"]
	details["retryable"] = counts.States["retryable"]
	details["discarded_last_hour"] = counts.States["discarded"]

	if err := c.Ready(ctx); err != nil {
		return registry.Health{Status: registry.StatusUnhealthy, Message: err.Error(), Details: details}
	}
	msg := "enqueue only"
	status := registry.StatusHealthy
	if c.work {
		msg = "working"
	} else if seen, leader, ok := c.workersSeen(ctx); ok {
		details["workers_seen"] = seen
		if seen {
			details["leader"] = leader
			msg = "enqueue only; worker processes are working the queues"
		} else {
			msg = "enqueue only; " + noWorkers
			if total(depth) > 0 {
				status = registry.StatusDegraded
			}
		}
	}
	if n := counts.States["discarded"]; n > 0 {
		msg += fmt.Sprintf("; %d discarded in the last hour", n)
	}
	return registry.Health{Status: status, Message: msg, Details: details}
}

// noWorkers is what health and the jobs panel say when no process works the queues.
const noWorkers = "no worker process is running: jobs wait until one starts"

// workersSeen reports, for a client that works no job itself (serve with
// WORKER_IN_PROCESS=false), whether a worker process works the queues, and its leader; ok is
// false when that cannot be known (SQLite, or River's leader table unreadable) or when this
// client works them itself. Health and the jobs panel both ask it, each on its own request.
func (c *Client) workersSeen(ctx context.Context) (seen bool, leader string, ok bool) {
	if c.work || c.db.Engine() != database.Postgres {
		return false, "", false
	}
	leader, err := c.workingLeader(ctx)
	if err != nil {
		c.logger.DebugContext(ctx, "worker: cannot read River's leader", "err", err)
		return false, "", false
	}
	return leader != "", leader, true
}

// workingLeader returns River's elected leader when its lease is current, else "". Only a
// client that works jobs (serve with WORKER_IN_PROCESS=true, or the worker command) stands
// for election and renews the lease, which lapses about 30 s after the last one stops or dies.
func (c *Client) workingLeader(ctx context.Context) (string, error) {
	var id string
	err := c.db.Pool().QueryRow(ctx, `SELECT leader_id FROM river_leader WHERE expires_at > now() LIMIT 1`).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("worker: read leader: %w", err)
	}
	return id, nil
}

func total(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// Ready is the worker's readiness (registry.ReadinessChecker): it reads no table, and fails
// only when the job loop of a working client stopped by itself. Whether the database answers
// is the database's own readiness.
func (c *Client) Ready(context.Context) error {
	c.mu.Lock()
	started, stopping := c.started, c.stopping
	c.mu.Unlock()
	if started && !stopping {
		select {
		case <-c.eng.stopped():
			return errLoopStopped
		default:
		}
	}
	return nil
}

var errLoopStopped = errors.New("worker: job loop stopped unexpectedly")

var _ registry.ReadinessChecker = (*Client)(nil)
