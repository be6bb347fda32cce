package auth

import (
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/aegisgo/aegis/template/internal/components/database"
	"github.com/aegisgo/aegis/template/internal/components/database/databasetest"
	"github.com/aegisgo/aegis/template/internal/components/frontend"
	"github.com/aegisgo/aegis/template/internal/components/frontend/frontendtest"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
)

// TestPanelHidesConnectionDetails: a failed query of the panel, and of its actions, is worded
// as the database's Problem (its host and what to check), not with pgx's text, which names the
// database user and database. Before, the panel and the flash showed the driver's text.
func TestPanelHidesConnectionDetails(t *testing.T) {
	db := databasetest.New(t, database.Postgres)
	h, users, _ := dashboardApp(t, db, &frontend.Opts{Wording: func(_ *registry.Container, err error) string { return db.Problem(err) }})
	u, err := users.Create(t.Context(), CreateUserParams{Email: "ada@example.com", Username: "ada", Password: "correct horse battery staple"})
	if err != nil {
		t.Fatal(err)
	}
	b := frontendtest.NewBrowser(t, h)
	b.Get("/dashboard/panels/users?confirm=" + strconv.FormatInt(u.ID, 10)) // the confirming form and its CSRF token
	user, name, host := databasetest.RefuseConnections(t, db)

	for _, tc := range []struct{ name, body, says string }{
		{"panel", b.Get("/dashboard/panels/users"), "cannot list users: " + host},
		{"deactivate", b.Submit("/dashboard/panels/users/actions/deactivate", url.Values{"id": {strconv.FormatInt(u.ID, 10)}}), "cannot update the account: " + host},
	} {
		if !strings.Contains(tc.body, tc.says) {
			t.Errorf("%s does not say %q:\n%s", tc.name, tc.says, tc.body)
		}
		for _, leak := range []string{"user=", user + " ", name} {
			if strings.Contains(tc.body, leak) {
				t.Errorf("%s shows %q:\n%s", tc.name, leak, tc.body)
			}
		}
	}
}
