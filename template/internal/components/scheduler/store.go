package scheduler

import (
	"context"
	"sync"
	"time"
)

// Outcome is how a run ended.
type Outcome string

// Outcomes of a run.
const (
	OutcomeRunning   Outcome = "running"   // claimed, not finished (or its instance died)
	OutcomeOK        Outcome = "ok"        // fn returned nil
	OutcomeFailed    Outcome = "failed"    // fn returned an error, panicked or timed out
	OutcomeEnqueued  Outcome = "enqueued"  // handed to the worker as a job, which records the rest
	OutcomeCancelled Outcome = "cancelled" // its worker job was cancelled before an attempt finished it
)

// Run is one run of a job: the tick it belongs to and how it went.
type Run struct {
	Job      string
	Tick     time.Time // the scheduled time, which names the run
	Instance string    // the scheduler instance that claimed it
	Started  time.Time
	Duration time.Duration
	Outcome  Outcome
	Error    string
}

// Entry is one job of the schedule as a store keeps it.
type Entry struct {
	Name string
	Spec string
	Next time.Time
}

// Store keeps the schedule and its run history. Implementations must be safe for concurrent
// use; the schedulerdb glue keeps them in the database so that several scheduler instances
// run each tick once and a restarted one knows what it missed.
type Store interface {
	// Claim records r (Outcome running) if no run of r.Job for r.Tick exists yet and reports
	// whether it did: exactly one of the instances claiming the same tick gets true.
	Claim(ctx context.Context, r Run) (bool, error)
	// Finish records the outcome, duration and error of a claimed run (matched by Job and Tick).
	// An OutcomeEnqueued run replaces only its own claim (Outcome running, same Started): a
	// worker may already have begun the job (running, with its own Started) or finished it.
	Finish(ctx context.Context, r Run) error
	// Last returns the latest run of each job that ran.
	Last(ctx context.Context) (map[string]Run, error)
	// SaveSchedule records the jobs' specs and next runs.
	SaveSchedule(ctx context.Context, entries []Entry) error
}

// Dispatcher hands a claimed tick over to be run elsewhere; the schedulerworker glue enqueues
// a durable, retried job that calls Scheduler.Execute.
type Dispatcher interface {
	// Dispatch arranges for job to run for tick and returns once that is durable. queued is
	// false when the tick was in the queue already (Dispatch is idempotent per tick): a worker
	// may be running it, and records its progress itself.
	Dispatch(ctx context.Context, job string, tick time.Time) (queued bool, err error)
}

// memoryStore is the store without a database: this process's history only.
type memoryStore struct {
	mu   sync.Mutex
	runs map[string]Run // job -> latest run
	seen map[string]time.Time
}

func newMemoryStore() *memoryStore {
	return &memoryStore{runs: map[string]Run{}, seen: map[string]time.Time{}}
}

func (m *memoryStore) Claim(_ context.Context, r Run) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if last, ok := m.seen[r.Job]; ok && !r.Tick.After(last) {
		return false, nil
	}
	m.seen[r.Job] = r.Tick
	m.runs[r.Job] = r
	return true, nil
}

func (m *memoryStore) Finish(_ context.Context, r Run) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	cur, ok := m.runs[r.Job]
	switch {
	case ok && cur.Tick.After(r.Tick):
	case ok && r.Outcome == OutcomeEnqueued && cur.Tick.Equal(r.Tick) &&
		(cur.Outcome != OutcomeRunning || !cur.Started.Equal(r.Started)):
		// The worker began or finished the job before the dispatcher said it enqueued it.
	default:
		m.runs[r.Job] = r
	}
	return nil
}

func (m *memoryStore) Last(context.Context) (map[string]Run, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string]Run, len(m.runs))
	for k, v := range m.runs {
		out[k] = v
	}
	return out, nil
}

func (m *memoryStore) SaveSchedule(context.Context, []Entry) error { return nil }

var _ Store = (*memoryStore)(nil)
