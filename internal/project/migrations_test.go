package project

import (
	"bytes"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/aegisgo/aegis/internal/catalog"
	"github.com/aegisgo/aegis/internal/generate"
	"github.com/aegisgo/aegis/template"
)

// renderAll renders the reference app with every part, so every registration is among its files.
func renderAll(t *testing.T) []generate.File {
	t.Helper()
	proj, err := New(t.TempDir(), "app", testModule, Opts{}).render(resolve(t, optional()...))
	if err != nil {
		t.Fatal(err)
	}
	return proj.Files
}

// TestMigrationOwnersOfTemplate: each part's migration owners are the names its catalog entry
// gives, with the tables of its migrations folder (or rendered's, for River's).
func TestMigrationOwnersOfTemplate(t *testing.T) {
	files := renderAll(t)
	tests := []struct {
		part       string
		owners     []string
		tables     []string // of the first owner, at least these
		extensions []string // of the first owner, on PostgreSQL
	}{
		{"auth", []string{"auth"}, []string{"auth_users", "auth_refresh_tokens", "auth_dashboard_sessions"}, []string{"pg_trgm"}},
		{"comms+database", []string{"commsdb"}, []string{"comms_messages"}, nil},
		{"scheduler+database", []string{"schedulerdb"}, nil, nil},
		{"auth+comms", []string{"authcomms"}, []string{"authcomms_tokens"}, nil},
		{"worker", []string{"worker"}, []string{"river_job", "river_queue", "river_leader", "river_migration"}, nil},
		{"auth+comms+analytics+cache", []string{"onboarding"}, nil, nil},
		{"ai", []string{"ai"}, nil, nil},
		{"analytics", []string{"analytics"}, nil, nil},
		{"comms", nil, nil, nil},
		{"database", nil, nil, nil},
		{"core", nil, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.part, func(t *testing.T) {
			got := MigrationOwners(catalog.Default, files, tt.part)
			var names []string
			for _, o := range got {
				names = append(names, o.Name)
				if o.Part != tt.part {
					t.Errorf("%s: Part = %q", o.Name, o.Part)
				}
			}
			if !slices.Equal(names, tt.owners) {
				t.Fatalf("owners = %v, want %v", names, tt.owners)
			}
			for _, table := range tt.tables {
				if !slices.Contains(got[0].Tables, table) {
					t.Errorf("%s: tables %v lack %s", got[0].Name, got[0].Tables, table)
				}
			}
			if len(got) > 0 && !slices.Equal(got[0].PostgresExtensions, tt.extensions) {
				t.Errorf("%s: extensions = %v, want %v", got[0].Name, got[0].PostgresExtensions, tt.extensions)
			}
		})
	}
}

// TestCatalogMigrationsMatchTemplate: the catalog's migration owner names are the ones the
// reference app's code registers (registry.Contribute(r, NAME, database.MigrationsFrom(...)) or
// database.Migrations{...}), part by part, each from the folder whose migrations/ holds its
// .sql files: a registration renamed, added or moved in the template without its catalog entry
// fails here. Every owner has tables, from its .sql files or, for migrations rendered at run
// time, from rendered.
func TestCatalogMigrationsMatchTemplate(t *testing.T) {
	files := renderAll(t)
	type reg struct{ part, name, dir string }
	var source []reg // from the source, parsed
	for _, f := range files {
		if !isSource(f.Path) || !bytes.Contains(f.Data, []byte("database.Migrations")) {
			continue
		}
		for _, name := range registeredOwners(files, f) {
			source = append(source, reg{f.Owner, name, path.Dir(f.Path) + "/migrations/"})
		}
	}
	var cat []reg // from the catalog
	parts := map[string]bool{}
	for _, f := range files {
		parts[f.Owner] = true
	}
	for part := range parts {
		for _, name := range catalog.Default.MigrationsOf(part) {
			dir, _ := catalog.Default.MigrationsDir(part, name)
			cat = append(cat, reg{part, name, dir})
		}
		for _, o := range MigrationOwners(catalog.Default, files, part) {
			if len(o.Tables) == 0 {
				t.Errorf("owner %s (%s) has no tables: its migrations are not .sql files, so it needs an entry in rendered", o.Name, o.Part)
			}
		}
	}
	byName := func(a, b reg) int { return strings.Compare(a.name, b.name) }
	slices.SortFunc(source, byName)
	slices.SortFunc(cat, byName)
	if !slices.Equal(source, cat) {
		t.Errorf("the template registers migrations (part, name, folder) as\n  %v\nthe catalog says\n  %v", source, cat)
	}

	// The parse above misses no registration: the same ones, by a plain text search.
	registration := regexp.MustCompile(`(?m)^\s*registry\.Contribute\([^,]+, *([^,]+), *database\.Migrations(From\(|\{)`)
	want := map[string]bool{}
	err := fs.WalkDir(template.FS, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !isSource(name) {
			return err
		}
		data, err := fs.ReadFile(template.FS, name)
		for _, m := range registration.FindAllStringSubmatch(string(data), -1) {
			want[path.Base(path.Dir(name))+" "+m[1]] = true
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]bool{}
	for _, r := range source {
		found[r.name] = true
	}
	if len(source) != len(want) {
		t.Errorf("parsed %d registrations %v; the template has %d: %v", len(source), keys(found), len(want), keys(want))
	}
	for name := range rendered {
		if !found[name] {
			t.Errorf("rendered names %s, which no part registers", name)
		}
	}
}

func isSource(p string) bool {
	return strings.HasSuffix(p, ".go") && !strings.HasSuffix(p, "_test.go") && !strings.Contains(p, "/testdata/")
}

// registeredOwners returns the owner names f registers migrations under: the name argument of
// each registry.Contribute whose contribution is database.Migrations, a string or a constant of
// the package, as the app evaluates it.
func registeredOwners(files []generate.File, f generate.File) []string {
	file, err := parser.ParseFile(token.NewFileSet(), f.Path, f.Data, parser.SkipObjectResolution)
	if err != nil {
		return nil // the app would not build either, which its own tests report
	}
	var names []string
	ast.Inspect(file, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok || !isSelector(call.Fun, "registry", "Contribute") || len(call.Args) != 3 || !isMigrations(call.Args[2]) {
			return true
		}
		if name, ok := stringValue(files, f.Path, call.Args[1]); ok {
			names = append(names, name)
		}
		return true
	})
	return names
}

func isSelector(e ast.Expr, pkg, name string) bool {
	sel, ok := e.(*ast.SelectorExpr)
	if !ok || sel.Sel.Name != name {
		return false
	}
	id, ok := sel.X.(*ast.Ident)
	return ok && id.Name == pkg
}

// isMigrations reports whether e is database.Migrations{...} or database.MigrationsFrom(...).
func isMigrations(e ast.Expr) bool {
	switch v := e.(type) {
	case *ast.CompositeLit:
		return isSelector(v.Type, "database", "Migrations")
	case *ast.CallExpr:
		return isSelector(v.Fun, "database", "MigrationsFrom")
	}
	return false
}

// stringValue resolves e, a string literal or a constant of the package in the folder of rel.
func stringValue(files []generate.File, rel string, e ast.Expr) (string, bool) {
	switch v := e.(type) {
	case *ast.BasicLit:
		if v.Kind == token.STRING {
			s, err := strconv.Unquote(v.Value)
			return s, err == nil
		}
	case *ast.Ident:
		dir := path.Dir(rel)
		for _, f := range files {
			if path.Dir(f.Path) != dir || !isSource(f.Path) {
				continue
			}
			file, err := parser.ParseFile(token.NewFileSet(), f.Path, f.Data, parser.SkipObjectResolution)
			if err != nil {
				continue
			}
			if s, ok := constString(file, v.Name); ok {
				return s, true
			}
		}
	}
	return "", false
}

func constString(file *ast.File, name string) (string, bool) {
	for _, decl := range file.Decls {
		gen, ok := decl.(*ast.GenDecl)
		if !ok || gen.Tok != token.CONST {
			continue
		}
		for _, spec := range gen.Specs {
			vs := spec.(*ast.ValueSpec)
			for i, id := range vs.Names {
				if id.Name != name || i >= len(vs.Values) {
					continue
				}
				if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
					s, err := strconv.Unquote(lit.Value)
					return s, err == nil
				}
			}
		}
	}
	return "", false
}

// TestRenderedMatchesRiver: the worker's tables and PostgreSQL objects are what River's own
// migrations leave after all of them ran, on each engine, for the River in go.mod.
func TestRenderedMatchesRiver(t *testing.T) {
	sqlite, err := rivermigrate.New(riversqlite.New(nil), nil)
	if err != nil {
		t.Fatal(err)
	}
	pg, err := rivermigrate.New(riverpgxv5.New(nil), nil)
	if err != nil {
		t.Fatal(err)
	}
	w := rendered["worker"]
	tests := []struct {
		engine   string
		versions []rivermigrate.Migration
		objects  []string
	}{
		{"sqlite", sqlite.AllVersions(), nil},
		{"postgres", pg.AllVersions(), w.PostgresObjects},
	}
	for _, tt := range tests {
		t.Run(tt.engine, func(t *testing.T) {
			var sql []string
			for _, v := range tt.versions {
				sql = append(sql, v.SQLUp)
			}
			tables, objects := schemaAfter(strings.Join(sql, "\n"))
			if got, want := sorted(tables), sorted(w.Tables); !slices.Equal(got, want) {
				t.Errorf("River leaves the tables %v; rendered lists %v", got, want)
			}
			if got, want := sorted(objects), sorted(tt.objects); !slices.Equal(got, want) {
				t.Errorf("River leaves %v besides tables; rendered lists %v", got, want)
			}
		})
	}
}

func keys(m map[string]bool) []string {
	var s []string
	for k := range m {
		s = append(s, k)
	}
	return sorted(s)
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// schemaAfter plays the CREATE, DROP and RENAME statements of sql in order and returns the tables
// and the other objects ("TYPE x", "FUNCTION y") left.
func schemaAfter(sql string) (tables, objects []string) {
	sql = strings.ReplaceAll(sql, "/* TEMPLATE: schema */", "")
	sql = regexp.MustCompile(`--[^\n]*`).ReplaceAllString(sql, "")
	type op struct {
		re   *regexp.Regexp
		kind string
		act  string
	}
	ops := []op{
		{regexp.MustCompile(`(?i)\bCREATE\s+(?:UNLOGGED\s+)?TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?(\w+)`), "TABLE", "create"},
		{regexp.MustCompile(`(?i)\bDROP\s+TABLE\s+(?:IF\s+EXISTS\s+)?(\w+)`), "TABLE", "drop"},
		{regexp.MustCompile(`(?i)\bALTER\s+TABLE\s+(?:IF\s+EXISTS\s+)?(\w+)\s+RENAME\s+TO\s+(\w+)`), "TABLE", "rename"},
		{regexp.MustCompile(`(?i)\bCREATE\s+(?:OR\s+REPLACE\s+)?FUNCTION\s+(\w+)`), "FUNCTION", "create"},
		{regexp.MustCompile(`(?i)\bDROP\s+FUNCTION\s+(?:IF\s+EXISTS\s+)?(\w+)`), "FUNCTION", "drop"},
		{regexp.MustCompile(`(?i)\bCREATE\s+TYPE\s+(\w+)`), "TYPE", "create"},
		{regexp.MustCompile(`(?i)\bDROP\s+TYPE\s+(?:IF\s+EXISTS\s+)?(\w+)`), "TYPE", "drop"},
	}
	type event struct {
		at       int
		kind     string
		act      string
		from, to string
	}
	var events []event
	for _, o := range ops {
		for _, m := range o.re.FindAllStringSubmatchIndex(sql, -1) {
			e := event{at: m[0], kind: o.kind, act: o.act, from: sql[m[2]:m[3]]}
			if o.act == "rename" {
				e.to = sql[m[4]:m[5]]
			}
			events = append(events, e)
		}
	}
	sort.Slice(events, func(i, j int) bool { return events[i].at < events[j].at })
	left := map[string]bool{}
	for _, e := range events {
		key := e.kind + " " + e.from
		switch e.act {
		case "create":
			left[key] = true
		case "drop":
			delete(left, key)
		case "rename":
			delete(left, key)
			left[e.kind+" "+e.to] = true
		}
	}
	for key := range left {
		if name, ok := strings.CutPrefix(key, "TABLE "); ok {
			tables = append(tables, name)
		} else {
			objects = append(objects, key)
		}
	}
	return tables, objects
}

// TestPlanMigrationOwners: add and remove report the migration owners of the parts they add or
// remove by the names the app runs them under, the worker's (whose migrations are River's,
// rendered at run time) included.
func TestPlanMigrationOwners(t *testing.T) {
	tests := []struct {
		name         string
		init         []string
		add, remove  []string
		wantOwners   []string
		wantTablesOf map[string][]string // owner -> some of its tables
	}{
		{
			name: "remove comms", init: []string{"comms", "database", "worker"}, remove: []string{"comms"},
			wantOwners:   []string{"commsdb"},
			wantTablesOf: map[string][]string{"commsdb": {"comms_messages"}},
		},
		{
			name: "remove worker", init: []string{"database", "worker"}, remove: []string{"worker"},
			wantOwners:   []string{"worker"},
			wantTablesOf: map[string][]string{"worker": {"river_job", "river_queue", "river_migration"}},
		},
		{
			name: "remove auth", init: []string{"auth", "comms"}, remove: []string{"auth"},
			wantOwners:   []string{"auth", "authcomms"},
			wantTablesOf: map[string][]string{"auth": {"auth_users"}, "authcomms": {"authcomms_tokens"}},
		},
		{
			name: "add comms and worker", init: []string{"database"}, add: []string{"comms", "worker"},
			wantOwners: []string{"commsdb", "worker"},
		},
		{name: "remove cache", init: []string{"cache", "database"}, remove: []string{"cache"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := initProject(t, t.TempDir(), resolve(t, tt.init...), nil)
			p := load(t, dir, nil)
			var pl *Plan
			var err error
			got := func() []MigrationOwner { return pl.Tables }
			if tt.add != nil {
				pl, err = p.PlanAdd(tt.add)
				got = func() []MigrationOwner { return pl.Migrations }
			} else {
				pl, err = p.PlanRemove(tt.remove)
			}
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, o := range got() {
				names = append(names, o.Name)
				for _, table := range tt.wantTablesOf[o.Name] {
					if !slices.Contains(o.Tables, table) {
						t.Errorf("%s: tables %v lack %s", o.Name, o.Tables, table)
					}
				}
			}
			if !slices.Equal(names, tt.wantOwners) {
				t.Errorf("owners = %v, want %v", names, tt.wantOwners)
			}
		})
	}
}

// TestSQLExtensions: the extensions an owner's Up migrations create, however the statement is
// written, and not those a comment shows or a Down part creates again.
func TestSQLExtensions(t *testing.T) {
	tests := []struct {
		name string
		sql  string
		want []string
	}{
		{"plain", "-- +goose Up\nCREATE EXTENSION pg_trgm;\n", []string{"pg_trgm"}},
		{"if not exists, in a DO block", "DO $$\nBEGIN\n    CREATE EXTENSION IF NOT EXISTS pg_trgm;\nEND\n$$;\n", []string{"pg_trgm"}},
		{"quoted, lower case, with a schema", "create extension if not exists \"uuid-ossp\" schema extensions;\n", []string{"uuid-ossp"}},
		{"in a comment", "--   CREATE EXTENSION IF NOT EXISTS pg_trgm;\n", nil},
		{"in the Down part", "-- +goose Up\nCREATE TABLE t (id int);\n-- +goose Down\nCREATE EXTENSION pg_trgm;\n", nil},
		{"twice", "CREATE EXTENSION pg_trgm;\nCREATE EXTENSION IF NOT EXISTS pg_trgm;\n", []string{"pg_trgm"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := []generate.File{{Path: "internal/services/x/migrations/postgres/00001_x.sql", Data: []byte(tt.sql)}}
			if got := sqlExtensions(files, func(generate.File) bool { return true }); !slices.Equal(got, tt.want) {
				t.Errorf("sqlExtensions = %v, want %v", got, tt.want)
			}
		})
	}
}
