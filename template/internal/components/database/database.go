// Package database is the database component: an embedded SQLite file by default, PostgreSQL
// when DATABASE_URL says so, with goose migrations contributed by each owner (component or
// service) and bun as the one query API that works on both engines.
//
// Services depend on *DB and write queries with Bun:
//
//	func NewUsers(ctx context.Context, db *database.DB) (*Users, error) { return &Users{db: db}, nil }
//
//	err := u.db.Bun().NewSelect().Model(&user).Where("email = ?", email).Scan(ctx)
//
// and ship their schema as migrations, contributed from init():
//
//	//go:embed migrations
//	var migrationFiles embed.FS
//
//	func init() {
//		registry.Contribute(registry.Default, "auth", database.MigrationsFrom(migrationFiles))
//	}
//
// The sub-package databasetest gives tests a fresh, migrated database on each engine.
package database

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"
	"github.com/uptrace/bun/dialect/sqlitedialect"
	"go.opentelemetry.io/otel/trace"
	"modernc.org/sqlite" // the SQLite driver in pure Go (no cgo); also registers "sqlite" for database/sql

	"github.com/aegisgo/aegis/template/internal/command"
	"github.com/aegisgo/aegis/template/internal/components/backend"
	"github.com/aegisgo/aegis/template/internal/components/frontend"
	"github.com/aegisgo/aegis/template/internal/config"
	"github.com/aegisgo/aegis/template/internal/runtime/netfail"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
)

// Name is the database's name as a component, in the registry, in config and as a catalog
// owner.
const Name = "database"

// Engine is the kind of database behind a DB.
type Engine string

// Engines a DB can run on.
const (
	SQLite   Engine = "sqlite"
	Postgres Engine = "postgres"
)

func init() {
	// The registry keeps registration errors and returns them from Build, so the result here
	// is already handled.
	_ = Register(registry.Default)
}

// Register adds the database component to r. init() does it for registry.Default; tests call
// it on a fresh registry.
func Register(r *registry.Registry) error {
	registry.Contribute(r, "migrate", command.Builder(migrateCmd))
	registry.Contribute(r, Name, frontend.ErrorWording(dashboardWording))
	return errors.Join(
		config.Provide[Settings](r, Name),
		registry.Provide3(r, newComponent,
			registry.Component(Name),
			registry.Describe("SQL database: embedded SQLite or PostgreSQL, bun queries, goose migrations"),
		),
	)
}

// newComponent opens the database; with the observability component's tracer provider,
// queries made inside a trace get a span each (queryTracer).
func newComponent(ctx context.Context, s Settings, migrations registry.All[Migrations],
	telemetry registry.Maybe[backend.Telemetry]) (*DB, error) {
	db, err := OpenWith(ctx, s, migrations)
	if err != nil {
		return nil, err
	}
	if tp := telemetry.Value.TracerProvider; tp != nil {
		db.TraceQueries(tp)
	}
	return db, nil
}

// TraceQueries makes a span with tp for every query run inside a trace. Call it before the
// database is shared: bun's hooks are not safe to add while queries run.
func (db *DB) TraceQueries(tp trace.TracerProvider) {
	db.bun = db.bun.WithQueryHook(newQueryTracer(tp, db.engine))
}

// DB is the database component: one connection pool, the bun handle on it, and the
// migrations of every owner. It is safe for concurrent use. Start checks the connection and
// migrates (or refuses to run un-migrated), Stop closes it.
type DB struct {
	engine     Engine
	settings   Settings
	target     target
	sql        *sql.DB
	pool       *pgxpool.Pool
	bun        *bun.DB
	migrations *migrationSet

	closeOnce sync.Once
	closed    chan struct{} // closed once Close has finished
	closeErr  error
}

// Open opens the database s.URL names, with s's defaults filled in and the migrations
// contributed to registry.Default (every owner linked into the binary). It does not connect
// yet (Ping or Start do), so it fails only on bad settings or, for SQLite, a folder it cannot
// create. The caller must Close the DB.
func Open(ctx context.Context, s Settings) (*DB, error) {
	return open(ctx, s, defaultMigrations())
}

// OpenWith is Open with the given migrations instead of registry.Default's: the component's
// constructor passes those of its container.
func OpenWith(ctx context.Context, s Settings, migrations registry.All[Migrations]) (*DB, error) {
	return open(ctx, s, newMigrationSet(migrations))
}

func open(ctx context.Context, s Settings, migrations *migrationSet) (*DB, error) {
	s = s.WithDefaults()
	if err := s.Validate(); err != nil {
		return nil, err
	}
	t, err := parseURL(s.URL)
	if err != nil {
		return nil, err
	}
	db := &DB{engine: t.engine, settings: s, target: t, migrations: migrations, closed: make(chan struct{})}
	switch t.engine {
	case SQLite:
		err = db.openSQLite()
	default:
		err = db.openPostgres(ctx)
	}
	if err != nil {
		return nil, err
	}
	return db, nil
}

// openSQLite opens the file with the settings that make concurrent use safe:
//   - WAL, so readers never block the writer and the writer never blocks readers;
//   - _txlock=immediate, so every transaction takes the write lock when it begins. With
//     SQLite's default (deferred) a transaction that reads and then writes must upgrade its
//     lock, and when another writer got there first SQLite fails it at once with "database
//     is locked" (SQLITE_BUSY_SNAPSHOT) without waiting: the busy timeout cannot help.
//   - busy_timeout, so a writer waits its turn for the lock instead of failing;
//   - foreign_keys, which SQLite leaves off by default;
//   - synchronous=NORMAL, which is durable across application crashes in WAL mode and much
//     faster than FULL.
func (db *DB) openSQLite() error {
	path := db.target.path
	if path != ":memory:" && !strings.HasPrefix(path, "file:") {
		created, err := createPrivate(path)
		if err != nil {
			return db.unreachable(err)
		}
		if created {
			// Said once, with the absolute path: a relative DATABASE_URL (the default) run
			// from another folder makes a new, empty database there, and a command's
			// "user not found" would otherwise not say why.
			abs, _ := filepath.Abs(path)
			attrs := []any{"path", abs}
			if !filepath.IsAbs(path) {
				attrs = append(attrs, "hint", "a relative DATABASE_URL is read from the current folder")
			}
			slog.Info("database: created a new, empty SQLite database", attrs...)
		}
	}
	q := url.Values{}
	q.Add("_pragma", "busy_timeout("+strconv.FormatInt(db.settings.BusyTimeout.Milliseconds(), 10)+")")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Set("_txlock", "immediate")
	// Parameters in DATABASE_URL come last so they can add pragmas or override ours.
	for k, vs := range db.target.query {
		if k != "_pragma" {
			q.Del(k)
		}
		for _, v := range vs {
			q.Add(k, v)
		}
	}
	conns, err := sqlite.NewConnector(path + "?" + q.Encode())
	if err != nil {
		return fmt.Errorf("database: open %s: %w", path, err)
	}
	// Each connection keeps its repeated statements compiled (stmtcache.go).
	sqlDB := sql.OpenDB(cachingConnector{Connector: conns, size: stmtCacheSize})
	maxConns := db.settings.MaxConns
	if path == ":memory:" {
		// Every connection to :memory: is a database of its own: keep exactly one, forever.
		maxConns = 1
	}
	sqlDB.SetMaxOpenConns(maxConns)
	// Keep the connections: opening one re-runs the pragmas, and a file has no server
	// that would time idle ones out.
	sqlDB.SetMaxIdleConns(maxConns)
	db.sql = sqlDB
	db.bun = bun.NewDB(sqlDB, sqlitedialect.New())
	return nil
}

// createPrivate makes the SQLite file, and the folder for it, readable by
// the app's user only (0600 and 0700, like .env): the file holds password
// hashes and sessions. SQLite gives its -wal and -shm files the mode of the
// database file, so they follow. Both are set with chmod after creating, so
// the umask cannot widen them; an existing file or folder is left as it is. It reports
// whether it created the file.
func createPrivate(path string) (bool, error) {
	if dir := filepath.Dir(path); dir != "." {
		if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return false, fmt.Errorf("database: create folder for %s: %w", path, err)
			}
			if err := os.Chmod(dir, 0o700); err != nil {
				return false, fmt.Errorf("database: restrict folder for %s: %w", path, err)
			}
		}
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	switch {
	case errors.Is(err, fs.ErrExist):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("database: create %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return false, fmt.Errorf("database: create %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		return false, fmt.Errorf("database: restrict %s: %w", path, err)
	}
	return true, nil
}

func (db *DB) openPostgres(ctx context.Context) error {
	cfg := db.target.pg
	cfg.MaxConns = int32(db.settings.MaxConns)
	cfg.MinConns = int32(db.settings.MinConns)
	cfg.MaxConnLifetime = db.settings.MaxConnLifetime
	cfg.MaxConnIdleTime = db.settings.MaxConnIdleTime
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = db.settings.ConnectTimeout
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("database: open %s: %w", db.target.display, err)
	}
	db.pool = pool
	db.sql = stdlib.OpenDBFromPool(pool)
	db.bun = bun.NewDB(db.sql, pgdialect.New())
	return nil
}

// Engine reports which database this is.
func (db *DB) Engine() Engine { return db.engine }

// SQL returns the database/sql handle, for libraries that want one. On PostgreSQL it borrows
// connections from Pool.
func (db *DB) SQL() *sql.DB { return db.sql }

// Pool returns the pgx pool on PostgreSQL, for code that needs pgx itself (River's driver,
// COPY, LISTEN); nil on SQLite.
func (db *DB) Pool() *pgxpool.Pool { return db.pool }

// Bun returns the bun handle services write their queries with: one model and one query
// builder for both engines.
func (db *DB) Bun() *bun.DB { return db.bun }

// Settings returns the settings the DB was opened with, defaults filled in.
func (db *DB) Settings() Settings { return db.settings }

// String names the database without its password: "sqlite://data/app.db",
// "postgres://app:xxxxx@db:5432/app".
func (db *DB) String() string { return db.target.display }

// Ping checks that the database answers, within ctx.
func (db *DB) Ping(ctx context.Context) error {
	select {
	case <-db.closed:
		return ErrClosed
	default:
	}
	var err error
	if db.pool != nil {
		err = db.pool.Ping(ctx)
	} else {
		// PingContext only checks out a connection; a query proves the file is readable.
		_, err = db.sql.ExecContext(ctx, "SELECT 1")
	}
	if err != nil {
		return fmt.Errorf("database: ping %s: %w", db.target.display, err)
	}
	return nil
}

// ErrClosed is returned by Ping (and reported by CheckHealth) after Close.
var ErrClosed = errors.New("database: closed")

// ErrPendingMigrations is wrapped by Start's error when AUTO_MIGRATE is false and the
// database lacks migrations.
var ErrPendingMigrations = errors.New("database: migrations pending")

// ErrNothingApplied is the error MigrateDown wraps when the owner has no applied migration:
// nothing to roll back, which the migrate command reports as done rather than failed.
var ErrNothingApplied = errors.New("no migration is applied")

// Start connects (bounded by DATABASE_CONNECT_TIMEOUT) and then, with AUTO_MIGRATE=true,
// applies pending migrations; with AUTO_MIGRATE=false it refuses to start while any are
// pending, because the code would then query tables that do not exist yet.
func (db *DB) Start(ctx context.Context) error {
	pingCtx, cancel := context.WithTimeout(ctx, db.settings.ConnectTimeout)
	err := db.Ping(pingCtx)
	cancel()
	if err != nil {
		return db.unreachable(err)
	}
	// Nearly every start finds the schema up to date: one query says so, where goose asks
	// each owner's table in turn (with a lock on PostgreSQL). Anything else, a version table
	// missing included, goes the long way, where goose decides.
	if done, err := db.allApplied(ctx); err == nil && done {
		return nil
	}
	if db.settings.AutoMigrate {
		if _, err := db.MigrateUp(ctx); err != nil {
			return err
		}
		return nil
	}
	status, err := db.MigrationStatus(ctx)
	if err != nil {
		return err
	}
	return pendingError(status, CommandName())
}

// Stop closes the database, waiting at most until ctx is done for queries in flight.
func (db *DB) Stop(ctx context.Context) error {
	done := make(chan error, 1)
	go func() { done <- db.Close() }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("database: close %s: %w", db.target.display, ctx.Err())
	}
}

// Close closes the database and its pool. It waits for queries in flight; calling it again
// returns the first call's result.
func (db *DB) Close() error {
	db.closeOnce.Do(func() {
		// Closing bun closes the *sql.DB; on PostgreSQL that releases the connections it
		// borrowed, and then the pool itself closes.
		if err := db.bun.Close(); err != nil {
			db.closeErr = fmt.Errorf("database: close %s: %w", db.target.display, err)
		}
		if db.pool != nil {
			db.pool.Close()
		}
		close(db.closed)
	})
	return db.closeErr
}

// CheckHealth pings the database within ctx (the health timeout) and reports the pool's
// numbers, so /health/detailed shows how busy it is. An unreachable or closed database is
// unhealthy.
func (db *DB) CheckHealth(ctx context.Context) registry.Health {
	details := db.details()
	start := time.Now()
	if err := db.Ping(ctx); err != nil {
		// The driver's text stays in a debug line: the message is shown by /health/detailed.
		slog.DebugContext(ctx, "database: health check failed", "err", err)
		return registry.Health{Status: registry.StatusUnhealthy, Message: "database: " + db.Problem(err), Details: details}
	}
	details["ping_ms"] = float64(time.Since(start)) / float64(time.Millisecond)
	return registry.Health{Status: registry.StatusHealthy, Message: "reachable", Details: details}
}

// Ready is the database's readiness (registry.ReadinessChecker): it answers a ping.
func (db *DB) Ready(ctx context.Context) error { return db.Ping(ctx) }

// details describes the database and its connections, without secrets.
func (db *DB) details() map[string]any {
	d := map[string]any{"engine": string(db.engine)}
	if db.engine == SQLite {
		d["path"] = db.where()
	} else {
		cc := db.target.pg.ConnConfig
		d["host"] = db.where()
		d["database"] = cc.Database
		d["user"] = cc.User
	}
	st := db.PoolStats()
	d["open"], d["in_use"], d["idle"], d["max_open"] = st.Open, st.InUse, st.Idle, st.Max
	d["waits"], d["wait_ms"] = st.Waits, float64(st.WaitDuration)/float64(time.Millisecond)
	return d
}

var (
	_ registry.Starter          = (*DB)(nil)
	_ registry.Stopper          = (*DB)(nil)
	_ registry.HealthChecker    = (*DB)(nil)
	_ registry.ReadinessChecker = (*DB)(nil)
)

// unreachableError is Start's failure to reach the database, or Open's to create the SQLite
// file. Its message is Problem's line (the server's host:port or the file, the cause and the
// fix in DATABASE_URL, never the user or the password): the driver's own text names the user
// and the database and repeats what the cause already says. It is a registry.StandaloneError,
// so a command started against a database that is down or missing reads as this line alone,
// not behind "start database (registered at <source path>)"; Unwrap keeps the driver's error
// for errors.Is and the logs.
type unreachableError struct {
	problem string
	err     error
}

// unreachable is err, from connecting to or creating db, as an unreachableError. A connection
// that timed out says which setting bounded it (DATABASE_CONNECT_TIMEOUT), and one cancelled
// says so instead of health's "check cancelled".
func (db *DB) unreachable(err error) error {
	p := db.Problem(err)
	_, isPg := errors.AsType[*pgconn.PgError](err)
	switch kind := netfail.Classify(err); {
	case isPg: // the server answered: Problem's line says what it refused
	case kind == netfail.Canceled:
		p = "connecting to " + db.where() + " was cancelled"
	case kind == netfail.Timeout && db.engine != SQLite:
		p += " (DATABASE_CONNECT_TIMEOUT=" + db.settings.ConnectTimeout.String() +
			"); check the host in DATABASE_URL and that the server is running, or raise DATABASE_CONNECT_TIMEOUT"
	}
	return &unreachableError{problem: p, err: err}
}

func (e *unreachableError) Error() string    { return "database: " + e.problem }
func (e *unreachableError) Unwrap() error    { return e.err }
func (e *unreachableError) Standalone() bool { return true }
