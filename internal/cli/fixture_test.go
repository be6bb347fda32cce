package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"testing/fstest"
	"time"

	"github.com/aegisgo/aegis/internal/catalog"
	"github.com/aegisgo/aegis/internal/generate"
	"github.com/aegisgo/aegis/template"
)

// The fixture is a service that exists only in testdata/fixture, laid out like the reference
// app: it is the newcomer's part of docs/adding-a-component.md. The issue it answers: "a new
// part is one folder and one catalog entry". These tests give aegis exactly that, the folder
// overlaid onto the reference app and one entry appended to the catalog, and drive the real
// commands with it. If anything else had to change for the fixture to work, the generator would
// be naming parts somewhere, which is the bug they are here to find.
const (
	fixtureData   = "testdata/fixture"
	fixtureFolder = "internal/services/fixture/"
	fixtureModule = "example.com/fixture"
)

// fixtureEntry is the one catalog entry of the fixture.
var fixtureEntry = catalog.Entry{
	Name: "fixture", Kind: catalog.KindService, Category: catalog.CategoryComms,
	Status:      catalog.StatusAvailable,
	Description: "Worked example: a greeting with a table, an API route, a panel, a command and a compose service",
	Requires:    []string{"database"},
	Paths:       []string{fixtureFolder},
	Migrations:  []string{"fixture"},
}

// fixtureEnv is the aegis environment of these tests: the shipped catalog plus the fixture's
// entry, and the reference app with the fixture's folder overlaid.
func fixtureEnv(t *testing.T) Env {
	t.Helper()
	cat := catalog.Catalog{Entries: append(slices.Clone(catalog.Default.Entries), fixtureEntry), Glue: catalog.Default.Glue}
	if err := cat.Check(); err != nil {
		t.Fatal(err)
	}
	return Env{Catalog: &cat, Source: overlayFS(t, template.FS, os.DirFS(fixtureData))}
}

// overlayFS returns base with every file of top added, top winning on the same path.
func overlayFS(t *testing.T, base, top fs.FS) fs.FS {
	t.Helper()
	m := fstest.MapFS{}
	for _, fsys := range []fs.FS{base, top} {
		err := fs.WalkDir(fsys, ".", func(name string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			data, err := fs.ReadFile(fsys, name)
			m[name] = &fstest.MapFile{Data: data, Mode: 0o644}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return m
}

// fixtureFiles lists the files of the fixture's folder a project gets, relative to the folder:
// all but _fragments.
func fixtureFiles(t *testing.T) []string {
	t.Helper()
	var files []string
	err := fs.WalkDir(os.DirFS(filepath.Join(fixtureData, fixtureFolder)), ".", func(name string, d fs.DirEntry, err error) error {
		switch {
		case err != nil:
			return err
		case d.IsDir() && d.Name() == "_fragments":
			return fs.SkipDir
		case !d.IsDir():
			files = append(files, name)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 5 {
		t.Fatalf("testdata/fixture holds %d files: %v", len(files), files)
	}
	return files
}

// aegisOK runs aegis with env and fails the test unless it exits 0; it returns the output.
func aegisOK(t *testing.T, env Env, args ...string) string {
	t.Helper()
	r := run(t, env, "", args...)
	if r.code != 0 {
		t.Fatalf("aegis %s: exit %d: %s%s", strings.Join(args, " "), r.code, r.stderr, r.stdout)
	}
	return r.stdout
}

// initFixture runs `aegis init app` into parent with the given selection flags and returns the
// project folder.
func initFixture(t *testing.T, env Env, parent string, flags ...string) (dir, out string) {
	t.Helper()
	args := append([]string{"init", "app", "-o", parent, "--module", fixtureModule, "--no-interactive"}, flags...)
	return filepath.Join(parent, "app"), aegisOK(t, env, args...)
}

// projectTree is every file under root but .env (its secrets are random per run), path ->
// mode and content, and the names the .env sets.
func projectTree(t *testing.T, root string) map[string]string {
	t.Helper()
	m := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if rel == ".env" {
			m[rel] = strings.Join(settings(data), ",")
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		m[filepath.ToSlash(rel)] = fi.Mode().String() + "\n" + string(data)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// sameProject fails when the trees of two projects differ, naming every path that does.
func sameProject(t *testing.T, what, got, want string) {
	t.Helper()
	a, b := projectTree(t, got), projectTree(t, want)
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
		t.Errorf("%s: the projects differ: %s", what, strings.Join(diffs, ", "))
	}
}

func readFile(t *testing.T, dir, rel string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(rel)))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// TestFixtureOwner: a service that is one folder and one catalog entry is generated, added
// and removed by the real commands like any shipped part, and nothing outside its folder names
// it. Without -short it also proves the generated project is a product: it builds, vets, is
// gofmt-clean and tidy, passes its tests (the fixture's own among them), and its binary runs
// the fixture's command and serves its route.
func TestFixtureOwner(t *testing.T) {
	env := fixtureEnv(t)
	root := t.TempDir()

	// init with the fixture: its requirement is added and said.
	with, out := initFixture(t, env, filepath.Join(root, "with"), "--services", "fixture")
	if want := "+ adding component 'database': service 'fixture' requires it"; !strings.Contains(out, want) {
		t.Errorf("init output lacks %q:\n%s", want, out)
	}
	checkFixtureProject(t, with)
	if out := aegisOK(t, env, "services"); !strings.Contains(out, "fixture") || !strings.Contains(out, fixtureEntry.Description) {
		t.Errorf("aegis services does not list the fixture:\n%s", out)
	}
	// update re-renders with the same generator, the fixture included: nothing to do.
	if out := aegisOK(t, env, "update", "-p", with, "--dry-run"); !strings.Contains(out, "Nothing to change.") {
		t.Errorf("update --dry-run right after init plans changes:\n%s", out)
	}

	// init without it, then add it: the same project.
	without, _ := initFixture(t, env, filepath.Join(root, "without"), "--components", "database")
	grown, _ := initFixture(t, env, filepath.Join(root, "grown"), "--components", "database")
	before := projectTree(t, grown)
	out = aegisOK(t, env, "add", "fixture", "-p", grown, "--dry-run")
	for _, want := range []string{
		"Adding fixture to app",
		"+ create   internal/services/fixture/fixture.go",
		"+ create   internal/services/fixture/migrations/sqlite/00001_fixture_greetings.sql",
		"~ update   internal/services/wire_gen.go",
		"~ update   .env.example",
		"~ update   docker-compose.yml",
		"~ update   README.md",
		"Dry run: nothing was changed.",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("add --dry-run output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "_fragments") || strings.Contains(out, "go.mod") {
		t.Errorf("add --dry-run plans fragments or a go.mod change, which the fixture does not bring:\n%s", out)
	}
	if !maps.Equal(before, projectTree(t, grown)) {
		t.Error("add --dry-run changed the project")
	}
	out = aegisOK(t, env, "add", "fixture", "-p", grown, "--yes")
	for _, want := range []string{"Added fixture.", "The migrations of fixture run with the next 'go run ./cmd/app migrate up'"} {
		if !strings.Contains(out, want) {
			t.Errorf("add output lacks %q:\n%s", want, out)
		}
	}
	sameProject(t, "init without + add fixture vs init with", grown, with)

	// remove it again: the project init makes without it. Its table is named, not dropped, with how to drop it.
	out = aegisOK(t, env, "remove", "fixture", "-p", grown, "--dry-run")
	for _, want := range []string{"- delete   internal/services/fixture/fixture.go", "~ update   internal/services/wire_gen.go", "Dry run: nothing was changed."} {
		if !strings.Contains(out, want) {
			t.Errorf("remove --dry-run output lacks %q:\n%s", want, out)
		}
	}
	out = aegisOK(t, env, "remove", "fixture", "-p", grown, "--yes")
	for _, want := range []string{"Removed fixture.", "  'fixture': fixture_greetings, goose_db_version_fixture\n", "To drop the tables of 'fixture',"} {
		if !strings.Contains(out, want) {
			t.Errorf("remove output lacks %q:\n%s", want, out)
		}
	}
	sameProject(t, "init with + remove fixture vs init without", grown, without)

	if testing.Short() {
		t.Log("-short: the generated project was not built, tested or run")
		return
	}
	buildAndRunFixture(t, with)
}

// checkFixtureProject checks what the fixture brings to a project and where.
func checkFixtureProject(t *testing.T, dir string) {
	t.Helper()
	for _, f := range fixtureFiles(t) {
		got := readFile(t, dir, fixtureFolder+f)
		if strings.Contains(got, template.ImportPrefix) {
			t.Errorf("%s%s still imports %s", fixtureFolder, f, template.ImportPrefix)
		}
	}
	if got := readFile(t, dir, fixtureFolder+"fixture.go"); !strings.Contains(got, `"`+fixtureModule+`/internal/components/database"`) {
		t.Errorf("fixture.go's imports are not rewritten to %s:\n%s", fixtureModule, got)
	}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Name() == "_fragments" {
			t.Errorf("%s was copied into the project", p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for file, wants := range map[string][]string{
		"internal/services/wire_gen.go": {`_ "` + fixtureModule + `/internal/services/fixture"`},
		".env.example":                  {"# --- fixture: the worked example of a service", "FIXTURE_GREETING=hello"},
		"docker-compose.yml":            {"\n  fixture-echo:\n    image: hashicorp/http-echo:1.0\n"},
		"README.md": {
			"| fixture (service) | " + fixtureEntry.Description + " |",
			"| `FIXTURE_GREETING` | `hello` |", // the configuration table, read from .env.example
			"| `/api/v1/fixture/greeting` |",
			"app fixture-greet ",
			"\n## Fixture\n",
		},
	} {
		got := readFile(t, dir, file)
		for _, want := range wants {
			if !strings.Contains(got, want) {
				t.Errorf("%s lacks %q", file, want)
			}
		}
	}

	var m generate.Manifest
	if err := json.Unmarshal([]byte(readFile(t, dir, generate.ManifestPath)), &m); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(m.Services, []string{"fixture", "httpclient"}) {
		t.Errorf("the manifest's services are %v, want [fixture httpclient]", m.Services)
	}
	var owned []string
	for p, f := range m.Files {
		if f.Owner == "fixture" {
			owned = append(owned, strings.TrimPrefix(p, fixtureFolder))
		}
	}
	slices.Sort(owned)
	if want := fixtureFiles(t); !slices.Equal(owned, want) {
		t.Errorf("the manifest gives the fixture %v, want its folder's files %v", owned, want)
	}
}

// buildAndRunFixture checks the generated project the way the stack matrix (cmd/aegis) does,
// then runs the fixture's command and route in the built binary.
func buildAndRunFixture(t *testing.T, dir string) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatal("building the project needs the go command on PATH")
	}
	goRun := func(args ...string) string {
		t.Helper()
		start := time.Now()
		cmd := exec.Command(goBin, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOFLAGS=-buildvcs=false", "GOWORK=off")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		t.Logf("go %s: %s", strings.Join(args, " "), time.Since(start).Round(time.Second))
		return string(out)
	}
	goRun("build", "./...")
	goRun("vet", "./...")
	gofmt := filepath.Join(strings.TrimSpace(goRun("env", "GOROOT")), "bin", "gofmt")
	if out, err := exec.Command(gofmt, "-l", dir).CombinedOutput(); err != nil || len(out) > 0 {
		t.Fatalf("gofmt -l: %v\n%s", err, out)
	}
	goRun("mod", "tidy", "-diff")
	if out := goRun("test", "-count=1", "-v", "-run", "^(TestRegister|TestRouteAndPanel|TestDefaults|TestGreetCommand)$", "./internal/services/fixture/"); !strings.Contains(out, "--- PASS: TestRouteAndPanel") {
		t.Errorf("the fixture's own tests did not run:\n%s", out)
	}
	if out := goRun("test", "-count=1", "./..."); !strings.Contains(out, "ok  \t"+fixtureModule+"/internal/services/fixture\t") {
		t.Errorf("go test ./... did not run the fixture's tests:\n%s", out)
	} else {
		t.Logf("go test ./...:\n%s", out)
	}

	bin := filepath.Join(dir, "bin", "app")
	goRun("build", "-o", bin, "./cmd/app")
	appEnv := append(os.Environ(), "FIXTURE_GREETING=salut")
	for i := 1; i <= 2; i++ {
		cmd := exec.Command(bin, "fixture-greet")
		cmd.Dir, cmd.Env = dir, appEnv
		out, err := cmd.Output()
		if want := fmt.Sprintf("salut (greeting #%d)\n", i); err != nil || string(out) != want {
			t.Fatalf("app fixture-greet, run %d: %v: printed %q, want %q", i, err, out, want)
		}
	}
	var got struct {
		Greeting string `json:"greeting"`
		Count    int    `json:"count"`
	}
	body := serveGreeting(t, bin, dir, appEnv)
	if err := json.Unmarshal([]byte(body), &got); err != nil || got.Greeting != "salut" || got.Count != 2 {
		t.Errorf("GET /api/v1/fixture/greeting = %s (%v), want the greeting salut and the count 2", body, err)
	}
}

// serveGreeting runs `app serve` on a free port, waits for /health/ready, returns the body of
// GET /api/v1/fixture/greeting and stops the app with SIGTERM, expecting a clean exit.
func serveGreeting(t *testing.T, bin, dir string, env []string) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	var logs strings.Builder
	cmd := exec.Command(bin, "serve")
	cmd.Dir, cmd.Stdout, cmd.Stderr = dir, &logs, &logs
	cmd.Env = append(env, "HOST=127.0.0.1", fmt.Sprintf("PORT=%d", port))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	stopped := false
	defer func() {
		if !stopped {
			_ = cmd.Process.Kill()
			<-done
		}
	}()
	get := func(path string) (int, string) {
		resp, err := http.Get(base + path)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if code, _ := get("/health/ready"); code == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve was not ready within 30s; output:\n%s", logs.String())
		}
	}
	if code, page := get("/"); code != http.StatusOK || !strings.Contains(page, `href="/dashboard/panels/fixture"`) {
		t.Errorf("GET / = %d, want the dashboard linking the fixture's panel:\n%s", code, page)
	}
	code, body := get("/api/v1/fixture/greeting")
	if code != http.StatusOK {
		t.Errorf("GET /api/v1/fixture/greeting = %d: %s", code, body)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		stopped = true
		if err != nil {
			t.Errorf("serve exited with %v after SIGTERM; output:\n%s", err, logs.String())
		}
	case <-time.After(30 * time.Second):
		t.Errorf("serve did not stop within 30s of SIGTERM; output:\n%s", logs.String())
	}
	return body
}

// docQuote is a code block of docs/adding-a-component.md that quotes a file: the line
// "From [name](path):", a blank line, then the fenced block.
var docQuote = regexp.MustCompile("(?s)From \\[[^]]*\\]\\(([^)]+)\\):\n\n```[a-z]*\n(.*?)\n```")

// TestFixtureDoc keeps the walk-through in docs/adding-a-component.md true: every block it
// quotes from the fixture (or from this test) is a verbatim excerpt of the file it names.
func TestFixtureDoc(t *testing.T) {
	const doc = "../../docs/adding-a-component.md"
	data, err := os.ReadFile(doc)
	if err != nil {
		t.Fatal(err)
	}
	quotes := docQuote.FindAllStringSubmatch(string(data), -1)
	if len(quotes) < 10 {
		t.Fatalf("%s quotes %d blocks, want the fixture's code throughout", doc, len(quotes))
	}
	for _, q := range quotes {
		file := filepath.Join(filepath.Dir(doc), filepath.FromSlash(q[1]))
		src, err := os.ReadFile(file)
		if err != nil {
			t.Errorf("%s quotes %s: %v", doc, q[1], err)
			continue
		}
		if !strings.Contains(string(src), q[2]) {
			t.Errorf("%s quotes a block that %s does not hold (update the doc or the fixture):\n%s", doc, q[1], q[2])
		}
	}
}

// TestEnvModules: the module data of Env is the one init renders go.mod from; empty data
// knows none of the packages a project imports, so init stops naming one and writes nothing.
func TestEnvModules(t *testing.T) {
	parent := t.TempDir()
	env := Env{Modules: &generate.ModuleData{Go: generate.GoVersion}}
	r := run(t, env, "", "init", "app", "-o", parent, "--module", fixtureModule, "--no-interactive")
	if r.code != ExitError || !strings.Contains(r.stderr, "no module data for package") {
		t.Errorf("init with empty module data: exit %d, stderr %q; want exit 1 naming a package without module data", r.code, r.stderr)
	}
	assertEntries(t, parent)
}
