package backend

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"sync"
)

// Paths of the API description and its docs page.
const (
	OpenAPIPath = "/openapi.json"
	DocsPath    = "/docs"
	docsAssets  = DocsPath + "/assets"
)

// docsCSP allows what the docs page loads and nothing else: its script and
// CSS files from /docs/assets, the API description and "Try it out" calls to
// this origin, and the data: images in Swagger UI's CSS. Scripts run from
// files only (init.js is kept out of the page for this). Styles allow
// 'unsafe-inline' because Swagger UI writes style attributes into the page
// as it renders (the response panes, the models); a style cannot run code.
// No one may frame the page (clickjacking on "Try it out").
const docsCSP = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
	"font-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

//go:embed docs
var docsFS embed.FS

// assetTypes maps an asset's name to its Content-Type; files not listed here
// (README.md, index.html) are not served as assets.
var assetTypes = map[string]string{
	"swagger-ui-bundle.js":             "text/javascript; charset=utf-8",
	"swagger-ui.css":                   "text/css; charset=utf-8",
	"init.js":                          "text/javascript; charset=utf-8",
	"LICENSE":                          "text/plain; charset=utf-8",
	"NOTICE":                           "text/plain; charset=utf-8",
	"swagger-ui-bundle.js.LICENSE.txt": "text/plain; charset=utf-8",
}

func loadAssets() (map[string]*EmbeddedFile, error) {
	entries, err := fs.ReadDir(docsFS, "docs")
	if err != nil {
		return nil, fmt.Errorf("backend: read embedded docs: %w", err)
	}
	out := map[string]*EmbeddedFile{}
	for _, e := range entries {
		file := path.Join("docs", e.Name())
		name, gz := strings.CutSuffix(e.Name(), ".gz")
		if ct, ok := assetTypes[name]; ok {
			out[name] = NewEmbeddedFile(name, ct, func() ([]byte, error) { return docsFS.ReadFile(file) }, gz)
		}
	}
	return out, nil
}

// mountDocs serves the docs page and its assets, all from the binary.
func mountDocs(r *Router, title string) error {
	assets, err := loadAssets()
	if err != nil {
		return err
	}
	// The page is rendered on its first request, not at start: most starts never serve it.
	page := sync.OnceValues(func() ([]byte, error) {
		tmpl, err := template.ParseFS(docsFS, "docs/index.html")
		if err != nil {
			return nil, fmt.Errorf("backend: parse docs page: %w", err)
		}
		var b bytes.Buffer
		if err := tmpl.Execute(&b, struct{ Title, Assets, Spec string }{title, docsAssets, OpenAPIPath}); err != nil {
			return nil, fmt.Errorf("backend: render docs page: %w", err)
		}
		return b.Bytes(), nil
	})

	r.Mux.Get(DocsPath, func(w http.ResponseWriter, req *http.Request) {
		html, err := page()
		if err != nil {
			r.Logger.ErrorContext(req.Context(), "docs page", "error", err)
			writeProblem(w, req, http.StatusInternalServerError, "The docs page failed to render; the log says why.")
			return
		}
		h := w.Header()
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Cache-Control", "no-cache")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Content-Security-Policy", docsCSP)
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		_, _ = w.Write(html)
	})
	r.Mux.Get(docsAssets+"/{name}", func(w http.ResponseWriter, req *http.Request) {
		a, ok := assets[path.Base(req.URL.Path)]
		if !ok {
			writeProblem(w, req, http.StatusNotFound, "No such docs asset.")
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=3600")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		a.ServeHTTP(w, req)
	})
	return nil
}
