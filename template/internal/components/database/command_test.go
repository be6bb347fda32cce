package database_test

import (
	"context"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aegisgo/aegis/template/internal/command/commandtest"
	"github.com/aegisgo/aegis/template/internal/components/database"
	"github.com/aegisgo/aegis/template/internal/components/database/databasetest"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
	"github.com/aegisgo/aegis/template/internal/runtime/registry/registrytest"
)

// migrate runs "shop migrate args..." against DATABASE_URL and returns its output.
func migrate(t *testing.T, args ...string) (string, error) {
	t.Helper()
	out, logs, err := commandtest.Run(t.Context(), registry.Default, database.MigrateCmd, args...)
	return out + logs, err
}

func TestMigrateCommand(t *testing.T) {
	databasetest.ForEachEngine(t, func(t *testing.T, engine database.Engine) {
		t.Setenv("DATABASE_URL", databasetest.Settings(t, engine).URL)
		steps := []struct {
			args    []string
			want    []string // in the output
			wantErr string
		}{
			{[]string{"status"}, []string{"dbtest: 0 applied, 2 pending", "pending  00001_widgets.sql"}, ""},
			{[]string{"up"}, []string{"applied dbtest 00001_widgets.sql", "applied dbtest 00002_parts.sql"}, ""},
			{[]string{"up"}, []string{"nothing to apply"}, ""},
			{[]string{"status"}, []string{"dbtest: 2 applied, 0 pending", "applied  00002_parts.sql"}, ""},
			{[]string{"down"}, nil, "--owner is required; owners with migrations: dbtest"},
			{[]string{"down", "--owner", "nobody"}, nil, `no migrations registered for owner "nobody"`},
			{[]string{"down", "--owner", "dbtest"}, []string{"rolled back dbtest 00002_parts.sql"}, ""},
			{[]string{"status"}, []string{"dbtest: 1 applied, 1 pending"}, ""},
			{[]string{"up"}, []string{"applied dbtest 00002_parts.sql"}, ""},
			{[]string{"down", "--owner", "dbtest", "--all"}, []string{"rolled back dbtest 00002_parts.sql", "rolled back dbtest 00001_widgets.sql"}, ""},
			{[]string{"status"}, []string{"dbtest: 0 applied, 2 pending"}, ""},
			{[]string{"down", "--owner", "dbtest", "--all"}, []string{"nothing to roll back: no migration of dbtest is applied"}, ""},
			// Nothing to roll back is done, not failed (it was an error, exit 1).
			{[]string{"down", "--owner", "dbtest"}, []string{"nothing to roll back: no migration of dbtest is applied"}, ""},
			{[]string{"down", "--all"}, nil, "--owner is required"},
			{[]string{"sideways"}, nil, `unknown command "sideways"`},
			// The examples of the help name this app's owners, so that they run when copied.
			{[]string{"down", "--help"}, []string{"migrate down --owner dbtest\n", "migrate down --owner dbtest --all"}, ""},
			{[]string{"--help"}, []string{"migrate down --owner dbtest\n"}, ""},
		}
		for _, s := range steps {
			out, err := migrate(t, s.args...)
			switch {
			case s.wantErr == "" && err != nil:
				t.Fatalf("migrate %v: %v\n%s", s.args, err, out)
			case s.wantErr != "" && (err == nil || !strings.Contains(err.Error(), s.wantErr)):
				t.Fatalf("migrate %v: error %v, want %q", s.args, err, s.wantErr)
			}
			for _, w := range s.want {
				if !strings.Contains(out, w) {
					t.Errorf("migrate %v printed:\n%s\nwant %q", s.args, out, w)
				}
			}
		}
	})
}

func TestMigrateCommandBadURL(t *testing.T) {
	t.Setenv("DATABASE_URL", "mysql://root:pw@localhost/app")
	_, err := migrate(t, "up")
	if err == nil || !strings.Contains(err.Error(), `DATABASE_URL (value not shown) has an unsupported scheme "mysql"`) {
		t.Errorf("migrate up = %v, want the DATABASE_URL error", err)
	}
}

// TestComponent runs the database the way serve does: registered, started (migrating, as
// AUTO_MIGRATE defaults to true), checked and stopped by a container.
func TestComponent(t *testing.T) {
	databasetest.ForEachEngine(t, func(t *testing.T, engine database.Engine) {
		t.Setenv("DATABASE_URL", databasetest.Settings(t, engine).URL)
		t.Setenv("AUTO_MIGRATE", "")
		t.Setenv("DATABASE_MAX_CONNS", "2")
		r := registry.New()
		registry.Contribute(r, testOwner, database.Migrations{FS: testMigrationsFS})
		c := registrytest.Start(t, r, database.Register)

		db, err := registry.GetNamed[*database.DB](c, database.Name)
		if err != nil {
			t.Fatal(err)
		}
		if n := countWidgets(t, db); n != 0 {
			t.Errorf("%d widgets in a fresh database", n)
		}
		rep := c.CheckHealth(t.Context(), 2*time.Second)
		if rep.Status != registry.StatusHealthy || len(rep.Checks) != 1 || rep.Checks[0].Details["engine"] != string(engine) {
			t.Errorf("health report %+v", rep)
		}
		if err := c.Stop(t.Context()); err != nil {
			t.Fatal(err)
		}
		if err := db.Ping(t.Context()); err == nil {
			t.Error("the database still answers after Stop")
		}
	})
}

// TestComponentRefusesUnmigrated: with AUTO_MIGRATE=false on an unmigrated database, every
// command that starts the database (users list, jobs list, worker, ...) fails with the
// refusal alone, one line that says to run 'migrate up': not behind the registry's
// "start database (registered at <source path>)", which is for programming errors.
func TestComponentRefusesUnmigrated(t *testing.T) {
	databasetest.ForEachEngine(t, func(t *testing.T, engine database.Engine) {
		t.Setenv("DATABASE_URL", databasetest.Settings(t, engine).URL)
		t.Setenv("AUTO_MIGRATE", "false")
		r := registry.New()
		registry.Contribute(r, testOwner, database.Migrations{FS: testMigrationsFS})
		c := registrytest.Build(t, r, database.Register)
		err := c.Start(t.Context())
		if err == nil {
			_ = c.Stop(t.Context())
			t.Fatal("Start on an unmigrated database with AUTO_MIGRATE=false succeeded")
		}
		t.Cleanup(func() { _ = c.Stop(context.Background()) })
		if !errors.Is(err, database.ErrPendingMigrations) {
			t.Errorf("Start = %v, want ErrPendingMigrations", err)
		}
		msg := err.Error()
		if !strings.HasPrefix(msg, "database: 2 migration(s) pending (dbtest); run '") ||
			strings.Contains(msg, "\n") || strings.Contains(msg, "registered at") || strings.Contains(msg, ".go:") {
			t.Errorf("Start = %q, want the one-line refusal alone", msg)
		}
	})
}

// TestComponentUnreachable: a database that cannot be reached or created fails the start, and
// the migrate command, with Problem's one line for the cause and its fix alone: no driver
// text, no password, not behind the registry's "start database (registered at ...)".
func TestComponentUnreachable(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "plain-file")
	notADB := filepath.Join(dir, "not-a-db.db")
	readOnly := filepath.Join(dir, "read-only")
	for path, data := range map[string]string{file: "x", notADB: strings.Repeat("not a database ", 100)} {
		if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(readOnly, 0o500); err != nil {
		t.Fatal(err)
	}
	// The PostgreSQL server of the tests, with a database that does not exist on it.
	var noDB, noDBHost, badParam, badValue string
	if u, err := url.Parse(os.Getenv(databasetest.EnvURL)); err == nil && u.Host != "" {
		// A query parameter pgx does not know is sent to the server as a setting at connect.
		q := u.Query()
		q.Set("aegis_no_such_setting", "1")
		p := *u
		p.RawQuery = q.Encode()
		badParam = p.String()
		q.Del("aegis_no_such_setting")
		q.Set("DateStyle", "sideways")
		p.RawQuery = q.Encode()
		badValue = p.String()
		u.Path = "/aegis_no_such_database"
		noDB, noDBHost = u.String(), u.Host
	}
	for _, tt := range []struct {
		name, url, want string
		postgres, root  bool // needs TEST_DATABASE_URL; runs as root (permissions do not stop root)
	}{
		{name: "postgres refused port", url: "postgres://app:s3cretpw@127.0.0.1:1/app?sslmode=disable",
			want: "database: cannot reach 127.0.0.1:1; check DATABASE_URL and that the server is running", root: true},
		{name: "postgres unknown host", url: "postgres://app:s3cretpw@nohost.invalid:5432/app?sslmode=disable",
			want: "database: cannot resolve the host name of nohost.invalid:5432; check the host in DATABASE_URL", root: true},
		{name: "postgres no such database", url: noDB, postgres: true, root: true,
			want: "database: " + noDBHost + " has no such database; check the database name in DATABASE_URL"},
		{name: "postgres unknown setting", url: badParam, postgres: true, root: true,
			want: "database: " + noDBHost + ` refused the setting "aegis_no_such_setting" in DATABASE_URL; remove it, or use a PostgreSQL setting such as ?application_name=app`},
		{name: "postgres bad setting value", url: badValue, postgres: true, root: true,
			want: "database: " + noDBHost + " refused the value of a setting in DATABASE_URL; check the parameters after ? (SQLSTATE 22023)"},
		{name: "sqlite folder under a file", url: "sqlite://" + filepath.Join(file, "sub", "app.db"), root: true,
			want: "database: cannot create " + filepath.Join(file, "sub", "app.db") + ": not a directory; check the path in DATABASE_URL and that the folder is writable"},
		{name: "sqlite read-only folder", url: "sqlite://" + filepath.Join(readOnly, "app.db"),
			want: "database: cannot create " + filepath.Join(readOnly, "app.db") + ": permission denied; check the path in DATABASE_URL and that the folder is writable"},
		{name: "sqlite path is a folder", url: "sqlite://" + dir, root: true,
			want: "database: cannot open " + dir + "; check the path in DATABASE_URL and that the folder is writable"},
		{name: "sqlite not a database", url: "sqlite://" + notADB, root: true,
			want: "database: " + notADB + " is not a SQLite database; check the path in DATABASE_URL"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if tt.postgres {
				databasetest.SkipWithoutPostgres(t)
			}
			if !tt.root && os.Geteuid() == 0 {
				t.Skip("root writes to read-only folders")
			}
			t.Setenv("DATABASE_URL", tt.url)
			t.Setenv("DATABASE_CONNECT_TIMEOUT", "5s")
			c := registrytest.Build(t, registry.New(), database.Register)
			err := c.Start(t.Context())
			t.Cleanup(func() { _ = c.Stop(context.Background()) })
			if err == nil {
				t.Fatal("Start succeeded")
			}
			if msg := err.Error(); msg != tt.want || strings.Contains(msg, "s3cretpw") {
				t.Errorf("Start = %q, want %q", msg, tt.want)
			}
			if se, ok := errors.AsType[registry.StandaloneError](err); !ok || errors.Unwrap(se) == nil {
				t.Errorf("Start = %#v, want a registry.StandaloneError wrapping the driver's error", err)
			}
			// The migrate command connects the same way and says the same.
			if _, err := migrate(t, "status"); err == nil || !strings.HasSuffix(err.Error(), tt.want) {
				t.Errorf("migrate status = %v, want %q", err, tt.want)
			}
		})
	}
}
