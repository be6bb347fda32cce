package generate

import (
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

// ModuleData records, for every valid selection, what `go mod tidy` writes for its project at
// the versions this repository pins, so `aegis init` needs neither the network nor the go
// command. Per-selection data is exact where a union of per-owner data is not (tidy keeps
// version pins that depend on the whole combination). Requirements and go.sum lines are kept once
// in tables and referenced by index. The modgen tool refreshes it (go generate
// ./internal/generate) and TestModulesUpToDate keeps it in sync with go.mod and the imports.
type ModuleData struct {
	Go         string                  `json:"go"`
	Require    []Requirement           `json:"require"`
	Sum        []string                `json:"sum"`
	Selections map[string]SelectionMod `json:"selections"`
}

// SelectionMod is one selection's tidy result, as indexes into ModuleData's tables.
type SelectionMod struct {
	Require []int `json:"require"`
	Sum     []int `json:"sum"`
}

// Requirement is one require line of go.mod.
type Requirement struct {
	Path     string `json:"path"`
	Version  string `json:"version"`
	Indirect bool   `json:"indirect,omitempty"`
}

// SelectionKey names a selection in ModuleData: its owners, comma-separated.
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

func moduleFiles(p Params, owners []string) ([]File, error) {
	data := p.Modules
	if data == nil {
		var err error
		if data, err = embeddedModules(); err != nil {
			return nil, err
		}
	}
	key := SelectionKey(owners)
	sel, ok := data.Selections[key]
	if !ok {
		return nil, fmt.Errorf("generate: no module data for the selection %s; run 'go generate ./internal/generate'", key)
	}
	versions := map[string]string{}
	direct := map[string]bool{}
	for _, i := range sel.Require {
		r := data.Require[i]
		versions[r.Path] = r.Version
		direct[r.Path] = !r.Indirect
	}
	sums := make(map[string]bool, len(sel.Sum))
	for _, i := range sel.Sum {
		sums[data.Sum[i]] = true
	}
	gomod, err := goMod(p.Module, data.Go, versions, direct)
	if err != nil {
		return nil, err
	}
	return []File{{Path: "go.mod", Data: gomod}, {Path: "go.sum", Data: goSum(sums)}}, nil
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
