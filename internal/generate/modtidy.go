package generate

import (
	"errors"
	"fmt"
	"go/build/constraint"
	"go/parser"
	"go/token"
	"go/version"
	"path"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/mod/semver"
)

// ModFiles computes the go.mod and go.sum that `go mod tidy` writes for the module modPath made
// of files, from data alone. It follows tidy's rules for a go 1.17+ main module:
//
//   - "all" is the main module's packages, what their files and tests import, and everything
//     those import in turn, under any build tags; tidy also loads the tests of every package in
//     "all" (one level: not the tests of what those tests import);
//   - go.mod requires the modules that provide packages in "all", plus a module that provides a
//     package only to those tests when the pruned graph would select it at a lower version;
//     `// indirect` unless a main-module file imports one of its packages, in a second block;
//   - the module graph is pruned: the go.mod of each required module is read, and the graph
//     beneath a module is followed only when its go.mod predates pruning (go < 1.17);
//   - go.sum keeps the go.mod hash of every go.mod the graph read and of every module a loaded
//     package comes from, and the content hash of the modules that provide loaded packages
//     (and of the required, or for non-required ones the selected, modules at path prefixes).
//
// Versions are those of data, the repository's module graph; MVS over the selection's graph
// must keep them, which holds while the repository's own go.mod is tidy, and is checked.
func ModFiles(data *ModuleData, modPath string, files []File) (gomod, gosum []byte, err error) {
	mods := make(map[modKey]*ModuleInfo, len(data.Modules))
	versionOf := map[string]string{} // the repository's version of each module with a Sum
	for i := range data.Modules {
		m := &data.Modules[i]
		mods[modKey{m.Path, m.Version}] = m
		if m.Sum != "" {
			versionOf[m.Path] = m.Version
		}
	}
	pkgs := make(map[string]*PackageInfo, len(data.Packages))
	for i := range data.Packages {
		pkgs[data.Packages[i].Path] = &data.Packages[i]
	}
	lookup := func(p string) (*PackageInfo, error) {
		info, ok := pkgs[p]
		if !ok {
			return nil, fmt.Errorf("generate: no module data for package %s; run 'go generate ./internal/generate'", p)
		}
		if _, ok := versionOf[info.Module]; !ok {
			return nil, fmt.Errorf("generate: no module data for module %s of package %s", info.Module, p)
		}
		return info, nil
	}

	imports, err := mainImports(modPath, files)
	if err != nil {
		return nil, nil, err
	}
	// "all": the main module's imports and their closure over non-test imports.
	var all []*PackageInfo
	inAll := map[string]bool{}
	queue := slices.Clone(imports)
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		if inAll[p] {
			continue
		}
		inAll[p] = true
		info, err := lookup(p)
		if err != nil {
			return nil, nil, err
		}
		all = append(all, info)
		queue = append(queue, info.Imports...)
	}
	direct := map[string]bool{}
	for _, p := range imports {
		direct[pkgs[p].Module] = true
	}
	roots := map[string]string{}
	for _, info := range all {
		roots[info.Module] = versionOf[info.Module]
	}

	// Packages reached only through the tests of "all", by depth; a module providing one becomes
	// a requirement when the graph of the requirements so far selects less than its version.
	g, err := moduleGraph(mods, roots)
	if err != nil {
		return nil, nil, err
	}
	type node struct {
		pkg  *PackageInfo
		test bool // the test variant of pkg: its edges are pkg's test imports
	}
	var level []node
	queued := map[node]bool{}
	loaded := map[string]*PackageInfo{}
	for _, info := range all {
		n := node{pkg: info}
		level = append(level, n)
		queued[n] = true
	}
	for len(level) > 0 {
		var next []node
		grew := false
		for _, n := range level {
			edges := n.pkg.Imports
			if n.test {
				edges = n.pkg.TestImports
			} else {
				loaded[n.pkg.Path] = n.pkg
				// Only the tests of packages in "all" are loaded.
				if t := (node{pkg: n.pkg, test: true}); inAll[n.pkg.Path] && !queued[t] {
					next = append(next, t)
					queued[t] = true
				}
			}
			for _, p := range edges {
				info, err := lookup(p)
				if err != nil {
					return nil, nil, err
				}
				if d := (node{pkg: info}); !queued[d] {
					next = append(next, d)
					queued[d] = true
				}
			}
			m := n.pkg.Module
			if _, ok := roots[m]; !ok && semver.Compare(g.selected[m], versionOf[m]) < 0 {
				roots[m] = versionOf[m]
				grew = true
			}
		}
		if grew {
			if g, err = moduleGraph(mods, roots); err != nil {
				return nil, nil, err
			}
		}
		level = next
	}
	for p, v := range roots {
		if g.selected[p] != v {
			return nil, nil, fmt.Errorf("generate: the module graph selects %s@%s above the repository's %s; run 'go mod tidy' at the repository root", p, g.selected[p], v)
		}
	}

	gomod, err = goMod(modPath, data.Go, roots, direct)
	if err != nil {
		return nil, nil, err
	}
	sums := map[string]bool{}
	goModSum := func(k modKey) error {
		m, ok := mods[k]
		if !ok {
			return fmt.Errorf("generate: no module data for %s@%s; run 'go generate ./internal/generate'", k.path, k.version)
		}
		sums[k.path+" "+k.version+"/go.mod "+m.GoModSum] = true
		return nil
	}
	zipSum := func(k modKey) error {
		m, ok := mods[k]
		if !ok || m.Sum == "" {
			// The selection's graph reads a go.mod the repository's pruned graph does not (a
			// module that is a requirement here but not there), and it selects a version the
			// repository never downloaded: requiring that version at the root puts it in both.
			return fmt.Errorf("generate: no go.sum hash for %[1]s@%[2]s; run 'go get %[1]s@%[2]s && go mod tidy && go generate ./internal/generate' at the repository root", k.path, k.version)
		}
		sums[k.path+" "+k.version+" "+m.Sum] = true
		return nil
	}
	for k := range g.read {
		if err := goModSum(k); err != nil {
			return nil, nil, err
		}
	}
	for _, info := range loaded {
		if err := goModSum(modKey{info.Module, versionOf[info.Module]}); err != nil {
			return nil, nil, err
		}
		_, isRoot := roots[info.Module]
		for prefix := info.Path; prefix != "."; prefix = path.Dir(prefix) {
			v, ok := roots[prefix]
			if !isRoot {
				v, ok = g.selected[prefix]
			}
			if ok {
				if err := zipSum(modKey{prefix, v}); err != nil {
					return nil, nil, err
				}
			}
		}
	}
	return gomod, goSum(sums), nil
}

type modKey struct{ path, version string }

// modGraph is a pruned module graph: the go.mod files it read and the version MVS selects for
// each module path.
type modGraph struct {
	read     map[modKey]bool
	selected map[string]string
}

// moduleGraph loads the pruned graph of a main module requiring roots: each root's go.mod, and
// below a module whose go.mod predates pruning, every go.mod transitively.
func moduleGraph(mods map[modKey]*ModuleInfo, roots map[string]string) (*modGraph, error) {
	g := &modGraph{read: map[modKey]bool{}, selected: map[string]string{}}
	unprunedSeen := map[modKey]bool{}
	sel := func(p, v string) {
		if cur, ok := g.selected[p]; !ok || semver.Compare(v, cur) > 0 {
			g.selected[p] = v
		}
	}
	var visit func(k modKey, unpruned bool) error
	visit = func(k modKey, unpruned bool) error {
		if unpruned {
			if unprunedSeen[k] {
				return nil
			}
			unprunedSeen[k] = true
		}
		m, ok := mods[k]
		if !ok {
			return fmt.Errorf("generate: no module data for %s@%s; run 'go generate ./internal/generate'", k.path, k.version)
		}
		g.read[k] = true
		next := unpruned || !pruned(m.Go)
		for _, r := range m.Require {
			p, v, _ := strings.Cut(r, "@")
			sel(p, v)
			if next {
				if err := visit(modKey{p, v}, true); err != nil {
					return err
				}
			}
		}
		return nil
	}
	for p, v := range roots {
		sel(p, v)
		if err := visit(modKey{p, v}, false); err != nil {
			return nil, err
		}
	}
	return g, nil
}

// pruned reports whether a go.mod with this go directive supports graph pruning.
func pruned(goVersion string) bool {
	return goVersion != "" && version.Compare("go"+goVersion, "go1.17") >= 0
}

// mainImports returns the sorted non-standard imports of the main module's packages, tests
// included, that lie outside the main module.
func mainImports(modPath string, files []File) ([]string, error) {
	set := map[string]bool{}
	for _, f := range files {
		if !strings.HasSuffix(f.Path, ".go") || !inMainPackage(f.Path) {
			continue
		}
		imps, ok, err := fileImports(f.Path, f.Data)
		if err != nil {
			return nil, fmt.Errorf("generate: %w", err)
		}
		if !ok {
			continue
		}
		for _, imp := range imps {
			if standard(imp) || imp == modPath || strings.HasPrefix(imp, modPath+"/") {
				continue
			}
			set[imp] = true
		}
	}
	out := make([]string, 0, len(set))
	for p := range set {
		out = append(out, p)
	}
	slices.Sort(out)
	return out, nil
}

// inMainPackage reports whether a project file belongs to a package that "./..." (and so tidy)
// matches: folders and files starting with "." or "_", and testdata folders, are left out.
func inMainPackage(name string) bool {
	for _, elem := range strings.Split(name, "/") {
		if strings.HasPrefix(elem, ".") || strings.HasPrefix(elem, "_") || elem == "testdata" {
			return false
		}
	}
	return true
}

// standard reports whether an import path belongs to the standard library (or is cgo's "C"):
// its first element has no dot, as the go command decides.
func standard(p string) bool {
	first, _, _ := strings.Cut(p, "/")
	return !strings.Contains(first, ".")
}

// fileImports returns the imports of one Go file and whether the file counts for tidy, which
// considers every build tag set except "ignore".
func fileImports(name string, src []byte) ([]string, bool, error) {
	f, err := parser.ParseFile(token.NewFileSet(), name, src, parser.ImportsOnly|parser.ParseComments)
	if err != nil {
		return nil, false, fmt.Errorf("parse imports: %w", err)
	}
	var goBuild constraint.Expr
	var plusBuild []constraint.Expr
	for _, g := range f.Comments {
		if g.Pos() >= f.Package {
			break
		}
		for _, c := range g.List {
			switch {
			case constraint.IsGoBuild(c.Text):
				x, err := constraint.Parse(c.Text)
				if err != nil {
					return nil, false, nil
				}
				goBuild = x
			case constraint.IsPlusBuild(c.Text):
				if x, err := constraint.Parse(c.Text); err == nil {
					plusBuild = append(plusBuild, x)
				}
			}
		}
	}
	if goBuild != nil {
		plusBuild = []constraint.Expr{goBuild}
	}
	for _, x := range plusBuild {
		if !anyTags(x, true) {
			return nil, false, nil
		}
	}
	var out []string
	for _, s := range f.Imports {
		p, err := strconv.Unquote(s.Path.Value)
		if err != nil {
			return nil, false, errors.New("parse imports: bad import path " + s.Path.Value)
		}
		out = append(out, p)
	}
	return out, true, nil
}

// anyTags evaluates a build constraint the way the go command does when it gathers every
// possible import: each tag but "ignore" is both present and absent, whichever satisfies it.
func anyTags(x constraint.Expr, prefer bool) bool {
	switch x := x.(type) {
	case *constraint.TagExpr:
		return x.Tag != "ignore" && prefer
	case *constraint.NotExpr:
		return !anyTags(x.X, !prefer)
	case *constraint.AndExpr:
		return anyTags(x.X, prefer) && anyTags(x.Y, prefer)
	case *constraint.OrExpr:
		return anyTags(x.X, prefer) || anyTags(x.Y, prefer)
	}
	return false
}
