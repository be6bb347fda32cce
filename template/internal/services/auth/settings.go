package auth

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/aegisgo/aegis/template/internal/config"
)

// Defaults for Settings; the env tags below repeat them as text.
//
// The argon2id defaults follow the OWASP Password Storage Cheat Sheet's
// second option: m=19456 KiB (19 MiB), t=2, p=1. On a 2-core machine that is
// about 20-40 ms per hash; raise the memory when you can afford it.
const (
	DefaultIssuer             = "aegis"
	DefaultAudience           = "aegis"
	DefaultAccessTTL          = 15 * time.Minute
	DefaultRefreshTTL         = 30 * 24 * time.Hour
	DefaultLeeway             = 30 * time.Second
	DefaultArgon2MemoryKiB    = 19456
	DefaultArgon2Iterations   = 2
	DefaultArgon2Parallelism  = 1
	DefaultLoginIPLimit       = 20
	DefaultLoginIPWindow      = time.Minute
	DefaultLoginAccountLimit  = 5
	DefaultLoginAccountWindow = 15 * time.Minute
	DefaultHashQueue          = 64
	DefaultHashWait           = 5 * time.Second
	DefaultRegisterIPLimit    = 10
	DefaultRegisterIPWindow   = time.Hour
	DefaultSessionCheckTTL    = 5 * time.Second
	// The dashboard's sessions are privileged (ASVS 4.0 L2, V3.3.2: an idle
	// timeout and an absolute lifetime); 30 minutes and 12 hours are a
	// working day with coffee breaks.
	DefaultDashboardIdleTimeout = 30 * time.Minute
	DefaultDashboardSessionTTL  = 12 * time.Hour
	// An API session (a refresh-token family) ends this long after its login,
	// however often it is refreshed: OWASP's Session Management Cheat Sheet
	// asks for an absolute timeout, so that a stolen refresh token cannot keep
	// a session alive forever. 30 days, AUTH_REFRESH_TTL's default, is a
	// month of "stay signed in" on a phone: a user signs in again once a month
	// however active, and one who stops using the app is out as before.
	DefaultSessionMaxAge = 30 * 24 * time.Hour

	// MinSecretBytes is the shortest AUTH_SECRET accepted in production.
	MinSecretBytes = 32
	// PlaceholderSecret is the value .env.example ships with; it is refused
	// in production like a missing secret.
	PlaceholderSecret = "change-me-generate-with-openssl-rand-hex-32"
)

// Settings configure the auth service. Load them with config.Load[Settings];
// a literal needs WithDefaults, which fills every zero field (an empty Secret
// stays empty: resolveSecret decides what to do about it).
type Settings struct {
	Secret             string        `env:"AUTH_SECRET" envDefault:"change-me-generate-with-openssl-rand-hex-32" doc:"Key that signs access tokens (HS256), at least 32 bytes; generate one with: openssl rand -hex 32. Required in production."`
	Issuer             string        `env:"AUTH_ISSUER" envDefault:"aegis" doc:"Issuer (iss) written into and required of access tokens."`
	Audience           string        `env:"AUTH_AUDIENCE" envDefault:"aegis" doc:"Audience (aud) written into and required of access tokens."`
	AccessTTL          time.Duration `env:"AUTH_ACCESS_TTL" envDefault:"15m" doc:"Lifetime of an access token (JWT)."`
	RefreshTTL         time.Duration `env:"AUTH_REFRESH_TTL" envDefault:"720h" doc:"Lifetime of a refresh token; each refresh issues a new one."`
	SessionMaxAge      time.Duration `env:"AUTH_SESSION_MAX_AGE" envDefault:"720h" doc:"An API session ends this long after its login, however often it is refreshed (an absolute timeout); a refresh after it gets 401 and the user signs in again."`
	RefreshReuseGrace  time.Duration `env:"AUTH_REFRESH_REUSE_GRACE" envDefault:"10s" doc:"A refresh token presented again within this long of its first use gets a new pair of the same session instead of ending it as stolen: two requests of one client (two browser tabs) refreshing at once. 0 turns it off: any second use ends the session."`
	Leeway             time.Duration `env:"AUTH_LEEWAY" envDefault:"30s" doc:"Clock skew tolerated when checking token expiry."`
	Argon2MemoryKiB    uint32        `env:"AUTH_ARGON2_MEMORY_KIB" envDefault:"19456" doc:"argon2id memory per password hash, in KiB (OWASP: 19456 with 2 iterations)."`
	Argon2Iterations   uint32        `env:"AUTH_ARGON2_ITERATIONS" envDefault:"2" doc:"argon2id iterations (time cost)."`
	Argon2Parallelism  uint8         `env:"AUTH_ARGON2_PARALLELISM" envDefault:"1" doc:"argon2id parallelism (threads per hash)."`
	LoginIPLimit       int           `env:"AUTH_LOGIN_IP_LIMIT" envDefault:"20" doc:"Login attempts allowed per client IP within AUTH_LOGIN_IP_WINDOW, counted across instances with the cache component on Redis, else by each instance on its own (n instances allow up to n times as many); more get 429."`
	LoginIPWindow      time.Duration `env:"AUTH_LOGIN_IP_WINDOW" envDefault:"1m" doc:"Sliding window for AUTH_LOGIN_IP_LIMIT."`
	LoginAccountLimit  int           `env:"AUTH_LOGIN_ACCOUNT_LIMIT" envDefault:"5" doc:"Failed logins allowed per account within AUTH_LOGIN_ACCOUNT_WINDOW, counted across instances with the cache component on Redis, else by each instance on its own (n instances allow up to n times as many); more get 429."`
	LoginAccountWindow time.Duration `env:"AUTH_LOGIN_ACCOUNT_WINDOW" envDefault:"15m" doc:"Sliding window for AUTH_LOGIN_ACCOUNT_LIMIT."`
	HashConcurrency    int           `env:"AUTH_HASH_CONCURRENCY" envDefault:"0" doc:"argon2id hashes and verifications running at once, each holding AUTH_ARGON2_MEMORY_KIB; 0 means GOMAXPROCS (the CPUs the app may use)."`
	HashQueue          int           `env:"AUTH_HASH_QUEUE" envDefault:"64" doc:"Requests that may wait for a hashing slot; more get 503 with Retry-After at once."`
	HashWait           time.Duration `env:"AUTH_HASH_WAIT" envDefault:"5s" doc:"Longest a request waits for a hashing slot before it gets 503 with Retry-After."`
	RegisterIPLimit    int           `env:"AUTH_REGISTER_IP_LIMIT" envDefault:"10" doc:"Registrations allowed per client IP within AUTH_REGISTER_IP_WINDOW, counted across instances with the cache component on Redis, else by each instance on its own (n instances allow up to n times as many); more get 429."`
	RegisterIPWindow   time.Duration `env:"AUTH_REGISTER_IP_WINDOW" envDefault:"1h" doc:"Sliding window for AUTH_REGISTER_IP_LIMIT."`
	SessionCheckTTL    time.Duration `env:"AUTH_SESSION_CHECK_TTL" envDefault:"5s" doc:"How long a process trusts its last check that an access token's session is live; a logout or revocation made by another instance ends access within this time (in the same process, at once)."`
	// The dashboard's sign-ins are sessions of their own (not refresh tokens).
	DashboardIdleTimeout time.Duration `env:"AUTH_DASHBOARD_IDLE_TIMEOUT" envDefault:"30m" doc:"A dashboard session ends after this long without the operator doing anything (loading a page, running an action; the live refreshes do not count)."`
	DashboardSessionTTL  time.Duration `env:"AUTH_DASHBOARD_SESSION_TTL" envDefault:"12h" doc:"A dashboard session ends this long after sign-in, however active."`
}

// WithDefaults returns a copy of s with every zero field but Secret,
// RefreshReuseGrace and Leeway set to its default: a zero grace (off) and a
// zero leeway (no clock skew tolerated) are choices AUTH_* may make, not
// values left unset.
func (s Settings) WithDefaults() Settings {
	config.Default(&s.Issuer, DefaultIssuer)
	config.Default(&s.Audience, DefaultAudience)
	config.Default(&s.AccessTTL, DefaultAccessTTL)
	config.Default(&s.RefreshTTL, DefaultRefreshTTL)
	config.Default(&s.SessionMaxAge, DefaultSessionMaxAge)
	config.Default(&s.LoginIPWindow, DefaultLoginIPWindow)
	config.Default(&s.LoginAccountWindow, DefaultLoginAccountWindow)
	config.Default(&s.DashboardIdleTimeout, DefaultDashboardIdleTimeout)
	config.Default(&s.DashboardSessionTTL, DefaultDashboardSessionTTL)
	config.Default(&s.Argon2MemoryKiB, DefaultArgon2MemoryKiB)
	config.Default(&s.Argon2Iterations, DefaultArgon2Iterations)
	config.Default(&s.Argon2Parallelism, DefaultArgon2Parallelism)
	config.Default(&s.LoginIPLimit, DefaultLoginIPLimit)
	config.Default(&s.LoginAccountLimit, DefaultLoginAccountLimit)
	config.Default(&s.HashQueue, DefaultHashQueue)
	config.Default(&s.HashWait, DefaultHashWait)
	config.Default(&s.RegisterIPLimit, DefaultRegisterIPLimit)
	config.Default(&s.RegisterIPWindow, DefaultRegisterIPWindow)
	config.Default(&s.SessionCheckTTL, DefaultSessionCheckTTL)
	return s
}

// Validate reports every out-of-range value, naming its variable. It does
// not judge AUTH_SECRET, which depends on APP_ENV (see resolveSecret).
func (s Settings) Validate() error {
	var memory error
	if s.Argon2MemoryKiB < 8*uint32(max(s.Argon2Parallelism, 1)) {
		memory = config.Invalid("AUTH_ARGON2_MEMORY_KIB", strconv.FormatUint(uint64(s.Argon2MemoryKiB), 10), "is too small", "use at least 8 KiB per thread; 19456 is the OWASP recommendation")
	}
	const duration = "use a duration such as 15m or 720h"
	return errors.Join(
		config.Positive("AUTH_ACCESS_TTL", s.AccessTTL, duration),
		config.Positive("AUTH_REFRESH_TTL", s.RefreshTTL, duration),
		config.Positive("AUTH_SESSION_MAX_AGE", s.SessionMaxAge, duration),
		config.Positive("AUTH_LOGIN_IP_WINDOW", s.LoginIPWindow, duration),
		config.Positive("AUTH_LOGIN_ACCOUNT_WINDOW", s.LoginAccountWindow, duration),
		config.Positive("AUTH_HASH_WAIT", s.HashWait, duration),
		config.Positive("AUTH_REGISTER_IP_WINDOW", s.RegisterIPWindow, duration),
		config.Positive("AUTH_DASHBOARD_IDLE_TIMEOUT", s.DashboardIdleTimeout, duration),
		config.Positive("AUTH_DASHBOARD_SESSION_TTL", s.DashboardSessionTTL, duration),
		config.InRange("AUTH_LEEWAY", s.Leeway, 0, 5*time.Minute, "use a duration from 0s to 5m, such as 30s"),
		config.InRange("AUTH_REFRESH_REUSE_GRACE", s.RefreshReuseGrace, 0, time.Minute, "use a duration from 0s (off) to 1m, such as 10s"),
		memory,
		config.AtLeast("AUTH_ARGON2_ITERATIONS", s.Argon2Iterations, 1, "use 2 or more"),
		config.AtLeast("AUTH_ARGON2_PARALLELISM", s.Argon2Parallelism, 1, "use 1"),
		config.AtLeast("AUTH_LOGIN_IP_LIMIT", s.LoginIPLimit, 1, "use a count such as 20"),
		config.AtLeast("AUTH_LOGIN_ACCOUNT_LIMIT", s.LoginAccountLimit, 1, "use a count such as 5"),
		config.InRange("AUTH_SESSION_CHECK_TTL", s.SessionCheckTTL, time.Nanosecond, time.Hour, "use a short duration such as 5s"),
		config.NotNegative("AUTH_HASH_CONCURRENCY", s.HashConcurrency, "use 0 for GOMAXPROCS, or a count such as 2"),
		config.AtLeast("AUTH_HASH_QUEUE", s.HashQueue, 1, "use a count such as 64"),
		config.AtLeast("AUTH_REGISTER_IP_LIMIT", s.RegisterIPLimit, 1, "use a count such as 10"),
	)
}

// hashConcurrency is AUTH_HASH_CONCURRENCY with 0 resolved to GOMAXPROCS.
func (s Settings) hashConcurrency() int {
	if s.HashConcurrency > 0 {
		return s.HashConcurrency
	}
	return runtime.GOMAXPROCS(0)
}

// errWeakSecret is the one-line start-up error for a missing, short or
// placeholder AUTH_SECRET in production.
var errWeakSecret = errors.New("auth: AUTH_SECRET must be set to a random value of at least 32 bytes in production; generate one with: openssl rand -hex 32")

// resolveSecret returns the signing key to use. In production a missing,
// short or placeholder secret is an error; in development an unusable one is
// replaced by an ephemeral random key (tokens then die with the process),
// reported by ephemeral true: the caller says so with warnEphemeral, when it
// matters (see AuthOpts.WarnLazily).
func resolveSecret(secret string, production bool) (key []byte, ephemeral bool, err error) {
	secret = strings.TrimSpace(secret)
	weak := secret == "" || secret == PlaceholderSecret || len(secret) < MinSecretBytes
	if !weak {
		return []byte(secret), false, nil
	}
	if production {
		if secret != "" && secret != PlaceholderSecret {
			return nil, false, fmt.Errorf("auth: AUTH_SECRET is %d bytes, fewer than %d; generate one with: openssl rand -hex 32", len(secret), MinSecretBytes)
		}
		return nil, false, errWeakSecret
	}
	key = make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, false, fmt.Errorf("auth: generate an ephemeral secret: %w", err)
	}
	return key, true, nil
}

// warnEphemeral logs that key is an ephemeral one standing in for AUTH_SECRET.
func warnEphemeral(logger *slog.Logger, key []byte) {
	logger.Warn("auth: AUTH_SECRET is missing, short or the placeholder; using an ephemeral random key, so tokens stop working when the app restarts. Set one generated with: openssl rand -hex 32",
		slog.String("ephemeral_key_id", hex.EncodeToString(key[:4])))
}
