package project

import (
	"slices"
	"strings"

	"github.com/aegisgo/aegis/internal/catalog"
	"github.com/aegisgo/aegis/internal/generate"
)

// VersionTablePrefix starts each migration owner's goose version table in the app (the
// database component's VersionTablePrefix).
const VersionTablePrefix = "goose_db_version_"

// MigrationOwner is one set of migrations as the app's database component knows it. Its Name is
// the one the registering code gives at run time (the catalog's Migrations), not the catalog
// owner of its files: the glue comms+database registers "commsdb", and the app knows nothing of
// "comms+database".
type MigrationOwner struct {
	// Name is what 'migrate down --owner' takes and what the version table is named after.
	Name string
	// Part is the catalog owner whose files register the migrations.
	Part string
	// Tables are the tables the migrations leave, in the order 'migrate up' creates them.
	Tables []string
	// PostgresObjects are what the migrations leave on PostgreSQL besides tables ("TYPE x",
	// "FUNCTION y"), in the order they must be dropped.
	PostgresObjects []string
	// PostgresExtensions are the extensions the migrations create on PostgreSQL (pg_trgm).
	// They are database-wide and may serve other tables, so they are reported apart from what
	// can be dropped.
	PostgresExtensions []string
}

// VersionTable is the goose table that records which of the owner's migrations ran.
func (o MigrationOwner) VersionTable() string { return VersionTablePrefix + o.Name }

// rendered holds what the migrations of owners that keep no .sql files in the project create:
// their migrations are rendered by the app at run time, so the files say nothing. Keyed by the
// run-time owner; TestRenderedMatchesRiver checks the worker's against River's own migrations
// and TestCatalogMigrationsMatchTemplate that no other owner needs an entry.
var rendered = map[string]MigrationOwner{
	// River's schema (the worker component's migrations, River's own for the version in go.mod),
	// after all of River's migrations: 005 made river_client and river_client_queue and 007
	// dropped them again.
	"worker": {
		Tables:          []string{"river_migration", "river_job", "river_leader", "river_queue", "river_notification"},
		PostgresObjects: []string{"FUNCTION river_job_state_in_bitmask", "TYPE river_job_state"},
	},
}

// MigrationOwners lists the migration owners the catalog owner part registers with the database
// component, by the names its catalog entry gives (checked against the reference app's
// registrations by TestCatalogMigrationsMatchTemplate), sorted by name as the app runs them. Their
// tables and extensions come from the .sql files among files, those of the app about to be
// written or, on removal, of the app before.
func MigrationOwners(cat catalog.Catalog, files []generate.File, part string) []MigrationOwner {
	var owners []MigrationOwner
	for _, name := range cat.MigrationsOf(part) {
		o := MigrationOwner{Name: name, Part: part}
		// Check keeps a catalog whose owner has no folder from shipping; an owner without one
		// still gets its version table reported.
		if dir, ok := cat.MigrationsDir(part, name); ok {
			o.Tables = sqlTables(files, func(g generate.File) bool { return strings.HasPrefix(g.Path, dir) })
			// Extensions are PostgreSQL's only: the SQLite folder has none to report.
			o.PostgresExtensions = sqlExtensions(files, func(g generate.File) bool {
				return strings.HasPrefix(g.Path, dir+"postgres/")
			})
		}
		if r, ok := rendered[name]; ok {
			o.Tables = append(o.Tables, r.Tables...)
			o.PostgresObjects = r.PostgresObjects
		}
		owners = append(owners, o)
	}
	slices.SortFunc(owners, func(a, b MigrationOwner) int { return strings.Compare(a.Name, b.Name) })
	return owners
}

// sqlExtensions lists the extensions the Up parts of the .sql migrations among the files keep
// selects create (CREATE EXTENSION [IF NOT EXISTS] name), in the order they create them.
func sqlExtensions(files []generate.File, keep func(generate.File) bool) []string {
	var exts []string
	for _, f := range files {
		if !strings.HasSuffix(f.Path, ".sql") || strings.Contains(f.Path, "/testdata/") || !keep(f) {
			continue
		}
		for line := range strings.Lines(string(f.Data)) {
			// A Down part that creates one again undoes a drop, not what the owner leaves.
			if strings.Contains(line, "+goose Down") {
				break
			}
			fields := strings.Fields(strings.ToUpper(line))
			orig := strings.Fields(line)
			if len(fields) < 3 || fields[0] != "CREATE" || fields[1] != "EXTENSION" {
				continue
			}
			i := 2
			if len(fields) > 5 && fields[2] == "IF" && fields[3] == "NOT" && fields[4] == "EXISTS" {
				i = 5
			}
			name := strings.Trim(strings.TrimRight(orig[i], ";"), `"`)
			if name != "" && !slices.Contains(exts, name) {
				exts = append(exts, name)
			}
		}
	}
	return exts
}
