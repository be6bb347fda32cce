package schedulerdb

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/aegisgo/aegis/template/internal/components/database"
	"github.com/aegisgo/aegis/template/internal/components/scheduler"
)

// Store is scheduler.Store on the database. It is safe for concurrent use, also by several
// processes.
type Store struct {
	db *database.DB

	mu         sync.Mutex
	lastPruned time.Time
}

// NewStore returns a store on db, whose migrations must be applied.
func NewStore(db *database.DB) *Store { return &Store{db: db} }

// Claim inserts the run unless its (job, tick) exists: the insert that succeeds wins the tick.
func (s *Store) Claim(ctx context.Context, r scheduler.Run) (bool, error) {
	s.prune(ctx)
	res, err := s.db.Bun().NewRaw(`INSERT INTO scheduler_runs (job, tick_ms, instance, started_ms, outcome)
VALUES (?, ?, ?, ?, ?) ON CONFLICT (job, tick_ms) DO NOTHING`,
		r.Job, r.Tick.UnixMilli(), r.Instance, r.Started.UnixMilli(), string(scheduler.OutcomeRunning)).Exec(ctx)
	if err != nil {
		return false, fmt.Errorf("schedulerdb: claim %s at %s: %w", r.Job, r.Tick.UTC().Format(time.RFC3339), err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("schedulerdb: claim %s: %w", r.Job, err)
	}
	return n == 1, nil
}

// Finish records the run's outcome (inserting it if it was never claimed). Enqueued only
// replaces the claim it follows (running, with the same start): a worker, on this instance or
// another, may have begun the job (running, started later) or recorded its outcome before the
// dispatching instance records that it enqueued it.
func (s *Store) Finish(ctx context.Context, r scheduler.Run) error {
	onlyRunning := ""
	if r.Outcome == scheduler.OutcomeEnqueued {
		onlyRunning = "\nWHERE scheduler_runs.outcome = '" + string(scheduler.OutcomeRunning) + "' AND scheduler_runs.started_ms = excluded.started_ms"
	}
	_, err := s.db.Bun().NewRaw(`INSERT INTO scheduler_runs (job, tick_ms, instance, started_ms, duration_us, outcome, error)
VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (job, tick_ms) DO UPDATE SET instance = excluded.instance, started_ms = excluded.started_ms,
	duration_us = excluded.duration_us, outcome = excluded.outcome, error = excluded.error`+onlyRunning,
		r.Job, r.Tick.UnixMilli(), r.Instance, r.Started.UnixMilli(), r.Duration.Microseconds(), string(r.Outcome), r.Error).Exec(ctx)
	if err != nil {
		return fmt.Errorf("schedulerdb: record run of %s: %w", r.Job, err)
	}
	return nil
}

// Last returns the latest run of each job.
func (s *Store) Last(ctx context.Context) (map[string]scheduler.Run, error) {
	rows, err := s.db.SQL().QueryContext(ctx, `SELECT r.job, r.tick_ms, r.instance, r.started_ms, r.duration_us, r.outcome, r.error
FROM scheduler_runs r
JOIN (SELECT job, max(tick_ms) AS tick_ms FROM scheduler_runs GROUP BY job) m ON m.job = r.job AND m.tick_ms = r.tick_ms`)
	if err != nil {
		return nil, fmt.Errorf("schedulerdb: read runs: %w", err)
	}
	defer rows.Close()
	out := map[string]scheduler.Run{}
	for rows.Next() {
		var (
			r                  scheduler.Run
			tick, started, dur int64
			outcome            string
		)
		if err := rows.Scan(&r.Job, &tick, &r.Instance, &started, &dur, &outcome, &r.Error); err != nil {
			return nil, fmt.Errorf("schedulerdb: read runs: %w", err)
		}
		r.Tick, r.Started = time.UnixMilli(tick).UTC(), time.UnixMilli(started).UTC()
		r.Duration, r.Outcome = time.Duration(dur)*time.Microsecond, scheduler.Outcome(outcome)
		out[r.Job] = r
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("schedulerdb: read runs: %w", err)
	}
	return out, nil
}

// SaveSchedule upserts the jobs' specs and next runs.
func (s *Store) SaveSchedule(ctx context.Context, entries []scheduler.Entry) error {
	now := time.Now().UnixMilli()
	for _, e := range entries {
		_, err := s.db.Bun().NewRaw(`INSERT INTO scheduler_jobs (name, spec, next_run_ms, updated_ms) VALUES (?, ?, ?, ?)
ON CONFLICT (name) DO UPDATE SET spec = excluded.spec, next_run_ms = excluded.next_run_ms, updated_ms = excluded.updated_ms`,
			e.Name, e.Spec, e.Next.UnixMilli(), now).Exec(ctx)
		if err != nil {
			return fmt.Errorf("schedulerdb: save schedule of %s: %w", e.Name, err)
		}
	}
	return nil
}

// prune deletes runs older than Retention, but never a job's latest, at most once an hour.
func (s *Store) prune(ctx context.Context) {
	s.mu.Lock()
	if time.Since(s.lastPruned) < time.Hour {
		s.mu.Unlock()
		return
	}
	s.lastPruned = time.Now()
	s.mu.Unlock()
	_, _ = s.db.Bun().NewRaw(`DELETE FROM scheduler_runs WHERE tick_ms < ?
AND tick_ms < (SELECT max(r2.tick_ms) FROM scheduler_runs r2 WHERE r2.job = scheduler_runs.job)`,
		time.Now().Add(-Retention).UnixMilli()).Exec(ctx)
}

var _ scheduler.Store = (*Store)(nil)
