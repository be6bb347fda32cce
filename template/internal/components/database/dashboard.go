package database

import (
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
)

// dashboardWording words the dashboard panels' failed queries with Problem, the words /health
// uses: the panels of the parts that store in the database through a bridge (the scheduler's,
// comms') cannot import this package, and the frontend must not. A panel asks for it only for
// an error of its store (frontend.PanelContext.Problem), which with this component in the app
// is this database's; "" while the database is not available.
func dashboardWording(c *registry.Container, err error) string {
	db, gerr := registry.Get[*DB](c)
	if gerr != nil {
		return ""
	}
	return db.Problem(err)
}
