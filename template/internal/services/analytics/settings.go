package analytics

import (
	"errors"
	"strconv"
	"time"

	"github.com/aegisgo/aegis/template/internal/config"
)

// Defaults for Settings; the env tags below repeat them as text.
const (
	DefaultFlushInterval = 5 * time.Second
	DefaultBufferSize    = 1000
	DefaultBufferLimit   = 100_000
	DefaultRetention     = 90 * 24 * time.Hour
	DefaultIngestLimit   = 60
	DefaultIngestWindow  = time.Minute
	DefaultCacheTTL      = time.Minute
	// MinReadToken is the shortest ANALYTICS_READ_TOKEN: the read endpoints are not rate
	// limited, so a short token could be guessed; the backend asks the same of
	// HEALTH_DETAILS_TOKEN.
	MinReadToken = 32
)

// Settings configure the analytics service. The container loads them from the environment
// (and .env) through config.Provide; a literal needs WithDefaults, so Settings{} means the
// defaults (with request tracking off and no read token).
type Settings struct {
	FlushInterval time.Duration `env:"ANALYTICS_FLUSH_INTERVAL" envDefault:"5s" doc:"Longest an event waits in memory before it is written to the database."`
	BufferSize    int           `env:"ANALYTICS_BUFFER_SIZE" envDefault:"1000" doc:"Events waiting that start a write at once; one transaction writes at most ten times as many."`
	BufferLimit   int           `env:"ANALYTICS_BUFFER_LIMIT" envDefault:"100000" doc:"Most events held in memory while the database is slow or down; past it new events are dropped and counted (health turns degraded)."`
	Retention     time.Duration `env:"ANALYTICS_RETENTION" envDefault:"2160h" doc:"Raw events older than this are deleted by the analytics_retention job (or analytics prune); the hourly counts stay."`
	TrackRequests bool          `env:"ANALYTICS_TRACK_REQUESTS" envDefault:"false" doc:"Record every API request (route pattern, method, status, duration) as an api_request event."`
	IngestIPLimit int           `env:"ANALYTICS_INGEST_IP_LIMIT" envDefault:"60" doc:"Batches POST /api/v1/analytics/events accepts per client IP within ANALYTICS_INGEST_IP_WINDOW, counted across instances with the cache component on Redis, else by each instance on its own (n instances allow up to n times as many); more get 429."`
	IngestWindow  time.Duration `env:"ANALYTICS_INGEST_IP_WINDOW" envDefault:"1m" doc:"Sliding window for ANALYTICS_INGEST_IP_LIMIT."`
	ReadToken     string        `env:"ANALYTICS_READ_TOKEN" envDefault:"" doc:"Without the auth service, the bearer token GET /api/v1/analytics/... require, 32 characters or more (openssl rand -hex 32); empty refuses them (with auth they need the admin role instead)."`
	CacheTTL      time.Duration `env:"ANALYTICS_CACHE_TTL" envDefault:"1m" doc:"How long user statistics (accounts, with the auth service) are cached when the cache component is selected."`
}

// WithDefaults returns a copy of s with every zero field set to its default.
func (s Settings) WithDefaults() Settings {
	config.Default(&s.FlushInterval, DefaultFlushInterval)
	config.Default(&s.BufferSize, DefaultBufferSize)
	config.Default(&s.BufferLimit, DefaultBufferLimit)
	config.Default(&s.Retention, DefaultRetention)
	config.Default(&s.IngestIPLimit, DefaultIngestLimit)
	config.Default(&s.IngestWindow, DefaultIngestWindow)
	config.Default(&s.CacheTTL, DefaultCacheTTL)
	return s
}

// Validate reports every out-of-range value, naming its variable.
func (s Settings) Validate() error {
	const duration = "use a duration such as 5s"
	var limit error
	if s.BufferLimit < s.BufferSize {
		limit = config.AtLeast("ANALYTICS_BUFFER_LIMIT", s.BufferLimit, s.BufferSize, "use at least ANALYTICS_BUFFER_SIZE, such as 100000")
	}
	var token error
	if s.ReadToken != "" && len(s.ReadToken) < MinReadToken {
		token = config.InvalidSecret("ANALYTICS_READ_TOKEN", "is shorter than "+strconv.Itoa(MinReadToken)+" characters",
			"use a random value such as the output of: openssl rand -hex 32")
	}
	return errors.Join(
		token,
		config.InRange("ANALYTICS_FLUSH_INTERVAL", s.FlushInterval, 10*time.Millisecond, time.Hour, "use a duration from 10ms to 1h, such as 5s"),
		config.InRange("ANALYTICS_BUFFER_SIZE", s.BufferSize, 1, 100_000, "use a count such as 1000"),
		limit,
		config.AtLeast("ANALYTICS_RETENTION", s.Retention, time.Hour, "use a duration of an hour or more, such as 2160h (90 days)"),
		config.AtLeast("ANALYTICS_INGEST_IP_LIMIT", s.IngestIPLimit, 1, "use a count such as 60"),
		config.Positive("ANALYTICS_INGEST_IP_WINDOW", s.IngestWindow, duration),
		config.Positive("ANALYTICS_CACHE_TTL", s.CacheTTL, duration),
	)
}
