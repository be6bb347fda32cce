package cli

import (
	"context"
	"fmt"
	"go/parser"
	"go/token"
	"io"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/mod/modfile"
	"golang.org/x/mod/module"

	"github.com/aegisgo/aegis/internal/generate"
	"github.com/aegisgo/aegis/internal/project"
)

func newRemoveCmd(env *Env) *cobra.Command {
	var o growOpts
	cmd := &cobra.Command{
		Use:   "remove [NAME...]",
		Short: "Remove components or services from a project",
		Long: `Remove components or services from the project in the current folder or the nearest one
above it (or --project-path).

Remove refuses the components every project has (backend, frontend) and anything another
selected component or service requires. It deletes the files of what is removed and
re-renders the shared ones; a file you changed is never deleted: remove stops and names it.
Database tables are kept: remove names them before it asks, and once it has run prints how
to drop them.

Before it asks, remove names each Go file of yours that imports a package it deletes, or a
package of a module it takes out of go.mod (with the 'go get' and 'go mod tidy' that require it
again).

Without names, at a terminal, remove asks which of the project's parts to remove.`,
		Example: `  aegis remove cache
  aegis remove auth --dry-run`,
		Args: needNames(env, "remove", true),
		RunE: func(cmd *cobra.Command, args []string) error {
			return growNames(cmd.Context(), env, o, "remove", true, args, runRemove)
		},
	}
	growFlags(cmd, &o, true)
	return cmd
}

func runRemove(ctx context.Context, env *Env, p *project.Project, names []string, o growOpts) error {
	pl, err := p.PlanRemove(names)
	if err != nil {
		return err
	}
	out := env.Stdout
	fmt.Fprintf(out, "Removing %s from %s%s\n", ownerList(pl.GoneOwners), p.Manifest.Name, glueNote(pl.GoneOwners))
	// The catalog knows what its parts need of each other, not what the user's code imports:
	// say so before asking, since the project stops building until that code changes.
	var regets []string // the modules to require again, as path@version
	for _, u := range userImports(p.Dir, p.Manifest.Module, p.Manifest.Files, pl) {
		if u.module.Path != "" {
			// A third-party module the removed part brought, which the user's code imports
			// too: go.mod follows aegis's code and drops it. go get at the version it had
			// requires it again; go mod tidy would pick the latest, which may need a newer Go.
			fmt.Fprintf(out, "  ! your code %s imports %s, whose module %s this takes out of go.mod: run 'go get %s@%s' and then 'go mod tidy' to require it again\n",
				u.file, u.pkg, u.module.Path, u.module.Path, u.module.Version)
			regets = append(regets, u.module.String())
			continue
		}
		fmt.Fprintf(out, "  ! your code %s imports %s, which this removes: the build fails until you change it\n", u.file, u.pkg)
	}
	applied, err := apply(ctx, env, p, pl, o, "change", func(w io.Writer) { tablesNotice(w, pl.Tables) })
	if err != nil || !applied {
		return err
	}
	fmt.Fprintf(out, "Removed %s%s.\n", ownerList(pl.GoneOwners), glueNote(pl.GoneOwners))
	if kept := leftovers(p.Dir, pl); len(kept) > 0 {
		// A .go file left in a part's folder keeps it a package: the project's wire test then
		// fails on it, and the user would not know why the folder is still there.
		fmt.Fprintf(out, "Kept files aegis did not generate in the removed folders: %s\n", strings.Join(kept, ", "))
		fmt.Fprintln(out, "  Delete them, or move them out: a Go package left under internal/components or internal/services is imported by wire_gen.go on the next go generate.")
	}
	restore := "restore the previous commit"
	if !project.InGitTree(p.Dir) {
		restore = "add back what was removed (aegis add " + strings.Join(partsOf(pl.GoneOwners), " ") + ")"
	}
	keptTables(out, p.Manifest.Name, pl.Tables, restore)
	if len(regets) > 0 {
		slices.Sort(regets)
		fmt.Fprintf(out, "Your code imports modules go.mod no longer requires: run 'go get %s' and then 'go mod tidy' to require them again.\n", strings.Join(slices.Compact(regets), " "))
	}
	printTidy(out, pl)
	printLostComments(out, pl)
	printUnread(out, pl)
	printNext(out, p.Dir, "")
	return nil
}

// tablesNotice names, before remove asks, what the removed parts' migrations made that stays
// in the database (remove drops nothing): whoever decides whether to remove should know it
// first. How to drop them comes once remove has run (keptTables), since the first way starts
// from the removed code. Owners come in the order keptTables gives them.
func tablesNotice(out io.Writer, owners []project.MigrationOwner) {
	if len(owners) == 0 {
		return
	}
	fmt.Fprintln(out, "Database tables stay: remove drops none of them (once it has run, it prints how to drop them):")
	for _, o := range slices.Backward(owners) {
		line := fmt.Sprintf("  %s: %s", ownerName(o), strings.Join(append(slices.Clone(o.Tables), o.VersionTable()), ", "))
		pg := slices.Clone(o.PostgresObjects)
		for _, ext := range o.PostgresExtensions {
			pg = append(pg, "EXTENSION "+ext)
		}
		if len(pg) > 0 {
			line += "; on PostgreSQL also " + strings.Join(pg, ", ")
		}
		fmt.Fprintln(out, line)
	}
}

// ownerName is a migration owner as remove names it: with the part its files come from when
// that is named otherwise ('commsdb' (from comms+database)).
func ownerName(o project.MigrationOwner) string {
	if o.Part != o.Name {
		return "'" + o.Name + "' (from " + o.Part + ")"
	}
	return "'" + o.Name + "'"
}

// keptTables tells how to drop what the removed parts' migrations left in the database, which
// tablesNotice named before remove asked. Owners and statements come in the reverse of the
// order 'migrate up' ran them (owners by name, then each owner's migrations), so a table is
// dropped before the tables it references (authcomms_tokens before auth_users): PostgreSQL
// refuses the other order. The owners are the names the app runs migrations under (commsdb,
// not the catalog's comms+database), the only ones its 'migrate down --owner' knows.
// PostgreSQL extensions the migrations created come last, each with the condition to drop it.
// The down steps need the removed code back (restore says how: the previous commit in git; a
// project outside git has none, so adding the parts again).
func keptTables(out io.Writer, app string, owners []project.MigrationOwner, restore string) {
	for _, o := range slices.Backward(owners) {
		fmt.Fprintf(out, "To drop the tables of %s, %s, run 'go run ./cmd/%s migrate down --owner %s --all'\n", ownerName(o), restore, app, o.Name)
		fmt.Fprintf(out, "  (its migrations' down steps), then DROP TABLE IF EXISTS %s; and remove again. Or drop them all by hand:\n", o.VersionTable())
		// One statement per table: SQLite's DROP TABLE takes a single table (PostgreSQL's takes
		// a list, but the lines must run on both), and IF EXISTS lets them run on a database
		// where not every migration ran.
		for j := len(o.Tables) - 1; j >= 0; j-- {
			fmt.Fprintf(out, "    DROP TABLE IF EXISTS %s;\n", o.Tables[j])
		}
		fmt.Fprintf(out, "    DROP TABLE IF EXISTS %s;\n", o.VersionTable())
		if len(o.UserFiles) > 0 {
			// Kept as every file of the user's is; the down steps need them, so they go last.
			fmt.Fprintf(out, "  Your migrations %s, kept in its folder, ran under '%s' too: their tables are among these.\n", strings.Join(o.UserFiles, ", "), o.Name)
			fmt.Fprintln(out, "  Delete them once the tables are dropped: migrate down runs their down steps only while they are there.")
		}
		if len(o.PostgresObjects) > 0 {
			fmt.Fprintln(out, "  and on PostgreSQL also:")
			for _, obj := range o.PostgresObjects {
				fmt.Fprintf(out, "    DROP %s IF EXISTS %s;\n", strings.Fields(obj)[0], strings.Join(strings.Fields(obj)[1:], " "))
			}
		}
		// An extension belongs to the whole database, not to the owner: another part or the
		// user's own tables may use it, so it is named apart, with the condition to drop it.
		for _, ext := range o.PostgresExtensions {
			fmt.Fprintf(out, "  On PostgreSQL its migrations also created the extension %s, which was kept: it serves the whole database,\n", ext)
			fmt.Fprintln(out, "  so drop it only if nothing else uses it (without CASCADE, PostgreSQL refuses while an index or column needs it):")
			fmt.Fprintf(out, "    DROP EXTENSION IF EXISTS %s;\n", ext)
		}
	}
}

// leftovers lists the files remove kept (aegis never deletes a file it did not generate) in
// the folders it emptied of generated files, relative to root and in slash form: each file
// once, by itself or in a folder of the user's own. The user's migrations are left out: the
// kept tables' notice names them, with what to do with them.
func leftovers(root string, pl *project.Plan) []string {
	dirs := emptiedDirs(pl, func(string) bool { return true })
	// The folders above them that no generated file is left in are aegis's too (migrations/
	// above migrations/postgres/): their entries are listed one by one, not as a folder of the
	// user's, which would name the files in the folders below a second time.
	live := map[string]bool{}
	for rel := range pl.Manifest.Files {
		for d := path.Dir(rel); d != "."; d = path.Dir(d) {
			live[d] = true
		}
	}
	for dir := range maps.Clone(dirs) {
		for d := path.Dir(dir); d != "." && !live[d]; d = path.Dir(d) {
			dirs[d] = true
		}
	}
	migrations := map[string]bool{}
	for _, o := range pl.Tables {
		for _, f := range o.UserFiles {
			migrations[f] = true
		}
	}
	var kept []string
	for dir := range dirs {
		entries, err := os.ReadDir(filepath.Join(root, filepath.FromSlash(dir)))
		if err != nil {
			continue // gone with its files
		}
		for _, e := range entries {
			rel := path.Join(dir, e.Name())
			switch {
			case migrations[rel]:
			case !e.IsDir():
				kept = append(kept, rel)
			case !dirs[rel]: // a folder of the user's own; one of aegis's lists its files itself
				kept = append(kept, rel+"/")
			}
		}
	}
	slices.Sort(kept)
	return kept
}

// emptiedDirs are the folders (slash form) of the files the plan deletes that keep holds,
// which no generated file is left in.
func emptiedDirs(pl *project.Plan, keep func(path string) bool) map[string]bool {
	dirs := map[string]bool{}
	for _, c := range pl.Changes {
		if c.Action == project.Delete && keep(c.Path) {
			dirs[path.Dir(c.Path)] = true
		}
	}
	for rel := range pl.Manifest.Files {
		delete(dirs, path.Dir(rel)) // still holds generated files: not a removed folder
	}
	return dirs
}

// userImport is a Go file aegis did not generate that imports a package remove deletes, or (with
// module set) a package of a module remove takes out of go.mod, at the version go.mod required.
type userImport struct {
	file, pkg string
	module    module.Version
}

// userImports finds the Go files of the user's (those the manifest does not list) that import
// a package whose every generated file the plan deletes.
func userImports(root, module string, generated map[string]generate.ManifestFile, pl *project.Plan) []userImport {
	gone := map[string]bool{} // import paths of the packages the plan empties
	for dir := range emptiedDirs(pl, func(p string) bool { return strings.HasSuffix(p, ".go") }) {
		gone[module+"/"+dir] = true
	}
	dropped := droppedModules(root, pl)
	if len(gone) == 0 && len(dropped) == 0 {
		return nil
	}
	var found []userImport
	_ = filepath.WalkDir(root, func(file string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // unreadable: nothing to say about it
		}
		rel, _ := filepath.Rel(root, file)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if name := d.Name(); rel != "." && (strings.HasPrefix(name, ".") || name == "vendor" || name == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if _, ours := generated[rel]; ours || !strings.HasSuffix(rel, ".go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), file, nil, parser.ImportsOnly)
		if err != nil {
			return nil
		}
		for _, imp := range f.Imports {
			pkg, err := strconv.Unquote(imp.Path.Value)
			if err != nil {
				continue
			}
			if gone[pkg] {
				found = append(found, userImport{file: rel, pkg: pkg})
				continue
			}
			for _, m := range dropped {
				if pkg == m.Path || strings.HasPrefix(pkg, m.Path+"/") {
					found = append(found, userImport{rel, pkg, m})
					break
				}
			}
		}
		return nil
	})
	return found
}

// droppedModules lists the modules the project's go.mod requires that the plan's go.mod no
// longer does, longest path first so that a package is matched to its own module
// (github.com/x/y/v2 before github.com/x/y).
func droppedModules(root string, pl *project.Plan) []module.Version {
	var next []byte
	for _, c := range pl.Changes {
		if c.Path == "go.mod" && c.Action != project.Delete {
			next = c.Data
		}
	}
	if next == nil {
		return nil
	}
	cur, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		return nil
	}
	before, err1 := modfile.Parse("go.mod", cur, nil)
	after, err2 := modfile.Parse("go.mod", next, nil)
	if err1 != nil || err2 != nil {
		return nil
	}
	kept := map[string]bool{}
	for _, r := range after.Require {
		kept[r.Mod.Path] = true
	}
	var dropped []module.Version
	for _, r := range before.Require {
		if !kept[r.Mod.Path] {
			dropped = append(dropped, r.Mod)
		}
	}
	slices.SortFunc(dropped, func(a, b module.Version) int { return len(b.Path) - len(a.Path) })
	return dropped
}
