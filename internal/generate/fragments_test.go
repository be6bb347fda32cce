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
				"Makefile":           {"\tdocker build --build-arg VERSION=$(VERSION) --build-arg COMMIT=$(COMMIT) -t $(IMAGE):$(VERSION) .\n\n.PHONY: db\ndb: ## Open a database shell for shop\n"},
				"README.md":          {"it asks for a login; every", "shop version\nshop db                               # a shell\nshop users                            # accounts\n```", "still work as usual).\n\n## Security\n\n[docs/security.md](docs/security.md) states", "\n\n## Add your own"},
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

// TestSecurityDoc checks docs/security.md as projects get it: one title, no auth sections without
// auth, auth's sections with it, and, for the full selection, nothing it names that the code
// lacks: every setting is declared by some owner's settings (an env:"NAME" tag) with the default
// .env.example gives it, and every test it cites exists.
func TestSecurityDoc(t *testing.T) {
	renderDoc := func(t *testing.T, sel catalog.Selection) string {
		t.Helper()
		proj, err := Render(Params{Name: "shop", Module: "example.com/shop", Selection: sel, SkipModules: true})
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range proj.Files {
			if f.Path == refSecurity {
				if f.Owner != OwnerShared {
					t.Errorf("%s is owned by %q, want %q", f.Path, f.Owner, OwnerShared)
				}
				return string(f.Data)
			}
		}
		t.Fatalf("the project has no %s", refSecurity)
		return ""
	}
	sections := []string{"\n## ASVS 4.0.3 level 2 requirements this app meets\n", "\n## What is public in production\n",
		"\n## Dashboard access and the Host rule\n", "\n## Rate limits\n", "\n## Configuration errors\n", "\n## Settings\n"}
	authSections := []string{"\n## Authentication\n", "\n## Dashboard sign-in with accounts\n", "`AUTH_LOGIN_IP_LIMIT` (20) per `AUTH_LOGIN_IP_WINDOW` (1m)"}

	base := renderDoc(t, catalog.Selection{Components: []string{"backend", "frontend"}})
	withAuth := renderDoc(t, catalog.Selection{Components: []string{"backend", "database", "frontend"}, Services: []string{"auth"}})
	for name, doc := range map[string]string{"base": base, "with auth": withAuth} {
		if n := strings.Count("\n"+doc, "\n# "); n != 1 || !strings.HasPrefix(doc, "# Security\n") {
			t.Errorf("%s: security.md has %d titles, want one, \"# Security\":\n%s", name, n, doc)
		}
		for _, s := range sections {
			if !strings.Contains(doc, s) {
				t.Errorf("%s: security.md lacks %q", name, s)
			}
		}
	}
	if strings.Contains(base, "AUTH_") || strings.Contains(base, "DATABASE_URL") {
		t.Errorf("security.md of a project without auth or database names their settings:\n%s", base)
	}
	for _, s := range authSections {
		if strings.Contains(base, s) {
			t.Errorf("security.md of a project without auth has %q", s)
		}
		if !strings.Contains(withAuth, s) {
			t.Errorf("security.md of a project with auth lacks %q:\n%s", s, withAuth)
		}
	}

	// The full selection's page, as checked into the reference app (TestReferenceApp keeps it fresh).
	full, err := fs.ReadFile(template.FS, refSecurity)
	if err != nil {
		t.Fatal(err)
	}
	env, err := fs.ReadFile(template.FS, refEnvExample)
	if err != nil {
		t.Fatal(err)
	}
	declared := map[string]bool{}
	tests := map[string]bool{}
	envTag := regexp.MustCompile(`env:"([A-Z0-9_]+)"`)
	testFunc := regexp.MustCompile(`(?m)^func ((?:Test|Fuzz)[A-Za-z0-9_]*)\(`)
	err = fs.WalkDir(template.FS, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(name, ".go") {
			return err
		}
		data, err := fs.ReadFile(template.FS, name)
		if err != nil {
			return err
		}
		if strings.HasSuffix(name, "_test.go") {
			for _, m := range testFunc.FindAllSubmatch(data, -1) {
				tests[string(m[1])] = true
			}
			return nil
		}
		for _, m := range envTag.FindAllSubmatch(data, -1) {
			declared[string(m[1])] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range regexp.MustCompile(`\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b`).FindAllString(string(full), -1) {
		if !declared[name] {
			t.Errorf("docs/security.md names the setting %s, which no owner's settings declare (no env:%q tag)", name, name)
		}
	}
	for _, m := range regexp.MustCompile("`((?:Test|Fuzz)[A-Za-z0-9_]+)`").FindAllStringSubmatch(string(full), -1) {
		if !tests[m[1]] {
			t.Errorf("docs/security.md cites the test %s, which the reference app does not have", m[1])
		}
	}
	defaults := map[string]string{}
	for _, s := range settingsOf(env) {
		defaults[s.Name] = s.Default
	}
	_, table, _ := strings.Cut(string(full), "\n## Settings\n")
	row := regexp.MustCompile("(?m)^\\| ((?:`[A-Z0-9_]+`(?:, )?)+) \\| (empty|`[^`]*`) \\|")
	rows := row.FindAllStringSubmatch(table, -1)
	if len(rows) < 10 {
		t.Fatalf("docs/security.md's settings table has %d rows of the form | `NAME` | `default` |:\n%s", len(rows), table)
	}
	for _, r := range rows {
		want := strings.Trim(r[2], "`")
		if r[2] == "empty" {
			want = ""
		}
		for _, name := range regexp.MustCompile(`[A-Z0-9_]+`).FindAllString(r[1], -1) {
			if got, ok := defaults[name]; !ok || got != want {
				t.Errorf("docs/security.md gives %s the default %s; .env.example has %q (listed: %v)", name, r[2], got, ok)
			}
		}
	}
}

func TestRowsSortByFirstCell(t *testing.T) {
	v := view{fragments: []fragment{}}
	for i, text := range []string{
		"{{define \"asvs\"}}\n| V14.4.3 | b |\n| V2.2.1 | b |\n{{end}}",
		"{{define \"asvs\"}}\n| V3.4.1 | c |\n| V2.2.1 | c |\n| V2.10.1 | c |\n{{end}}",
	} {
		f, err := parseFragment(fstest.MapFS{"x/security.md.tmpl": {Data: []byte(text)}}, "o"+string(rune('a'+i)), "x/security.md.tmpl", mustParseTemplates(t))
		if err != nil {
			t.Fatal(err)
		}
		v.fragments = append(v.fragments, f)
	}
	got, err := v.Rows("asvs")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"| V2.2.1 | b |", "| V2.2.1 | c |", "| V2.10.1 | c |", "| V3.4.1 | c |", "| V14.4.3 | b |"}
	if !slices.Equal(got, want) {
		t.Errorf("Rows = %q, want %q", got, want)
	}
}

func mustParseTemplates(t *testing.T) map[string]sharedTemplate {
	t.Helper()
	shared, err := parseTemplates()
	if err != nil {
		t.Fatal(err)
	}
	return shared
}
