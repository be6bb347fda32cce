// Package worker is the background-job component: durable jobs in the app's database, run by
// River (github.com/riverqueue/river) on PostgreSQL or SQLite, with retries and backoff,
// timeouts, unique, scheduled and prioritised jobs, and the queues "default" and "system".
//
// A task is an arguments type, its kind and a handler, contributed from init():
//
//	type WelcomeArgs struct {
//		UserID int64 `json:"user_id"`
//	}
//
//	func (WelcomeArgs) Kind() string { return "send_welcome" }
//
//	func init() {
//		registry.Contribute(registry.Default, WelcomeArgs{}.Kind(), worker.NewTask(sendWelcome, nil))
//	}
//
//	func sendWelcome(ctx context.Context, job *river.Job[WelcomeArgs]) error {
//		res, _ := registry.FromContext(ctx) // this job's scope
//		mail, err := registry.Get[*services.Mailer](res)
//		...
//	}
//
// Services enqueue with the *Client (or the Enqueuer interface) they take as a dependency:
// Enqueue on its own, or InTx/EnqueueTx to enqueue in the same transaction as the data the
// job is about. Jobs run in 'serve' when WORKER_IN_PROCESS=true and in the '<app> worker'
// process; '<app> jobs' enqueues them from the command line (arguments as JSON, decoded by
// Task.DecodeArgs), lists, retries and cancels them.
package worker

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivertype"

	"github.com/aegisgo/aegis/template/internal/command"
	"github.com/aegisgo/aegis/template/internal/components/database"
	"github.com/aegisgo/aegis/template/internal/config"
	"github.com/aegisgo/aegis/template/internal/runtime/logbuf"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
)

// Name is the worker's name as a component, in the registry, in config and as a catalog owner.
const Name = "worker"

// stopTimeout bounds the component's Stop in the registry; WORKER_SHUTDOWN_TIMEOUT must fit.
const stopTimeout = 2 * time.Minute

func init() {
	// The registry keeps registration errors and returns them from Build.
	_ = AddTo(registry.Default)
}

// AddTo adds the worker component (*Client, named "worker") and its Enqueuer interface to r.
// init() does it for registry.Default; tests call it on a fresh registry.
func AddTo(r *registry.Registry) error {
	registry.Contribute(r, "worker", command.Builder(workerCmd))
	registry.Contribute(r, "jobs", command.Builder(jobsCmd))
	registry.Contribute(r, Name, database.Migrations{FS: riverMigrationsFS})
	return errors.Join(
		config.Provide[Settings](r, Name),
		registry.Provide5(r, newComponent,
			registry.Component(Name),
			registry.Describe("background jobs: River queues in the database, retries, scheduled and unique jobs"),
			registry.StopTimeout(stopTimeout),
		),
		registry.Bind[Enqueuer, *Client](r),
	)
}

// Role is the role of the worker command.
const Role command.Role = Name

func newComponent(_ context.Context, db *database.DB, s Settings, role command.Role, c *registry.Container, tasks registry.All[Task]) (*Client, error) {
	// The worker command works jobs; serve does too with WORKER_IN_PROCESS=true; every other
	// command (jobs, migrate...) only enqueues and inspects.
	work := role == Role || (role == command.RoleServe && s.InProcess)
	// serve works jobs it mostly enqueues itself: on SQLite it does without River's notification
	// listener (see ClientOpts.PollOnly). The worker command keeps it: its jobs come from other
	// processes, which the listener makes it see within 50 ms instead of WORKER_POLL_INTERVAL.
	pollOnly := role == command.RoleServe
	return NewClient(db, s, &ClientOpts{Work: work, PollOnly: pollOnly, Container: c, Tasks: tasks, Logger: slog.Default()})
}

// Enqueuer is what services that only enqueue depend on, so tests can swap in a fake. Methods
// are safe for concurrent use.
type Enqueuer interface {
	// Enqueue stores a job; it runs as soon as a worker is free (or at opts.ScheduledAt).
	// opts may be nil: the arguments type's InsertOpts, then the defaults, apply.
	Enqueue(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
	// EnqueueTx stores a job in tx (from Client.InTx): it exists only if tx commits.
	EnqueueTx(ctx context.Context, tx *Tx, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
}

// ClientOpts configures NewClient; nil means an enqueue-only client without scopes.
type ClientOpts struct {
	// Work runs the queues of Settings.Queues after Start; false makes an enqueue-only client.
	Work bool
	// PollOnly, on SQLite, runs River without its notification listener, which queries
	// river_notification every 50 ms: the largest idle cost of a working client. Jobs this
	// client enqueues with Enqueue or EnqueueMany still wake its queues at once, as do its
	// cancels; jobs enqueued in a transaction (EnqueueTx) or by other processes (the 'jobs'
	// command, a separate serve) wait for the next poll, WORKER_POLL_INTERVAL; cancels from
	// other processes take about 2 s. No effect on PostgreSQL, where LISTEN costs nothing idle.
	PollOnly bool
	// Container opens a registry scope for each job (put in the job's context); nil gives
	// handlers no resolver.
	Container *registry.Container
	// Logger receives River's warnings and errors; nil means slog.Default().
	Logger *slog.Logger
	// Tasks are the task types the client can work; nil means those contributed to
	// registry.Default (every task linked into the binary).
	Tasks registry.All[Task]
}

// Client is the worker component: River's client on the app's database. It is safe for
// concurrent use. Start begins working jobs when the client was made to work; Stop lets
// running jobs finish within WORKER_SHUTDOWN_TIMEOUT and then cancels them.
type Client struct {
	db        *database.DB
	settings  Settings
	queues    map[string]int
	work      bool
	container *registry.Container
	logger    *slog.Logger
	outage    *outage // River's connection errors, one line per outage
	eng       engine

	mu       sync.Mutex
	started  bool
	stopping bool

	counted countCache // the last Count, for RecentCount

	cancelled map[string]func(context.Context, *rivertype.JobRow) error // kind -> TaskOpts.Cancelled
}

// NewClient makes a client on db with settings s (defaults filled in).
func NewClient(db *database.DB, s Settings, opts *ClientOpts) (*Client, error) {
	if opts == nil {
		opts = &ClientOpts{}
	}
	s = s.WithDefaults()
	if err := s.Validate(); err != nil {
		return nil, err
	}
	if s.ShutdownTimeout > stopTimeout-10*time.Second {
		return nil, config.Invalid("WORKER_SHUTDOWN_TIMEOUT", s.ShutdownTimeout.String(), "must be at most "+(stopTimeout-10*time.Second).String(), "use a duration such as 30s")
	}
	queues, _ := ParseQueues(s.Queues)
	tasks := opts.Tasks
	if tasks == nil {
		tasks = defaultTasks()
	}
	workers, err := riverWorkers(tasks)
	if err != nil {
		return nil, err
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.Default()
	}
	c := &Client{db: db, settings: s, queues: queues, work: opts.Work, container: opts.Container, logger: logger,
		outage:    newOutage(logger, db.Ping, outagePing),
		cancelled: map[string]func(context.Context, *rivertype.JobRow) error{}}
	for _, t := range tasks {
		if t.Value.cancelled != nil {
			c.cancelled[t.Name] = t.Value.cancelled
		}
	}
	cfg := &river.Config{
		Logger:                      slog.New(outageHandler{next: logbuf.MinLevel(logger.Handler(), slog.LevelWarn), o: c.outage}),
		Workers:                     workers,
		MaxAttempts:                 s.MaxAttempts,
		JobTimeout:                  s.JobTimeout,
		FetchPollInterval:           s.PollInterval,
		FetchCooldown:               s.FetchCooldown,
		RescueStuckJobsAfter:        s.RescueAfter,
		CompletedJobRetentionPeriod: s.CompletedRetention,
		CancelledJobRetentionPeriod: s.DiscardedRetention,
		DiscardedJobRetentionPeriod: s.DiscardedRetention,
		// The spans first, so a job's scope and work run inside its span; the log outside the
		// scope, so it reports a scope that failed to close or a start the job waited for.
		Middleware: []rivertype.Middleware{river.JobInsertMiddlewareFunc(traceInsert),
			river.WorkerMiddlewareFunc(traceWork), river.WorkerMiddlewareFunc(c.logAttempt),
			river.WorkerMiddlewareFunc(c.scopeJob)},
	}
	if opts.Work {
		cfg.Queues = queueConfigs(queues, s, opts.PollOnly && db.Engine() != database.Postgres)
	}
	switch db.Engine() {
	case database.Postgres:
		rc, err := river.NewClient(riverpgxv5.New(db.Pool()), cfg)
		if err != nil {
			return nil, fmt.Errorf("worker: %w", err)
		}
		c.eng = &riverEngine[pgx.Tx]{c: rc, tx: pgxTxOf}
	default:
		d := riversqlite.New(db.SQL())
		var driver riverdriver.Driver[*sql.Tx] = d
		if opts.PollOnly {
			driver = sqliteWithoutListener{d}
		}
		rc, err := river.NewClient(driver, cfg)
		if err != nil {
			return nil, fmt.Errorf("worker: %w", err)
		}
		c.eng = &riverEngine[*sql.Tx]{c: rc, tx: sqlTxOf}
	}
	return c, nil
}

// SystemPollInterval is the least time between two polls of the system queue by a poll-only
// client (serve on SQLite). Its jobs are the scheduler's ticks, enqueued by serve itself outside
// a transaction, which wake the queue at once; only ticks from a scheduler in another process
// wait for a poll. Polling it like the default queue was a third of what an idle app costs.
const SystemPollInterval = 5 * time.Second

// queueConfigs is River's per-queue configuration: each queue's concurrency, and for a
// poll-only client the system queue's longer poll (SystemPollInterval).
func queueConfigs(queues map[string]int, s Settings, pollOnly bool) map[string]river.QueueConfig {
	out := make(map[string]river.QueueConfig, len(queues))
	for name, n := range queues {
		qc := river.QueueConfig{MaxWorkers: n}
		if pollOnly && name == QueueSystem && s.PollInterval < SystemPollInterval {
			qc.FetchPollInterval = SystemPollInterval
		}
		out[name] = qc
	}
	return out
}

// sqliteWithoutListener is riversqlite's driver saying it has no listener. River's PollOnly
// alone drops the listener but not the driver's claim to one, and River wakes its own queues
// after an insert only for drivers without a listener (Client.notifyProducerWithoutListener*,
// river v0.49.0): with PollOnly alone, a job enqueued by this very process would wait for the
// next poll. Without the claim, River starts in poll-only mode by itself and wakes the
// producer of the job's queue after each insert outside a transaction, and after a cancel.
// The driver still writes insert notifications (SupportsListenNotify), so a worker process
// that does listen on the same database still sees this process's jobs at once.
type sqliteWithoutListener struct{ *riversqlite.Driver }

func (sqliteWithoutListener) SupportsListener() bool { return false }

// logAttempt logs each job attempt that returns an error, one line without the job's
// arguments (they may hold personal data): a failure to be retried at WARN, the last failed
// attempt, after which River discards the job, at ERROR. River says this only below WARN,
// among its routine messages, which are dropped. A panic does not pass through here: River
// recovers it around the middleware and logs it at ERROR itself.
func (c *Client) logAttempt(ctx context.Context, job *rivertype.JobRow, doInner func(context.Context) error) error {
	if n := len(job.Errors); n > 0 && job.Errors[n-1].Error == rescuedError {
		// River's rescuer logs nothing: without this line a job re-run after its worker was
		// killed (or cut off from the database) mid-job looks like a first run in the logs.
		c.logger.WarnContext(ctx, "worker: running a job rescued from a lost worker (killed or cut off mid-job); its last attempt may have done part of its work",
			"kind", job.Kind, "id", job.ID, "attempt", job.Attempt, "rescued_at", job.Errors[n-1].At.UTC().Format(time.RFC3339))
	}
	err := doInner(ctx)
	if err == nil {
		return nil
	}
	var (
		snooze *river.JobSnoozeError
		cancel *river.JobCancelError
	)
	cancelled := errors.As(err, &cancel)
	if cancelled {
		err = cancelledError{err}
	}
	attrs := []any{"kind", job.Kind, "id", job.ID, "attempt", job.Attempt, "max_attempts", job.MaxAttempts,
		"error", oneLine(err.Error())}
	switch {
	case errors.As(err, &snooze):
		// Not a failure: the task asked to run later.
	case cancelled:
		c.logger.WarnContext(ctx, "worker: job cancelled by its task; it will not run again", attrs...)
	case ctx.Err() != nil && errors.Is(err, context.Canceled):
		// Stop or a cancel from the jobs command or the panel; River decides whether it runs
		// again (a job interrupted by shutdown does, without losing an attempt).
		attrs = append(attrs, "cause", oneLine(context.Cause(ctx).Error()))
		c.logger.WarnContext(ctx, "worker: job attempt interrupted", attrs...)
	case job.Attempt >= job.MaxAttempts:
		c.logger.ErrorContext(ctx, "worker: job failed its last attempt and is discarded; 'jobs retry' runs it again", attrs...)
	default:
		c.logger.WarnContext(ctx, "worker: job attempt failed; it will be retried", attrs...)
	}
	return err
}

// rescuedError is the error River's rescuer records on a job it takes back from a lost worker.
const rescuedError = "Stuck job rescued by JobRescuer"

// cancelledError is a task's river.JobCancel error without the "JobCancelError: " that River's
// type puts before the cause: River stores the text as the attempt's error, which 'jobs
// list', 'jobs show', the panel and the API show, and a Go type name tells their reader
// nothing. River still finds the JobCancelError through Unwrap and cancels the job.
type cancelledError struct{ err error }

func (e cancelledError) Error() string {
	return strings.Replace(e.err.Error(), "JobCancelError: ", "", 1)
}

func (e cancelledError) Unwrap() error { return e.err }

// scopeJob runs each job attempt in a registry scope of its own, closed when it ends. The
// attempt first waits until the container has started every singleton: River fetches as soon
// as this client's Start returns, while services the handlers resolve lazily (and which need
// not be this client's dependencies) may still be starting.
func (c *Client) scopeJob(ctx context.Context, job *rivertype.JobRow, doInner func(context.Context) error) error {
	if c.container == nil {
		return doInner(ctx)
	}
	if err := c.container.WaitStarted(ctx); err != nil {
		return fmt.Errorf("worker: job %d (%s) not run: %w", job.ID, job.Kind, err)
	}
	scope := c.container.NewScope(ctx)
	err := doInner(registry.WithResolver(ctx, scope))
	if cerr := scope.Close(context.WithoutCancel(ctx)); cerr != nil {
		err = errors.Join(err, fmt.Errorf("worker: close scope of job %d (%s): %w", job.ID, job.Kind, cerr))
	}
	return err
}

// Working reports whether this client works jobs (else it only enqueues).
func (c *Client) Working() bool { return c.work }

// Queues returns the queues this client works and their concurrency (nil when not working).
func (c *Client) Queues() map[string]int {
	if !c.work {
		return nil
	}
	return maps.Clone(c.queues)
}

// Start begins working the queues when the client works jobs; otherwise it does nothing. It
// returns without waiting for jobs.
func (c *Client) Start(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.work || c.started {
		return nil
	}
	// River's work runs until Stop, with a context of its own: ctx ends when Start returns.
	if err := c.eng.start(context.WithoutCancel(ctx)); err != nil {
		return fmt.Errorf("worker: start: %w", err)
	}
	c.started = true
	return nil
}

// Stop stops fetching jobs and waits for running ones, at most WORKER_SHUTDOWN_TIMEOUT (or
// until ctx ends); then it cancels their contexts and waits a little more. A cancelled job
// is retried later. Stop is idempotent and does nothing before Start.
func (c *Client) Stop(ctx context.Context) error { return c.Drain(ctx) }

// Drain is Stop, called by the container before it stops any service: the jobs still running
// resolve the services they use (comms, ai...) from the container, and those must still run.
// Enqueueing keeps working after it (a service stopping may still enqueue).
func (c *Client) Drain(ctx context.Context) error {
	c.mu.Lock()
	if !c.started || c.stopping {
		c.mu.Unlock()
		return nil
	}
	c.stopping = true
	c.mu.Unlock()
	defer c.outage.stop()

	soft, cancel := context.WithTimeout(ctx, c.settings.ShutdownTimeout)
	err := c.eng.stop(soft)
	cancel()
	if err == nil {
		return nil
	}
	if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("worker: stop: %w", err)
	}
	hard, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := c.eng.stopAndCancel(hard); err != nil {
		return fmt.Errorf("worker: stop: running jobs did not finish within %s nor after being cancelled: %w", c.settings.ShutdownTimeout, err)
	}
	return nil
}

// Enqueue stores a job for args. opts may be nil: the arguments type's InsertOpts (if it has
// that method), then the defaults (queue "default", priority 1, WORKER_MAX_ATTEMPTS) apply.
// With opts.UniqueOpts a duplicate is not inserted: the result's UniqueSkippedAsDuplicate
// is true and its Job is the existing one.
func (c *Client) Enqueue(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error) {
	res, err := c.eng.insert(ctx, args, opts)
	if err != nil {
		return nil, fmt.Errorf("worker: enqueue %s: %w", args.Kind(), err)
	}
	return res, nil
}

// EnqueueTx stores a job inside tx (from InTx): it becomes visible to workers only when tx
// commits, and disappears with it on rollback.
func (c *Client) EnqueueTx(ctx context.Context, tx *Tx, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error) {
	res, err := c.eng.insertTx(ctx, tx, args, opts)
	if err != nil {
		return nil, fmt.Errorf("worker: enqueue %s in transaction: %w", args.Kind(), err)
	}
	return res, nil
}

// EnqueueMany stores many jobs in one statement, for bulk work; it returns how many it
// stored (unique options are honoured, so it may be fewer).
func (c *Client) EnqueueMany(ctx context.Context, params []river.InsertManyParams) (int, error) {
	n, err := c.eng.insertMany(ctx, params)
	if err != nil {
		return n, fmt.Errorf("worker: enqueue %d jobs: %w", len(params), err)
	}
	return n, nil
}

// Job returns one job by ID. A missing job's error wraps river.ErrNotFound.
func (c *Client) Job(ctx context.Context, id int64) (*rivertype.JobRow, error) {
	j, err := c.eng.jobGet(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("worker: get job %d: %w", id, err)
	}
	return j, nil
}

// Jobs lists jobs (see river.NewJobListParams: filter by state, queue, kind; page with After).
func (c *Client) Jobs(ctx context.Context, params *river.JobListParams) (*river.JobListResult, error) {
	res, err := c.eng.jobList(ctx, params)
	if err != nil {
		return nil, fmt.Errorf("worker: list jobs: %w", err)
	}
	return res, nil
}

// Retry makes a job run again as soon as possible, whatever state it is in (a discarded or
// cancelled one included); a running job is left alone.
func (c *Client) Retry(ctx context.Context, id int64) (*rivertype.JobRow, error) {
	j, err := c.eng.jobRetry(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("worker: retry job %d: %w", id, err)
	}
	return j, nil
}

// Cancel cancels a job: one waiting never runs; a running one has its context cancelled
// (in this process at once, in another within a second or so; within about 2 s in a SQLite
// serve, which polls for cancels: see ClientOpts.PollOnly) and is not retried.
func (c *Client) Cancel(ctx context.Context, id int64) (*rivertype.JobRow, error) {
	j, err := c.eng.jobCancel(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("worker: cancel job %d: %w", id, err)
	}
	// A running job is only asked to stop: its attempt returns, and records what it did.
	if j.State == rivertype.JobStateCancelled {
		c.runCancelled(ctx, j)
	}
	return j, nil
}

// runCancelled runs the TaskOpts.Cancelled of j's task, if any, in a registry scope of its
// own. Its failure does not undo the cancel, which is done: it is logged.
func (c *Client) runCancelled(ctx context.Context, j *rivertype.JobRow) {
	fn := c.cancelled[j.Kind]
	if fn == nil {
		return
	}
	err := func() (err error) {
		if c.container != nil {
			scope := c.container.NewScope(ctx)
			defer func() { err = errors.Join(err, scope.Close(context.WithoutCancel(ctx))) }()
			ctx = registry.WithResolver(ctx, scope)
		}
		return fn(ctx, j)
	}()
	if err != nil {
		c.logger.WarnContext(ctx, "worker: job cancelled, but its task could not record it", "kind", j.Kind, "id", j.ID, "error", oneLine(err.Error()))
	}
}

// Subscribe returns events of jobs worked by this client (completed, failed, cancelled...),
// for tests and metrics; call the func to unsubscribe.
func (c *Client) Subscribe(kinds ...river.EventKind) (<-chan *river.Event, func()) {
	return c.eng.subscribe(kinds...)
}

var (
	_ Enqueuer               = (*Client)(nil)
	_ registry.Starter       = (*Client)(nil)
	_ registry.Stopper       = (*Client)(nil)
	_ registry.Drainer       = (*Client)(nil)
	_ registry.HealthChecker = (*Client)(nil)
)
