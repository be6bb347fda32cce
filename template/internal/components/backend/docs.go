package backend

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"sync"
	"time"
)

// Paths of the API description and its docs page.
const (
	OpenAPIPath = "/openapi.json"
	DocsPath    = "/docs"
	docsAssets  = DocsPath + "/assets"
)

//go:embed docs
var docsFS embed.FS

// asset is one embedded file, served gzip-compressed to clients that accept
// it and decompressed (once, lazily) for the rest.
type asset struct {
	name        string
	contentType string
	raw         []byte // stored bytes: gzip when gzipped is true
	gzipped     bool
	etag        string
	plain       func() ([]byte, error)
}

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

func loadAssets() (map[string]*asset, error) {
	entries, err := fs.ReadDir(docsFS, "docs")
	if err != nil {
		return nil, fmt.Errorf("backend: read embedded docs: %w", err)
	}
	out := map[string]*asset{}
	for _, e := range entries {
		data, err := docsFS.ReadFile(path.Join("docs", e.Name()))
		if err != nil {
			return nil, fmt.Errorf("backend: read embedded docs: %w", err)
		}
		name, gz := strings.CutSuffix(e.Name(), ".gz")
		ct, ok := assetTypes[name]
		if !ok {
			continue
		}
		sum := sha256.Sum256(data)
		a := &asset{name: name, contentType: ct, raw: data, gzipped: gz, etag: hex.EncodeToString(sum[:8])}
		if gz {
			a.plain = sync.OnceValues(func() ([]byte, error) {
				zr, err := gzip.NewReader(bytes.NewReader(data))
				if err != nil {
					return nil, err
				}
				return io.ReadAll(zr)
			})
		} else {
			a.plain = func() ([]byte, error) { return data, nil }
		}
		out[name] = a
	}
	return out, nil
}

// serve writes the asset, honouring Accept-Encoding, If-None-Match and Range
// through http.ServeContent.
func (a *asset) serve(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", a.contentType)
	h.Set("Cache-Control", "public, max-age=3600")
	h.Set("X-Content-Type-Options", "nosniff")
	body := a.raw
	etag := a.etag
	if a.gzipped {
		h.Add("Vary", "Accept-Encoding")
		if acceptsGzip(r.Header.Values("Accept-Encoding")) {
			h.Set("Content-Encoding", "gzip")
			etag += "-gz" // a different representation needs a different tag
		} else {
			plain, err := a.plain()
			if err != nil {
				writeProblem(w, r, http.StatusInternalServerError, "The embedded file "+a.name+" is corrupt.")
				return
			}
			body = plain
		}
	}
	h.Set("ETag", `"`+etag+`"`)
	http.ServeContent(w, r, a.name, time.Time{}, bytes.NewReader(body))
}

// acceptsGzip reports whether an Accept-Encoding header allows gzip: listed
// (or covered by *) without q=0.
func acceptsGzip(values []string) bool {
	for _, v := range values {
		for part := range strings.SplitSeq(v, ",") {
			coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
			coding = strings.ToLower(strings.TrimSpace(coding))
			if coding != "gzip" && coding != "x-gzip" && coding != "*" {
				continue
			}
			q := strings.ReplaceAll(strings.ToLower(params), " ", "")
			if q == "q=0" || q == "q=0.0" || q == "q=0.00" || q == "q=0.000" {
				continue
			}
			return true
		}
	}
	return false
}

// mountDocs serves the docs page and its assets, all from the binary.
func mountDocs(r *Router, title string) error {
	assets, err := loadAssets()
	if err != nil {
		return err
	}
	tmpl, err := template.ParseFS(docsFS, "docs/index.html")
	if err != nil {
		return fmt.Errorf("backend: parse docs page: %w", err)
	}
	var page bytes.Buffer
	err = tmpl.Execute(&page, struct{ Title, Assets, Spec string }{title, docsAssets, OpenAPIPath})
	if err != nil {
		return fmt.Errorf("backend: render docs page: %w", err)
	}
	html := page.Bytes()

	r.Mux.Get(DocsPath, func(w http.ResponseWriter, req *http.Request) {
		h := w.Header()
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Cache-Control", "no-cache")
		h.Set("X-Content-Type-Options", "nosniff")
		_, _ = w.Write(html)
	})
	r.Mux.Get(docsAssets+"/{name}", func(w http.ResponseWriter, req *http.Request) {
		a, ok := assets[path.Base(req.URL.Path)]
		if !ok {
			writeProblem(w, req, http.StatusNotFound, "No such docs asset.")
			return
		}
		a.serve(w, req)
	})
	return nil
}
