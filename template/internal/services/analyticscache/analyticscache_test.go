package analyticscache

import (
	"context"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/aegisgo/aegis/template/internal/components/cache"
	"github.com/aegisgo/aegis/template/internal/components/database"
	"github.com/aegisgo/aegis/template/internal/components/database/databasetest"
	"github.com/aegisgo/aegis/template/internal/services/analytics"
)

// countingIdentity counts how often the accounts are counted.
type countingIdentity struct{ calls atomic.Int64 }

func (*countingIdentity) UserID(context.Context) (string, bool)                { return "", false }
func (*countingIdentity) Authenticate() func(huma.Context, func(huma.Context)) { return nil }
func (*countingIdentity) RequireAdmin() func(huma.Context, func(huma.Context)) { return nil }
func (c *countingIdentity) UserStats(context.Context) (analytics.UserCounts, error) {
	c.calls.Add(1)
	return analytics.UserCounts{Total: 4, Active: 3}, nil
}

// TestMemo: the user statistics are computed once per ANALYTICS_CACHE_TTL through the cache,
// and read back whole.
func TestMemo(t *testing.T) {
	t.Parallel()
	svc, id := statsOver(t, cache.New(cache.NewMemory(nil), nil))
	for range 3 {
		st, err := svc.UserStats(t.Context(), 30)
		if err != nil {
			t.Fatal(err)
		}
		if st.TotalUsers != 4 || st.ActiveUsers != 3 || st.InactiveUsers != 1 || st.ActivityRate != 0.75 {
			t.Errorf("stats %+v", st)
		}
	}
	if n := id.calls.Load(); n != 1 {
		t.Errorf("accounts counted %d times, want once (cached)", n)
	}
	// Another number of days is another key.
	if _, err := svc.UserStats(t.Context(), 7); err != nil || id.calls.Load() != 2 {
		t.Errorf("stats for 7 days: %v, %d computations", err, id.calls.Load())
	}
}

// TestMemoCacheDown: with the cache's store failing (closed here; Redis unreachable in
// production), the user statistics are still answered, computed from the accounts on every
// call, instead of failing the request: the cache only saves work.
func TestMemoCacheDown(t *testing.T) {
	t.Parallel()
	store := cache.NewMemory(nil)
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}
	svc, id := statsOver(t, cache.New(store, &cache.Opts{Logger: slog.New(slog.DiscardHandler)}))
	for range 2 {
		st, err := svc.UserStats(t.Context(), 30)
		if err != nil {
			t.Fatalf("UserStats with the cache down: %v", err)
		}
		if st.TotalUsers != 4 || st.ActiveUsers != 3 {
			t.Errorf("stats %+v, want 4 users, 3 active", st)
		}
	}
	if n := id.calls.Load(); n != 2 {
		t.Errorf("accounts counted %d times with the cache down, want 2 (once per call)", n)
	}
}

// statsOver is an analytics service on SQLite whose user statistics are memoised in c, and the
// identity that counts how often they are computed.
func statsOver(t *testing.T, c *cache.Cache) (*analytics.Service, *countingIdentity) {
	t.Helper()
	memo, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	id := &countingIdentity{}
	svc, err := analytics.New(databasetest.New(t, database.SQLite), analytics.Settings{CacheTTL: time.Hour}, &analytics.Opts{Identity: id, Memo: memo})
	if err != nil {
		t.Fatal(err)
	}
	return svc, id
}
