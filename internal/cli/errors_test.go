package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/module"

	"github.com/aegisgo/aegis/internal/prompt"
)

// Errors are one line that say what is wrong and how to fix it; usage errors point at the help
// of the command that was run.
func TestErrorMessages(t *testing.T) {
	dir := t.TempDir()
	if r := run(t, Env{}, "", "init", "proj", "-o", dir, "--components", "cache", "--no-interactive"); r.code != 0 {
		t.Fatalf("init: exit %d: %s", r.code, r.stderr)
	}
	proj := filepath.Join(dir, "proj")
	file := filepath.Join(dir, "afile")
	os.WriteFile(file, []byte("x"), 0o644)
	nope := filepath.Join(dir, "nope")

	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"force over a project", []string{"init", "proj", "-o", dir, "--force", "--no-interactive"}, 1,
			"aegis: folder " + proj + " is already an aegis project: run 'aegis add' or 'aegis remove' inside it to change it, or remove the folder first\n"},
		{"output dir is a file", []string{"init", "x", "-o", file, "--no-interactive"}, 1,
			"aegis: --output-dir " + file + " is not a folder: --output-dir must be a folder (it is created when missing)\n"},
		{"force over a file", []string{"init", "afile", "-o", dir, "--force", "--no-interactive"}, 1,
			"aegis: " + file + " exists and is a file: choose another name or --output-dir\n"},
		{"output dir under a file", []string{"init", "x", "-o", filepath.Join(file, "sub"), "--no-interactive"}, 1, "--output-dir must be a folder"},
		{"bad module", []string{"init", "m", "--module", "bad module", "--no-interactive"}, 2,
			"aegis: invalid module path \"bad module\": use a Go import path such as github.com/you/m (see 'aegis init --help')\n"},
		{"not a project", []string{"add", "cache", "-p", nope}, 1,
			"aegis: " + nope + " is not an aegis project (it does not exist): pass --project-path the folder of a project made by 'aegis init' (the one holding .aegis/manifest.json)\n"},
		{"project path is a file", []string{"add", "cache", "-p", file}, 1, file + " is not an aegis project (not a folder)"},
		{"project path inside a project", []string{"remove", "cache", "-p", filepath.Join(proj, "internal")}, 1,
			"aegis: " + filepath.Join(proj, "internal") + " is not an aegis project (no .aegis/manifest.json): it is inside the project " + proj + ": pass --project-path " + proj + "\n"},
		{"command typo", []string{"inti", "x"}, 2, "aegis: unknown command \"inti\" for \"aegis\"; did you mean 'init'? (see 'aegis --help')\n"},
		{"flag typo", []string{"add", "--dryrun", "cache", "-p", proj}, 2, "aegis: unknown flag: --dryrun; did you mean --dry-run? (see 'aegis add --help')\n"},
		{"flag typo with a value", []string{"init", "x", "--componets=cache"}, 2, "aegis: unknown flag: --componets; did you mean --components? (see 'aegis init --help')\n"},
		{"inherited flag typo", []string{"update", "--verbos"}, 2, "aegis: unknown flag: --verbos; did you mean --verbose? (see 'aegis update --help')\n"},
		{"flag near nothing", []string{"init", "x", "--bogus"}, 2, "aegis: unknown flag: --bogus (see 'aegis init --help')\n"},
		// A flag another command has: the user carried it over; say whose it is.
		{"yes to update", []string{"update", "--yes", "-p", proj}, 2, "aegis: unknown flag: --yes; update asks nothing: drop --yes (add, init and remove take it) (see 'aegis update --help')\n"},
		{"y to update", []string{"update", "-y", "-p", proj}, 2, "aegis: unknown shorthand flag: 'y' in -y; update asks nothing: drop -y (add, init and remove take it) (see 'aegis update --help')\n"},
		{"dry run to init", []string{"init", "x", "--dry-run"}, 2, "aegis: unknown flag: --dry-run; init has no --dry-run (add, remove and update take it) (see 'aegis init --help')\n"},
		{"force to add", []string{"add", "cache", "--force", "-p", proj}, 2, "aegis: unknown flag: --force; add has no --force (init and update take it) (see 'aegis add --help')\n"},
		{"extra argument", []string{"services", "extra"}, 2, "aegis: 'aegis services' takes no arguments, and got \"extra\" (see 'aegis services --help')\n"},
		{"extra argument to version", []string{"version", "x"}, 2, "aegis: 'aegis version' takes no arguments, and got \"x\""},
		{"unknown help topic", []string{"help", "bogus"}, 2, "aegis: unknown help topic \"bogus\": name a command (see 'aegis --help')\n"},
		{"empty name", []string{"add", "", "-p", proj}, 2, "add needs at least one component or service name"},
		{"only commas", []string{"remove", ",", "-p", proj}, 2, "remove needs at least one component or service name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, Env{}, "", tt.args...)
			if r.code != tt.code || !strings.Contains(r.stderr, tt.want) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", r.code, r.stderr, tt.code, tt.want)
			}
			if n := strings.Count(strings.TrimSpace(r.stderr), "\n"); n != 0 {
				t.Errorf("error takes %d lines, want one:\n%s", n+1, r.stderr)
			}
		})
	}
}

// add and remove read their confirmation from stdin without a terminal, as init does: a piped
// "n" cancels, an empty line means yes.
func TestGrowConfirmsFromPipedStdin(t *testing.T) {
	proj := newProject(t, "cache")
	before := readTree(t, proj)
	for _, tt := range []struct{ verb, name string }{{"add", "scheduler"}, {"remove", "cache"}} {
		var out, errb strings.Builder
		env := Env{Stdin: strings.NewReader("n\n"), Stdout: &out, Stderr: &errb}
		code := Run(t.Context(), []string{tt.verb, tt.name, "-p", proj}, env)
		if code != 0 || !strings.Contains(out.String(), "Cancelled; nothing was changed.") {
			t.Errorf("%s with a piped n: exit %d, stdout %q, stderr %q", tt.verb, code, out.String(), errb.String())
		}
		if after := readTree(t, proj); !maps.Equal(after, before) {
			t.Errorf("%s with a piped n changed the project", tt.verb)
		}
	}
	var out, errb strings.Builder
	env := Env{Stdin: strings.NewReader("\n"), Stdout: &out, Stderr: &errb}
	if code := Run(t.Context(), []string{"add", "scheduler", "-p", proj}, env); code != 0 || !strings.Contains(out.String(), "Added scheduler.") {
		t.Errorf("add with an empty answer: exit %d, stdout %q, stderr %q", code, out.String(), errb.String())
	}
}

// The JSON listing has the same fields on every entry and does not escape '&'.
func TestListingJSONShape(t *testing.T) {
	r := run(t, Env{}, "", "services", "--json")
	if !strings.Contains(r.stdout, `"AI & Machine Learning"`) {
		t.Errorf("'&' is escaped:\n%s", r.stdout)
	}
	var entries []map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &entries); err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if _, ok := e["always_included"]; !ok || len(e) != 6 {
			t.Errorf("entry %v: want the 6 fields with always_included", e)
		}
	}
}

func TestReservedNames(t *testing.T) {
	for _, name := range []string{"aegis", "AEGIS", "vendor", "Vendor", "testdata", "TestData"} {
		r := run(t, Env{}, "", "init", name, "-o", t.TempDir(), "--no-interactive")
		want := "aegis: project name \"" + name + "\" is reserved: choose another name (see 'aegis init --help')\n"
		if r.code != ExitUsage || r.stderr != want {
			t.Errorf("%s: exit %d, stderr %q; want exit 2, %q", name, r.code, r.stderr, want)
		}
	}
}

// A Windows device name (con, aux, com1, ...) cannot be an element of a Go import path, so
// cmd/NAME would not build, whatever --module says: init refuses it, naming a name that works,
// and writes nothing.
func TestWindowsDeviceNames(t *testing.T) {
	for _, args := range [][]string{{"con"}, {"AUX"}, {"com1", "--module", "example.com/x"}, {"Lpt9"}} {
		dir := t.TempDir()
		r := run(t, Env{}, "", append([]string{"init", "-o", dir, "--no-interactive"}, args...)...)
		want := fmt.Sprintf("aegis: project name %q is a device name on Windows, which no Go import path may hold (cmd/%s would not build): choose another name, such as %s-app (see 'aegis init --help')\n", args[0], args[0], args[0])
		if r.code != ExitUsage || r.stderr != want {
			t.Errorf("%v: exit %d, stderr %q; want exit 2, %q", args, r.code, r.stderr, want)
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 0 {
			t.Errorf("%v: wrote %v", args, entries)
		}
	}
	// A name made of one with punctuation is not suggested when it is such a name.
	for _, name := range []string{"con.", "./con"} {
		r := run(t, Env{}, "", "init", name, "-o", t.TempDir(), "--no-interactive")
		if strings.Contains(r.stderr, "con would do") {
			t.Errorf("%s: suggests con: %q", name, r.stderr)
		}
	}
}

// A file-system error other than permissions while init writes (here paths past PATH_MAX under
// a deep --output-dir) names the folder and the fix, not the staging folder the user never
// sees, and leaves nothing behind.
func TestInitOtherWriteError(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("PATH_MAX is Linux's 4096")
	}
	top := t.TempDir()
	dir := top
	for len(dir) < 4000 {
		dir = filepath.Join(dir, strings.Repeat("d", 100))
	}
	r := run(t, Env{}, "", "init", "app", "-o", dir, "--no-interactive")
	want := "aegis: cannot write the project in " + dir + " (file name too long): pick another --output-dir; nothing was written\n"
	if r.code != 1 || r.stderr != want {
		t.Errorf("exit %d, stderr %q; want exit 1, %q", r.code, r.stderr, want)
	}
	if entries, _ := os.ReadDir(top); len(entries) != 0 {
		t.Errorf("left %v", entries)
	}
}

// A folder aegis cannot write in (or, for init, read) fails in one line naming it and the fix,
// whichever command writes; -v adds the failed call once, not the same message again.
func TestWriteErrors(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root writes in a read-only folder")
	}
	dir := t.TempDir()
	if r := run(t, Env{}, "", "init", "proj", "-o", dir, "--components", "cache", "--no-interactive"); r.code != 0 {
		t.Fatalf("init: exit %d: %s", r.code, r.stderr)
	}
	proj := filepath.Join(dir, "proj")
	ro := filepath.Join(dir, "ro")
	closed := filepath.Join(dir, "closed", "x") // a project folder aegis cannot even read
	for d, mode := range map[string]os.FileMode{ro: 0o555, proj: 0o555, closed: 0} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(d, mode); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Chmod(d, 0o755) })
	}

	tests := []struct {
		name  string
		args  []string
		want  string
		cause string // the -v line
	}{
		{"init", []string{"init", "x", "-o", ro, "--no-interactive"},
			"aegis: cannot write in " + ro + " (permission denied): pick another --output-dir, or make " + ro + " writable; nothing was written\n",
			"  caused by: mkdir " + filepath.Join(ro, ".x.aegis-")},
		{"init under", []string{"init", "x", "-o", filepath.Join(ro, "sub"), "--no-interactive"},
			"aegis: cannot write in " + ro + " (permission denied): pick another --output-dir",
			"  caused by: mkdir " + filepath.Join(ro, "sub") + ": permission denied"},
		{"init into an unreadable folder", []string{"init", "x", "-o", filepath.Dir(closed), "--no-interactive"},
			"aegis: cannot read " + closed + " (permission denied): choose another name or --output-dir, or make " + closed + " readable\n",
			"  caused by: open " + closed + ": permission denied"},
		{"add", []string{"add", "scheduler", "-p", proj, "--yes"},
			"aegis: cannot write in " + proj + " (permission denied): make " + proj + " writable and run again; the project was left as it was\n",
			"  caused by: mkdir " + filepath.Join(proj, ".aegis-stage-")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, Env{}, "", tt.args...)
			if r.code != ExitError || !strings.Contains(r.stderr, tt.want) || strings.Count(r.stderr, "\n") != 1 {
				t.Errorf("exit %d, stderr %q; want exit 1 and the one line %q", r.code, r.stderr, tt.want)
			}
			r = run(t, Env{}, "", append(tt.args, "-v")...)
			lines := strings.SplitAfter(strings.TrimSuffix(r.stderr, "\n"), "\n")
			if len(lines) != 2 || !strings.HasPrefix(lines[1], tt.cause) {
				t.Errorf("-v: stderr %q; want the error and one cause %q", r.stderr, tt.cause)
			}
		})
	}
}

// An --output-dir that cannot be created fails in one line naming it, the reason and the fix,
// before anything is asked; and init leaves none of the folders it made for --output-dir when
// it writes nothing (cancelled, interrupted, or failing to make the folder).
func TestInitOutputDirCannotBeCreated(t *testing.T) {
	long := strings.Repeat("a", 300) // longer than any file system allows a name
	type outputCase struct {
		name   string
		output func(dir string) string
		stdin  string // answers; none means --no-interactive
		cancel bool   // the context ends before init writes
		code   int
		want   string // in stderr (%s is the --output-dir), or stdout when code is 0
	}
	tests := []outputCase{
		{"name too long under missing folders", func(dir string) string { return filepath.Join(dir, "new", "sub", long) }, "", false, ExitError,
			"(file name too long): pick another --output-dir; nothing was written\n"},
		{"asked nothing first", func(dir string) string { return filepath.Join(dir, "new", long) }, "\n\n", false, ExitError,
			"aegis: cannot create " + "%s" + " (file name too long)"},
		{"cancelled at the confirmation", func(dir string) string { return filepath.Join(dir, "new", "sub") }, "\n\nn\n", false, ExitOK,
			"Cancelled; nothing was written."},
		{"interrupted", func(dir string) string { return filepath.Join(dir, "new", "sub") }, "", true, ExitInterrupted, ""},
	}
	if runtime.GOOS == "linux" {
		// The kernel refuses new entries in /proc whoever asks, root included.
		tests = append(tests, outputCase{"under /proc", func(string) string { return "/proc/x" }, "", false, ExitError,
			"aegis: cannot create /proc/x (no such file or directory): pick another --output-dir; nothing was written\n"})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			out := tt.output(dir)
			args := []string{"init", "x", "-o", out}
			if tt.stdin == "" {
				args = append(args, "--no-interactive")
			}
			ctx, cancel := context.WithCancel(t.Context())
			if tt.cancel {
				cancel()
			}
			defer cancel()
			var stdout, stderr strings.Builder
			env := Env{Stdout: &stdout, Stderr: &stderr, Prompter: prompt.NewLines(strings.NewReader(tt.stdin), &stdout)}
			code := Run(ctx, args, env)
			got, want := stderr.String(), strings.ReplaceAll(tt.want, "%s", out)
			if tt.code == ExitOK {
				got = stdout.String()
			}
			if code != tt.code || !strings.Contains(got, want) {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit %d and %q", code, stdout.String(), stderr.String(), tt.code, want)
			}
			if n := strings.Count(strings.TrimSpace(stderr.String()), "\n"); n != 0 {
				t.Errorf("error takes %d lines, want one:\n%s", n+1, stderr.String())
			}
			if tt.stdin != "" && tt.code == ExitError && strings.Contains(stdout.String(), "Components (") {
				t.Errorf("init asked before refusing:\n%s", stdout.String())
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 0 {
				t.Errorf("init left %v in %s", entries, dir)
			}
		})
	}
}

// hiding is an error whose message does not include its cause's.
type hiding struct{ cause error }

func (h hiding) Error() string { return "the part could not be found" }
func (h hiding) Unwrap() error { return h.cause }

// -v prints the causes behind an error, but only those that add to what was printed: a cause
// wrapped with %w is already in its wrapper's message.
func TestVerboseCauses(t *testing.T) {
	pathErr := &fs.PathError{Op: "open", Path: "/x/y", Err: syscall.ENOENT}
	tests := []struct {
		name    string
		err     error
		verbose bool
		want    string
	}{
		{"not verbose", fmt.Errorf("project: %w", pathErr), false, "aegis: project: open /x/y: no such file or directory\n"},
		{"causes in the message", fmt.Errorf("load: %w", fmt.Errorf("project: %w", pathErr)), true,
			"aegis: load: project: open /x/y: no such file or directory\n"},
		{"a cause the message hides", fmt.Errorf("add: %w", hiding{pathErr}), true,
			"aegis: add: the part could not be found\n  caused by: open /x/y: no such file or directory\n"},
		{"hidden twice", hiding{fmt.Errorf("catalog: %w", hiding{pathErr})}, true,
			"aegis: the part could not be found\n  caused by: catalog: the part could not be found\n  caused by: open /x/y: no such file or directory\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b strings.Builder
			if code := report(&b, tt.err, tt.verbose, "aegis --help"); code != ExitError || b.String() != tt.want {
				t.Errorf("report: exit %d,\n%q\nwant exit 1,\n%q", code, b.String(), tt.want)
			}
		})
	}
}

// TestGrowFromSubfolder: run in a folder inside a project (internal/services, where users add
// code), add, remove and update work on the project around it and say which; a folder named
// with -p is taken as is, and a folder in no project keeps the error.
func TestGrowFromSubfolder(t *testing.T) {
	dir := t.TempDir()
	if r := run(t, Env{}, "", "init", "proj", "-o", dir, "--no-interactive"); r.code != 0 {
		t.Fatalf("init: exit %d: %s", r.code, r.stderr)
	}
	proj := filepath.Join(dir, "proj")
	sub := filepath.Join(proj, "internal", "services")

	t.Chdir(sub)
	r := run(t, Env{}, "", "add", "cache", "--dry-run")
	if r.code != 0 || !strings.Contains(r.stdout, "Project: "+proj+"\n") || !strings.Contains(r.stdout, "internal/components/cache/") {
		t.Errorf("add from %s: exit %d, stdout %q, stderr %q; want the plan for %s", sub, r.code, r.stdout, r.stderr, proj)
	}
	r = run(t, Env{}, "", "add", "cache", "--dry-run", "-p", sub)
	if r.code != 1 || !strings.Contains(r.stderr, sub+" is not an aegis project") {
		t.Errorf("add -p %s: exit %d, stderr %q; want the not-a-project error", sub, r.code, r.stderr)
	}
	t.Chdir(dir)
	r = run(t, Env{}, "", "add", "cache", "--dry-run")
	if r.code != 1 || !strings.Contains(r.stderr, dir+" is not an aegis project") {
		t.Errorf("add outside a project: exit %d, stderr %q; want the not-a-project error", r.code, r.stderr)
	}
}

// TestRemoveNamesKeptFiles: remove never deletes a file aegis did not generate, so a user's
// file in the removed part's folder stays, and with it a Go package the project's wire test
// then fails on: remove must name what it kept.
func TestRemoveNamesKeptFiles(t *testing.T) {
	dir := t.TempDir()
	if r := run(t, Env{}, "", "init", "proj", "-o", dir, "--components", "cache", "--no-interactive"); r.code != 0 {
		t.Fatalf("init: exit %d: %s", r.code, r.stderr)
	}
	proj := filepath.Join(dir, "proj")
	cache := filepath.Join(proj, "internal", "components", "cache")
	for _, f := range []string{filepath.Join(cache, "mine.go"), filepath.Join(cache, "extra", "more.go")} {
		if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(f, []byte("package cache\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	r := run(t, Env{}, "", "remove", "cache", "--yes", "-p", proj)
	want := "Kept files aegis did not generate in the removed folders: internal/components/cache/extra/, internal/components/cache/mine.go\n"
	if r.code != 0 || !strings.Contains(r.stdout, want) {
		t.Errorf("remove: exit %d, stdout %q, stderr %q; want %q", r.code, r.stdout, r.stderr, want)
	}
	if _, err := os.Stat(filepath.Join(cache, "mine.go")); err != nil {
		t.Errorf("remove deleted the user's file: %v", err)
	}
}

// TestGrowNamesGlueApart: the glue code that joins a new part to one already there is said
// apart from the parts, which are what the user named.
func TestGrowNamesGlueApart(t *testing.T) {
	dir := t.TempDir()
	if r := run(t, Env{}, "", "init", "proj", "-o", dir, "--components", "database", "--no-interactive"); r.code != 0 {
		t.Fatalf("init: exit %d: %s", r.code, r.stderr)
	}
	proj := filepath.Join(dir, "proj")
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"add", "scheduler", "cache", "--yes", "-p", proj}, "Adding scheduler, cache to proj (with the glue code scheduler+database)\n"},
		{[]string{"remove", "scheduler", "--yes", "-p", proj}, "Removed scheduler (with the glue code scheduler+database).\n"},
	}
	for _, tt := range tests {
		if r := run(t, Env{}, "", tt.args...); r.code != 0 || !strings.Contains(r.stdout, tt.want) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want %q", tt.args, r.code, r.stdout, r.stderr, tt.want)
		}
	}
}

// TestRemoveWarnsOfUserImports: the catalog knows what its parts need of each other, not what
// the user's code imports; remove names a file of the user's that imports a package it deletes,
// before asking, since the project will not build until that file changes.
//
// A package of a third-party module the removed part brought (the cache's Redis client) is
// named too: go.mod drops the module with the part, and go get at its version requires it again.
func TestRemoveWarnsOfUserImports(t *testing.T) {
	tests := []struct {
		name, imp, want string
	}{
		{
			name: "a package remove deletes",
			imp:  "example.com/proj/internal/components/cache",
			want: "  ! your code internal/services/billing/billing.go imports example.com/proj/internal/components/cache, which this removes: the build fails until you change it\n",
		},
		{
			name: "a module remove takes out of go.mod",
			imp:  "github.com/redis/go-redis/v9/maintnotifications",
			want: "  ! your code internal/services/billing/billing.go imports github.com/redis/go-redis/v9/maintnotifications, whose module github.com/redis/go-redis/v9 this takes out of go.mod: run 'go get github.com/redis/go-redis/v9@VERSION' and then 'go mod tidy' to require it again\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if r := run(t, Env{}, "", "init", "proj", "-o", dir, "--components", "cache", "--module", "example.com/proj", "--no-interactive"); r.code != 0 {
				t.Fatalf("init: exit %d: %s", r.code, r.stderr)
			}
			proj := filepath.Join(dir, "proj")
			billing := filepath.Join(proj, "internal", "services", "billing")
			os.MkdirAll(billing, 0o755)
			src := "package billing\n\nimport _ \"" + tt.imp + "\"\n"
			if err := os.WriteFile(filepath.Join(billing, "billing.go"), []byte(src), 0o644); err != nil {
				t.Fatal(err)
			}
			// VERSION in want is the version of the Redis client the project's go.mod requires.
			want := tt.want
			if data, err := os.ReadFile(filepath.Join(proj, "go.mod")); err == nil {
				if f, err := modfile.Parse("go.mod", data, nil); err == nil {
					for _, r := range f.Require {
						if r.Mod.Path == "github.com/redis/go-redis/v9" {
							want = strings.ReplaceAll(want, "VERSION", r.Mod.Version)
						}
					}
				}
			}
			r := run(t, Env{}, "n\n", "remove", "cache", "-p", proj)
			if !strings.Contains(r.stdout, want) {
				t.Errorf("remove: exit %d, stdout %q, stderr %q; want %q", r.code, r.stdout, r.stderr, want)
			}
			if i, j := strings.Index(r.stdout, want), strings.Index(r.stdout, "Change these files?"); i > j {
				t.Errorf("the warning comes after the question (%d > %d):\n%s", i, j, r.stdout)
			}
		})
	}
}

// TestInitForceNamesReplacedFiles: init --force replaces generated paths in a folder that has
// files, as documented; the replaced content is gone, so init names those files. Files it
// leaves alone are not named.
func TestInitForceNamesReplacedFiles(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "forced")
	os.MkdirAll(target, 0o755)
	os.WriteFile(filepath.Join(target, "go.mod"), []byte("module forced\n\ngo 1.22\n"), 0o644)
	os.WriteFile(filepath.Join(target, "notes.txt"), []byte("mine\n"), 0o644)
	r := run(t, Env{}, "", "init", "forced", "-o", dir, "--force", "--no-interactive")
	want := "--force replaced these files that were in " + target + ": go.mod\n"
	if r.code != 0 || !strings.Contains(r.stdout, want) {
		t.Errorf("exit %d, stdout %q, stderr %q; want %q", r.code, r.stdout, r.stderr, want)
	}
	// The replay makes the project where its folder is gone, so it needs no --force: with
	// it, a replay in a folder of someone's files would replace them unasked.
	if strings.Contains(r.stdout, "--no-interactive --force") {
		t.Errorf("the replay of a forced write into a folder carries --force:\n%s", r.stdout)
	}
}

// TestRemoveNamesUnreadSettings: remove leaves .env's lines alone (they hold the user's values)
// but names those only the removed parts read, so a secret such as METRICS_TOKEN does not
// linger unnoticed; the user's own settings are not named.
func TestRemoveNamesUnreadSettings(t *testing.T) {
	dir := t.TempDir()
	if r := run(t, Env{}, "", "init", "proj", "-o", dir, "--components", "cache,observability", "--no-interactive"); r.code != 0 {
		t.Fatalf("init: exit %d: %s", r.code, r.stderr)
	}
	proj := filepath.Join(dir, "proj")
	dotEnv := filepath.Join(proj, ".env")
	f, err := os.OpenFile(dotEnv, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString("CACHE_URL=redis://127.0.0.1:6379/1\nMY_OWN=1\n"); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(dotEnv)
	tests := []struct {
		remove, want string
	}{
		{"observability", ".env still sets the setting METRICS_TOKEN, which the app no longer reads: delete those lines when you like (aegis never edits .env's values).\n"},
		{"cache", ".env still sets the setting CACHE_URL, which"},
	}
	for _, tt := range tests {
		r := run(t, Env{}, "", "remove", tt.remove, "--yes", "-p", proj)
		if r.code != 0 || !strings.Contains(r.stdout, tt.want) || strings.Contains(r.stdout, "MY_OWN") {
			t.Errorf("remove %s: exit %d, stdout %q, stderr %q; want %q", tt.remove, r.code, r.stdout, r.stderr, tt.want)
		}
	}
	if after, _ := os.ReadFile(dotEnv); string(after) != string(before) {
		t.Errorf(".env changed:\n%s\nwas\n%s", after, before)
	}
}

// A flag given another flag as its value is refused, naming both: it created a folder named -v
// for 'init x -o -v', and called --no-interactive an unknown component for
// 'init x --components --no-interactive', while the flag taken as a value was not in effect.
func TestFlagGivenAFlag(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir) // where a folder named after the flag would appear
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"init", "x", "-o", "-v", "--no-interactive"},
			"aegis: --output-dir got \"-v\" as its value, which is a flag: give it its value first; write ./-v for a folder of that name (see 'aegis init --help')\n"},
		{[]string{"init", "x", "--components", "--no-interactive"},
			"aegis: --components got \"--no-interactive\" as its value, which is a flag: give it its value first (see 'aegis init --help')\n"},
		{[]string{"init", "x", "-s=-c", "--no-interactive"}, "aegis: --services got \"-c\" as its value"},
		{[]string{"init", "x", "--module", "--no-interactive"}, "aegis: --module got \"--no-interactive\" as its value"},
		{[]string{"add", "cache", "-p", "--yes"},
			"aegis: --project-path got \"--yes\" as its value, which is a flag: give it its value first; write ./--yes for a folder of that name (see 'aegis add --help')\n"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			r := run(t, Env{}, "", tt.args...)
			if r.code != ExitUsage || !strings.HasPrefix(r.stderr, tt.want) || strings.Count(r.stderr, "\n") != 1 {
				t.Errorf("exit %d, stderr %q; want exit 2 and one line %q", r.code, r.stderr, tt.want)
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 0 {
				t.Errorf("wrote %v in the current folder", entries)
			}
		})
	}
	// A folder whose name starts with '-' is still reached with ./ before it.
	if r := run(t, Env{}, "", "init", "x", "-o", "./-v", "--no-interactive"); r.code != 0 {
		t.Errorf("init -o ./-v: exit %d: %s", r.code, r.stderr)
	}
}

// TestAddNamesDroppedGoModComments: when go.mod's merge by meaning cannot keep a comment the user
// wrote there (its line is next to one aegis adds), add prints it so it is not lost unseen.
func TestAddNamesDroppedGoModComments(t *testing.T) {
	dir := t.TempDir()
	if r := run(t, Env{}, "", "init", "proj", "-o", dir, "--no-interactive"); r.code != 0 {
		t.Fatalf("init: exit %d: %s", r.code, r.stderr)
	}
	path := filepath.Join(dir, "proj", "go.mod")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// What go get github.com/robfig/cron/v3 writes, commented: cron sorts right after the redis
	// requirement cache adds, so the two sides' lines overlap.
	f, err := modfile.Parse("go.mod", data, nil)
	if err != nil {
		t.Fatal(err)
	}
	reqs := []*modfile.Require{{Mod: module.Version{Path: "github.com/robfig/cron/v3", Version: "v3.0.1"}}}
	for _, r := range f.Require {
		reqs = append(reqs, &modfile.Require{Mod: r.Mod, Indirect: r.Indirect})
	}
	f.SetRequireSeparateIndirect(reqs)
	f.Cleanup()
	if data, err = f.Format(); err != nil {
		t.Fatal(err)
	}
	data = []byte(strings.Replace(string(data), "cron/v3 v3.0.1\n", "cron/v3 v3.0.1 // nightly jobs\n", 1))
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	r := run(t, Env{}, "", "add", "cache", "--yes", "-p", filepath.Join(dir, "proj"))
	want := "go.mod was merged by its meaning, which dropped your comments in it; add them back where they belong: // nightly jobs\n"
	if r.code != 0 || !strings.Contains(r.stdout, want) {
		t.Errorf("add cache: exit %d, stdout %q, stderr %q; want %q", r.code, r.stdout, r.stderr, want)
	}
}
