package database_test

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aegisgo/aegis/template/internal/components/database"
	"github.com/aegisgo/aegis/template/internal/runtime/logtest"
)

// Opening a SQLite file that does not exist yet says so once, with its absolute path: a
// command run from another folder than the app's (the default DATABASE_URL is relative)
// makes a new, empty database there and would otherwise answer "user not found" without a
// word why. An existing file is opened silently. It swaps the default logger: not parallel.
func TestCreatedSQLiteIsLogged(t *testing.T) {
	var logs logtest.Buffer
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewJSONHandler(&logs, nil)))
	t.Cleanup(func() { slog.SetDefault(prev) })

	dir := t.TempDir()
	t.Chdir(dir)
	elsewhere := filepath.Join(t.TempDir(), "abs.db")
	for _, tt := range []struct {
		name, url, hint, path string
		want                  int
	}{
		{"new file", "sqlite://data/app.db", hintRelative, filepath.Join(dir, "data", "app.db"), 1},
		{"existing file", "sqlite://data/app.db", hintRelative, "", 0},
		// An absolute URL does not depend on the current folder: no hint about it.
		{"new file, absolute URL", "sqlite://" + elsewhere, "", elsewhere, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := len(logs.Records(t, msgCreated))
			db, err := database.Open(t.Context(), database.Settings{URL: tt.url})
			if err != nil {
				t.Fatal(err)
			}
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
			recs := logs.Records(t, msgCreated)
			if got := len(recs) - before; got != tt.want {
				t.Fatalf("%d lines %q, want %d:\n%s", got, msgCreated, tt.want, logs.String())
			}
			if tt.want == 1 {
				if hint, _ := recs[len(recs)-1]["hint"].(string); hint != tt.hint {
					t.Errorf("hint %q, want %q", hint, tt.hint)
				}
				if path, _ := recs[len(recs)-1]["path"].(string); path != tt.path {
					t.Errorf("path %q, want %q", path, tt.path)
				}
				if _, err := os.Stat(tt.path); err != nil {
					t.Error(err)
				}
			}
		})
	}
	if n := len(logs.Records(t, msgCreated)); n != 2 {
		t.Errorf("%d creation lines, want 2:\n%s", n, logs.String())
	}
	if strings.Contains(logs.String(), `"level":"WARN"`) || strings.Contains(logs.String(), `"level":"ERROR"`) {
		t.Errorf("a new database is not a warning:\n%s", logs.String())
	}
}

const (
	msgCreated   = "database: created a new, empty SQLite database"
	hintRelative = "a relative DATABASE_URL is read from the current folder"
)
