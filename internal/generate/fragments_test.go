package generate

import (
	"io/fs"
	"maps"
	"path"
	"regexp"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"text/template/parse"

	"github.com/aegisgo/aegis/internal/catalog"
	"github.com/aegisgo/aegis/template"
)

// TestSharedTemplatesNameNoOwner keeps the shared templates free of owners: no action of theirs
// names a catalog entry or glue (no field like .Has.auth, no string like "cache"), so whatever
// an owner adds to a shared file comes from its fragments and a new owner edits no template here.
func TestSharedTemplatesNameNoOwner(t *testing.T) {
	shared, err := parseTemplates()
	if err != nil {
		t.Fatal(err)
	}
	var owners []string
	for _, o := range catalog.Default.AllOwners() {
		if o != catalog.Core {
			owners = append(owners, strings.Split(o, "+")...)
		}
	}
	word := regexp.MustCompile(`[A-Za-z0-9_]+`)
	for _, s := range sharedTemplates {
		eachCommand(shared[s.tmpl].tmpl, func(tree *parse.Tree, n *parse.CommandNode) {
			var names []string
			for _, a := range n.Args {
				switch a := a.(type) {
				case *parse.FieldNode:
					names = append(names, a.Ident...)
				case *parse.VariableNode:
					names = append(names, a.Ident...)
				case *parse.ChainNode:
					names = append(names, a.Field...)
				case *parse.IdentifierNode:
					names = append(names, a.Ident)
				case *parse.StringNode:
					names = append(names, word.FindAllString(a.Text, -1)...)
				}
			}
			for _, name := range names {
				at, _ := tree.ErrorContext(n)
				switch {
				case name == "Has":
					t.Errorf("%s: %s switches on owners; each owner's share belongs in its %s/%s", at, n, fragmentsDir, s.tmpl)
				case slices.Contains(owners, strings.ToLower(name)):
					t.Errorf("%s: %s names the owner %q; move what it adds into that owner's %s/%s", at, n, name, fragmentsDir, s.tmpl)
				}
			}
		})
	}
}

// fragmentSource is fakeSource with fragments for database and auth.
func fragmentSource(extra map[string]string) fstest.MapFS {
	src := fakeSource()
	files := map[string]string{
		"internal/components/database/_fragments/docker-compose.yml.tmpl": `
{{define "services"}}
  db:
    image: db:1
{{end}}
{{define "volumes"}}
  db-data:
{{end}}
`,
		"internal/components/database/_fragments/Makefile.tmpl": `{{define "targets"}}
.PHONY: db
db: ## Open a database shell for {{.Name}}
	go run ./cmd/$(APP) db
{{end}}`,
		"internal/components/database/_fragments/README.md.tmpl": `{{define "commands"}}
{{.Name}} db                               # a shell
{{end}}
{{define "configure"}}{{/* renders to nothing: left out */}}{{end}}`,
		"internal/services/auth/_fragments/README.md.tmpl": `{{/* a comment outside define is allowed */}}
{{define "commands"}}
{{.Name}} users                            # accounts
{{end}}
{{define "dashboard-login"}}a login{{end}}`,
		"internal/services/auth/_fragments/docker-compose.yml.tmpl": `{{define "services"}}
  mail:
    image: mail:1
{{end}}`,
		"internal/services/auth/_fragments/gitignore.tmpl": `{{define "ignore"}}
/keys/
{{end}}`,
	}
	maps.Copy(files, extra)
	for name, data := range files {
		src[name] = &fstest.MapFile{Data: []byte(data)}
	}
	return src
}

func TestFragments(t *testing.T) {
	dbAuth := catalog.Selection{Components: []string{"backend", "database", "frontend"}, Services: []string{"auth"}}
	tests := []struct {
		name    string
		extra   map[string]string
		sel     catalog.Selection
		want    map[string][]string // file: pieces that must appear in this order
		wantNot map[string][]string
		wantErr string
	}{
		{
			name: "selected owners in catalog order",
			sel:  dbAuth,
			want: map[string][]string{
				"docker-compose.yml": {"    restart: unless-stopped\n\n  db:\n    image: db:1\n\n  mail:\n    image: mail:1\n\nvolumes:\n  db-data:\n"},
				"Makefile":           {"\tdocker build -t $(APP):$(VERSION) .\n\n.PHONY: db\ndb: ## Open a database shell for shop\n"},
				"README.md":          {"it asks for a login; every", "shop version\nshop db                               # a shell\nshop users                            # accounts\n```", "logs switch to JSON.\n\n## Add your own"},
				".gitignore":         {".DS_Store\n\n/keys/\n"},
			},
		},
		{
			name:    "unselected owners add nothing",
			sel:     catalog.Selection{Components: []string{"backend", "frontend"}},
			want:    map[string][]string{"docker-compose.yml": {"    restart: unless-stopped\n"}, "README.md": {"shop version\n```", "`DASHBOARD_USERNAME` and `DASHBOARD_PASSWORD`"}},
			wantNot: map[string][]string{"docker-compose.yml": {"db:", "mail:", "volumes:"}, "Makefile": {"db:"}, ".gitignore": {"/keys/"}},
		},
		{
			name:    "slot the shared template does not offer",
			extra:   map[string]string{"internal/components/database/_fragments/README.md.tmpl": `{{define "comands"}}x{{end}}`},
			sel:     dbAuth,
			wantErr: `internal/components/database/_fragments/README.md.tmpl fills slot "comands", which README.md.tmpl does not offer`,
		},
		{
			name:    "fragment of a file with no shared template",
			extra:   map[string]string{"internal/services/auth/_fragments/Procfile.tmpl": `{{define "web"}}x{{end}}`},
			sel:     dbAuth,
			wantErr: "fragment internal/services/auth/_fragments/Procfile.tmpl: no shared template is named Procfile.tmpl",
		},
		{
			name:    "text outside define",
			extra:   map[string]string{"internal/services/auth/_fragments/dockerignore.tmpl": "keys/\n"},
			sel:     dbAuth,
			wantErr: `internal/services/auth/_fragments/dockerignore.tmpl: text outside {{define "slot"}} blocks`,
		},
		{
			name:    "two owners fill a one-fragment slot",
			extra:   map[string]string{"internal/components/database/_fragments/README.md.tmpl": `{{define "dashboard-login"}}b{{end}}`},
			sel:     dbAuth,
			wantErr: `slot "dashboard-login" takes one fragment, and database, auth all fill it`,
		},
		{
			name:    "fragment that fails to render",
			extra:   map[string]string{"internal/services/auth/_fragments/gitignore.tmpl": `{{define "ignore"}}{{.Nope}}{{end}}`},
			sel:     dbAuth,
			wantErr: "render .gitignore",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			proj, err := Render(Params{Name: "shop", Module: "example.com/shop", Selection: tt.sel, Catalog: testCatalog(), Source: fragmentSource(tt.extra), SkipModules: true})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			for _, f := range proj.Files {
				if strings.Contains(f.Path, fragmentsDir) {
					t.Errorf("project has %s: fragments are never copied", f.Path)
				}
				got[f.Path] = string(f.Data)
			}
			for file, pieces := range tt.want {
				rest := got[file]
				for _, p := range pieces {
					i := strings.Index(rest, p)
					if i < 0 {
						t.Errorf("%s lacks, in this order, %q:\n%s", file, p, got[file])
						break
					}
					rest = rest[i+len(p):]
				}
			}
			for file, pieces := range tt.wantNot {
				for _, p := range pieces {
					if strings.Contains(got[file], p) {
						t.Errorf("%s has %q:\n%s", file, p, got[file])
					}
				}
			}
		})
	}
}

// TestFragmentsOfReferenceApp checks every fragment of the reference app, selected or not: each
// parses and fills only slots its shared template offers, and each _fragments folder sits right
// in an owner's folder, where the generator looks (anywhere else it would be silently ignored).
func TestFragmentsOfReferenceApp(t *testing.T) {
	frags, err := loadFragments(template.FS, catalog.Default, catalog.Default.AllOwners())
	if err != nil {
		t.Fatal(err)
	}
	if len(frags) == 0 {
		t.Fatal("the reference app has no fragments")
	}
	var folders []string
	for _, o := range catalog.Default.AllOwners() {
		for _, p := range catalog.Default.PathsOf(o) {
			if strings.HasSuffix(p, "/") {
				folders = append(folders, p+fragmentsDir)
			}
		}
	}
	err = fs.WalkDir(template.FS, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path.Base(name) == fragmentsDir && !slices.Contains(folders, name) {
			t.Errorf("%s is not the %s folder of an owner's folder (%s): the generator never reads it", name, fragmentsDir, strings.Join(folders, ", "))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Every slot an owner fills renders something for the full selection.
	v := newView(Params{Name: "app", Module: template.ImportPrefix, Catalog: catalog.Default})
	for file, fs := range frags {
		for _, f := range fs {
			for _, d := range f.tmpl.Templates() {
				if d.Name() == file {
					continue
				}
				v.fragments = []fragment{f}
				if out, err := v.Fragments(d.Name()); err != nil || len(out) == 0 {
					t.Errorf("%s: slot %q renders %q, %v; want text", f.path, d.Name(), out, err)
				}
			}
		}
	}
}

// TestGlueFragments checks that glue of three owners adds its fragments, and its files, only
// when all three are selected, after the entries' fragments.
func TestGlueFragments(t *testing.T) {
	cat := testCatalog()
	cat.Glue = []catalog.Glue{{Owners: []string{"auth", "cache", "database"}, Paths: []string{"internal/services/authcache/"}}}
	src := fragmentSource(map[string]string{
		"internal/services/authcache/authcache.go":              "package authcache\n",
		"internal/services/authcache/_fragments/README.md.tmpl": "{{define \"commands\"}}\n{{.Name}} sessions flush\n{{end}}\n",
	})
	tests := []struct {
		name     string
		sel      catalog.Selection
		wantGlue bool
	}{
		{"all three", catalog.Selection{Components: []string{"backend", "cache", "database", "frontend"}, Services: []string{"auth"}}, true},
		{"two of three", catalog.Selection{Components: []string{"backend", "database", "frontend"}, Services: []string{"auth"}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			proj, err := Render(Params{Name: "shop", Module: "example.com/shop", Selection: tt.sel, Catalog: cat, Source: src, SkipModules: true})
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]File{}
			for _, f := range proj.Files {
				got[f.Path] = f
			}
			readme := string(got["README.md"].Data)
			hasCommand := strings.Contains(readme, "shop users                            # accounts\nshop sessions flush\n```")
			glueFile, hasFile := got["internal/services/authcache/authcache.go"]
			if hasCommand != tt.wantGlue || hasFile != tt.wantGlue {
				t.Errorf("glue command %v, glue file %v; want both %v:\n%s", hasCommand, hasFile, tt.wantGlue, readme)
			}
			if hasFile && glueFile.Owner != "auth+cache+database" {
				t.Errorf("glue file owner = %q", glueFile.Owner)
			}
			if wire := string(got["internal/services/wire_gen.go"].Data); strings.Contains(wire, "authcache") != tt.wantGlue {
				t.Errorf("services/wire_gen.go:\n%s", wire)
			}
		})
	}
}
