package httpclient

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// TestTLS: a host with a private certificate authority is reached through ClientsOpts.TLS,
// over HTTP/2 when it offers it, concurrent calls sharing one connection (what keeps a
// thousand streamed AI answers from holding a thousand connections); without the option the
// certificate is refused.
func TestTLS(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	conns := map[string]bool{}
	release := make(chan struct{})
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		conns[r.RemoteAddr] = true
		mu.Unlock()
		w.Header().Set("X-Proto", r.Proto)
		w.(http.Flusher).Flush()
		if r.URL.Path == "/open" {
			<-release // every call is open at once
		}
	}))
	srv.EnableHTTP2 = true
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake
	srv.StartTLS()
	t.Cleanup(srv.Close)
	roots := x509.NewCertPool()
	roots.AddCert(srv.Certificate())

	tests := []struct {
		name    string
		tls     *tls.Config
		wantErr bool
	}{
		{"private CA", &tls.Config{RootCAs: roots}, false},
		{"system roots", nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cs, err := NewClients(fastSettings(), &ClientsOpts{TLS: tc.tls})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = cs.Stop(t.Context()) })
			c, err := cs.New("private", Options{})
			if err != nil {
				t.Fatal(err)
			}
			if tc.wantErr {
				_, err := get(t, c, srv.URL)
				var unknown x509.UnknownAuthorityError
				if !errors.As(err, &unknown) {
					t.Fatalf("err = %v, want an unknown authority", err)
				}
				// A certificate not trusted now will not be on a retry (retryWorthy).
				if !strings.Contains(err.Error(), ": 1 attempt: ") {
					t.Errorf("err = %v, want one attempt", err)
				}
				return
			}
			// One call first, so that the concurrent ones find its connection instead of
			// racing to dial their own.
			resp, err := get(t, c, srv.URL+"/warm")
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			const calls = 8
			var wg sync.WaitGroup
			protos := make(chan string, calls)
			for range calls {
				wg.Go(func() {
					resp, err := get(t, c, srv.URL+"/open")
					if err != nil {
						t.Error(err)
						protos <- ""
						return
					}
					protos <- resp.Proto + " " + resp.Header.Get("X-Proto")
					_, _ = io.Copy(io.Discard, resp.Body)
					_ = resp.Body.Close()
				})
			}
			for range calls {
				if p := <-protos; p != "HTTP/2.0 HTTP/2.0" {
					t.Errorf("protocol (client, server) = %q, want HTTP/2.0 on both", p)
				}
			}
			close(release)
			wg.Wait()
			mu.Lock()
			defer mu.Unlock()
			if len(conns) != 1 {
				t.Errorf("%d connections for %d concurrent calls, want them to share one", len(conns), calls)
			}
		})
	}
}

func get(t *testing.T, c *Client, url string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	return c.Do(req)
}

// TestNotTLS: https:// to a server that speaks plain HTTP fails on the first attempt; the
// server's answer will not turn into TLS on a retry, so retrying only delays the error that
// says to check the scheme.
func TestNotTLS(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(srv.Close)
	cs, err := NewClients(fastSettings(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cs.Stop(t.Context()) })
	c, err := cs.New("plain", Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = get(t, c, "https://"+strings.TrimPrefix(srv.URL, "http://"))
	if err == nil {
		t.Fatal("https:// to a plain-HTTP server succeeded, want an error")
	}
	if !strings.Contains(err.Error(), ": 1 attempt: ") {
		t.Errorf("err = %v, want one attempt", err)
	}
}
