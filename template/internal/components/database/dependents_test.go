package database_test

import (
	"testing"
	"testing/fstest"

	"github.com/aegisgo/aegis/template/internal/components/database"
	"github.com/aegisgo/aegis/template/internal/components/database/databasetest"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
)

// TestMigrateDownDependedOn rolls back an owner whose table another owner's table refers to
// (auth's users and a part's tokens, say). PostgreSQL refuses to drop it; the error must say
// which tables stand in the way and what to run first, not only "cannot drop table".
func TestMigrateDownDependedOn(t *testing.T) {
	databasetest.SkipWithoutPostgres(t)
	mig := func(up, down string) database.Migrations {
		return database.Migrations{FS: fstest.MapFS{
			"postgres/00001_a.sql": {Data: []byte("-- +goose Up\n" + up + "\n-- +goose Down\n" + down + "\n")},
		}}
	}
	all := registry.All[database.Migrations]{
		{Name: "people", Value: mig("CREATE TABLE people (id bigint PRIMARY KEY);", "DROP TABLE people;")},
		{Name: "tokens", Value: mig("CREATE TABLE tokens (person bigint REFERENCES people (id));", "DROP TABLE tokens;")},
	}
	db, err := database.OpenWith(t.Context(), databasetest.Settings(t, database.Postgres), all)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if _, err := db.MigrateUp(t.Context()); err != nil {
		t.Fatal(err)
	}
	_, errAll := db.MigrateDownAll(t.Context(), "people")
	_, errOne := db.MigrateDown(t.Context(), "people")
	for _, err := range []error{errAll, errOne} {
		want := `database: migrate "people" down: 00001_a.sql: table tokens depends on this owner's tables; roll back its owner first (migrate down --owner OWNER --all, 'migrate status' lists them)`
		if err == nil || err.Error() != want {
			t.Errorf("rolling back a table others depend on = %v\nwant %s", err, want)
		}
	}
	if _, err := db.MigrateDownAll(t.Context(), "tokens"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.MigrateDownAll(t.Context(), "people"); err != nil {
		t.Errorf("after its dependents: %v", err)
	}
}
