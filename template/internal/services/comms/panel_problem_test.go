package comms

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aegisgo/aegis/template/internal/components/frontend"
	"github.com/aegisgo/aegis/template/internal/components/frontend/frontendtest"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
)

// errDriver is a store's failure as pgx words it: it names the database user and database.
var errDriver = errors.New("failed to connect to `user=postgres database=secret`: dial tcp 127.0.0.1:5432: connect: connection refused")

// failingStore is a MemoryStore whose reads fail with errDriver once failing is set.
type failingStore struct {
	*MemoryStore
	failing atomic.Bool
}

func (f *failingStore) Get(ctx context.Context, id ID) (Record, error) {
	if f.failing.Load() {
		return Record{}, errDriver
	}
	return f.MemoryStore.Get(ctx, id)
}

func (f *failingStore) List(ctx context.Context, p ListParams) ([]Record, error) {
	if f.failing.Load() {
		return nil, errDriver
	}
	return f.MemoryStore.List(ctx, p)
}

// TestPanelHidesStoreErrors: the panel and its resend word a failed query of the store with
// the dashboard's ErrorWording (the database's, in the app, where commsdb is the store), not
// with the driver's text, which names the database user and database. Before, both showed it.
func TestPanelHidesStoreErrors(t *testing.T) {
	t.Parallel()
	store := &failingStore{MemoryStore: NewMemoryStore(10)}
	svc, err := New(Settings{}, &Opts{Store: store})
	if err != nil {
		t.Fatal(err)
	}
	id, err := svc.Send(t.Context(), Message{To: []string{"ada@example.com"}, Subject: "Hi", Text: "Hello"})
	if err != nil {
		t.Fatal(err)
	}
	wording := func(_ *registry.Container, err error) string {
		if errors.Is(err, errDriver) {
			return "127.0.0.1:5432 refused the connection"
		}
		return ""
	}
	h := frontendtest.Handler(t, &frontend.Opts{Wording: wording}, func(r *registry.Registry) error { return registry.Value(r, svc) })
	b := frontendtest.NewBrowser(t, h)
	b.Get("/dashboard/panels/comms") // the form's CSRF token
	store.failing.Store(true)

	for _, tc := range []struct{ name, body, says string }{
		{"panel", b.Get("/dashboard/panels/comms"), "cannot list messages: 127.0.0.1:5432 refused the connection"},
		{"resend", b.Submit("/dashboard/panels/comms/actions/resend", url.Values{"id": {string(id)}}), "message " + string(id) + " was not resent: 127.0.0.1:5432 refused the connection"},
	} {
		if !strings.Contains(tc.body, tc.says) {
			t.Errorf("%s does not say %q:\n%s", tc.name, tc.says, tc.body)
		}
		if strings.Contains(tc.body, "user=") || strings.Contains(tc.body, "secret") {
			t.Errorf("%s shows the driver's text:\n%s", tc.name, tc.body)
		}
	}
}
