package database_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/uptrace/bun"

	"github.com/aegisgo/aegis/template/internal/components/database"
	"github.com/aegisgo/aegis/template/internal/components/database/databasetest"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
	"github.com/aegisgo/aegis/template/internal/runtime/testserver"
)

func TestOpenAndQuery(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		ctx := t.Context()
		w, err := insertWidget(ctx, db.Bun(), "gear")
		if err != nil {
			t.Fatal(err)
		}
		if w.ID == 0 {
			t.Error("insert did not return the generated id")
		}
		var got widget
		if err := db.Bun().NewSelect().Model(&got).Where("name = ?", "gear").Scan(ctx); err != nil {
			t.Fatal(err)
		}
		if got.ID != w.ID || got.CreatedAt.IsZero() {
			t.Errorf("selected %+v, want id %d and a creation time", got, w.ID)
		}
		// The database/sql handle sees the same data.
		var n int
		if err := db.SQL().QueryRowContext(ctx, "SELECT count(*) FROM dbtest_widgets").Scan(&n); err != nil || n != 1 {
			t.Errorf("SQL count = %d, %v; want 1", n, err)
		}
		if (db.Pool() != nil) != (db.Engine() == database.Postgres) {
			t.Errorf("engine %s: Pool() = %v; want a pool on postgres only", db.Engine(), db.Pool())
		}
	})
}

func TestForeignKeysEnforced(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		_, err := db.Bun().NewInsert().Model(&part{WidgetID: 999, Label: "orphan"}).Exec(t.Context())
		if err == nil {
			t.Error("a part of a missing widget was inserted; foreign keys are off")
		}
	})
}

func TestUniqueViolation(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		ctx := t.Context()
		if _, err := insertWidget(ctx, db.Bun(), "gear"); err != nil {
			t.Fatal(err)
		}
		_, dup := insertWidget(ctx, db.Bun(), "gear")
		_, pk := db.Bun().NewInsert().Model(&widget{ID: 1, Name: "other"}).Exec(ctx)
		_, fk := db.Bun().NewInsert().Model(&part{WidgetID: 999, Label: "x"}).Exec(ctx)
		tests := []struct {
			name string
			err  error
			want bool
		}{
			{"duplicate unique column", dup, true},
			{"duplicate primary key", pk, true},
			{"wrapped", fmt.Errorf("users: create: %w", dup), true},
			{"foreign key violation", fk, false},
			{"other error", errors.New("boom"), false},
			{"nil", nil, false},
		}
		for _, tt := range tests {
			if got := database.IsUniqueViolation(tt.err); got != tt.want {
				t.Errorf("%s: IsUniqueViolation(%v) = %v, want %v", tt.name, tt.err, got, tt.want)
			}
		}
	})
}

func TestInTx(t *testing.T) {
	t.Parallel()
	errAbort := errors.New("abort")
	tests := []struct {
		name      string
		fn        func(ctx context.Context, tx bun.Tx) error
		wantErr   error
		wantPanic bool
		wantRows  int
	}{
		{"commit", func(ctx context.Context, tx bun.Tx) error {
			_, err := insertWidget(ctx, tx, "a")
			return err
		}, nil, false, 1},
		{"rollback on error", func(ctx context.Context, tx bun.Tx) error {
			if _, err := insertWidget(ctx, tx, "a"); err != nil {
				return err
			}
			return errAbort
		}, errAbort, false, 0},
		{"rollback on panic", func(ctx context.Context, tx bun.Tx) error {
			if _, err := insertWidget(ctx, tx, "a"); err != nil {
				return err
			}
			panic("boom")
		}, nil, true, 0},
		{"rollback on a failed statement", func(ctx context.Context, tx bun.Tx) error {
			if _, err := insertWidget(ctx, tx, "a"); err != nil {
				return err
			}
			_, err := insertWidget(ctx, tx, "a")
			return err
		}, nil, false, 0},
	}
	databasetest.Engines(t, func(t *testing.T, db *database.DB) {
		t.Parallel()
		for _, tt := range tests {
			if _, err := db.Bun().NewDelete().Model((*widget)(nil)).Where("1 = 1").Exec(t.Context()); err != nil {
				t.Fatal(err)
			}
			var err error
			panicked := func() (p bool) {
				defer func() { p = recover() != nil }()
				err = db.InTx(t.Context(), tt.fn)
				return false
			}()
			switch {
			case panicked != tt.wantPanic:
				t.Errorf("%s: panicked = %v, want %v", tt.name, panicked, tt.wantPanic)
			case tt.wantErr != nil && !errors.Is(err, tt.wantErr):
				t.Errorf("%s: InTx = %v, want %v", tt.name, err, tt.wantErr)
			case tt.wantErr == nil && tt.wantRows == 1 && err != nil:
				t.Errorf("%s: InTx = %v", tt.name, err)
			}
			if n := countWidgets(t, db); n != tt.wantRows {
				t.Errorf("%s: %d widgets after InTx, want %d", tt.name, n, tt.wantRows)
			}
		}
		// The pool is whole again: a rolled-back (or panicking) transaction gave back its
		// connection and, on SQLite, the write lock.
		if _, err := insertWidget(t.Context(), db.Bun(), "after"); err != nil {
			t.Errorf("insert after the transactions: %v", err)
		}
	})
}

func TestMigrations(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		ctx := t.Context()
		counts := func() (applied, pending int) {
			t.Helper()
			st, err := db.MigrationStatus(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range st {
				if s.Owner == testOwner {
					return s.Counts()
				}
			}
			t.Fatalf("status %+v has no owner %s", st, testOwner)
			return 0, 0
		}
		steps := []struct {
			name        string
			do          func() error
			wantErr     string
			wantApplied int
		}{
			{"fully migrated", func() error { return nil }, "", 2},
			{"up is idempotent", func() error {
				done, err := db.MigrateUp(ctx)
				if err == nil && len(done) != 0 {
					err = fmt.Errorf("applied %v again", done)
				}
				return err
			}, "", 2},
			{"down one step", func() error {
				r, err := db.MigrateDown(ctx, testOwner)
				if err == nil && (r.Version != 2 || r.File != "00002_parts.sql") {
					err = fmt.Errorf("rolled back %+v, want version 2", r)
				}
				if err == nil {
					// The table of migration 2 is gone, that of migration 1 is not.
					if _, qerr := db.SQL().ExecContext(ctx, "SELECT 1 FROM dbtest_parts"); qerr == nil {
						err = errors.New("dbtest_parts still exists")
					}
				}
				return err
			}, "", 1},
			{"down again", func() error { _, err := db.MigrateDown(ctx, testOwner); return err }, "", 0},
			{"down with nothing applied", func() error { _, err := db.MigrateDown(ctx, testOwner); return err }, `database: migrate "dbtest" down: no migration is applied`, 0},
			{"down of an unknown owner", func() error { _, err := db.MigrateDown(ctx, "nobody"); return err }, `database: no migrations registered for owner "nobody"`, 0},
			{"up again", func() error {
				done, err := db.MigrateUp(ctx)
				if err == nil && len(done) != 2 {
					err = fmt.Errorf("applied %v, want 2 migrations", done)
				}
				return err
			}, "", 2},
		}
		for _, s := range steps {
			err := s.do()
			switch {
			case s.wantErr == "" && err != nil:
				t.Fatalf("%s: %v", s.name, err)
			case s.wantErr != "" && (err == nil || !strings.Contains(err.Error(), s.wantErr)):
				t.Fatalf("%s: error %v, want %q", s.name, err, s.wantErr)
			}
			if applied, pending := counts(); applied != s.wantApplied || pending != 2-s.wantApplied {
				t.Fatalf("%s: %d applied, %d pending; want %d applied", s.name, applied, pending, s.wantApplied)
			}
			// Start's one-query check agrees with goose's status.
			if all, err := db.AllApplied(ctx); err != nil || all != (s.wantApplied == 2) {
				t.Fatalf("%s: AllApplied = %v, %v; want %v", s.name, all, err, s.wantApplied == 2)
			}
		}
		// Each owner has its own version table.
		var n int
		if err := db.SQL().QueryRowContext(ctx, "SELECT count(*) FROM "+database.VersionTablePrefix+testOwner).Scan(&n); err != nil {
			t.Errorf("version table of %s: %v", testOwner, err)
		}
	})
}

func TestStartRefusesUnmigrated(t *testing.T) {
	t.Parallel()
	databasetest.ForEachEngine(t, func(t *testing.T, engine database.Engine) {
		t.Parallel()
		s := databasetest.Settings(t, engine)
		db, err := database.Open(t.Context(), s)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()

		// No version table yet: the one-query check fails and Start asks goose.
		if all, err := db.AllApplied(t.Context()); err == nil || all {
			t.Errorf("AllApplied on an empty database = %v, %v; want false and the missing table's error", all, err)
		}
		err = db.Start(t.Context())
		if !errors.Is(err, database.ErrPendingMigrations) {
			t.Fatalf("Start on an empty database = %v, want ErrPendingMigrations", err)
		}
		msg := err.Error()
		if strings.Contains(msg, "\n") || !strings.Contains(msg, "migrate up'") || !strings.Contains(msg, "dbtest") {
			t.Errorf("refusal %q: want one line naming the owner and the migrate up command", msg)
		}

		// With AUTO_MIGRATE the same database migrates in Start.
		s.AutoMigrate = true
		auto, err := database.Open(t.Context(), s)
		if err != nil {
			t.Fatal(err)
		}
		defer auto.Close()
		if err := auto.Start(t.Context()); err != nil {
			t.Fatalf("Start with AutoMigrate: %v", err)
		}
		if all, err := db.AllApplied(t.Context()); err != nil || !all {
			t.Errorf("AllApplied after migrating = %v, %v; want true", all, err)
		}
		if err := db.Start(t.Context()); err != nil {
			t.Errorf("Start after migrating: %v", err)
		}
		// One owner a step behind: Start refuses again.
		if _, err := db.MigrateDown(t.Context(), testOwner); err != nil {
			t.Fatal(err)
		}
		if err := db.Start(t.Context()); !errors.Is(err, database.ErrPendingMigrations) {
			t.Errorf("Start with one migration rolled back = %v, want ErrPendingMigrations", err)
		}
	})
}

func TestHealth(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		h := db.CheckHealth(t.Context())
		if h.Status != registry.StatusHealthy {
			t.Fatalf("health = %+v, want healthy", h)
		}
		for _, k := range []string{"engine", "open", "in_use", "idle", "max_open", "waits", "wait_ms"} {
			if _, ok := h.Details[k]; !ok {
				t.Errorf("details %v lack %q", h.Details, k)
			}
		}
		where := "path"
		if db.Engine() == database.Postgres {
			where = "host"
		}
		if _, ok := h.Details[where]; !ok || h.Details["engine"] != string(db.Engine()) {
			t.Errorf("details %v: want engine %s and %s", h.Details, db.Engine(), where)
		}

		if err := db.Stop(t.Context()); err != nil {
			t.Fatal(err)
		}
		if err := db.Stop(t.Context()); err != nil {
			t.Errorf("second Stop: %v", err)
		}
		if h := db.CheckHealth(t.Context()); h.Status != registry.StatusUnhealthy {
			t.Errorf("health of a closed database = %+v, want unhealthy", h)
		}
	})
}

func TestHealthUnreachablePostgres(t *testing.T) {
	t.Parallel()
	// Nothing listens on port 1; the password must not leak into what health reports.
	db, err := database.Open(t.Context(), database.Settings{URL: "postgres://app:s3cret@127.0.0.1:1/app?sslmode=disable"})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	defer cancel()
	start := time.Now()
	h := db.CheckHealth(ctx)
	if h.Status != registry.StatusUnhealthy {
		t.Errorf("health = %+v, want unhealthy", h)
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("health check took %s; it must honour its context", took)
	}
	if s := fmt.Sprint(h, db.String()); strings.Contains(s, "s3cret") {
		t.Errorf("password leaked: %s", s)
	}
	if h.Details["host"] != "127.0.0.1:1" || h.Details["database"] != "app" {
		t.Errorf("details %v, want host 127.0.0.1:1 and database app", h.Details)
	}
	// One line saying what is wrong, not pgx's text (which names the user and the database).
	if want := "database: cannot reach 127.0.0.1:1; check DATABASE_URL and that the server is running"; h.Message != want {
		t.Errorf("message %q, want %q", h.Message, want)
	}
	if err := db.Start(t.Context()); err == nil || !strings.Contains(err.Error(), "check DATABASE_URL") {
		t.Errorf("Start on an unreachable server = %v, want an error pointing at DATABASE_URL", err)
	}
}

// TestSQLiteConcurrentWrites is the proof that concurrent requests never see "database is
// locked": 50 transactions that read then write, and 50 plain inserts, all at once.
func TestSQLiteConcurrentWrites(t *testing.T) {
	t.Parallel()
	s := databasetest.Settings(t, database.SQLite)
	s.MaxConns = database.DefaultMaxConns
	db, err := database.Open(t.Context(), s)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.MigrateUp(t.Context()); err != nil {
		t.Fatal(err)
	}
	const writers = 50
	var wg sync.WaitGroup
	errs := make(chan error, 2*writers)
	for i := range writers {
		wg.Go(func() {
			// Read, then write: the pattern that fails with deferred transactions.
			errs <- db.InTx(t.Context(), func(ctx context.Context, tx bun.Tx) error {
				if _, err := tx.NewSelect().Model((*widget)(nil)).Count(ctx); err != nil {
					return err
				}
				_, err := insertWidget(ctx, tx, fmt.Sprintf("tx-%d", i))
				return err
			})
		})
		wg.Go(func() {
			_, err := insertWidget(t.Context(), db.Bun(), fmt.Sprintf("plain-%d", i))
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if n := countWidgets(t, db); n != 2*writers {
		t.Errorf("%d widgets, want %d", n, 2*writers)
	}
}

func TestSQLiteFile(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "nested", "data")
	db, err := database.Open(t.Context(), database.Settings{URL: "sqlite://" + filepath.Join(dir, "app.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("folder not created: %v", err)
	}
	pragmas := []struct{ name, want string }{
		{"journal_mode", "wal"},
		{"foreign_keys", "1"},
		{"busy_timeout", "5000"},
		{"synchronous", "1"},
	}
	for _, p := range pragmas {
		var got string
		if err := db.SQL().QueryRowContext(t.Context(), "PRAGMA "+p.name).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != p.want {
			t.Errorf("PRAGMA %s = %s, want %s", p.name, got, p.want)
		}
	}
}

// TestMigrationsFrom: the migrations folder of an owner's embedded files, as the engines'
// folders see it.
func TestMigrationsFrom(t *testing.T) {
	t.Parallel()
	files := fstest.MapFS{"migrations/sqlite/00001_a.sql": {Data: []byte("-- +goose Up\n")}}
	m := database.MigrationsFrom(files)
	if err := m.ValidateContribution("owner"); err != nil {
		t.Fatal(err)
	}
	if b, err := fs.ReadFile(m.FS, "sqlite/00001_a.sql"); err != nil || string(b) != "-- +goose Up\n" {
		t.Errorf("sqlite/00001_a.sql: %q, %v", b, err)
	}
}

// TestProblem: what health reports of a failed ping or query is one line naming the problem
// and where, never the driver's text (the user, the database, the SQL, the server's words).
func TestProblem(t *testing.T) {
	t.Parallel()
	pg, err := database.Open(t.Context(), database.Settings{URL: "postgres://app:s3cret@db.internal:5433/app?sslmode=disable"})
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	secretText := `relation "payroll" does not exist for user app`
	for _, tt := range []struct {
		name string
		err  error
		want string
	}{
		{"refused login", fmt.Errorf("ping: %w", &pgconn.PgError{Code: "28P01", Message: secretText}),
			"db.internal:5433 refused the login; check the user and password in DATABASE_URL"},
		{"no database", &pgconn.PgError{Code: "3D000", Message: secretText}, "db.internal:5433 has no such database; check the database name in DATABASE_URL"},
		{"missing table", &pgconn.PgError{Code: "42P01", Message: secretText}, "a table is missing; run the migrations ('" + database.CommandName() + " migrate up')"},
		{"shutting down", &pgconn.PgError{Code: "57P01", Message: secretText}, "db.internal:5433 is shutting down or restarting; SQLSTATE 57P01"},
		{"other SQL error", &pgconn.PgError{Code: "42601", Message: secretText}, "db.internal:5433 failed the query; SQLSTATE 42601"},
		{"unreachable", fmt.Errorf("failed to connect to `user=app database=app`: %w", &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}),
			"cannot reach db.internal:5433; check DATABASE_URL and that the server is running"},
		{"timeout", fmt.Errorf("user=app: %w", context.DeadlineExceeded), "db.internal:5433 did not answer in time"},
		{"dial timeout", &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ETIMEDOUT)}, "db.internal:5433 did not answer in time"},
		// A lookup that timed out never reached the server: the host name is what to check.
		{"lookup timeout", &net.OpError{Op: "dial", Err: &net.DNSError{Err: "i/o timeout", Name: "db.internal", IsTimeout: true}},
			"cannot resolve the host name of db.internal:5433; check the host in DATABASE_URL"},
		{"untrusted certificate", fmt.Errorf("tls: %w", &tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}),
			"db.internal:5433's TLS certificate is not trusted; check sslmode and sslrootcert in DATABASE_URL"},
		{"cancelled", fmt.Errorf("ping: %w", context.Canceled), "check cancelled"},
		{"closed", fmt.Errorf("x: %w", database.ErrClosed), "closed"},
		{"anything else", errors.New(secretText), "db.internal:5433 failed the query"},
	} {
		got := pg.Problem(tt.err)
		if got != tt.want {
			t.Errorf("%s: Problem = %q, want %q", tt.name, got, tt.want)
		}
	}

	// Start's and migrate's error is Problem's line, with what only a connection attempt
	// needs said: the setting that bounded it, or that it was cancelled rather than checked.
	for _, tt := range []struct {
		name string
		err  error
		want string
	}{
		{"timeout", fmt.Errorf("user=app: %w", context.DeadlineExceeded),
			"database: db.internal:5433 did not answer in time (DATABASE_CONNECT_TIMEOUT=5s); check the host in DATABASE_URL and that the server is running, or raise DATABASE_CONNECT_TIMEOUT"},
		{"cancelled", fmt.Errorf("ping: %w", context.Canceled), "database: connecting to db.internal:5433 was cancelled"},
		{"no database", &pgconn.PgError{Code: "3D000", Message: secretText}, "database: db.internal:5433 has no such database; check the database name in DATABASE_URL"},
	} {
		err := pg.Unreachable(tt.err)
		if got := err.Error(); got != tt.want || !errors.Is(err, tt.err) {
			t.Errorf("%s: Unreachable = %q (wraps the cause: %t), want %q", tt.name, got, errors.Is(err, tt.err), tt.want)
		}
	}

	// The same, from real pings: a name that does not resolve, and a port nothing listens on.
	for _, tt := range []struct {
		url, want string
	}{
		{"postgres://app:s3cret@nowhere.invalid:5432/app?sslmode=disable", "cannot resolve the host name of nowhere.invalid:5432; check the host in DATABASE_URL"},
		{"postgres://app:s3cret@127.0.0.1:" + strconv.Itoa(testserver.FreePort(t)) + "/app?sslmode=disable", "; check DATABASE_URL and that the server is running"},
	} {
		db, err := database.Open(t.Context(), database.Settings{URL: tt.url})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		err = db.Ping(t.Context())
		if got := db.Problem(err); !strings.HasSuffix(got, tt.want) || strings.Contains(got, "s3cret") {
			t.Errorf("ping %s: Problem(%v) = %q, want one ending %q", tt.url, err, got, tt.want)
		}
	}
}
