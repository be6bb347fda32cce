package frontend

import (
	"embed"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"strings"

	"github.com/aegisgo/aegis/template/internal/components/backend"
	"github.com/go-chi/chi/v5"
)

// assets/htmx.min.js.gz is htmx 2.0.11 (npm htmx.org, dist/htmx.min.js.gz),
// 0BSD licensed (assets/htmx.LICENSE).
//
//go:embed assets style.css dashboard.js
var assetFS embed.FS

var assetTypes = map[string]string{
	"htmx.min.js":  "text/javascript; charset=utf-8",
	"htmx.LICENSE": "text/plain; charset=utf-8",
	"style.css":    "text/css; charset=utf-8",
	"dashboard.js": "text/javascript; charset=utf-8",
}

func loadAssets() (map[string]*backend.EmbeddedFile, error) {
	out := map[string]*backend.EmbeddedFile{}
	add := func(file string) error {
		if _, err := fs.Stat(assetFS, file); err != nil {
			return fmt.Errorf("frontend: read embedded %s: %w", file, err)
		}
		name, gz := strings.CutSuffix(path.Base(file), ".gz")
		a := backend.NewEmbeddedFile(name, assetTypes[name], func() ([]byte, error) { return assetFS.ReadFile(file) }, gz)
		out[name] = a
		return nil
	}
	entries, err := fs.ReadDir(assetFS, "assets")
	if err != nil {
		return nil, fmt.Errorf("frontend: read embedded assets: %w", err)
	}
	files := []string{"style.css", "dashboard.js"}
	for _, e := range entries {
		files = append(files, "assets/"+e.Name())
	}
	for _, f := range files {
		if err := add(f); err != nil {
			return nil, err
		}
	}
	for name := range assetTypes {
		if out[name] == nil {
			return nil, fmt.Errorf("frontend: embedded asset %s is missing", name)
		}
	}
	return out, nil
}

// assetURLs are the dashboard's assets' URLs, with their hashes.
type assetURLs struct{ css, htmx, js string }

// urls returns the assets' URLs; each file hashes itself once, on first use.
func (d *Dashboard) urls() assetURLs {
	return assetURLs{
		css:  AssetsPath + "/" + versioned(d.assets["style.css"]),
		htmx: AssetsPath + "/" + versioned(d.assets["htmx.min.js"]),
		js:   AssetsPath + "/" + versioned(d.assets["dashboard.js"]),
	}
}

// versioned is the asset's file name with its hash: htmx.min.js -> htmx.min.<hash>.js.
func versioned(a *backend.EmbeddedFile) string {
	ext := path.Ext(a.Name)
	return strings.TrimSuffix(a.Name, ext) + "." + a.Hash() + ext
}

// lookup finds an asset by plain or versioned name.
func (d *Dashboard) lookup(name string) (*backend.EmbeddedFile, bool) {
	if a, ok := d.assets[name]; ok {
		return a, true
	}
	for _, a := range d.assets {
		if versioned(a) == name {
			return a, true
		}
	}
	return nil, false
}

func (s *site) asset(w http.ResponseWriter, req *http.Request, d *Dashboard) {
	name := chi.URLParam(req, "name")
	a, ok := d.lookup(name)
	if !ok {
		http.Error(w, "No such dashboard asset.", http.StatusNotFound)
		return
	}
	if name == versioned(a) {
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		w.Header().Set("Cache-Control", "no-cache")
	}
	a.ServeHTTP(w, req)
}
