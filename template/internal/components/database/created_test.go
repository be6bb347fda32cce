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
	for _, tt := range []struct {
		name string
		want int
	}{{"new file", 1}, {"existing file", 0}} {
		t.Run(tt.name, func(t *testing.T) {
			before := len(logs.Records(t, msgCreated))
			db, err := database.Open(t.Context(), database.Settings{URL: "sqlite://data/app.db"})
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
				want := filepath.Join(dir, "data", "app.db")
				if path, _ := recs[len(recs)-1]["path"].(string); path != want {
					t.Errorf("path %q, want %q", path, want)
				}
				if _, err := os.Stat(want); err != nil {
					t.Error(err)
				}
			}
		})
	}
	if strings.Contains(logs.String(), `"level":"WARN"`) || strings.Contains(logs.String(), `"level":"ERROR"`) {
		t.Errorf("a new database is not a warning:\n%s", logs.String())
	}
}

const msgCreated = "database: created a new, empty SQLite database; a relative DATABASE_URL is read from the current folder"
