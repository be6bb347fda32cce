package worker

import (
	"fmt"
	"io/fs"
	"strings"
	"sync"
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

// riverMigrationsFS holds River's migrations, contributed by AddTo.
var riverMigrationsFS fs.FS = newRiverFS()

// riverFS holds River's migrations as goose migrations, sqlite/ and postgres/, each folder
// rendered on its first access: a start reads its own engine's only, and rendering both from
// init took 1-2 ms of every start (GODEBUG=inittrace=1), the commands that touch no database
// included. A failure to render is the error of every access to that folder.
type riverFS struct {
	root    fstest.MapFS                     // the two folders, for listing the root
	engines map[string]func() (fs.FS, error) // by folder: its files, rendered once
}

func newRiverFS() riverFS {
	versions := map[string]func() ([]rivermigrate.Migration, error){
		string(database.SQLite): func() ([]rivermigrate.Migration, error) {
			m, err := rivermigrate.New(riversqlite.New(nil), nil)
			if err != nil {
				return nil, err
			}
			return m.AllVersions(), nil
		},
		string(database.Postgres): func() ([]rivermigrate.Migration, error) {
			m, err := rivermigrate.New(riverpgxv5.New(nil), nil)
			if err != nil {
				return nil, err
			}
			return m.AllVersions(), nil
		},
	}
	r := riverFS{root: fstest.MapFS{}, engines: map[string]func() (fs.FS, error){}}
	for dir, all := range versions {
		r.root[dir] = &fstest.MapFile{Mode: fs.ModeDir | 0o555}
		r.engines[dir] = sync.OnceValues(func() (fs.FS, error) { return renderRiver(dir, all) })
	}
	return r
}

// Open opens name, rendering its engine's folder first if need be.
func (r riverFS) Open(name string) (fs.File, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	dir, _, _ := strings.Cut(name, "/")
	render, ok := r.engines[dir]
	if !ok {
		return r.root.Open(name) // "." or a name that does not exist
	}
	files, err := render()
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	return files.Open(name)
}

// renderRiver renders the migrations all returns as goose migrations in dir.
func renderRiver(dir string, all func() ([]rivermigrate.Migration, error)) (fs.FS, error) {
	versions, err := all()
	if err != nil {
		return nil, fmt.Errorf("worker: read river migrations for %s: %w", dir, err)
	}
	out := fstest.MapFS{}
	for _, v := range versions {
		name := fmt.Sprintf("%s/%05d_river_%s.sql", dir, v.Version, strings.ReplaceAll(v.Name, " ", "_"))
		out[name] = &fstest.MapFile{Data: []byte(gooseMigration(v)), Mode: 0o444}
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
