package database

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/aegisgo/aegis/template/internal/config"
)

// Defaults for Settings; the env tags below repeat them as text.
const (
	DefaultURL             = "sqlite://data/app.db"
	DefaultMaxConns        = 10
	DefaultMaxConnLifetime = time.Hour
	DefaultMaxConnIdleTime = 30 * time.Minute
	DefaultConnectTimeout  = 5 * time.Second
	DefaultBusyTimeout     = 5 * time.Second
)

// Settings configure the database. Load them with config.Load[Settings]; a literal needs
// WithDefaults, which fills every zero field. AutoMigrate has no zero-value default: a
// literal leaves it false, so code that builds Settings by hand migrates explicitly.
type Settings struct {
	URL             string        `env:"DATABASE_URL" envDefault:"sqlite://data/app.db" doc:"Where the data lives: sqlite://path/to/file.db (embedded, the folder is created) or postgres://user:password@host:5432/dbname."`
	AutoMigrate     bool          `env:"AUTO_MIGRATE" envDefault:"true" doc:"Apply pending migrations when the app starts; the development default. Set false in production and run the binary's 'migrate up' command as a deploy step."`
	MaxConns        int           `env:"DATABASE_MAX_CONNS" envDefault:"10" doc:"Most connections open at once (PostgreSQL pool size; SQLite readers, writers still go one at a time)."`
	MinConns        int           `env:"DATABASE_MIN_CONNS" envDefault:"0" doc:"PostgreSQL only: connections the pool keeps open even when idle."`
	MaxConnLifetime time.Duration `env:"DATABASE_MAX_CONN_LIFETIME" envDefault:"1h" doc:"PostgreSQL only: a connection older than this is closed and replaced."`
	MaxConnIdleTime time.Duration `env:"DATABASE_MAX_CONN_IDLE_TIME" envDefault:"30m" doc:"PostgreSQL only: an idle connection is closed after this long."`
	ConnectTimeout  time.Duration `env:"DATABASE_CONNECT_TIMEOUT" envDefault:"5s" doc:"How long connecting (and the start-up check) may take before the app gives up."`
	BusyTimeout     time.Duration `env:"DATABASE_BUSY_TIMEOUT" envDefault:"5s" doc:"SQLite only: how long a write waits for another writer before failing."`
}

// WithDefaults returns a copy of s with every zero field but AutoMigrate and MinConns set to
// its default.
func (s Settings) WithDefaults() Settings {
	config.Default(&s.URL, DefaultURL)
	config.Default(&s.MaxConns, DefaultMaxConns)
	config.Default(&s.MaxConnLifetime, DefaultMaxConnLifetime)
	config.Default(&s.MaxConnIdleTime, DefaultMaxConnIdleTime)
	config.Default(&s.ConnectTimeout, DefaultConnectTimeout)
	config.Default(&s.BusyTimeout, DefaultBusyTimeout)
	return s
}

// Validate reports every bad value at once, each naming its variable.
func (s Settings) Validate() error {
	_, urlErr := parseURL(s.URL)
	// MIN_CONNS may not exceed a valid MAX_CONNS; a bad MAX_CONNS is reported on its own.
	maxMinConns := max(s.MinConns, 0)
	if s.MaxConns >= 1 {
		maxMinConns = s.MaxConns
	}
	const duration = "use a duration such as 5s or 1m"
	return errors.Join(
		urlErr,
		config.AtLeast("DATABASE_MAX_CONNS", s.MaxConns, 1, "use a pool size such as 10"),
		config.InRange("DATABASE_MIN_CONNS", s.MinConns, 0, maxMinConns, "use a number from 0 to DATABASE_MAX_CONNS"),
		config.Positive("DATABASE_MAX_CONN_LIFETIME", s.MaxConnLifetime, duration),
		config.Positive("DATABASE_MAX_CONN_IDLE_TIME", s.MaxConnIdleTime, duration),
		config.Positive("DATABASE_CONNECT_TIMEOUT", s.ConnectTimeout, duration),
		config.Positive("DATABASE_BUSY_TIMEOUT", s.BusyTimeout, duration),
	)
}

// target is DATABASE_URL taken apart.
type target struct {
	engine Engine
	// path is the SQLite file and query the extra DSN parameters given in the URL.
	path  string
	query url.Values
	// pg is the parsed PostgreSQL configuration.
	pg *pgxpool.Config
	// display is the URL without its password, for logs, errors and health details.
	display string
}

const urlFix = "use sqlite://data/app.db (embedded) or postgres://user:password@host:5432/dbname"

// parseURL splits DATABASE_URL into an engine and its connection settings. SQLite URLs are
// not parsed with net/url: in sqlite://data/app.db the "host" would be "data", and a
// relative path is what people write. Its errors name DATABASE_URL and never show its
// value, which may hold a password (in the URL, or in a key=value DSN pasted by mistake);
// the parsers' own errors quote their input, so they are kept for errors.Is/As only.
func parseURL(raw string) (target, error) {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		reason := "has no scheme"
		if strings.Contains(raw, "=") {
			reason = "looks like a key=value connection string, which is not supported"
		}
		return target{}, config.InvalidSecret("DATABASE_URL", reason, urlFix)
	}
	switch strings.ToLower(scheme) {
	case "sqlite", "sqlite3":
		path, rawQuery, _ := strings.Cut(rest, "?")
		if path == "" {
			return target{}, config.InvalidSecret("DATABASE_URL", "has no file path", "use sqlite://data/app.db, or sqlite:///absolute/path.db")
		}
		q, err := url.ParseQuery(rawQuery)
		if err != nil {
			return target{}, &config.Error{Var: "DATABASE_URL", Secret: true, Reason: "has a bad query string (a stray % or an unescaped character)", Fix: urlFix, Err: err}
		}
		return target{engine: SQLite, path: path, query: q, display: "sqlite://" + path}, nil
	case "postgres", "postgresql":
		cfg, err := pgxpool.ParseConfig(raw)
		if err != nil {
			return target{}, &config.Error{Var: "DATABASE_URL", Secret: true,
				Reason: "is not a valid PostgreSQL URL (check the %-escapes in the password, the port and parameters such as sslmode)",
				Fix:    urlFix, Err: err}
		}
		return target{engine: Postgres, pg: cfg, display: redact(raw)}, nil
	default:
		if !validScheme(scheme) {
			return target{}, config.InvalidSecret("DATABASE_URL", "has no valid scheme", urlFix)
		}
		return target{}, config.InvalidSecret("DATABASE_URL", fmt.Sprintf("has an unsupported scheme %q", scheme), urlFix)
	}
}

// validScheme reports whether s is a URL scheme (RFC 3986: a letter, then letters, digits,
// +, - or .), so that it can be shown: anything else may be part of a secret.
func validScheme(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for i, c := range s {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case i > 0 && (c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.'):
		default:
			return false
		}
	}
	return true
}

// redact hides the password of a URL, in its user part and in the parameters pgx also takes
// one from (?password=, ?sslpassword=, which url.Redacted leaves as they are); what does not
// parse as a URL with a scheme and a host is not shown at all, since it may still hold one.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || u.Host == "" || u.Opaque != "" {
		return "(DATABASE_URL, not shown)"
	}
	if u.RawQuery != "" {
		// Parameter by parameter, so that the others keep their order and spelling.
		params := strings.Split(u.RawQuery, "&")
		for i, p := range params {
			// A key with a bad %-escape never gets here: pgx refused the URL before.
			k, _, _ := strings.Cut(p, "=")
			if k, _ = url.QueryUnescape(k); k == "password" || k == "sslpassword" {
				params[i] = k + "=xxxxx"
			}
		}
		u.RawQuery = strings.Join(params, "&")
	}
	return u.Redacted()
}
