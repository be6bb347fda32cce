package httpclient

import (
	"errors"
	"time"

	"github.com/aegisgo/aegis/template/internal/config"
)

// Defaults of Settings, used by WithDefaults for zero fields; the env tags below repeat them as
// text.
const (
	TimeoutDefault             = 30 * time.Second
	MaxAttemptsDefault         = 3
	BackoffDefault             = 200 * time.Millisecond
	MaxDelayDefault            = 10 * time.Second
	MaxConnsPerHostDefault     = 64
	MaxIdleConnsPerHostDefault = 16
	BufferBytesDefault         = 1024
	BreakerFailuresDefault     = 5
	BreakerCooldownDefault     = 30 * time.Second
)

// Settings configure the outbound HTTP client: the shared connection pool, and the defaults of
// every client built with Clients.New (an Options field overrides its setting for one client).
// The container loads them from the environment (and .env); a literal needs WithDefaults.
type Settings struct {
	Timeout             time.Duration `env:"HTTP_CLIENT_TIMEOUT" envDefault:"30s" doc:"Longest one outbound call may take, its retries, their waits and reading the response included (a client's Options.Timeout overrides it; a shorter context deadline wins)."`
	MaxAttempts         int           `env:"HTTP_CLIENT_MAX_ATTEMPTS" envDefault:"3" doc:"Attempts of an outbound call, the first included, on transport errors, 5xx, 408 and 429; POST and PATCH are retried only with an Idempotency-Key header. 1 turns retries off."`
	Backoff             time.Duration `env:"HTTP_CLIENT_BACKOFF" envDefault:"200ms" doc:"Ceiling of the wait before the first retry, doubled for each next one (full jitter: the wait is random between zero and the ceiling)."`
	MaxDelay            time.Duration `env:"HTTP_CLIENT_MAX_DELAY" envDefault:"10s" doc:"Longest wait between two attempts: caps the backoff. A server's Retry-After longer than this, or a wait that would end after the call's deadline, is not taken: the last answer is returned at once."`
	MaxConnsPerHost     int           `env:"HTTP_CLIENT_MAX_CONNS_PER_HOST" envDefault:"64" doc:"Connections open at once to one host, over every client (the pool is shared); more calls wait for a free one."`
	MaxIdleConnsPerHost int           `env:"HTTP_CLIENT_MAX_IDLE_CONNS_PER_HOST" envDefault:"16" doc:"Idle connections kept per host for reuse."`
	BufferBytes         int           `env:"HTTP_CLIENT_BUFFER_BYTES" envDefault:"1024" doc:"Bytes of the read buffer and of the write buffer of each outbound HTTP/1 connection. Every open connection holds both, for as long as it is open: a streamed AI answer holds one for minutes, so a thousand streams hold a thousand of each. net/http's default, 4096, saves a few system calls on large bodies (bigger reads and writes bypass the buffers anyway)."`
	BreakerFailures     int           `env:"HTTP_CLIENT_BREAKER_FAILURES" envDefault:"5" doc:"Consecutive failed attempts (transport errors and 5xx) to one host that open its circuit breaker: calls to it then fail at once, and /health/detailed reports degraded."`
	BreakerCooldown     time.Duration `env:"HTTP_CLIENT_BREAKER_COOLDOWN" envDefault:"30s" doc:"How long an open circuit breaker refuses calls before it lets one probe through (half-open); a successful probe closes it, a failed one opens it again."`
}

// WithDefaults returns a copy of s with every zero field set to its default.
func (s Settings) WithDefaults() Settings {
	config.Default(&s.Timeout, TimeoutDefault)
	config.Default(&s.MaxAttempts, MaxAttemptsDefault)
	config.Default(&s.Backoff, BackoffDefault)
	config.Default(&s.MaxDelay, MaxDelayDefault)
	config.Default(&s.MaxConnsPerHost, MaxConnsPerHostDefault)
	config.Default(&s.MaxIdleConnsPerHost, MaxIdleConnsPerHostDefault)
	config.Default(&s.BufferBytes, BufferBytesDefault)
	config.Default(&s.BreakerFailures, BreakerFailuresDefault)
	config.Default(&s.BreakerCooldown, BreakerCooldownDefault)
	return s
}

// Validate reports every invalid field, naming its variable.
func (s Settings) Validate() error {
	return errors.Join(
		config.Positive("HTTP_CLIENT_TIMEOUT", s.Timeout, "use a duration such as 30s"),
		config.InRange("HTTP_CLIENT_MAX_ATTEMPTS", s.MaxAttempts, 1, 100, "use a count from 1 (no retry) to 100, such as 3"),
		config.Positive("HTTP_CLIENT_BACKOFF", s.Backoff, "use a duration such as 200ms"),
		config.AtLeast("HTTP_CLIENT_MAX_DELAY", s.MaxDelay, s.Backoff, "use a duration at least HTTP_CLIENT_BACKOFF, such as 10s"),
		config.Positive("HTTP_CLIENT_MAX_CONNS_PER_HOST", s.MaxConnsPerHost, "use a count such as 64"),
		config.InRange("HTTP_CLIENT_MAX_IDLE_CONNS_PER_HOST", s.MaxIdleConnsPerHost, 1, s.MaxConnsPerHost, "use a count from 1 to HTTP_CLIENT_MAX_CONNS_PER_HOST, such as 16"),
		config.InRange("HTTP_CLIENT_BUFFER_BYTES", s.BufferBytes, 256, 1<<20, "use a size in bytes from 256 to 1048576, such as 1024"),
		config.Positive("HTTP_CLIENT_BREAKER_FAILURES", s.BreakerFailures, "use a count such as 5"),
		config.Positive("HTTP_CLIENT_BREAKER_COOLDOWN", s.BreakerCooldown, "use a duration such as 30s"),
	)
}
