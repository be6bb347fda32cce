package scheduler

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/robfig/cron/v3"
)

// Func is the work of a scheduled job. Its context carries a registry scope of its own
// (registry.FromContext) and ends at the job's timeout or on shutdown. It must be idempotent:
// with the worker component a failed run is retried.
type Func func(ctx context.Context) error

// Missed says what happens to runs missed while no scheduler was running.
type Missed int

const (
	// MissedSkip (the default) forgets missed runs: the job next runs at its next time.
	MissedSkip Missed = iota
	// MissedRunOnce runs the job once at start-up when it missed one or more runs (however
	// many), then on schedule. It needs the database component: without one there is no
	// history to know what was missed.
	MissedRunOnce
)

func (m Missed) String() string {
	if m == MissedRunOnce {
		return "run once"
	}
	return "skip"
}

// JobOpts tunes one job; nil or the zero value uses the defaults.
type JobOpts struct {
	// Missed is the missed-run policy; MissedSkip by default.
	Missed Missed
	// Timeout bounds one run; 0 means SCHEDULER_JOB_TIMEOUT.
	Timeout time.Duration
}

// Job describes a registered job.
type Job struct {
	Name    string
	Spec    string // "every 1m0s" or "cron 0 3 * * *"
	Missed  Missed
	Timeout time.Duration // 0: SCHEDULER_JOB_TIMEOUT

	every time.Duration
	cron  cron.Schedule
	expr  string
	fn    Func
	where string
}

// Next returns the job's first time strictly after t. Interval jobs run at multiples of
// their interval (since the zero time, UTC), so every instance agrees on the times; cron
// expressions are in UTC.
func (j *Job) Next(t time.Time) time.Time {
	t = t.UTC()
	if j.every > 0 {
		return t.Truncate(j.every).Add(j.every)
	}
	return j.cron.Next(t)
}

// prevBefore returns the job's latest time at or before t that is after since, if any.
func (j *Job) prevBefore(t, since time.Time) (time.Time, bool) {
	t, since = t.UTC(), since.UTC()
	next := j.Next(since)
	if next.After(t) {
		return time.Time{}, false
	}
	if j.every > 0 {
		return t.Truncate(j.every), true
	}
	// Walk the cron times; far behind, start a year back (a catch-up runs once anyway).
	if yearAgo := t.AddDate(-1, 0, 0); next.Before(yearAgo) {
		if n := j.cron.Next(yearAgo); !n.After(t) {
			next = n
		}
	}
	for {
		n := j.cron.Next(next)
		if n.After(t) || n.IsZero() {
			return next, true
		}
		next = n
	}
}

// tickAt names the tick a timer firing at now belongs to: the scheduled time nearest to now
// (timers fire a little late, rarely early). Every instance computes the same name for the
// same tick, which is what makes a tick run once.
func (j *Job) tickAt(now time.Time) time.Time {
	now = now.UTC()
	if j.every > 0 {
		return now.Add(min(j.every/2, 500*time.Millisecond)).Truncate(j.every)
	}
	// Cron times are whole seconds.
	return j.cron.Next(now.Round(time.Second).Add(-time.Second))
}

var namePattern = regexp.MustCompile(`^[a-z][a-z0-9_.-]{0,99}$`)

var cronParser = cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// Every registers a job that runs fn every interval (at least 1s), at multiples of interval:
// Every("report", time.Hour, ...) runs on the hour. Call it from init().
//
// Every never panics: an invalid name or interval, or a second job of the same name, is
// recorded and returned by the scheduler's constructor (so by start-up), naming where.
func Every(name string, interval time.Duration, fn Func, opts *JobOpts) {
	_, file, line, _ := runtime.Caller(1)
	j := &Job{Name: name, Spec: "every " + interval.String(), every: interval, fn: fn, where: fmt.Sprintf("%s:%d", file, line)}
	if interval < time.Second {
		registered.fail(fmt.Errorf("scheduler: job %q at %s: interval %s is below 1s", name, j.where, interval))
		return
	}
	registered.add(j, opts)
}

// Cron registers a job that runs fn at the times of a cron expression, in UTC: five fields
// (minute hour day-of-month month day-of-week), six with seconds first, or a descriptor such
// as @hourly or @daily. Call it from init(); errors are reported as for Every.
func Cron(name, expr string, fn Func, opts *JobOpts) {
	_, file, line, _ := runtime.Caller(1)
	j := &Job{Name: name, Spec: "cron " + expr, expr: expr, fn: fn, where: fmt.Sprintf("%s:%d", file, line)}
	sched, err := cronParser.Parse(expr)
	if err != nil {
		registered.fail(fmt.Errorf("scheduler: job %q at %s: cron expression %q: %w", name, j.where, expr, err))
		return
	}
	if s, ok := sched.(*cron.SpecSchedule); ok {
		s.Location = time.UTC
	}
	j.cron = sched
	registered.add(j, opts)
}

// jobSet is the list Every and Cron write to; a type of its own so tests can use a fresh one.
type jobSet struct {
	mu   sync.Mutex
	jobs map[string]*Job
	errs []error
}

var registered = &jobSet{}

func (s *jobSet) fail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.errs = append(s.errs, err)
}

func (s *jobSet) add(j *Job, opts *JobOpts) {
	if opts != nil {
		j.Missed, j.Timeout = opts.Missed, opts.Timeout
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case !namePattern.MatchString(j.Name):
		s.errs = append(s.errs, fmt.Errorf("scheduler: job %q at %s: a name is lowercase letters, digits, '_', '-' and '.', starting with a letter", j.Name, j.where))
		return
	case j.fn == nil:
		s.errs = append(s.errs, fmt.Errorf("scheduler: job %q at %s: fn is nil", j.Name, j.where))
		return
	case j.Timeout < 0:
		s.errs = append(s.errs, fmt.Errorf("scheduler: job %q at %s: negative timeout", j.Name, j.where))
		return
	}
	if prev, dup := s.jobs[j.Name]; dup {
		s.errs = append(s.errs, fmt.Errorf("scheduler: job %q at %s: already registered at %s", j.Name, j.where, prev.where))
		return
	}
	if s.jobs == nil {
		s.jobs = map[string]*Job{}
	}
	s.jobs[j.Name] = j
}

// list returns the jobs sorted by name, or the registration errors.
func (s *jobSet) list() ([]*Job, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := errors.Join(s.errs...); err != nil {
		return nil, err
	}
	out := make([]*Job, 0, len(s.jobs))
	for _, j := range s.jobs {
		out = append(out, j)
	}
	slices.SortFunc(out, func(a, b *Job) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}
