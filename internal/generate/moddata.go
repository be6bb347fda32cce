package generate

import (
	"bytes"
	"context"
	"fmt"
	"go/version"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"

	"github.com/aegisgo/aegis/internal/catalog"
	"github.com/aegisgo/aegis/template"
)

// ComputeModules builds the module data for the reference app src, from the repository's go.mod
// and go.sum at root and the module cache: the repository's pruned module graph and the version
// it selects for each module; every non-standard package the reference app's Go files import
// (any build tags, tests included) and, transitively, what those import; the test imports of
// those packages and their closure, as tidy loads them; and the go.mod of every module a
// selection's graph can read. It needs the go command only to locate the module cache (and to
// download a module missing from it); aegis itself never calls it, the modgen tool and a
// freshness test do.
func ComputeModules(ctx context.Context, root string, src fs.FS) (*ModuleData, error) {
	rootMod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		return nil, fmt.Errorf("generate: %w", err)
	}
	mf, err := modfile.Parse("go.mod", rootMod, nil)
	if err != nil {
		return nil, fmt.Errorf("generate: %w", err)
	}
	rootSum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		return nil, fmt.Errorf("generate: %w", err)
	}
	sums := map[string]string{}
	for line := range bytes.Lines(rootSum) {
		if f := strings.Fields(string(line)); len(f) == 3 {
			sums[f[0]+" "+f[1]] = f[2]
		}
	}
	out, err := exec.CommandContext(ctx, "go", "env", "GOMODCACHE").Output()
	if err != nil {
		return nil, fmt.Errorf("generate: go env GOMODCACHE: %w", err)
	}
	c := &modCache{ctx: ctx, dir: strings.TrimSpace(string(out)), sums: sums, infos: map[modKey]*ModuleInfo{}}

	// The repository's graph decides every version.
	rootReqs := map[string]string{}
	for _, r := range mf.Require {
		rootReqs[r.Mod.Path] = r.Mod.Version
	}
	if err := c.loadGraph(rootReqs); err != nil {
		return nil, err
	}
	repo, err := moduleGraph(c.infos, rootReqs)
	if err != nil {
		return nil, err
	}
	c.versions = repo.selected

	// Every import of the reference app, whatever the owner: the data covers every selection.
	var queue []string
	err = fs.WalkDir(src, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(name, ".go") || !inMainPackage(name) {
			return err
		}
		data, err := fs.ReadFile(src, name)
		if err != nil {
			return err
		}
		imps, ok, err := fileImports(name, data)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if ok {
			queue = append(queue, imps...)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("generate: read reference app: %w", err)
	}
	queue = slices.DeleteFunc(queue, func(p string) bool {
		return p == template.ImportPrefix || strings.HasPrefix(p, template.ImportPrefix+"/")
	})
	pkgs := map[string]*PackageInfo{}
	tests := map[string][]string{}
	closure := func(queue []string, withTests bool) error {
		for len(queue) > 0 {
			p := queue[0]
			queue = queue[1:]
			if standard(p) || pkgs[p] != nil {
				continue
			}
			info, testImports, err := c.scanPackage(p)
			if err != nil {
				return err
			}
			pkgs[p] = info
			if withTests {
				tests[p] = testImports
			}
			queue = append(queue, info.Imports...)
		}
		return nil
	}
	// Packages that can be in a selection's "all", then what their tests load.
	if err := closure(queue, true); err != nil {
		return nil, err
	}
	for _, p := range slices.Sorted(maps.Keys(tests)) {
		pkgs[p].TestImports = tests[p]
		if err := closure(tests[p], false); err != nil {
			return nil, err
		}
	}

	// Modules: those of the packages and the modules at their path prefixes, with content
	// hashes, then the graph beneath any whose go.mod predates pruning.
	data := &ModuleData{Go: GoVersion}
	needed := map[modKey]bool{}
	for p, info := range pkgs {
		needed[modKey{info.Module, c.versions[info.Module]}] = true
		for prefix := p; prefix != "."; prefix = path.Dir(prefix) {
			if v, ok := c.versions[prefix]; ok {
				needed[modKey{prefix, v}] = true
			}
		}
	}
	keep := map[modKey]*ModuleInfo{}
	var walk func(k modKey, unpruned bool) error
	walk = func(k modKey, unpruned bool) error {
		if keep[k] != nil {
			return nil
		}
		if unpruned && c.sums[k.path+" "+k.version+"/go.mod"] == "" {
			// A requirement of an unpruned module that is itself reached only through a pruned
			// one (influxdata/tdigest, which failsafe-go's tests import): the go command never
			// loads its go.mod, which is why the repository's tidy go.sum has no hash for it.
			return nil
		}
		info, err := c.module(k)
		if err != nil {
			return err
		}
		keep[k] = info
		if !unpruned && pruned(info.Go) {
			return nil
		}
		for _, r := range info.Require {
			p, v, _ := strings.Cut(r, "@")
			if err := walk(modKey{p, v}, true); err != nil {
				return err
			}
		}
		return nil
	}
	for _, k := range slices.SortedFunc(maps.Keys(needed), func(a, b modKey) int { return strings.Compare(a.path, b.path) }) {
		if err := walk(k, false); err != nil {
			return nil, err
		}
	}
	inData := map[string]bool{}
	for k := range keep {
		inData[k.path] = true
	}
	for k, info := range keep {
		m := *info
		// No selection's files depend on the version of a module the data does not hold.
		m.Require = slices.DeleteFunc(slices.Clone(m.Require), func(r string) bool {
			p, _, _ := strings.Cut(r, "@")
			return !inData[p]
		})
		if needed[k] {
			if m.Sum = sums[k.path+" "+k.version]; m.Sum == "" {
				return nil, fmt.Errorf("generate: go.sum has no hash for %s@%s; run 'go mod tidy' at the repository root", k.path, k.version)
			}
			if m.Go != "" && version.Compare("go"+m.Go, "go"+GoVersion) > 0 {
				return nil, fmt.Errorf("generate: %s@%s needs go %s, above generated projects' go %s", k.path, k.version, m.Go, GoVersion)
			}
		}
		data.Modules = append(data.Modules, m)
	}
	slices.SortFunc(data.Modules, func(a, b ModuleInfo) int {
		if a.Path != b.Path {
			return strings.Compare(a.Path, b.Path)
		}
		return semver.Compare(a.Version, b.Version)
	})
	for _, p := range slices.Sorted(maps.Keys(pkgs)) {
		data.Packages = append(data.Packages, *pkgs[p])
	}
	return data, nil
}

// modCache reads modules from the module cache.
type modCache struct {
	ctx      context.Context
	dir      string
	sums     map[string]string      // the repository's go.sum: "path version[/go.mod]" -> hash
	infos    map[modKey]*ModuleInfo // go.mod files read so far
	versions map[string]string      // module path -> version the repository's graph selects
}

// module returns the go.mod summary of k.
func (c *modCache) module(k modKey) (*ModuleInfo, error) {
	if info := c.infos[k]; info != nil {
		return info, nil
	}
	m := module.Version{Path: k.path, Version: k.version}
	gomod, err := c.goMod(m)
	if err != nil {
		return nil, err
	}
	f, err := modfile.ParseLax("go.mod", gomod, nil)
	if err != nil {
		return nil, fmt.Errorf("generate: go.mod of %s: %w", m, err)
	}
	info := &ModuleInfo{Path: k.path, Version: k.version, GoModSum: c.sums[k.path+" "+k.version+"/go.mod"]}
	if info.GoModSum == "" {
		return nil, fmt.Errorf("generate: go.sum has no go.mod hash for %s; run 'go mod tidy' at the repository root", m)
	}
	if f.Go != nil {
		info.Go = f.Go.Version
	}
	for _, r := range f.Require {
		info.Require = append(info.Require, r.Mod.Path+"@"+r.Mod.Version)
	}
	c.infos[k] = info
	return info, nil
}

// loadGraph reads the go.mod files of the pruned graph of a main module requiring roots.
func (c *modCache) loadGraph(roots map[string]string) error {
	seen := map[modKey]bool{}
	var visit func(k modKey, unpruned bool) error
	visit = func(k modKey, unpruned bool) error {
		if seen[k] {
			return nil
		}
		seen[k] = true
		info, err := c.module(k)
		if err != nil {
			return err
		}
		if !unpruned && pruned(info.Go) {
			return nil
		}
		for _, r := range info.Require {
			p, v, _ := strings.Cut(r, "@")
			if err := visit(modKey{p, v}, true); err != nil {
				return err
			}
		}
		return nil
	}
	for _, p := range slices.Sorted(maps.Keys(roots)) {
		if err := visit(modKey{p, roots[p]}, false); err != nil {
			return err
		}
	}
	return nil
}

// moduleDir returns the extracted source of the module at path, downloading it if needed.
func (c *modCache) moduleDir(modPath string) (string, error) {
	ep, err := module.EscapePath(modPath)
	if err != nil {
		return "", fmt.Errorf("generate: %w", err)
	}
	ev, err := module.EscapeVersion(c.versions[modPath])
	if err != nil {
		return "", fmt.Errorf("generate: %w", err)
	}
	dir := filepath.Join(c.dir, filepath.FromSlash(ep)+"@"+ev)
	if _, err := os.Stat(dir); os.IsNotExist(err) {
		if err := c.download(modPath + "@" + c.versions[modPath]); err != nil {
			return "", err
		}
	}
	return dir, nil
}

func (c *modCache) download(mod string) error {
	cmd := exec.CommandContext(c.ctx, "go", "mod", "download", mod)
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOTOOLCHAIN=local")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("generate: go mod download %s: %w\n%s", mod, err, out)
	}
	return nil
}

// scanPackage finds the module of the repository's go.mod that provides package p, as the go
// command does (the module whose path is a prefix and whose folder holds Go files), and reads
// its non-test imports.
func (c *modCache) scanPackage(p string) (*PackageInfo, []string, error) {
	for prefix := p; prefix != "."; prefix = path.Dir(prefix) {
		if _, ok := c.versions[prefix]; !ok {
			continue
		}
		root, err := c.moduleDir(prefix)
		if err != nil {
			return nil, nil, err
		}
		dir := filepath.Join(root, filepath.FromSlash(strings.TrimPrefix(strings.TrimPrefix(p, prefix), "/")))
		imps, testImps, found, err := scanDir(dir)
		if err != nil {
			return nil, nil, fmt.Errorf("generate: package %s: %w", p, err)
		}
		if found {
			return &PackageInfo{Path: p, Module: prefix, Imports: imps}, testImps, nil
		}
	}
	return nil, nil, fmt.Errorf("generate: no module of the repository's module graph provides package %s; add it with go get", p)
}

// scanDir reads the non-standard imports of a package folder's Go files, test files apart;
// found is false when the folder holds no Go file.
func scanDir(dir string) (imports, testImports []string, found bool, err error) {
	entries, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return nil, nil, false, nil
	}
	if err != nil {
		return nil, nil, false, err
	}
	set, testSet := map[string]bool{}, map[string]bool{}
	for _, e := range entries {
		name := e.Name()
		if !e.Type().IsRegular() || !strings.HasSuffix(name, ".go") || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") {
			continue
		}
		found = true
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return nil, nil, false, err
		}
		imps, ok, err := fileImports(name, data)
		if err != nil {
			return nil, nil, false, fmt.Errorf("%s: %w", name, err)
		}
		if !ok {
			continue
		}
		to := set
		if strings.HasSuffix(name, "_test.go") {
			to = testSet
		}
		for _, imp := range imps {
			if !standard(imp) {
				to[imp] = true
			}
		}
	}
	return slices.Sorted(maps.Keys(set)), slices.Sorted(maps.Keys(testSet)), found, nil
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
		for i, e := range optional {
			if mask&(1<<i) == 0 {
				continue
			}
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

// goMod returns the go.mod file of m as the module cache keeps it.
func (c *modCache) goMod(m module.Version) ([]byte, error) {
	ep, err := module.EscapePath(m.Path)
	if err != nil {
		return nil, fmt.Errorf("generate: %w", err)
	}
	ev, err := module.EscapeVersion(m.Version)
	if err != nil {
		return nil, fmt.Errorf("generate: %w", err)
	}
	name := filepath.Join(c.dir, "cache", "download", filepath.FromSlash(ep), "@v", ev+".mod")
	data, err := os.ReadFile(name)
	if os.IsNotExist(err) {
		if err := c.download(m.Path + "@" + m.Version); err != nil {
			return nil, err
		}
		data, err = os.ReadFile(name)
	}
	if err != nil {
		return nil, fmt.Errorf("generate: go.mod of %s: %w", m, err)
	}
	return data, nil
}
