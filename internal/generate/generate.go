// Package generate turns a resolved selection into the files of a new project: the reference
// app's files that the selection owns, with the import prefix rewritten to the user's module
// path, plus the few shared files rendered for the selection (go.mod, go.sum, main.go, the
// import files, README, Makefile, Dockerfile, ...).
//
// Render returns the whole project in memory: every file, the manifest, the pristine copies in
// .aegis/base.tar and the recipe of its .env. Writing it is internal/project's job: init, add,
// remove and update all plan against the folder and apply through the same atomic writer.
package generate

import (
	"bytes"
	"fmt"
	"io/fs"
	"path"
	"runtime"
	"slices"
	"strings"

	"golang.org/x/sync/errgroup"

	"github.com/aegisgo/aegis/internal/catalog"
	"github.com/aegisgo/aegis/template"
)

// Version is the generator's version, recorded in every project's manifest.
const Version = "0.1.0"

// Params describe one project.
type Params struct {
	// Name is the project name: the folder and the binary, cmd/<Name>.
	Name string
	// Module is the Go module path; empty means Name.
	Module string
	// Selection must be resolved (catalog.Resolve), always-on components included.
	Selection catalog.Selection
	// Catalog defaults to catalog.Default when it has no entries.
	Catalog catalog.Catalog
	// Source is the reference app; nil means template.FS.
	Source fs.FS
	// Modules is the module graph go.mod and go.sum are computed from; nil means the embedded one.
	Modules *ModuleData
	// SkipModules leaves out go.mod and go.sum.
	SkipModules bool
}

func (p Params) withDefaults() Params {
	if p.Module == "" {
		p.Module = p.Name
	}
	if len(p.Catalog.Entries) == 0 {
		p.Catalog = catalog.Default
	}
	if p.Source == nil {
		p.Source = template.FS
	}
	return p
}

// File is one generated file.
type File struct {
	Path  string // slash-separated, relative to the project root
	Data  []byte
	Mode  fs.FileMode
	Owner string // catalog owner, or "shared" for rendered files
}

// Project is one rendered project: what aegis writes for a name, a module and a selection.
type Project struct {
	// Files holds every generated file sorted by path, ManifestPath and BasePath included. The
	// project's .env is not among them: it is local, and DotEnv derives it from the folder's.
	Files []File
	// Manifest is the content of ManifestPath.
	Manifest Manifest
	// envExample is the rendered .env.example, the list of secrets DotEnv fills in.
	envExample []byte
}

// OwnerShared owns the files rendered for the whole selection.
const OwnerShared = "shared"

// Reference-app files that are rendered per project instead of copied.
const (
	refMain        = "cmd/app/main.go"
	refComponents  = "internal/components/wire_gen.go"
	refServices    = "internal/services/wire_gen.go"
	refEnvExample  = ".env.example"
	refSecurity    = "docs/security.md"
	refServiceDoc  = "docs/service-layer.md"
	componentsRoot = "internal/components"
	servicesRoot   = "internal/services"
)

// binaryPlaceholder stands for the binary's name in the parts' READMEs, which are copied, not
// rendered; the copy puts the project's name in its place.
const binaryPlaceholder = "<app>"

var rendered = []string{refMain, refComponents, refServices, refEnvExample, refSecurity, refServiceDoc}

// Render produces the whole project: its files, sorted by path, with the manifest that records
// them and the base archive that keeps their pristine copies.
func Render(p Params) (*Project, error) {
	p = p.withDefaults()
	owners := p.Catalog.Owners(p.Selection)
	selected := func(owner string) bool { return slices.Contains(owners, owner) }

	var files []File
	err := fs.WalkDir(p.Source, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == fragmentsDir {
			return fs.SkipDir // read by renderShared, never copied
		}
		if d.IsDir() || slices.Contains(rendered, name) || path.Dir(name) == "." && strings.HasSuffix(name, ".go") {
			return nil
		}
		if owner := p.Catalog.OwnerOf(name); selected(owner) {
			files = append(files, File{Path: name, Mode: modeOf(name), Owner: owner})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("generate: read reference app: %w", err)
	}
	// Parsing and formatting Go files is most of the CPU work: spread it over the cores.
	var g errgroup.Group
	g.SetLimit(runtime.GOMAXPROCS(0))
	for i := range files {
		g.Go(func() error {
			f := &files[i]
			data, err := fs.ReadFile(p.Source, f.Path)
			if err != nil {
				return fmt.Errorf("generate: read reference app: %w", err)
			}
			if strings.HasSuffix(f.Path, ".go") {
				if data, err = rewriteImports(f.Path, data, template.ImportPrefix, p.Module); err != nil {
					return fmt.Errorf("generate: %w", err)
				}
			} else if strings.HasSuffix(f.Path, ".md") {
				// A README's Go examples import the app's packages by the app's path, and its
				// commands name the binary <app>: the user runs them as written, so they get the
				// binary's name (`full1 migrate up`, not `<app> migrate up`).
				data = bytes.ReplaceAll(data, []byte(`"`+template.ImportPrefix+"/"), []byte(`"`+p.Module+"/"))
				data = bytes.ReplaceAll(data, []byte(binaryPlaceholder), []byte(p.Name))
			}
			f.Data, f.Path = data, mapPath(f.Path, p.Name)
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}

	shared, err := renderShared(p, files)
	if err != nil {
		return nil, err
	}
	files = append(files, shared...)
	slices.SortFunc(files, func(a, b File) int { return strings.Compare(a.Path, b.Path) })
	proj := &Project{}
	for _, f := range files {
		if f.Path == refEnvExample {
			proj.envExample = f.Data
		}
	}
	// The manifest and the base archive record the files above, never themselves.
	manifest, manifestFile, err := renderManifest(p, files)
	if err != nil {
		return nil, err
	}
	archive, err := BaseArchive(files)
	if err != nil {
		return nil, err
	}
	files = append(files, manifestFile, File{Path: BasePath, Data: archive, Mode: 0o644, Owner: OwnerShared})
	slices.SortFunc(files, func(a, b File) int { return strings.Compare(a.Path, b.Path) })
	proj.Files, proj.Manifest = files, manifest
	return proj, nil
}

// mapPath moves the reference app's cmd/app to cmd/<name>.
func mapPath(name, project string) string {
	if rest, ok := strings.CutPrefix(name, "cmd/app/"); ok {
		return "cmd/" + project + "/" + rest
	}
	return name
}

func modeOf(name string) fs.FileMode {
	if strings.HasSuffix(name, ".sh") {
		return 0o755
	}
	return 0o644
}

// subpackages lists the Go packages directly under root among files, the way the app's wiregen
// tool finds them on disk: immediate sub-folders holding a non-test .go file.
func subpackages(files []File, root string) []string {
	var dirs []string
	for _, f := range files {
		rest, ok := strings.CutPrefix(f.Path, root+"/")
		if !ok || !strings.HasSuffix(rest, ".go") || strings.HasSuffix(rest, "_test.go") {
			continue
		}
		dir, file, ok := strings.Cut(rest, "/")
		if !ok || strings.Contains(file, "/") {
			continue
		}
		if !slices.Contains(dirs, dir) {
			dirs = append(dirs, dir)
		}
	}
	slices.Sort(dirs)
	return dirs
}

// wireFile renders the DO NOT EDIT import file of a folder, byte for byte as wiregen does.
func wireFile(module, root string, pkgs []string) []byte {
	paths := make([]string, len(pkgs))
	for i, p := range pkgs {
		paths[i] = module + "/" + root + "/" + p
	}
	return RenderWire(path.Base(root), paths)
}

// WireFiles are the paths of the DO NOT EDIT import files of the discovery folders.
var WireFiles = []string{refComponents, refServices}

// RenderWire writes a wire_gen.go of package pkg blank-importing paths (sorted, as wiregen
// sorts its folders), byte for byte as wiregen does.
func RenderWire(pkg string, paths []string) []byte {
	var b bytes.Buffer
	b.WriteString("// Code generated by wiregen; DO NOT EDIT.\n// Refresh with: go generate ./...\n\n")
	fmt.Fprintf(&b, "package %s\n", pkg)
	if len(paths) > 0 {
		b.WriteString("\nimport (\n")
		for _, p := range paths {
			fmt.Fprintf(&b, "\t_ %q\n", p)
		}
		b.WriteString(")\n")
	}
	return b.Bytes()
}
