package backend

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// EmbeddedFile is a static file compiled into the binary (the /docs assets, the dashboard's
// htmx and CSS). Large ones are stored gzip-compressed and sent as they are to clients that
// accept gzip, nearly all of them, and decompressed once for the others.
type EmbeddedFile struct {
	Name        string
	ContentType string
	// Hash identifies the stored bytes: the ETag, and the version in cache-busting URLs.
	Hash    string
	raw     []byte
	gzipped bool
	plain   func() ([]byte, error)
}

// NewEmbeddedFile returns the file name holding stored, which is gzip data when gzipped is set.
func NewEmbeddedFile(name, contentType string, stored []byte, gzipped bool) *EmbeddedFile {
	sum := sha256.Sum256(stored)
	f := &EmbeddedFile{Name: name, ContentType: contentType, Hash: hex.EncodeToString(sum[:6]), raw: stored, gzipped: gzipped}
	if gzipped {
		f.plain = sync.OnceValues(func() ([]byte, error) {
			zr, err := gzip.NewReader(bytes.NewReader(stored))
			if err != nil {
				return nil, err
			}
			return io.ReadAll(zr)
		})
	} else {
		f.plain = func() ([]byte, error) { return stored, nil }
	}
	return f
}

// ServeHTTP writes the file with its content type, an ETag (conditional requests get 304) and
// gzip when accepted. Callers set Cache-Control.
func (f *EmbeddedFile) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", f.ContentType)
	body, etag := f.raw, f.Hash
	if f.gzipped {
		h.Add("Vary", "Accept-Encoding")
		if acceptsGzip(r.Header.Values("Accept-Encoding")) {
			h.Set("Content-Encoding", "gzip")
			etag += "-gz" // a different representation needs a different tag
		} else {
			plain, err := f.plain()
			if err != nil {
				writeProblem(w, r, http.StatusInternalServerError, "The embedded file "+f.Name+" is corrupt.")
				return
			}
			body = plain
		}
	}
	h.Set("ETag", `"`+etag+`"`)
	http.ServeContent(w, r, f.Name, time.Time{}, bytes.NewReader(body))
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
