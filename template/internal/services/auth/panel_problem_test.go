package auth

import (
	"net/url"
	"strconv"
	"testing"

	"github.com/aegisgo/aegis/template/internal/components/database"
	"github.com/aegisgo/aegis/template/internal/components/database/databasetest"
	"github.com/aegisgo/aegis/template/internal/components/frontend/frontendtest"
)

// TestPanelHidesConnectionDetails: a failed query of the panel, and of its actions, is worded
// as the database's Problem (its host and what to check), not with pgx's text, which names the
// database user and database. Before, the panel and the flash showed the driver's text.
func TestPanelHidesConnectionDetails(t *testing.T) {
	db := databasetest.New(t, database.Postgres)
	h, users, _ := dashboardApp(t, db, databasetest.Worded(db))
	u, err := users.Create(t.Context(), CreateUserParams{Email: "ada@example.com", Username: "ada", Password: "correct horse battery staple"})
	if err != nil {
		t.Fatal(err)
	}
	b := frontendtest.NewBrowser(t, h)
	b.Get("/dashboard/panels/users?confirm=" + strconv.FormatInt(u.ID, 10)) // the confirming form and its CSRF token
	refused := databasetest.RefuseConnections(t, db)

	for _, tc := range []struct{ name, body, says string }{
		{"panel", b.Get("/dashboard/panels/users"), "cannot list users: " + refused.Host},
		{"deactivate", b.Submit("/dashboard/panels/users/actions/deactivate", url.Values{"id": {strconv.FormatInt(u.ID, 10)}}), "cannot update the account: " + refused.Host},
	} {
		refused.Check(t, tc.name, tc.body, tc.says)
	}
}
