package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/aegisgo/aegis/internal/catalog"
)

// The test binary doubles as the aegis binary: with AEGIS_TEST_MAIN=1 it runs main, so end-to-end
// tests exercise the real entry point, exit codes and signal handling without a separate build.
func TestMain(m *testing.M) {
	if os.Getenv("AEGIS_TEST_MAIN") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// aegis returns a command running aegis with args.
func aegis(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, os.Args[0], args...)
	cmd.Env = append(os.Environ(), "AEGIS_TEST_MAIN=1")
	return cmd
}

func runAegis(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := aegis(ctx, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		code = exit.ExitCode()
	case err != nil:
		t.Fatal(err)
	}
	return code, out.String(), errb.String()
}

func TestEndToEndInit(t *testing.T) {
	dir := t.TempDir()
	code, out, stderr := runAegis(t, "init", "demo", "--no-interactive", "-o", dir, "--module", "example.com/demo")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, w := range []string{"Generating demo", "Next steps:", "go run ./cmd/demo serve", "go test ./...",
		"Replay: aegis init demo --module example.com/demo --output-dir " + dir + " --no-interactive"} {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
	for _, f := range []string{"go.mod", "go.sum", "cmd/demo/main.go", "README.md", "Makefile", "Dockerfile",
		"docker-compose.yml", ".gitignore", ".env.example", ".github/workflows/ci.yml", ".aegis/manifest.json"} {
		if _, err := os.Stat(filepath.Join(dir, "demo", f)); err != nil {
			t.Errorf("missing %s: %v", f, err)
		}
	}

	// The replay line regenerates the same tree, byte for byte.
	replay := strings.Fields(out[strings.Index(out, "Replay: ")+len("Replay: "):])
	dir2 := t.TempDir()
	for i, a := range replay {
		if a == dir {
			replay[i] = dir2
		}
	}
	if code, _, stderr := runAegis(t, replay[1:]...); code != 0 {
		t.Fatalf("replay exit %d: %s", code, stderr)
	}
	if diff := diffTrees(t, filepath.Join(dir, "demo"), filepath.Join(dir2, "demo")); diff != "" {
		t.Errorf("replay produced a different tree: %s", diff)
	}

	// A second init into the project, even with --force, is refused and changes nothing:
	// over an aegis project it would leave the old selection's files behind; add, remove and
	// update are how a project changes.
	before := snapshot(t, filepath.Join(dir, "demo"))
	for _, force := range []string{"", "--force"} {
		args := []string{"init", "demo", "--no-interactive", "-o", dir, "--module", "example.com/demo"}
		if force != "" {
			args = append(args, force)
		}
		code, _, stderr = runAegis(t, args...)
		if code != 1 || !strings.Contains(stderr, "already an aegis project: run 'aegis add' or 'aegis remove' inside it") {
			t.Errorf("second init %s: exit %d, %s", force, code, stderr)
		}
	}
	unchanged(t, before, filepath.Join(dir, "demo"))
}

func TestEndToEndUsageExit(t *testing.T) {
	code, _, stderr := runAegis(t, "init", "bad name", "--no-interactive")
	if code != 2 || !strings.Contains(stderr, "invalid project name") {
		t.Errorf("exit %d, %s", code, stderr)
	}
	code, _, stderr = runAegis(t, "frobnicate")
	if code != 2 || !strings.Contains(stderr, "unknown command") {
		t.Errorf("exit %d, %s", code, stderr)
	}

	// init in a folder of a project would nest a second project in it: refused, naming the
	// project and the fix, and nothing is written.
	dir := t.TempDir()
	if code, _, stderr := runAegis(t, "init", "outer", "--no-interactive", "-o", dir); code != 0 {
		t.Fatalf("init: exit %d: %s", code, stderr)
	}
	outer := filepath.Join(dir, "outer")
	before := snapshot(t, outer)
	code, _, stderr = runAegis(t, "init", "inner", "--no-interactive", "-o", filepath.Join(outer, "internal"))
	if want := "aegis: cannot create a project inside the aegis project " + outer + ": run 'aegis init' outside it (or pick another --output-dir), or 'aegis add' to extend it"; code != 2 || !strings.HasPrefix(stderr, want) || strings.Count(stderr, "\n") != 1 {
		t.Errorf("nested init: exit %d, stderr %q; want exit 2 and one line starting %q", code, stderr, want)
	}
	unchanged(t, before, outer)
}

// TestEndToEndTerminal drives the interactive form through a pseudo-terminal, as a user would.
func TestEndToEndTerminal(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := aegis(ctx, "init", "ttyapp", "-o", dir)
	cmd.Env = append(cmd.Env, "TERM=xterm-256color")
	tty, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 40, Cols: 120})
	if err != nil {
		t.Fatal(err)
	}
	defer tty.Close()
	screen := &syncBuffer{}
	go io.Copy(screen, tty)

	// Enter answers every form here: no optional component, no service, and the confirmation's
	// default, yes. A form reads keys only once it has set the terminal up, and a key sent before
	// that is lost, so keep pressing Enter until aegis exits; then check what it asked.
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	for exited := false; !exited; {
		select {
		case err = <-done:
			exited = true
		case <-time.After(400 * time.Millisecond):
			tty.Write([]byte("\r"))
		case <-ctx.Done():
			t.Fatalf("aegis did not finish; screen:\n%s", screen.String())
		}
	}
	if err != nil {
		t.Fatalf("aegis exited with %v; screen:\n%s", err, screen.String())
	}
	for _, prompt := range []string{"Components (backend", "Services:", "Generate this project?"} {
		if (prompt == "Generate this project?" || catalogOffers(prompt)) && !strings.Contains(screen.String(), prompt) {
			t.Errorf("aegis did not ask %q; screen:\n%s", prompt, screen.String())
		}
	}
	waitFor(t, screen, "Next steps:")
	if _, err := os.Stat(filepath.Join(dir, "ttyapp", "cmd", "ttyapp", "main.go")); err != nil {
		t.Fatalf("project not generated: %v\n%s", err, screen.String())
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func waitFor(t *testing.T, s *syncBuffer, text string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if strings.Contains(s.String(), text) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %q; screen:\n%s", text, s.String())
}

// diffTrees returns "" when both folders hold the same files with the same bytes and modes.
func diffTrees(t *testing.T, a, b string) string {
	t.Helper()
	read := func(root string) map[string]string {
		m := map[string]string{}
		filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			fi, _ := d.Info()
			rel, _ := filepath.Rel(root, p)
			m[rel] = fi.Mode().String() + "\n" + string(data)
			return nil
		})
		return m
	}
	ma, mb := read(a), read(b)
	var diffs []string
	for p, v := range ma {
		if w, ok := mb[p]; !ok {
			diffs = append(diffs, "only in first: "+p)
		} else if v != w {
			diffs = append(diffs, "differs: "+p)
		}
	}
	for p := range mb {
		if _, ok := ma[p]; !ok {
			diffs = append(diffs, "only in second: "+p)
		}
	}
	return strings.Join(diffs, "; ")
}

// catalogOffers reports whether init asks the question starting with prompt.
func catalogOffers(prompt string) bool {
	kind := catalog.KindComponent
	if strings.HasPrefix(prompt, "Services") {
		kind = catalog.KindService
	}
	for _, e := range catalog.Default.OfKind(kind) {
		if e.Available() && !e.AlwaysOn {
			return true
		}
	}
	return false
}

// TestEndToEndRequirements checks the resolution rules users meet most, with the shipped catalog.
func TestEndToEndRequirements(t *testing.T) {
	dir := t.TempDir()
	code, out, stderr := runAegis(t, "init", "user-app", "--services", "auth", "--no-interactive", "-o", dir)
	if code != 0 || !strings.Contains(out, "+ adding component 'database': service 'auth' requires it") ||
		!strings.Contains(out, "Replay: aegis init user-app --components database --services auth") {
		t.Errorf("--services without --components: exit %d\n%s%s", code, out, stderr)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "user-app", ".env")); err != nil || !strings.Contains(string(b), "AUTH_SECRET=") {
		t.Errorf(".env = %q, %v; want a generated AUTH_SECRET", b, err)
	}

	code, _, stderr = runAegis(t, "init", "strict-app", "--services", "auth", "--components", "cache", "--no-interactive", "-o", dir)
	want := "aegis: service 'auth' requires component 'database'; run: aegis init strict-app --components cache,database --services auth --module strict-app --output-dir " + dir + " --no-interactive\n"
	if code != 1 || stderr != want {
		t.Errorf("missing requirement: exit %d, stderr %q, want %q", code, stderr, want)
	}
	if _, err := os.Stat(filepath.Join(dir, "strict-app")); !os.IsNotExist(err) {
		t.Errorf("a refused init left %s behind", filepath.Join(dir, "strict-app"))
	}
}
