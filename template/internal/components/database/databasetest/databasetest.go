// Package databasetest gives tests a fresh, fully migrated database on each engine:
//
//	func TestSignup(t *testing.T) {
//		databasetest.Engines(t, func(t *testing.T, db *database.DB) {
//			t.Parallel()
//			users := NewUsers(db)
//			...
//		})
//	}
//
// SQLite needs nothing: each database is a new file in t.TempDir(). PostgreSQL runs when
// TEST_DATABASE_URL names a server where the user may create databases (for example
// postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable); without it the postgres
// subtests skip with a message naming the variable. Each PostgreSQL test gets its own
// database, copied with CREATE DATABASE … TEMPLATE from a template migrated once (the
// template is named after a digest of the migrations, so test processes with the same
// migrations share it and a changed migration builds a new one) and dropped when the test
// ends. Tests can therefore run in parallel, in one process and across packages.
package databasetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/aegisgo/aegis/template/internal/components/database"
	"github.com/aegisgo/aegis/template/internal/components/frontend"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
)

// EnvURL is the variable that enables the PostgreSQL tests.
const EnvURL = "TEST_DATABASE_URL"

// MaxConns is the pool size of test databases: small, so many parallel tests fit in the
// server's max_connections.
const MaxConns = 4

// Engines runs fn as the subtests "sqlite" and "postgres", each on a fresh, fully migrated
// database (see New). fn may call t.Parallel.
func Engines(t *testing.T, fn func(t *testing.T, db *database.DB)) {
	t.Helper()
	ForEachEngine(t, func(t *testing.T, engine database.Engine) {
		t.Helper()
		fn(t, New(t, engine))
	})
}

// Parallel is Engines for a test that runs in parallel with others, and whose two engines run in
// parallel with each other: each on its own database, so they share nothing.
func Parallel(t *testing.T, fn func(t *testing.T, db *database.DB)) {
	t.Helper()
	t.Parallel()
	ForEachEngine(t, func(t *testing.T, engine database.Engine) {
		t.Helper()
		t.Parallel()
		fn(t, New(t, engine))
	})
}

// ForEachEngine runs fn as the subtests "sqlite" and "postgres"; the postgres one skips
// when TEST_DATABASE_URL is not set. For tests that need more than New gives, such as an
// empty database from Settings.
func ForEachEngine(t *testing.T, fn func(t *testing.T, engine database.Engine)) {
	t.Helper()
	for _, engine := range []database.Engine{database.SQLite, database.Postgres} {
		t.Run(string(engine), func(t *testing.T) {
			t.Helper()
			if engine == database.Postgres {
				SkipWithoutPostgres(t)
			}
			fn(t, engine)
		})
	}
}

// SkipWithoutPostgres skips t when TEST_DATABASE_URL is not set.
func SkipWithoutPostgres(t testing.TB) {
	t.Helper()
	if os.Getenv(EnvURL) == "" {
		t.Skipf("databasetest: %s is not set; set it to a PostgreSQL URL such as postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable to run the PostgreSQL tests", EnvURL)
	}
}

// New returns a fresh database of engine with every registered migration applied, closed
// (and on PostgreSQL dropped) when the test ends.
func New(t testing.TB, engine database.Engine) *database.DB {
	t.Helper()
	var s database.Settings
	if engine == database.Postgres {
		SkipWithoutPostgres(t)
		tpl, err := templateDB()
		if err != nil {
			t.Fatal(err)
		}
		s = createDB(t, tpl)
	} else {
		s = Settings(t, engine)
	}
	db := open(t, s)
	if engine == database.SQLite {
		if _, err := db.MigrateUp(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	return db
}

// Settings returns the settings of a fresh, empty (un-migrated) database of engine, removed
// when the test ends. The caller opens it.
func Settings(t testing.TB, engine database.Engine) database.Settings {
	t.Helper()
	if engine == database.SQLite {
		return settings("sqlite://" + filepath.Join(t.TempDir(), "test.db"))
	}
	SkipWithoutPostgres(t)
	return createDB(t, "")
}

func settings(u string) database.Settings {
	return database.Settings{URL: u, MaxConns: MaxConns}.WithDefaults()
}

func open(t testing.TB, s database.Settings) *database.DB {
	t.Helper()
	db, err := database.Open(t.Context(), s)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("databasetest: %v", err)
		}
	}) // registered after the drop in createDB, so it runs before it
	return db
}

// admin is the connection to TEST_DATABASE_URL's database that creates and drops test
// databases, shared by the whole test process.
var admin = sync.OnceValues(func() (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(os.Getenv(EnvURL))
	if err != nil {
		return nil, fmt.Errorf("databasetest: %s: %w", EnvURL, err)
	}
	cfg.MaxConns = 4
	return pgxpool.NewWithConfig(context.Background(), cfg)
})

// createDB creates a uniquely named database (from template tpl, or empty) and drops it when
// the test ends.
func createDB(t testing.TB, tpl string) database.Settings {
	t.Helper()
	pool, err := admin()
	if err != nil {
		t.Fatal(err)
	}
	name := "aegis_test_" + randomHex()
	stmt := "CREATE DATABASE " + quote(name)
	if tpl != "" {
		stmt += " TEMPLATE " + quote(tpl)
	}
	if _, err := pool.Exec(t.Context(), stmt); err != nil {
		t.Fatalf("databasetest: %s: %v", stmt, err)
	}
	t.Cleanup(func() {
		// A fresh context: the test's own is already cancelled when cleanups run.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := pool.Exec(ctx, "DROP DATABASE IF EXISTS "+quote(name)+" WITH (FORCE)"); err != nil {
			t.Errorf("databasetest: drop database %s: %v", name, err)
		}
	})
	u, err := dbURL(name)
	if err != nil {
		t.Fatal(err)
	}
	return settings(u)
}

// templateDB returns the name of the migrated template database, building it the first time
// this process asks. It is built under a temporary name and renamed when complete, so no
// process ever copies a half-migrated template, and two processes racing to build it both
// succeed (the loser drops its copy).
var templateDB = sync.OnceValues(func() (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	sum, err := database.MigrationsChecksum(database.Postgres)
	if err != nil {
		return "", err
	}
	name := "aegis_tpl_" + sum[:16]
	pool, err := admin()
	if err != nil {
		return "", err
	}
	var exists bool
	if err := pool.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return "", fmt.Errorf("databasetest: look for template %s: %w", name, err)
	}
	if exists {
		return name, nil
	}
	tmp := name + "_tmp_" + randomHex()[:8]
	if _, err := pool.Exec(ctx, "CREATE DATABASE "+quote(tmp)); err != nil {
		return "", fmt.Errorf("databasetest: create template: %w", err)
	}
	if err := migrate(ctx, tmp); err != nil {
		_, _ = pool.Exec(ctx, "DROP DATABASE IF EXISTS "+quote(tmp)+" WITH (FORCE)")
		return "", err
	}
	_, err = pool.Exec(ctx, "ALTER DATABASE "+quote(tmp)+" RENAME TO "+quote(name))
	if pgErr, ok := errors.AsType[*pgconn.PgError](err); ok && pgErr.Code == "42P04" {
		// duplicate_database: another process finished first; use its template.
		_, _ = pool.Exec(ctx, "DROP DATABASE IF EXISTS "+quote(tmp)+" WITH (FORCE)")
		return name, nil
	}
	if err != nil {
		_, _ = pool.Exec(ctx, "DROP DATABASE IF EXISTS "+quote(tmp)+" WITH (FORCE)")
		return "", fmt.Errorf("databasetest: rename template: %w", err)
	}
	return name, nil
})

// migrate applies every registered migration to database name and disconnects, since
// PostgreSQL copies (and renames) only a database nobody is connected to.
func migrate(ctx context.Context, name string) error {
	u, err := dbURL(name)
	if err != nil {
		return err
	}
	db, err := database.Open(ctx, settings(u))
	if err != nil {
		return err
	}
	_, err = db.MigrateUp(ctx)
	return errors.Join(err, db.Close())
}

// dbURL is TEST_DATABASE_URL pointed at database name.
func dbURL(name string) (string, error) {
	u, err := url.Parse(os.Getenv(EnvURL))
	if err != nil {
		return "", fmt.Errorf("databasetest: %s: %w", EnvURL, err)
	}
	u.Path = "/" + name
	u.RawPath = ""
	return u.String(), nil
}

func randomHex() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return hex.EncodeToString(b)
}

// quote quotes an identifier; the names here are generated, but quoting keeps them inert.
func quote(name string) string { return `"` + name + `"` }

// RefuseConnections makes every query of db (a PostgreSQL one from New) fail from now until
// the test ends, with pgx's "failed to connect to `user=... database=...`": the server refuses
// new connections to db's database and db's pool drops its own, so a test can check that what
// it shows of the failure names neither (Refused.Check).
func RefuseConnections(t testing.TB, db *database.DB) Refused {
	t.Helper()
	cfg := db.Pool().Config().ConnConfig
	admin, err := pgx.Connect(t.Context(), os.Getenv(EnvURL))
	if err != nil {
		t.Fatal(err)
	}
	quoted := pgx.Identifier{cfg.Database}.Sanitize()
	if _, err := admin.Exec(t.Context(), "ALTER DATABASE "+quoted+" ALLOW_CONNECTIONS false"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// Before New's cleanup drops it (cleanups run last added first).
		if _, err := admin.Exec(context.Background(), "ALTER DATABASE "+quoted+" ALLOW_CONNECTIONS true"); err != nil {
			t.Error(err)
		}
		_ = admin.Close(context.Background())
	})
	db.Pool().Reset()
	return Refused{User: cfg.User, Database: cfg.Database, Host: cfg.Host}
}

// Refused is a database RefuseConnections made refuse connections: its user and name, which
// pgx's text names and a page must not show, and its host, which the database's Problem line
// names.
type Refused struct{ User, Database, Host string }

// Check fails t when body (what: a panel, a flash) does not say says or shows the driver's
// text of the failure.
func (r Refused) Check(t testing.TB, what, body, says string) {
	t.Helper()
	if !strings.Contains(body, says) {
		t.Errorf("%s does not say %q:\n%s", what, says, body)
	}
	for _, leak := range []string{"user=", r.User + " ", r.Database} {
		if strings.Contains(body, leak) {
			t.Errorf("%s shows %q:\n%s", what, leak, body)
		}
	}
}

// Worded is the dashboard's options with db's Problem as its ErrorWording, as the database
// component contributes it in an app.
func Worded(db *database.DB) *frontend.Opts {
	return &frontend.Opts{Wording: func(_ *registry.Container, err error) string { return db.Problem(err) }}
}
