package backend

import (
	"bytes"
	"compress/gzip"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// TestEmbeddedFileLazy: a file's bytes are read (and hashed) on first use, once, not when it
// is declared; every representation serves from that one read; a read that fails answers a
// problem, never a half-made response.
func TestEmbeddedFileLazy(t *testing.T) {
	t.Parallel()
	plain := []byte(strings.Repeat("console.log('hi');\n", 50))
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write(plain)
	_ = zw.Close()

	for _, c := range []struct {
		name         string
		stored       []byte
		gzipped      bool
		readErr      error
		acceptGzip   bool
		wantStatus   int
		wantEncoding string
		wantBody     []byte
	}{
		{name: "plain", stored: plain, wantStatus: http.StatusOK, wantBody: plain},
		{name: "gzip to a gzip client", stored: gz.Bytes(), gzipped: true, acceptGzip: true, wantStatus: http.StatusOK, wantEncoding: "gzip", wantBody: gz.Bytes()},
		{name: "gzip to another client", stored: gz.Bytes(), gzipped: true, wantStatus: http.StatusOK, wantBody: plain},
		{name: "unreadable", gzipped: true, acceptGzip: true, readErr: errors.New("gone"), wantStatus: http.StatusInternalServerError},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			var reads atomic.Int32
			f := NewEmbeddedFile("app.js", "text/javascript", func() ([]byte, error) {
				reads.Add(1)
				return c.stored, c.readErr
			}, c.gzipped)
			if n := reads.Load(); n != 0 {
				t.Fatalf("declaring the file read it %d times", n)
			}
			for range 3 {
				req := httptest.NewRequest(http.MethodGet, "/app.js", nil)
				if c.acceptGzip {
					req.Header.Set("Accept-Encoding", "gzip")
				}
				rec := httptest.NewRecorder()
				f.ServeHTTP(rec, req)
				if rec.Code != c.wantStatus || rec.Header().Get("Content-Encoding") != c.wantEncoding {
					t.Fatalf("status %d, encoding %q; want %d, %q", rec.Code, rec.Header().Get("Content-Encoding"), c.wantStatus, c.wantEncoding)
				}
				if c.readErr != nil {
					if !strings.Contains(rec.Body.String(), "The embedded file app.js is corrupt.") || strings.Contains(rec.Body.String(), "gone") {
						t.Errorf("body %s", rec.Body)
					}
					continue
				}
				if !bytes.Equal(rec.Body.Bytes(), c.wantBody) {
					t.Errorf("body differs from the stored file")
				}
				if etag := rec.Header().Get("ETag"); len(etag) < 14 || !strings.Contains(etag, f.Hash()) {
					t.Errorf("ETag %s, hash %s", etag, f.Hash())
				}
			}
			if n := reads.Load(); n != 1 {
				t.Errorf("read %d times, want once", n)
			}
		})
	}
}
