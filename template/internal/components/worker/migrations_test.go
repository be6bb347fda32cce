package worker

import (
	"errors"
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"
)

// TestRiverFS: River's migrations, rendered per engine on first access, behave as a file
// system (fstest.TestFS walks, opens and reads every file), hold both engines' whole sets
// as goose migrations, and a folder that fails to render fails its opens with the reason.
func TestRiverFS(t *testing.T) {
	t.Parallel()
	fsys := newRiverFS()
	var want []string
	for _, dir := range []string{"sqlite", "postgres"} {
		entries, err := fs.ReadDir(fsys, dir)
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) < 6 {
			t.Fatalf("%s holds %d migrations, want River's whole set", dir, len(entries))
		}
		for _, e := range entries {
			name := dir + "/" + e.Name()
			want = append(want, name)
			data, err := fs.ReadFile(fsys, name)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(data), "-- +goose Up") || !strings.Contains(string(data), "river_migration") {
				t.Errorf("%s is not a goose migration that records River's version:\n%s", name, data)
			}
		}
	}
	if !strings.HasPrefix(want[0], "sqlite/00001_river_") {
		t.Errorf("first migration %s", want[0])
	}
	if err := fstest.TestFS(fsys, want...); err != nil {
		t.Error(err)
	}

	broken := riverFS{root: fstest.MapFS{"sqlite": {Mode: fs.ModeDir | 0o555}}, engines: map[string]func() (fs.FS, error){
		"sqlite": func() (fs.FS, error) { return nil, errors.New("worker: read river migrations for sqlite: boom") },
	}}
	if _, err := fs.ReadDir(broken, "sqlite"); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Errorf("ReadDir of a folder that fails to render: %v", err)
	}
	if _, err := broken.Open("postgres/x.sql"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Open of an unknown folder: %v, want fs.ErrNotExist", err)
	}
	if _, err := broken.Open("../x"); !errors.Is(err, fs.ErrInvalid) {
		t.Errorf("Open of an invalid path: %v, want fs.ErrInvalid", err)
	}
}
