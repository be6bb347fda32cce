// Package scheduler is the scheduled-jobs component: jobs defined in code with an interval or
// a cron expression, registered from init() and run by gocron (github.com/go-co-op/gocron/v2):
//
//	func init() {
//		registry.Contribute(registry.Default, "refresh_rates", scheduler.Every(10*time.Minute, refreshRates, nil))
//		registry.Contribute(registry.Default, "nightly_report",
//			scheduler.Cron("0 3 * * *", nightlyReport, &scheduler.JobOpts{Missed: scheduler.MissedRunOnce}))
//	}
//
// Jobs run in 'serve' when SCHEDULER_IN_PROCESS=true and in the '<app> scheduler' process;
// '<app> schedule list' shows the schedule and '<app> schedule run JOB' runs a job now.
//
// On its own the scheduler keeps its schedule in memory and runs jobs in-process. Glue packages
// provide more when their components are present, as ordinary optional dependencies of the
// scheduler: schedulerdb provides a Store that keeps the schedule and run history in the
// database, so each tick runs exactly once however many scheduler instances run and missed
// runs can be caught up; schedulerworker provides a Dispatcher that turns each tick into a
// worker job, so the work is durable and retried. Because the scheduler depends on them, the
// container starts them first and stops them after the scheduler's ticks have stopped.
package scheduler

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/go-co-op/gocron/v2"

	"github.com/aegisgo/aegis/template/internal/command"
	"github.com/aegisgo/aegis/template/internal/config"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
)

// Name is the scheduler's name as a component, in the registry, in config and as a catalog
// owner.
const Name = "scheduler"

func init() {
	// The registry keeps registration errors and returns them from Build.
	_ = AddTo(registry.Default)
}

// Role is the role of the scheduler command.
const Role command.Role = Name

// AddTo adds the scheduler component (*Scheduler, named "scheduler"), its settings and its
// commands to r. init() does it for registry.Default; tests call it on a fresh registry.
func AddTo(r *registry.Registry) error {
	registry.Contribute(r, "scheduler", command.Builder(schedulerCmd))
	registry.Contribute(r, "schedule", command.Builder(scheduleCmd))
	return errors.Join(
		config.Provide[Settings](r, Name),
		registry.Provide6(r, newComponent,
			registry.Component(Name),
			registry.Describe("scheduled jobs: intervals and cron expressions, run by gocron"),
			registry.StopTimeout(time.Minute),
		),
	)
}

func newComponent(_ context.Context, s Settings, role command.Role, c *registry.Container, jobs registry.All[*Job],
	store registry.Maybe[Store], dispatcher registry.Maybe[Dispatcher]) (*Scheduler, error) {
	// The scheduler command ticks; serve does too with SCHEDULER_IN_PROCESS=true; every other
	// command only lists or runs jobs by hand.
	tick := role == Role || (role == command.RoleServe && s.InProcess)
	return New(s, &Opts{Tick: tick, Container: c, Jobs: jobs, Store: store.Value, Dispatcher: dispatcher.Value, Logger: slog.Default()})
}

// Opts configures New; nil means a scheduler that does not tick (only Execute and RunNow).
type Opts struct {
	// Tick runs the jobs on schedule after Start.
	Tick bool
	// Container opens a registry scope for each run; nil gives jobs no resolver.
	Container *registry.Container
	// Jobs are the jobs to run; nil means those contributed to registry.Default (every job
	// linked into the binary).
	Jobs registry.All[*Job]
	// Store keeps the schedule and run history; nil means in memory.
	Store Store
	// Dispatcher runs claimed ticks elsewhere; nil means in this process.
	Dispatcher Dispatcher
	// Logger; nil means slog.Default().
	Logger *slog.Logger
}

// Scheduler is the scheduler component. It is safe for concurrent use. Start begins ticking
// (when told to and once its plugins attached); Stop stops ticking and waits for running jobs,
// scheduled ones and manual ones started with RunInBackground.
type Scheduler struct {
	settings  Settings
	jobs      []*Job
	byName    map[string]*Job
	container *registry.Container
	logger    *slog.Logger
	instance  string
	tick      bool

	mu         sync.Mutex
	store      Store
	dispatcher Dispatcher
	started    bool // Start was called
	gs         gocron.Scheduler
	ctx        context.Context // ends when ticking stops
	cancel     context.CancelFunc
	running    sync.WaitGroup

	// Manual runs (RunInBackground) live as long as the scheduler, not as the request that
	// started them: life ends when Stop gives up waiting for them. A counter under mu rather
	// than a WaitGroup, so Stop knows at once when there is nothing to wait for.
	life    context.Context
	endLife context.CancelFunc
	// endStartup ends the start's bookkeeping (the schedule's record, the catch-up check).
	endStartup context.CancelFunc
	manual     int // manual runs in progress
	// claimFailures counts the ticks in a row whose claim failed (the store's table gone, its
	// database refusing): the health check reports them, since no scheduled job runs then.
	claimFailures int
	idle          chan struct{} // made when stopping begins; closed once manual is 0
	stopping      bool          // Stop began: no more manual runs

	// dispatchWaits are the pauses between attempts to dispatch a claimed tick: an enqueue
	// fails while the database is briefly unreachable, and a tick given up is a run lost
	// (the tick stays claimed, so no instance tries it again).
	dispatchWaits []time.Duration
}

// ErrStopped is returned (wrapped) by RunInBackground once the scheduler has begun to stop.
var ErrStopped = errors.New("the scheduler is stopping or stopped")

// New makes a scheduler for the registered jobs with settings s (defaults filled in).
func New(s Settings, opts *Opts) (*Scheduler, error) {
	if opts == nil {
		opts = &Opts{}
	}
	s = s.WithDefaults()
	if err := s.Validate(); err != nil {
		return nil, err
	}
	contributed := opts.Jobs
	if contributed == nil {
		contributed = defaultJobs()
	}
	jobs, err := jobList(contributed)
	if err != nil {
		return nil, err
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.Default()
	}
	host, _ := os.Hostname()
	var rnd [4]byte
	_, _ = rand.Read(rnd[:])
	sch := &Scheduler{
		settings: s, jobs: jobs, byName: map[string]*Job{}, container: opts.Container, logger: logger,
		instance: fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(rnd[:])),
		tick:     opts.Tick, store: opts.Store, dispatcher: opts.Dispatcher,
		dispatchWaits: []time.Duration{time.Second, 2 * time.Second, 4 * time.Second},
	}
	sch.life, sch.endLife = context.WithCancel(context.Background())
	for _, j := range jobs {
		sch.byName[j.Name] = j
	}
	if sch.store == nil {
		sch.store = newMemoryStore()
	}
	return sch, nil
}

// Jobs returns the registered jobs, sorted by name.
func (s *Scheduler) Jobs() []*Job { return slices.Clone(s.jobs) }

// Instance names this scheduler in the run history.
func (s *Scheduler) Instance() string { return s.instance }

// Ticking reports whether this scheduler runs jobs on schedule now.
func (s *Scheduler) Ticking() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.gs != nil
}

// Start begins ticking when the scheduler ticks. It returns at once.
func (s *Scheduler) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.started = true
	return s.maybeStartLocked(ctx)
}

func (s *Scheduler) maybeStartLocked(ctx context.Context) error {
	if !s.tick || !s.started || s.gs != nil || s.ctx != nil {
		return nil
	}
	gs, err := gocron.NewScheduler(gocron.WithLocation(time.UTC), gocron.WithStopTimeout(s.settings.JobTimeout))
	if err != nil {
		return fmt.Errorf("scheduler: start: %w", err)
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	for _, j := range s.jobs {
		// Interval jobs start on a multiple of the interval, so instances tick together.
		def := gocron.DurationJob(j.every)
		opts := []gocron.JobOption{gocron.WithName(j.Name), gocron.WithSingletonMode(gocron.LimitModeReschedule)}
		if j.cron != nil {
			def = gocron.CronJob(j.expr, hasSeconds(j.expr))
		} else {
			opts = append(opts, gocron.WithStartAt(gocron.WithStartDateTime(j.Next(time.Now()))))
		}
		if _, err := gs.NewJob(def, gocron.NewTask(s.fire, j), opts...); err != nil {
			_ = gs.Shutdown()
			s.cancel()
			s.ctx = nil
			return fmt.Errorf("scheduler: schedule %q: %w", j.Name, err)
		}
	}
	s.gs = gs
	// Recording the schedule and catching up missed runs touch the database, where River
	// writes too while the app starts: waiting for SQLite's write lock, they held up the
	// app's start by 0.6-8 ms (bench/RESULTS.md, issue 18). They run beside it instead; Stop
	// ends them (a missed run not yet caught up is caught up at the next start) and waits.
	bg, cancel := context.WithCancel(s.ctx)
	s.endStartup = cancel
	s.running.Add(1)
	go func() {
		defer s.running.Done()
		defer cancel()
		if err := s.saveSchedule(bg); err != nil && bg.Err() == nil {
			s.logger.Warn("scheduler: save schedule", "err", err)
		}
		s.catchUp(bg)
	}()
	gs.Start()
	s.logger.Info("scheduler: ticking", "jobs", len(s.jobs), "instance", s.instance)
	return nil
}

func hasSeconds(expr string) bool {
	n := 0
	inField := false
	for _, r := range expr {
		if r == ' ' || r == '\t' {
			inField = false
			continue
		}
		if !inField {
			n++
			inField = true
		}
	}
	return n == 6
}

// catchUp runs once, at start-up, each MissedRunOnce job whose run was missed.
func (s *Scheduler) catchUp(ctx context.Context) {
	last, err := s.store.Last(ctx)
	if err != nil {
		if ctx.Err() == nil { // not stopped while starting
			s.logger.Warn("scheduler: read run history; missed runs are not caught up", "err", err)
		}
		return
	}
	now := time.Now()
	for _, j := range s.jobs {
		prev, ok := last[j.Name]
		if ok && s.dispatcher != nil && prev.Outcome == OutcomeRunning {
			// Claimed but never recorded as enqueued: the instance that won it died between
			// its claim and its enqueue, and no instance claims that tick again. Enqueuing is
			// idempotent per tick, so a tick that did reach the queue (or still is being
			// dispatched elsewhere) is not run twice.
			s.running.Add(1)
			go func() {
				defer s.running.Done()
				s.redispatch(prev)
			}()
		}
		if j.Missed != MissedRunOnce || !ok {
			continue
		}
		// The latest missed time names the catch-up run, so instances starting together run it
		// once.
		if missed, ok := j.prevBefore(now.Add(-time.Second), prev.Tick); ok {
			s.running.Add(1)
			go func() {
				defer s.running.Done()
				s.runTick(j, missed, true)
			}()
		}
	}
}

// fire is gocron's task for j: claim this tick, then run or dispatch it.
func (s *Scheduler) fire(j *Job) {
	s.running.Add(1)
	defer s.running.Done()
	s.runTick(j, j.tickAt(time.Now()), false)
}

// runTick claims tick of j and runs or dispatches it if this instance won the claim. missed
// says it is the catch-up of a missed run, which the winner alone logs: instances starting
// together all try it.
func (s *Scheduler) runTick(j *Job, tick time.Time, missed bool) {
	s.mu.Lock()
	ctx, store, dispatcher := s.ctx, s.store, s.dispatcher
	s.mu.Unlock()
	if ctx == nil || ctx.Err() != nil {
		return
	}
	run := Run{Job: j.Name, Tick: tick, Instance: s.instance, Started: time.Now().UTC(), Outcome: OutcomeRunning}
	won, err := store.Claim(ctx, run)
	// failed counts the claims that failed in a row before this one.
	failed := 0
	if ctx.Err() == nil { // not a claim cut short by Stop
		s.mu.Lock()
		failed = s.claimFailures
		if err != nil {
			s.claimFailures++
		} else {
			s.claimFailures = 0
		}
		s.mu.Unlock()
	}
	// One line per outage, not per tick: with the database unreachable every job's every tick
	// fails to claim, on every instance (an every-second job alone logged a line a second).
	switch {
	case err != nil && failed == 0:
		s.logger.Error("scheduler: cannot claim ticks: scheduled jobs are skipped until the database answers again (further failures are logged at debug level)", "job", j.Name, "tick", tick, "err", err)
		return
	case err != nil:
		s.logger.Debug("scheduler: claim tick", "job", j.Name, "tick", tick, "err", err)
		return
	case failed > 0:
		s.logger.Info("scheduler: claiming ticks again", "ticks_skipped", failed)
	}
	if !won {
		return // another instance runs this tick
	}
	if missed {
		s.logger.Info("scheduler: running missed job once", "job", j.Name, "missed", tick)
	}
	defer func() {
		if err := store.SaveSchedule(context.WithoutCancel(ctx), []Entry{{Name: j.Name, Spec: j.Spec, Next: j.Next(time.Now())}}); err != nil {
			s.logger.Warn("scheduler: save schedule", "job", j.Name, "err", err)
		}
	}()
	if dispatcher != nil {
		s.dispatchRun(ctx, store, dispatcher, run, false)
		return
	}
	_ = s.execute(ctx, store, j, run)
}

// dispatchRun hands run's tick to d and records it as enqueued, or as failed when that did
// not work. onlyNew records nothing when the tick was in the queue already: run is then a row
// read back from the history, whose "running" may be a worker's (Execute records one, with
// its own start, which the enqueued record would match and move back).
func (s *Scheduler) dispatchRun(ctx context.Context, store Store, d Dispatcher, run Run, onlyNew bool) {
	queued, err := s.dispatch(ctx, d, run.Job, run.Tick)
	if err == nil && !queued && onlyNew {
		return
	}
	run.Duration = time.Since(run.Started)
	run.Outcome = OutcomeEnqueued
	if err != nil {
		run.Outcome, run.Error = OutcomeFailed, err.Error()
		s.logger.Error("scheduler: dispatch", "job", run.Job, "tick", run.Tick, "err", err)
	}
	if err := store.Finish(context.WithoutCancel(ctx), run); err != nil {
		s.logger.Warn("scheduler: record run", "job", run.Job, "err", err)
	}
}

// redispatch enqueues the tick of run, claimed by an instance that did not record enqueuing
// it, and records it as enqueued.
func (s *Scheduler) redispatch(run Run) {
	s.mu.Lock()
	ctx, store, dispatcher := s.ctx, s.store, s.dispatcher
	s.mu.Unlock()
	if ctx == nil || ctx.Err() != nil {
		return
	}
	s.logger.Info("scheduler: enqueuing a tick claimed but never enqueued", "job", run.Job, "tick", run.Tick, "claimed_by", run.Instance)
	s.dispatchRun(ctx, store, dispatcher, run, true)
}

// dispatch hands tick of job to d, trying again after each of dispatchWaits (Dispatch is
// idempotent: a tick enqueued once is not enqueued again) until it succeeds or Stop ends ctx.
func (s *Scheduler) dispatch(ctx context.Context, d Dispatcher, job string, tick time.Time) (queued bool, err error) {
	for i := 0; ; i++ {
		queued, err = d.Dispatch(ctx, job, tick)
		if err == nil || i == len(s.dispatchWaits) || ctx.Err() != nil {
			return queued, err
		}
		s.logger.Warn("scheduler: dispatch failed, trying again", "job", job, "tick", tick, "attempt", i+1, "retry_in", s.dispatchWaits[i], "err", err)
		t := time.NewTimer(s.dispatchWaits[i])
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return false, err
		}
	}
}

// NoJobError is what asking for a job name that no job has returns.
type NoJobError struct{ Name string }

func (e *NoJobError) Error() string {
	return fmt.Sprintf("scheduler: no job %q; 'schedule list' shows them", e.Name)
}

// job returns the job called name, or a *NoJobError.
func (s *Scheduler) job(name string) (*Job, error) {
	if j, ok := s.byName[name]; ok {
		return j, nil
	}
	return nil, &NoJobError{Name: name}
}

// Execute runs job name for tick now, in this process, and records the outcome: the
// schedulerworker glue's job calls it, so the run's history shows the real outcome. Its
// error is fn's (so the worker retries it).
func (s *Scheduler) Execute(ctx context.Context, name string, tick time.Time) error {
	j, err := s.job(name)
	if err != nil {
		return err
	}
	s.mu.Lock()
	store := s.store
	s.mu.Unlock()
	run := Run{Job: name, Tick: tick.UTC(), Instance: s.instance, Started: time.Now().UTC(), Outcome: OutcomeRunning}
	// The dispatcher recorded the tick as enqueued; from now on it runs, and the history says
	// so ('schedule list', the panel) until execute records how it ended. Each attempt of a
	// retried tick records this again, over the previous attempt's failure.
	if err := store.Finish(ctx, run); err != nil {
		s.logger.Warn("scheduler: record run as running", "job", name, "err", err)
	}
	return s.execute(ctx, store, j, run)
}

// Cancelled records that the worker job of tick of job name was cancelled while no attempt
// ran it ('jobs cancel', the panel): it does not run again, and nothing else would record its
// end. The schedulerworker glue calls it.
func (s *Scheduler) Cancelled(ctx context.Context, name string, tick time.Time) error {
	if _, err := s.job(name); err != nil {
		return err
	}
	s.mu.Lock()
	store := s.store
	s.mu.Unlock()
	run := Run{Job: name, Tick: tick.UTC(), Instance: s.instance, Started: time.Now().UTC(), Outcome: OutcomeCancelled}
	if err := store.Finish(ctx, run); err != nil {
		return fmt.Errorf("scheduler: record cancelled run of %s: %w", name, err)
	}
	return nil
}

// RunNow runs job name at once, in this process, whatever its schedule ('schedule run'), and
// records it in the history under the current time.
func (s *Scheduler) RunNow(ctx context.Context, name string) (Run, error) {
	j, err := s.job(name)
	if err != nil {
		return Run{}, err
	}
	s.mu.Lock()
	store := s.store
	s.mu.Unlock()
	now := time.Now().UTC()
	run := Run{Job: name, Tick: now.Truncate(time.Millisecond), Instance: s.instance, Started: now, Outcome: OutcomeRunning}
	if _, err := store.Claim(ctx, run); err != nil {
		return Run{}, err
	}
	err = s.execute(ctx, store, j, run)
	last, lerr := store.Last(ctx)
	if lerr == nil {
		if r, ok := last[name]; ok && r.Tick.Equal(run.Tick) {
			return r, err
		}
	}
	return run, err
}

// RunNowResult is the outcome of a run started by RunInBackground: what RunNow returned.
type RunNowResult struct {
	Run Run
	Err error
}

// RunInBackground runs job name at once, like RunNow, in a goroutine the scheduler owns, and
// returns a channel that receives its result once and is then closed. The run keeps ctx's
// values but not its cancellation (closing the page that asked for it does not stop it); it
// ends with the scheduler instead: Stop waits for it like a scheduled run and cancels its
// context if ctx of Stop ends first. An unknown job is an error, and so is a call once Stop
// has begun (errors.Is(err, ErrStopped)).
func (s *Scheduler) RunInBackground(ctx context.Context, name string) (<-chan RunNowResult, error) {
	if _, err := s.job(name); err != nil {
		return nil, err
	}
	s.mu.Lock()
	if s.stopping {
		s.mu.Unlock()
		return nil, fmt.Errorf("scheduler: run %q: %w", name, ErrStopped)
	}
	s.manual++
	s.mu.Unlock()
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	unhook := context.AfterFunc(s.life, cancel)
	out := make(chan RunNowResult, 1)
	go func() {
		defer s.manualDone()
		defer unhook()
		defer cancel()
		r, err := s.RunNow(ctx, name)
		out <- RunNowResult{Run: r, Err: err}
		close(out)
	}()
	return out, nil
}

// manualDone ends a manual run's share of Stop's wait.
func (s *Scheduler) manualDone() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.manual--
	if s.stopping && s.manual == 0 {
		close(s.idle)
	}
}

func (s *Scheduler) execute(ctx context.Context, store Store, j *Job, run Run) (err error) {
	timeout := j.Timeout
	if timeout == 0 {
		timeout = s.settings.JobTimeout
	}
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	ctx, span := startRun(ctx, j.Name, run.Tick)
	if span != nil {
		defer func() { endRun(span, err) }()
	}
	start := time.Now()
	func() {
		defer func() {
			if p := recover(); p != nil {
				err = fmt.Errorf("scheduler: job %q panicked: %v", j.Name, p)
			}
		}()
		if s.container != nil {
			// A run caught up at start, or a tick, can come while services the job resolves
			// lazily are still starting: wait for the app's start, as the worker's jobs do.
			if err = s.container.WaitStarted(ctx); err != nil {
				err = fmt.Errorf("scheduler: job %q not run: %w", j.Name, err)
				return
			}
			scope := s.container.NewScope(ctx)
			defer func() { err = errors.Join(err, scope.Close(context.WithoutCancel(ctx))) }()
			ctx = registry.WithResolver(ctx, scope)
		}
		err = j.fn(ctx)
	}()
	run.Duration = time.Since(start)
	run.Outcome = OutcomeOK
	if err != nil {
		run.Outcome, run.Error = OutcomeFailed, err.Error()
		if parent.Err() != nil {
			// Stopped from outside (the process shutting down, the worker's job cancelled),
			// not failing on its own: the worker retries it, or the next tick runs it.
			s.logger.Warn("scheduler: job interrupted", "job", j.Name, "tick", run.Tick, "err", err)
		} else {
			s.logger.Error("scheduler: job failed", "job", j.Name, "tick", run.Tick, "err", err)
		}
	}
	if ferr := store.Finish(context.WithoutCancel(ctx), run); ferr != nil {
		s.logger.Warn("scheduler: record run", "job", j.Name, "err", ferr)
	}
	return err
}

// Status is one job of 'schedule list'.
type Status struct {
	Job  *Job
	Last *Run // nil if it never ran (or the history is this process's, in memory)
	Next time.Time
}

// Status returns every job with its last run and next run.
func (s *Scheduler) Status(ctx context.Context) ([]Status, error) {
	s.mu.Lock()
	store := s.store
	s.mu.Unlock()
	last, err := store.Last(ctx)
	if err != nil {
		return nil, fmt.Errorf("scheduler: read run history: %w", err)
	}
	now := time.Now()
	out := make([]Status, 0, len(s.jobs))
	for _, j := range s.jobs {
		st := Status{Job: j, Next: j.Next(now)}
		if r, ok := last[j.Name]; ok {
			st.Last = &r
		}
		out = append(out, st)
	}
	return out, nil
}

func (s *Scheduler) saveSchedule(ctx context.Context) error {
	now := time.Now()
	entries := make([]Entry, len(s.jobs))
	for i, j := range s.jobs {
		entries[i] = Entry{Name: j.Name, Spec: j.Spec, Next: j.Next(now)}
	}
	return s.store.SaveSchedule(ctx, entries)
}

// shutdown stops gocron, refuses new manual runs and waits for running jobs, scheduled and
// manual, at most until ctx ends; then it cancels their contexts. A second call waits again
// for whatever still runs (jobs that ignored the cancellation).
func (s *Scheduler) shutdown(ctx context.Context) error {
	s.mu.Lock()
	gs, cancel := s.gs, s.cancel
	s.gs = nil
	s.tick = false // never again
	if s.endStartup != nil {
		s.endStartup()
	}
	if !s.stopping {
		s.stopping = true
		s.idle = make(chan struct{})
		if s.manual == 0 {
			close(s.idle)
		}
	}
	idle := s.idle
	s.mu.Unlock()
	end := func() {
		if cancel != nil {
			cancel()
		}
		s.endLife()
	}
	if gs == nil {
		// Not ticking (never started, or stopped before): only manual runs to wait for.
		select {
		case <-idle:
			end()
			return nil
		default:
		}
	}
	done := make(chan error, 1)
	go func() {
		var err error
		if gs != nil {
			err = gs.Shutdown() // waits for running tasks up to the job timeout
		}
		s.running.Wait()
		<-idle
		done <- err
	}()
	select {
	case err := <-done:
		end()
		if err != nil {
			return fmt.Errorf("scheduler: stop: %w", err)
		}
		return nil
	case <-ctx.Done():
		end() // running jobs see their context end
		return fmt.Errorf("scheduler: stop: running jobs did not finish: %w", ctx.Err())
	}
}

// Stop stops ticking, refuses new manual runs and waits for running jobs, scheduled and
// manual (RunInBackground), at most until ctx ends: then their contexts are cancelled and
// Stop returns ctx's error. It is idempotent and safe before Start.
func (s *Scheduler) Stop(ctx context.Context) error { return s.shutdown(ctx) }

// Drain is Stop, called by the container before it stops any service, so the runs still in
// progress can use the services they resolve from the container.
func (s *Scheduler) Drain(ctx context.Context) error { return s.shutdown(ctx) }

var (
	_ registry.Starter = (*Scheduler)(nil)
	_ registry.Stopper = (*Scheduler)(nil)
	_ registry.Drainer = (*Scheduler)(nil)
)
