package backend

import (
	"errors"
	"net"
	"net/netip"
	"strconv"
	"strings"
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
	DefaultHSTSMaxAge        = 31536000 // one year, in seconds

	// MinHealthDetailsToken is the shortest HEALTH_DETAILS_TOKEN accepted.
	MinHealthDetailsToken = 32
)

// Settings configure the HTTP server. Load them with config.Load[Settings];
// a literal needs WithDefaults, which fills every zero field except Port (0
// asks the kernel for a free port, which is what tests want).
type Settings struct {
	Host               string        `env:"HOST" envDefault:"127.0.0.1" doc:"Interface the HTTP server listens on; 0.0.0.0 to accept connections from other hosts (containers)."`
	Port               int           `env:"PORT" envDefault:"8000" doc:"TCP port the HTTP server listens on; 0 picks a free port."`
	ReadHeaderTimeout  time.Duration `env:"HTTP_READ_HEADER_TIMEOUT" envDefault:"5s" doc:"Time allowed to read request headers; guards against slow clients."`
	ReadTimeout        time.Duration `env:"HTTP_READ_TIMEOUT" envDefault:"30s" doc:"Time allowed to read a whole request, body included."`
	WriteTimeout       time.Duration `env:"HTTP_WRITE_TIMEOUT" envDefault:"30s" doc:"Time allowed to write a response."`
	IdleTimeout        time.Duration `env:"HTTP_IDLE_TIMEOUT" envDefault:"120s" doc:"How long an idle keep-alive connection stays open."`
	ShutdownTimeout    time.Duration `env:"HTTP_SHUTDOWN_TIMEOUT" envDefault:"15s" doc:"How long shutdown waits for in-flight requests before closing them."`
	HealthTimeout      time.Duration `env:"HEALTH_TIMEOUT" envDefault:"2s" doc:"Time each health check may take before it counts as timed out."`
	MaxBodyBytes       int64         `env:"MAX_BODY_BYTES" envDefault:"1048576" doc:"Largest request body accepted, in bytes; larger ones get 413."`
	TrustedProxies     string        `env:"TRUSTED_PROXIES" envDefault:"" doc:"Reverse proxies whose X-Forwarded-For and X-Forwarded-Proto headers are believed: comma-separated CIDRs or addresses (10.0.0.0/8,192.168.1.10). The client address is then the first untrusted one from the right of X-Forwarded-For. Empty trusts nobody: the headers are ignored."`
	HSTSMaxAge         int           `env:"HSTS_MAX_AGE" envDefault:"31536000" doc:"Production only: seconds browsers must keep using HTTPS (Strict-Transport-Security), sent on requests that came over TLS, directly or through a proxy in TRUSTED_PROXIES saying X-Forwarded-Proto: https; -1 sends no header."`
	HealthDetailsToken string        `env:"HEALTH_DETAILS_TOKEN" envDefault:"" doc:"Production only: bearer token (Authorization: Bearer ...) that opens the details of /health/detailed and /health/services, which name hosts, users and paths; without it they show the status only. At least 32 characters; empty keeps the details closed."`
	BaseURL            string        `env:"BASE_URL" envDefault:"" doc:"Public URL of the app (https://api.example.com) for the absolute links it writes, such as $schema in JSON responses; empty writes relative links. Never taken from the Host or X-Forwarded-Host headers."`
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
	config.Default(&s.HSTSMaxAge, DefaultHSTSMaxAge)
	return s
}

// Validate reports every out-of-range value, naming its variable.
func (s Settings) Validate() error {
	const duration = "use a duration such as 5s or 1m"
	var token error
	if s.HealthDetailsToken != "" && len(s.HealthDetailsToken) < MinHealthDetailsToken {
		token = config.InvalidSecret("HEALTH_DETAILS_TOKEN", "is shorter than "+strconv.Itoa(MinHealthDetailsToken)+" characters",
			"use a random value such as the output of: openssl rand -hex 32")
	}
	_, proxies := parseTrustedProxies(s.TrustedProxies)
	return errors.Join(
		config.InRange("PORT", s.Port, 0, 65535, "use a port from 1 to 65535, or 0 for any free port"),
		config.Positive("HTTP_READ_HEADER_TIMEOUT", s.ReadHeaderTimeout, duration),
		config.Positive("HTTP_READ_TIMEOUT", s.ReadTimeout, duration),
		config.Positive("HTTP_WRITE_TIMEOUT", s.WriteTimeout, duration),
		config.Positive("HTTP_IDLE_TIMEOUT", s.IdleTimeout, duration),
		config.Positive("HTTP_SHUTDOWN_TIMEOUT", s.ShutdownTimeout, duration),
		config.Positive("HEALTH_TIMEOUT", s.HealthTimeout, duration),
		config.Positive("MAX_BODY_BYTES", s.MaxBodyBytes, "use a size in bytes such as 1048576 (1 MiB)"),
		config.AtLeast("HSTS_MAX_AGE", s.HSTSMaxAge, -1, "use seconds such as 31536000 (a year), or -1 to send no Strict-Transport-Security header"),
		proxies,
		token,
		checkBaseURL(s.BaseURL),
		checkHost(s.Host),
	)
}

// checkHost refuses a HOST that is neither an IP address nor a host name ("bad host",
// "http://0.0.0.0", "[::1]", "0.0.0.0:8000"): serve failed only at listen, with the
// resolver's "lookup ... no such host", and the health commands with url.Parse's
// "invalid character" and a hint to check --url, which they had not been given.
func checkHost(host string) error {
	if host == "" {
		return nil
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return nil
	}
	valid := len(host) <= 253
	for label := range strings.SplitSeq(host, ".") {
		valid = valid && label != "" && len(label) <= 63 && label[0] != '-' && label[len(label)-1] != '-' &&
			!strings.ContainsFunc(label, func(r rune) bool {
				return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_')
			})
	}
	if !valid {
		return config.Invalid("HOST", host, "is not an IP address or host name",
			"use the interface to listen on, such as 127.0.0.1, 0.0.0.0 (every interface), ::1 or localhost (no scheme, port or brackets)")
	}
	return nil
}

// LinkOrigin is the origin of the absolute links the app writes where no request gives one
// (the links in emails): BASE_URL when set, without its trailing slash. Without it a
// development app links to itself on localhost at the port it listens on (PORT), so the links
// work whatever the port. In production, or with PORT 0 (a free port, known only once
// listening), it is empty: localhost there is the reader's machine, so the caller falls back
// and should say that BASE_URL is missing.
func (s Settings) LinkOrigin(production bool) string {
	if s.BaseURL != "" || production || s.Port <= 0 {
		return strings.TrimRight(s.BaseURL, "/")
	}
	return "http://localhost:" + strconv.Itoa(s.Port)
}

// checkBaseURL accepts an empty BASE_URL or an absolute http(s) URL with a
// host and nothing after the path: links are built by appending to it.
func checkBaseURL(raw string) error {
	return config.HTTPURL{Fix: "use the app's public URL such as https://api.example.com, or leave it empty for relative links"}.Check("BASE_URL", raw)
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
