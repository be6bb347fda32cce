package project

import (
	"bytes"
	"errors"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"golang.org/x/mod/modfile"

	"github.com/aegisgo/aegis/internal/catalog"
	"github.com/aegisgo/aegis/internal/generate"
	"github.com/aegisgo/aegis/template"
)

const testModule = "example.com/grow"

// initProject does what `aegis init app` does for sel into dir/app, rendered from src (nil
// means the reference app), and returns the project folder.
func initProject(t *testing.T, dir string, sel catalog.Selection, src fs.FS) string {
	t.Helper()
	root := filepath.Join(dir, "app")
	p := New(root, "app", testModule, Opts{Source: src})
	pl, err := p.PlanInit(sel, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Apply(t.Context(), pl); err != nil {
		t.Fatal(err)
	}
	return root
}

func resolve(t *testing.T, names ...string) catalog.Selection {
	t.Helper()
	var req catalog.Request
	for _, n := range names {
		e, _ := catalog.Default.Lookup(n)
		if e.Kind == catalog.KindComponent {
			req.Components = append(req.Components, n)
		} else {
			req.Services = append(req.Services, n)
		}
	}
	res, err := catalog.Default.Resolve(req)
	if err != nil {
		t.Fatal(err)
	}
	return res.Selection
}

// tree reads every file under root but .env: path -> mode and content.
func tree(t *testing.T, root string) map[string]string {
	t.Helper()
	m := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if d.IsDir() {
			if rel != "." && d.Name() != ".git" {
				m[rel+"/"] = "dir"
			}
			if d.Name() == ".git" {
				return filepath.SkipDir
			}
			return nil
		}
		if rel == ".env" {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		fi, _ := d.Info()
		m[rel] = fi.Mode().String() + "\n" + string(data)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func sameTree(t *testing.T, got, want string) {
	t.Helper()
	a, b := tree(t, got), tree(t, want)
	var diffs []string
	for p, v := range a {
		if w, ok := b[p]; !ok {
			diffs = append(diffs, "extra "+p)
		} else if v != w {
			diffs = append(diffs, "differs "+p)
		}
	}
	for p := range b {
		if _, ok := a[p]; !ok {
			diffs = append(diffs, "missing "+p)
		}
	}
	slices.Sort(diffs)
	if len(diffs) > 0 {
		t.Errorf("trees differ: %s", strings.Join(diffs, ", "))
	}
}

// needGit stops a test of a merge when git, which aegis merges with (git merge-file), is
// missing: a test passed over would say nothing of the merges.
func needGit(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Fatal("this test merges files with git, as aegis does: install git")
	}
}

// addParts adds names to the project in dir with the real templates and returns the plan
// applied.
func addParts(t *testing.T, dir string, names ...string) *Plan {
	t.Helper()
	p := load(t, dir, nil)
	pl, err := p.PlanAdd(names)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Apply(t.Context(), pl); err != nil {
		t.Fatal(err)
	}
	return pl
}

func load(t *testing.T, dir string, src fs.FS) *Project {
	t.Helper()
	p, err := Load(dir, Opts{Source: src})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// optional returns the available entries a user can add.
func optional() []string {
	var names []string
	for _, e := range catalog.Default.Entries {
		if e.Available() && !e.AlwaysOn {
			names = append(names, e.Name)
		}
	}
	return names
}

// selections returns every distinct resolved selection of available entries.
func selections(t *testing.T) [][]string {
	names := optional()
	var out [][]string
	var seen []catalog.Selection
	for mask := 0; mask < 1<<len(names); mask++ {
		var pick []string
		for i, n := range names {
			if mask&(1<<i) != 0 {
				pick = append(pick, n)
			}
		}
		sel := resolve(t, pick...)
		if slices.ContainsFunc(seen, sel.Equal) {
			continue
		}
		seen = append(seen, sel)
		out = append(out, slices.Concat(catalog.Default.Optional(sel), sel.Services))
	}
	return out
}

// TestParity: for every selection A and every entry b that A lacks, init A + add b is byte for
// byte init A+b (but for .env, whose secrets are random), and init A+b + remove b is init A+b-b
// whenever nothing else needs b. -short checks a sample.
func TestParity(t *testing.T) {
	sels := selections(t)
	if testing.Short() {
		sels = sels[:min(len(sels), 2)]
	}
	for _, a := range sels {
		selA := resolve(t, a...)
		for _, b := range optional() {
			if selA.Has(b) {
				continue
			}
			name := strings.Join(append([]string{"base"}, a...), "+") + "/add-" + b
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				selAB := resolve(t, append(slices.Clone(a), b)...)
				grown := initProject(t, t.TempDir(), selA, nil)
				p := load(t, grown, nil)
				pl, err := p.PlanAdd([]string{b})
				if err != nil {
					t.Fatal(err)
				}
				if !pl.Selection.Equal(selAB) {
					t.Fatalf("add %s: selection %v, want %v", b, pl.Selection, selAB)
				}
				if err := p.Apply(t.Context(), pl); err != nil {
					t.Fatal(err)
				}
				fresh := initProject(t, t.TempDir(), selAB, nil)
				sameTree(t, grown, fresh)

				// And back: remove b from init A+b, when nothing else selected needs it.
				p = load(t, fresh, nil)
				pl, err = p.PlanRemove([]string{b})
				var inv *invalidError
				if errors.As(err, &inv) && strings.Contains(err.Error(), "requires it") {
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if err := p.Apply(t.Context(), pl); err != nil {
					t.Fatal(err)
				}
				sameTree(t, fresh, initProject(t, t.TempDir(), pl.Selection, nil))
			})
		}
	}
}

func TestAddKeepsUserFilesAndSecrets(t *testing.T) {
	dir := initProject(t, t.TempDir(), resolve(t), nil)
	mine := filepath.Join(dir, "internal", "services", "mine.go")
	os.WriteFile(mine, []byte("package services\n"), 0o644)
	os.WriteFile(filepath.Join(dir, ".env"), []byte("PORT=9000\nAUTH_SECRET=mine"), 0o600)
	pl := addParts(t, dir, "AUTH")
	if data, _ := os.ReadFile(mine); string(data) != "package services\n" {
		t.Errorf("user file changed: %q", data)
	}
	if data, _ := os.ReadFile(filepath.Join(dir, ".env")); string(data) != "PORT=9000\nAUTH_SECRET=mine" {
		t.Errorf(".env changed: %q", data)
	}
	if len(pl.Added) != 1 || pl.Added[0].Name != "database" {
		t.Errorf("added %v, want database for auth", pl.Added)
	}
}

func TestAddAppendsSecret(t *testing.T) {
	dir := initProject(t, t.TempDir(), resolve(t), nil)
	os.WriteFile(filepath.Join(dir, ".env"), []byte("PORT=9000"), 0o600)
	addParts(t, dir, "auth")
	data, _ := os.ReadFile(filepath.Join(dir, ".env"))
	if !strings.HasPrefix(string(data), "PORT=9000\nAUTH_SECRET=") || len(data) != len("PORT=9000\nAUTH_SECRET=")+65 {
		t.Errorf(".env = %q", data)
	}
}

// A shared file the user changed is merged when the changes do not overlap, and stops add
// (naming it, changing nothing) when they do.
func TestAddMergesChangedSharedFile(t *testing.T) {
	dir := initProject(t, t.TempDir(), resolve(t), nil)
	readme := filepath.Join(dir, "README.md")
	orig, _ := os.ReadFile(readme)
	os.WriteFile(readme, append([]byte("My notes.\n\n"), orig...), 0o644)
	addParts(t, dir, "cache")
	data, _ := os.ReadFile(readme)
	if !strings.HasPrefix(string(data), "My notes.\n\n# app") || !strings.Contains(string(data), "CACHE_URL") {
		t.Errorf("README not merged:\n%s", data)
	}

	// A change on the very lines add rewrites: add stops.
	wire := filepath.Join(dir, "internal", "components", "wire_gen.go")
	data, _ = os.ReadFile(wire)
	os.WriteFile(wire, bytes.Replace(data, []byte("/cache\"\n"), []byte("/cache\" // mine\n"), 1), 0o644)
	before := tree(t, dir)
	_, err := load(t, dir, nil).PlanAdd([]string{"auth"})
	var modErr *ModifiedError
	if !errors.As(err, &modErr) || !strings.Contains(err.Error(), "internal/components/wire_gen.go: your changes overlap aegis's: move your version aside, restore aegis's copy (tar -xOf .aegis/base.tar internal/components/wire_gen.go > internal/components/wire_gen.go)") {
		t.Fatalf("err = %v, want a ModifiedError naming wire_gen.go", err)
	}
	if !maps.Equal(before, tree(t, dir)) {
		t.Error("a refused add changed the project")
	}
}

func TestRemoveRefusesChangedFile(t *testing.T) {
	dir := initProject(t, t.TempDir(), resolve(t, "cache"), nil)
	f := filepath.Join(dir, "internal", "components", "cache", "cache.go")
	data, err := os.ReadFile(f)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(f, append(data, "// mine\n"...), 0o644)
	before := tree(t, dir)
	_, err = load(t, dir, nil).PlanRemove([]string{"cache"})
	if err == nil || !strings.Contains(err.Error(), "internal/components/cache/cache.go: you changed it and aegis would delete it: move it away") {
		t.Fatalf("err = %v", err)
	}
	if !maps.Equal(before, tree(t, dir)) {
		t.Error("a refused remove changed the project")
	}
}

// TestBlockedFixes: each kind of file that stops add or remove is named with the fix that works
// for it, and carrying out that fix (the printed command, from the project folder) lets the
// command through.
func TestBlockedFixes(t *testing.T) {
	mine := func(rel string) func(t *testing.T, dir string) {
		return func(t *testing.T, dir string) {
			f := filepath.Join(dir, filepath.FromSlash(rel))
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(f, append(data, "// mine\n"...), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	tests := []struct {
		name  string
		sel   []string
		setup func(t *testing.T, dir string)
		plan  func(p *Project) error
		want  string
		// restores: the fix runs the printed tar command after moving the file aside;
		// otherwise it moves the file away.
		restores bool
	}{
		{
			name: "overlap", sel: []string{"cache"},
			setup: func(t *testing.T, dir string) {
				f := filepath.Join(dir, "internal", "components", "wire_gen.go")
				data, _ := os.ReadFile(f)
				os.WriteFile(f, bytes.Replace(data, []byte("/cache\"\n"), []byte("/cache\" // mine\n"), 1), 0o644)
			},
			plan:     func(p *Project) error { _, err := p.PlanAdd([]string{"auth"}); return err },
			want:     "internal/components/wire_gen.go: your changes overlap aegis's: move your version aside, restore aegis's copy (tar -xOf .aegis/base.tar internal/components/wire_gen.go > internal/components/wire_gen.go), retry, then re-apply your change",
			restores: true,
		},
		{
			name: "deleted",
			setup: func(t *testing.T, dir string) {
				os.Remove(filepath.Join(dir, "internal", "components", "wire_gen.go"))
			},
			plan:     func(p *Project) error { _, err := p.PlanAdd([]string{"cache"}); return err },
			want:     "internal/components/wire_gen.go: you deleted it and aegis must change it: restore it (tar -xOf .aegis/base.tar internal/components/wire_gen.go > internal/components/wire_gen.go) and retry",
			restores: true,
		},
		{
			name: "not aegis's",
			setup: func(t *testing.T, dir string) {
				os.MkdirAll(filepath.Join(dir, "internal", "components", "cache"), 0o755)
				os.WriteFile(filepath.Join(dir, "internal", "components", "cache", "cache.go"), []byte("package cache\n"), 0o644)
			},
			plan: func(p *Project) error { _, err := p.PlanAdd([]string{"cache"}); return err },
			want: "internal/components/cache/cache.go: exists and aegis did not write it: move it away and retry",
		},
		{
			name: "changed, aegis would delete it", sel: []string{"cache"},
			setup: mine("internal/components/cache/cache.go"),
			plan:  func(p *Project) error { _, err := p.PlanRemove([]string{"cache"}); return err },
			want:  "internal/components/cache/cache.go: you changed it and aegis would delete it: move it away (or undo your changes) and retry",
		},
	}
	_, noTar := exec.LookPath("tar")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := initProject(t, t.TempDir(), resolve(t, tt.sel...), nil)
			tt.setup(t, dir)
			err := tt.plan(load(t, dir, nil))
			var modErr *ModifiedError
			if !errors.As(err, &modErr) || !strings.HasPrefix(err.Error(), "files you changed stand in the way") ||
				!strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("err = %v\nwant one line with %q", err, tt.want)
			}
			if len(modErr.Files) != 1 {
				t.Fatalf("blocked %v, want one file", modErr.Files)
			}
			rel := filepath.FromSlash(modErr.Files[0].Path)
			aside := filepath.Join(t.TempDir(), "aside")
			if err := os.Rename(filepath.Join(dir, rel), aside); err != nil && !errors.Is(err, fs.ErrNotExist) {
				t.Fatal(err)
			}
			if tt.restores {
				if noTar != nil {
					t.Skip("no tar to run the printed fix with")
				}
				cmd, _, _ := strings.Cut(tt.want[strings.Index(tt.want, "(tar ")+1:], ")")
				sh := exec.Command("sh", "-c", cmd)
				sh.Dir = dir
				if out, err := sh.CombinedOutput(); err != nil {
					t.Fatalf("%s: %v\n%s", cmd, err, out)
				}
			}
			if err := tt.plan(load(t, dir, nil)); err != nil {
				t.Fatalf("after the fix: %v", err)
			}
		})
	}
}

func TestBadInput(t *testing.T) {
	dir := initProject(t, t.TempDir(), resolve(t, "auth"), nil)
	p := load(t, dir, nil)
	for _, tc := range []struct {
		name string
		run  func() error
		want string
	}{
		{"unknown", func() error { _, err := p.PlanAdd([]string{"nope"}); return err }, "unknown component or service 'nope'"},
		{"misspelt", func() error { _, err := p.PlanAdd([]string{"cahce"}); return err }, "describe them); did you mean 'cache'?"},
		{"misspelt always-on", func() error { _, err := p.PlanAdd([]string{"backedn"}); return err }, "describe them)"},
		{"already there", func() error { _, err := p.PlanAdd([]string{"auth"}); return err }, "'auth' is already in this project: nothing to add"},
		// Beside names it would add, "nothing to add" is wrong: the error names the command for those.
		{"already there with others", func() error { _, err := p.PlanAdd([]string{"cache", "auth", "worker"}); return err },
			"service 'auth' is already in this project: add only the others with 'aegis add cache worker'"},
		{"not there with others", func() error { _, err := p.PlanRemove([]string{"auth", "cache"}); return err },
			"component 'cache' is not in this project (it has database, auth): remove only the others with 'aegis remove auth'"},
		{"coming soon", func() error { _, err := p.PlanAdd([]string{"payment"}); return err }, "coming soon"},
		{"not there", func() error { _, err := p.PlanRemove([]string{"cache"}); return err }, "'cache' is not in this project (it has database, auth)"},
		{"core", func() error { _, err := p.PlanRemove([]string{"backend"}); return err }, "part of every project and cannot be removed; what this project can lose: database, auth"},
		{"core with others", func() error { _, err := p.PlanRemove([]string{"backend", "auth", "httpclient"}); return err },
			"component 'backend' is part of every project and cannot be removed: remove only the others with 'aegis remove auth'"},
		{"required", func() error { _, err := p.PlanRemove([]string{"database"}); return err }, "service 'auth' requires it"},
	} {
		err := tc.run()
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: err = %v, want one line with %q", tc.name, err, tc.want)
		}
		// Only a name that is no part is ErrUnknown (the CLI's usage error), and it is ErrInvalid too.
		if unknown := strings.HasPrefix(tc.name, "unknown") || strings.HasPrefix(tc.name, "misspelt"); errors.Is(err, ErrUnknown) != unknown || unknown && !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: errors.Is(err, ErrUnknown) = %v, want %v; ErrInvalid %v", tc.name, errors.Is(err, ErrUnknown), unknown, errors.Is(err, ErrInvalid))
		}
	}

	if _, err := Load(t.TempDir(), Opts{}); !errors.Is(err, ErrNotProject) {
		t.Errorf("no manifest: %v", err)
	}
	m := filepath.Join(dir, ".aegis", "manifest.json")
	data, _ := os.ReadFile(m)
	os.WriteFile(m, bytes.Replace(data, []byte(`"version": "`+generate.Version+`"`), []byte(`"version": "9.0.0"`), 1), 0o644)
	if _, err := Load(dir, Opts{}); err == nil || !strings.Contains(err.Error(), "newer than this aegis") {
		t.Errorf("newer manifest: %v", err)
	}
}

// A failure half way through Apply leaves the project exactly as it was.
func TestApplyRollsBack(t *testing.T) {
	dir := initProject(t, t.TempDir(), resolve(t, "cache"), nil)
	before := tree(t, dir)
	p := load(t, dir, nil)
	for _, plan := range []func() (*Plan, error){
		func() (*Plan, error) { return p.PlanAdd([]string{"auth"}) },
		func() (*Plan, error) { return p.PlanRemove([]string{"cache"}) },
	} {
		pl, err := plan()
		if err != nil {
			t.Fatal(err)
		}
		boom := errors.New("boom")
		applyHook = func(i int, c Change) error {
			if i == len(pl.Changes)-1 {
				return boom
			}
			return nil
		}
		err = p.Apply(t.Context(), pl)
		applyHook = nil
		if !errors.Is(err, boom) {
			t.Fatalf("err = %v", err)
		}
		if after := tree(t, dir); !maps.Equal(before, after) {
			for k := range after {
				if before[k] != after[k] {
					t.Errorf("changed: %s", k)
				}
			}
			for k := range before {
				if _, ok := after[k]; !ok {
					t.Errorf("gone: %s", k)
				}
			}
			t.Fatal("a failed apply changed the project")
		}
	}
}

// overlay returns the reference app with some files replaced: a new generator version.
func overlay(t *testing.T, edits map[string]func(string) string) fs.FS {
	t.Helper()
	m := fstest.MapFS{}
	err := fs.WalkDir(template.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(template.FS, p)
		if err != nil {
			return err
		}
		if edit, ok := edits[p]; ok {
			data = []byte(edit(string(data)))
		}
		m[p] = &fstest.MapFile{Data: data, Mode: 0o644}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestUpdate(t *testing.T) {
	needGit(t)
	sel := resolve(t, "cache")
	dir := initProject(t, t.TempDir(), sel, nil)

	// An unmodified project with the same generator: nothing to do.
	pl, err := load(t, dir, nil).PlanUpdate()
	if err != nil || !pl.Empty() {
		t.Fatalf("update of a fresh project: %v, %d changes", err, len(pl.Changes))
	}

	const file = "internal/components/cache/cache.go"
	orig, _ := os.ReadFile(filepath.Join(dir, file))
	lines := strings.SplitAfter(string(orig), "\n")
	if len(lines) < 40 {
		t.Fatalf("%s is too short for this test", file)
	}
	// The new generator changes a line near the end ...
	gen := overlay(t, map[string]func(string) string{file: func(s string) string {
		l := strings.SplitAfter(s, "\n")
		l[len(l)-3] = "// generator v2\n" + l[len(l)-3]
		return strings.Join(l, "")
	}})
	// ... the user a line near the top.
	user := slices.Clone(lines)
	user[2] = "// user\n" + user[2]
	os.WriteFile(filepath.Join(dir, file), []byte(strings.Join(user, "")), 0o644)

	p := load(t, dir, gen)
	pl, err = p.PlanUpdate()
	if err != nil {
		t.Fatal(err)
	}
	if len(pl.Conflicts) > 0 || len(pl.Visible()) != 1 || pl.Visible()[0].Action != Merge {
		t.Fatalf("want one clean merge, got %+v conflicts %v", pl.Visible(), pl.Conflicts)
	}
	if err := p.Apply(t.Context(), pl); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(filepath.Join(dir, file))
	if !strings.Contains(string(got), "// user\n") || !strings.Contains(string(got), "// generator v2\n") {
		t.Errorf("merge lost a side:\n%s", got)
	}
	archive, _ := os.ReadFile(filepath.Join(dir, generate.BasePath))
	bases, err := generate.ReadBase(archive)
	if err != nil {
		t.Fatal(err)
	}
	base := bases[file]
	if !strings.Contains(string(base), "// generator v2\n") || strings.Contains(string(base), "// user") {
		t.Error("the base copy is not the new rendering")
	}
	// Updating again with the same generator: nothing to do.
	if pl, err := load(t, dir, gen).PlanUpdate(); err != nil || !pl.Empty() {
		t.Fatalf("second update: %v, %+v", err, pl.Visible())
	}

	// Both change the same line: a conflict, written with markers and listed.
	gen3 := overlay(t, map[string]func(string) string{file: func(s string) string {
		l := strings.SplitAfter(s, "\n")
		l[len(l)-3] = "// generator v2\n" + l[len(l)-3]
		l[2] = "// generator v3\n" + l[2]
		return strings.Join(l, "")
	}})
	p = load(t, dir, gen3)
	pl, err = p.PlanUpdate()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(pl.Conflicts, []string{file}) {
		t.Fatalf("conflicts %v", pl.Conflicts)
	}
	if err := p.Apply(t.Context(), pl); err != nil {
		t.Fatal(err)
	}
	got, _ = os.ReadFile(filepath.Join(dir, file))
	if !strings.Contains(string(got), "<<<<<<< yours") || !strings.Contains(string(got), ">>>>>>> aegis") {
		t.Errorf("no conflict markers:\n%s", got)
	}

	// Committed unresolved, the markers stop the next update, add and remove (the project does
	// not build): they are named, not passed over as the user's version.
	for name, plan := range map[string]func(p *Project) error{
		"update": func(p *Project) error { _, err := p.PlanUpdate(); return err },
		"add":    func(p *Project) error { _, err := p.PlanAdd([]string{"scheduler"}); return err },
		"remove": func(p *Project) error { _, err := p.PlanRemove([]string{"cache"}); return err },
	} {
		err := plan(load(t, dir, gen3))
		const want = "still holds the conflict markers of an earlier update (<<<<<<< yours / >>>>>>> aegis): " + file + "; resolve them"
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s after an unresolved conflict: err = %v, want %q", name, err, want)
		}
	}
}

// TestUpdateKeepsDeletedFile: update keeps the deletion of a file aegis's new rendering changed,
// applies the rest, and the next add does not stop on the file.
func TestUpdateKeepsDeletedFile(t *testing.T) {
	dir := initProject(t, t.TempDir(), resolve(t), nil)
	const file = "internal/components/backend/body.go"
	if err := os.Remove(filepath.Join(dir, file)); err != nil {
		t.Fatal(err)
	}
	gen := overlay(t, map[string]func(string) string{file: func(s string) string { return s + "// v2\n" }})
	p := load(t, dir, gen)
	pl, err := p.PlanUpdate()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(pl.KeptDeleted, []string{file}) || len(pl.Visible()) != 0 {
		t.Fatalf("kept deleted %v, visible changes %+v; want the file kept deleted and nothing else", pl.KeptDeleted, pl.Visible())
	}
	if err := p.Apply(t.Context(), pl); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, file)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the file came back: %v", err)
	}
	archive, _ := os.ReadFile(filepath.Join(dir, generate.BasePath))
	bases, err := generate.ReadBase(archive)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(string(bases[file]), "// v2\n") {
		t.Error("the base archive does not hold aegis's new version")
	}

	// Neither update again nor add stops on it, and it stays deleted.
	if pl, err := load(t, dir, gen).PlanUpdate(); err != nil || !pl.Empty() {
		t.Fatalf("second update: %v, %+v, kept deleted %v", err, pl.Visible(), pl.KeptDeleted)
	}
	p = load(t, dir, gen)
	if pl, err = p.PlanAdd([]string{"cache"}); err != nil {
		t.Fatalf("add after update: %v", err)
	}
	if err := p.Apply(t.Context(), pl); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, file)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("add brought the file back: %v", err)
	}
}

// TestWireGenKeepsUserSubpackage follows the generated docs: a service moved to its own
// sub-folder is wired by go generate, which adds its import to internal/services/wire_gen.go.
// Adding and removing a service then rewrites the lines next to it; the user's import must be
// kept, and aegis's change made, without a conflict.
func TestWireGenKeepsUserSubpackage(t *testing.T) {
	dir := initProject(t, t.TempDir(), resolve(t), nil)
	wire := filepath.Join(dir, "internal", "services", "wire_gen.go")
	billing := "\t_ \"" + testModule + "/internal/services/billing\"\n"
	data, err := os.ReadFile(wire)
	if err != nil {
		t.Fatal(err)
	}
	// What wiregen writes with a billing folder beside httpclient: billing sorts first.
	regenerated := strings.Replace(string(data), "import (\n", "import (\n"+billing, 1)
	if err := os.WriteFile(wire, []byte(regenerated), 0o644); err != nil {
		t.Fatal(err)
	}

	steps := []struct {
		name string
		plan func(*Project) (*Plan, error)
		want []string // the services wire_gen.go imports afterwards, in order
	}{
		{"add auth", func(p *Project) (*Plan, error) { return p.PlanAdd([]string{"auth"}) }, []string{"auth", "billing", "httpclient"}},
		{"remove auth", func(p *Project) (*Plan, error) { return p.PlanRemove([]string{"auth"}) }, []string{"billing", "httpclient"}},
	}
	for _, s := range steps {
		p := load(t, dir, nil)
		pl, err := s.plan(p)
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if pl.Tidy {
			t.Errorf("%s: a merged wire_gen.go asks for go mod tidy", s.name)
		}
		if err := p.Apply(t.Context(), pl); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		got, _ := os.ReadFile(wire)
		want := "// Code generated by wiregen; DO NOT EDIT.\n// Refresh with: go generate ./...\n\npackage services\n\nimport (\n"
		for _, w := range s.want {
			want += "\t_ \"" + testModule + "/internal/services/" + w + "\"\n"
		}
		want += ")\n"
		if string(got) != want {
			t.Errorf("%s: wire_gen.go =\n%s\nwant\n%s", s.name, got, want)
		}
	}
}

// TestAddKeepsAppendedNotes: notes appended at the end of the README, the edit users make most,
// stay at the end when aegis rewrites the README's last paragraph (auth does), instead of
// stopping add as an overlap of neighbouring lines.
func TestAddKeepsAppendedNotes(t *testing.T) {
	tests := []struct {
		name string
		edit func(readme string) string // the user's change besides the notes
	}{
		{name: "notes only", edit: func(s string) string { return s }},
		// A change above keeps the file from starting with aegis's copy; aegis's new last
		// lines still sit next to the notes, which a line merge calls an overlap.
		{name: "notes and a changed title", edit: func(s string) string {
			title, rest, _ := strings.Cut(s, "\n")
			return title + " (our fork)\n" + rest
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			needGit(t)
			dir := initProject(t, t.TempDir(), resolve(t), nil)
			readme := filepath.Join(dir, "README.md")
			orig, err := os.ReadFile(readme)
			if err != nil {
				t.Fatal(err)
			}
			const notes = "\n## Our notes\n\nBilling lives in internal/services/billing.\n"
			if err := os.WriteFile(readme, []byte(tt.edit(string(orig))+notes), 0o644); err != nil {
				t.Fatal(err)
			}
			addParts(t, dir, "auth")
			got, _ := os.ReadFile(readme)
			if !strings.HasSuffix(string(got), notes) || !strings.Contains(string(got), "AUTH_SECRET") ||
				!strings.HasPrefix(string(got), tt.edit("# app\n")) {
				t.Errorf("README lost the user's changes or aegis's auth section:\n%s", got)
			}
		})
	}
}

// TestAddOnOlderProjectPointsToUpdate: add on a project made by another aegis also brings every
// file to this aegis's rendering, so a file the user changed can stop it although the part added
// has nothing to do with it; the error then says to run update first, which writes conflicts
// with markers for the user to resolve. A file that stops add because of the part added gets
// no such advice: update would not help.
func TestAddOnOlderProjectPointsToUpdate(t *testing.T) {
	needGit(t)
	tests := []struct {
		name string
		// file is changed by the user on the line holding mark.
		file, mark string
		add        string
		// newer: the newer aegis changes the same line; false: the same aegis.
		newer  bool
		update bool
	}{
		{name: "older project", file: "internal/components/cache/cache.go", mark: "package cache\n", add: "scheduler", newer: true, update: true},
		{name: "same aegis", file: "internal/components/wire_gen.go", mark: "/cache\"\n", add: "auth"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := initProject(t, t.TempDir(), resolve(t, "cache"), nil)
			f := filepath.Join(dir, filepath.FromSlash(tt.file))
			data, _ := os.ReadFile(f)
			mine := bytes.Replace(data, []byte(tt.mark), []byte(strings.TrimSuffix(tt.mark, "\n")+" // mine\n"), 1)
			if bytes.Equal(mine, data) {
				t.Fatalf("%s has no %q", tt.file, tt.mark)
			}
			os.WriteFile(f, mine, 0o644)
			var gen fs.FS
			if tt.newer {
				gen = overlay(t, map[string]func(string) string{"internal/components/cache/cache.go": func(s string) string {
					return strings.Replace(s, tt.mark, strings.TrimSuffix(tt.mark, "\n")+" // generator v2\n", 1)
				}})
			}
			_, err := load(t, dir, gen).PlanAdd([]string{tt.add})
			var modErr *ModifiedError
			if !errors.As(err, &modErr) || !strings.Contains(err.Error(), tt.file+": your changes overlap aegis's") || strings.Contains(err.Error(), "\n") {
				t.Fatalf("err = %v, want one line naming %s", err, tt.file)
			}
			if got := strings.Contains(err.Error(), "run 'aegis update' first"); got != tt.update {
				t.Errorf("err = %v\nadvises update: %v, want %v", err, got, tt.update)
			}
		})
	}
}

// TestMissingArchiveNamed: with .aegis/base.tar gone, every changed file aegis must change has
// no pristine copy; the error says the archive is missing and how to restore it, which fixes
// them all at once, instead of only one fix per file.
func TestMissingArchiveNamed(t *testing.T) {
	const file = "internal/components/cache/cache.go"
	dir := initProject(t, t.TempDir(), resolve(t, "cache"), nil)
	f := filepath.Join(dir, filepath.FromSlash(file))
	data, _ := os.ReadFile(f)
	os.WriteFile(f, append(data, "// mine\n"...), 0o644)
	if err := os.Remove(filepath.Join(dir, filepath.FromSlash(generate.BasePath))); err != nil {
		t.Fatal(err)
	}
	gen := overlay(t, map[string]func(string) string{file: func(s string) string {
		return strings.Replace(s, "package cache\n", "package cache // generator v2\n", 1)
	}})
	_, err := load(t, dir, gen).PlanUpdate()
	const want = ".aegis/base.tar is missing: restore it from your git history (git checkout COMMIT -- .aegis/base.tar, with a commit that has it) and retry"
	if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), file) || strings.Contains(err.Error(), "\n") {
		t.Fatalf("err = %v\nwant one line naming %s and %q", err, file, want)
	}
}

// TestDamagedArchiveNamed: a truncated .aegis/base.tar (a bad copy, a disk that filled up) is
// named with how to restore it, in one line without the tar reader's words or aegis's package
// names, and nothing is written.
func TestDamagedArchiveNamed(t *testing.T) {
	const file = "internal/components/cache/cache.go"
	dir := initProject(t, t.TempDir(), resolve(t, "cache"), nil)
	f := filepath.Join(dir, filepath.FromSlash(file))
	data, _ := os.ReadFile(f)
	os.WriteFile(f, append(data, "// mine\n"...), 0o644)
	archive := filepath.Join(dir, filepath.FromSlash(generate.BasePath))
	whole, _ := os.ReadFile(archive)
	if err := os.WriteFile(archive, whole[:1000], 0o644); err != nil {
		t.Fatal(err)
	}
	gen := overlay(t, map[string]func(string) string{file: func(s string) string {
		return strings.Replace(s, "package cache\n", "package cache // generator v2\n", 1)
	}})
	_, err := load(t, dir, gen).PlanUpdate()
	const want = ".aegis/base.tar is damaged: restore it from your git history (git checkout COMMIT -- .aegis/base.tar, with a commit that has it intact) and retry; nothing was changed"
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v\nwant %s", err, want)
	}
	if got, _ := os.ReadFile(archive); len(got) != 1000 {
		t.Errorf("the archive was rewritten (%d bytes)", len(got))
	}
}

// TestAddCountsOutdatedFiles: add on a project made by another aegis brings every file to this
// aegis's rendering; the plan counts the files that change for that reason alone, so that the
// command can say its changes are not all the added part's.
func TestAddCountsOutdatedFiles(t *testing.T) {
	for _, newer := range []bool{false, true} {
		dir := initProject(t, t.TempDir(), resolve(t, "cache"), nil)
		var gen fs.FS
		want := 0
		if newer {
			gen = overlay(t, map[string]func(string) string{"internal/components/cache/cache.go": func(s string) string {
				return strings.Replace(s, "package cache\n", "package cache // generator v2\n", 1)
			}})
			want = 1
		}
		pl, err := load(t, dir, gen).PlanAdd([]string{"scheduler"})
		if err != nil {
			t.Fatal(err)
		}
		if pl.Outdated != want {
			t.Errorf("newer aegis %v: Outdated = %d, want %d", newer, pl.Outdated, want)
		}
	}
}

// TestUnreadableFileNamed: a generated file aegis cannot read (here a folder in its place, as
// permissions do not stop root) stops the plan with its name and the way out.
func TestUnreadableFileNamed(t *testing.T) {
	const file = "internal/components/cache/cache.go"
	dir := initProject(t, t.TempDir(), resolve(t, "cache"), nil)
	f := filepath.Join(dir, filepath.FromSlash(file))
	if err := os.Remove(f); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(f, 0o755); err != nil {
		t.Fatal(err)
	}
	_, err := load(t, dir, nil).PlanUpdate()
	const want = "cannot read " + file + " (is a directory): make it a file you can read, or move it away, then retry; nothing was changed"
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v\nwant %q", err, want)
	}
}

// TestGrowAfterModuleRename: a team renames the module (go mod edit -module and a search and
// replace of the imports); add, remove and update then render under the new path, so that go.mod
// keeps it and no file imports the old one, the user's edits of renamed files survive, and the
// manifest records the new path.
func TestGrowAfterModuleRename(t *testing.T) {
	const renamed = "example.com/store"
	tests := growCases(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := initProject(t, t.TempDir(), tt.sel, nil)
			const edited = "internal/components/backend/body.go"
			renameModule(t, dir, renamed, edited)
			// A generated file the user deleted, which only the rename would change, stays
			// deleted rather than stopping the command.
			const deleted = "internal/components/backend/health_test.go"
			if err := os.Remove(filepath.Join(dir, filepath.FromSlash(deleted))); err != nil {
				t.Fatal(err)
			}
			p := load(t, dir, nil)
			pl, err := tt.plan(p)
			if err != nil {
				t.Fatal(err)
			}
			if pl.Renamed != renamed {
				t.Errorf("plan's Renamed = %q, want %q", pl.Renamed, renamed)
			}
			if err := p.Apply(t.Context(), pl); err != nil {
				t.Fatal(err)
			}
			for rel, data := range tree(t, dir) {
				if strings.HasSuffix(rel, ".go") || rel == "go.mod" {
					if strings.Contains(data, testModule) {
						t.Errorf("%s still names the old module %s", rel, testModule)
					}
				}
			}
			if data, _ := os.ReadFile(filepath.Join(dir, "go.mod")); modfile.ModulePath(data) != renamed {
				t.Errorf("go.mod's module is %q, want %q", modfile.ModulePath(data), renamed)
			}
			if data, _ := os.ReadFile(filepath.Join(dir, filepath.FromSlash(edited))); !strings.Contains(string(data), "// the team's note") {
				t.Errorf("%s lost the user's edit", edited)
			}
			if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(deleted))); err == nil {
				t.Errorf("%s, which the user deleted, came back", deleted)
			}
			if got := load(t, dir, nil).Manifest.Module; got != renamed {
				t.Errorf("manifest's module is %q, want %q", got, renamed)
			}
		})
	}
}

// growCase is a project and the add, remove or update planned on it.
type growCase struct {
	name string
	sel  catalog.Selection
	plan func(*Project) (*Plan, error)
}

// growCases adds cache to, removes it from, and updates a database project.
func growCases(t *testing.T) []growCase {
	return []growCase{
		{"add", resolve(t, "database"), func(p *Project) (*Plan, error) { return p.PlanAdd([]string{"cache"}) }},
		{"remove", resolve(t, "database", "cache"), func(p *Project) (*Plan, error) { return p.PlanRemove([]string{"cache"}) }},
		{"update", resolve(t, "database"), func(p *Project) (*Plan, error) { return p.PlanUpdate() }},
	}
}

// renameModule renames the project's module as a team would (go.mod and a search and replace
// of every Go file's imports); the file edited, if any, also gets a line of the team's own.
func renameModule(t *testing.T, dir, renamed, edited string) {
	t.Helper()
	err := filepath.WalkDir(dir, func(file string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || (!strings.HasSuffix(file, ".go") && filepath.Base(file) != "go.mod") {
			return err
		}
		data, err := os.ReadFile(file)
		if err != nil {
			return err
		}
		out := strings.ReplaceAll(string(data), testModule, renamed)
		if rel, _ := filepath.Rel(dir, file); filepath.ToSlash(rel) == edited {
			out += "\n// the team's note\n"
		}
		return os.WriteFile(file, []byte(out), 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestRenameOnlyIsNoMerge: after a module rename (go.mod and a search and replace of the
// imports, nothing else), the files aegis changes are updates, not merges: the user's only
// change is the rename, which the new rendering has too, so there is nothing of theirs to merge,
// and a plan of "merge" lines would send them to review files they never edited.
func TestRenameOnlyIsNoMerge(t *testing.T) {
	const renamed = "example.com/store"
	tests := growCases(t)[:2] // add and remove: an update by this same aegis has nothing to list
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := initProject(t, t.TempDir(), tt.sel, nil)
			renameModule(t, dir, renamed, "")
			p := load(t, dir, nil)
			pl, err := tt.plan(p)
			if err != nil {
				t.Fatal(err)
			}
			if err := p.Apply(t.Context(), pl); err != nil {
				t.Fatal(err)
			}
			// The removed part's import would break the build, its package being gone.
			wire, err := os.ReadFile(filepath.Join(dir, "internal", "components", "wire_gen.go"))
			if err != nil {
				t.Fatal(err)
			}
			if imports := strings.Contains(string(wire), "/internal/components/cache\""); imports != (tt.name == "add") {
				t.Errorf("wire_gen.go imports cache: %v, want %v:\n%s", imports, tt.name == "add", wire)
			}
			updates := 0
			for _, c := range pl.Visible() {
				switch c.Action {
				case Merge, Conflict:
					t.Errorf("%s listed as %s; the user only renamed the module", c.Path, c.Action)
				case Update:
					updates++
				}
			}
			if updates == 0 {
				t.Errorf("no updates in the plan: %+v", pl.Visible())
			}
		})
	}
}
