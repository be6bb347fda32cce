package generate

import (
	"path"
	"strings"
	"testing"

	"github.com/aegisgo/aegis/internal/catalog"
)

// dockerIgnored reports whether .dockerignore's rules keep p (slash-separated, relative to
// the context) out of the build context, as Docker reads them: a pattern is anchored at the
// context's root, matches a path or any folder above it, "!" re-includes, the last match wins.
func dockerIgnored(rules, p string) bool {
	ignored := false
	for line := range strings.Lines(rules) {
		pat := strings.TrimSpace(line)
		if pat == "" || strings.HasPrefix(pat, "#") {
			continue
		}
		neg := strings.HasPrefix(pat, "!")
		pat = strings.TrimPrefix(path.Clean("/"+strings.TrimPrefix(pat, "!")), "/")
		for q := p; q != "." && q != "/"; q = path.Dir(q) {
			if ok, _ := path.Match(pat, q); ok {
				ignored = !neg
				break
			}
		}
	}
	return ignored
}

// TestDockerignore: the Dockerfile's COPY . . must bring every file the go build needs and
// leave out secrets (.env and its variants), local data and build output, and aegis's
// record of the project (.aegis/, mostly the base snapshot: four fifths of a full project's
// context, sent to the engine on every build for nothing).
func TestDockerignore(t *testing.T) {
	sel := catalog.Selection{
		Components: []string{"backend", "frontend", "database", "worker", "scheduler", "cache", "observability"},
		Services:   []string{"auth", "comms", "ai", "analytics"},
	}
	proj, err := Render(Params{Name: "shop", Module: "example.com/shop", Selection: sel, SkipModules: true})
	if err != nil {
		t.Fatal(err)
	}
	rules := renderedFile(t, "shop", sel, ".dockerignore")
	kept := []string{"go.mod", "go.sum", "Dockerfile", ".env.example"}
	for _, f := range proj.Files {
		if strings.HasPrefix(f.Path, "cmd/") || strings.HasPrefix(f.Path, "internal/") {
			kept = append(kept, f.Path)
		}
	}
	for _, p := range kept {
		if dockerIgnored(rules, p) {
			t.Errorf(".dockerignore keeps %s out of the build:\n%s", p, rules)
		}
	}
	for _, p := range []string{
		".env", ".env.local", ".env.production",
		".git/HEAD", ".aegis/base.tar", ".aegis/manifest.json",
		"data/app.db", "data/app.db-wal", "bin/shop", "shop.test", "cover.out", "coverage.html",
	} {
		if !dockerIgnored(rules, p) {
			t.Errorf(".dockerignore lets %s into the build context:\n%s", p, rules)
		}
	}
}
