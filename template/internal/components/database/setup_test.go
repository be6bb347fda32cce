package database_test

import (
	"context"
	"embed"
	"io/fs"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/aegisgo/aegis/template/internal/components/database"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
)

// testOwner's migrations (testdata/migrations) create dbtest_widgets and dbtest_parts, which
// reference widgets.
const testOwner = "dbtest"

//go:embed testdata/migrations
var testMigrations embed.FS

// testMigrationsFS is testMigrations as the Migrations contribution wants it.
var testMigrationsFS = func() fs.FS {
	sub, err := fs.Sub(testMigrations, "testdata/migrations")
	if err != nil {
		panic(err) // a broken embed path in a test binary: nothing can run
	}
	return sub
}()

// Contributed as an owner would, so that Open and databasetest apply them.
func init() {
	registry.Contribute(registry.Default, testOwner, database.Migrations{FS: testMigrationsFS})
}

type widget struct {
	bun.BaseModel `bun:"table:dbtest_widgets"`

	ID        int64     `bun:"id,pk,autoincrement"`
	Name      string    `bun:"name,notnull"`
	CreatedAt time.Time `bun:"created_at,nullzero,notnull,default:current_timestamp"`
}

type part struct {
	bun.BaseModel `bun:"table:dbtest_parts"`

	ID       int64  `bun:"id,pk,autoincrement"`
	WidgetID int64  `bun:"widget_id,notnull"`
	Label    string `bun:"label,notnull"`
}

// insertWidget inserts a widget named name through idb (the DB or a transaction).
func insertWidget(ctx context.Context, idb bun.IDB, name string) (*widget, error) {
	w := &widget{Name: name}
	_, err := idb.NewInsert().Model(w).Exec(ctx)
	return w, err
}

func countWidgets(t *testing.T, db *database.DB) int {
	t.Helper()
	n, err := db.Bun().NewSelect().Model((*widget)(nil)).Count(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return int(n)
}
