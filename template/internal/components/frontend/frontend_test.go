package frontend

import (
	"compress/gzip"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/aegisgo/aegis/template/internal/components/backend"
	"github.com/aegisgo/aegis/template/internal/runtime/logtest"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
	"github.com/aegisgo/aegis/template/internal/runtime/registry/registrytest"
)

type checked struct{ status registry.Status }

func (c *checked) CheckHealth(context.Context) registry.Health {
	return registry.Health{Status: c.status, Message: "reported " + string(c.status)}
}

// flipping is healthy for its first `after` checks and unhealthy from then
// on: a service that fails while the dashboard is open.
type flipping struct {
	after int32
	calls atomic.Int32
}

func (f *flipping) CheckHealth(context.Context) registry.Health {
	if f.calls.Add(1) > f.after {
		return registry.Health{Status: registry.StatusUnhealthy, Message: "connection refused"}
	}
	return registry.Health{Status: registry.StatusHealthy, Message: "reachable"}
}

type scopedThing struct{}

type usesUsers struct{}

// env is what a test gets from setup.
type env struct {
	h       http.Handler
	retries *atomic.Int32 // how often the test panel's "retry" action ran
}

type setupOpts struct {
	noStart bool
	opts    *Opts // nil: development, no credentials
	// flipAfter > 0 makes "users" turn unhealthy after that many checks.
	flipAfter int32
	// logger receives the app's logs (discarded when nil).
	logger *slog.Logger
	// autoRefresh is the "auto" panel's refresh in seconds (0: none).
	autoRefresh int
}

// setup builds a container like the app's: the backend, the frontend, a few
// services, a huma route and a test panel with an action, started unless
// noStart, and the handler on top.
func setup(t testing.TB, so setupOpts) env {
	t.Helper()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	e := env{retries: new(atomic.Int32)}
	book := registry.New()
	registry.Contribute(book, "jobs", Panel{Title: "Jobs", Render: func(p *PanelContext) (template.HTML, error) {
		return p.Execute(panelTmpl, map[string]any{"URL": p.ActionURL("retry"), "CSRF": p.CSRFField(), "Retries": e.retries.Load(), "Query": p.Request.FormValue("q")})
	}, PanelOpts: PanelOpts{Refresh: 3, Actions: map[string]ActionFunc{
		"retry": func(p *PanelContext) error {
			if p.Request.PostFormValue("id") == "bad" {
				return errors.New("job bad does not exist")
			}
			// As a real action's database call would: a cancelled context fails it.
			if err := p.Request.Context().Err(); err != nil {
				return err
			}
			e.retries.Add(1)
			return nil
		},
	}, Resources: map[string]ResourceFunc{
		"doc": func(p *PanelContext) (Resource, error) {
			switch id := p.Request.URL.Query().Get("id"); id {
			case "styled":
				return Resource{Body: []byte(`<p style="color:red">hi</p>`), CSP: "default-src 'none'; style-src 'unsafe-inline'"}, nil
			case "file":
				return Resource{ContentType: "text/csv", Body: []byte("a,b\n"), Filename: "jobs.csv"}, nil
			case "fail":
				return Resource{}, errors.New("the store is down")
			default:
				return Resource{}, fmt.Errorf("%w: job %q", ErrNoResource, id)
			}
		},
	}}})
	// auto posts its action once as soon as it loads, through htmx: the
	// browser test's way of pressing a button.
	registry.Contribute(book, "auto", Panel{Title: "Auto", Render: func(p *PanelContext) (template.HTML, error) {
		return p.Execute(autoTmpl, map[string]any{"URL": p.ActionURL("retry"), "Retries": e.retries.Load()})
	}, PanelOpts: PanelOpts{Order: 2, Refresh: so.autoRefresh, Actions: map[string]ActionFunc{
		"retry": func(*PanelContext) error { e.retries.Add(1); return nil },
	}}})
	registry.Contribute(book, "broken", Panel{Title: "Broken", Render: func(*PanelContext) (template.HTML, error) { panic("boom") }, PanelOpts: PanelOpts{Order: 1}})
	o := Opts{}
	if so.opts != nil {
		o = *so.opts
	}
	o.Panels = registry.Contributions[Panel](book)
	d, err := New(&o)
	must(err)
	if so.flipAfter > 0 {
		// The health changes from one check to the next; a browser's virtual time polls
		// faster than the shared report ages, so share none.
		d.reportMaxAge = -1
	}

	reg := registry.New()
	srv := backend.NewServer(backend.Settings{HealthTimeout: time.Second})
	must(registry.Value(reg, srv, registry.Component(backend.Name)))
	must(registry.Value(reg, d, registry.Component(Name)))
	signupDep := "users"
	if so.flipAfter > 0 {
		signupDep = "spare"
		must(registry.Value(reg, &flipping{after: so.flipAfter}, registry.Name("users"), registry.Describe("Manages <accounts>")))
		must(registry.Value(reg, &checked{registry.StatusHealthy}, registry.Name("spare")))
	} else {
		must(registry.Value(reg, &checked{registry.StatusHealthy}, registry.Name("users"), registry.Describe("Manages <accounts>")))
	}
	must(registry.Value(reg, &checked{registry.StatusUnhealthy}, registry.Name("mailer"), registry.Optional()))
	must(registry.Provide(reg, func(context.Context) (*scopedThing, error) { return &scopedThing{}, nil },
		registry.Name("unit-of-work"), registry.WithLifetime(registry.Scoped)))
	must(registry.Provide1(reg, func(context.Context, *checked) (*usesUsers, error) { return &usesUsers{}, nil },
		registry.Name("signup"), registry.DependsOnNames(signupDep)))
	start := registrytest.Start
	if so.noStart {
		start = registrytest.Build
	}
	c := start(t, reg)
	routes := registry.All[backend.Routes]{{Name: Name, Value: mount}, {Name: "widgets", Value: func(r *backend.Router) error {
		huma.Get(r.API, "/widgets/{id}", func(context.Context, *struct {
			ID string `path:"id"`
		}) (*struct{}, error) {
			return nil, nil
		}, func(op *huma.Operation) { op.Summary = "Fetch one widget"; op.Tags = []string{"widgets"} })
		return nil
	}}}
	logger := so.logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	h, err := srv.Handler(c, &backend.HandlerOpts{Title: "shop", Version: "1.2.3", Routes: routes, Logger: logger})
	must(err)
	e.h = h
	return e
}

var panelTmpl = template.Must(template.New("p").Parse(
	`<form method="post" action="{{.URL}}">{{.CSRF}}<input name="id" value="7"><input name="q" value="{{.Query}}"><button>Retry</button></form><p>retries: {{.Retries}}</p>`))

var autoTmpl = template.Must(template.New("auto").Parse(
	`{{if not .Retries}}<div hx-post="{{.URL}}" hx-trigger="load" hx-target="closest .panel" hx-swap="outerHTML"></div>{{end}}<p id="retries">retries: {{.Retries}}</p>`))

func do(t *testing.T, h http.Handler, req *http.Request) *httptest.ResponseRecorder {
	t.Helper()
	if req.RemoteAddr == httptestPeer {
		req.RemoteAddr = "127.0.0.1:1234" // a developer's own browser, unless a test says otherwise
	}
	if req.Host == httptestHost {
		req.Host = "127.0.0.1:8000" // the address a developer opens, unless a test says otherwise
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func get(t *testing.T, h http.Handler, path string) *httptest.ResponseRecorder {
	t.Helper()
	return do(t, h, httptest.NewRequestWithContext(t.Context(), http.MethodGet, path, nil))
}

// httptestPeer is the address httptest.NewRequest gives a request's peer.
const httptestPeer = "192.0.2.1:1234"

// httptestHost is the Host httptest.NewRequest gives a request with a path only.
const httptestHost = "example.com"

// external matches URLs of other hosts.
var external = regexp.MustCompile(`(?i)(https?:)?//[a-z0-9.-]+\.[a-z]`)

func TestPages(t *testing.T) {
	t.Parallel()
	e := setup(t, setupOpts{})
	tests := []struct {
		path     string
		fragment bool // no layout
		want     []string
	}{
		{"/", false, []string{
			"<title>Overview · shop</title>", `<meta name="viewport"`, `<main id="main"`, "<nav", `aria-current="page">Overview`,
			`<script src="/dashboard/assets/htmx.min.`, `hx-get="/dashboard/fragments/overview"`, `hx-trigger="every 2s"`,
			`hx-headers="{&#34;X-CSRF-Token&#34;:`,
			`id="components-heading"`, `id="services-heading"`, `id="card-backend"`, `id="card-users"`,
			"Manages &lt;accounts&gt;", "reported unhealthy", "badge-degraded", "no check",
			"<dt>Version</dt><dd>1.2.3", "<dt>Go</dt><dd>go1.", "<dt>Goroutines</dt>", "<dt>Memory</dt>", "<dt>Uptime</dt>",
			`href="/dashboard/panels/jobs"`, `href="/docs"`,
		}},
		{"/dashboard/fragments/overview", true, []string{`<div id="live" hx-get="/dashboard/fragments/overview"`, `id="card-mailer"`, "badge-unhealthy"}},
		{"/dashboard/graph", false, []string{
			"<title>Service graph · shop</title>", `<svg class="graph"`, `role="group"`, "<title id=\"graph-title\">",
			`<a href="/#card-signup" class="node node-healthy state-started kind-service">`,
			"signup depends on users", "singleton · started · healthy", "scoped · registered",
			`<th scope="row"><a href="/#card-users">users</a></th>`,
		}},
		{"/dashboard/fragments/graph", true, []string{`<svg class="graph"`, `hx-trigger="every 5s"`}},
		{"/dashboard/routes", false, []string{
			"<title>Routes · shop</title>", "<code>/widgets/{id}</code>", "Fetch one widget", `href="/docs#/widgets/`,
			"<code>/health/live</code>", "Liveness probe", "<code>/dashboard/graph</code>", "not in the API document",
			`<span class="method method-post">POST</span>`,
		}},
		{"/dashboard/panels/jobs", false, []string{"<title>Jobs · shop</title>", `aria-current="page">Jobs`, `action="/dashboard/panels/jobs/actions/retry"`, `name="csrf_token" value="`, "retries: 0", `hx-trigger="every 3s"`}},
		{"/dashboard/fragments/panels/jobs", true, []string{`<div id="panel-jobs" class="panel"`, "retries: 0"}},
		{"/dashboard/panels/broken", false, []string{"This panel failed to render: panel broken panicked: boom"}},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			t.Parallel()
			rec := get(t, e.h, tt.path)
			if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") {
				t.Fatalf("GET %s = %d %s\n%s", tt.path, rec.Code, rec.Header().Get("Content-Type"), rec.Body)
			}
			body := rec.Body.String()
			for _, w := range tt.want {
				if !strings.Contains(body, w) {
					t.Errorf("GET %s lacks %q", tt.path, w)
				}
			}
			if got := strings.Contains(body, "<!doctype html>"); got == tt.fragment {
				t.Errorf("GET %s: full page = %v, want %v", tt.path, got, !tt.fragment)
			}
			if m := external.FindAllString(body, -1); len(m) > 0 {
				t.Errorf("GET %s references other hosts: %v", tt.path, m)
			}
			if csp := rec.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") {
				t.Errorf("GET %s: Content-Security-Policy = %q", tt.path, csp)
			}
			if len(body) > 100<<10 {
				t.Errorf("GET %s is %d bytes", tt.path, len(body))
			}
		})
	}
}

// TestPageWeight adds up what a browser loads for the overview: the HTML
// and every script and stylesheet it links, uncompressed.
func TestPageWeight(t *testing.T) {
	t.Parallel()
	e := setup(t, setupOpts{})
	page := get(t, e.h, "/").Body.String()
	total := len(page)
	links := regexp.MustCompile(`(?:src|href)="(/dashboard/assets/[^"]+)"`).FindAllStringSubmatch(page, -1)
	if len(links) != 3 {
		t.Fatalf("overview links %d assets, want 3 (CSS, htmx and dashboard.js)", len(links))
	}
	for _, l := range links {
		rec := get(t, e.h, l[1])
		if rec.Code != http.StatusOK {
			t.Fatalf("GET %s = %d", l[1], rec.Code)
		}
		if !strings.Contains(rec.Header().Get("Cache-Control"), "immutable") {
			t.Errorf("GET %s: Cache-Control = %q, want immutable", l[1], rec.Header().Get("Cache-Control"))
		}
		total += rec.Body.Len()
	}
	t.Logf("overview page weight: %d bytes uncompressed", total)
	if total >= 200<<10 {
		t.Errorf("overview weighs %d bytes, want under 200 KB", total)
	}
}

func TestAssets(t *testing.T) {
	t.Parallel()
	e := setup(t, setupOpts{})
	plain := get(t, e.h, "/dashboard/assets/htmx.min.js")
	if plain.Code != http.StatusOK || !strings.Contains(plain.Body.String(), "htmx") || plain.Header().Get("Content-Encoding") != "" {
		t.Fatalf("GET htmx.min.js = %d %q", plain.Code, plain.Header().Get("Content-Encoding"))
	}
	req := httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/dashboard/assets/htmx.min.js", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	gz := do(t, e.h, req)
	if gz.Header().Get("Content-Encoding") != "gzip" || gz.Body.Len() >= plain.Body.Len() {
		t.Fatalf("gzip: encoding %q, %d bytes (plain %d)", gz.Header().Get("Content-Encoding"), gz.Body.Len(), plain.Body.Len())
	}
	zr, err := gzip.NewReader(gz.Body)
	if err != nil {
		t.Fatal(err)
	}
	if unz, _ := io.ReadAll(zr); string(unz) != plain.Body.String() {
		t.Error("gzip and plain htmx differ")
	}
	for path, code := range map[string]int{
		"/dashboard/assets/style.css":    http.StatusOK,
		"/dashboard/assets/htmx.LICENSE": http.StatusOK,
		"/dashboard/assets/nope.js":      http.StatusNotFound,
	} {
		if rec := get(t, e.h, path); rec.Code != code {
			t.Errorf("GET %s = %d, want %d", path, rec.Code, code)
		}
	}
}

func TestBeforeStart(t *testing.T) {
	t.Parallel()
	e := setup(t, setupOpts{noStart: true})
	for _, path := range []string{"/", "/dashboard/graph", "/dashboard/fragments/overview"} {
		if rec := get(t, e.h, path); rec.Code != http.StatusServiceUnavailable {
			t.Errorf("GET %s before start = %d, want 503", path, rec.Code)
		}
	}
}

func TestAccess(t *testing.T) {
	t.Parallel()
	creds := &Opts{Production: true, Settings: Settings{Username: "admin", Password: "s3cret-long-enough"}}
	tests := []struct {
		name       string
		opts       *Opts
		path       string
		user, pass string // basic auth when user != ""
		want       int
	}{
		{"development open", nil, "/", "", "", http.StatusOK},
		{"development, another machine", nil, "/", "", "", http.StatusForbidden},
		{"development with credentials, another machine", &Opts{Settings: creds.Settings}, "/", "admin", "s3cret-long-enough", http.StatusOK},
		{"production without credentials", &Opts{Production: true}, "/", "", "", http.StatusUnauthorized},
		{"production without credentials, graph", &Opts{Production: true}, "/dashboard/graph", "", "", http.StatusUnauthorized},
		{"production without credentials, fragment", &Opts{Production: true}, "/dashboard/fragments/overview", "", "", http.StatusUnauthorized},
		{"production without credentials, asset", &Opts{Production: true}, "/dashboard/assets/style.css", "", "", http.StatusUnauthorized},
		{"production without credentials, even when some are sent", &Opts{Production: true}, "/", "admin", "", http.StatusUnauthorized},
		{"production without credentials, liveness", &Opts{Production: true}, "/health/live", "", "", http.StatusOK},
		{"production without credentials, readiness", &Opts{Production: true}, "/health/ready", "", "", http.StatusOK},
		{"production without credentials, detailed", &Opts{Production: true}, "/health/detailed", "", "", http.StatusOK},
		{"production without credentials, graph JSON", &Opts{Production: true}, "/health/services", "", "", http.StatusOK},
		{"production, no login", creds, "/", "", "", http.StatusUnauthorized},
		{"production, wrong password", creds, "/", "admin", "nope", http.StatusUnauthorized},
		{"production, wrong user", creds, "/", "root", "s3cret-long-enough", http.StatusUnauthorized},
		{"production, login", creds, "/", "admin", "s3cret-long-enough", http.StatusOK},
		{"production, login, routes", creds, "/dashboard/routes", "admin", "s3cret-long-enough", http.StatusOK},
		{"development with credentials requires them", &Opts{Settings: creds.Settings}, "/", "", "", http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := setup(t, setupOpts{opts: tt.opts})
			req := httptest.NewRequestWithContext(t.Context(), http.MethodGet, tt.path, nil)
			if tt.user != "" {
				req.SetBasicAuth(tt.user, tt.pass)
			}
			if strings.Contains(tt.name, "another machine") {
				req.RemoteAddr = "203.0.113.9:5000"
			}
			rec := do(t, e.h, req)
			if rec.Code != tt.want {
				t.Fatalf("GET %s = %d, want %d\n%s", tt.path, rec.Code, tt.want, rec.Body)
			}
			if rec.Code == http.StatusUnauthorized && !strings.HasPrefix(rec.Header().Get("WWW-Authenticate"), "Basic ") {
				t.Errorf("401 without a Basic challenge: %q", rec.Header().Get("WWW-Authenticate"))
			}
		})
	}
}

// TestHostRule: without credentials the development dashboard answers only
// requests addressed to this machine by name (localhost, 127.0.0.1, [::1])
// or to a host in ALLOWED_HOSTS. A loopback peer is not enough: a page on
// rebind.attacker.example whose name was rebound to 127.0.0.1 (DNS
// rebinding) reaches the server from the developer's own browser, and a local
// forwarder makes any peer look local; both keep the attacker's Host.
func TestHostRule(t *testing.T) {
	t.Parallel()
	const action = "/dashboard/panels/jobs/actions/retry"
	allowed := &Opts{Settings: Settings{AllowedHosts: "dev.example.com, Box.Local"}}
	tests := []struct {
		name     string
		opts     *Opts
		method   string
		path     string
		host     string
		htmx     bool
		want     int
		wantType string // Content-Type of a refusal
	}{
		{name: "localhost", host: "localhost:8000", want: http.StatusOK},
		{name: "localhost without a port", host: "localhost", want: http.StatusOK},
		{name: "localhost, any case", host: "LocalHost:8000", want: http.StatusOK},
		{name: "localhost with a final dot", host: "localhost.:8000", want: http.StatusOK},
		{name: "127.0.0.1", host: "127.0.0.1:8000", want: http.StatusOK},
		{name: "::1", host: "[::1]:8000", want: http.StatusOK},
		{name: "::1 without a port", host: "[::1]", want: http.StatusOK},
		{name: "rebinding page", host: "rebind.attacker.example:8000", want: http.StatusForbidden, wantType: "text/html"},
		{name: "rebinding page, fragment", path: "/dashboard/fragments/overview", host: "rebind.attacker.example:8000", want: http.StatusForbidden, wantType: "application/problem+json"},
		{name: "rebinding page, htmx", path: "/dashboard/panels/jobs", host: "rebind.attacker.example:8000", htmx: true, want: http.StatusForbidden, wantType: "application/problem+json"},
		{name: "rebinding page, action", method: http.MethodPost, path: action, host: "rebind.attacker.example:8000", want: http.StatusForbidden, wantType: "application/problem+json"},
		{name: "rebinding page, asset", path: "/dashboard/assets/style.css", host: "rebind.attacker.example", want: http.StatusForbidden},
		{name: "no Host", host: "", want: http.StatusForbidden},
		{name: "a name that merely starts with localhost", host: "localhost.attacker.example:8000", want: http.StatusForbidden},
		{name: "another loopback address", host: "127.0.0.2:8000", want: http.StatusForbidden},
		{name: "the LAN address", host: "192.168.1.20:8000", want: http.StatusForbidden},
		{name: "allowed host", opts: allowed, host: "dev.example.com:8000", want: http.StatusOK},
		{name: "allowed host, any case", opts: allowed, host: "box.local", want: http.StatusOK},
		{name: "allowed host, localhost still works", opts: allowed, host: "localhost:8000", want: http.StatusOK},
		{name: "allowed host, another one", opts: allowed, host: "rebind.attacker.example:8000", want: http.StatusForbidden, wantType: "text/html"},
		{name: "allowed host, subdomain", opts: allowed, host: "x.dev.example.com", want: http.StatusForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := setup(t, setupOpts{opts: tt.opts})
			req := httptest.NewRequestWithContext(t.Context(), cmpOr(tt.method, http.MethodGet), cmpOr(tt.path, "/"), nil)
			req.Host = tt.host
			if tt.htmx {
				req.Header.Set("HX-Request", "true")
			}
			rec := do(t, e.h, req)
			if rec.Code != tt.want {
				t.Fatalf("%s %s with Host %q = %d, want %d\n%s", req.Method, req.URL.Path, tt.host, rec.Code, tt.want, rec.Body)
			}
			if rec.Code != http.StatusForbidden {
				return
			}
			if e.retries.Load() != 0 {
				t.Error("a refused action ran")
			}
			body := rec.Body.String()
			for _, w := range []string{"localhost", "ALLOWED_HOSTS"} {
				if !strings.Contains(body, w) {
					t.Errorf("the refusal does not mention %s:\n%s", w, body)
				}
			}
			if strings.Contains(body, "csrf") || strings.Contains(body, "Overview") {
				t.Errorf("the refusal leaks the dashboard:\n%s", body)
			}
			if tt.wantType != "" && !strings.HasPrefix(rec.Header().Get("Content-Type"), tt.wantType) {
				t.Errorf("Content-Type = %q, want %s", rec.Header().Get("Content-Type"), tt.wantType)
			}
			if strings.HasPrefix(rec.Header().Get("Content-Type"), "application/problem+json") {
				var p huma.ErrorModel
				if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || p.Status != http.StatusForbidden || p.Detail == "" {
					t.Errorf("problem = %+v, %v", p, err)
				}
			}
		})
	}
	for _, bad := range []string{"https://dev.example.com", "dev.example.com/x", "a b", "*"} {
		if err := (Settings{AllowedHosts: bad}).Validate(); err == nil || !strings.Contains(err.Error(), "ALLOWED_HOSTS") {
			t.Errorf("ALLOWED_HOSTS=%q: %v, want an error naming ALLOWED_HOSTS", bad, err)
		}
	}
}

// session loads a panel page like a browser and returns its CSRF cookie and
// the token from the form.
func session(t *testing.T, h http.Handler) (*http.Cookie, string) {
	t.Helper()
	req := httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/dashboard/panels/jobs", nil)
	req.Host = "127.0.0.1:8000" // a loopback host gets Secure cookies over plain HTTP
	rec := do(t, h, req)
	var cookie *http.Cookie
	for _, c := range rec.Result().Cookies() {
		if c.Name == csrfCookie {
			cookie = c
		}
	}
	if cookie == nil {
		t.Fatal("the panel page set no CSRF cookie")
	}
	if !cookie.HttpOnly || !cookie.Secure || cookie.SameSite != http.SameSiteStrictMode || cookie.Path != "/" {
		t.Errorf("CSRF cookie %+v: want HttpOnly, Secure, SameSite=Strict, Path=/", cookie)
	}
	m := regexp.MustCompile(`name="csrf_token" value="([^"]+)"`).FindStringSubmatch(rec.Body.String())
	if m == nil {
		t.Fatal("the panel page has no CSRF field")
	}
	return cookie, m[1]
}

func TestActions(t *testing.T) {
	t.Parallel()
	const action = "/dashboard/panels/jobs/actions/retry"
	tests := []struct {
		name       string
		cookie     bool   // send the session's cookie
		token      string // "valid", "" or a literal
		header     bool   // token in X-CSRF-Token (htmx) rather than the form
		site       string // Sec-Fetch-Site
		id         string
		want       int
		wantRetry  int32
		wantInBody string
		wantAfter  string // in the page the form post is redirected to
	}{
		{name: "no token", cookie: true, token: "", want: http.StatusForbidden},
		{name: "wrong token", cookie: true, token: "forged", want: http.StatusForbidden},
		{name: "token without cookie", cookie: false, token: "valid", want: http.StatusForbidden},
		{name: "cross-site with a valid token", cookie: true, token: "valid", site: "cross-site", want: http.StatusForbidden},
		{name: "form post", cookie: true, token: "valid", want: http.StatusSeeOther, wantRetry: 1, wantAfter: `<p class="notice" role="status">Done: retry.</p>`},
		{name: "htmx post", cookie: true, token: "valid", header: true, site: "same-origin", want: http.StatusOK, wantRetry: 1, wantInBody: `<p class="notice" role="status">Done: retry.</p>`},
		// A failure reads as one (red, an alert), not in the green of a success.
		{name: "failing action", cookie: true, token: "valid", header: true, id: "bad", want: http.StatusOK, wantInBody: `<p class="notice notice-error" role="alert">Failed: job bad does not exist`},
		{name: "failing form post", cookie: true, token: "valid", id: "bad", want: http.StatusSeeOther, wantAfter: `<p class="notice notice-error" role="alert">Failed: job bad does not exist`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := setup(t, setupOpts{})
			cookie, token := session(t, e.h)
			if tt.token != "valid" {
				token = tt.token
			}
			form := url.Values{"id": {cmpOr(tt.id, "7")}}
			if !tt.header && token != "" {
				form.Set(CSRFField, token)
			}
			req := httptest.NewRequestWithContext(t.Context(), http.MethodPost, action, strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if tt.header {
				req.Header.Set(CSRFHeader, token)
				req.Header.Set("HX-Request", "true")
			}
			if tt.site != "" {
				req.Header.Set("Sec-Fetch-Site", tt.site)
			}
			if tt.cookie {
				req.AddCookie(cookie)
			}
			rec := do(t, e.h, req)
			if rec.Code != tt.want {
				t.Fatalf("POST = %d, want %d\n%s", rec.Code, tt.want, rec.Body)
			}
			if got := e.retries.Load(); got != tt.wantRetry {
				t.Errorf("the action ran %d times, want %d", got, tt.wantRetry)
			}
			if tt.wantInBody != "" && !strings.Contains(rec.Body.String(), tt.wantInBody) {
				t.Errorf("body lacks %q:\n%s", tt.wantInBody, rec.Body)
			}
			if rec.Code == http.StatusSeeOther {
				loc := rec.Header().Get("Location")
				if loc != "/dashboard/panels/jobs" {
					t.Errorf("redirect to %q", loc)
				}
				back := httptest.NewRequestWithContext(t.Context(), http.MethodGet, loc, nil)
				back.AddCookie(cookie)
				for _, c := range rec.Result().Cookies() {
					back.AddCookie(c)
				}
				page := do(t, e.h, back).Body.String()
				if !strings.Contains(page, tt.wantAfter) || !strings.Contains(page, fmt.Sprintf("retries: %d", tt.wantRetry)) {
					t.Errorf("the page after the redirect lacks %q or the count of retries %d:\n%s", tt.wantAfter, tt.wantRetry, page)
				}
			}
		})
	}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// A panel's resource is its own response, with its own policy, always sandboxed and framed by
// the dashboard only.
func TestPanelResource(t *testing.T) {
	t.Parallel()
	e := setup(t, setupOpts{})
	rec := get(t, e.h, "/dashboard/panels/jobs/resources/doc?id=styled")
	h := rec.Header()
	if rec.Code != http.StatusOK || rec.Body.String() != `<p style="color:red">hi</p>` || h.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Fatalf("styled = %d %q %q", rec.Code, h.Get("Content-Type"), rec.Body)
	}
	if csp := h.Get("Content-Security-Policy"); csp != "default-src 'none'; style-src 'unsafe-inline'; sandbox; frame-ancestors 'self'; base-uri 'none'; form-action 'none'" {
		t.Errorf("CSP = %q", csp)
	}
	if h.Get("X-Frame-Options") != "SAMEORIGIN" || h.Get("Cache-Control") != "no-store" || h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Set-Cookie") != "" {
		t.Errorf("headers %v", h)
	}
	rec = get(t, e.h, "/dashboard/panels/jobs/resources/doc?id=file")
	if rec.Header().Get("Content-Disposition") != `attachment; filename=jobs.csv` || rec.Header().Get("Content-Type") != "text/csv" ||
		!strings.HasPrefix(rec.Header().Get("Content-Security-Policy"), "default-src 'none'; sandbox") {
		t.Errorf("file headers %v", rec.Header())
	}
	for path, want := range map[string]int{
		"/dashboard/panels/jobs/resources/doc?id=gone": http.StatusNotFound,
		"/dashboard/panels/jobs/resources/doc?id=fail": http.StatusInternalServerError,
		"/dashboard/panels/jobs/resources/nope":        http.StatusNotFound,
		"/dashboard/panels/nope/resources/doc":         http.StatusNotFound,
	} {
		rec := get(t, e.h, path)
		if rec.Code != want || strings.Contains(rec.Body.String(), "the store is down") {
			t.Errorf("GET %s = %d %q, want %d without the internal error", path, rec.Code, rec.Body, want)
		}
	}
	// The access rules apply as to every dashboard page.
	req := httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/dashboard/panels/jobs/resources/doc?id=styled", nil)
	req.RemoteAddr = "203.0.113.9:4000"
	if rec := do(t, e.h, req); rec.Code != http.StatusForbidden {
		t.Errorf("from another machine = %d, want 403", rec.Code)
	}
}

func TestUnknownPanelAndAction(t *testing.T) {
	t.Parallel()
	e := setup(t, setupOpts{})
	cookie, token := session(t, e.h)
	if rec := get(t, e.h, "/dashboard/panels/nope"); rec.Code != http.StatusNotFound {
		t.Errorf("unknown panel = %d", rec.Code)
	}
	req := httptest.NewRequestWithContext(t.Context(), http.MethodPost, "/dashboard/panels/jobs/actions/nope", nil)
	req.Header.Set(CSRFHeader, token)
	req.AddCookie(cookie)
	if rec := do(t, e.h, req); rec.Code != http.StatusNotFound {
		t.Errorf("unknown action = %d", rec.Code)
	}
}

// TestRefusals: the dashboard's refusals of a CSRF failure, a cross-origin
// post and an unknown panel, action or resource keep their status; a
// browser's navigation (Accept: text/html, no htmx) gets a small page, and
// htmx, the live fragments and scripts an RFC 9457 problem that says what to
// do without echoing the request.
func TestRefusals(t *testing.T) {
	t.Parallel()
	const (
		navigation = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8" // what browsers send
		action     = "/dashboard/panels/jobs/actions/retry"
		page       = "text/html"
		problem    = "application/problem+json"
	)
	a := &fakeAuth{}
	withLogin := &Opts{Production: true, Authenticator: func(*registry.Container) Authenticator { return a }}
	tests := []struct {
		name     string
		opts     *Opts
		method   string
		path     string
		accept   string
		htmx     bool
		token    bool   // send the page's CSRF token (in the form, or the header with htmx)
		site     string // Sec-Fetch-Site
		want     int
		wantType string
		says     string // in the detail or the page
		allow    string // the Allow header, on a 405
	}{
		{name: "CSRF, form post", method: http.MethodPost, path: action, accept: navigation, want: http.StatusForbidden, wantType: page, says: "reload the page"},
		{name: "CSRF, htmx", method: http.MethodPost, path: action, accept: "*/*", htmx: true, want: http.StatusForbidden, wantType: problem, says: "reload the page"},
		{name: "CSRF, script", method: http.MethodPost, path: action, accept: "application/json", want: http.StatusForbidden, wantType: problem, says: "reload the page"},
		{name: "CSRF, no Accept", method: http.MethodPost, path: action, want: http.StatusForbidden, wantType: problem, says: "reload the page"},
		{name: "CSRF, login form", opts: withLogin, method: http.MethodPost, path: LoginPath, accept: navigation, want: http.StatusForbidden, wantType: page, says: "reload the page"},
		{name: "CSRF, login by script", opts: withLogin, method: http.MethodPost, path: LoginPath, accept: "*/*", want: http.StatusForbidden, wantType: problem, says: "reload the page"},
		{name: "cross-origin, form post", method: http.MethodPost, path: action, accept: navigation, token: true, site: "cross-site", want: http.StatusForbidden, wantType: page, says: "its own pages"},
		{name: "cross-origin, htmx", method: http.MethodPost, path: action, accept: "*/*", htmx: true, token: true, site: "cross-site", want: http.StatusForbidden, wantType: problem, says: "its own pages"},
		{name: "cross-origin, script", method: http.MethodPost, path: action, token: true, site: "cross-site", want: http.StatusForbidden, wantType: problem, says: "its own pages"},
		{name: "cross-origin, login form", opts: withLogin, method: http.MethodPost, path: LoginPath, accept: navigation, site: "cross-site", want: http.StatusForbidden, wantType: page, says: "its own pages"},
		{name: "unknown page, navigation", path: "/dashboard/nope", accept: navigation, want: http.StatusNotFound, wantType: page, says: "navigation"},
		{name: "unknown page, script", path: "/dashboard/panels/jobs/extra", accept: "application/json", want: http.StatusNotFound, wantType: problem, says: "navigation"},
		{name: "unknown panel, navigation", path: "/dashboard/panels/nope", accept: navigation, want: http.StatusNotFound, wantType: page, says: "navigation"},
		{name: "unknown panel, no Accept", path: "/dashboard/panels/nope", want: http.StatusNotFound, wantType: page, says: "navigation"},
		{name: "unknown panel, htmx", path: "/dashboard/panels/nope", accept: "*/*", htmx: true, want: http.StatusNotFound, wantType: problem, says: "navigation"},
		{name: "unknown panel, script", path: "/dashboard/panels/nope", accept: "application/json", want: http.StatusNotFound, wantType: problem, says: "navigation"},
		{name: "unknown panel, fragment", path: panelFrag + "/nope", accept: navigation, want: http.StatusNotFound, wantType: problem, says: "navigation"},
		{name: "unknown panel, action", method: http.MethodPost, path: "/dashboard/panels/nope/actions/retry", token: true, htmx: true, want: http.StatusNotFound, wantType: problem, says: "navigation"},
		{name: "unknown action, form post", method: http.MethodPost, path: "/dashboard/panels/jobs/actions/nope", accept: navigation, token: true, want: http.StatusNotFound, wantType: page, says: "reload the panel"},
		{name: "unknown action, htmx", method: http.MethodPost, path: "/dashboard/panels/jobs/actions/nope", token: true, htmx: true, want: http.StatusNotFound, wantType: problem, says: "reload the panel"},
		{name: "unknown resource, frame", path: "/dashboard/panels/jobs/resources/nope", accept: navigation, want: http.StatusNotFound, wantType: page, says: "reload the panel"},
		{name: "unknown resource, script", path: "/dashboard/panels/jobs/resources/nope", accept: "application/json", want: http.StatusNotFound, wantType: problem, says: "reload the panel"},
		// A known address asked with a method it does not take is a 405 with Allow, as in the
		// API (it was the catch-all's 404).
		{name: "wrong method, action followed as a link", path: action, accept: navigation, want: http.StatusMethodNotAllowed, wantType: page, says: "takes only POST", allow: "POST"},
		{name: "wrong method, action by script", path: action, accept: "application/json", want: http.StatusMethodNotAllowed, wantType: problem, says: "takes only POST", allow: "POST"},
		{name: "wrong method, logout", path: LogoutPath, accept: "application/json", want: http.StatusMethodNotAllowed, wantType: problem, says: "takes only POST", allow: "POST"},
		{name: "wrong method, panel", method: http.MethodDelete, path: PanelsPath + "/jobs", token: true, htmx: true, want: http.StatusMethodNotAllowed, wantType: problem, says: "takes only GET, HEAD", allow: "GET, HEAD"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := setup(t, setupOpts{opts: tt.opts})
			var cookies []*http.Cookie
			var token string
			if tt.opts == nil {
				var c *http.Cookie
				c, token = session(t, e.h)
				cookies = []*http.Cookie{c}
			} else {
				login := do(t, e.h, httptest.NewRequestWithContext(t.Context(), http.MethodGet, LoginPath, nil))
				m := regexp.MustCompile(`name="csrf_token" value="([^"]+)"`).FindStringSubmatch(login.Body.String())
				if m == nil {
					t.Fatalf("the login page has no CSRF token\n%s", login.Body)
				}
				token, cookies = m[1], login.Result().Cookies()
			}
			form := url.Values{"id": {"7"}, "login": {"ada@example.com"}, "password": {"hunter2-but-longer"}}
			if tt.token && !tt.htmx {
				form.Set(CSRFField, token)
			}
			var body io.Reader
			if tt.method == http.MethodPost {
				body = strings.NewReader(form.Encode())
			}
			req := httptest.NewRequestWithContext(t.Context(), cmpOr(tt.method, http.MethodGet), tt.path, body)
			req.Host = "127.0.0.1:8000"
			if body != nil {
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
			if tt.accept != "" {
				req.Header.Set("Accept", tt.accept)
			}
			if tt.htmx {
				req.Header.Set("HX-Request", "true")
				if tt.token {
					req.Header.Set(CSRFHeader, token)
				}
			}
			if tt.site != "" {
				req.Header.Set("Sec-Fetch-Site", tt.site)
			}
			for _, c := range cookies {
				req.AddCookie(c)
			}
			rec := do(t, e.h, req)
			if rec.Code != tt.want {
				t.Fatalf("%s %s = %d, want %d\n%s", req.Method, tt.path, rec.Code, tt.want, rec.Body)
			}
			if e.retries.Load() != 0 {
				t.Error("a refused action ran")
			}
			if got := rec.Header().Get("Allow"); got != tt.allow {
				t.Errorf("Allow = %q, want %q", got, tt.allow)
			}
			ct := rec.Header().Get("Content-Type")
			if !strings.HasPrefix(ct, tt.wantType) {
				t.Fatalf("Content-Type = %q, want %s\n%s", ct, tt.wantType, rec.Body)
			}
			text := rec.Body.String()
			if tt.wantType == problem {
				var p huma.ErrorModel
				if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || p.Status != tt.want || p.Title != http.StatusText(tt.want) {
					t.Fatalf("problem = %+v, %v", p, err)
				}
				text = p.Detail
				if strings.Contains(text, "\n") {
					t.Errorf("the detail is not one line: %q", text)
				}
			} else if !strings.Contains(text, "<h1>"+strconv.Itoa(tt.want)+" "+http.StatusText(tt.want)+"</h1>") || rec.Header().Get("Cache-Control") != "no-store" {
				t.Errorf("the page lacks its heading or Cache-Control: no-store (%q):\n%s", rec.Header().Get("Cache-Control"), text)
			}
			if !strings.Contains(text, tt.says) {
				t.Errorf("the refusal does not say %q:\n%s", tt.says, text)
			}
			for _, leak := range []string{"nope", "ada@example.com", "hunter2", token} {
				if strings.Contains(text, leak) {
					t.Errorf("the refusal echoes %q:\n%s", leak, text)
				}
			}
		})
	}
}

func TestPanelRegistrationErrors(t *testing.T) {
	t.Parallel()
	render := func(*PanelContext) (template.HTML, error) { return "", nil }
	b := registry.New()
	registry.Contribute(b, "jobs", Panel{Title: "Jobs", Render: render})
	registry.Contribute(b, "jobs", Panel{Title: "Again", Render: render})
	registry.Contribute(b, "Bad Name", Panel{Title: "x", Render: render})
	registry.Contribute(b, "nil", Panel{Title: "x"})
	registry.Contribute(b, "act", Panel{Title: "x", Render: render, PanelOpts: PanelOpts{Actions: map[string]ActionFunc{"go": nil}}})
	registry.Contribute(b, "res", Panel{Title: "x", Render: render, PanelOpts: PanelOpts{Resources: map[string]ResourceFunc{"Doc": nil}}})
	// The container's Build reports them with the registry's file:lines...
	err := b.Validate()
	for _, w := range []string{`"jobs"`, "frontend_test.go:", "duplicate name", `"Bad Name"`, "nil render function", `action "go"`, `resource "Doc"`} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("Validate error lacks %q:\n%v", w, err)
		}
	}
	// ...and New, for panels handed to it directly.
	_, err = New(&Opts{Panels: registry.Contributions[Panel](b)})
	for _, w := range []string{`panel "jobs" registered at`, "frontend_test.go:", "was already registered at", `panel "Bad Name"`, "nil render function", `action "go"`} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("New error lacks %q:\n%v", w, err)
		}
	}
}

func TestSecureCookies(t *testing.T) {
	t.Parallel()
	tests := []struct {
		production bool
		host       string
		tls        bool
		want       bool
	}{
		{false, "127.0.0.1:8000", false, true},
		{false, "localhost:8000", false, true},
		{false, "[::1]:8000", false, true},
		{false, "192.168.1.20:8000", true, true},
		{true, "app.example.com", false, true},     // behind a TLS proxy
		{false, "192.168.1.20:8000", false, false}, // the browser would drop a Secure cookie
	}
	d, err := New(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		d.opts.Production = tt.production
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.Host = tt.host
		if tt.tls {
			req.TLS = &tls.ConnectionState{}
		}
		if got := d.secureCookies(req); got != tt.want {
			t.Errorf("production=%v host=%s tls=%v: Secure=%v, want %v", tt.production, tt.host, tt.tls, got, tt.want)
		}
	}
}

// TestBasicAuthThrottle: failed basic-auth sign-ins are limited per client
// IP and per user name (429 with Retry-After, even for the right password
// while limited), logged as a warning that holds no password, and a success
// for another name from another address is not held up.
func TestBasicAuthThrottle(t *testing.T) {
	t.Parallel()
	const password = "correct horse battery staple"
	var logs logtest.Buffer
	e := setup(t, setupOpts{
		opts:   &Opts{Production: true, Settings: Settings{Username: "admin", Password: password}},
		logger: slog.New(slog.NewTextHandler(&logs, nil)),
	})
	try := func(ip, user, pass string) *httptest.ResponseRecorder {
		t.Helper()
		req := httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/dashboard/graph", nil)
		req.RemoteAddr = ip + ":5000"
		req.SetBasicAuth(user, pass)
		return do(t, e.h, req)
	}

	// From one address, guessing one user's password.
	limited := 0
	for i := range 50 {
		rec := try("203.0.113.9", "admin", fmt.Sprint("guess-", i))
		switch rec.Code {
		case http.StatusUnauthorized:
			if limited > 0 {
				t.Fatalf("guess %d: 401 after a 429", i)
			}
		case http.StatusTooManyRequests:
			limited++
			if s, err := strconv.Atoi(rec.Header().Get("Retry-After")); err != nil || s < 1 || s > int(basicAuthWindow/time.Second) {
				t.Fatalf("guess %d: Retry-After %q", i, rec.Header().Get("Retry-After"))
			}
		default:
			t.Fatalf("guess %d = %d", i, rec.Code)
		}
	}
	if limited == 0 || limited > 50-basicAuthUserLimit+1 {
		t.Fatalf("%d of 50 guesses got 429, want all past the first %d", limited, basicAuthUserLimit)
	}
	// Limited means limited: the right password from there gets 429 too,
	// and so does the same user name from elsewhere.
	if rec := try("203.0.113.9", "admin", password); rec.Code != http.StatusTooManyRequests {
		t.Errorf("right password while limited = %d, want 429", rec.Code)
	}
	if rec := try("198.51.100.7", "admin", password); rec.Code != http.StatusTooManyRequests {
		t.Errorf("the limited user from another address = %d, want 429", rec.Code)
	}
	// The limit is on failures for a name and an address: other names from
	// another address still get their answer.
	if rec := try("198.51.100.8", "root", "whatever"); rec.Code != http.StatusUnauthorized {
		t.Errorf("another user from another address = %d, want 401", rec.Code)
	}
	// One address spraying many names is limited by address.
	sprayed := false
	for i := range basicAuthIPLimit + 5 {
		sprayed = sprayed || try("192.0.2.44", fmt.Sprint("user", i), "x").Code == http.StatusTooManyRequests
	}
	if !sprayed {
		t.Errorf("%d failures for distinct names from one address were never limited", basicAuthIPLimit+5)
	}

	out := logs.String()
	if !strings.Contains(out, "level=WARN") || !strings.Contains(out, "203.0.113.9") || !strings.Contains(out, "user=admin") {
		t.Errorf("no warning naming the address and user:\n%s", out)
	}
	if strings.Contains(out, "guess-") || strings.Contains(out, password) {
		t.Errorf("the log holds a password:\n%s", out)
	}
}

// TestProductionPassword: production refuses to start with a short or
// common dashboard password, naming the variable and never the value;
// development lets anything through.
func TestProductionPassword(t *testing.T) {
	t.Parallel()
	tests := []struct {
		password   string
		production bool
		ok         bool
	}{
		{"a", true, false},
		{"s3cret", true, false},
		{"elevenchars", true, false},
		{"password1234", true, false},
		{"Password1234", true, false},
		{"123456789012", true, false},
		{"administrator", true, false},
		{"adminadminadmin", true, false},
		{"correct horse battery staple", true, true},
		{"twelve chars", true, true},
		{"a", false, true},
	}
	for _, tt := range tests {
		_, err := New(&Opts{Production: tt.production, Settings: Settings{Username: "admin", Password: tt.password}})
		if (err == nil) != tt.ok {
			t.Errorf("production=%v password %q: %v, want ok %v", tt.production, tt.password, err, tt.ok)
			continue
		}
		if err != nil && (!strings.Contains(err.Error(), "DASHBOARD_PASSWORD") || len(tt.password) > 3 && strings.Contains(err.Error(), tt.password)) {
			t.Errorf("password %q: error %q must name DASHBOARD_PASSWORD and not the value", tt.password, err)
		}
	}
}

func TestSettingsValidate(t *testing.T) {
	t.Parallel()
	for _, s := range []Settings{{}, {Username: "a", Password: "b"}} {
		if err := s.Validate(); err != nil {
			t.Errorf("%+v: %v", s, err)
		}
	}
	for _, s := range []Settings{{Username: "a"}, {Password: "b"}} {
		if err := s.Validate(); err == nil {
			t.Errorf("%+v: no error", s)
		}
	}
}

func TestFormat(t *testing.T) {
	t.Parallel()
	tests := []struct{ got, want string }{
		{formatLatency(0), ""},
		{formatLatency(1234 * time.Nanosecond), "1µs"},
		{formatLatency(300 * time.Nanosecond), "<1µs"},
		{formatLatency(12345678 * time.Nanosecond), "12.3ms"},
		{formatUptime(5 * time.Second), "5s"},
		{formatUptime(65 * time.Second), "1m 5s"},
		{formatUptime(3*time.Hour + 4*time.Minute), "3h 4m"},
		{formatUptime(50 * time.Hour), "2d 2h"},
		{formatBytes(512), "512 B"},
		{formatBytes(1536), "1.5 KiB"},
		{formatBytes(12 << 20), "12.0 MiB"},
		{formatBytes(3 << 30), "3.0 GiB"},
	}
	for i, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%d: got %q, want %q", i, tt.got, tt.want)
		}
	}
}

// TestOverviewBinding: a binding is the same instance as its target, so its
// card shows the target's health instead of "no check"; a card that passes
// its own check names its unhealthy dependencies.
func TestOverviewBinding(t *testing.T) {
	g := registry.Graph{Nodes: []registry.Node{
		{Name: "worker", Kind: registry.KindComponent, State: "started"},
		{Name: "worker.Enqueuer", Kind: registry.KindService, State: "started", Deps: []string{"worker"}, AliasOf: "worker"},
		{Name: "plain", Kind: registry.KindService, State: "registered"},
		{Name: "mailer", Kind: registry.KindService, State: "started", Deps: []string{"plain", "worker"}},
	}}
	rep := registry.Report{Checks: []registry.CheckResult{{Name: "worker", Status: registry.StatusUnhealthy, Message: "queue table missing"}}}
	health := map[string]string{}
	for _, s := range overviewOf(g, rep, Stats{}).Sections {
		for _, c := range s.Cards {
			health[c.Name] = c.Health + ":" + c.Message
		}
	}
	for name, want := range map[string]string{
		"worker":          "unhealthy:queue table missing",
		"worker.Enqueuer": "unhealthy:queue table missing",
		"plain":           ":",
		"mailer":          ":",
	} {
		if health[name] != want {
			t.Errorf("card %s: %q, want %q", name, health[name], want)
		}
	}
	for _, s := range overviewOf(g, rep, Stats{}).Sections {
		for _, c := range s.Cards {
			// The binding shows its target's health, not a note about it.
			want := map[string]string{"mailer": "worker"}[c.Name]
			if got := strings.Join(c.UnhealthyDeps, ","); got != want {
				t.Errorf("card %s: unhealthy dependencies %q, want %q", c.Name, got, want)
			}
		}
	}
	for _, n := range layout(g, rep).Nodes {
		if want, _, _ := strings.Cut(health[n.Name], ":"); n.Health != want {
			t.Errorf("graph node %s: health %q, want %q", n.Name, n.Health, want)
		}
	}
}

// TestBackTo: a plain form post returns to the panel's page as it was viewed,
// never to another page or host, and without a notice in the query (notices
// travel in the flash cookie) or the confirmation step it was posted from.
func TestBackTo(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ name, referer, want string }{
		{"no referer", "", "/dashboard/panels/users"},
		{"search kept", "http://example.com/dashboard/panels/users?q=ada&page=2", "/dashboard/panels/users?page=2&q=ada"},
		{"old notice dropped", "http://example.com/dashboard/panels/users?notice=old&q=x", "/dashboard/panels/users?q=x"},
		{"confirmation step dropped", "http://example.com/dashboard/panels/users?confirm=7&page=2&q=x", "/dashboard/panels/users?page=2&q=x"},
		{"another page", "http://example.com/dashboard/panels/jobs?q=x", "/dashboard/panels/users"},
		{"another host", "http://evil.test/dashboard/panels/users?q=x", "/dashboard/panels/users"},
	} {
		req := httptest.NewRequest(http.MethodPost, "http://example.com/dashboard/panels/users/actions/deactivate", nil)
		if tt.referer != "" {
			req.Header.Set("Referer", tt.referer)
		}
		if got := backTo(req, "users"); got != tt.want {
			t.Errorf("%s: %s, want %s", tt.name, got, tt.want)
		}
	}
}

// TestFlash: a panel's notice comes only from the server. A notice in the
// query string (a link someone sent) shows nothing; an action's notice is
// shown on the page the post redirects to, once, and only to the session
// (CSRF cookie) that ran it, on the panel that ran it.
func TestFlash(t *testing.T) {
	t.Parallel()
	e := setup(t, setupOpts{})
	pageWith := func(path string, cookies ...*http.Cookie) *httptest.ResponseRecorder {
		t.Helper()
		req := httptest.NewRequestWithContext(t.Context(), http.MethodGet, path, nil)
		for _, c := range cookies {
			req.AddCookie(c)
		}
		return do(t, e.h, req)
	}
	notice := regexp.MustCompile(`<p class="notice" role="status">([^<]*)</p>`)

	for _, path := range []string{"/dashboard/panels/jobs?notice=attacker+text", "/dashboard/panels/jobs?notice=Done%3A+retry."} {
		if body := pageWith(path).Body.String(); notice.MatchString(body) || strings.Contains(body, "attacker text") {
			t.Errorf("GET %s shows a notice:\n%s", path, body)
		}
	}

	csrf, token := session(t, e.h)
	form := url.Values{CSRFField: {token}, "id": {"7"}}
	req := httptest.NewRequestWithContext(t.Context(), http.MethodPost, "/dashboard/panels/jobs/actions/retry", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(csrf)
	rec := do(t, e.h, req)
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("POST = %d\n%s", rec.Code, rec.Body)
	}
	var flash *http.Cookie
	for _, c := range rec.Result().Cookies() {
		if c.Name == flashCookie {
			flash = c
		}
	}
	if flash == nil || !flash.HttpOnly || flash.SameSite != http.SameSiteStrictMode || flash.MaxAge <= 0 || flash.MaxAge > 120 {
		t.Fatalf("flash cookie = %+v; want a short-lived HttpOnly SameSite=Strict cookie", flash)
	}
	if strings.Contains(flash.Value, "Done") {
		t.Errorf("the flash cookie holds the notice in clear: %q", flash.Value)
	}

	// Another session (another CSRF cookie), another panel, a tampered
	// cookie: nothing shown.
	other, _ := session(t, e.h)
	tampered := *flash
	tampered.Value = strings.Replace(flash.Value, flash.Value[:1], string(rune('A'+(flash.Value[0]-'A'+1)%26)), 1)
	for name, cookies := range map[string][]*http.Cookie{
		"another session": {other, flash},
		"tampered":        {csrf, &tampered},
	} {
		if body := pageWith("/dashboard/panels/jobs", cookies...).Body.String(); notice.MatchString(body) {
			t.Errorf("%s: a notice is shown:\n%s", name, body)
		}
	}
	if body := pageWith("/dashboard/panels/auto", csrf, flash).Body.String(); notice.MatchString(body) {
		t.Errorf("another panel shows the notice:\n%s", body)
	}

	first := pageWith("/dashboard/panels/jobs", csrf, flash)
	if m := notice.FindStringSubmatch(first.Body.String()); m == nil || m[1] != "Done: retry." {
		t.Fatalf("the page after the action shows notice %q, want %q", m, "Done: retry.")
	}
	cleared := false
	for _, c := range first.Result().Cookies() {
		cleared = cleared || c.Name == flashCookie && c.MaxAge < 0
	}
	if !cleared {
		t.Error("showing the notice does not clear the flash cookie")
	}
	// A browser drops the cookie; the reload shows nothing.
	if body := pageWith("/dashboard/panels/jobs", csrf).Body.String(); notice.MatchString(body) {
		t.Errorf("the reload shows a notice again:\n%s", body)
	}
}

// TestDashboardHome: /dashboard and /dashboard/ send a browser to the
// overview, the dashboard's home at "/", instead of the API's JSON 404; and
// the page for an unknown panel links back to it.
func TestDashboardHome(t *testing.T) {
	t.Parallel()
	e := setup(t, setupOpts{})
	for _, path := range []string{Prefix, Prefix + "/"} {
		req := httptest.NewRequestWithContext(t.Context(), http.MethodGet, path, nil)
		req.Header.Set("Accept", "text/html")
		rec := do(t, e.h, req)
		if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != OverviewPath {
			t.Errorf("GET %s = %d to %q, want %d to %q", path, rec.Code, rec.Header().Get("Location"), http.StatusSeeOther, OverviewPath)
		}
	}
	// The redirect is behind the same access rules as the pages.
	req := httptest.NewRequestWithContext(t.Context(), http.MethodGet, Prefix, nil)
	req.Host = "evil.example"
	if rec := do(t, e.h, req); rec.Code != http.StatusForbidden {
		t.Errorf("GET %s for another host = %d, want 403", Prefix, rec.Code)
	}

	req = httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/dashboard/panels/nope", nil)
	req.Header.Set("Accept", "text/html")
	rec := do(t, e.h, req)
	if rec.Code != http.StatusNotFound || !strings.Contains(rec.Body.String(), `<a href="/">Back to the dashboard</a>`) {
		t.Errorf("unknown panel = %d without a link home:\n%s", rec.Code, rec.Body)
	}
	// Refusals outside the dashboard's reach (another host) link nowhere.
	req = httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/dashboard/panels/nope", nil)
	req.Host = "evil.example"
	if rec := do(t, e.h, req); strings.Contains(rec.Body.String(), "Back to the dashboard") {
		t.Errorf("the host refusal links to the dashboard:\n%s", rec.Body)
	}
}

// TestRefusalPageOnPhone: the refusal page is bare, but a phone must show it at its own width;
// without a viewport it lays the page out 980px wide and shrinks the text to a third.
func TestRefusalPageOnPhone(t *testing.T) {
	e := setup(t, setupOpts{})
	req := httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/dashboard/panels/nope", nil)
	req.Header.Set("Accept", "text/html")
	rec := do(t, e.h, req)
	if body := rec.Body.String(); rec.Code != http.StatusNotFound || !strings.Contains(body, `<meta name="viewport" content="width=device-width, initial-scale=1">`) {
		t.Errorf("refusal page: %d, want 404 with a viewport:\n%s", rec.Code, body)
	}
}

// TestRefusalPageLandmarks: the bare refusal pages (404, the host rule's and the CSRF check's
// 403) keep their content in a main landmark, where a screen reader's "go to main" and an
// accessibility audit look for it, and name an icon so the browser does not ask for
// /favicon.ico (one more 404 in the access log at every refusal).
func TestRefusalPageLandmarks(t *testing.T) {
	t.Parallel()
	e := setup(t, setupOpts{})
	for _, c := range []struct {
		name, method, path, host string
		status                   int
	}{
		{"unknown panel", http.MethodGet, "/dashboard/panels/nope", "", http.StatusNotFound},
		{"another host", http.MethodGet, "/dashboard/panels/jobs", "evil.example", http.StatusForbidden},
		{"form post without a token", http.MethodPost, "/dashboard/panels/jobs/actions/retry", "", http.StatusForbidden},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			req := httptest.NewRequestWithContext(t.Context(), c.method, c.path, nil)
			req.Header.Set("Accept", "text/html")
			if c.host != "" {
				req.Host = c.host
			}
			rec := do(t, e.h, req)
			body := rec.Body.String()
			if rec.Code != c.status {
				t.Fatalf("%s %s = %d, want %d:\n%s", c.method, c.path, rec.Code, c.status, body)
			}
			if !regexp.MustCompile(`(?s)<main>\s*<h1>.*</main>`).MatchString(body) || !strings.Contains(body, `<link rel="icon" href="data:,">`) {
				t.Errorf("the refusal page lacks its main landmark or its icon:\n%s", body)
			}
		})
	}
}

// TestPageLandmarks: everything on a dashboard page is in a landmark (the header, main, the
// footer), where a screen reader's landmark navigation finds it; only the skip link stands
// outside, as it must to come first. The stale banner ("Refreshing has failed since ...")
// stood between the header and main, so moving by landmarks skipped it.
func TestPageLandmarks(t *testing.T) {
	t.Parallel()
	e := setup(t, setupOpts{})
	body := regexp.MustCompile(`(?s)<body[^>]*>(.*)</body>`)
	for _, path := range []string{"/", "/dashboard/graph", "/dashboard/routes", "/dashboard/panels/jobs"} {
		m := body.FindStringSubmatch(get(t, e.h, path).Body.String())
		if m == nil {
			t.Fatalf("GET %s: no body", path)
		}
		rest := m[1]
		for _, re := range []string{`(?s)<a class="skip"[^>]*>[^<]*</a>`, `(?s)<header\b.*?</header>`, `(?s)<main\b.*?</main>`, `(?s)<footer\b.*?</footer>`} {
			rest = regexp.MustCompile(re).ReplaceAllString(rest, "")
		}
		if rest = strings.TrimSpace(rest); rest != "" {
			t.Errorf("GET %s: outside the landmarks: %s", path, rest)
		}
		if !strings.Contains(m[1], `<main id="main" tabindex="-1">`+"\n"+`<p id="stale"`) {
			t.Errorf("GET %s: the stale banner is not the first thing in main", path)
		}
	}
}

// TestUnseenActionOutcome: an htmx action whose browser left before the answer (a reload
// mid-flight: the request's context ends) still ran, and its outcome is shown on the next
// load of that panel in that browser, once; not to another browser, not on another panel.
// An answer that was delivered is never shown again on the next load.
func TestUnseenActionOutcome(t *testing.T) {
	t.Parallel()
	e := setup(t, setupOpts{})
	csrf, token := session(t, e.h)
	other, _ := session(t, e.h)
	post := func(ctx context.Context, id string) *httptest.ResponseRecorder {
		t.Helper()
		// As htmx posts: the token in the header the page's hx-headers sets, not in the form.
		form := url.Values{"id": {id}, "q": {"carol"}}
		req := httptest.NewRequestWithContext(ctx, http.MethodPost, "/dashboard/panels/jobs/actions/retry", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("HX-Request", "true")
		req.Header.Set(CSRFHeader, token)
		req.AddCookie(csrf)
		return do(t, e.h, req)
	}
	outcome := regexp.MustCompile(`<div class="outcome"><p class="notice[^"]*" role="(?:status|alert)">([^<]*)</p></div>`)
	page := func(path string, c *http.Cookie) []string {
		t.Helper()
		req := httptest.NewRequestWithContext(t.Context(), http.MethodGet, path, nil)
		req.AddCookie(c)
		var got []string
		for _, m := range outcome.FindAllStringSubmatch(do(t, e.h, req).Body.String(), -1) {
			got = append(got, m[1])
		}
		return got
	}
	gone := func() context.Context {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		return ctx
	}

	if rec := post(t.Context(), "7"); !strings.Contains(rec.Body.String(), "Done: retry.") {
		t.Fatalf("the htmx answer has no outcome:\n%s", rec.Body)
	} else if !strings.Contains(rec.Body.String(), `<input name="q" value="carol">`) {
		// The panel re-rendered after the action reads the form the action read (a search the
		// users panel keeps): its body can be read once.
		t.Errorf("the re-rendered panel lost the posted search q=carol:\n%s", rec.Body)
	}
	if got := page("/dashboard/panels/jobs", csrf); got != nil {
		t.Errorf("after a delivered answer the next load shows %q again, want nothing", got)
	}

	for _, tc := range []struct{ id, want string }{
		{"7", "Done: retry."},
		{"bad", "Failed: job bad does not exist"},
	} {
		before := e.retries.Load()
		post(gone(), tc.id)
		if tc.id == "7" && e.retries.Load() != before+1 {
			t.Fatalf("the action did not run for a browser that left")
		}
		if got := page("/dashboard/panels/jobs", other); got != nil {
			t.Errorf("%s: another browser sees %q", tc.id, got)
		}
		if got := page("/dashboard/panels/auto", csrf); got != nil {
			t.Errorf("%s: another panel shows %q", tc.id, got)
		}
		if got := page("/dashboard/panels/jobs", csrf); len(got) != 1 || got[0] != tc.want {
			t.Errorf("%s: the next load shows %q, want [%q]", tc.id, got, tc.want)
		}
		if got := page("/dashboard/panels/jobs", csrf); got != nil {
			t.Errorf("%s: the load after shows %q again, want nothing", tc.id, got)
		}
	}
}
