package backend

import (
	"errors"
	"net"
	"strconv"
	"time"

	"github.com/aegisgo/aegis/template/internal/config"
)

// Defaults for Settings; the env tags below repeat them as text.
const (
	DefaultHost              = "127.0.0.1"
	DefaultPort              = 8000
	DefaultReadHeaderTimeout = 5 * time.Second
	DefaultReadTimeout       = 30 * time.Second
	DefaultWriteTimeout      = 30 * time.Second
	DefaultIdleTimeout       = 120 * time.Second
	DefaultShutdownTimeout   = 15 * time.Second
	DefaultHealthTimeout     = 2 * time.Second
	DefaultMaxBodyBytes      = 1 << 20
)

// Settings configure the HTTP server. Load them with config.Load[Settings];
// a literal needs WithDefaults, which fills every zero field except Port (0
// asks the kernel for a free port, which is what tests want).
type Settings struct {
	Host              string        `env:"HOST" envDefault:"127.0.0.1" doc:"Interface the HTTP server listens on; 0.0.0.0 to accept connections from other hosts (containers)."`
	Port              int           `env:"PORT" envDefault:"8000" doc:"TCP port the HTTP server listens on; 0 picks a free port."`
	ReadHeaderTimeout time.Duration `env:"HTTP_READ_HEADER_TIMEOUT" envDefault:"5s" doc:"Time allowed to read request headers; guards against slow clients."`
	ReadTimeout       time.Duration `env:"HTTP_READ_TIMEOUT" envDefault:"30s" doc:"Time allowed to read a whole request, body included."`
	WriteTimeout      time.Duration `env:"HTTP_WRITE_TIMEOUT" envDefault:"30s" doc:"Time allowed to write a response."`
	IdleTimeout       time.Duration `env:"HTTP_IDLE_TIMEOUT" envDefault:"120s" doc:"How long an idle keep-alive connection stays open."`
	ShutdownTimeout   time.Duration `env:"HTTP_SHUTDOWN_TIMEOUT" envDefault:"15s" doc:"How long shutdown waits for in-flight requests before closing them."`
	HealthTimeout     time.Duration `env:"HEALTH_TIMEOUT" envDefault:"2s" doc:"Time each health check may take before it counts as timed out."`
	MaxBodyBytes      int64         `env:"MAX_BODY_BYTES" envDefault:"1048576" doc:"Largest request body accepted, in bytes; larger ones get 413."`
}

// WithDefaults returns a copy of s with every zero field but Port set to its
// default.
func (s Settings) WithDefaults() Settings {
	config.Default(&s.Host, DefaultHost)
	config.Default(&s.ReadHeaderTimeout, DefaultReadHeaderTimeout)
	config.Default(&s.ReadTimeout, DefaultReadTimeout)
	config.Default(&s.WriteTimeout, DefaultWriteTimeout)
	config.Default(&s.IdleTimeout, DefaultIdleTimeout)
	config.Default(&s.ShutdownTimeout, DefaultShutdownTimeout)
	config.Default(&s.HealthTimeout, DefaultHealthTimeout)
	config.Default(&s.MaxBodyBytes, DefaultMaxBodyBytes)
	return s
}

// Validate reports every out-of-range value, naming its variable.
func (s Settings) Validate() error {
	const duration = "use a duration such as 5s or 1m"
	return errors.Join(
		config.InRange("PORT", s.Port, 0, 65535, "use a port from 1 to 65535, or 0 for any free port"),
		config.Positive("HTTP_READ_HEADER_TIMEOUT", s.ReadHeaderTimeout, duration),
		config.Positive("HTTP_READ_TIMEOUT", s.ReadTimeout, duration),
		config.Positive("HTTP_WRITE_TIMEOUT", s.WriteTimeout, duration),
		config.Positive("HTTP_IDLE_TIMEOUT", s.IdleTimeout, duration),
		config.Positive("HTTP_SHUTDOWN_TIMEOUT", s.ShutdownTimeout, duration),
		config.Positive("HEALTH_TIMEOUT", s.HealthTimeout, duration),
		config.Positive("MAX_BODY_BYTES", s.MaxBodyBytes, "use a size in bytes such as 1048576 (1 MiB)"),
	)
}

// Addr returns host:port for net.Listen.
func (s Settings) Addr() string { return net.JoinHostPort(s.Host, strconv.Itoa(s.Port)) }

// ClientURL returns the base URL a local client (the health commands) should
// use: a wildcard listen address is reached through loopback.
func (s Settings) ClientURL() string {
	host := s.Host
	switch host {
	case "", "0.0.0.0":
		host = "127.0.0.1"
	case "::":
		host = "::1"
	}
	return "http://" + net.JoinHostPort(host, strconv.Itoa(s.Port))
}
