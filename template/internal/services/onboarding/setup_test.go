package onboarding

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aegisgo/aegis/template/internal/components/cache"
	"github.com/aegisgo/aegis/template/internal/components/database"
	"github.com/aegisgo/aegis/template/internal/services/analytics"
	"github.com/aegisgo/aegis/template/internal/services/auth"
	"github.com/aegisgo/aegis/template/internal/services/auth/authtest"
	"github.com/aegisgo/aegis/template/internal/services/comms"
)

const password = authtest.Password

// quiet is a logger for services whose warnings the test provokes.
var quiet = slog.New(slog.DiscardHandler)

// authSettings hash with cheap argon2id parameters: the tests create many accounts.
var authSettings = auth.Settings{Secret: strings.Repeat("k", 40), Argon2MemoryKiB: 64, Argon2Iterations: 1, Argon2Parallelism: 1}

// flakyEmail is an email provider for the real comms service that fails while err is set
// and counts what it delivered.
type flakyEmail struct {
	mu   sync.Mutex
	err  error
	sent []*comms.Message
}

func (f *flakyEmail) Name() string { return "flaky" }

func (f *flakyEmail) SendEmail(_ context.Context, m *comms.Message) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return "", f.err
	}
	f.sent = append(f.sent, m)
	return "flaky-" + string(rune('0'+len(f.sent))), nil
}

func (f *flakyEmail) fail(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.err = err
}

// sentTo returns the recipients of what was delivered, in order.
func (f *flakyEmail) sentTo() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var to []string
	for _, m := range f.sent {
		to = append(to, m.To...)
	}
	return to
}

// bundle is what a test composes: the real services on one database.
type bundle struct {
	db     *database.DB
	users  *auth.UserService
	comms  *comms.Service
	email  *flakyEmail
	events *analytics.Service
	cache  *cache.Cache
	svc    *Service
}

// setup returns the real auth, comms (with the flaky provider, or the development outbox
// when outbox), analytics and cache services on db, and the Service composing them.
func setup(t *testing.T, db *database.DB, outbox bool) *bundle {
	t.Helper()
	b := &bundle{db: db, email: &flakyEmail{}}
	var err error
	if b.users, err = auth.NewUserServiceWith(db, authSettings); err != nil {
		t.Fatal(err)
	}
	opts := &comms.Opts{Email: b.email, Logger: quiet}
	if outbox {
		opts.Email = nil // COMMS_EMAIL_PROVIDER's default: the outbox
	}
	if b.comms, err = comms.New(comms.Settings{}, opts); err != nil {
		t.Fatal(err)
	}
	if b.events, err = analytics.New(db, analytics.Settings{}, &analytics.Opts{Logger: quiet}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.events.Stop(context.Background()) })
	b.cache = cache.New(cache.NewMemory(nil), nil)
	t.Cleanup(func() { _ = b.cache.Stop(context.Background()) })
	b.svc = b.compose(t, b.cache, b.events, nil)
	return b
}

// compose returns a Service on b's database, users and comms with the given cache, tracker
// and clock.
func (b *bundle) compose(t *testing.T, c *cache.Cache, tr Tracker, now func() time.Time) *Service {
	t.Helper()
	svc, err := New(b.db, Collaborators{Users: b.users, Mailer: b.comms, Tracker: tr, Cache: c},
		Settings{LoginURL: "https://app.example.com/login"}, &Opts{Logger: quiet, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

// userCreated returns how many user_created events analytics stored for userID ("" for any).
func (b *bundle) userCreated(t *testing.T, userID string) int {
	t.Helper()
	if err := b.events.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	recent, err := b.events.Recent(t.Context(), 1000)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range recent {
		if e.Name == EventUserCreated && (userID == "" || e.UserID == userID) {
			n++
		}
	}
	return n
}

// pendingRows counts the rows of onboarding_pending.
func (b *bundle) pendingRows(t *testing.T) int {
	t.Helper()
	n, err := b.db.Bun().NewSelect().Model((*pending)(nil)).Count(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return int(n)
}

// messages returns every message comms recorded.
func (b *bundle) messages(t *testing.T) []comms.Record {
	t.Helper()
	list, err := b.comms.Messages(t.Context(), comms.ListParams{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return list
}

// cached reports whether the profile of id is in the cache's store.
func (b *bundle) cached(t *testing.T, id int64) bool {
	t.Helper()
	ok, err := b.cache.Store().Exists(t.Context(), ProfileKey(id))
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

// failingStore is a cache store whose every operation fails, as Redis does when it is down.
type failingStore struct{ cache.Store }

var errCacheDown = errors.New("cache down")

func (failingStore) Set(context.Context, string, []byte, time.Duration) error { return errCacheDown }
func (failingStore) Get(context.Context, string) ([]byte, bool, error) {
	return nil, false, errCacheDown
}
func (failingStore) Close() error { return nil }
