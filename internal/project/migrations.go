package project

import (
	"bytes"
	"go/ast"
	"go/parser"
	"go/token"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/aegisgo/aegis/internal/generate"
)

// VersionTablePrefix starts each migration owner's goose version table in the app (the
// database component's VersionTablePrefix).
const VersionTablePrefix = "goose_db_version_"

// MigrationOwner is one set of migrations as the app's database component knows it. Its Name is
// the one the registering code gives at run time, not the catalog owner of its files: the glue
// comms+database registers "commsdb", and the app knows nothing of "comms+database".
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
}

// VersionTable is the goose table that records which of the owner's migrations ran.
func (o MigrationOwner) VersionTable() string { return VersionTablePrefix + o.Name }

// rendered holds what the migrations of owners that keep no .sql files in the project create:
// their migrations are rendered by the app at run time, so the files say nothing. Keyed by the
// run-time owner; TestRenderedMatchesRiver checks the worker's against River's own migrations
// and TestMigrationOwnersOfTemplate that no other owner needs an entry.
var rendered = map[string]MigrationOwner{
	// River's schema (the worker component's migrations, River's own for the version in go.mod),
	// after all of River's migrations: 005 made river_client and river_client_queue and 007
	// dropped them again.
	"worker": {
		Tables:          []string{"river_migration", "river_job", "river_leader", "river_queue", "river_notification"},
		PostgresObjects: []string{"FUNCTION river_job_state_in_bitmask", "TYPE river_job_state"},
	},
}

// MigrationOwners lists the migration owners that the files of the catalog owner part register
// with the database component (registry.Contribute(r, NAME, database.MigrationsFrom(...)) or
// database.Migrations{...}), sorted by name as the app runs them. The name is read from the
// registration itself, a string or a constant of the package, so it is what the app uses.
func MigrationOwners(files []generate.File, part string) []MigrationOwner {
	var owners []MigrationOwner
	for _, f := range files {
		if f.Owner != part || !isSource(f.Path) || !bytes.Contains(f.Data, []byte("database.Migrations")) {
			continue
		}
		for _, name := range registeredOwners(files, f) {
			o := MigrationOwner{Name: name, Part: part}
			dir := path.Dir(f.Path) + "/migrations/"
			o.Tables = sqlTables(files, func(g generate.File) bool { return strings.HasPrefix(g.Path, dir) })
			if r, ok := rendered[name]; ok {
				o.Tables = append(o.Tables, r.Tables...)
				o.PostgresObjects = r.PostgresObjects
			}
			owners = append(owners, o)
		}
	}
	slices.SortFunc(owners, func(a, b MigrationOwner) int { return strings.Compare(a.Name, b.Name) })
	return owners
}

func isSource(p string) bool {
	return strings.HasSuffix(p, ".go") && !strings.HasSuffix(p, "_test.go") && !strings.Contains(p, "/testdata/")
}

// registeredOwners returns the owner names f registers migrations under.
func registeredOwners(files []generate.File, f generate.File) []string {
	file, err := parser.ParseFile(token.NewFileSet(), f.Path, f.Data, parser.SkipObjectResolution)
	if err != nil {
		return nil // the project would not build either; nothing to report
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
