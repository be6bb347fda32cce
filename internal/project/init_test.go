package project

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/aegisgo/aegis/internal/catalog"
	"github.com/aegisgo/aegis/internal/generate"
)

// entries lists the names in dir.
func entries(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

// TestInitFolders: init creates a missing folder, fills an empty one, refuses a non-empty one
// without force and, with force, replaces the generated paths, keeps every other file and only
// appends the missing secrets to an existing .env.
func TestInitFolders(t *testing.T) {
	sel := resolve(t, "auth")
	tests := []struct {
		name  string
		setup map[string]string // files in the folder before init; nil: no folder
		force bool
		want  error
		// wantKept are files that must still hold what setup wrote.
		wantKept []string
		wantEnv  string // what .env starts with; its AUTH_SECRET line follows
	}{
		{name: "missing", wantEnv: "# Local settings"},
		{name: "empty", setup: map[string]string{}, wantEnv: "# Local settings"},
		{name: "not empty", setup: map[string]string{"notes.txt": "mine"}, want: ErrExists, wantKept: []string{"notes.txt"}},
		{name: "not empty, force", force: true,
			setup:    map[string]string{"notes.txt": "mine", "README.md": "old", ".env": "PORT=9000"},
			wantKept: []string{"notes.txt"}, wantEnv: "PORT=9000\nAUTH_SECRET="},
		{name: "force keeps a set secret", force: true,
			setup:    map[string]string{".env": "AUTH_SECRET=mine\n"},
			wantKept: []string{".env"}, wantEnv: "AUTH_SECRET=mine\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parent := t.TempDir()
			dir := filepath.Join(parent, "app")
			if tt.setup != nil {
				if err := os.Mkdir(dir, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			for name, data := range tt.setup {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			p := New(dir, "app", testModule, Opts{})
			pl, err := p.PlanInit(sel, tt.force)
			if err == nil {
				err = p.Apply(t.Context(), pl)
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			for _, name := range tt.wantKept {
				if data, _ := os.ReadFile(filepath.Join(dir, name)); string(data) != tt.setup[name] {
					t.Errorf("%s = %q, want it kept: %q", name, data, tt.setup[name])
				}
			}
			if tt.want != nil {
				if got := entries(t, dir); len(got) != len(tt.setup) {
					t.Errorf("a refused init changed the folder: %v", got)
				}
				return
			}
			if got := entries(t, parent); !slices.Equal(got, []string{"app"}) {
				t.Errorf("%s holds %v, want only app", parent, got)
			}
			env, err := os.ReadFile(filepath.Join(dir, ".env"))
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(string(env), tt.wantEnv) || strings.Count(string(env), "AUTH_SECRET=") != 1 {
				t.Errorf(".env = %q, want it to start with %q and set AUTH_SECRET once", env, tt.wantEnv)
			}
			// Every generated file is what a fresh init writes, whatever was there.
			fresh := initProject(t, t.TempDir(), sel, nil)
			got, want := tree(t, dir), tree(t, fresh)
			for name := range tt.setup {
				if !strings.HasPrefix(name, ".env") && want[name] == "" {
					delete(got, name)
				}
			}
			if !maps.Equal(got, want) {
				sameTree(t, dir, fresh)
			}
		})
	}

	t.Run("a file in the way", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "app")
		os.WriteFile(file, []byte("x"), 0o644)
		if _, err := New(file, "app", "", Opts{}).PlanInit(sel, true); err == nil || !strings.Contains(err.Error(), "not a folder") {
			t.Errorf("err = %v, want one saying it is not a folder", err)
		}
	})
	t.Run("only for a new project", func(t *testing.T) {
		p := load(t, initProject(t, t.TempDir(), sel, nil), nil)
		if _, err := p.PlanInit(sel, true); err == nil {
			t.Error("PlanInit on a loaded project: want an error")
		}
	})
}

// TestInitInterruptedLeavesNothing: an init cancelled or failing while its files are written
// leaves no project and no staging folder; one with --force leaves the folder as it was.
func TestInitInterruptedLeavesNothing(t *testing.T) {
	sel := resolve(t, "cache")
	boom := errors.New("boom")
	tests := []struct {
		name   string
		force  bool
		cancel bool // cancel the context instead of failing
		// hook is where it happens: while staging (every init) or while moving into place
		// (only init --force replaces files one by one).
		hook *func(i int, c Change) error
		want error
	}{
		{"cancelled while staging", false, true, &stageHook, context.Canceled},
		{"failing while staging", false, false, &stageHook, boom},
		{"force, cancelled while staging", true, true, &stageHook, context.Canceled},
		{"force, cancelled while replacing", true, true, &applyHook, context.Canceled},
		{"force, failing while replacing", true, false, &applyHook, boom},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parent := t.TempDir()
			dir := filepath.Join(parent, "app")
			var before map[string]string
			if tt.force {
				os.Mkdir(dir, 0o755)
				os.WriteFile(filepath.Join(dir, "README.md"), []byte("mine"), 0o644)
				os.WriteFile(filepath.Join(dir, ".env"), []byte("PORT=1\n"), 0o600)
				before = tree(t, dir)
			}
			p := New(dir, "app", testModule, Opts{})
			pl, err := p.PlanInit(sel, tt.force)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			*tt.hook = func(i int, c Change) error {
				if i < len(pl.Changes)/2 {
					return nil
				}
				if tt.cancel {
					cancel()
					return nil
				}
				return boom
			}
			err = p.Apply(ctx, pl)
			*tt.hook = nil
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if !tt.force {
				if got := entries(t, parent); len(got) != 0 {
					t.Errorf("%s holds %v, want nothing", parent, got)
				}
				return
			}
			if got := entries(t, parent); !slices.Equal(got, []string{"app"}) {
				t.Errorf("%s holds %v, want only app", parent, got)
			}
			if env, _ := os.ReadFile(filepath.Join(dir, ".env")); string(env) != "PORT=1\n" {
				t.Errorf(".env = %q, want it as it was", env)
			}
			if after := tree(t, dir); !maps.Equal(before, after) {
				t.Errorf("an interrupted init --force changed the folder: %d entries before, %d after", len(before), len(after))
			}
		})
	}
}

// TestInitWritesTheRenderedProject: init writes exactly generate.Render's files, with their
// modes, plus a private .env holding the secrets, and nothing else; afterwards the Project is
// the one on disk.
func TestInitWritesTheRenderedProject(t *testing.T) {
	for _, names := range [][]string{nil, {"auth", "cache", "worker", "scheduler"}} {
		t.Run(strings.Join(append([]string{"base"}, names...), "+"), func(t *testing.T) {
			sel := resolve(t, names...)
			dir := filepath.Join(t.TempDir(), "app")
			p := New(dir, "app", testModule, Opts{})
			pl, err := p.PlanInit(sel, false)
			if err != nil {
				t.Fatal(err)
			}
			if err := p.Apply(t.Context(), pl); err != nil {
				t.Fatal(err)
			}
			// Once applied, p is the project on disk: nothing is left to update.
			again, err := p.PlanUpdate()
			if err != nil {
				t.Fatal(err)
			}
			if !again.Empty() || !slices.Equal(p.Manifest.Components, sel.Components) {
				t.Errorf("update right after init: %d changes, components %v", len(again.Changes), p.Manifest.Components)
			}
			proj, err := generate.Render(generate.Params{Name: "app", Module: testModule, Selection: sel})
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]string{}
			for _, f := range proj.Files {
				want[filepath.FromSlash(f.Path)] = f.Mode.String() + "\n" + string(f.Data)
				for d := filepath.Dir(filepath.FromSlash(f.Path)); d != "."; d = filepath.Dir(d) {
					want[d+"/"] = "dir"
				}
			}
			got := tree(t, dir)
			if !maps.Equal(got, want) {
				var diffs []string
				for p := range got {
					if got[p] != want[p] {
						diffs = append(diffs, p)
					}
				}
				for p := range want {
					if _, ok := got[p]; !ok {
						diffs = append(diffs, "missing "+p)
					}
				}
				slices.Sort(diffs)
				t.Errorf("the project on disk is not the rendered one: %s", strings.Join(diffs, ", "))
			}
			var m generate.Manifest
			data, _ := os.ReadFile(filepath.Join(dir, filepath.FromSlash(generate.ManifestPath)))
			if err := json.Unmarshal(data, &m); err != nil || len(m.Files) != len(proj.Manifest.Files) {
				t.Errorf("manifest on disk records %d files (%v), the rendered one %d", len(m.Files), err, len(proj.Manifest.Files))
			}

			wantEnv, _, err := proj.DotEnv(nil, false)
			if err != nil {
				t.Fatal(err)
			}
			fi, err := os.Stat(filepath.Join(dir, ".env"))
			switch {
			case wantEnv == nil:
				if err == nil {
					t.Error("a project without secrets has a .env")
				}
				return
			case err != nil:
				t.Fatal(err)
			case fi.Mode().Perm() != 0o600:
				t.Errorf(".env mode %v, want 0600", fi.Mode().Perm())
			}
			env, _ := os.ReadFile(filepath.Join(dir, ".env"))
			if names, wantNames := settingNames(env), settingNames(wantEnv); !slices.Equal(names, wantNames) || len(names) == 0 {
				t.Errorf(".env sets %v, want %v", names, wantNames)
			}
		})
	}
}

// settingNames lists the NAME of each NAME=value line.
func settingNames(env []byte) []string {
	var names []string
	for line := range strings.Lines(string(env)) {
		if name, _, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(name, "#") {
			names = append(names, name)
		}
	}
	return names
}

// BenchmarkInit measures what `aegis init` does after parsing flags: render the whole project,
// plan it against a missing folder and write it atomically. Module downloads are no part of init.
func BenchmarkInit(b *testing.B) {
	base, err := catalog.Default.Resolve(catalog.Request{})
	if err != nil {
		b.Fatal(err)
	}
	all, err := catalog.Default.Resolve(catalog.Request{Components: optionalOf(catalog.KindComponent), Services: optionalOf(catalog.KindService)})
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name string
		sel  catalog.Selection
	}{{"base", base.Selection}, {"everything", all.Selection}} {
		b.Run(bc.name, func(b *testing.B) {
			dir := b.TempDir()
			i := 0
			for b.Loop() {
				i++
				target := filepath.Join(dir, strconv.Itoa(i))
				p := New(target, "app", "github.com/acme/app", Opts{})
				pl, err := p.PlanInit(bc.sel, false)
				if err != nil {
					b.Fatal(err)
				}
				if err := p.Apply(context.Background(), pl); err != nil {
					b.Fatal(err)
				}
				// One init writes one project: remove it, untimed, so hundreds of iterations do
				// not measure the kernel throttling a pile of dirty pages instead.
				b.StopTimer()
				if err := os.RemoveAll(target); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
		})
	}
}

// optionalOf lists the available entries of a kind that a user can choose.
func optionalOf(kind catalog.Kind) []string {
	var names []string
	for _, e := range catalog.Default.Entries {
		if e.Kind == kind && e.Available() && !e.AlwaysOn {
			names = append(names, e.Name)
		}
	}
	return names
}
