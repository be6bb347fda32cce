package backend

import (
	"net/http"
	"strings"
	"testing"

	"github.com/aegisgo/aegis/template/internal/runtime/registry"
)

// TestHealthDetailsAccess: in production the detailed report and the
// service graph name hosts, users, paths and instance IDs, so without
// credentials /health/detailed answers the status alone and
// /health/services refuses; HEALTH_DETAILS_TOKEN (or a contributed
// HealthAccess check, such as the dashboard's login) opens them.
// Development and the probes stay open.
func TestHealthDetailsAccess(t *testing.T) {
	t.Parallel()
	const token = "t0ken-for-health-details-0123456789"
	secret := "db.internal:5432"
	dashboard := HealthAccess(func(r *http.Request) bool {
		u, p, ok := r.BasicAuth()
		return ok && u == "admin" && p == "pw"
	})
	tests := []struct {
		name        string
		production  bool
		token       string
		access      []HealthAccess
		header      http.Header
		wantDetails bool
	}{
		{name: "development", wantDetails: true},
		{name: "production, no credentials", production: true, token: token},
		{name: "production, no token configured", production: true, header: http.Header{"Authorization": {"Bearer "}}},
		{name: "production, wrong token", production: true, token: token, header: http.Header{"Authorization": {"Bearer nope"}}},
		{name: "production, token as basic password", production: true, token: token, header: http.Header{"Authorization": {"Basic " + token}}},
		{name: "production, token", production: true, token: token, header: http.Header{"Authorization": {"Bearer " + token}}, wantDetails: true},
		{name: "production, lower-case scheme", production: true, token: token, header: http.Header{"Authorization": {"bearer " + token}}, wantDetails: true},
		{name: "production, contributed check refuses", production: true, access: []HealthAccess{dashboard}},
		{name: "production, contributed check admits", production: true, access: []HealthAccess{dashboard},
			header: http.Header{"Authorization": {"Basic YWRtaW46cHc="}}, wantDetails: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := setup(t, setupOpts{production: tt.production, access: tt.access,
				settings: Settings{HealthDetailsToken: tt.token},
				services: []service{{name: "db", status: registry.StatusUnhealthy, message: "cannot reach " + secret}}})

			det := f.do(t, http.MethodGet, DetailedPath, nil, tt.header)
			if det.Code != http.StatusServiceUnavailable {
				t.Errorf("GET %s = %d, want 503 (the status is always told)", DetailedPath, det.Code)
			}
			body := det.Body.String()
			if got := strings.Contains(body, secret) || strings.Contains(body, `"checks"`); got != tt.wantDetails {
				t.Errorf("GET %s shows details = %v, want %v: %s", DetailedPath, got, tt.wantDetails, body)
			}
			if !strings.Contains(body, `"status":"unhealthy"`) {
				t.Errorf("GET %s body %s lacks the status", DetailedPath, body)
			}

			svc := f.do(t, http.MethodGet, ServicesPath, nil, tt.header)
			if tt.wantDetails {
				if svc.Code != http.StatusOK || !strings.Contains(svc.Body.String(), `"db"`) {
					t.Errorf("GET %s = %d %s, want 200 with the graph", ServicesPath, svc.Code, svc.Body)
				}
			} else {
				p := problem(t, svc, http.StatusUnauthorized)
				if strings.Contains(svc.Body.String(), `"db"`) {
					t.Errorf("GET %s refused but shows the graph: %+v", ServicesPath, p)
				}
				if svc.Header().Get("WWW-Authenticate") == "" {
					t.Errorf("GET %s: 401 without WWW-Authenticate", ServicesPath)
				}
			}

			for _, p := range []string{LivePath, ReadyPath} {
				if rec := f.do(t, http.MethodGet, p, nil, nil); rec.Code == http.StatusUnauthorized {
					t.Errorf("GET %s = 401; the probes stay open", p)
				}
			}
		})
	}
}
