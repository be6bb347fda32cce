package cli

import (
	"bytes"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/aegisgo/aegis/internal/catalog"
	"github.com/aegisgo/aegis/internal/generate"
	"github.com/aegisgo/aegis/internal/project"
)

// TestInitWritesThePlan: `aegis init` writes exactly what project.PlanInit plans for the same
// name, module and selection (the .env's random values aside), says how many files, and leaves
// every file it does not generate alone.
func TestInitWritesThePlan(t *testing.T) {
	res, err := catalog.Default.Resolve(catalog.Request{Components: []string{"cache"}, Services: []string{"auth"}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		existing map[string]string // files in the folder before init
	}{
		{"new folder", nil},
		{"force over files", map[string]string{"notes.txt": "mine", "Makefile": "old", ".env": "PORT=9000\n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parent := t.TempDir()
			dir := filepath.Join(parent, "shop")
			args := []string{"init", "shop", "-o", parent, "--module", "example.com/shop", "--components", "cache,database", "--services", "auth", "--no-interactive"}
			if tt.existing != nil {
				os.Mkdir(dir, 0o755)
				for name, data := range tt.existing {
					os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644)
				}
				args = append(args, "--force")
			}
			r := run(t, Env{}, "", args...)
			if r.code != 0 {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}

			pl, err := project.New(filepath.Join(t.TempDir(), "shop"), "shop", "example.com/shop", project.Opts{}).PlanInit(res.Selection, false)
			if err != nil {
				t.Fatal(err)
			}
			planned := map[string]project.Change{}
			for _, c := range pl.Changes {
				planned[c.Path] = c
			}
			for _, p := range []string{generate.ManifestPath, generate.BasePath, ".env"} {
				if _, ok := planned[p]; !ok {
					t.Errorf("the plan lacks %s", p)
				}
			}
			if want := "Created " + dir + ": " + strconv.Itoa(len(pl.Changes)-1) + " files"; !strings.Contains(r.stdout, want) {
				t.Errorf("output lacks %q:\n%s", want, r.stdout)
			}
			err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
				if err != nil || d.IsDir() {
					return err
				}
				rel, _ := filepath.Rel(dir, path)
				rel = filepath.ToSlash(rel)
				data, err := os.ReadFile(path)
				if err != nil {
					return err
				}
				fi, _ := d.Info()
				c, ok := planned[rel]
				delete(planned, rel)
				switch {
				case rel == ".env":
					if !strings.HasPrefix(string(data), tt.existing[".env"]) || fi.Mode().Perm() != c.Mode.Perm() ||
						!slices.Equal(settings(data), slices.Concat(settings([]byte(tt.existing[".env"])), pl.Secrets)) {
						t.Errorf(".env (%v) = %q; want %q then %v (%v)", fi.Mode().Perm(), data, tt.existing[".env"], pl.Secrets, c.Mode.Perm())
					}
				case !ok:
					if string(data) != tt.existing[rel] {
						t.Errorf("%s: not planned, yet written: %q", rel, data)
					}
				case !bytes.Equal(data, c.Data) || fi.Mode().Perm() != c.Mode.Perm():
					t.Errorf("%s (%v) differs from the plan (%v)", rel, fi.Mode().Perm(), c.Mode.Perm())
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(planned) > 0 {
				t.Errorf("planned, not written: %v", slices.Sorted(func(yield func(string) bool) {
					for p := range planned {
						if !yield(p) {
							return
						}
					}
				}))
			}
		})
	}
}

// settings lists the NAME of each NAME=value line.
func settings(env []byte) []string {
	var names []string
	for line := range strings.Lines(string(env)) {
		if name, _, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(name, "#") {
			names = append(names, name)
		}
	}
	return names
}

// TestInitInsideProject: init run in an aegis project, or any folder below it, refuses to nest a
// project there, naming the enclosing project and the fix, with a usage error; nothing is written.
// --force nests one anyway.
func TestInitInsideProject(t *testing.T) {
	proj := newProject(t, "cache")
	sub := filepath.Join(proj, "internal")
	tests := []struct {
		name  string
		chdir string
		args  []string
	}{
		{"output dir is the project", "", []string{"init", "inner", "-o", proj, "--no-interactive"}},
		{"output dir below the project", "", []string{"init", "inner", "-o", filepath.Join(sub, "new", "dir"), "--no-interactive"}},
		{"run in the project", proj, []string{"init", "inner", "--no-interactive"}},
		{"run in a subfolder", sub, []string{"init", "inner", "--no-interactive"}},
		{"asked the name", sub, []string{"init"}},
	}
	before := readTree(t, proj)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.chdir != "" {
				t.Chdir(tt.chdir)
			}
			r := run(t, Env{}, "inner\n", tt.args...)
			want := "aegis: cannot create a project inside the aegis project " + proj + ": run 'aegis init' outside it (or pick another --output-dir), or 'aegis add' to extend it; --force nests one anyway"
			if r.code != ExitUsage || !strings.Contains(r.stderr, want) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", r.code, r.stderr, ExitUsage, want)
			}
			if n := strings.Count(strings.TrimSpace(r.stderr), "\n"); n != 0 {
				t.Errorf("error takes %d lines, want one:\n%s", n+1, r.stderr)
			}
		})
	}
	if after := readTree(t, proj); !maps.Equal(before, after) {
		t.Error("the enclosing project was changed")
	}
	t.Run("force nests", func(t *testing.T) {
		r := run(t, Env{}, "", "init", "inner", "-o", sub, "--force", "--no-interactive")
		if r.code != 0 {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		if !isProject(filepath.Join(sub, "inner")) {
			t.Error("--force made no project")
		}
		// The replay line makes the project again where it was: with --force, which the
		// nesting needs (it was left out, and the replay refused).
		_, line, ok := strings.Cut(r.stdout, "Replay: aegis ")
		if !ok || !strings.HasSuffix(strings.TrimSpace(line), " --force") {
			t.Fatalf("the replay line lacks --force:\n%s", r.stdout)
		}
		if err := os.RemoveAll(filepath.Join(sub, "inner")); err != nil {
			t.Fatal(err)
		}
		if again := run(t, Env{}, "", strings.Fields(strings.TrimSpace(line))...); again.code != 0 {
			t.Errorf("the replay %q: exit %d: %s", line, again.code, again.stderr)
		}
	})
}

// TestQuotedLists: a quoted list with spaces ("cache worker") names each part, in init's flags
// and in add's and remove's arguments, instead of one unknown part called "cache worker".
func TestQuotedLists(t *testing.T) {
	dir := t.TempDir()
	proj := newProject(t, "database")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"init components", []string{"init", "a", "-o", dir, "--components", "cache  worker, database", "--services", "auth\tanalytics", "--no-interactive"},
			"Replay: aegis init a --components cache,database,worker --services analytics,auth "},
		{"add", []string{"add", "cache worker", "--dry-run", "-p", proj}, "Adding worker, cache to app"},
		{"remove", []string{"remove", " database ,  ", "--dry-run", "-p", proj}, "Removing database from app"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, Env{}, "", tt.args...)
			if r.code != 0 || !strings.Contains(r.stdout, tt.want) {
				t.Errorf("exit %d, stderr %q; want exit 0 and stdout with %q:\n%s", r.code, r.stderr, tt.want, r.stdout)
			}
		})
	}
}

// TestHomeInFolderFlags: a ~ the shell left alone (--output-dir=~/src, "~/src") is the home
// folder, as it is where the shell expands it, not a folder named ~ in the current one.
func TestHomeInFolderFlags(t *testing.T) {
	home, cwd := t.TempDir(), t.TempDir()
	t.Setenv("HOME", home)
	t.Chdir(cwd)
	r := run(t, Env{}, "", "init", "shop", "--output-dir=~/src", "--no-interactive")
	if r.code != 0 {
		t.Fatalf("init: exit %d: %s", r.code, r.stderr)
	}
	if !isProject(filepath.Join(home, "src", "shop")) {
		t.Errorf("no project in %s", filepath.Join(home, "src", "shop"))
	}
	assertEntries(t, cwd)
	r = run(t, Env{}, "", "add", "cache", "--dry-run", "-p", "~/src/shop")
	if r.code != 0 || !strings.Contains(r.stdout, "Adding cache to shop") {
		t.Errorf("add -p ~/src/shop: exit %d, stderr %q:\n%s", r.code, r.stderr, r.stdout)
	}
}

// TestInitDot: 'aegis init .' in a folder made for the project says how to create it there.
func TestInitDot(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "shop")
	os.Mkdir(dir, 0o755)
	t.Chdir(dir)
	for _, name := range []string{".", "./"} {
		r := run(t, Env{}, "", "init", name, "--no-interactive")
		want := "aegis: invalid project name \"" + name + "\": init takes the name of the folder to create; to create the project in this folder, run: aegis init shop -o .. (see 'aegis init --help')\n"
		if r.code != ExitUsage || r.stderr != want {
			t.Errorf("init %s: exit %d, stderr %q; want exit 2 and %q", name, r.code, r.stderr, want)
		}
	}
	// Which works: the folder is empty.
	if r := run(t, Env{}, "", "init", "shop", "-o", "..", "--no-interactive"); r.code != 0 || !isProject(dir) {
		t.Errorf("init shop -o ..: exit %d, stderr %q", r.code, r.stderr)
	}
}
