package frontend

import (
	"context"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aegisgo/aegis/template/internal/components/backend"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
)

type checked struct{ status registry.Status }

func (c *checked) CheckHealth(context.Context) registry.Health {
	return registry.Health{Status: c.status, Message: "reported " + string(c.status)}
}

type scopedThing struct{}

// setup builds a container like the app's: the backend, the frontend and a
// few services, started unless noStart, and the handler on top.
func setup(t *testing.T, noStart bool) http.Handler {
	t.Helper()
	reg := registry.New()
	srv := backend.NewServer(backend.Settings{HealthTimeout: time.Second})
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(registry.Value(reg, srv, registry.Name(backend.Name), registry.Kind(registry.KindComponent)))
	must(Register(reg))
	must(registry.Value(reg, &checked{registry.StatusHealthy}, registry.Name("users"), registry.Describe("Manages <accounts>")))
	must(registry.Value(reg, &checked{registry.StatusUnhealthy}, registry.Name("mailer"), registry.Optional()))
	must(registry.Provide(reg, func(context.Context) (*scopedThing, error) { return &scopedThing{}, nil },
		registry.Name("unit-of-work"), registry.WithLifetime(registry.Scoped)))
	c, err := reg.Build()
	must(err)
	if !noStart {
		must(c.Start(t.Context()))
		t.Cleanup(func() { _ = c.Stop(context.Background()) })
	}
	h, err := srv.Handler(c, &backend.HandlerOpts{Title: "shop"})
	must(err)
	return h
}

func get(t *testing.T, h http.Handler, path string) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequestWithContext(t.Context(), http.MethodGet, path, nil))
	return rec
}

func TestStatusPage(t *testing.T) {
	t.Parallel()
	rec := get(t, setup(t, false), "/")
	if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") {
		t.Fatalf("GET / = %d %s", rec.Code, rec.Header().Get("Content-Type"))
	}
	page := rec.Body.String()

	for _, want := range []string{
		"<title>shop status</title>",
		`<meta name="viewport"`, // readable on a phone
		"<header>", "<main>", "<footer>", `<th scope="col">`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	// Every registered component and service is listed with its facts.
	rows := regexp.MustCompile(`(?s)<tr>\s*<th scope="row".*?</tr>`).FindAllString(page, -1)
	byName := map[string]string{}
	for _, r := range rows {
		name := regexp.MustCompile(`<span class="name">([^<]+)</span>`).FindStringSubmatch(r)
		if name != nil {
			byName[name[1]] = r
		}
	}
	tests := []struct {
		name string
		want []string
	}{
		{"backend", []string{"badge-healthy", "singleton", "started"}},
		{"frontend", []string{"badge-healthy", "singleton", "started"}},
		{"users", []string{"badge-healthy", "reported healthy", "Manages &lt;accounts&gt;"}},
		{"mailer", []string{"badge-unhealthy", "reported unhealthy"}},
		{"unit-of-work", []string{"scoped", "registered", "no check"}},
	}
	for _, tt := range tests {
		row, ok := byName[tt.name]
		if !ok {
			t.Errorf("no row for %s", tt.name)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(row, w) {
				t.Errorf("row %s lacks %q:\n%s", tt.name, w, row)
			}
		}
	}
	if len(byName) != len(tests) {
		t.Errorf("rows for %d names, want %d", len(byName), len(tests))
	}
	// Components and services are in their own sections.
	comp := strings.Index(page, `id="components-heading"`)
	svc := strings.Index(page, `id="services-heading"`)
	if comp < 0 || svc < 0 || strings.Index(page, `class="name">backend<`) > svc || strings.Index(page, `class="name">users<`) < svc {
		t.Error("components and services are not in their own sections")
	}
	if !strings.Contains(page, `badge-degraded">degraded<`) {
		t.Error("overall status should be degraded (an optional service is unhealthy)")
	}
	// Nothing is loaded from anywhere else.
	if m := regexp.MustCompile(`(?i)(https?:)?//[a-z0-9.-]+\.[a-z]`).FindAllString(page, -1); len(m) > 0 {
		t.Errorf("the page references other hosts: %v", m)
	}
	if strings.Contains(page, "<script") || strings.Contains(page, `rel="stylesheet"`) {
		t.Error("the page loads scripts or external stylesheets; its CSS is inline")
	}
}

func TestStatusPageBeforeStart(t *testing.T) {
	t.Parallel()
	rec := get(t, setup(t, true), "/")
	if rec.Code != http.StatusServiceUnavailable {
		t.Errorf("GET / before start = %d, want 503", rec.Code)
	}
}

func TestFormatLatency(t *testing.T) {
	t.Parallel()
	tests := []struct {
		d    time.Duration
		want string
	}{
		{0, ""},
		{1234 * time.Nanosecond, "1µs"},
		{12345678 * time.Nanosecond, "12.3ms"},
	}
	for _, tt := range tests {
		if got := formatLatency(tt.d); got != tt.want {
			t.Errorf("formatLatency(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
}
