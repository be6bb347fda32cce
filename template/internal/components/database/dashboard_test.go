package database_test

import (
	"errors"
	"testing"

	"github.com/aegisgo/aegis/template/internal/components/database"
	"github.com/aegisgo/aegis/template/internal/components/database/databasetest"
	"github.com/aegisgo/aegis/template/internal/components/frontend"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
	"github.com/aegisgo/aegis/template/internal/runtime/registry/registrytest"
)

// TestDashboardWording: the database contributes the dashboard's ErrorWording, which words an
// error with the container's DB's Problem, and leaves it unworded without a DB.
func TestDashboardWording(t *testing.T) {
	ws := registry.Contributions[frontend.ErrorWording](registry.Default)
	if len(ws) != 1 {
		t.Fatalf("%d ErrorWording contributions, want the database's", len(ws))
	}
	db := databasetest.New(t, database.SQLite)
	c := registrytest.Start(t, registry.New(), func(r *registry.Registry) error {
		return registry.Value(r, db, registry.Component(database.Name))
	})
	err := errors.New("some driver text user=postgres")
	if got, want := ws[0].Value(c, err), db.Problem(err); got != want {
		t.Errorf("wording = %q, want Problem's %q", got, want)
	}
	empty := registrytest.Start(t, registry.New())
	if got := ws[0].Value(empty, err); got != "" {
		t.Errorf("wording without a DB = %q, want none", got)
	}
}
