package observabilitycache

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aegisgo/aegis/template/internal/components/cache"
	"github.com/aegisgo/aegis/template/internal/components/observability"
)

// TestCacheMetrics: two hits and one miss on the in-memory cache show at /metrics. The SDK is
// installed as OpenTelemetry's globals, as the app does, after the cache started: the global
// meter provider hands the cache's counters over.
func TestCacheMetrics(t *testing.T) {
	ctx := t.Context()
	c := cache.New(cache.NewMemory(nil), nil)
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Stop(context.Background()) })
	obs, err := observability.New(ctx, observability.Settings{}, &observability.Opts{Global: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = obs.Stop(context.Background()) })

	cache.Set(ctx, c, "k", "v", 0)
	for _, key := range []string{"k", "k", "absent"} {
		_, _, _ = cache.Get[string](ctx, c, key)
	}
	req := httptest.NewRequest(http.MethodGet, observability.MetricsPath, nil)
	req.RemoteAddr = "127.0.0.1:40000"
	rec := httptest.NewRecorder()
	obs.MetricsHandler().ServeHTTP(rec, req)
	for _, want := range []string{`cache_hits_total{cache_backend="memory"`, `cache_misses_total{cache_backend="memory"`, `cache_failures_total{cache_backend="memory"`} {
		if !strings.Contains(rec.Body.String(), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	for _, line := range strings.Split(rec.Body.String(), "\n") {
		if strings.HasPrefix(line, "cache_hits_total{") && !strings.HasSuffix(line, " 2") {
			t.Errorf("hits: %s, want 2", line)
		}
		if strings.HasPrefix(line, "cache_misses_total{") && !strings.HasSuffix(line, " 1") {
			t.Errorf("misses: %s, want 1", line)
		}
	}
}
