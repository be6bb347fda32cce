package worker

import (
	"context"
	"fmt"

	"github.com/aegisgo/aegis/template/internal/components/database"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
)

// Counts is how many jobs are in each state, per queue and in total (completed jobs are not
// counted: there are many and they need nothing).
type Counts struct {
	Queues map[string]map[string]int // queue -> state -> jobs
	States map[string]int            // state -> jobs, all queues
}

// Count returns the number of jobs by queue and state.
func (c *Client) Count(ctx context.Context) (Counts, error) {
	q := `SELECT queue, state, count(*) FROM river_job WHERE state <> 'completed' GROUP BY queue, state`
	if c.db.Engine() == database.Postgres {
		q = `SELECT queue, state::text, count(*) FROM river_job WHERE state <> 'completed' GROUP BY queue, state`
	}
	rows, err := c.db.SQL().QueryContext(ctx, q)
	if err != nil {
		return Counts{}, fmt.Errorf("worker: count jobs: %w", err)
	}
	defer rows.Close()
	out := Counts{Queues: map[string]map[string]int{}, States: map[string]int{}}
	for rows.Next() {
		var queue, state string
		var n int
		if err := rows.Scan(&queue, &state, &n); err != nil {
			return Counts{}, fmt.Errorf("worker: count jobs: %w", err)
		}
		if out.Queues[queue] == nil {
			out.Queues[queue] = map[string]int{}
		}
		out.Queues[queue][state] += n
		out.States[state] += n
	}
	if err := rows.Err(); err != nil {
		return Counts{}, fmt.Errorf("worker: count jobs: %w", err)
	}
	return out, nil
}

// CheckHealth reports the queues' depths (jobs available to run now), and the running,
// retryable (failed, to be retried) and discarded (failed for good) jobs, so
// /health/detailed shows the backlog. A worker whose job loop stopped by itself, or a
// database it cannot count jobs in, is unhealthy.
func (c *Client) CheckHealth(ctx context.Context) registry.Health {
	details := map[string]any{"role": "client"}
	if c.work {
		details["role"] = "worker"
		details["concurrency"] = c.queues
	}
	counts, err := c.Count(ctx)
	if err != nil {
		return registry.Health{Status: registry.StatusUnhealthy, Message: err.Error(), Details: details}
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
	details["discarded"] = counts.States["discarded"]

	c.mu.Lock()
	started, stopping := c.started, c.stopping
	c.mu.Unlock()
	if started && !stopping {
		select {
		case <-c.eng.stopped():
			return registry.Health{Status: registry.StatusUnhealthy, Message: "worker: job loop stopped unexpectedly", Details: details}
		default:
		}
	}
	msg := "enqueue only"
	if c.work {
		msg = "working"
	}
	return registry.Health{Status: registry.StatusHealthy, Message: msg, Details: details}
}
