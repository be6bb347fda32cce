package onboarding

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"

	"github.com/aegisgo/aegis/template/internal/components/cache"
	"github.com/aegisgo/aegis/template/internal/components/database"
	"github.com/aegisgo/aegis/template/internal/components/database/databasetest"
	"github.com/aegisgo/aegis/template/internal/services/analytics"
	"github.com/aegisgo/aegis/template/internal/services/auth"
	"github.com/aegisgo/aegis/template/internal/services/comms"
)

// fakeMailer stands in for comms: it records the welcomes instead of sending them, and
// fails while down is set.
type fakeMailer struct {
	mu        sync.Mutex
	down      bool
	welcomes  []string // recipients of the welcomes sent
	delivered []comms.ID
}

func (f *fakeMailer) SendTemplate(_ context.Context, name, to string, _ any) (comms.ID, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return "", errors.New("mail server down")
	}
	f.welcomes = append(f.welcomes, name+" to "+to)
	return comms.ID("fake-" + to), nil
}

func (f *fakeMailer) Deliver(_ context.Context, id comms.ID) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.delivered = append(f.delivered, id)
	return nil
}

// TestWelcomeWithFakeMailer composes the service with a fake in place of comms: the real
// accounts, analytics and cache on a real database, and a mailer the test can read and
// break.
func TestWelcomeWithFakeMailer(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		ctx := t.Context()
		users, err := auth.NewUserServiceWith(db, authSettings)
		if err != nil {
			t.Fatal(err)
		}
		events, err := analytics.New(db, analytics.Settings{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		c := cache.New(cache.NewMemory(nil), nil)
		mail := &fakeMailer{}
		svc, err := New(db, Collaborators{Users: users, Mailer: mail, Tracker: events, Cache: c}, Settings{}, nil)
		if err != nil {
			t.Fatal(err)
		}

		if _, err := svc.CreateUserWithWelcome(ctx, NewUser{Email: "ada@example.com", Username: "ada", Password: password}); err != nil {
			t.Fatal(err)
		}
		mail.down = true
		res, err := svc.CreateUserWithWelcome(ctx, NewUser{Email: "bob@example.com", Username: "bob", Password: password})
		if err != nil || !slices.Equal(res.Pending, []Step{StepWelcome}) {
			t.Fatalf("with the mailer down: %+v, %v", res, err)
		}

		mail.down = false
		if r, err := svc.Retry(ctx, true); err != nil || r.Completed != 1 {
			t.Fatalf("retry: %+v, %v", r, err)
		}
		want := []string{"welcome to ada@example.com", "welcome to bob@example.com"}
		if !slices.Equal(mail.welcomes, want) {
			t.Errorf("welcomes %v, want %v", mail.welcomes, want)
		}
	})
}
