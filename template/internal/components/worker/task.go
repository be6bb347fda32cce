package worker

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/riverqueue/river"
)

// TaskOpts tunes one task type. The zero value (or nil) uses the component's settings.
// Insert-time defaults (queue, priority, attempts, uniqueness) belong to the arguments type:
// give it an InsertOpts() river.InsertOpts method, as River documents.
type TaskOpts struct {
	// Timeout bounds one attempt; 0 means WORKER_JOB_TIMEOUT. A negative value means none, but
	// then a job whose worker died (kill -9, crash) is never rescued: avoid it.
	Timeout time.Duration
}

// task is one registered task type: it adds its River worker to a client's bundle.
type task struct {
	kind  string
	where string
	add   func(*river.Workers) error
}

// tasks is the list Register writes to; a type of its own so tests can use a fresh one.
type taskSet struct {
	mu    sync.Mutex
	tasks map[string]task
	errs  []error
}

var registered = &taskSet{}

// Register adds a task type: jobs whose arguments are an A are run by fn. Call it from init(),
// next to the arguments type:
//
//	type WelcomeArgs struct{ UserID int64 `json:"user_id"` }
//
//	func (WelcomeArgs) Kind() string { return "send_welcome" }
//
//	func init() { worker.Register(sendWelcome, nil) }
//
// fn runs once per attempt in a registry scope of its own: registry.FromContext(ctx) resolves
// any service, scoped ones included, and the scope is closed when the attempt ends. An error
// (or a panic) fails the attempt; it is retried with backoff until WORKER_MAX_ATTEMPTS and
// then discarded, kept with its errors for 'jobs list' and 'jobs retry'. Because a job can run
// more than once (a retry, a worker killed mid-job), fn must be idempotent.
//
// Register never panics: a second registration of a kind or a nil fn is recorded and returned
// by the worker component's constructor (so by start-up), naming where each happened.
func Register[A river.JobArgs](fn func(ctx context.Context, job *river.Job[A]) error, opts *TaskOpts) {
	_, file, line, _ := runtime.Caller(1)
	where := fmt.Sprintf("%s:%d", file, line)
	var zero A
	kind := zero.Kind()
	if fn == nil {
		registered.fail(fmt.Errorf("worker: register task %q at %s: fn is nil", kind, where))
		return
	}
	var o TaskOpts
	if opts != nil {
		o = *opts
	}
	registered.add(task{kind: kind, where: where, add: func(w *river.Workers) error {
		return river.AddWorkerSafely[A](w, &taskWorker[A]{fn: fn, timeout: o.Timeout})
	}})
}

func (s *taskSet) fail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.errs = append(s.errs, err)
}

func (s *taskSet) add(t task) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t.kind == "" {
		s.errs = append(s.errs, fmt.Errorf("worker: register task at %s: Kind() returns an empty string", t.where))
		return
	}
	if prev, dup := s.tasks[t.kind]; dup {
		s.errs = append(s.errs, fmt.Errorf("worker: register task %q at %s: already registered at %s", t.kind, t.where, prev.where))
		return
	}
	if s.tasks == nil {
		s.tasks = map[string]task{}
	}
	s.tasks[t.kind] = t
}

// workers returns a fresh River bundle holding every registered task, or the registration
// errors.
func (s *taskSet) workers() (*river.Workers, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := errors.Join(s.errs...); err != nil {
		return nil, err
	}
	w := river.NewWorkers()
	for _, t := range s.tasks {
		if err := t.add(w); err != nil {
			return nil, fmt.Errorf("worker: task %q (registered at %s): %w", t.kind, t.where, err)
		}
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
