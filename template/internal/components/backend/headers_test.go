package backend

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

func TestHSTS(t *testing.T) {
	t.Parallel()
	const proxy = "10.0.0.0/8"
	tests := []struct {
		name       string
		production bool
		maxAge     int
		peer       string
		tls        bool
		proto      string
		want       string
	}{
		{name: "production over TLS", production: true, maxAge: 31536000, peer: "203.0.113.9:1", tls: true, want: "max-age=31536000"},
		{name: "production behind trusted TLS proxy", production: true, maxAge: 600, peer: "10.0.0.2:1", proto: "https", want: "max-age=600"},
		{name: "production, untrusted peer claims https", production: true, maxAge: 600, peer: "203.0.113.9:1", proto: "https"},
		{name: "production, plain HTTP", production: true, maxAge: 600, peer: "10.0.0.2:1", proto: "http"},
		{name: "production, disabled", production: true, maxAge: -1, peer: "203.0.113.9:1", tls: true},
		{name: "development over TLS", maxAge: 600, peer: "203.0.113.9:1", tls: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := setup(t, setupOpts{production: tt.production, settings: Settings{TrustedProxies: proxy, HSTSMaxAge: tt.maxAge}})
			for _, target := range []string{ReadyPath, DocsPath, "/test/echo", "/nope"} {
				req := httptest.NewRequest(http.MethodGet, target, nil)
				req.RemoteAddr = tt.peer
				if tt.tls {
					req.TLS = &tls.ConnectionState{}
				}
				if tt.proto != "" {
					req.Header.Set("X-Forwarded-Proto", tt.proto)
				}
				rec := httptest.NewRecorder()
				f.h.ServeHTTP(rec, req)
				if got := rec.Header().Get("Strict-Transport-Security"); got != tt.want {
					t.Errorf("GET %s: Strict-Transport-Security = %q, want %q", target, got, tt.want)
				}
			}
		})
	}
}

// TestDocsHeaders: /docs gets a strict CSP that still lets the embedded
// Swagger UI run (its scripts and CSS are files of ours, it fetches the API
// description and calls the API from this origin), and may not be framed.
func TestDocsHeaders(t *testing.T) {
	t.Parallel()
	f := setup(t, setupOpts{})
	rec := f.do(t, http.MethodGet, DocsPath, nil, nil)
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /docs = %d", rec.Code)
	}
	h := rec.Header()
	csp := h.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "script-src 'self'", "connect-src 'self'", "img-src 'self' data:", "frame-ancestors 'none'", "base-uri 'none'", "form-action 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("Content-Security-Policy %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-eval") || strings.Contains(csp, "script-src 'self' 'unsafe-inline'") {
		t.Errorf("Content-Security-Policy %q allows eval or inline scripts", csp)
	}
	if got := h.Get("X-Frame-Options"); got != "DENY" {
		t.Errorf("X-Frame-Options = %q, want DENY", got)
	}
	if got := h.Get("X-Content-Type-Options"); got != "nosniff" {
		t.Errorf("X-Content-Type-Options = %q, want nosniff", got)
	}
	// The policy forbids inline scripts and anything from elsewhere: the
	// page must load only same-origin files.
	page := rec.Body.String()
	for _, m := range regexp.MustCompile(`<script[^>]*>`).FindAllString(page, -1) {
		if !strings.Contains(m, `src="/docs/assets/`) {
			t.Errorf("docs page has a script the policy blocks: %s", m)
		}
	}
	if strings.Contains(page, "http://") || strings.Contains(page, "https://") {
		t.Errorf("docs page refers to another origin:\n%s", page)
	}
}
