package frontend

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"
)

// assets/htmx.min.js.gz is htmx 2.0.11 (npm htmx.org, dist/htmx.min.js.gz),
// 0BSD licensed (assets/htmx.LICENSE).
//
//go:embed assets style.css
var assetFS embed.FS

// asset is one embedded file, served gzip-compressed to clients that accept
// it and decompressed (once, lazily) for the rest. Its URL carries a hash of
// its content, so it can be cached for good.
type asset struct {
	name        string
	contentType string
	raw         []byte // stored bytes: gzip when gzipped is true
	gzipped     bool
	hash        string
	plain       func() ([]byte, error)
}

var assetTypes = map[string]string{
	"htmx.min.js":  "text/javascript; charset=utf-8",
	"htmx.LICENSE": "text/plain; charset=utf-8",
	"style.css":    "text/css; charset=utf-8",
}

func loadAssets() (map[string]*asset, error) {
	out := map[string]*asset{}
	add := func(file string) error {
		data, err := assetFS.ReadFile(file)
		if err != nil {
			return fmt.Errorf("frontend: read embedded %s: %w", file, err)
		}
		name, gz := strings.CutSuffix(path.Base(file), ".gz")
		sum := sha256.Sum256(data)
		a := &asset{name: name, contentType: assetTypes[name], raw: data, gzipped: gz, hash: hex.EncodeToString(sum[:6])}
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
		return nil
	}
	entries, err := fs.ReadDir(assetFS, "assets")
	if err != nil {
		return nil, fmt.Errorf("frontend: read embedded assets: %w", err)
	}
	files := []string{"style.css"}
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

// versioned is the asset's file name with its hash: htmx.min.js -> htmx.min.<hash>.js.
func (a *asset) versioned() string {
	ext := path.Ext(a.name)
	return strings.TrimSuffix(a.name, ext) + "." + a.hash + ext
}

// lookup finds an asset by plain or versioned name.
func (d *Dashboard) lookup(name string) (*asset, bool) {
	if a, ok := d.assets[name]; ok {
		return a, true
	}
	for _, a := range d.assets {
		if a.versioned() == name {
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
	h := w.Header()
	h.Set("Content-Type", a.contentType)
	if name == a.versioned() {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "no-cache")
	}
	body, etag := a.raw, a.hash
	if a.gzipped {
		h.Add("Vary", "Accept-Encoding")
		if acceptsGzip(req.Header.Values("Accept-Encoding")) {
			h.Set("Content-Encoding", "gzip")
			etag += "-gz"
		} else {
			plain, err := a.plain()
			if err != nil {
				http.Error(w, "The embedded file "+a.name+" is corrupt.", http.StatusInternalServerError)
				return
			}
			body = plain
		}
	}
	h.Set("ETag", `"`+etag+`"`)
	http.ServeContent(w, req, a.name, time.Time{}, bytes.NewReader(body))
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
