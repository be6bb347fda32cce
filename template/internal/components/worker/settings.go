package worker

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aegisgo/aegis/template/internal/config"
)

// Settings configures the worker component. Load them with config.Load[Settings]; the zero
// value, after WithDefaults, runs the default and system queues in-process.
type Settings struct {
	Queues             string        `env:"WORKER_QUEUES" envDefault:"default=10,system=2" doc:"Queues this process works and how many jobs of each run at once: name=concurrency, comma-separated."`
	InProcess          bool          `env:"WORKER_IN_PROCESS" envDefault:"true" doc:"Also work jobs inside serve (the development default); set false in production and run the binary's 'worker' command as its own process."`
	JobTimeout         time.Duration `env:"WORKER_JOB_TIMEOUT" envDefault:"1m" doc:"How long one attempt of a job may run before its context is cancelled and it counts as failed (a task may set its own)."`
	MaxAttempts        int           `env:"WORKER_MAX_ATTEMPTS" envDefault:"25" doc:"Attempts before a failing job is discarded (kept, visible in 'jobs list --state discarded', retryable with 'jobs retry')."`
	ShutdownTimeout    time.Duration `env:"WORKER_SHUTDOWN_TIMEOUT" envDefault:"30s" doc:"How long stopping waits for running jobs to finish before cancelling them (they are retried later)."`
	PollInterval       time.Duration `env:"WORKER_POLL_INTERVAL" envDefault:"1s" doc:"How often idle workers look for new jobs. PostgreSQL also wakes them at once with LISTEN/NOTIFY. On SQLite, serve wakes its workers at once for the jobs it enqueues itself; jobs from other processes (jobs enqueue) or enqueued in a transaction (InTx) wait for this poll. The worker command also checks for other processes' jobs every 50 ms."`
	FetchCooldown      time.Duration `env:"WORKER_FETCH_COOLDOWN" envDefault:"100ms" doc:"Least time between two fetches of a queue; each fetch takes at most the queue's free workers, so short jobs top out near concurrency/cooldown per second (10 workers, 100ms: 100 jobs/s). Lower it for many short jobs."`
	RescueAfter        time.Duration `env:"WORKER_RESCUE_AFTER" envDefault:"1h" doc:"A job still running after this long is presumed lost with its process (kill -9, crash) and is retried; keep it above the longest job timeout."`
	CompletedRetention time.Duration `env:"WORKER_COMPLETED_RETENTION" envDefault:"24h" doc:"How long completed jobs are kept before they are deleted."`
	DiscardedRetention time.Duration `env:"WORKER_DISCARDED_RETENTION" envDefault:"720h" doc:"How long discarded (failed for good) and cancelled jobs are kept, for inspection and retry."`
}

// Defaults of Settings, used by WithDefaults for zero fields.
const (
	QueuesDefault             = "default=10,system=2"
	JobTimeoutDefault         = time.Minute
	MaxAttemptsDefault        = 25
	ShutdownTimeoutDefault    = 30 * time.Second
	PollIntervalDefault       = time.Second
	FetchCooldownDefault      = 100 * time.Millisecond
	RescueAfterDefault        = time.Hour
	CompletedRetentionDefault = 24 * time.Hour
	DiscardedRetentionDefault = 30 * 24 * time.Hour
)

// Queue names the component uses: QueueDefault for application jobs, QueueSystem for the
// app's own housekeeping (scheduled ticks, cleanups), so a flood of one cannot starve the other.
const (
	QueueDefault = "default"
	QueueSystem  = "system"
)

// WithDefaults returns a copy of s with zero fields set to their defaults.
func (s Settings) WithDefaults() Settings {
	config.Default(&s.Queues, QueuesDefault)
	config.Default(&s.JobTimeout, JobTimeoutDefault)
	config.Default(&s.MaxAttempts, MaxAttemptsDefault)
	config.Default(&s.ShutdownTimeout, ShutdownTimeoutDefault)
	config.Default(&s.PollInterval, PollIntervalDefault)
	config.Default(&s.FetchCooldown, min(FetchCooldownDefault, s.PollInterval))
	config.Default(&s.RescueAfter, RescueAfterDefault)
	config.Default(&s.CompletedRetention, CompletedRetentionDefault)
	config.Default(&s.DiscardedRetention, DiscardedRetentionDefault)
	return s
}

// Validate reports the first invalid field, naming its variable.
func (s Settings) Validate() error {
	if _, err := ParseQueues(s.Queues); err != nil {
		return err
	}
	switch {
	case s.JobTimeout < 0:
		return config.Invalid("WORKER_JOB_TIMEOUT", s.JobTimeout.String(), "must not be negative", "use a duration such as 1m")
	case s.MaxAttempts < 1:
		return config.Invalid("WORKER_MAX_ATTEMPTS", strconv.Itoa(s.MaxAttempts), "must be at least 1", "use a count such as 25")
	case s.ShutdownTimeout < 0:
		return config.Invalid("WORKER_SHUTDOWN_TIMEOUT", s.ShutdownTimeout.String(), "must not be negative", "use a duration such as 30s")
	case s.PollInterval < time.Millisecond:
		return config.Invalid("WORKER_POLL_INTERVAL", s.PollInterval.String(), "must be at least 1ms", "use a duration such as 1s")
	case s.FetchCooldown < time.Millisecond || s.FetchCooldown > s.PollInterval:
		return config.Invalid("WORKER_FETCH_COOLDOWN", s.FetchCooldown.String(), "must be from 1ms to WORKER_POLL_INTERVAL ("+s.PollInterval.String()+")", "use a duration such as 100ms")
	case s.RescueAfter < time.Second:
		return config.Invalid("WORKER_RESCUE_AFTER", s.RescueAfter.String(), "must be at least 1s", "use a duration above the longest job timeout, such as 1h")
	case s.RescueAfter < s.JobTimeout:
		return config.Invalid("WORKER_RESCUE_AFTER", s.RescueAfter.String(), "must not be below WORKER_JOB_TIMEOUT ("+s.JobTimeout.String()+"): running jobs would be taken for lost", "raise it above the longest job timeout")
	}
	return nil
}

// ParseQueues parses WORKER_QUEUES ("default=10,system=2") into queue names and their
// concurrency.
func ParseQueues(spec string) (map[string]int, error) {
	out := map[string]int{}
	for part := range strings.SplitSeq(spec, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, n, ok := strings.Cut(part, "=")
		name = strings.TrimSpace(name)
		workers, err := strconv.Atoi(strings.TrimSpace(n))
		switch {
		case !ok || err != nil || workers < 1 || workers > 10_000:
			what := "is not name=concurrency with a concurrency from 1 to 10000"
			if part != strings.TrimSpace(spec) { // the message quotes the whole value already
				what = fmt.Sprintf("%q %s", part, what)
			}
			return nil, config.Invalid("WORKER_QUEUES", spec, what, "write it like default=10,system=2")
		case len(name) > 64 || !queueName.MatchString(name):
			// River's rule (queueName), checked here so the error names the variable, and in
			// every role: River itself checks only in a process that works the queues.
			return nil, config.Invalid("WORKER_QUEUES", spec, fmt.Sprintf("%q is not a valid queue name", name), "use at most 64 lowercase letters and digits, separated by single _ or -")
		}
		if _, dup := out[name]; dup {
			return nil, config.Invalid("WORKER_QUEUES", spec, fmt.Sprintf("queue %q is listed twice", name), "list each queue once")
		}
		out[name] = workers
	}
	if len(out) == 0 {
		return nil, config.Invalid("WORKER_QUEUES", spec, "lists no queue", "write it like default=10,system=2")
	}
	return out, nil
}
