package generate

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"net/url"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v4"

	"github.com/aegisgo/aegis/internal/catalog"
	"github.com/aegisgo/aegis/template"
)

const ciPath = ".github/workflows/ci.yml"

// ciStep is one step of the generated workflow's test job.
type ciStep struct {
	Name string `yaml:"name"`
	Uses string `yaml:"uses"`
	Run  string `yaml:"run"`
}

// label is how a test names a step: its name, or the action it uses.
func (s ciStep) label() string {
	if s.Name != "" {
		return s.Name
	}
	return s.Uses
}

type ciService struct {
	Image   string            `yaml:"image"`
	Env     map[string]string `yaml:"env"`
	Options string            `yaml:"options"`
	Ports   []string          `yaml:"ports"`
}

type ciJob struct {
	Services map[string]ciService `yaml:"services"`
	Env      map[string]string    `yaml:"env"`
	Steps    []ciStep             `yaml:"steps"`
	// keys are the job's keys as written, to tell an absent services: or env: from an empty one.
	keys map[string]any
}

// renderedCI renders the workflow for sel and parses its test job with a YAML parser, as
// GitHub does: a fragment indented wrong fails here rather than in the user's first push.
func renderedCI(t *testing.T, sel catalog.Selection) (ciJob, string) {
	t.Helper()
	text := renderedFile(t, "shop", sel, ciPath)
	var wf struct {
		Jobs map[string]ciJob `yaml:"jobs"`
	}
	if err := yaml.Unmarshal([]byte(text), &wf); err != nil {
		t.Fatalf("%s does not parse as YAML: %v\n%s", ciPath, err, text)
	}
	var raw struct {
		Jobs map[string]map[string]any `yaml:"jobs"`
	}
	if err := yaml.Unmarshal([]byte(text), &raw); err != nil {
		t.Fatal(err)
	}
	job, ok := wf.Jobs["test"]
	if !ok {
		t.Fatalf("%s has no test job:\n%s", ciPath, text)
	}
	job.keys = raw.Jobs["test"]
	return job, text
}

func resolve(t *testing.T, req catalog.Request) catalog.Selection {
	t.Helper()
	res, err := catalog.Default.Resolve(req)
	if err != nil {
		t.Fatal(err)
	}
	return res.Selection
}

// TestCIRunsEveryPartsTests: the generated CI runs go test ./..., whose tests of PostgreSQL,
// Redis, Mailpit, promtool and Jaeger skip without a word (go test prints skips only with -v)
// when what they need is missing, so the CI passed having run none of them. Each part that
// has such tests fills the workflow with what they need: the database a PostgreSQL service
// and TEST_DATABASE_URL, the cache Redis and TEST_REDIS_URL, comms Mailpit, observability
// promtool and Jaeger. A project without them gets none of it, and no empty services: or env:.
func TestCIRunsEveryPartsTests(t *testing.T) {
	installs := map[string][]string{ // part: the steps it adds, in this order
		"cache":         {"Install Redis"},
		"observability": {"Install promtool", "Build Jaeger"},
		"comms":         {"Install Mailpit"},
	}
	tests := []struct {
		name string
		sel  catalog.Selection
	}{
		{"default", resolve(t, catalog.Request{})},
		{"database", resolve(t, catalog.Request{Components: []string{"database"}})},
		{"cache", resolve(t, catalog.Request{Components: []string{"cache"}})},
		{"observability", resolve(t, catalog.Request{Components: []string{"observability"}})},
		{"comms", resolve(t, catalog.Request{Services: []string{"comms"}})},
		{"everything", everything(t)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			job, text := renderedCI(t, tt.sel)
			hasDB, hasCache := tt.sel.Has("database"), tt.sel.Has("cache")

			if _, ok := job.keys["services"]; ok != hasDB {
				t.Errorf("services: present %v, want %v (database selected: %v)\n%s", ok, hasDB, hasDB, text)
			}
			if _, ok := job.keys["env"]; ok != (hasDB || hasCache) {
				t.Errorf("env: present %v, want %v\n%s", ok, hasDB || hasCache, text)
			}
			pg, ok := job.Services["postgres"]
			if ok != hasDB {
				t.Errorf("services.postgres present %v, want %v", ok, hasDB)
			}
			dbURL, ok := job.Env["TEST_DATABASE_URL"]
			if ok != hasDB {
				t.Errorf("env TEST_DATABASE_URL present %v, want %v", ok, hasDB)
			}
			if hasDB && pg.Image != "" && dbURL != "" {
				checkPostgresService(t, pg, dbURL)
			}
			redisURL, ok := job.Env["TEST_REDIS_URL"]
			if ok != hasCache {
				t.Errorf("env TEST_REDIS_URL present %v, want %v", ok, hasCache)
			}
			if hasCache && redisURL != "redis://127.0.0.1:6379/0" {
				t.Errorf("TEST_REDIS_URL = %q, want the Redis Ubuntu's package starts, redis://127.0.0.1:6379/0", redisURL)
			}

			var labels []string
			for _, s := range job.Steps {
				labels = append(labels, s.label())
			}
			// The installs come after the quick checks, so a formatting slip fails before the
			// minutes of building Jaeger, and before the tests that need them.
			want := []string{"actions/checkout@v4", "actions/setup-go@v5", "Tidy", "Format", "Vet"}
			for _, e := range catalog.Default.Entries { // fragments render in catalog order
				if tt.sel.Has(e.Name) {
					want = append(want, installs[e.Name]...)
				}
			}
			want = append(want, "Test", "Build")
			if !slices.Equal(labels, want) {
				t.Errorf("steps are\n  %q\nwant\n  %q", labels, want)
			}
		})
	}
}

// checkPostgresService checks the service container answers at TEST_DATABASE_URL: the same
// password, the port published on the runner, and a health check, so the job's steps start
// once PostgreSQL takes connections.
func checkPostgresService(t *testing.T, pg ciService, dbURL string) {
	t.Helper()
	if !strings.HasPrefix(pg.Image, "postgres:") {
		t.Errorf("services.postgres.image = %q, want postgres:N", pg.Image)
	}
	if !strings.Contains(pg.Options, "--health-cmd pg_isready") {
		t.Errorf("services.postgres.options = %q, want a pg_isready health check", pg.Options)
	}
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatalf("TEST_DATABASE_URL %q: %v", dbURL, err)
	}
	pass, _ := u.User.Password()
	if u.Scheme != "postgres" || u.User.Username() != "postgres" || pass != pg.Env["POSTGRES_PASSWORD"] {
		t.Errorf("TEST_DATABASE_URL %q does not log in as postgres with POSTGRES_PASSWORD %q", dbURL, pg.Env["POSTGRES_PASSWORD"])
	}
	if u.Hostname() != "127.0.0.1" && u.Hostname() != "localhost" {
		t.Errorf("TEST_DATABASE_URL %q: the job runs on the runner, where the service is at 127.0.0.1", dbURL)
	}
	if port := u.Port() + ":5432"; !slices.Contains(pg.Ports, port) {
		t.Errorf("services.postgres.ports = %q, want %q for TEST_DATABASE_URL %q", pg.Ports, port, dbURL)
	}
}

// TestCIInstallsWhatTestsAskFor: a skipped Mailpit or Jaeger test prints its helper's Install
// command; the CI runs that very command, so the two cannot drift apart (a version bumped in
// one place only would leave the CI installing what the tests no longer look for).
func TestCIInstallsWhatTestsAskFor(t *testing.T) {
	job, _ := renderedCI(t, everything(t))
	tests := []struct {
		step, file string
	}{
		{"Install Mailpit", "internal/services/comms/mailpittest/mailpittest.go"},
		{"Build Jaeger", "internal/components/observability/jaegertest/jaegertest.go"},
	}
	for _, tt := range tests {
		t.Run(tt.step, func(t *testing.T) {
			want := installConst(t, tt.file)
			i := slices.IndexFunc(job.Steps, func(s ciStep) bool { return s.Name == tt.step })
			if i < 0 {
				t.Fatalf("the CI has no step %q", tt.step)
			}
			if got := strings.TrimSpace(job.Steps[i].Run); got != want {
				t.Errorf("step %q runs\n  %s\nbut %s's Install is\n  %s", tt.step, got, tt.file, want)
			}
		})
	}
}

// installConst returns the value of the const Install in the reference app's Go file, a string
// literal or a sum of them. The generator cannot import the template's test helpers.
func installConst(t *testing.T, file string) string {
	t.Helper()
	src, err := fs.ReadFile(template.FS, file)
	if err != nil {
		t.Fatal(err)
	}
	f, err := parser.ParseFile(token.NewFileSet(), file, src, 0)
	if err != nil {
		t.Fatal(err)
	}
	var value ast.Expr
	ast.Inspect(f, func(n ast.Node) bool {
		if vs, ok := n.(*ast.ValueSpec); ok {
			for i, name := range vs.Names {
				if name.Name == "Install" && i < len(vs.Values) {
					value = vs.Values[i]
				}
			}
		}
		return value == nil
	})
	if value == nil {
		t.Fatalf("%s declares no const Install", file)
	}
	var eval func(ast.Expr) string
	eval = func(e ast.Expr) string {
		switch e := e.(type) {
		case *ast.BasicLit:
			if s, err := strconv.Unquote(e.Value); err == nil && e.Kind == token.STRING {
				return s
			}
		case *ast.BinaryExpr:
			if e.Op == token.ADD {
				return eval(e.X) + eval(e.Y)
			}
		case *ast.ParenExpr:
			return eval(e.X)
		}
		t.Fatalf("%s: Install is not made of string literals", file)
		return ""
	}
	return eval(value)
}

// TestCIRunIsShell: every run: of the workflow, fragments' included, parses as bash, the
// shell GitHub runs it with: a quote lost in a fragment's YAML fails here, not on a push.
func TestCIRunIsShell(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("needs bash")
	}
	for _, sel := range []catalog.Selection{resolve(t, catalog.Request{}), everything(t)} {
		job, _ := renderedCI(t, sel)
		for _, s := range job.Steps {
			if s.Run == "" {
				continue
			}
			cmd := exec.Command(bash, "-n")
			cmd.Stdin = strings.NewReader(s.Run)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("step %q: bash -n: %v\n%s\n%s", s.label(), err, out, s.Run)
			}
		}
	}
}
