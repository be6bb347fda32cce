package onboarding

import (
	"context"
	"sync"
	"testing"

	"github.com/aegisgo/aegis/template/internal/components/database"
	"github.com/aegisgo/aegis/template/internal/components/database/databasetest"
	"github.com/aegisgo/aegis/template/internal/services/auth"
)

// registered records the accounts auth's hooks hear of.
type registered struct {
	auth.BaseHooks
	mu  sync.Mutex
	ids []int64
}

func (h *registered) UserRegistered(_ context.Context, u *auth.User) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.ids = append(h.ids, u.ID)
}

// TestOnboardedAccountAnnounced: an account onboarded through the registry's constructor
// reaches auth's hooks as a registration does, so with the auth+comms glue its unconfirmed
// address gets a verification link. It used to get the welcome alone, and with
// AUTH_REQUIRE_VERIFIED_EMAIL its logins were refused, asking for a link never sent.
func TestOnboardedAccountAnnounced(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		b := setup(t, db, true)
		h := &registered{}
		a, err := auth.NewAuthServiceWith(db, b.users, authSettings.WithDefaults(), &auth.AuthOpts{Logger: quiet, Hooks: h})
		if err != nil {
			t.Fatal(err)
		}
		svc, err := NewService(t.Context(), db, a, b.comms, b.events, b.cache, Settings{LoginURL: "https://app.example.com/login"})
		if err != nil {
			t.Fatal(err)
		}
		res, err := svc.CreateUserWithWelcome(t.Context(), ada)
		if err != nil {
			t.Fatal(err)
		}
		h.mu.Lock()
		defer h.mu.Unlock()
		if len(h.ids) != 1 || h.ids[0] != res.User.ID {
			t.Fatalf("the hooks heard of %v, want [%d]", h.ids, res.User.ID)
		}
		if res.User.EmailVerified() {
			t.Error("an onboarded address counts as confirmed")
		}
	})
}
