package generate

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/mod/modfile"

	"github.com/aegisgo/aegis/internal/catalog"
)

// ComputeModules runs `go mod tidy` on the smallest project of each owner, starting from every
// requirement of the repository's go.mod at root, so that versions match the ones the reference
// app is built and tested with. It needs the go command and the module cache (or the proxy);
// aegis itself never calls it, the modgen tool and a freshness test do.
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

	data := &ModuleData{Go: GoVersion, Owners: map[string]OwnerMods{}}
	for _, owner := range cat.AllOwners() {
		sel, ok := ownerSelection(cat, owner, src)
		if !ok {
			continue // nothing of this owner exists yet (a coming-soon entry)
		}
		mods, err := tidyOwner(ctx, cat, src, sel, requires.String(), rootSum)
		if err != nil {
			return nil, fmt.Errorf("generate: modules of %s: %w", owner, err)
		}
		data.Owners[owner] = mods
	}
	return data, nil
}

// ownerSelection is the smallest selection holding owner: the owner and its requirements,
// ignoring status. It reports false when the reference app has no file of the owner.
func ownerSelection(cat catalog.Catalog, owner string, src fs.FS) (catalog.Selection, bool) {
	hasFiles := false
	_ = fs.WalkDir(src, ".", func(name string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && cat.OwnerOf(name) == owner {
			hasFiles = true
			return fs.SkipAll
		}
		return nil
	})
	if !hasFiles && owner != catalog.Core {
		return catalog.Selection{}, false
	}
	open := catalog.Catalog{Entries: slices.Clone(cat.Entries), Glue: cat.Glue}
	for i := range open.Entries {
		open.Entries[i].Status = catalog.StatusAvailable
	}
	var req catalog.Request
	names := strings.Split(owner, "+")
	if owner == catalog.Core {
		names = nil
	}
	for _, n := range names {
		if e, ok := open.Lookup(n); ok && e.Kind == catalog.KindService {
			req.Services = append(req.Services, n)
		} else {
			req.Components = append(req.Components, n)
		}
	}
	res, err := open.Resolve(req)
	if err != nil {
		return catalog.Selection{}, false
	}
	return res.Selection, true
}

func tidyOwner(ctx context.Context, cat catalog.Catalog, src fs.FS, sel catalog.Selection, requires string, rootSum []byte) (OwnerMods, error) {
	files, err := Render(Params{Name: "app", Module: "example.com/app", Selection: sel, Catalog: cat, Source: src, SkipModules: true})
	if err != nil {
		return OwnerMods{}, err
	}
	dir, err := os.MkdirTemp("", "aegis-modgen-*")
	if err != nil {
		return OwnerMods{}, err
	}
	defer os.RemoveAll(dir)
	files = append(files,
		File{Path: "go.mod", Data: []byte("module example.com/app\n\ngo " + GoVersion + "\n\n" + requires)},
		File{Path: "go.sum", Data: rootSum})
	for _, f := range files {
		full := filepath.Join(dir, filepath.FromSlash(f.Path))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return OwnerMods{}, err
		}
		if err := os.WriteFile(full, f.Data, 0o644); err != nil {
			return OwnerMods{}, err
		}
	}
	cmd := exec.CommandContext(ctx, "go", "mod", "tidy")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod", "GOTOOLCHAIN=local")
	if out, err := cmd.CombinedOutput(); err != nil {
		return OwnerMods{}, fmt.Errorf("go mod tidy: %w\n%s", err, out)
	}
	gomod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		return OwnerMods{}, err
	}
	f, err := modfile.Parse("go.mod", gomod, nil)
	if err != nil {
		return OwnerMods{}, err
	}
	var mods OwnerMods
	for _, r := range f.Require {
		mods.Require = append(mods.Require, Requirement{Path: r.Mod.Path, Version: r.Mod.Version, Indirect: r.Indirect})
	}
	sum, err := os.ReadFile(filepath.Join(dir, "go.sum"))
	if err != nil && !os.IsNotExist(err) {
		return OwnerMods{}, err
	}
	for line := range bytes.Lines(sum) {
		if l := strings.TrimSpace(string(line)); l != "" {
			mods.Sum = append(mods.Sum, l)
		}
	}
	return mods, nil
}
