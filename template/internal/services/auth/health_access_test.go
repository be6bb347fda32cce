package auth

import (
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aegisgo/aegis/template/internal/components/backend"
	"github.com/aegisgo/aegis/template/internal/components/database"
	"github.com/aegisgo/aegis/template/internal/components/database/databasetest"
	"github.com/aegisgo/aegis/template/internal/components/frontend"
	"github.com/aegisgo/aegis/template/internal/config"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
	"github.com/aegisgo/aegis/template/internal/runtime/registry/registrytest"
)

// TestHealthDetailsWithDashboardSession: in a production app whose
// dashboard signs operators in with this service (the backend and the
// dashboard registered as in the app, this service's Authenticator
// contributed), the cookie of an admin's dashboard session opens the
// details of /health/detailed and /health/services; no cookie, a forged
// one, a non-admin's session and a session logged out get the status
// alone. Reading the health does not count as the operator's activity.
func TestHealthDetailsWithDashboardSession(t *testing.T) {
	// Settings come from the environment, as in the app: no dashboard
	// credentials, no health token.
	for _, k := range []string{"DASHBOARD_USERNAME", "DASHBOARD_PASSWORD", "DASHBOARD_SECRET", "ALLOWED_HOSTS", "HEALTH_DETAILS_TOKEN", "TRUSTED_PROXIES", "BASE_URL"} {
		t.Setenv(k, "")
	}
	authenticator := registry.Contributions[frontend.AuthenticatorFunc](registry.Default)
	if len(authenticator) != 1 {
		t.Fatalf("%d Authenticators contributed from init(), want this service's", len(authenticator))
	}
	databasetest.Engines(t, func(t *testing.T, db *database.DB) {
		users, a := newServices(t, db, testSettings(), AuthOpts{})
		c := registrytest.Start(t, registry.New(), func(r *registry.Registry) error {
			registry.Contribute(r, Name, authenticator[0].Value)
			return errors.Join(
				backend.Register(r),
				frontend.Register(r),
				registry.Value(r, config.Core{Env: config.EnvProduction, LogLevel: "info"}),
				registry.Value(r, users),
				registry.Value(r, a),
			)
		})
		srv, err := registry.Get[*backend.Server](c)
		if err != nil {
			t.Fatal(err)
		}
		h, err := srv.Handler(c, &backend.HandlerOpts{Title: "app", Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}

		session := func(login string, role string) string {
			t.Helper()
			createUser(t, users, CreateUserParams{Email: login + "@example.com", Username: login, Password: goodPassword, Role: role})
			token, _, err := a.DashboardLogin(t.Context(), LoginParams{Login: login, Password: goodPassword, IP: "203.0.113.9"})
			if err != nil {
				t.Fatal(err)
			}
			return token
		}
		admin, member := session("root", RoleAdmin), session("member", RoleUser)
		get := func(path, cookie string) *httptest.ResponseRecorder {
			t.Helper()
			req := httptest.NewRequestWithContext(t.Context(), http.MethodGet, path, nil)
			req.RemoteAddr, req.Host = "203.0.113.9:5555", "app.example.com"
			if cookie != "" {
				req.AddCookie(&http.Cookie{Name: "aegis_dashboard_session", Value: cookie})
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			return rec
		}
		details := func(cookie string) bool {
			t.Helper()
			rec := get(backend.DetailedPath, cookie)
			if !strings.Contains(rec.Body.String(), `"status":`) {
				t.Fatalf("GET %s = %d %s, want the status", backend.DetailedPath, rec.Code, rec.Body)
			}
			return strings.Contains(rec.Body.String(), `"checks"`)
		}

		// The cookie name is the dashboard's: its pages take the same one.
		if rec := get(frontend.OverviewPath, admin); rec.Code != http.StatusOK {
			t.Fatalf("GET / with the admin's session = %d, want 200 (is the cookie name right?)", rec.Code)
		}
		for name, cookie := range map[string]string{"no cookie": "", "a forged cookie": "forged-" + admin, "a non-admin's session": member} {
			if details(cookie) {
				t.Errorf("with %s the details are shown", name)
			}
		}
		if !details(admin) {
			t.Error("an admin's dashboard session does not show the details")
		}
		if rec := get(backend.ServicesPath, admin); rec.Code != http.StatusOK {
			t.Errorf("GET %s with an admin's dashboard session = %d, want 200", backend.ServicesPath, rec.Code)
		}
		if err := a.DashboardLogout(t.Context(), admin); err != nil {
			t.Fatal(err)
		}
		if details(admin) {
			t.Error("a logged-out session still shows the details")
		}
	})
}
