package scheduler

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

// failingStore is a memoryStore whose reads, or claims, fail with errDriver once failing is set.
type failingStore struct {
	*memoryStore
	failing atomic.Bool
}

func (f *failingStore) Last(ctx context.Context) (map[string]Run, error) {
	if f.failing.Load() {
		return nil, errDriver
	}
	return f.memoryStore.Last(ctx)
}

func (f *failingStore) Claim(ctx context.Context, r Run) (bool, error) {
	if f.failing.Load() {
		return false, errDriver
	}
	return f.memoryStore.Claim(ctx, r)
}

// TestPanelHidesStoreErrors: the panel and "Run now" word a failed query of the store with the
// dashboard's ErrorWording (the database's, in the app), not with the driver's text, which
// names the database user and database. Before, both showed the text.
func TestPanelHidesStoreErrors(t *testing.T) {
	store := &failingStore{memoryStore: newMemoryStore()}
	sch, err := New(Settings{}, &Opts{Store: store})
	if err != nil {
		t.Fatal(err)
	}
	wording := func(_ *registry.Container, err error) string {
		if errors.Is(err, errDriver) {
			return "127.0.0.1:5432 refused the connection"
		}
		return ""
	}
	h := frontendtest.Handler(t, &frontend.Opts{Wording: wording}, func(r *registry.Registry) error {
		return registry.Value(r, sch, registry.Component(Name))
	})
	b := frontendtest.NewBrowser(t, h)
	b.Get("/dashboard/panels/scheduler") // the form's CSRF token
	store.failing.Store(true)

	for _, tc := range []struct{ name, body, says string }{
		{"panel", b.Get("/dashboard/panels/scheduler"), "cannot read the jobs&#39; runs: 127.0.0.1:5432 refused the connection"},
		{"run now", b.Submit("/dashboard/panels/scheduler/actions/run", url.Values{"job": {"test_cron"}}), "job test_cron was not started: 127.0.0.1:5432 refused the connection"},
	} {
		if !strings.Contains(tc.body, tc.says) {
			t.Errorf("%s does not say %q:\n%s", tc.name, tc.says, tc.body)
		}
		if strings.Contains(tc.body, "user=") || strings.Contains(tc.body, "secret") {
			t.Errorf("%s shows the driver's text:\n%s", tc.name, tc.body)
		}
	}
}
