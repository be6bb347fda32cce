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
	gzipped     bool
	stored      func() ([]byte, error)
	plain       func() ([]byte, error)
	hash        func() string
}

// NewEmbeddedFile returns the file name whose stored bytes read returns: gzip data when
// gzipped is set. read runs once, when the file is first served or its hash first asked for:
// embed.FS.ReadFile copies, and copying and hashing the docs' half-megabyte bundle at start
// took 1-2 ms of every start and as much private memory, for a page most runs never serve.
func NewEmbeddedFile(name, contentType string, read func() ([]byte, error), gzipped bool) *EmbeddedFile {
	f := &EmbeddedFile{Name: name, ContentType: contentType, gzipped: gzipped, stored: sync.OnceValues(read)}
	f.hash = sync.OnceValue(func() string {
		stored, err := f.stored()
		if err != nil {
			return ""
		}
		sum := sha256.Sum256(stored)
		return hex.EncodeToString(sum[:6])
	})
	f.plain = f.stored
	if gzipped {
		f.plain = sync.OnceValues(func() ([]byte, error) {
			stored, err := f.stored()
			if err != nil {
				return nil, err
			}
			zr, err := gzip.NewReader(bytes.NewReader(stored))
			if err != nil {
				return nil, err
			}
			return io.ReadAll(zr)
		})
	}
	return f
}

// Hash identifies the stored bytes: the ETag, and the version in cache-busting URLs ("" if
// they cannot be read).
func (f *EmbeddedFile) Hash() string { return f.hash() }

// ServeHTTP writes the file with its content type, an ETag (conditional requests get 304) and
// gzip when accepted. Callers set Cache-Control.
func (f *EmbeddedFile) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", f.ContentType)
	body, err := f.stored()
	etag := f.Hash()
	if err == nil && f.gzipped {
		h.Add("Vary", "Accept-Encoding")
		if acceptsGzip(r.Header.Values("Accept-Encoding")) {
			h.Set("Content-Encoding", "gzip")
			etag += "-gz" // a different representation needs a different tag
		} else {
			body, err = f.plain()
		}
	}
	if err != nil {
		writeProblem(w, r, http.StatusInternalServerError, "The embedded file "+f.Name+" is corrupt.")
		return
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
