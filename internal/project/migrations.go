package project

import (
	"io/fs"
	"os"
	"path/filepath"
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
	// UserFiles are the .sql files of the user's (the manifest does not list them) in the
	// owner's migrations folder when its part is removed, which remove keeps. They ran under
	// this owner too: Tables and PostgresExtensions count theirs.
	UserFiles []string
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

// removedOwners is MigrationOwners for a part remove takes out of p, from prev (the files of the
// app before) and the user's own .sql files left in the part's migrations folders: their
// tables are kept as much as the part's, and the user must know them before deciding too.
func (p *Project) removedOwners(prev []generate.File, part string) []MigrationOwner {
	cat := p.opts.Catalog
	var user []generate.File
	for _, name := range cat.MigrationsOf(part) {
		dir, ok := cat.MigrationsDir(part, name)
		if !ok || p.Dir == "" {
			continue
		}
		_ = filepath.WalkDir(filepath.Join(p.Dir, filepath.FromSlash(dir)), func(file string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(d.Name(), ".sql") {
				return nil // a folder that is missing or unreadable holds nothing to report
			}
			rel, err := filepath.Rel(p.Dir, file)
			if err != nil {
				return nil
			}
			rel = filepath.ToSlash(rel)
			if _, ours := p.Manifest.Files[rel]; ours {
				return nil
			}
			data, err := os.ReadFile(file)
			if err != nil {
				return nil
			}
			user = append(user, generate.File{Path: rel, Data: data})
			return nil
		})
	}
	if len(user) == 0 {
		return MigrationOwners(cat, prev, part)
	}
	// By path, as goose orders a folder's migrations: the user's 00002 ran after the part's 00001.
	files := append(slices.Clone(prev), user...)
	slices.SortStableFunc(files, func(a, b generate.File) int { return strings.Compare(a.Path, b.Path) })
	owners := MigrationOwners(cat, files, part)
	for i, o := range owners {
		dir, _ := cat.MigrationsDir(part, o.Name)
		for _, f := range user {
			if strings.HasPrefix(f.Path, dir) {
				owners[i].UserFiles = append(owners[i].UserFiles, f.Path)
			}
		}
	}
	return owners
}
