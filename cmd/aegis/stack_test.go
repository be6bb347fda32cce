package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	neturl "net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/aegisgo/aegis/internal/catalog"
)

// stack is one selection of the stack matrix.
type stack struct {
	name string
	sel  catalog.Selection
}

// coveringStacks is the matrix: the base app, each available component with its requirements,
// each available service with its requirements, each glue's owners with theirs, and everything
// available at once.
func coveringStacks(c catalog.Catalog) []stack {
	var stacks []stack
	add := func(name string, req catalog.Request) {
		res, err := c.Resolve(req)
		if err != nil {
			panic(fmt.Sprintf("stack %s: %v", name, err)) // a catalog bug, caught on the first run
		}
		for _, s := range stacks {
			if s.sel.Equal(res.Selection) {
				return
			}
		}
		stacks = append(stacks, stack{name, res.Selection})
	}
	add("base", catalog.Request{})
	var all catalog.Request
	for _, e := range c.Entries {
		if !e.Available() || e.AlwaysOn {
			continue
		}
		if e.Kind == catalog.KindComponent {
			add(e.Name, catalog.Request{Components: []string{e.Name}})
			all.Components = append(all.Components, e.Name)
		} else {
			add(e.Name, catalog.Request{Services: []string{e.Name}})
			all.Services = append(all.Services, e.Name)
		}
	}
	// Each glue with its owners and their requirements only, so that glue is built and tested
	// without the other parts "everything" brings (a glue that leans on a third part fails here).
	kinds := map[string]catalog.Kind{}
	for _, e := range c.Entries {
		if e.Available() {
			kinds[e.Name] = e.Kind
		}
	}
	for _, g := range c.Glue {
		var req catalog.Request
		ok := true
		for _, o := range g.Owners {
			switch kind, found := kinds[o]; {
			case !found:
				ok = false
			case kind == catalog.KindComponent:
				req.Components = append(req.Components, o)
			default:
				req.Services = append(req.Services, o)
			}
		}
		if ok {
			add(g.Name(), req)
		}
	}
	add("everything", all)
	return stacks
}

// TestStackMatrix generates every covering stack and proves it is a product: it builds, vets,
// is gofmt-clean and tidy, passes its own tests, starts and reports ready.
func TestStackMatrix(t *testing.T) {
	if testing.Short() {
		t.Skip("the stack matrix builds whole projects; run without -short")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatal("the stack matrix needs the go command on PATH")
	}
	// Every stack is generated in turn into the same folder with the same module path, so a
	// package that is the same in two stacks compiles once, and its tests, when their binary,
	// the environment they read and the project files they open are unchanged, run once (go
	// test's own cache rules; regenerated files are new to it). Compiling and testing each
	// stack from scratch took about 2.5 times as long. The folder is new for each run of the
	// matrix, so no test result outlives it.
	root := t.TempDir()
	dir := filepath.Join(root, "app")
	for _, s := range coveringStacks(catalog.Default) {
		t.Run(s.name, func(t *testing.T) {
			if err := os.RemoveAll(dir); err != nil {
				t.Fatal(err)
			}
			args := []string{"init", "app", "--no-interactive", "-o", root, "--module", "example.com/stack"}
			if opt := catalog.Default.Optional(s.sel); len(opt) > 0 {
				args = append(args, "--components", strings.Join(opt, ","))
			}
			if len(s.sel.Services) > 0 {
				args = append(args, "--services", strings.Join(s.sel.Services, ","))
			}
			if code, _, stderr := runAegis(t, args...); code != 0 {
				t.Fatalf("aegis %s: exit %d: %s", strings.Join(args, " "), code, stderr)
			}
			goRun := func(args ...string) string {
				t.Helper()
				cmd := exec.Command(goBin, args...)
				cmd.Dir = dir
				cmd.Env = append(os.Environ(), "GOFLAGS=-buildvcs=false", "GOWORK=off")
				out, err := cmd.CombinedOutput()
				if err != nil {
					t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
				}
				return string(out)
			}
			goRun("build", "./...")
			goRun("vet", "./...")
			if files := gofmtList(t, dir); files != "" {
				t.Fatalf("gofmt -l lists:\n%s", files)
			}
			goRun("mod", "tidy", "-diff")
			tested, cached := 0, 0
			for line := range strings.Lines(goRun("test", "./...")) {
				if strings.HasPrefix(line, "ok ") {
					tested++
					if strings.Contains(line, "(cached)") {
						cached++
					}
				}
			}
			t.Logf("go test: %d packages passed, %d of them unchanged since an earlier stack (cached)", tested, cached)
			bin := filepath.Join(dir, "bin", "app")
			goRun("build", "-o", bin, "./cmd/app")
			overview := startAndProbe(t, bin, dir) // embedded defaults: SQLite, in-memory cache
			// Each panel comes with its owner and is gone without it.
			for owner, link := range map[string]string{"worker": `href="/dashboard/panels/jobs"`, "scheduler": `href="/dashboard/panels/scheduler"`, "auth": `href="/dashboard/panels/users"`} {
				if got := strings.Contains(overview, link); got != s.sel.Has(owner) {
					t.Errorf("the dashboard links %s: %v, want %v (%s selected: %v)", link, got, s.sel.Has(owner), owner, s.sel.Has(owner))
				}
			}
			if s.sel.Has("database") {
				if url := os.Getenv("TEST_DATABASE_URL"); url != "" {
					startAndProbe(t, bin, dir, "DATABASE_URL="+freshPostgres(t, url))
				} else {
					t.Log("TEST_DATABASE_URL is unset: the PostgreSQL start-up probe did not run")
				}
			}
			if s.sel.Has("cache") {
				if url := os.Getenv("TEST_REDIS_URL"); url != "" {
					startAndProbe(t, bin, dir, "CACHE_URL="+url)
				}
			}
		})
	}
}

func gofmtList(t *testing.T, dir string) string {
	t.Helper()
	gofmt := filepath.Join(runtimeGOROOT(t), "bin", "gofmt")
	out, err := exec.Command(gofmt, "-l", dir).CombinedOutput()
	if err != nil {
		t.Fatalf("gofmt: %v\n%s", err, out)
	}
	return strings.TrimSpace(string(out))
}

func runtimeGOROOT(t *testing.T) string {
	out, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(out))
}

// startAndProbe runs `app serve` on a free port, waits for /health/ready, loads the dashboard's
// overview and stops the app with SIGTERM, expecting a clean exit. It returns the overview.
func startAndProbe(t *testing.T, bin, dir string, env ...string) string {
	t.Helper()
	port := freePort(t)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	env = append([]string{"HOST=127.0.0.1", fmt.Sprintf("PORT=%d", port)}, env...)
	stop := startServe(t, bin, dir, env, base)
	var overview string
	resp, err := http.Get(base + "/")
	if err == nil {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		overview = string(b)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET / = %d, want the dashboard: %s", resp.StatusCode, b)
		}
	} else {
		t.Errorf("GET /: %v", err)
	}
	if out, err := stop(); err != nil {
		t.Fatalf("serve exited with %v after SIGTERM; output:\n%s", err, out)
	}
	return overview
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func TestCoveringStacks(t *testing.T) {
	c := catalog.Catalog{Entries: slices.Clone(catalog.Default.Entries), Glue: catalog.Default.Glue}
	for i := range c.Entries {
		c.Entries[i].Status = catalog.StatusAvailable
	}
	var names []string
	for _, s := range coveringStacks(c) {
		names = append(names, s.name)
	}
	// cache alone, database alone, ...; services dedupe against equal selections.
	for _, want := range []string{"base", "database", "worker", "scheduler", "cache", "auth", "ai", "comms", "auth+comms", "analytics+cache", "everything"} {
		if !slices.Contains(names, want) {
			t.Errorf("covering stacks %v lack %s", names, want)
		}
	}
}

// freshPostgres creates an empty database on the server of baseURL, dropped when the test ends,
// and returns its URL.
func freshPostgres(t *testing.T, baseURL string) string {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, baseURL)
	if err != nil {
		t.Fatalf("connect to TEST_DATABASE_URL: %v", err)
	}
	defer conn.Close(ctx)
	name := fmt.Sprintf("aegis_stack_%d_%d", os.Getpid(), time.Now().UnixNano())
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(ctx, baseURL)
		if err == nil {
			c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
			c.Close(ctx)
		}
	})
	u, err := neturl.Parse(baseURL)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}
