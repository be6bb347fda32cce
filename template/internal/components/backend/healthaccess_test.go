package backend

import (
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
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
	dashboard := admits(func(r *http.Request) bool {
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

// admits is a HealthAccess whose check is admit, needing nothing from the
// container.
func admits(admit func(*http.Request) bool) HealthAccess {
	return func(*registry.Container) (func(*http.Request) bool, error) { return admit, nil }
}

// TestHealthAccessResolution: a contributed HealthAccess is resolved once,
// when Handler builds the handler, on the container it is given (not per
// request); a nil check is skipped, and one that cannot be resolved fails
// Handler, naming the contribution, rather than leaving the details closed
// without a word.
func TestHealthAccessResolution(t *testing.T) {
	t.Parallel()
	var resolved, asked atomic.Int32
	var seen *registry.Container
	counting := HealthAccess(func(c *registry.Container) (func(*http.Request) bool, error) {
		resolved.Add(1)
		seen = c
		return func(r *http.Request) bool {
			asked.Add(1)
			return r.Header.Get("X-Operator") == "yes"
		}, nil
	})
	nothing := HealthAccess(func(*registry.Container) (func(*http.Request) bool, error) { return nil, nil })
	f := setup(t, setupOpts{production: true, access: []HealthAccess{nothing, counting}})
	if got := resolved.Load(); got != 1 {
		t.Fatalf("HealthAccess resolved %d times by Handler, want 1", got)
	}
	if seen != f.c {
		t.Errorf("HealthAccess resolved on %p, want the handler's container %p", seen, f.c)
	}
	for range 3 {
		if rec := f.do(t, http.MethodGet, DetailedPath, nil, nil); strings.Contains(rec.Body.String(), `"checks"`) {
			t.Errorf("GET %s without the header shows details: %s", DetailedPath, rec.Body)
		}
	}
	if rec := f.do(t, http.MethodGet, DetailedPath, nil, http.Header{"X-Operator": {"yes"}}); !strings.Contains(rec.Body.String(), `"checks"`) {
		t.Errorf("GET %s admitted by the check shows no details: %s", DetailedPath, rec.Body)
	}
	if got := resolved.Load(); got != 1 {
		t.Errorf("HealthAccess resolved %d times after requests, want once", got)
	}
	if got := asked.Load(); got != 4 {
		t.Errorf("the check was asked %d times, want 4 (once per request)", got)
	}

	srv := NewServer(Settings{})
	srv.access = registry.All[HealthAccess]{{Name: "broken", Value: func(*registry.Container) (func(*http.Request) bool, error) {
		return nil, errors.New("not started")
	}}}
	_, err := srv.Handler(f.c, nil)
	if err == nil || !strings.Contains(err.Error(), `"broken"`) || !strings.Contains(err.Error(), "not started") {
		t.Errorf("Handler with a HealthAccess that fails = %v, want an error naming it and its cause", err)
	}
}
