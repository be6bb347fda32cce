package worker

import (
	"fmt"
	"io/fs"
	"strings"
	"testing/fstest"

	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/aegisgo/aegis/template/internal/components/database"
)

// River's schema (river_job, river_queue, river_leader, river_migration) is applied by the
// database component like every owner's: its goose migrations for the owner "worker" are
// River's own migrations for each engine, rendered here from the River version in go.mod. So
// 'migrate up', 'migrate status', 'migrate down --owner worker' and AUTO_MIGRATE cover it, and
// upgrading River adds its new migrations. Each also records its version in River's
// river_migration table, as River's own migrator does, so River's tools agree.

// riverMigrationsFS holds River's migrations, contributed by AddTo; migrationsErr is a failure
// to render them, returned by the constructor.
var riverMigrationsFS, migrationsErr = riverMigrations()

// riverMigrations renders River's migrations as goose migrations, sqlite/ and postgres/.
func riverMigrations() (fs.FS, error) {
	out := fstest.MapFS{}
	engines := []struct {
		dir string
		m   func() ([]rivermigrate.Migration, error)
	}{
		{string(database.SQLite), func() ([]rivermigrate.Migration, error) {
			m, err := rivermigrate.New(riversqlite.New(nil), nil)
			if err != nil {
				return nil, err
			}
			return m.AllVersions(), nil
		}},
		{string(database.Postgres), func() ([]rivermigrate.Migration, error) {
			m, err := rivermigrate.New(riverpgxv5.New(nil), nil)
			if err != nil {
				return nil, err
			}
			return m.AllVersions(), nil
		}},
	}
	for _, e := range engines {
		versions, err := e.m()
		if err != nil {
			return nil, fmt.Errorf("worker: read river migrations for %s: %w", e.dir, err)
		}
		for _, v := range versions {
			name := fmt.Sprintf("%s/%05d_river_%s.sql", e.dir, v.Version, strings.ReplaceAll(v.Name, " ", "_"))
			out[name] = &fstest.MapFile{Data: []byte(gooseMigration(v)), Mode: 0o444}
		}
	}
	return out, nil
}

// lineColumnVersion is River's migration that adds river_migration.line.
const lineColumnVersion = 5

func gooseMigration(v rivermigrate.Migration) string {
	render := func(sql string) string { return strings.ReplaceAll(sql, "/* TEMPLATE: schema */", "") }
	var up, down string
	switch {
	case v.Version < lineColumnVersion:
		up = fmt.Sprintf("INSERT INTO river_migration (version) VALUES (%d);", v.Version)
	default:
		up = fmt.Sprintf("INSERT INTO river_migration (line, version) VALUES ('%s', %d);", riverdriver.MigrationLineMain, v.Version)
	}
	switch {
	case v.Version == 1: // its down migration drops the table
	case v.Version <= lineColumnVersion: // down to 5 removes the line column first
		down = fmt.Sprintf("DELETE FROM river_migration WHERE version = %d;", v.Version)
	default:
		down = fmt.Sprintf("DELETE FROM river_migration WHERE line = '%s' AND version = %d;", riverdriver.MigrationLineMain, v.Version)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "-- River migration %03d %s, rendered by the worker component.\n", v.Version, v.Name)
	b.WriteString("-- +goose Up\n-- +goose StatementBegin\n")
	b.WriteString(render(v.SQLUp))
	b.WriteString("\n" + up + "\n-- +goose StatementEnd\n")
	b.WriteString("-- +goose Down\n-- +goose StatementBegin\n")
	b.WriteString(down + "\n")
	b.WriteString(render(v.SQLDown))
	b.WriteString("\n-- +goose StatementEnd\n")
	return b.String()
}
