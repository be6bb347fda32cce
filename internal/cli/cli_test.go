package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aegisgo/aegis/internal/catalog"
	"github.com/aegisgo/aegis/internal/prompt"
)

type result struct {
	code           int
	stdout, stderr string
}

// run executes aegis in process. stdin feeds the line prompter.
func run(t *testing.T, env Env, stdin string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	env.Stdout, env.Stderr = &out, &errb
	if env.Prompter == nil {
		env.Prompter = prompt.NewLines(strings.NewReader(stdin), &out)
	}
	code := Run(context.Background(), args, env)
	return result{code, out.String(), errb.String()}
}

// openCatalog has every entry available, to test rules that shipped entries cannot show yet.
func openCatalog() *catalog.Catalog {
	c := catalog.Catalog{Entries: slices.Clone(catalog.Default.Entries)}
	for i := range c.Entries {
		c.Entries[i].Status = catalog.StatusAvailable
	}
	return &c
}

func TestListings(t *testing.T) {
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"version"}, []string{"aegis 0.1.0", "generates Go 1.26.0 projects"}},
		{[]string{"services"}, []string{"Authentication", "AI & Machine Learning", "Communications", "Analytics", "Payment", "auth", "oauth", "coming soon", "requires database"}},
		{[]string{"components"}, []string{"Core", "Infrastructure", "backend", "always included", "worker", "requires database"}},
		{[]string{"--help"}, []string{"aegis init user-app --services auth --components database --no-interactive"}},
		{[]string{"init", "--help"}, []string{"--no-interactive", "--interactive", "--output-dir", "--module", "--force", "--yes"}},
		// A bad name's error points at init --help, which must state the rule; --force never
		// writes into an aegis project, as its flag says.
		{[]string{"init", "--help"}, []string{"NAME is 1-50 ASCII letters, digits, '-' or '_', starting with a letter", "vendor and\ntestdata are reserved", "(never an aegis project)",
			"cannot be go or toolchain", "Init refuses to create a project inside another aegis project ('aegis add' extends that one);\n--force nests it anyway"}},
		// The help and listings name what the catalog has, and point at add for existing projects.
		{[]string{"--help"}, []string{"(backend, frontend, database, worker, scheduler, cache, observability)", "(auth, ai, comms, analytics)"}},
		{[]string{"components"}, []string{"aegis init NAME --components NAME[,NAME...]", "aegis add NAME..."}},
		{[]string{"services"}, []string{"aegis init NAME --services NAME[,NAME...]", "aegis add NAME..."}},
		{[]string{"--version"}, []string{"aegis 0.1.0", "generates Go"}},
		{[]string{"help", "init"}, []string{"Create a new Go web application"}},
	}
	for _, tt := range tests {
		r := run(t, Env{}, "", tt.args...)
		if r.code != 0 {
			t.Errorf("%v: exit %d, stderr %s", tt.args, r.code, r.stderr)
		}
		for _, w := range tt.want {
			if !strings.Contains(r.stdout, w) {
				t.Errorf("%v: output lacks %q:\n%s", tt.args, w, r.stdout)
			}
		}
	}
}

func TestListingJSON(t *testing.T) {
	r := run(t, Env{}, "", "services", "--json")
	var entries []listEntry
	if err := json.Unmarshal([]byte(r.stdout), &entries); err != nil {
		t.Fatal(err)
	}
	if len(entries) != len(catalog.Default.OfKind(catalog.KindService)) {
		t.Errorf("got %d services", len(entries))
	}
}

func TestInitErrors(t *testing.T) {
	dir := t.TempDir()
	busy := filepath.Join(dir, "busy")
	os.MkdirAll(busy, 0o755)
	os.WriteFile(filepath.Join(busy, "keep.txt"), []byte("mine"), 0o644)
	os.WriteFile(filepath.Join(dir, "afile"), []byte("x"), 0o644)
	open := openCatalog()

	tests := []struct {
		name string
		env  Env
		args []string
		code int
		want string
	}{
		{"missing name", Env{}, []string{"init", "--no-interactive"}, 2, "missing project name: use 1-50 ASCII letters"},
		{"space", Env{}, []string{"init", "my app", "--no-interactive"}, 2, `invalid project name "my app"`},
		{"parent", Env{}, []string{"init", "../x", "--no-interactive"}, 2, `invalid project name "../x"`},
		{"absolute", Env{}, []string{"init", "/abs", "--no-interactive"}, 2, `invalid project name "/abs"`},
		// A path is taken apart into the name and --output-dir; punctuation gives a name that would do.
		{"path", Env{}, []string{"init", "/srv/apps/shop", "--no-interactive"}, 2,
			`invalid project name "/srv/apps/shop": the name is not a path; to create shop in /srv/apps, run: aegis init shop -o /srv/apps`},
		{"module path", Env{}, []string{"init", "github.com/acme/shop", "--no-interactive"}, 2,
			`invalid project name "github.com/acme/shop": that is a module path; run: aegis init shop --module github.com/acme/shop`},
		{"path with a space", Env{}, []string{"init", "my src/shop", "--no-interactive"}, 2, "run: aegis init shop -o 'my src'"},
		{"dot slash", Env{}, []string{"init", "./shop", "--no-interactive"}, 2, "starting with a letter; shop would do"},
		{"trailing slash", Env{}, []string{"init", "shop/", "--no-interactive"}, 2, "starting with a letter; shop would do"},
		{"dots", Env{}, []string{"init", "my.shop.app", "--no-interactive"}, 2, `invalid project name "my.shop.app": use 1-50 ASCII letters, digits, '-' or '_', starting with a letter; my-shop-app would do`},
		{"spaces", Env{}, []string{"init", "My Shop ", "--no-interactive"}, 2, "starting with a letter; My-Shop would do"},
		{"digit first", Env{}, []string{"init", "1api", "--no-interactive"}, 2, "starting with a letter"},
		{"look-alike", Env{}, []string{"init", "\uff41pi", "--no-interactive"}, 2, "ASCII letters"},
		{"too long", Env{}, []string{"init", strings.Repeat("a", 51), "--no-interactive"}, 2, "51 characters long"},
		{"reserved", Env{}, []string{"init", "aegis", "--no-interactive"}, 2, "reserved"},
		{"two names", Env{}, []string{"init", "a", "b"}, 2, "one project name"},
		{"bad flag", Env{}, []string{"init", "a", "--colour"}, 2, "unknown flag"},
		{"bad module", Env{}, []string{"init", "a", "--module", "bad path!", "--no-interactive"}, 2, "invalid module path"},
		// The go command refuses to read a go.mod declaring these: the project would not build.
		{"module from name reserved", Env{}, []string{"init", "go", "-o", dir, "--no-interactive"}, 2,
			`project name "go" cannot be the module path, which the go command reserves: pass --module, such as --module github.com/you/go`},
		{"reserved module", Env{}, []string{"init", "a", "-o", dir, "--module", "toolchain", "--no-interactive"}, 2, `module path "toolchain" is reserved by the go command`},
		// A repository's address pasted for the module path is answered with the path in it.
		{"module URL", Env{}, []string{"init", "a", "-o", dir, "--module", "https://github.com/acme/shop", "--no-interactive"}, 2, "use a Go import path such as github.com/acme/shop "},
		{"module git remote", Env{}, []string{"init", "a", "-o", dir, "--module", "git@github.com:acme/shop.git", "--no-interactive"}, 2, "use a Go import path such as github.com/acme/shop "},
		// A module@version as 'go get' takes it is answered with the path, not the version.
		{"module at version", Env{}, []string{"init", "a", "-o", dir, "--module", "shop@v1", "--no-interactive"}, 2, "use a Go import path such as shop "},
		{"module at full version", Env{}, []string{"init", "a", "-o", dir, "--module", "github.com/acme/shop@v1.2.0", "--no-interactive"}, 2, "use a Go import path such as github.com/acme/shop "},
		{"module at latest", Env{}, []string{"init", "a", "-o", dir, "--module", "github.com/acme/shop@latest", "--no-interactive"}, 2, "use a Go import path such as github.com/acme/shop "},
		{"module git remote without colon", Env{}, []string{"init", "a", "-o", dir, "--module", "git@github.com/acme/shop", "--no-interactive"}, 2, "use a Go import path such as github.com/acme/shop "},
		{"module trailing slash", Env{}, []string{"init", "a", "-o", dir, "--module", "github.com/acme/shop/", "--no-interactive"}, 2, "use a Go import path such as github.com/acme/shop "},
		// Paths 'go mod init' refuses and no one could require.
		{"module v1", Env{}, []string{"init", "a", "-o", dir, "--module", "example.com/acme/shop/v1", "--no-interactive"}, 2,
			`invalid module path "example.com/acme/shop/v1": a major version suffix is /v2 or later, and versions 0 and 1 have none: use example.com/acme/shop (or example.com/acme/shop/v2 for version 2)`},
		{"module v2.1", Env{}, []string{"init", "a", "-o", dir, "--module", "example.com/shop/v2.1", "--no-interactive"}, 2, "use example.com/shop (or example.com/shop/v2 for version 2)"},
		{"module gopkg.in", Env{}, []string{"init", "a", "-o", dir, "--module", "gopkg.in/shop", "--no-interactive"}, 2, "a gopkg.in path ends in its major version (gopkg.in/NAME.v1)"},
		// A list with a space after its comma leaves the rest of it as arguments.
		{"spaced components", Env{}, []string{"init", "a", "-o", dir, "--components", "cache,", "worker", "--no-interactive"}, 2,
			"got 2 arguments: a worker; a list is comma-separated, without spaces: write --components cache,worker"},
		{"spaced services", Env{}, []string{"init", "-o", dir, "--services", "auth,", "ai,", "comms", "a", "--components", "cache"}, 2,
			"a list is comma-separated, without spaces: write --components cache --services auth,ai,comms"},
		{"existing folder", Env{}, []string{"init", "busy", "-o", dir, "--no-interactive"}, 1, "not empty: choose another name or --output-dir, or pass --force"},
		{"file in the way", Env{}, []string{"init", "afile", "-o", dir, "--no-interactive"}, 1, "is a file"},
		{"coming soon", Env{}, []string{"init", "a", "-o", dir, "--services", "oauth", "--no-interactive"}, 1,
			"service 'oauth' is coming soon and cannot be generated yet; run 'aegis services' to see what is available"},
		// A name that is no part is a usage error, as an unknown command is.
		{"unknown component", Env{}, []string{"init", "a", "-o", dir, "--components", "kafka", "--no-interactive"}, 2,
			"unknown component 'kafka'; valid components: backend, cache, database, frontend, observability, scheduler, worker"},
		{"unknown service", Env{}, []string{"init", "a", "-o", dir, "--services", "billing", "--no-interactive"}, 2, "valid services: ai, analytics, auth"},
		{"missing requirement", Env{Catalog: open}, []string{"init", "user-app", "-o", dir, "--services", "auth", "--components", "cache", "--no-interactive"}, 1,
			"service 'auth' requires component 'database'; run: aegis init user-app --components cache,database --services auth --module user-app --output-dir " + dir + " --no-interactive"},
		{"missing transitive", Env{Catalog: open}, []string{"init", "x", "-o", dir, "--services", "ai", "--components", "", "--no-interactive"}, 1,
			"service 'ai' requires component 'worker'; component 'worker' requires component 'database'; run: aegis init x --components database,worker --services ai"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, tt.env, "", tt.args...)
			if r.code != tt.code || !strings.Contains(r.stderr, tt.want) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", r.code, r.stderr, tt.code, tt.want)
			}
			if n := strings.Count(strings.TrimSpace(r.stderr), "\n"); n != 0 {
				t.Errorf("error takes %d lines, want one:\n%s", n+1, r.stderr)
			}
		})
	}
	assertEntries(t, dir, "afile", "busy")
	if b, _ := os.ReadFile(filepath.Join(busy, "keep.txt")); string(b) != "mine" {
		t.Error("existing folder was changed")
	}
}

func TestInitInteractiveAddsRequirements(t *testing.T) {
	dir := t.TempDir()
	// Components: none; services: auth; then decline at the confirmation.
	r := run(t, Env{Catalog: openCatalog()}, "\nauth\nn\n", "init", "user-app", "-o", dir)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	for _, w := range []string{
		"+ adding component 'database': service 'auth' requires it",
		"Components  backend, database, frontend",
		"Services    auth",
		"Cancelled; nothing was written.",
	} {
		if !strings.Contains(r.stdout, w) {
			t.Errorf("output lacks %q:\n%s", w, r.stdout)
		}
	}
	assertEntries(t, dir)
}

// Input that ends before the questions are answered is a mistake in how aegis was run (exit 2,
// pointing to --no-interactive), not an interrupt, wherever it ends; nothing is written.
func TestInitEndOfInput(t *testing.T) {
	tests := []struct {
		name, stdin string
		args        []string
	}{
		{"at the name", "", []string{"init"}},
		{"at the components", "", []string{"init", "x"}},
		{"at the services", "\n", []string{"init", "x"}},
		{"at the confirmation", "\n\n", []string{"init", "x"}},
		{"at the confirmation with flags", "", []string{"init", "x", "--components", "cache"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			r := run(t, Env{}, tt.stdin, append(tt.args, "-o", dir)...)
			want := "aegis: stdin closed before init's questions were answered: pass the choices as flags with --no-interactive (see 'aegis init --help')\n"
			if r.code != ExitUsage || r.stderr != want {
				t.Errorf("exit %d, stderr %q; want exit %d, %q", r.code, r.stderr, ExitUsage, want)
			}
			assertEntries(t, dir)
		})
	}
}

// An interrupt while a question waits ends init at once with status 130.
func TestInitInterrupted(t *testing.T) {
	dir := t.TempDir()
	waiting, w := io.Pipe() // input that never comes
	defer w.Close()
	var out, errb bytes.Buffer
	ctx, interrupt := context.WithCancel(t.Context())
	time.AfterFunc(50*time.Millisecond, interrupt)
	code := Run(ctx, []string{"init", "x", "-o", dir}, Env{Stdout: &out, Stderr: &errb, Prompter: prompt.NewLines(waiting, &out)})
	if code != ExitInterrupted || errb.String() != "aegis: interrupted; nothing was written\n" {
		t.Errorf("exit %d, stderr %q", code, errb.String())
	}
	assertEntries(t, dir)
}

// The confirmation of add and remove points to --yes when stdin ends, and changes nothing.
func TestAddEndOfInput(t *testing.T) {
	proj := newProject(t, "cache")
	before := readTree(t, proj)
	for _, verb := range []string{"add", "remove"} {
		t.Run(verb, func(t *testing.T) {
			name := map[string]string{"add": "scheduler", "remove": "cache"}[verb]
			r := run(t, Env{}, "", verb, name, "-p", proj)
			want := "aegis: stdin closed before " + verb + "'s confirmation was answered: pass --yes to apply the changes without asking; nothing was changed\n"
			if r.code != ExitUsage || r.stderr != want {
				t.Errorf("exit %d, stderr %q; want exit %d, %q", r.code, r.stderr, ExitUsage, want)
			}
			if after := readTree(t, proj); !maps.Equal(after, before) {
				t.Errorf("%s changed the project", verb)
			}
		})
	}
}

// newProject makes a project "app" with components comps (comma-separated) in a temporary
// folder and returns its path.
func newProject(t *testing.T, comps string) string {
	t.Helper()
	dir := t.TempDir()
	if r := run(t, Env{}, "", "init", "app", "-o", dir, "--components", comps, "--no-interactive"); r.code != 0 {
		t.Fatalf("init: exit %d: %s", r.code, r.stderr)
	}
	return filepath.Join(dir, "app")
}

// readTree returns every file under root with its content.
func readTree(t *testing.T, root string) map[string]string {
	t.Helper()
	m := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		m[p] = string(data)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestInitServicesWithoutComponentsAddsThem(t *testing.T) {
	r := run(t, Env{Catalog: openCatalog()}, "", "init", "x", "-o", t.TempDir(), "--services", "ai", "--no-interactive", "--module", "example.com/x")
	// Generation itself fails (the open catalog lists entries the reference app lacks), but the
	// additions are printed first.
	for _, w := range []string{"+ adding component 'worker': service 'ai' requires it", "+ adding component 'database': component 'worker' requires it"} {
		if !strings.Contains(r.stdout, w) {
			t.Errorf("output lacks %q:\n%s", w, r.stdout)
		}
	}
}

func TestReplayQuotes(t *testing.T) {
	got := replay("app", initOpts{components: []string{"database"}, module: "example.com/app", outputDir: "/tmp/my dir"})
	want := "aegis init app --components database --module example.com/app --output-dir '/tmp/my dir' --no-interactive"
	if got != want {
		t.Errorf("replay = %q, want %q", got, want)
	}
}

func assertEntries(t *testing.T, dir string, names ...string) {
	t.Helper()
	entries, _ := os.ReadDir(dir)
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	if !slices.Equal(got, names) {
		t.Errorf("%s holds %v, want %v", dir, got, names)
	}
}

// TestInitInteractiveFlag: --interactive asks even when the selection is given as flags, with
// the flags' names marked, so an empty answer keeps them and an answer replaces them; it is
// refused beside --no-interactive, and a misspelt name stops init before the questions.
func TestInitInteractiveFlag(t *testing.T) {
	tests := []struct {
		name, stdin string
		args        []string
		code        int
		want        []string // in stdout, or stderr when code != 0
	}{
		{"marks kept", "\n\nn\n", []string{"--interactive", "--components", "cache", "--services", "auth"}, 0,
			[]string{"[x] cache", "[x] auth", "[ ] worker", "+ adding component 'database': service 'auth' requires it",
				"Components  backend, cache, database, frontend", "Services    auth, httpclient", "Cancelled; nothing was written."}},
		{"answers replace marks", "worker\nnone\nn\n", []string{"--interactive", "--components", "cache"}, 0,
			[]string{"[x] cache", "Components  backend, database, frontend, worker\n", "Services    httpclient\n"}},
		{"without flags it asks as before", "\n\nn\n", []string{"--interactive"}, 0,
			[]string{"[ ] cache", "Components  backend, frontend\n"}},
		{"contradiction", "", []string{"--interactive", "--no-interactive"}, 2,
			[]string{"aegis: --interactive and --no-interactive contradict each other: keep one (see 'aegis init --help')\n"}},
		{"misspelt before asking", "", []string{"--interactive", "--components", "cahce"}, 2,
			[]string{"unknown component 'cahce'"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			r := run(t, Env{}, tt.stdin, append([]string{"init", "shop", "-o", dir}, tt.args...)...)
			if r.code != tt.code {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, tt.code, r.stdout, r.stderr)
			}
			got := r.stdout
			if tt.code != 0 {
				got = r.stderr
				if strings.Contains(r.stdout, "Components (") {
					t.Errorf("init asked before refusing:\n%s", r.stdout)
				}
			}
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("output lacks %q:\n%s", w, got)
				}
			}
			assertEntries(t, dir)
		})
	}
}

// TestAddAsks: add without names asks, at a terminal, which of the parts the project lacks to
// add (those it has are not offered); without a terminal it stays a usage error, so a script
// that forgot the names does not wait for an answer.
func TestAddAsks(t *testing.T) {
	proj := newProject(t, "cache")
	before := readTree(t, proj)
	tests := []struct {
		name, stdin string
		code        int
		want        []string // in stdout, or stderr when code != 0
		changed     bool
	}{
		{"nothing chosen", "\n\n", 0, []string{"  4) [ ] observability", "Nothing chosen; nothing was changed."}, false},
		{"end of input", "", ExitUsage, []string{"aegis: stdin closed before add's questions were answered: name what to add, for example: aegis add database; nothing was changed\n"}, false},
		{"cancelled", "scheduler\n\nn\n", 0, []string{"Adding scheduler to app", "Cancelled"}, false},
		{"chosen", "scheduler\nauth\ny\n", 0, []string{"+ adding component 'database': service 'auth' requires it", "Added database, scheduler, auth"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, Env{}, tt.stdin, "add", "-p", proj)
			if r.code != tt.code {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, tt.code, r.stdout, r.stderr)
			}
			got := r.stdout
			if tt.code != 0 {
				got = r.stderr
			}
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("output lacks %q:\n%s", w, got)
				}
			}
			if strings.Contains(r.stdout, "[ ] cache") {
				t.Errorf("add offered cache, which the project has:\n%s", r.stdout)
			}
			if changed := !maps.Equal(readTree(t, proj), before); changed != tt.changed {
				t.Errorf("project changed: %v, want %v", changed, tt.changed)
			}
		})
	}

	var out, errb bytes.Buffer
	code := Run(context.Background(), []string{"add", "-p", proj}, Env{Stdin: strings.NewReader("cache\n"), Stdout: &out, Stderr: &errb})
	// The project has database, scheduler, cache and auth by now: the example is a part it lacks.
	if want := "aegis: add needs at least one component or service name, for example: aegis add worker (see 'aegis add --help')\n"; code != ExitUsage || errb.String() != want {
		t.Errorf("without a terminal: exit %d, stderr %q; want %d, %q", code, errb.String(), ExitUsage, want)
	}
}

// TestGrowWithoutNamesExample: add and remove given no name, without a terminal, suggest one
// that works in the project: a part it lacks for add (not cache in a project that has it), one
// it has for remove; with nothing to add they say so. Outside a project the example is cache.
func TestGrowWithoutNamesExample(t *testing.T) {
	var comps, svcs []string
	for _, e := range catalog.Default.Entries {
		switch {
		case e.AlwaysOn || !e.Available():
		case e.Kind == catalog.KindComponent:
			comps = append(comps, e.Name)
		default:
			svcs = append(svcs, e.Name)
		}
	}
	dir := t.TempDir()
	if r := run(t, Env{}, "", "init", "full", "-o", dir, "--components", strings.Join(comps, ","), "--services", strings.Join(svcs, ","), "--no-interactive"); r.code != 0 {
		t.Fatalf("init: exit %d: %s", r.code, r.stderr)
	}
	full := filepath.Join(dir, "full")
	withCache := newProject(t, "cache")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"add in a project with cache", []string{"add", "-p", withCache},
			"aegis: add needs at least one component or service name, for example: aegis add database (see 'aegis add --help')\n"},
		{"add with an empty name", []string{"add", "", "-p", withCache},
			"aegis: add needs at least one component or service name, for example: aegis add database (see 'aegis add --help')\n"},
		{"remove in a project with cache", []string{"remove", "-p", withCache},
			"aegis: remove needs at least one component or service name, for example: aegis remove cache (see 'aegis remove --help')\n"},
		{"add in a project with every part", []string{"add", "-p", full},
			"aegis: nothing to add: the project already has every component and service aegis can add (see 'aegis add --help')\n"},
		{"remove in a project with every part", []string{"remove", "-p", full},
			"aegis: remove needs at least one component or service name, for example: aegis remove scheduler (see 'aegis remove --help')\n"},
		{"add outside a project", []string{"add", "-p", filepath.Join(dir, "nope")},
			"aegis: add needs at least one component or service name, for example: aegis add cache (see 'aegis add --help')\n"},
	}
	// At a terminal, add in a project with every part says so instead of asking a question
	// whose every choice is taken.
	if r := run(t, Env{}, "\n\n", "add", "-p", full); r.code != 0 || strings.Contains(r.stdout, "Components (") ||
		!strings.Contains(r.stdout, "Nothing to add: the project already has every component and service aegis can add; nothing was changed.\n") {
		t.Errorf("add at a terminal in a project with every part: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := Run(context.Background(), tt.args, Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb})
			if code != ExitUsage || errb.String() != tt.want {
				t.Errorf("exit %d, stderr %q; want %d, %q", code, errb.String(), ExitUsage, tt.want)
			}
			// The example works: run as suggested (without writing), it plans a change.
			_, example, ok := strings.Cut(errb.String(), "for example: aegis ")
			if !ok || strings.Contains(tt.name, "outside") {
				return
			}
			example, _, _ = strings.Cut(example, " (see")
			args := append(strings.Fields(example), "--dry-run", "-p", tt.args[len(tt.args)-1])
			if r := run(t, Env{}, "", args...); r.code != 0 {
				t.Errorf("aegis %s: exit %d: %s", strings.Join(args, " "), r.code, r.stderr)
			}
		})
	}
}

// TestRemoveAsks: remove without names offers the project's own optional parts.
func TestRemoveAsks(t *testing.T) {
	proj := newProject(t, "cache,scheduler")
	r := run(t, Env{}, "2\ny\n", "remove", "-p", proj)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	for _, w := range []string{"  1) [ ] scheduler", "  2) [ ] cache", "Removed cache"} {
		if !strings.Contains(r.stdout, w) {
			t.Errorf("output lacks %q:\n%s", w, r.stdout)
		}
	}
	for _, no := range []string{"database", "Services:"} {
		if strings.Contains(r.stdout, no) {
			t.Errorf("remove offered %q, which the project lacks:\n%s", no, r.stdout)
		}
	}
	if _, err := os.Stat(filepath.Join(proj, "internal/components/cache")); !os.IsNotExist(err) {
		t.Errorf("cache's folder is still there: %v", err)
	}
}

// A name typed at the wrong question is answered with what it is and where it is chosen, and the
// question is asked again; the same names passed to the wrong flag say which flag takes them.
func TestWrongQuestion(t *testing.T) {
	tests := []struct {
		name, stdin string
		args        []string
		want        []string
	}{
		{"service at the components question", "auth\ncache\nauth\nn\n", []string{"init", "shop"},
			[]string{"  'auth' is a service, not a component; pick it at the services question, next\n", "Services    auth, httpclient\n"}},
		{"misspelt service at the components question", "auht\n\n\nn\n", []string{"init", "shop"},
			[]string{"did you mean 'auth'? It is a service, not a component; pick it at the services question, next\n"}},
		{"coming-soon service at the components question", "saml\n\n\nn\n", []string{"init", "shop"},
			[]string{"  'saml' is a service, not a component, and it is coming soon: it cannot be chosen yet\n"}},
		{"always-on part", "backend\n\nhttpclient\n\nn\n", []string{"init", "shop"},
			[]string{"  'backend' is always included in every project: there is nothing to choose\n", "  'httpclient' is always included"}},
		{"component at the services question", "\nworker\n\nn\n", []string{"init", "shop"},
			[]string{"  'worker' is a component, not a service; the components question is past: run 'aegis add worker' afterwards\n"}},
		{"component chosen already", "cache\ncache\n\nn\n", []string{"init", "shop"},
			[]string{"  'cache' is a component, not a service, and chosen already at the components question\n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			r := run(t, Env{}, tt.stdin, append(tt.args, "-o", dir)...)
			if r.code != 0 {
				t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(r.stdout, w) {
					t.Errorf("output lacks %q:\n%s", w, r.stdout)
				}
			}
			if strings.Contains(r.stdout, "is not a choice; choose from") && !strings.Contains(r.stdout, "did you mean") {
				t.Errorf("a name of the catalog was called not a choice:\n%s", r.stdout)
			}
		})
	}

	proj := newProject(t, "cache")
	t.Run("always-on part at remove's question", func(t *testing.T) {
		r := run(t, Env{}, "backend\n\n", "remove", "-p", proj)
		want := "  'backend' is part of every project and cannot be removed\n"
		if !strings.Contains(r.stdout, want) {
			t.Errorf("exit %d, output lacks %q:\n%s", r.code, want, r.stdout)
		}
	})
	t.Run("component at add's services question", func(t *testing.T) {
		r := run(t, Env{}, "\nworker\n\n", "add", "-p", proj)
		want := "  'worker' is a component, not a service; the components question is past: run 'aegis add worker' afterwards\n"
		if !strings.Contains(r.stdout, want) {
			t.Errorf("exit %d, output lacks %q:\n%s", r.code, want, r.stdout)
		}
	})

	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--components", "auth"}, "aegis: unknown component 'auth'; valid components: backend, cache, database, frontend, observability, scheduler, worker; 'auth' is a service: use --services auth\n"},
		{[]string{"--services", "cache"}, "'cache' is a component: use --components cache\n"},
		{[]string{"--services", "auth,cahce"}, "did you mean component 'cache'?\n"},
	} {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			r := run(t, Env{}, "", append([]string{"init", "shop", "-o", t.TempDir(), "--no-interactive"}, tt.args...)...)
			if r.code != ExitUsage || !strings.HasSuffix(r.stderr, tt.want) || strings.Count(r.stderr, "\n") != 1 {
				t.Errorf("exit %d, stderr %q; want exit 2 and one line ending %q", r.code, r.stderr, tt.want)
			}
		})
	}
}

// A name typed at the name question whose folder init would refuse (a project, a file, a folder
// that is not empty) is asked again, with the reason, instead of ending init after the answer.
func TestInitAsksNameAgain(t *testing.T) {
	dir := t.TempDir()
	if r := run(t, Env{}, "", "init", "proj", "-o", dir, "--no-interactive"); r.code != 0 {
		t.Fatalf("init: exit %d: %s", r.code, r.stderr)
	}
	os.WriteFile(filepath.Join(dir, "afile"), []byte("x"), 0o644)
	os.MkdirAll(filepath.Join(dir, "full", "sub"), 0o755)
	r := run(t, Env{}, "proj\nafile\nfull\ngo\nfresh\n\n\nn\n", "init", "-o", dir)
	if r.code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	for _, w := range []string{
		"  folder " + filepath.Join(dir, "proj") + " is already an aegis project",
		"  " + filepath.Join(dir, "afile") + " exists and is a file: choose another name or --output-dir\n",
		"  folder " + filepath.Join(dir, "full") + " already exists and is not empty",
		// A name that would make a module path the go command refuses is asked again too.
		"  project name \"go\" cannot be the module path, which the go command reserves: pass --module",
		"Project     fresh\n",
		"Cancelled; nothing was written.",
	} {
		if !strings.Contains(r.stdout, w) {
			t.Errorf("output lacks %q:\n%s", w, r.stdout)
		}
	}
}
