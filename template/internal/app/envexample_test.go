package app_test

// This file is an external test package, as a package that imports every component and
// service (the way cmd/<name> does) should be.

import (
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/aegisgo/aegis/template/internal/command"
	"github.com/aegisgo/aegis/template/internal/config"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"

	// Every component and service registers its settings, as in the binary.
	_ "github.com/aegisgo/aegis/template/internal/components"
	_ "github.com/aegisgo/aegis/template/internal/services"
)

// TestEnvExample keeps .env.example complete: every setting any part of
// the app registers must appear in it. The file sits at the app root, two
// levels above this package (internal/app), in this repository and in
// every generated project alike.
func TestEnvExample(t *testing.T) {
	t.Parallel()
	// Declarations are contributions: building the app's container reports a duplicate owner
	// or a bad sample, as serve would.
	env := &command.Env{Name: "app", Stdout: io.Discard, Stderr: io.Discard, Registry: registry.Default}
	if _, _, err := env.Build(command.RoleNone); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("..", "..", ".env.example")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	declared := map[string]bool{}
	for line := range strings.Lines(string(data)) {
		line = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), "#"))
		if name, _, ok := strings.Cut(line, "="); ok && regexp.MustCompile(`^[A-Z][A-Z0-9_]*$`).MatchString(name) {
			declared[name] = true
		}
	}
	settings := config.Settings(registry.Default)
	if len(settings) == 0 {
		t.Fatal("no settings registered; the blank imports are missing")
	}
	for _, s := range settings {
		if !declared[s.Name] {
			t.Errorf("%s (registered by %s) is missing from %s; add it with its default %q and doc %q", s.Name, s.Owner, path, s.Default, s.Doc)
		}
	}
}

// rateLimit names the settings of the limiters of runtime/ratelimit: a count per client
// address or account.
var rateLimit = regexp.MustCompile(`_(IP|ACCOUNT)_LIMIT$|^DASHBOARD_PASSWORD$`)

// TestRateLimitDocsSayPerInstance: a limit is counted in each process's memory unless its
// limiter shares the cache's Redis, so behind a load balancer n instances may allow n times
// the limit; every such setting's doc (and so .env.example and the README's table) says
// whether it is counted by each instance.
func TestRateLimitDocsSayPerInstance(t *testing.T) {
	t.Parallel()
	for _, s := range config.Settings(registry.Default) {
		if rateLimit.MatchString(s.Name) && !strings.Contains(s.Doc, "each instance") {
			t.Errorf("%s (registered by %s): its doc does not say the limit is counted by each instance: %q", s.Name, s.Owner, s.Doc)
		}
	}
}
