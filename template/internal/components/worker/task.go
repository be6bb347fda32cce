package worker

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"github.com/aegisgo/aegis/template/internal/runtime/registry"
)

// TaskOpts tunes one task type. The zero value (or nil) uses the component's settings.
// Insert-time defaults (queue, priority, attempts, uniqueness) belong to the arguments type:
// give it an InsertOpts() river.InsertOpts method, as River documents.
type TaskOpts struct {
	// Timeout bounds one attempt; 0 means WORKER_JOB_TIMEOUT. A negative value means none, but
	// then a job whose worker died (kill -9, crash) is never rescued: avoid it.
	Timeout time.Duration
}

// Task is one task type: jobs whose arguments are an A are run by a function. It is a
// contribution kind named by the arguments' Kind(); contribute one from init(), next to the
// arguments type:
//
//	type WelcomeArgs struct{ UserID int64 `json:"user_id"` }
//
//	func (WelcomeArgs) Kind() string { return "send_welcome" }
//
//	func init() {
//		registry.Contribute(registry.Default, WelcomeArgs{}.Kind(), worker.NewTask(sendWelcome, nil))
//	}
//
// fn runs once per attempt in a registry scope of its own: registry.FromContext(ctx) resolves
// any service, scoped ones included, and the scope is closed when the attempt ends. An error
// (or a panic) fails the attempt; it is retried with backoff until WORKER_MAX_ATTEMPTS and
// then discarded, kept with its errors for 'jobs list' and 'jobs retry'. Because a job can run
// more than once (a retry, a worker killed mid-job), fn must be idempotent.
//
// A second task of one kind, a name that is not the kind or a nil fn fails the container's
// Build, naming where each was registered.
type Task struct {
	kind  string
	nilFn bool
	add   func(*river.Workers) error
}

// NewTask returns the task that runs fn for jobs of arguments type A; opts may be nil.
func NewTask[A river.JobArgs](fn func(ctx context.Context, job *river.Job[A]) error, opts *TaskOpts) Task {
	var zero A
	var o TaskOpts
	if opts != nil {
		o = *opts
	}
	return Task{kind: zero.Kind(), nilFn: fn == nil, add: func(w *river.Workers) error {
		return river.AddWorkerSafely[A](w, &taskWorker[A]{fn: fn, timeout: o.Timeout})
	}}
}

// Kind is the kind of the task's arguments.
func (t Task) Kind() string { return t.kind }

// ValidateContribution checks that the task is named by its kind and has a function.
func (t Task) ValidateContribution(name string) error {
	switch {
	case t.add == nil:
		return errors.New("worker: a Task must be made with NewTask")
	case t.kind == "":
		return errors.New("worker: the task's Kind() returns an empty string")
	case name != t.kind:
		return fmt.Errorf("worker: task of kind %q contributed as %q; contribute it under its kind", t.kind, name)
	case t.nilFn:
		return fmt.Errorf("worker: task %q: fn is nil", t.kind)
	}
	return nil
}

// defaultTasks are those contributed to registry.Default: every task linked into the binary.
func defaultTasks() registry.All[Task] { return registry.Contributions[Task](registry.Default) }

// riverWorkers returns a fresh River bundle holding tasks, or what is wrong with them.
func riverWorkers(tasks registry.All[Task]) (*river.Workers, error) {
	w := river.NewWorkers()
	seen := map[string]string{}
	var errs []error
	for _, t := range tasks {
		if err := t.Value.ValidateContribution(t.Name); err != nil {
			errs = append(errs, fmt.Errorf("worker: register task at %s: %w", t.Registered, err))
			continue
		}
		if prev, dup := seen[t.Name]; dup {
			errs = append(errs, fmt.Errorf("worker: register task %q at %s: already registered at %s", t.Name, t.Registered, prev))
			continue
		}
		seen[t.Name] = t.Registered
		if err := t.Value.add(w); err != nil {
			errs = append(errs, fmt.Errorf("worker: task %q (registered at %s): %w", t.Name, t.Registered, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return w, nil
}

// taskWorker adapts a function to river.Worker, with the task's timeout.
type taskWorker[A river.JobArgs] struct {
	river.WorkerDefaults[A]
	fn      func(ctx context.Context, job *river.Job[A]) error
	timeout time.Duration
}

func (w *taskWorker[A]) Work(ctx context.Context, job *river.Job[A]) error { return w.fn(ctx, job) }

// Timeout returns the task's own timeout; 0 makes River use the client's (WORKER_JOB_TIMEOUT).
func (w *taskWorker[A]) Timeout(*river.Job[A]) time.Duration { return w.timeout }
