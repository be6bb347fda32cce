package generate

import (
	"bytes"
	"cmp"
	"embed"
	"errors"
	"fmt"
	"go/format"
	"io/fs"
	"path"
	"slices"
	"strings"
	"sync"
	"text/template"
	"text/template/parse"

	"github.com/aegisgo/aegis/internal/catalog"
)

//go:embed all:templates
var templatesFS embed.FS

// fragmentsDir is the sub-folder of an owner's folder holding the owner's share of the shared
// files: one file per shared template it adds to, named like that template (README.md.tmpl,
// docker-compose.yml.tmpl, env.example.tmpl, ...), made of {{define "slot"}} blocks. Fragments
// are read by the generator and never copied into a project.
const fragmentsDir = "_fragments"

// sharedTemplates maps each rendered project file to its template under templates/. .env.example
// comes first: the README's configuration table is read from its rendering.
var sharedTemplates = []struct{ path, tmpl string }{
	{refEnvExample, "env.example.tmpl"},
	{"README.md", "README.md.tmpl"},
	{"Makefile", "Makefile.tmpl"},
	{"Dockerfile", "Dockerfile.tmpl"},
	{".dockerignore", "dockerignore.tmpl"},
	{"docker-compose.yml", "docker-compose.yml.tmpl"},
	{".gitignore", "gitignore.tmpl"},
	{".github/workflows/ci.yml", "ci.yml.tmpl"},
	{refSecurity, "security.md.tmpl"},
	{refServiceDoc, "service-layer.md.tmpl"},
}

// sharedTemplate is one parsed shared template and the slots it offers to fragments.
type sharedTemplate struct {
	tmpl  *template.Template
	slots []string
}

// parseTemplates parses every shared template on its own, so each file's slots are known and a
// fragment can be checked against the file it feeds.
var parseTemplates = sync.OnceValues(func() (map[string]sharedTemplate, error) {
	out := map[string]sharedTemplate{}
	for _, s := range sharedTemplates {
		data, err := fs.ReadFile(templatesFS, "templates/"+s.tmpl)
		if err != nil {
			return nil, fmt.Errorf("generate: read template: %w", err)
		}
		t, err := template.New(s.tmpl).Option("missingkey=error").Parse(string(data))
		if err != nil {
			return nil, fmt.Errorf("generate: parse template: %w", err)
		}
		slots, err := slotsOf(t)
		if err != nil {
			return nil, fmt.Errorf("generate: template %s: %w", s.tmpl, err)
		}
		out[s.tmpl] = sharedTemplate{tmpl: t, slots: slots}
	}
	return out, nil
})

// slotsOf lists the slots a template asks fragments for: the literal argument of every
// .Fragments or .Fragment call, in any template the set defines.
func slotsOf(t *template.Template) ([]string, error) {
	var slots []string
	var errs []error
	eachCommand(t, func(tree *parse.Tree, n *parse.CommandNode) {
		if !isFragmentsCall(n.Args[0]) {
			return
		}
		at, _ := tree.ErrorContext(n)
		if len(n.Args) != 2 {
			errs = append(errs, fmt.Errorf("%s: %s takes one slot name", at, n))
		} else if slot, ok := n.Args[1].(*parse.StringNode); !ok {
			errs = append(errs, fmt.Errorf("%s: %s: the slot name must be a literal string", at, n))
		} else if !slices.Contains(slots, slot.Text) {
			slots = append(slots, slot.Text)
		}
	})
	slices.Sort(slots)
	return slots, errors.Join(errs...)
}

// eachCommand calls fn with every command of every action in the templates of t's set,
// parenthesised pipelines included: the code of a template, without its text.
func eachCommand(t *template.Template, fn func(*parse.Tree, *parse.CommandNode)) {
	var tree *parse.Tree
	var walk func(n parse.Node)
	walk = func(n parse.Node) {
		switch n := n.(type) {
		case *parse.ListNode:
			if n != nil {
				for _, c := range n.Nodes {
					walk(c)
				}
			}
		case *parse.ActionNode:
			walk(n.Pipe)
		case *parse.IfNode:
			walk(&n.BranchNode)
		case *parse.RangeNode:
			walk(&n.BranchNode)
		case *parse.WithNode:
			walk(&n.BranchNode)
		case *parse.BranchNode:
			walk(n.Pipe)
			walk(n.List)
			if n.ElseList != nil {
				walk(n.ElseList)
			}
		case *parse.TemplateNode:
			if n.Pipe != nil {
				walk(n.Pipe)
			}
		case *parse.PipeNode:
			if n != nil {
				for _, c := range n.Cmds {
					walk(c)
				}
			}
		case *parse.ChainNode:
			walk(n.Node)
		case *parse.CommandNode:
			fn(tree, n)
			for _, a := range n.Args {
				walk(a)
			}
		}
	}
	for _, d := range t.Templates() {
		if tree = d.Tree; tree != nil {
			walk(tree.Root)
		}
	}
}

func isFragmentsCall(n parse.Node) bool {
	var ident []string
	switch n := n.(type) {
	case *parse.FieldNode:
		ident = n.Ident
	case *parse.VariableNode: // $.Fragments
		ident = n.Ident
	default:
		return false
	}
	last := ident[len(ident)-1]
	return last == "Fragments" || last == "Fragment" || last == "Rows"
}

// fragment is one owner's fragment file for one shared template.
type fragment struct {
	owner, path string
	tmpl        *template.Template
}

// loadFragments reads the fragments of the given owners, grouped by the shared template they
// feed, owners in the order given (catalog order). A fragment for a file that has no shared
// template, a slot its shared template does not offer, or text outside {{define}} is an error:
// each would otherwise be dropped without a word.
func loadFragments(src fs.FS, cat catalog.Catalog, owners []string) (map[string][]fragment, error) {
	shared, err := parseTemplates()
	if err != nil {
		return nil, err
	}
	out := map[string][]fragment{}
	for _, owner := range owners {
		for _, p := range cat.PathsOf(owner) {
			if !strings.HasSuffix(p, "/") {
				continue
			}
			dir := p + fragmentsDir
			entries, err := fs.ReadDir(src, dir)
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("generate: read fragments of %s: %w", owner, err)
			}
			for _, e := range entries {
				f, err := parseFragment(src, owner, dir+"/"+e.Name(), shared)
				if err != nil {
					return nil, err
				}
				out[e.Name()] = append(out[e.Name()], f)
			}
		}
	}
	return out, nil
}

func parseFragment(src fs.FS, owner, name string, shared map[string]sharedTemplate) (fragment, error) {
	file := path.Base(name)
	st, ok := shared[file]
	if !ok {
		var names []string
		for _, s := range sharedTemplates {
			names = append(names, s.tmpl)
		}
		return fragment{}, fmt.Errorf("generate: fragment %s: no shared template is named %s (one of %s)", name, file, strings.Join(names, ", "))
	}
	data, err := fs.ReadFile(src, name)
	if err != nil {
		return fragment{}, fmt.Errorf("generate: read fragment: %w", err)
	}
	t, err := template.New(file).Option("missingkey=error").Parse(string(data))
	if err != nil {
		return fragment{}, fmt.Errorf("generate: fragment %s: %w", name, err)
	}
	if t.Tree != nil && !parse.IsEmptyTree(t.Tree.Root) {
		return fragment{}, fmt.Errorf("generate: fragment %s: text outside {{define \"slot\"}} blocks", name)
	}
	for _, d := range t.Templates() {
		if d.Name() != file && !slices.Contains(st.slots, d.Name()) {
			return fragment{}, fmt.Errorf("generate: fragment %s fills slot %q, which %s does not offer (it offers %s)", name, d.Name(), file, strings.Join(st.slots, ", "))
		}
	}
	return fragment{owner: owner, path: name, tmpl: t}, nil
}

// view is what the shared templates and the fragments see.
type view struct {
	Name string
	// Image is the Docker image name derived from Name (ImageName): every template that names
	// the image uses it, so they agree and it is always a valid reference.
	Image     string
	Module    string
	Version   string
	GoVersion string
	// Components are the optional components selected; Services the services.
	Components []string
	Services   []string
	Entries    []catalog.Entry // selected entries, catalog order
	Settings   []setting
	// fragments are those of the shared template being rendered, selected owners in catalog order.
	fragments []fragment
}

func newView(p Params) view {
	v := view{
		Name: p.Name, Image: ImageName(p.Name), Module: p.Module, Version: Version, GoVersion: GoVersion,
		Components: p.Catalog.Optional(p.Selection), Services: p.Selection.Services,
	}
	for _, e := range p.Catalog.Entries {
		if p.Selection.Has(e.Name) {
			v.Entries = append(v.Entries, e)
		}
	}
	return v
}

// ImageName derives a Docker image name from a project name (letters, digits, '-' and '_',
// starting with a letter). A Docker reference is lowercase and has no trailing or repeated
// separators, which project names may have (MyApi, a_, a___b): letters are lowercased, each run
// of separators becomes its first one, and trailing separators are dropped. A name that is
// already valid stays as it is.
func ImageName(name string) string {
	var b strings.Builder
	sep := false
	for _, r := range strings.ToLower(name) {
		if r == '-' || r == '_' {
			if !sep {
				b.WriteRune(r)
			}
			sep = true
			continue
		}
		sep = false
		b.WriteRune(r)
	}
	return strings.TrimRight(b.String(), "-_")
}

// Pad returns s followed by spaces up to width, and by one space at least, so that a column
// after a name-dependent cell lines up whatever the project's name.
func (v view) Pad(s string, width int) string {
	return s + strings.Repeat(" ", max(1, width-len(s)))
}

// Fragments renders a slot of every selected owner that fills it, in catalog order. Newlines
// around each rendering are trimmed, so a fragment is written as a block of whole lines and the
// shared template decides how blocks join; a fragment that renders to nothing is left out.
func (v view) Fragments(slot string) ([]string, error) {
	var out []string
	for _, f := range v.fragments {
		t := f.tmpl.Lookup(slot)
		if t == nil {
			continue
		}
		var b strings.Builder
		if err := t.Execute(&b, v); err != nil {
			return nil, fmt.Errorf("fragment %s: %w", f.path, err)
		}
		if s := strings.Trim(b.String(), "\n"); s != "" {
			out = append(out, s)
		}
	}
	return out, nil
}

// Rows is Fragments for a slot of table rows kept in order of their first cell rather than by
// owner (the ASVS table of docs/security.md, by requirement id): every line of every fragment,
// sorted by that cell with numbers compared as numbers (V2.1.2 before V14.4.3), rows with the
// same first cell in catalog order.
func (v view) Rows(slot string) ([]string, error) {
	frags, err := v.Fragments(slot)
	if err != nil {
		return nil, err
	}
	var rows []string
	for _, f := range frags {
		for line := range strings.Lines(f) {
			if line = strings.TrimRight(line, "\n"); strings.TrimSpace(line) != "" {
				rows = append(rows, line)
			}
		}
	}
	slices.SortStableFunc(rows, func(a, b string) int { return naturalCompare(firstCell(a), firstCell(b)) })
	return rows, nil
}

// firstCell returns the text of a Markdown table row's first cell.
func firstCell(row string) string {
	cell, _, _ := strings.Cut(strings.TrimPrefix(strings.TrimSpace(row), "|"), "|")
	return strings.TrimSpace(cell)
}

// naturalCompare compares a and b with each run of digits taken as a number.
func naturalCompare(a, b string) int {
	for a != "" && b != "" {
		da, db := digitsPrefix(a), digitsPrefix(b)
		if da != "" && db != "" {
			na, nb := strings.TrimLeft(da, "0"), strings.TrimLeft(db, "0")
			if c := cmp.Or(cmp.Compare(len(na), len(nb)), strings.Compare(na, nb)); c != 0 {
				return c
			}
			a, b = a[len(da):], b[len(db):]
			continue
		}
		if a[0] != b[0] {
			return cmp.Compare(a[0], b[0])
		}
		a, b = a[1:], b[1:]
	}
	return cmp.Compare(len(a), len(b))
}

func digitsPrefix(s string) string {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return s[:i]
}

// Fragment is Fragments for a slot that one owner at most may fill, such as a sentence an owner
// replaces ({{with .Fragment "x"}}{{.}}{{else}}default{{end}}): "" when none fills it, an error
// when two do, since no order of the two would read right.
func (v view) Fragment(slot string) (string, error) {
	var owners []string
	var out string
	for _, f := range v.fragments {
		if f.tmpl.Lookup(slot) == nil {
			continue
		}
		owners = append(owners, f.owner)
		one := v
		one.fragments = []fragment{f}
		frags, err := one.Fragments(slot)
		if err != nil {
			return "", err
		}
		out = strings.Join(frags, "")
	}
	if len(owners) > 1 {
		return "", fmt.Errorf("slot %q takes one fragment, and %s all fill it", slot, strings.Join(owners, ", "))
	}
	return out, nil
}

func renderShared(p Params, files []File) ([]File, error) {
	shared, err := parseTemplates()
	if err != nil {
		return nil, err
	}
	owners := p.Catalog.Owners(p.Selection)
	frags, err := loadFragments(p.Source, p.Catalog, owners)
	if err != nil {
		return nil, err
	}
	v := newView(p)

	out := []File{
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
		v.fragments = frags[s.tmpl]
		if err := shared[s.tmpl].tmpl.Execute(&b, v); err != nil {
			return nil, fmt.Errorf("generate: render %s: %w", s.path, err)
		}
		if s.path == refEnvExample {
			v.Settings = settingsOf(b.Bytes())
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

// settingsOf lists the variables of a rendered .env.example, each with its owner (the section it
// is in: a section starts at a line "# --- owner ---" or "# --- owner: what it is ---") and its
// doc (the comment lines right above it).
func settingsOf(env []byte) []setting {
	var settings []setting
	owner := catalog.Core
	var doc []string
	for line := range strings.Lines(string(env)) {
		trimmed := strings.TrimSpace(line)
		if name, ok := sectionOwner(trimmed); ok {
			owner, doc = name, nil
			continue
		}
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
	return settings
}

// DefaultCell is the README's default column for the setting: "empty" as docs/security.md
// writes it (an empty code span would show two backticks), and for a secret not the
// placeholder of .env.example, which the app does not run with: DotEnv writes a random value
// to the project's .env.
func (s setting) DefaultCell() string {
	switch {
	case s.Default == "":
		return "empty"
	case strings.HasPrefix(s.Default, secretPlaceholder):
		return "random, in `.env`"
	}
	return "`" + s.Default + "`"
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
