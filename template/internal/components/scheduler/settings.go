package scheduler

import (
	"time"

	"github.com/aegisgo/aegis/template/internal/config"
)

// Settings configures the scheduler component; the zero value, after WithDefaults, ticks
// in-process with a 5-minute job timeout.
type Settings struct {
	InProcess  bool          `env:"SCHEDULER_IN_PROCESS" envDefault:"true" doc:"Also run scheduled jobs inside serve (the development default); set false in production and run the binary's 'scheduler' command (one or more instances: each tick runs once)."`
	JobTimeout time.Duration `env:"SCHEDULER_JOB_TIMEOUT" envDefault:"5m" doc:"How long one run of a scheduled job may take before its context is cancelled (a job may set its own)."`
}

// JobTimeoutDefault is the default of Settings.JobTimeout.
const JobTimeoutDefault = 5 * time.Minute

// WithDefaults returns a copy of s with zero fields set to their defaults.
func (s Settings) WithDefaults() Settings {
	config.Default(&s.JobTimeout, JobTimeoutDefault)
	return s
}

// Validate reports the first invalid field, naming its variable.
func (s Settings) Validate() error {
	if s.JobTimeout < 0 {
		return config.Invalid("SCHEDULER_JOB_TIMEOUT", s.JobTimeout.String(), "must not be negative", "use a duration such as 5m")
	}
	return nil
}
