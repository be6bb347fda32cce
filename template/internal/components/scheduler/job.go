package scheduler

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/aegisgo/aegis/template/internal/runtime/registry"
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

// Job describes a scheduled job; Every and Cron make one.
type Job struct {
	Name    string // the name it was contributed under; empty until the scheduler has it
	Spec    string // "every 1m0s" or "cron 0 3 * * *"
	Missed  Missed
	Timeout time.Duration // 0: SCHEDULER_JOB_TIMEOUT

	every time.Duration
	cron  cron.Schedule
	expr  string
	fn    Func
	where string
	err   error // what Every or Cron found wrong, reported by ValidateContribution
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

// Every returns a job that runs fn every interval (at least 1s), at multiples of interval: an
// hourly job runs on the hour. Jobs are a contribution kind named by the job's name;
// contribute one from init():
//
//	registry.Contribute(registry.Default, "refresh_rates", scheduler.Every(10*time.Minute, refreshRates, nil))
//
// An invalid name or interval, or a second job of the same name, fails the container's Build,
// naming where each was registered.
func Every(interval time.Duration, fn Func, opts *JobOpts) *Job {
	j := &Job{Spec: "every " + interval.String(), every: interval, fn: fn}
	if interval < time.Second {
		j.err = fmt.Errorf("interval %s is below 1s", interval)
	}
	return j.with(opts)
}

// Cron returns a job that runs fn at the times of a cron expression, in UTC: five fields
// (minute hour day-of-month month day-of-week), six with seconds first, or a descriptor such
// as @hourly or @daily. Contribute it as for Every; errors are reported as for Every.
func Cron(expr string, fn Func, opts *JobOpts) *Job {
	j := &Job{Spec: "cron " + expr, expr: expr, fn: fn}
	sched, err := cronParser.Parse(expr)
	if err != nil {
		j.err = fmt.Errorf("cron expression %q: %w", expr, err)
		return j.with(opts)
	}
	if s, ok := sched.(*cron.SpecSchedule); ok {
		s.Location = time.UTC
	}
	j.cron = sched
	return j.with(opts)
}

func (j *Job) with(opts *JobOpts) *Job {
	if opts != nil {
		j.Missed, j.Timeout = opts.Missed, opts.Timeout
	}
	return j
}

// ValidateContribution checks the job's name, function, timeout and schedule.
func (j *Job) ValidateContribution(name string) error {
	switch {
	case !namePattern.MatchString(name):
		return errors.New("scheduler: a job name is lowercase letters, digits, '_', '-' and '.', starting with a letter")
	case j.err != nil:
		return fmt.Errorf("scheduler: job %q: %w", name, j.err)
	case j.fn == nil:
		return fmt.Errorf("scheduler: job %q: fn is nil", name)
	case j.Timeout < 0:
		return fmt.Errorf("scheduler: job %q: negative timeout", name)
	}
	return nil
}

// defaultJobs are those contributed to registry.Default: every job linked into the binary.
func defaultJobs() registry.All[*Job] { return registry.Contributions[*Job](registry.Default) }

// jobList checks jobs as Build does, for lists that do not come from a built container (New
// in tests), and returns copies named by their contributions, sorted by name.
func jobList(jobs registry.All[*Job]) ([]*Job, error) {
	var (
		out  []*Job
		errs []error
		seen = map[string]string{}
	)
	for _, c := range jobs {
		if c.Value == nil {
			errs = append(errs, fmt.Errorf("scheduler: job %q at %s: nil *Job", c.Name, c.Registered))
			continue
		}
		if err := c.Value.ValidateContribution(c.Name); err != nil {
			errs = append(errs, fmt.Errorf("%w (registered at %s)", err, c.Registered))
			continue
		}
		if prev, dup := seen[c.Name]; dup {
			errs = append(errs, fmt.Errorf("scheduler: job %q at %s: already registered at %s", c.Name, c.Registered, prev))
			continue
		}
		seen[c.Name] = c.Registered
		j := *c.Value
		j.Name, j.where = c.Name, c.Registered
		out = append(out, &j)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b *Job) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}
