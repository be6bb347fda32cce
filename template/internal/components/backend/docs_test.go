package backend

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// TestDocsOffline proves /docs needs nothing but this binary: the page names
// no other host, and every script and stylesheet it references is served
// here, compressed or not.
func TestDocsOffline(t *testing.T) {
	t.Parallel()
	f := setup(t, setupOpts{})
	rec := f.do(t, http.MethodGet, DocsPath, nil, nil)
	if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") {
		t.Fatalf("GET /docs = %d %s", rec.Code, rec.Header().Get("Content-Type"))
	}
	page := rec.Body.String()
	if m := regexp.MustCompile(`(?i)(https?:)?//[a-z0-9.-]+`).FindAllString(page, -1); len(m) > 0 {
		t.Errorf("the docs page names other hosts: %v", m)
	}
	if !strings.Contains(page, `data-spec-url="`+OpenAPIPath+`"`) {
		t.Errorf("the docs page does not point Swagger UI at %s", OpenAPIPath)
	}

	refs := regexp.MustCompile(`(?:src|href)="([^"]+)"`).FindAllStringSubmatch(page, -1)
	if len(refs) < 4 {
		t.Fatalf("found %d references in the page, want the css, two scripts and the spec: %v", len(refs), refs)
	}
	for _, ref := range refs {
		u := ref[1]
		if u == "data:," {
			continue // the empty icon, inline: it keeps the browser from asking for /favicon.ico
		}
		if !strings.HasPrefix(u, "/") || strings.HasPrefix(u, "//") {
			t.Errorf("reference %q is not a local path", u)
			continue
		}
		plain := f.do(t, http.MethodGet, u, nil, nil)
		if plain.Code != http.StatusOK || plain.Body.Len() == 0 {
			t.Errorf("GET %s = %d with %d bytes", u, plain.Code, plain.Body.Len())
			continue
		}
		if plain.Header().Get("Content-Encoding") != "" {
			t.Errorf("GET %s without Accept-Encoding came back %s-encoded", u, plain.Header().Get("Content-Encoding"))
		}
		if !strings.HasPrefix(u, docsAssets) {
			continue
		}
		gz := f.do(t, http.MethodGet, u, nil, http.Header{"Accept-Encoding": {"br, gzip;q=0.8"}})
		if gz.Header().Get("Content-Encoding") != "gzip" {
			continue // a small file stored plain
		}
		zr, err := gzip.NewReader(gz.Body)
		if err != nil {
			t.Fatalf("GET %s: %v", u, err)
		}
		unzipped, err := io.ReadAll(zr)
		if err != nil || !bytes.Equal(unzipped, plain.Body.Bytes()) {
			t.Errorf("GET %s: the gzip and plain bodies differ (err %v)", u, err)
		}
		if gz.Header().Get("ETag") == plain.Header().Get("ETag") {
			t.Errorf("GET %s: both encodings share the ETag %s", u, gz.Header().Get("ETag"))
		}
		if !strings.Contains(gz.Header().Get("Vary"), "Accept-Encoding") {
			t.Errorf("GET %s: no Vary: Accept-Encoding", u)
		}
	}

	if js := f.do(t, http.MethodGet, docsAssets+"/swagger-ui-bundle.js", nil, nil); !strings.Contains(js.Body.String(), "SwaggerUIBundle") {
		t.Error("the bundle does not define SwaggerUIBundle")
	}
	if lic := f.do(t, http.MethodGet, docsAssets+"/LICENSE", nil, nil); lic.Code != http.StatusOK || !strings.Contains(lic.Body.String(), "Apache License") {
		t.Errorf("GET %s/LICENSE = %d, want Swagger UI's Apache license", docsAssets, lic.Code)
	}
	problem(t, f.do(t, http.MethodGet, docsAssets+"/README.md", nil, nil), http.StatusNotFound)
}

func TestDocsConditional(t *testing.T) {
	t.Parallel()
	f := setup(t, setupOpts{})
	first := f.do(t, http.MethodGet, docsAssets+"/swagger-ui.css", nil, nil)
	etag := first.Header().Get("ETag")
	if etag == "" {
		t.Fatal("no ETag")
	}
	again := f.do(t, http.MethodGet, docsAssets+"/swagger-ui.css", nil, http.Header{"If-None-Match": {etag}})
	if again.Code != http.StatusNotModified {
		t.Errorf("If-None-Match = %d, want 304", again.Code)
	}
}

func TestAcceptsGzip(t *testing.T) {
	t.Parallel()
	tests := []struct {
		header []string
		want   bool
	}{
		{nil, false},
		{[]string{"gzip"}, true},
		{[]string{"br, GZIP;q=0.5"}, true},
		{[]string{"deflate", "gzip"}, true},
		{[]string{"*"}, true},
		{[]string{"gzip;q=0"}, false},
		{[]string{"gzip; q=0.000"}, false},
		{[]string{"br, deflate"}, false},
		{[]string{"identity"}, false},
	}
	for _, tt := range tests {
		if got := acceptsGzip(tt.header); got != tt.want {
			t.Errorf("acceptsGzip(%q) = %v, want %v", tt.header, got, tt.want)
		}
	}
}
