package generate

import (
	"bytes"
	"embed"
	"fmt"
	"go/format"
	"io/fs"
	"slices"
	"strings"
	"sync"
	"text/template"

	"github.com/aegisgo/aegis/internal/catalog"
)

//go:embed all:templates
var templatesFS embed.FS

// sharedTemplates maps each rendered project file to its template under templates/.
var sharedTemplates = []struct{ path, tmpl string }{
	{"README.md", "README.md.tmpl"},
	{"Makefile", "Makefile.tmpl"},
	{"Dockerfile", "Dockerfile.tmpl"},
	{".dockerignore", "dockerignore.tmpl"},
	{"docker-compose.yml", "docker-compose.yml.tmpl"},
	{".gitignore", "gitignore.tmpl"},
	{".github/workflows/ci.yml", "ci.yml.tmpl"},
}

var parseTemplates = sync.OnceValues(func() (*template.Template, error) {
	return template.New("").Option("missingkey=error").ParseFS(templatesFS, "templates/*.tmpl")
})

// view is what the shared templates see.
type view struct {
	Name      string
	Module    string
	Version   string
	GoVersion string
	// Components are the optional components selected; Services the services.
	Components []string
	Services   []string
	Has        map[string]bool
	Entries    []catalog.Entry // selected entries, catalog order
	Settings   []setting
}

func newView(p Params) view {
	v := view{
		Name: p.Name, Module: p.Module, Version: Version, GoVersion: GoVersion,
		Components: p.Catalog.Optional(p.Selection), Services: p.Selection.Services,
		Has: map[string]bool{},
	}
	// Every catalog name is a key, so a misspelt name in a template is an error, not false.
	for _, e := range p.Catalog.Entries {
		v.Has[e.Name] = p.Selection.Has(e.Name)
		if v.Has[e.Name] {
			v.Entries = append(v.Entries, e)
		}
	}
	return v
}

func renderShared(p Params, files []File) ([]File, error) {
	tmpl, err := parseTemplates()
	if err != nil {
		return nil, fmt.Errorf("generate: parse templates: %w", err)
	}
	owners := p.Catalog.Owners(p.Selection)
	env, settings, err := envExample(p.Source, owners)
	if err != nil {
		return nil, err
	}
	v := newView(p)
	v.Settings = settings

	out := []File{
		{Path: ".env.example", Data: env},
		{Path: componentsRoot + "/wire_gen.go", Data: wireFile(p.Module, componentsRoot, subpackages(files, componentsRoot))},
		{Path: servicesRoot + "/wire_gen.go", Data: wireFile(p.Module, servicesRoot, subpackages(files, servicesRoot))},
	}
	main, err := mainFile(p.Name, p.Module)
	if err != nil {
		return nil, err
	}
	out = append(out, File{Path: "cmd/" + p.Name + "/main.go", Data: main})
	for _, s := range sharedTemplates {
		var b bytes.Buffer
		if err := tmpl.ExecuteTemplate(&b, s.tmpl, v); err != nil {
			return nil, fmt.Errorf("generate: render %s: %w", s.path, err)
		}
		out = append(out, File{Path: s.path, Data: b.Bytes()})
	}
	if !p.SkipModules {
		mods, err := moduleFiles(p, append(slices.Clone(files), out...))
		if err != nil {
			return nil, err
		}
		out = append(out, mods...)
	}
	for i := range out {
		out[i].Mode, out[i].Owner = 0o644, OwnerShared
	}
	return out, nil
}

// mainFile renders cmd/<name>/main.go; the reference app's cmd/app/main.go is its rendering for
// the name "app", which a test checks.
func mainFile(name, module string) ([]byte, error) {
	src := fmt.Sprintf(`// Command %[1]s is the single binary of this app: run it with no arguments for help.
package main

import (
	"os"

	"%[2]s/internal/app"
	_ "%[2]s/internal/components"
	_ "%[2]s/internal/services"
)

func main() { os.Exit(app.Main(%[1]q)) }
`, name, module)
	out, err := format.Source([]byte(src))
	if err != nil {
		return nil, fmt.Errorf("generate: format main.go: %w", err)
	}
	return out, nil
}

// setting is one variable of .env.example, for the README's configuration table.
type setting struct {
	Owner, Name, Default, Doc string
}

// envExample keeps the sections of the reference app's .env.example whose owner is selected. A
// section starts at a line "# --- owner ---" or "# --- owner: what it is ---"; lines before the
// first section are kept.
func envExample(src fs.FS, owners []string) ([]byte, []setting, error) {
	data, err := fs.ReadFile(src, refEnvExample)
	if err != nil {
		return nil, nil, fmt.Errorf("generate: read reference .env.example: %w", err)
	}
	var out bytes.Buffer
	var settings []setting
	keep, owner := true, catalog.Core
	var doc []string
	for line := range strings.Lines(string(data)) {
		trimmed := strings.TrimSpace(line)
		if name, ok := sectionOwner(trimmed); ok {
			owner, keep = name, slices.Contains(owners, name)
			doc = nil
			if keep {
				out.WriteString(line)
			}
			continue
		}
		if !keep {
			continue
		}
		out.WriteString(line)
		switch {
		case strings.HasPrefix(trimmed, "#"):
			doc = append(doc, strings.TrimSpace(strings.TrimPrefix(trimmed, "#")))
		case trimmed == "":
			doc = nil
		default:
			if k, v, ok := strings.Cut(trimmed, "="); ok {
				settings = append(settings, setting{Owner: owner, Name: k, Default: v, Doc: strings.Join(doc, " ")})
			}
			doc = nil
		}
	}
	return out.Bytes(), settings, nil
}

func sectionOwner(line string) (string, bool) {
	rest, ok := strings.CutPrefix(line, "# --- ")
	if !ok {
		return "", false
	}
	name, ok := strings.CutSuffix(rest, " ---")
	name, _, _ = strings.Cut(name, ":") // "# --- backend: the HTTP server ---"
	return strings.TrimSpace(name), ok
}
