package analytics

import (
	"testing"

	"github.com/aegisgo/aegis/template/internal/components/database"
	"github.com/aegisgo/aegis/template/internal/components/database/databasetest"
	"github.com/aegisgo/aegis/template/internal/components/frontend/frontendtest"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
)

// TestPanelHidesConnectionDetails: a failed query of the panel is worded as the database's
// Problem (its host and what to check), not with pgx's text, which names the database user
// and database. Before, the panel showed the driver's text.
func TestPanelHidesConnectionDetails(t *testing.T) {
	db := databasetest.New(t, database.Postgres)
	svc := newService(t, db, Settings{}, nil)
	h := frontendtest.Handler(t, databasetest.Worded(db), func(r *registry.Registry) error { return registry.Value(r, svc) })
	refused := databasetest.RefuseConnections(t, db)

	body := frontendtest.NewBrowser(t, h).Get("/dashboard/panels/analytics")
	refused.Check(t, "the panel", body, "cannot read the chart&#39;s counts: "+refused.Host)
}
