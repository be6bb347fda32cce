package cache_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/aegisgo/aegis/template/internal/components/cache"
	"github.com/aegisgo/aegis/template/internal/components/cache/cachetest"
	"github.com/aegisgo/aegis/template/internal/components/frontend"
	"github.com/aegisgo/aegis/template/internal/components/frontend/frontendtest"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
)

// TestDashboardLimitsAcrossInstances: two dashboards (the frontend component
// of two instances) given the Redis store count failed basic-auth sign-ins
// together: wrong passwords for one user name spread over both are refused
// past the limit (10), not past twice it.
func TestDashboardLimitsAcrossInstances(t *testing.T) {
	t.Parallel()
	store := cache.New(cachetest.NewRedisStore(t), nil).RateLimits()
	const password = "correct horse battery staple"
	var dashboards [2]http.Handler
	for i := range dashboards {
		dashboards[i] = frontendtest.Handler(t, &frontend.Opts{Production: true,
			Settings: frontend.Settings{Username: "admin", Password: password}, Limits: store}, func(*registry.Registry) error { return nil })
	}
	const userLimit = 10 // frontend's basicAuthUserLimit
	for i := range 2*userLimit + 2 {
		req := httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/dashboard/graph", nil)
		req.RemoteAddr = fmt.Sprintf("198.51.100.%d:5000", i+1) // the per-IP limit stays out of it
		req.SetBasicAuth("admin", fmt.Sprint("guess-", i))
		rec := frontendtest.Serve(dashboards[i%2], req)
		want := http.StatusUnauthorized
		if i >= userLimit {
			want = http.StatusTooManyRequests
		}
		if rec.Code != want {
			t.Fatalf("guess %d through instance %d = %d, want %d", i+1, i%2+1, rec.Code, want)
		}
	}
}
