// Package schedulerworker is the glue between the scheduler and the worker components (owned
// by the pair): each tick becomes a worker job (kind "scheduler_tick", queue "system"), so the
// work is durable, runs on the worker processes and is retried with backoff when it fails.
// The job runs the scheduled function through Scheduler.Execute, which records the real
// outcome in the run history.
package schedulerworker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/aegisgo/aegis/template/internal/components/scheduler"
	"github.com/aegisgo/aegis/template/internal/components/worker"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
)

// Name is the glue's name: its service's name.
const Name = "schedulerworker"

func init() {
	registry.Contribute(registry.Default, TickArgs{}.Kind(), worker.NewTask(runTick, &worker.TaskOpts{Cancelled: tickCancelled}))
	// The scheduler takes the Dispatcher as an optional dependency, so the container starts the
	// worker first and stops it only after the scheduler's ticks have stopped.
	_ = registry.Provide1(registry.Default, newDispatcher,
		registry.Component(Name),
		registry.Describe("scheduler ticks as worker jobs: durable and retried"),
	)
}

func newDispatcher(_ context.Context, w *worker.Client) (scheduler.Dispatcher, error) {
	return NewDispatcher(w), nil
}

// TickArgs is the job of one tick of one scheduled job.
type TickArgs struct {
	Job  string    `json:"job"`
	Tick time.Time `json:"tick"`
}

// Kind is the job's kind.
func (TickArgs) Kind() string { return "scheduler_tick" }

// Validate refuses, for `jobs enqueue scheduler_tick`, a tick naming no job or time, or a job
// this binary does not have (`schedule run JOB` is the way to run one now). An unknown job
// would be stored and then fail every attempt, WORKER_MAX_ATTEMPTS times over days.
func (a TickArgs) Validate() error {
	if a.Job == "" || a.Tick.IsZero() {
		return errors.New(`job and tick are required, such as {"job":"cleanup","tick":"2026-01-02T03:04:05Z"}; to run a scheduled job now use: schedule run JOB`)
	}
	for _, j := range registry.Contributions[*scheduler.Job](registry.Default) {
		if j.Name == a.Job {
			return nil
		}
	}
	return fmt.Errorf("job: no scheduled job %q; 'schedule list' shows them", a.Job)
}

// InsertOpts puts ticks on the system queue, once per job and tick.
func (TickArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: worker.QueueSystem, UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

// runTick runs the scheduled job in the worker, in the job's scope.
func runTick(ctx context.Context, job *river.Job[TickArgs]) error {
	res, ok := registry.FromContext(ctx)
	if !ok {
		return errors.New("schedulerworker: no registry scope in the job's context")
	}
	s, err := registry.Get[*scheduler.Scheduler](res)
	if err != nil {
		return fmt.Errorf("schedulerworker: %w", err)
	}
	return s.Execute(ctx, job.Args.Job, job.Args.Tick)
}

// tickCancelled records in the run history that a tick's job was cancelled before it ran:
// nothing else would, and it would say "enqueued" for ever.
func tickCancelled(ctx context.Context, job *rivertype.JobRow) error {
	var args TickArgs
	if err := json.Unmarshal(job.EncodedArgs, &args); err != nil {
		return fmt.Errorf("schedulerworker: job %d's arguments are not a tick", job.ID)
	}
	res, ok := registry.FromContext(ctx)
	if !ok {
		return errors.New("schedulerworker: no registry scope to record the cancelled tick in")
	}
	s, err := registry.Get[*scheduler.Scheduler](res)
	if err != nil {
		return fmt.Errorf("schedulerworker: %w", err)
	}
	return s.Cancelled(ctx, args.Job, args.Tick)
}

// Dispatcher enqueues each tick as a TickArgs job.
type Dispatcher struct{ w worker.Enqueuer }

// NewDispatcher returns a dispatcher enqueuing with w.
func NewDispatcher(w worker.Enqueuer) *Dispatcher { return &Dispatcher{w: w} }

// Dispatch enqueues the tick; a tick already enqueued is not enqueued again (queued false).
func (d *Dispatcher) Dispatch(ctx context.Context, job string, tick time.Time) (queued bool, err error) {
	res, err := d.w.Enqueue(ctx, TickArgs{Job: job, Tick: tick.UTC()}, nil)
	if err != nil {
		return false, fmt.Errorf("schedulerworker: %w", err)
	}
	return !res.UniqueSkippedAsDuplicate, nil
}

var _ scheduler.Dispatcher = (*Dispatcher)(nil)
