package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestDiscoveryInGeneratedProject proves the promise of the service layer in a real project: a
// new file in internal/services is live on the next run with no other edit, and a new
// sub-package is caught by the project's own test until `go generate ./...` wires it.
func TestDiscoveryInGeneratedProject(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a generated project")
	}
	root := t.TempDir()
	if code, _, stderr := runAegis(t, "init", "disco", "--no-interactive", "-o", root, "--module", "example.com/stack"); code != 0 {
		t.Fatalf("init: %s", stderr)
	}
	dir := filepath.Join(root, "disco")
	write := func(rel, src string) {
		t.Helper()
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	goCmd := func(args ...string) (string, error) {
		cmd := exec.Command("go", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOFLAGS=-buildvcs=false", "GOWORK=off")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}

	// 1. One new file in the services package: registered on the next run.
	write("internal/services/greeter.go", `package services

import (
	"context"

	"example.com/stack/internal/runtime/registry"
)

type Greeter struct{}

func NewGreeter(context.Context) (*Greeter, error) { return &Greeter{}, nil }

func init() {
	_ = registry.Provide(registry.Default, NewGreeter, registry.Name("greeter"), registry.Describe("says hello"))
}
`)
	out, err := goCmd("run", "./cmd/disco", "services")
	if err != nil || !strings.Contains(out, "greeter") {
		t.Fatalf("services after adding greeter.go: %v\n%s", err, out)
	}

	// 2. A new sub-package: the project's wiring test names it and the fix.
	write("internal/services/billing/billing.go", "package billing\n")
	out, err = goCmd("test", "./internal/services/")
	if err == nil || !strings.Contains(out, "billing") || !strings.Contains(out, "go generate ./...") {
		t.Fatalf("wiring test with an unwired package: err %v\n%s", err, out)
	}
	if out, err := goCmd("generate", "./..."); err != nil {
		t.Fatalf("go generate: %v\n%s", err, out)
	}
	if out, err := goCmd("test", "./internal/services/"); err != nil {
		t.Fatalf("wiring test after go generate: %v\n%s", err, out)
	}
}
