package observability

import (
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aegisgo/aegis/template/internal/components/backend"
	"github.com/aegisgo/aegis/template/internal/config"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
	"github.com/aegisgo/aegis/template/internal/runtime/registry/registrytest"
)

// TestRegister builds the component as the app does, on a fresh registry with the backend:
// the server finds the component's Telemetry itself (registry.Maybe) and serves /metrics.
// It installs OpenTelemetry's globals, as the app does.
func TestRegister(t *testing.T) {
	c := registrytest.Start(t, registry.New(), func(r *registry.Registry) error {
		return errors.Join(backend.Register(r), Register(r), registry.Value(r, config.Core{}, registry.Hidden()))
	})
	srv, err := registry.Get[*backend.Server](c)
	if err != nil {
		t.Fatal(err)
	}
	h, err := srv.Handler(c, &backend.HandlerOpts{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	get(t, ts.URL+"/health/ready", nil)
	resp, body := get(t, ts.URL+MetricsPath, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: status %d: %s", resp.StatusCode, body)
	}
	if !strings.Contains(body, `http_server_requests_total{http_request_method="GET",http_response_status_code="200",http_route="/health/ready"`) {
		t.Errorf("/metrics does not count GET /health/ready:\n%s", body)
	}
}
