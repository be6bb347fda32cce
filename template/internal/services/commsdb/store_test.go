package commsdb

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aegisgo/aegis/template/internal/components/database"
	"github.com/aegisgo/aegis/template/internal/components/database/databasetest"
	"github.com/aegisgo/aegis/template/internal/services/comms"
	"github.com/aegisgo/aegis/template/internal/services/comms/commstest"
	"github.com/aegisgo/aegis/template/internal/services/comms/mailpittest"
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

// A sensitive email delivered over SMTP (to Mailpit) leaves no trace of its secret in the
// table: the payload column holds its envelope only.
func TestSensitiveOnDatabase(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		mp := mailpittest.Start(t)
		svc, err := comms.New(comms.Settings{EmailProvider: comms.ProviderSMTP, SMTPHost: "127.0.0.1", SMTPPort: mp.SMTPPort,
			SMTPTLSPolicy: comms.TLSNone, SMTPTimeout: 5 * time.Second, AppName: "Acme"}, &comms.Opts{Store: NewStore(db)})
		if err != nil {
			t.Fatal(err)
		}
		const secret = "https://x.test/r?token=s3cr3t-t0ken"
		id, err := svc.SendTemplate(t.Context(), "password-reset", "ada@example.com", map[string]any{"Name": "Ada", "ResetURL": secret, "ExpiresIn": "1 hour"})
		if err != nil {
			t.Fatal(err)
		}
		if m := mp.MessageTo("ada@example.com", "Reset your Acme password"); !strings.Contains(m.Text, secret) {
			t.Fatalf("the mail lacks the link:\n%s", m.Text)
		}
		var rows []string
		if err := db.Bun().NewRaw(`SELECT payload FROM comms_messages`).Scan(t.Context(), &rows); err != nil {
			t.Fatal(err)
		}
		if len(rows) != 1 || strings.Contains(rows[0], "s3cr3t") || !strings.Contains(rows[0], `"redacted":true`) ||
			!strings.Contains(rows[0], "Reset your Acme password") {
			t.Fatalf("comms_messages.payload = %q", rows)
		}
		r, err := svc.Message(t.Context(), id)
		if err != nil || r.Status != comms.StatusSent || !r.Email.Redacted || r.Email.Sensitive != "the password reset link" {
			t.Fatalf("record %+v, %v", r, err)
		}
		if _, err := svc.Resend(t.Context(), id); !errors.Is(err, comms.ErrRedacted) {
			t.Errorf("Resend = %v, want ErrRedacted", err)
		}
	})
}
