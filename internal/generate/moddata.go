package generate

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"

	"golang.org/x/mod/modfile"
	"golang.org/x/sync/errgroup"

	"github.com/aegisgo/aegis/internal/catalog"
)

// ComputeModules runs `go mod tidy` on the project of every valid selection, starting from every
// requirement of the repository's go.mod at root, so versions match the ones the reference app is
// built and tested with. It needs the go command and the module cache (or the proxy); aegis
// itself never calls it, the modgen tool and a freshness test do.
func ComputeModules(ctx context.Context, root string, cat catalog.Catalog, src fs.FS) (*ModuleData, error) {
	rootMod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		return nil, fmt.Errorf("generate: %w", err)
	}
	rootSum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		return nil, fmt.Errorf("generate: %w", err)
	}
	mf, err := modfile.Parse("go.mod", rootMod, nil)
	if err != nil {
		return nil, fmt.Errorf("generate: %w", err)
	}
	var requires strings.Builder
	for _, r := range mf.Require {
		fmt.Fprintf(&requires, "require %s %s\n", r.Mod.Path, r.Mod.Version)
	}

	sels := Selections(cat, src)
	results := make([]tidyResult, len(sels))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(runtime.GOMAXPROCS(0))
	for i, sel := range sels {
		g.Go(func() error {
			res, err := tidy(gctx, cat, src, sel, requires.String(), rootSum)
			if err != nil {
				return fmt.Errorf("generate: modules of %s: %w", SelectionKey(cat.Owners(sel)), err)
			}
			results[i] = res
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}

	// Tables in sorted order keep modules.json stable and its diffs readable.
	reqIndex, sumIndex := map[Requirement]int{}, map[string]int{}
	var reqs []Requirement
	var sums []string
	for _, res := range results {
		for _, r := range res.require {
			if _, ok := reqIndex[r]; !ok {
				reqIndex[r] = 0
				reqs = append(reqs, r)
			}
		}
		for _, l := range res.sum {
			if _, ok := sumIndex[l]; !ok {
				sumIndex[l] = 0
				sums = append(sums, l)
			}
		}
	}
	slices.SortFunc(reqs, func(a, b Requirement) int {
		return strings.Compare(fmt.Sprint(a.Path, " ", a.Version, " ", a.Indirect), fmt.Sprint(b.Path, " ", b.Version, " ", b.Indirect))
	})
	slices.Sort(sums)
	for i, r := range reqs {
		reqIndex[r] = i
	}
	for i, l := range sums {
		sumIndex[l] = i
	}
	data := &ModuleData{Go: GoVersion, Require: reqs, Sum: sums, Selections: map[string]SelectionMod{}}
	for i, sel := range sels {
		var m SelectionMod
		for _, r := range results[i].require {
			m.Require = append(m.Require, reqIndex[r])
		}
		for _, l := range results[i].sum {
			m.Sum = append(m.Sum, sumIndex[l])
		}
		slices.Sort(m.Require)
		slices.Sort(m.Sum)
		data.Selections[SelectionKey(cat.Owners(sel))] = m
	}
	return data, nil
}

// Selections returns every valid selection of the entries that have files in the reference app,
// whatever their status: each subset of optional entries that holds its own requirements.
func Selections(cat catalog.Catalog, src fs.FS) []catalog.Selection {
	open := catalog.Catalog{Entries: slices.Clone(cat.Entries), Glue: cat.Glue}
	for i := range open.Entries {
		open.Entries[i].Status = catalog.StatusAvailable
	}
	var optional []catalog.Entry
	for _, e := range open.Entries {
		if !e.AlwaysOn && hasFiles(cat, src, e.Name) {
			optional = append(optional, e)
		}
	}
	var out []catalog.Selection
	for mask := 0; mask < 1<<len(optional); mask++ {
		var req catalog.Request
		n := 0
		for i, e := range optional {
			if mask&(1<<i) == 0 {
				continue
			}
			n++
			if e.Kind == catalog.KindService {
				req.Services = append(req.Services, e.Name)
			} else {
				req.Components = append(req.Components, e.Name)
			}
		}
		res, err := open.Resolve(req)
		// Only subsets closed under requirements: the others are resolved to one of these.
		if err != nil || len(res.Added) > 0 {
			continue
		}
		out = append(out, res.Selection)
	}
	return out
}

func hasFiles(cat catalog.Catalog, src fs.FS, owner string) bool {
	found := false
	_ = fs.WalkDir(src, ".", func(name string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && cat.OwnerOf(name) == owner {
			found = true
			return fs.SkipAll
		}
		return nil
	})
	return found
}

type tidyResult struct {
	require []Requirement
	sum     []string
}

func tidy(ctx context.Context, cat catalog.Catalog, src fs.FS, sel catalog.Selection, requires string, rootSum []byte) (tidyResult, error) {
	proj, err := Render(Params{Name: "app", Module: "example.com/app", Selection: sel, Catalog: cat, Source: src, SkipModules: true})
	if err != nil {
		return tidyResult{}, err
	}
	files := proj.Files
	dir, err := os.MkdirTemp("", "aegis-modgen-*")
	if err != nil {
		return tidyResult{}, err
	}
	defer os.RemoveAll(dir)
	files = append(files,
		File{Path: "go.mod", Data: []byte("module example.com/app\n\ngo " + GoVersion + "\n\n" + requires)},
		File{Path: "go.sum", Data: rootSum})
	for _, f := range files {
		full := filepath.Join(dir, filepath.FromSlash(f.Path))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return tidyResult{}, err
		}
		if err := os.WriteFile(full, f.Data, 0o644); err != nil {
			return tidyResult{}, err
		}
	}
	cmd := exec.CommandContext(ctx, "go", "mod", "tidy")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod", "GOTOOLCHAIN=local")
	if out, err := cmd.CombinedOutput(); err != nil {
		return tidyResult{}, fmt.Errorf("go mod tidy: %w\n%s", err, out)
	}
	gomod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		return tidyResult{}, err
	}
	f, err := modfile.Parse("go.mod", gomod, nil)
	if err != nil {
		return tidyResult{}, err
	}
	var mods tidyResult
	for _, r := range f.Require {
		mods.require = append(mods.require, Requirement{Path: r.Mod.Path, Version: r.Mod.Version, Indirect: r.Indirect})
	}
	sum, err := os.ReadFile(filepath.Join(dir, "go.sum"))
	if err != nil && !os.IsNotExist(err) {
		return tidyResult{}, err
	}
	for line := range bytes.Lines(sum) {
		if l := strings.TrimSpace(string(line)); l != "" {
			mods.sum = append(mods.sum, l)
		}
	}
	return mods, nil
}
