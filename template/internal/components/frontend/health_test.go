package frontend

import (
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

// TestHealthDetailsWithDashboardCredentials: in a production app built as
// the app builds it (the real registrations of the backend and the
// dashboard, settings from the environment), the dashboard's basic-auth
// credentials open the health details; without them, or with wrong ones,
// /health/detailed tells the status alone. A wrong password counts against
// the dashboard's own sign-in limits, so past them even the right one opens
// nothing, on the health endpoints and on the dashboard alike.
func TestHealthDetailsWithDashboardCredentials(t *testing.T) {
	const user, pass = "ops", "a long dashboard passphrase"
	for k, v := range map[string]string{
		"DASHBOARD_USERNAME": user, "DASHBOARD_PASSWORD": pass, "DASHBOARD_SECRET": "", "ALLOWED_HOSTS": "",
		"HEALTH_DETAILS_TOKEN": "", "TRUSTED_PROXIES": "", "BASE_URL": "",
	} {
		t.Setenv(k, v)
	}
	r := registry.New()
	if err := backend.Register(r); err != nil {
		t.Fatal(err)
	}
	if err := Register(r); err != nil {
		t.Fatal(err)
	}
	if err := registry.Value(r, config.Core{Env: config.EnvProduction, LogLevel: "info"}); err != nil {
		t.Fatal(err)
	}
	c := registrytest.Start(t, r)
	srv, err := registry.Get[*backend.Server](c)
	if err != nil {
		t.Fatal(err)
	}
	h, err := srv.Handler(c, &backend.HandlerOpts{Title: "app", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	const remote = "203.0.113.7:4321"
	get := func(path string, auth func(*http.Request)) *httptest.ResponseRecorder {
		t.Helper()
		req := httptest.NewRequestWithContext(t.Context(), http.MethodGet, path, nil)
		req.RemoteAddr, req.Host = remote, "app.example.com"
		if auth != nil {
			auth(req)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	basic := func(u, p string) func(*http.Request) { return func(r *http.Request) { r.SetBasicAuth(u, p) } }
	details := func(auth func(*http.Request)) bool {
		t.Helper()
		rec := get(backend.DetailedPath, auth)
		if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"status":"healthy"`) {
			t.Fatalf("GET %s = %d %s, want 200 with the status", backend.DetailedPath, rec.Code, rec.Body)
		}
		return strings.Contains(rec.Body.String(), `"checks"`)
	}

	if details(nil) {
		t.Error("without credentials the details are shown")
	}
	if details(func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+pass) }) {
		t.Error("the dashboard password as a bearer token shows the details")
	}
	if !details(basic(user, pass)) {
		t.Error("the dashboard's credentials do not show the details")
	}
	if rec := get(backend.ServicesPath, basic(user, pass)); rec.Code != http.StatusOK {
		t.Errorf("GET %s with the dashboard's credentials = %d, want 200", backend.ServicesPath, rec.Code)
	}

	// Wrong passwords: the status alone, and each one counted by the
	// dashboard's limiter, until the name is limited.
	for i := range basicAuthUserLimit {
		if details(basic(user, "wrong guess "+string(rune('a'+i)))) {
			t.Fatalf("wrong password %d shows the details", i+1)
		}
	}
	if details(basic(user, pass)) {
		t.Error("past the limit of failed sign-ins the right password still shows the details")
	}
	if rec := get(OverviewPath, basic(user, pass)); rec.Code != http.StatusTooManyRequests {
		t.Errorf("GET / with the right password after %d wrong ones on %s = %d, want 429: the health endpoints must count against the same limit",
			basicAuthUserLimit, backend.DetailedPath, rec.Code)
	}
}
