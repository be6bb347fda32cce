package project

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aegisgo/aegis/internal/catalog"
	"github.com/aegisgo/aegis/internal/generate"
)

// memProject is a project known only by its manifest: enough for the checks that run before
// anything is rendered.
func memProject(sel catalog.Selection) *Project {
	return &Project{Manifest: generate.Manifest{Name: "app", Components: sel.Components, Services: sel.Services},
		opts: Opts{Catalog: catalog.Default}}
}

func TestRemoveNamesEveryDependent(t *testing.T) {
	tests := []struct {
		name  string
		sel   []string
		names []string
		want  string
	}{
		{"direct", []string{"worker"}, []string{"database"},
			"cannot remove component 'database': component 'worker' requires it; remove them together (aegis remove worker database) or keep it"},
		{"transitive", []string{"ai"}, []string{"database"},
			"cannot remove component 'database': component 'worker' requires it, and service 'ai' requires 'worker'; remove them together (aegis remove ai worker database) or keep it"},
		{"one level up", []string{"ai"}, []string{"worker"},
			"cannot remove component 'worker': service 'ai' requires it; remove them together (aegis remove ai worker) or keep it"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := memProject(resolve(t, tt.sel...)).PlanRemove(tt.names)
			if err == nil || err.Error() != tt.want || !errors.Is(err, ErrInvalid) {
				t.Errorf("err = %v\nwant %s", err, tt.want)
			}
		})
	}
}

func TestNamesSplitOnCommas(t *testing.T) {
	p := memProject(resolve(t))
	es, err := p.entries([]string{"worker,comms", " cache ", ","})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range es {
		got = append(got, e.Name)
	}
	if strings.Join(got, " ") != "worker comms cache" {
		t.Errorf("entries = %v, want worker comms cache", got)
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "README.md")
	os.WriteFile(file, []byte("x"), 0o644)
	damaged := filepath.Join(dir, "damaged")
	os.MkdirAll(filepath.Join(damaged, ".aegis"), 0o755)
	os.WriteFile(filepath.Join(damaged, ".aegis", "manifest.json"), []byte("{"), 0o644)
	unknown := filepath.Join(dir, "unknown")
	m := generate.Manifest{Generator: "aegis", Version: generate.Version, Name: "app", Module: "app",
		Components: []string{"backend", "frontend", "queue"}, Services: []string{"httpclient", "cache"}}
	data, _ := json.Marshal(m)
	os.MkdirAll(filepath.Join(unknown, ".aegis"), 0o755)
	os.WriteFile(filepath.Join(unknown, ".aegis", "manifest.json"), data, 0o644)
	// The same, made by an older aegis whose catalog had those parts.
	older := filepath.Join(dir, "older")
	m.Version = "0.0.9"
	data, _ = json.Marshal(m)
	os.MkdirAll(filepath.Join(older, ".aegis"), 0o755)
	os.WriteFile(filepath.Join(older, ".aegis", "manifest.json"), data, 0o644)

	// Manifests whose selection contradicts itself: loaded, the next add would delete the
	// files of the parts the selection lost, or render a part twice.
	write := func(name string, edit func(*generate.Manifest)) string {
		m := generate.Manifest{Generator: "aegis", Version: generate.Version, Name: "app", Module: "app",
			Components: []string{"backend", "frontend", "database", "worker"}, Services: []string{"httpclient", "ai"},
			Files: map[string]generate.ManifestFile{
				"internal/components/backend/backend.go":   {Owner: "backend"},
				"internal/components/database/database.go": {Owner: "database"},
				"internal/components/worker/worker.go":     {Owner: "worker"},
				"internal/services/ai/ai.go":               {Owner: "ai"},
				"go.mod":                                   {Owner: "shared"},
			}}
		edit(&m)
		data, _ := json.Marshal(m)
		d := filepath.Join(dir, name)
		os.MkdirAll(filepath.Join(d, ".aegis"), 0o755)
		os.WriteFile(filepath.Join(d, ".aegis", "manifest.json"), data, 0o644)
		return d
	}
	noComponents := write("nocomponents", func(m *generate.Manifest) { m.Components = nil })
	lostService := write("lostservice", func(m *generate.Manifest) { m.Services = []string{"httpclient"} })
	twice := write("twice", func(m *generate.Manifest) { m.Components = append(m.Components, "database") })
	noModule := write("nomodule", func(m *generate.Manifest) { m.Module = "" })
	// A version that is no version at all was edited in: no aegis to install would read it.
	badVersion := write("badversion", func(m *generate.Manifest) { m.Version = "banana" })
	noVersion := write("noversion", func(m *generate.Manifest) { m.Version = "" })
	outside := write("outside", func(m *generate.Manifest) { m.Files["../notes.txt"] = generate.ManifestFile{Owner: "worker"} })
	// The name is the folder cmd/NAME: as a path it would take add out of the project.
	pathName := write("pathname", func(m *generate.Manifest) { m.Name = "../../evil" })
	// backend is always selected, whatever the manifest says: nothing of it would be deleted.
	noBackend := write("nobackend", func(m *generate.Manifest) { m.Components = []string{"frontend", "database", "worker"} })
	if _, err := Load(noBackend, Opts{}); err != nil {
		t.Errorf("Load without an always-on part: %v", err)
	}

	tests := []struct {
		name    string
		dir     string
		is      error
		message string
	}{
		{"files of parts not selected", noComponents, ErrNotProject, ".aegis/manifest.json records files of component 'database', component 'worker' but does not select them: restore it from git (git checkout -- .aegis/manifest.json)"},
		{"files of a service not selected", lostService, ErrNotProject, ".aegis/manifest.json records files of service 'ai' but does not select it: restore it from git (git checkout -- .aegis/manifest.json)"},
		{"selected twice", twice, ErrNotProject, ".aegis/manifest.json lists 'database' twice: restore it from git (git checkout -- .aegis/manifest.json)"},
		{"a path for a name", pathName, ErrNotProject, ".aegis/manifest.json is damaged: restore it from git (git checkout -- .aegis/manifest.json)"},
		{"a file out of the project", outside, ErrNotProject, `.aegis/manifest.json records the file "../notes.txt", which is not in the project: restore it from git (git checkout -- .aegis/manifest.json)`},
		{"no module", noModule, ErrNotProject, ".aegis/manifest.json is damaged: restore it from git (git checkout -- .aegis/manifest.json)"},
		{"not a version", badVersion, ErrNotProject, ".aegis/manifest.json is damaged: restore it from git (git checkout -- .aegis/manifest.json)"},
		{"no version", noVersion, ErrNotProject, ".aegis/manifest.json is damaged: restore it from git (git checkout -- .aegis/manifest.json)"},
		{"no manifest", dir, ErrNoManifest, dir + " is not an aegis project (no .aegis/manifest.json)"},
		{"missing", filepath.Join(dir, "nope"), ErrNoManifest, filepath.Join(dir, "nope") + " is not an aegis project (it does not exist)"},
		{"file", file, ErrNoManifest, file + " is not an aegis project (not a folder)"},
		{"under a file", filepath.Join(file, "x"), ErrNoManifest, filepath.Join(file, "x") + " is not an aegis project (not a folder)"},
		{"damaged", damaged, ErrNotProject, ".aegis/manifest.json is damaged: restore it from git (git checkout -- .aegis/manifest.json)"},
		// Recorded by this very version, the names were edited in: installing it again would not help.
		{"unknown entries", unknown, nil, ".aegis/manifest.json lists component 'queue', service 'cache', which this aegis " + generate.Version +
			" does not know: restore it from git (git checkout -- .aegis/manifest.json), or remove them from .aegis/manifest.json"},
		{"unknown entries of an older aegis", older, nil, ".aegis/manifest.json lists component 'queue', service 'cache', which this aegis " + generate.Version +
			" does not know: install the aegis that made the project (aegis 0.0.9), or remove them from .aegis/manifest.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(tt.dir, Opts{})
			if err == nil || err.Error() != tt.message {
				t.Fatalf("err = %v\nwant %s", err, tt.message)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("err is not %v", tt.is)
			}
		})
	}
}

func TestDirtySummary(t *testing.T) {
	tests := []struct{ status, want string }{
		{" M go.mod\n", "M go.mod"},
		{" M go.mod\n?? x.go\n", "M go.mod and 1 more file"},
		{" M go.mod\n?? x.go\n?? y.go\n", "M go.mod and 2 more files"},
	}
	for _, tt := range tests {
		if got := dirtySummary(tt.status); got != tt.want {
			t.Errorf("dirtySummary(%q) = %q, want %q", tt.status, got, tt.want)
		}
	}
}
