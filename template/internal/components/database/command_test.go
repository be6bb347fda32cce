package database_test

import (
	"context"
	"errors"
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

// TestComponentUnreachable: a database that does not answer fails the start with the ping's
// one line and its fix alone, the password masked, without the registry's source path.
func TestComponentUnreachable(t *testing.T) {
	t.Setenv("DATABASE_URL", "postgres://app:s3cretpw@127.0.0.1:1/app?sslmode=disable")
	t.Setenv("DATABASE_CONNECT_TIMEOUT", "2s")
	c := registrytest.Build(t, registry.New(), database.Register)
	err := c.Start(t.Context())
	if err == nil {
		_ = c.Stop(t.Context())
		t.Fatal("Start against a closed port succeeded")
	}
	t.Cleanup(func() { _ = c.Stop(context.Background()) })
	msg := err.Error()
	if !strings.HasPrefix(msg, "database: ping postgres://app:xxxxx@127.0.0.1:1/app") ||
		!strings.HasSuffix(msg, "; check DATABASE_URL and that the database server is running") ||
		strings.Contains(msg, "registered at") || strings.Contains(msg, "s3cretpw") {
		t.Errorf("Start = %q, want the ping's line alone, password masked", msg)
	}
}
