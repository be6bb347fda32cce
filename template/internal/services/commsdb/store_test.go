package commsdb

import (
	"strings"
	"testing"

	"github.com/aegisgo/aegis/template/internal/components/database"
	"github.com/aegisgo/aegis/template/internal/components/database/databasetest"
	"github.com/aegisgo/aegis/template/internal/services/comms"
	"github.com/aegisgo/aegis/template/internal/services/comms/commstest"
)

// The database store passes the same suite as the in-memory ring, on SQLite and PostgreSQL.
func TestStore(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		commstest.StoreSuite(t, func(t *testing.T) comms.Store {
			// Each sub-test its own table contents: a fresh database.
			return NewStore(databasetest.New(t, db.Engine()))
		})
	})
}

// The service records in the database: a failed send and its resend, each with its status.
func TestServiceOnDatabase(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		svc, err := comms.New(comms.Settings{}, &comms.Opts{Store: NewStore(db)})
		if err != nil {
			t.Fatal(err)
		}
		id, err := svc.SendTemplate(t.Context(), "password-reset", "ada@example.com", map[string]any{"Name": "Ada", "ResetURL": "https://x.test/r", "ExpiresIn": "1 hour"})
		if err != nil {
			t.Fatal(err)
		}
		other, err := comms.New(comms.Settings{}, &comms.Opts{Store: NewStore(db)})
		if err != nil {
			t.Fatal(err)
		}
		r, err := other.Message(t.Context(), id) // another instance sees it
		if err != nil || r.Status != comms.StatusSent || r.Provider != comms.ProviderOutbox || !strings.Contains(r.Email.HTML, "https://x.test/r") {
			t.Fatalf("from another instance: %+v, %v", r, err)
		}
		if _, err := other.Resend(t.Context(), id); err != nil {
			t.Fatal(err)
		}
		if list, _ := svc.Messages(t.Context(), comms.ListParams{}); len(list) != 2 {
			t.Errorf("%d messages, want 2", len(list))
		}
	})
}
