package generate

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/aegisgo/aegis/internal/catalog"
	"github.com/aegisgo/aegis/template"
)

var seed = flag.Uint64("seed", 0, "seed of TestSyntheticCatalogTidy's random selections (0: from the clock)")

func repoRoot(tb testing.TB) string {
	tb.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		tb.Fatal(err)
	}
	return root
}

func needGo(tb testing.TB) {
	tb.Helper()
	if _, err := exec.LookPath("go"); err != nil {
		tb.Skip("needs the go command")
	}
}

// TestModulesUpToDate recomputes the module graph and the package import graph from go.mod,
// go.sum and the module cache and compares them with modules.json, so a change to go.mod or to
// the reference app's imports cannot ship with stale go.mod files. It runs no go mod tidy.
func TestModulesUpToDate(t *testing.T) {
	needGo(t)
	got, err := ComputeModules(context.Background(), repoRoot(t), template.FS)
	if err != nil {
		t.Fatal(err)
	}
	enc, err := EncodeModules(got)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(enc, modulesJSON) {
		fresh, stored := bytes.Split(enc, []byte("\n")), bytes.Split(modulesJSON, []byte("\n"))
		i := 0
		for i < len(fresh) && i < len(stored) && bytes.Equal(fresh[i], stored[i]) {
			i++
		}
		t.Errorf("internal/generate/modules.json is stale (first difference on line %d); run: go generate ./internal/generate", i+1)
	}
}

// renderProject renders a selection with the given module data; with data nil, go.mod and go.sum
// are left out.
func renderProject(tb testing.TB, cat catalog.Catalog, src fs.FS, data *ModuleData, sel catalog.Selection) []File {
	tb.Helper()
	proj, err := Render(Params{Name: "app", Module: "example.com/app", Selection: sel, Catalog: cat, Source: src, Modules: data, SkipModules: data == nil})
	if err != nil {
		tb.Fatal(err)
	}
	return proj.Files
}

// tidyDiff writes a project and returns what `go mod tidy -diff` prints, offline: the module
// cache is the only source of modules.
func tidyDiff(t *testing.T, files []File) string {
	t.Helper()
	dir := t.TempDir()
	for _, f := range files {
		full := filepath.Join(dir, filepath.FromSlash(f.Path))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, f.Data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("go", "mod", "tidy", "-diff")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off", "GOWORK=off", "GOTOOLCHAIN=local")
	out, err := cmd.CombinedOutput()
	if err != nil && len(out) == 0 {
		return err.Error()
	}
	return string(out)
}

// TestEverySelectionTidy checks go.mod and go.sum of every valid selection of the shipped catalog
// against the go command itself.
func TestEverySelectionTidy(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go mod tidy per selection")
	}
	needGo(t)
	data, err := EmbeddedModules()
	if err != nil {
		t.Fatal(err)
	}
	sels := Selections(catalog.Default, template.FS)
	// The check itself must catch a wrong go.sum: one line fewer is a diff.
	t.Run("control", func(t *testing.T) {
		t.Parallel()
		files := renderProject(t, catalog.Default, nil, data, sels[len(sels)-1])
		for i, f := range files {
			if f.Path == "go.sum" {
				lines := bytes.SplitAfter(f.Data, []byte("\n"))
				files[i].Data = bytes.Join(lines[1:], nil)
			}
		}
		if diff := tidyDiff(t, files); diff == "" {
			t.Error("go mod tidy -diff printed nothing for a go.sum missing a line")
		}
	})
	for _, sel := range sels {
		t.Run(SelectionKey(catalog.Default.Owners(sel)), func(t *testing.T) {
			t.Parallel()
			if diff := tidyDiff(t, renderProject(t, catalog.Default, nil, data, sel)); diff != "" {
				t.Errorf("go mod tidy -diff:\n%s", diff)
			}
		})
	}
}

// syntheticImports are packages of modules in the repository's module graph that the reference
// app does not import: the fake owners of the synthetic catalog import them.
var syntheticImports = []string{
	"github.com/google/uuid", "github.com/tidwall/gjson", "github.com/tidwall/sjson", "github.com/spf13/cobra",
	"github.com/spf13/pflag", "golang.org/x/text/cases", "golang.org/x/sys/unix", "golang.org/x/term",
	"golang.org/x/crypto/bcrypt", "golang.org/x/mod/semver", "github.com/creack/pty", "github.com/mattn/go-isatty",
	"github.com/rivo/uniseg", "github.com/dustin/go-humanize", "github.com/robfig/cron/v3", "github.com/jonboulle/clockwork",
	"github.com/vmihailenco/msgpack/v5", "github.com/mitchellh/hashstructure/v2", "github.com/lucasb-eyer/go-colorful",
	"github.com/atotto/clipboard", "github.com/muesli/cancelreader", "github.com/sethvargo/go-retry", "github.com/tmthrgd/go-hex",
	"go.uber.org/atomic", "go.uber.org/multierr", "github.com/puzpuzpuz/xsync/v3", "modernc.org/mathutil",
	"github.com/cespare/xxhash/v2", "github.com/jinzhu/inflection", "github.com/mfridman/interpolate",
	"github.com/ncruces/go-strftime", "golang.org/x/sync/errgroup", "github.com/go-json-experiment/json",
	"github.com/chromedp/chromedp", "charm.land/huh/v2", "github.com/redis/go-redis/v9", "github.com/joho/godotenv",
	"golang.org/x/crypto/argon2",
}

// syntheticCatalog adds n fake services to the shipped catalog, each a package that imports two
// real third-party packages and a test that imports a third; some require the database or the
// previous fake service, so resolution and glue-free requirements are exercised too.
func syntheticCatalog(n int) (catalog.Catalog, fs.FS) {
	cat := catalog.Catalog{Entries: slices.Clone(catalog.Default.Entries), Glue: catalog.Default.Glue}
	for i := range cat.Entries {
		cat.Entries[i].Status = catalog.StatusAvailable
	}
	src := fstest.MapFS{}
	if err := fs.WalkDir(template.FS, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(template.FS, name)
		src[name] = &fstest.MapFile{Data: data}
		return err
	}); err != nil {
		panic(err)
	}
	for i := range n {
		name := fmt.Sprintf("fake%02d", i)
		e := catalog.Entry{Name: name, Kind: catalog.KindService, Category: "synthetic", Status: catalog.StatusAvailable,
			Description: "synthetic owner", Paths: []string{"internal/services/" + name + "/"}}
		if i%3 == 0 {
			e.Requires = append(e.Requires, "database")
		}
		if i%5 == 4 {
			e.Requires = append(e.Requires, fmt.Sprintf("fake%02d", i-1))
		}
		cat.Entries = append(cat.Entries, e)
		a, b, c := syntheticImports[(2*i)%len(syntheticImports)], syntheticImports[(2*i+1)%len(syntheticImports)], syntheticImports[(i+7)%len(syntheticImports)]
		src["internal/services/"+name+"/"+name+".go"] = &fstest.MapFile{Data: fmt.Appendf(nil,
			"// Package %[1]s is a synthetic owner.\npackage %[1]s\n\nimport (\n\t_ %[2]q\n\t_ %[3]q\n)\n", name, a, b)}
		src["internal/services/"+name+"/"+name+"_test.go"] = &fstest.MapFile{Data: fmt.Appendf(nil,
			"package %[1]s\n\nimport _ %[2]q\n", name, c)}
	}
	return cat, src
}

// TestSyntheticCatalogTidy proves the computation on selections the shipped catalog does not
// have: random valid selections of a catalog with 25 more owners, each checked with the go
// command. Replay a failure with: go test ./internal/generate -run SyntheticCatalogTidy -args -seed=N
func TestSyntheticCatalogTidy(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go mod tidy per selection")
	}
	needGo(t)
	cat, src := syntheticCatalog(25)
	start := time.Now()
	data, err := ComputeModules(context.Background(), repoRoot(t), src)
	if err != nil {
		t.Fatal(err)
	}
	enc, err := EncodeModules(data)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("module data of the 25-owner synthetic catalog: %d bytes, computed in %v", len(enc), time.Since(start))

	s := *seed
	if s == 0 {
		s = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (replay: go test ./internal/generate -run SyntheticCatalogTidy -args -seed=%d)", s, s)
	rng := rand.New(rand.NewPCG(s, s))
	var optional []catalog.Entry
	for _, e := range cat.Entries {
		if !e.AlwaysOn && hasFiles(cat, src, e.Name) {
			optional = append(optional, e)
		}
	}
	seen := map[string]bool{}
	for tries := 0; len(seen) < 40 && tries < 1000; tries++ {
		var req catalog.Request
		for _, e := range optional {
			if rng.IntN(3) > 0 {
				continue
			}
			if e.Kind == catalog.KindService {
				req.Services = append(req.Services, e.Name)
			} else {
				req.Components = append(req.Components, e.Name)
			}
		}
		res, err := cat.Resolve(req)
		if err != nil {
			t.Fatal(err)
		}
		key := SelectionKey(cat.Owners(res.Selection))
		if seen[key] {
			continue
		}
		seen[key] = true
		sel := res.Selection
		t.Run(fmt.Sprint(len(seen)), func(t *testing.T) {
			t.Parallel()
			if diff := tidyDiff(t, renderProject(t, cat, src, data, sel)); diff != "" {
				t.Errorf("selection %s: go mod tidy -diff:\n%s", key, diff)
			}
		})
	}
	if len(seen) < 40 {
		t.Fatalf("only %d distinct selections", len(seen))
	}
}

// TestModFilesRules checks the tidy rules ModFiles follows on a small hand-made graph.
func TestModFilesRules(t *testing.T) {
	data := &ModuleData{
		Go: GoVersion,
		Modules: []ModuleInfo{
			{Path: "example.org/a", Version: "v1.2.0", Go: "1.22", Require: []string{"example.org/b@v1.0.0", "example.org/t@v0.9.0"}, Sum: "h1:a", GoModSum: "h1:am"},
			{Path: "example.org/b", Version: "v1.0.0", Go: "1.22", Require: []string{"example.org/old@v1.0.0"}, Sum: "h1:b", GoModSum: "h1:bm"},
			{Path: "example.org/old", Version: "v1.0.0", Require: []string{"example.org/deep@v0.1.0"}, Sum: "h1:o", GoModSum: "h1:om"},
			{Path: "example.org/deep", Version: "v0.1.0", Go: "1.22", GoModSum: "h1:dm"},
			{Path: "example.org/t", Version: "v1.0.0", Go: "1.22", Sum: "h1:t", GoModSum: "h1:tm"},
			{Path: "example.org/u", Version: "v1.0.0", Go: "1.22", Sum: "h1:u", GoModSum: "h1:um"},
		},
		Packages: []PackageInfo{
			{Path: "example.org/a", Module: "example.org/a", Imports: []string{"example.org/b/x"}, TestImports: []string{"example.org/t"}},
			{Path: "example.org/b/x", Module: "example.org/b", Imports: []string{"example.org/old"}, TestImports: []string{"example.org/u"}},
			{Path: "example.org/old", Module: "example.org/old"},
			{Path: "example.org/t", Module: "example.org/t"},
			{Path: "example.org/u", Module: "example.org/u"},
		},
	}
	files := []File{
		{Path: "main.go", Data: []byte("package main\n\nimport _ \"example.org/a\"\nimport _ \"example.com/app/internal/x\"\n")},
		{Path: "internal/x/x.go", Data: []byte("//go:build ignore\n\npackage x\n\nimport _ \"example.org/missing\"\n")},
		{Path: "internal/x/y_windows.go", Data: []byte("package x\n")},
		{Path: "testdata/z.go", Data: []byte("package z\n\nimport _ \"example.org/missing\"\n")},
	}
	gomod, gosum, err := ModFiles(data, "example.com/app", files)
	if err != nil {
		t.Fatal(err)
	}
	// a is imported directly; b and old provide packages in "all"; t (a's test) is required
	// because nothing else in the graph selects v1.0.0; u (b/x's test) is loaded the same way;
	// deep is read below the unpruned old, so only its go.mod hash is kept.
	wantMod := `module example.com/app

go 1.26.0

require example.org/a v1.2.0

require (
	example.org/b v1.0.0 // indirect
	example.org/old v1.0.0 // indirect
	example.org/t v1.0.0 // indirect
	example.org/u v1.0.0 // indirect
)
`
	wantSum := strings.Join([]string{
		"example.org/a v1.2.0 h1:a", "example.org/a v1.2.0/go.mod h1:am",
		"example.org/b v1.0.0 h1:b", "example.org/b v1.0.0/go.mod h1:bm",
		"example.org/deep v0.1.0/go.mod h1:dm",
		"example.org/old v1.0.0 h1:o", "example.org/old v1.0.0/go.mod h1:om",
		"example.org/t v1.0.0 h1:t", "example.org/t v1.0.0/go.mod h1:tm",
		"example.org/u v1.0.0 h1:u", "example.org/u v1.0.0/go.mod h1:um",
	}, "\n") + "\n"
	if string(gomod) != wantMod {
		t.Errorf("go.mod:\n%s\nwant:\n%s", gomod, wantMod)
	}
	if string(gosum) != wantSum {
		t.Errorf("go.sum:\n%s\nwant:\n%s", gosum, wantSum)
	}

	if _, _, err := ModFiles(data, "example.com/app", []File{{Path: "a.go", Data: []byte("package a\n\nimport _ \"example.org/nowhere\"\n")}}); err == nil {
		t.Error("a package missing from the data is not an error")
	}
}

// BenchmarkModFiles measures computing go.mod and go.sum of the largest selection, what init
// does in place of go mod tidy.
func BenchmarkModFiles(b *testing.B) {
	data, err := EmbeddedModules()
	if err != nil {
		b.Fatal(err)
	}
	files := renderProject(b, catalog.Default, nil, nil, everything(b))
	for b.Loop() {
		if _, _, err := ModFiles(data, "example.com/app", files); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkComputeModules measures the module data's regeneration (go generate's work, without
// building the tool) and reports its size, for the shipped catalog and a 25-owner synthetic one.
func BenchmarkComputeModules(b *testing.B) {
	needGo(b)
	_, src := syntheticCatalog(25)
	for _, bc := range []struct {
		name string
		src  fs.FS
	}{{"today", template.FS}, {"synthetic25", src}} {
		b.Run(bc.name, func(b *testing.B) {
			var size int
			for b.Loop() {
				data, err := ComputeModules(context.Background(), repoRoot(b), bc.src)
				if err != nil {
					b.Fatal(err)
				}
				enc, err := EncodeModules(data)
				if err != nil {
					b.Fatal(err)
				}
				size = len(enc)
			}
			b.ReportMetric(float64(size), "data-bytes")
		})
	}
}

// TestRenderUsesModuleData checks that Render computes go.mod and go.sum from Params.Modules and
// the rendered files, with the project's own module path.
func TestRenderUsesModuleData(t *testing.T) {
	data := &ModuleData{
		Go: GoVersion,
		Modules: []ModuleInfo{
			{Path: "github.com/go-chi/chi/v5", Version: "v5.5.0", Go: "1.22", Sum: "h1:a", GoModSum: "h1:c"},
		},
		Packages: []PackageInfo{{Path: "github.com/go-chi/chi/v5", Module: "github.com/go-chi/chi/v5"}},
	}
	got := map[string]string{}
	for _, f := range renderProject(t, testCatalog(), fakeSource(), data, catalog.Selection{Components: []string{"backend", "database", "frontend"}}) {
		got[f.Path] = string(f.Data)
	}
	if want := "module example.com/app\n\ngo 1.26.0\n\nrequire github.com/go-chi/chi/v5 v5.5.0\n"; got["go.mod"] != want {
		t.Errorf("go.mod:\n%s\nwant:\n%s", got["go.mod"], want)
	}
	if want := "github.com/go-chi/chi/v5 v5.5.0 h1:a\ngithub.com/go-chi/chi/v5 v5.5.0/go.mod h1:c\n"; got["go.sum"] != want {
		t.Errorf("go.sum:\n%s\nwant:\n%s", got["go.sum"], want)
	}
}
