package analyticscache

import (
	"context"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/aegisgo/aegis/template/internal/components/cache/cachetest"
	"github.com/aegisgo/aegis/template/internal/components/database"
	"github.com/aegisgo/aegis/template/internal/components/database/databasetest"
	"github.com/aegisgo/aegis/template/internal/components/frontend/frontendtest"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
	"github.com/aegisgo/aegis/template/internal/services/analytics"
)

// TestIngestLimitAcrossInstances: two instances of an app (an analytics service and a cache
// client each) on one database and one Redis count ANALYTICS_INGEST_IP_LIMIT together, so a
// client spreading its batches over the instances gets the limit, not twice it; another
// address keeps its own count. Without Redis (cache in memory) each counts alone.
func TestIngestLimitAcrossInstances(t *testing.T) {
	t.Parallel()
	caches := cachetest.RedisInstances(t, 2)
	db := databasetest.New(t, database.SQLite)
	const limit = 3
	s := analytics.Settings{IngestIPLimit: limit, IngestWindow: time.Minute, FlushInterval: time.Hour}.WithDefaults()
	quiet := slog.New(slog.DiscardHandler)
	var handlers [2]http.Handler
	for i, c := range caches {
		svc, err := analytics.New(db, s, &analytics.Opts{Limits: c.RateLimits(), Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		if err := svc.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = svc.Stop(context.Background()) })
		handlers[i] = frontendtest.Handler(t, nil, func(r *registry.Registry) error { return registry.Value(r, svc) })
	}
	post := func(i int, addr string) int {
		req := frontendtest.NewRequest(t, http.MethodPost, analytics.EventsPath,
			map[string]any{"events": []map[string]any{{"name": "ping"}}}, nil)
		req.RemoteAddr = addr
		return frontendtest.Serve(handlers[i%2], req).Code
	}
	for i := range limit + 2 {
		want := http.StatusAccepted
		if i >= limit {
			want = http.StatusTooManyRequests
		}
		if got := post(i, "203.0.113.7:1234"); got != want {
			t.Fatalf("batch %d from one address through instance %d: %d, want %d (limit %d across both)", i+1, i%2+1, got, want, limit)
		}
	}
	if got := post(1, "198.51.100.1:1"); got != http.StatusAccepted {
		t.Errorf("another address: %d, want 202", got)
	}
}
