package backend

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aegisgo/aegis/template/internal/runtime/registry"
	"github.com/aegisgo/aegis/template/internal/runtime/registry/registrytest"
)

func TestLive(t *testing.T) {
	t.Parallel()
	f := setup(t, setupOpts{services: []service{{name: "broken", status: registry.StatusUnhealthy}}})

	rec := f.do(t, http.MethodGet, LivePath, nil, nil)
	if rec.Code != http.StatusOK || rec.Body.String() != "{\"status\":\"ok\"}\n" {
		t.Fatalf("GET %s = %d %q; want 200 {\"status\":\"ok\"} even with an unhealthy service", LivePath, rec.Code, rec.Body)
	}
	for k, want := range map[string]string{"Content-Type": "application/json", "Cache-Control": "no-store", "Content-Length": "16"} {
		if got := rec.Header().Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if rec.Header().Get(RequestIDHeader) == "" {
		t.Error("no X-Request-ID on the live probe")
	}

	head := f.do(t, http.MethodHead, LivePath, nil, nil)
	if head.Code != http.StatusOK || head.Body.Len() != 0 {
		t.Errorf("HEAD = %d with %d body bytes, want 200 and none", head.Code, head.Body.Len())
	}
	problem(t, f.do(t, http.MethodPost, LivePath, nil, nil), http.StatusMethodNotAllowed)

	// Probes are logged at debug only, so an info-level app never logs them.
	for _, r := range f.logs.Records(t, "request") {
		if r["path"] == LivePath && r["level"] != "DEBUG" {
			t.Errorf("probe logged at %v, want DEBUG", r["level"])
		}
	}
}

// discardWriter is the cheapest possible ResponseWriter, so that allocation
// counts measure the handler alone.
type discardWriter struct{ h http.Header }

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (d *discardWriter) WriteHeader(int)             {}

func TestLiveAllocations(t *testing.T) {
	f := setup(t, setupOpts{infoLogs: true})
	req := httptest.NewRequest(http.MethodGet, LivePath, nil)
	req.Header.Set(RequestIDHeader, "probe-1")
	w := &discardWriter{h: http.Header{}}
	// One allocation: the []string holding the echoed request ID.
	if n := testing.AllocsPerRun(200, func() { f.h.ServeHTTP(w, req) }); n > 1 {
		t.Errorf("GET /health/live allocates %.0f times per request, want at most 1", n)
	}
}

func TestReady(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		opts       setupOpts
		drain      bool
		wantStatus int
		wantReason string
	}{
		{name: "healthy", opts: setupOpts{services: []service{{name: "db", status: registry.StatusHealthy}}}, wantStatus: 200},
		{name: "degraded is still ready", opts: setupOpts{services: []service{{name: "cache", status: registry.StatusDegraded}}}, wantStatus: 200},
		{name: "optional unhealthy is still ready", opts: setupOpts{services: []service{{name: "mailer", status: registry.StatusUnhealthy, optional: true}}}, wantStatus: 200},
		{name: "required unhealthy", opts: setupOpts{services: []service{{name: "db", status: registry.StatusUnhealthy}, {name: "ok", status: registry.StatusHealthy}}}, wantStatus: 503, wantReason: "unhealthy: db"},
		{name: "hung check", opts: setupOpts{services: []service{{name: "stuck", hang: true}}, settings: Settings{HealthTimeout: time.Second}}, wantStatus: 503, wantReason: "unhealthy: stuck"},
		{name: "not started", opts: setupOpts{noStart: true}, wantStatus: 503, wantReason: "not started: backend is registered"},
		{name: "draining", opts: setupOpts{}, drain: true, wantStatus: 503, wantReason: "shutting down"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := setup(t, tt.opts)
			if tt.drain {
				f.srv.state.Store(stateDraining)
			}
			rec := f.do(t, http.MethodGet, ReadyPath, nil, nil)
			if rec.Code != tt.wantStatus {
				t.Fatalf("status = %d, want %d; body %s", rec.Code, tt.wantStatus, rec.Body)
			}
			body := decode[ReadyBody](t, rec)
			if tt.wantStatus == 200 && body.Status != "ready" {
				t.Errorf("body = %+v, want ready", body)
			}
			if tt.wantStatus == 503 && (body.Status != "not_ready" || body.Reason != tt.wantReason) {
				t.Errorf("body = %+v, want not_ready because %q", body, tt.wantReason)
			}
		})
	}
}

func TestDetailed(t *testing.T) {
	t.Parallel()
	f := setup(t, setupOpts{
		// Long enough that the quick checks always finish on a loaded CI
		// machine; the stuck one is released only when the test ends, so the
		// request returning at all proves the endpoint does not await it.
		settings: Settings{HealthTimeout: time.Second},
		services: []service{
			{name: "db", status: registry.StatusHealthy},
			{name: "mailer", status: registry.StatusUnhealthy, optional: true},
			{name: "stuck", hang: true},
		},
	})
	rec := f.do(t, http.MethodGet, DetailedPath, nil, nil)
	if rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("status = %d, want 503 with a hung required service; body %s", rec.Code, rec.Body)
	}
	// Decoded the way `app health status` does, through registry.Report.
	rep := decode[registry.Report](t, rec)
	if rep.Status != registry.StatusUnhealthy {
		t.Errorf("report status = %s, want unhealthy", rep.Status)
	}
	got := map[string]registry.CheckResult{}
	for _, c := range rep.Checks {
		got[c.Name] = c
	}
	want := map[string]registry.Status{
		"backend": registry.StatusHealthy,
		"db":      registry.StatusHealthy,
		"mailer":  registry.StatusUnhealthy,
		"stuck":   registry.StatusUnhealthy,
	}
	if len(got) != len(want) {
		t.Errorf("checks = %v, want exactly %v", rep.Checks, want)
	}
	for name, status := range want {
		c, ok := got[name]
		if !ok || c.Status != status {
			t.Errorf("check %s = %+v, want status %s", name, c, status)
		}
	}
	if c := got["stuck"]; !c.TimedOut || c.Latency <= 0 {
		t.Errorf("stuck = %+v, want TimedOut and a latency", c)
	}
	if !got["mailer"].Optional || got["backend"].Kind != registry.KindComponent {
		t.Errorf("optional/kind not reported: %+v", rep.Checks)
	}
}

// TestDetailedBodyMatchesReport keeps DetailedBody in step with the JSON
// registry.Report writes for itself.
func TestDetailedBodyMatchesReport(t *testing.T) {
	t.Parallel()
	rep := registry.Report{
		Status:    registry.StatusDegraded,
		CheckedAt: time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC),
		Duration:  1500 * time.Microsecond,
		Checks: []registry.CheckResult{
			{Name: "a", Kind: "service", Optional: true, Status: registry.StatusUnhealthy, Message: "m", Latency: 250 * time.Microsecond, TimedOut: true, Details: map[string]any{"k": "v"}},
			{Name: "b", Kind: "component", Status: registry.StatusHealthy},
		},
	}
	want, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	got, err := json.Marshal(detailedBody(rep))
	if err != nil {
		t.Fatal(err)
	}
	var w, g any
	_ = json.Unmarshal(want, &w)
	_ = json.Unmarshal(got, &g)
	wj, _ := json.Marshal(w)
	gj, _ := json.Marshal(g)
	if string(wj) != string(gj) {
		t.Errorf("DetailedBody JSON drifted from registry.Report:\n got %s\nwant %s", gj, wj)
	}
}

func TestServicesGraph(t *testing.T) {
	t.Parallel()
	f := setup(t, setupOpts{services: []service{{name: "db", status: registry.StatusHealthy}}})
	rec := f.do(t, http.MethodGet, ServicesPath, nil, nil)
	if rec.Code != http.StatusOK {
		t.Fatalf("status = %d; body %s", rec.Code, rec.Body)
	}
	g := decode[registry.Graph](t, rec)
	var names []string
	for _, n := range g.Nodes {
		names = append(names, n.Name+":"+n.State)
	}
	if got := strings.Join(names, ","); got != "backend:started,db:started" {
		t.Errorf("nodes = %s, want backend:started,db:started", got)
	}
}

func TestOpenAPI(t *testing.T) {
	t.Parallel()
	f := setup(t, setupOpts{})
	rec := f.do(t, http.MethodGet, OpenAPIPath, nil, nil)
	if rec.Code != http.StatusOK {
		t.Fatalf("status = %d", rec.Code)
	}
	var doc struct {
		OpenAPI string                    `json:"openapi"`
		Info    struct{ Title string }    `json:"info"`
		Paths   map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.OpenAPI != "3.1.0" || doc.Info.Title != "testapp" {
		t.Errorf("openapi %q title %q, want 3.1.0 and testapp", doc.OpenAPI, doc.Info.Title)
	}
	for _, p := range []string{LivePath, ReadyPath, DetailedPath, ServicesPath, "/test/echo"} {
		if _, ok := doc.Paths[p]["get"]; !ok && p != "/test/echo" {
			t.Errorf("OpenAPI lacks GET %s", p)
		}
	}
	if _, ok := doc.Paths["/test/echo"]["post"]; !ok {
		t.Error("OpenAPI lacks the contributed POST /test/echo")
	}
}

// TestReadyRunsNoFullCheck: readiness runs each service's Ready, not its CheckHealth, so a full
// check that never ends does not hold /health/ready back: it answers 200 before the test's
// deadline, which is far shorter than the health timeout the full check would wait for. A
// service whose Ready fails still makes the app not ready.
func TestReadyRunsNoFullCheck(t *testing.T) {
	t.Parallel()
	f := setup(t, setupOpts{
		settings: Settings{HealthTimeout: time.Hour},
		services: []service{{name: "db", status: registry.StatusHealthy}, {name: "jobs", status: registry.StatusHealthy, slowHealth: true}},
	})
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	req := httptest.NewRequestWithContext(ctx, http.MethodGet, ReadyPath, nil)
	rec := httptest.NewRecorder()
	done := make(chan struct{})
	go func() { defer close(done); f.h.ServeHTTP(rec, req) }()
	select {
	case <-done:
	case <-ctx.Done():
		t.Fatal("/health/ready waited for a service's full health check")
	}
	if rec.Code != http.StatusOK || decode[ReadyBody](t, rec).Status != "ready" {
		t.Fatalf("GET %s = %d %s, want 200 ready", ReadyPath, rec.Code, rec.Body)
	}

	notReady := setup(t, setupOpts{services: []service{{name: "db", status: registry.StatusUnhealthy, message: "db: connection refused"}}})
	rec = notReady.do(t, http.MethodGet, ReadyPath, nil, nil)
	if body := decode[ReadyBody](t, rec); rec.Code != http.StatusServiceUnavailable || body.Reason != "unhealthy: db" {
		t.Fatalf("GET %s = %d %+v, want 503 unhealthy: db", ReadyPath, rec.Code, body)
	}
}

// countingService counts its full health checks.
type countingService struct{ n atomic.Int64 }

func (c *countingService) CheckHealth(context.Context) registry.Health {
	c.n.Add(1)
	return registry.Health{Status: registry.StatusHealthy}
}

// TestDetailedShared: viewers of /health/detailed within a second share one report, so the
// services' checks run once for all of them.
func TestDetailedShared(t *testing.T) {
	t.Parallel()
	svc := &countingService{}
	reg := registry.New()
	if err := registry.Value(reg, svc, registry.Name("counted")); err != nil {
		t.Fatal(err)
	}
	c := registrytest.Start(t, reg)
	srv := NewServer(Settings{HealthTimeout: time.Second})
	// Long enough that no machine is too slow for two requests to share one report.
	srv.reportMaxAge = time.Hour
	h, err := srv.Handler(c, &HandlerOpts{Title: "testapp", Version: "1.0", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequestWithContext(t.Context(), http.MethodGet, DetailedPath, nil))
		if rec.Code != http.StatusOK {
			t.Fatalf("GET %s = %d %s", DetailedPath, rec.Code, rec.Body)
		}
	}
	if n := svc.n.Load(); n != 1 {
		t.Errorf("2 viewers within the report's maximum age ran %d health checks, want 1", n)
	}
}
