package worker

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/aegisgo/aegis/template/internal/runtime/jsonkind"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
)

// TaskOpts tunes one task type. The zero value (or nil) uses the component's settings.
// Insert-time defaults (queue, priority, attempts, uniqueness) belong to the arguments type:
// give it an InsertOpts() river.InsertOpts method, as River documents.
type TaskOpts struct {
	// Timeout bounds one attempt; 0 means WORKER_JOB_TIMEOUT. A negative value means none, but
	// then a job whose worker died (kill -9, crash) is never rescued: avoid it.
	Timeout time.Duration
	// Cancelled, if set, runs when Client.Cancel (the jobs command, the panel) cancels a job of
	// this task that no attempt is running: River ends it at once and nothing of the task runs
	// again, so a task that records its jobs' progress elsewhere (the scheduler's run history)
	// learns of it here. It runs in a registry scope, like an attempt; its error is logged, and
	// the job stays cancelled.
	Cancelled func(ctx context.Context, job *rivertype.JobRow) error
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
//
// A task also knows how to make its arguments from JSON (DecodeArgs), which is how
// '<app> jobs enqueue KIND --args JSON' enqueues a job of any task without Go code.
type Task struct {
	kind   string
	nilFn  bool
	add    func(*river.Workers) error
	decode func(data []byte) (river.JobArgs, error)
	sample func() string
	// cancelled is TaskOpts.Cancelled.
	cancelled func(ctx context.Context, job *rivertype.JobRow) error
}

// NewTask returns the task that runs fn for jobs of arguments type A; opts may be nil.
func NewTask[A river.JobArgs](fn func(ctx context.Context, job *river.Job[A]) error, opts *TaskOpts) Task {
	var zero A
	var o TaskOpts
	if opts != nil {
		o = *opts
	}
	return Task{
		kind:  zero.Kind(),
		nilFn: fn == nil,
		add: func(w *river.Workers) error {
			return river.AddWorkerSafely[A](w, &taskWorker[A]{fn: fn, timeout: o.Timeout})
		},
		decode:    decodeArgs[A],
		sample:    sampleArgs[A],
		cancelled: o.Cancelled,
	}
}

// Kind is the kind of the task's arguments.
func (t Task) Kind() string { return t.kind }

// ArgsValidator is implemented by arguments types that check their own values. DecodeArgs
// calls Validate (with a value or pointer receiver) after decoding, so arguments typed on a
// command line meet the rules the task relies on; Client.Enqueue does not call it, since Go
// code builds its arguments itself.
type ArgsValidator interface {
	Validate() error
}

// DecodeArgs decodes data, one JSON object, into the task's arguments type and returns it
// ready for Client.Enqueue. Decoding is strict: an unknown field, a value of the wrong type
// or anything after the object is an error, as is what the type's Validate method (see
// ArgsValidator) reports. Every error is one line that names the problem, meant for the
// person who typed the JSON.
func (t Task) DecodeArgs(data []byte) (river.JobArgs, error) {
	if t.decode == nil {
		return nil, errors.New("worker: a Task must be made with NewTask")
	}
	return t.decode(data)
}

// ArgsSample is the JSON of the task's zero arguments, such as {"email":""}: what the
// arguments look like, for help text and error messages.
func (t Task) ArgsSample() string {
	if t.sample == nil {
		return "{}"
	}
	return t.sample()
}

// ValidateContribution checks that the task is named by its kind and has a function.
func (t Task) ValidateContribution(name string) error {
	switch {
	case t.add == nil || t.decode == nil:
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

// Middleware rewords the failure to decode a job's stored arguments (written by another
// build, or edited in the database): River returns encoding/json's error, with Go type names,
// and it becomes the attempt's error that 'jobs list', the panel and the API show.
func (w *taskWorker[A]) Middleware(*rivertype.JobRow) []rivertype.WorkerMiddleware {
	return []rivertype.WorkerMiddleware{river.WorkerMiddlewareFunc(argsProblem[A])}
}

// argsProblem runs the attempt and, if it failed, checks whether the arguments decode: the
// check costs nothing on success, and an error of fn's own is kept as it is, since fn only
// runs once the arguments decoded.
func argsProblem[A river.JobArgs](ctx context.Context, job *rivertype.JobRow, doInner func(context.Context) error) error {
	err := doInner(ctx)
	if err == nil {
		return nil
	}
	var args A
	if derr := json.Unmarshal(job.EncodedArgs, &args); derr != nil {
		kind := args.Kind()
		hint := func() string { return fmt.Sprintf("%s takes arguments like %s", kind, sampleArgs[A]()) }
		return fmt.Errorf("worker: stored arguments do not match job kind %q: %w", kind, jsonProblem(derr, hint))
	}
	return err
}

// Timeout returns the task's own timeout; 0 makes River use the client's (WORKER_JOB_TIMEOUT).
func (w *taskWorker[A]) Timeout(*river.Job[A]) time.Duration { return w.timeout }

// decodeArgs is DecodeArgs for arguments type A: generic, so the task's own type is decoded
// with no lookup by name when a command runs.
func decodeArgs[A river.JobArgs](data []byte) (river.JobArgs, error) {
	var args A
	kind := args.Kind()
	hint := func() string { return fmt.Sprintf("%s takes arguments like %s", kind, sampleArgs[A]()) }
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return nil, fmt.Errorf("not a JSON object; %s", hint())
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&args); err != nil {
		return nil, jsonProblem(err, hint)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("more after the JSON object; pass exactly one object")
	}
	if v, ok := any(&args).(ArgsValidator); ok {
		if err := v.Validate(); err != nil {
			return nil, fmt.Errorf("invalid %s arguments: %w", kind, err)
		}
	}
	return args, nil
}

// sampleArgs is the JSON of A's zero value.
func sampleArgs[A river.JobArgs]() string {
	var zero A
	b, err := json.Marshal(zero)
	if err != nil {
		return "{}"
	}
	return string(b)
}

// jsonProblem rewords encoding/json's errors for someone typing JSON on a command line:
// which field, what was wrong, what the arguments look like; no Go type names.
func jsonProblem(err error, hint func() string) error {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var parse *time.ParseError
	switch {
	case errors.As(err, &syntax):
		return fmt.Errorf("not valid JSON: %s (at byte %d)", syntax.Error(), syntax.Offset)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return errors.New("not valid JSON: it ends too early")
	case errors.As(err, &typ) && typ.Field != "":
		return fmt.Errorf("field %q: got a JSON %s, want %s; %s", typ.Field, typ.Value, jsonkind.Want(typ.Type), hint())
	case errors.As(err, &typ):
		return fmt.Errorf("got a JSON %s, want %s; %s", typ.Value, jsonkind.Want(typ.Type), hint())
	case errors.As(err, &parse):
		// time.Time's own decoding: its error spells Go's layout ("2006-01-02T15:04:05Z07:00").
		return fmt.Errorf("%q is not a time in RFC 3339 form, such as \"2026-01-02T15:04:05Z\"; %s", parse.Value, hint())
	case strings.HasPrefix(err.Error(), "Time.UnmarshalJSON:"):
		return fmt.Errorf("a time must be a JSON string in RFC 3339 form, such as \"2026-01-02T15:04:05Z\"; %s", hint())
	}
	msg := strings.TrimPrefix(err.Error(), "json: ")
	if strings.HasPrefix(msg, "unknown field ") {
		return fmt.Errorf("%s; %s", msg, hint())
	}
	return errors.New(msg)
}
