package database_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/aegisgo/aegis/template/internal/components/database"
)

// TestSQLiteFilePermissions: the database holds password hashes and
// sessions, so its file, its -wal and -shm companions and the folder made
// for it are the owner's alone (0600 and 0700, like .env), whatever the
// process's umask would have given.
func TestSQLiteFilePermissions(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "data")
	path := filepath.Join(dir, "app.db")
	db, err := database.Open(t.Context(), database.Settings{URL: "sqlite://" + path, AutoMigrate: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// A write makes SQLite create the -wal and -shm files.
	if _, err := db.SQL().ExecContext(t.Context(), "CREATE TABLE perm_probe (id INTEGER)"); err != nil {
		t.Fatal(err)
	}
	want := map[string]fs.FileMode{
		dir:           0o700,
		path:          0o600,
		path + "-wal": 0o600,
		path + "-shm": 0o600,
	}
	for p, mode := range want {
		fi, err := os.Stat(p)
		if err != nil {
			t.Errorf("stat %s: %v", p, err)
			continue
		}
		if got := fi.Mode().Perm(); got != mode {
			t.Errorf("%s has mode %v, want %v", filepath.Base(p), got, mode)
		}
	}
}
