package generate

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/module"
)

// GoVersion is the go directive of generated projects.
const GoVersion = "1.26.0"

// ModuleData is what `aegis init` needs to write a selection's go.mod and go.sum without the
// network or the go command: the module graph and the package import graph of the reference
// app's dependencies, at the versions this repository pins. ModFiles derives a selection's files
// from it the way `go mod tidy` does, so the data grows with the packages the catalog imports,
// not with the number of selections. The modgen tool refreshes it (go generate
// ./internal/generate) and TestModulesUpToDate keeps it in sync with go.mod and the imports.
type ModuleData struct {
	// Go is the go directive of generated projects.
	Go string `json:"go"`
	// Modules holds every module whose go.mod a selection's module graph can read: the modules
	// that provide packages (they have a Sum and are at the versions of the repository's go.mod)
	// and, below the ones whose go.mod predates graph pruning, their whole requirement graph.
	Modules []ModuleInfo `json:"modules"`
	// Packages are the non-standard packages the reference app imports, directly or not.
	Packages []PackageInfo `json:"packages"`
}

// ModuleInfo is one module version of the graph.
type ModuleInfo struct {
	Path    string `json:"path"`
	Version string `json:"version"`
	// Go is the go directive of its go.mod; below 1.17 (or absent) its requirements are not
	// pruned and the whole graph beneath it counts.
	Go string `json:"go,omitempty"`
	// Require lists its go.mod requirements as path@version, leaving out modules the data does
	// not hold: no selection's go.mod or go.sum depends on their versions.
	Require []string `json:"require,omitempty"`
	// Sum is the go.sum hash of the module's content, set for the modules that provide packages.
	Sum string `json:"sum,omitempty"`
	// GoModSum is the go.sum hash of its go.mod file.
	GoModSum string `json:"gomodSum"`
}

// PackageInfo is one package of a dependency module.
type PackageInfo struct {
	Path   string `json:"path"`
	Module string `json:"module"`
	// Imports are its non-standard imports under any build tags, test files excluded.
	Imports []string `json:"imports,omitempty"`
	// TestImports are the non-standard imports of its test files, kept for the packages that
	// can be in a selection's "all": tidy loads their tests.
	TestImports []string `json:"testImports,omitempty"`
}

// SelectionKey names a selection: its owners, comma-separated.
func SelectionKey(owners []string) string { return strings.Join(owners, ",") }

//go:embed modules.json
var modulesJSON []byte

var embeddedModules = sync.OnceValues(func() (*ModuleData, error) {
	var d ModuleData
	if err := json.Unmarshal(modulesJSON, &d); err != nil {
		return nil, fmt.Errorf("generate: read module data: %w", err)
	}
	return &d, nil
})

// EmbeddedModules returns the module data compiled into the generator.
func EmbeddedModules() (*ModuleData, error) { return embeddedModules() }

// moduleFiles renders go.mod and go.sum for the project made of files.
func moduleFiles(p Params, files []File) ([]File, error) {
	data := p.Modules
	if data == nil {
		var err error
		if data, err = embeddedModules(); err != nil {
			return nil, err
		}
	}
	gomod, gosum, err := ModFiles(data, p.Module, files)
	if err != nil {
		return nil, err
	}
	return []File{{Path: "go.mod", Data: gomod}, {Path: "go.sum", Data: gosum}}, nil
}

// goMod writes go.mod the way the go command does: direct requirements in one block, indirect
// ones in another.
func goMod(modPath, goVersion string, versions map[string]string, direct map[string]bool) ([]byte, error) {
	f, err := modfile.Parse("go.mod", []byte("module "+modfile.AutoQuote(modPath)+"\n\ngo "+goVersion+"\n"), nil)
	if err != nil {
		return nil, fmt.Errorf("generate: go.mod: %w", err)
	}
	paths := make([]string, 0, len(versions))
	for p := range versions {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	reqs := make([]*modfile.Require, 0, len(paths))
	for _, p := range paths {
		reqs = append(reqs, &modfile.Require{Mod: module.Version{Path: p, Version: versions[p]}, Indirect: !direct[p]})
	}
	f.SetRequireSeparateIndirect(reqs)
	f.Cleanup()
	out, err := f.Format()
	if err != nil {
		return nil, fmt.Errorf("generate: go.mod: %w", err)
	}
	return out, nil
}

// goSum sorts lines the way the go command does (module path, then semver, "/go.mod" after).
func goSum(lines map[string]bool) []byte {
	type entry struct {
		mod  module.Version
		line string
	}
	entries := make([]entry, 0, len(lines))
	for line := range lines {
		fields := strings.Fields(line)
		if len(fields) != 3 {
			continue
		}
		entries = append(entries, entry{module.Version{Path: fields[0], Version: fields[1]}, line})
	}
	slices.SortFunc(entries, func(a, b entry) int {
		if a.mod == b.mod {
			return 0
		}
		if a.mod.Path != b.mod.Path {
			return strings.Compare(a.mod.Path, b.mod.Path)
		}
		mods := []module.Version{a.mod, b.mod}
		module.Sort(mods)
		if mods[0] == a.mod {
			return -1
		}
		return 1
	})
	var b strings.Builder
	for _, e := range entries {
		b.WriteString(e.line)
		b.WriteByte('\n')
	}
	return []byte(b.String())
}

// EncodeModules writes module data as modules.json holds it: one module or package per line,
// so diffs stay readable without indenting every field.
func EncodeModules(d *ModuleData) ([]byte, error) {
	var b bytes.Buffer
	goJSON, err := json.Marshal(d.Go)
	if err != nil {
		return nil, fmt.Errorf("generate: encode module data: %w", err)
	}
	fmt.Fprintf(&b, "{\n\"go\": %s,\n\"modules\": [\n", goJSON)
	for i, m := range d.Modules {
		if err := encodeLine(&b, m, i == len(d.Modules)-1); err != nil {
			return nil, err
		}
	}
	b.WriteString("],\n\"packages\": [\n")
	for i, p := range d.Packages {
		if err := encodeLine(&b, p, i == len(d.Packages)-1); err != nil {
			return nil, err
		}
	}
	b.WriteString("]\n}\n")
	return b.Bytes(), nil
}

func encodeLine(b *bytes.Buffer, v any, last bool) error {
	line, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("generate: encode module data: %w", err)
	}
	b.Write(line)
	if !last {
		b.WriteByte(',')
	}
	b.WriteByte('\n')
	return nil
}
