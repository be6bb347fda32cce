package netfail_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aegisgo/aegis/template/internal/runtime/netfail"
	"github.com/aegisgo/aegis/template/internal/runtime/testserver"
)

// get GETs target with client and returns the error; a request that gets an answer fails the test.
func get(t *testing.T, ctx context.Context, client *http.Client, target string) error {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := client.Do(req)
	if err == nil {
		resp.Body.Close()
		t.Fatalf("GET %s answered %s, want a transport error", target, resp.Status)
	}
	return err
}

// TestClassify: real failures of a dial or an HTTP request, as net and net/http return them,
// get the kind a user acts on, and so do the same errors wrapped again by a caller.
func TestClassify(t *testing.T) {
	t.Parallel()
	closedPort := "127.0.0.1:" + strconv.Itoa(testserver.FreePort(t))
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	t.Cleanup(plain.Close)
	untrusted := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	untrusted.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes are expected
	untrusted.StartTLS()
	t.Cleanup(untrusted.Close)
	// Accepts, then closes without a word.
	hangUp := testserver.Serve(t, func(c net.Conn) { c.Close() })
	// Reads the request, then resets the connection (RST, not FIN).
	reset := testserver.Serve(t, func(c net.Conn) {
		_, _ = c.Read(make([]byte, 1024))
		_ = c.(*net.TCPConn).SetLinger(0)
		c.Close()
	})
	// Accepts and never answers, until the client gives up.
	silent := testserver.Serve(t, func(c net.Conn) {
		_, _ = io.Copy(io.Discard, c)
		c.Close()
	})
	short := &http.Client{Timeout: 100 * time.Millisecond}
	canceled, cancel := context.WithCancel(t.Context())
	cancel()
	expired, cancelExpired := context.WithTimeout(t.Context(), -time.Second)
	defer cancelExpired()

	for _, tc := range []struct {
		name string
		err  func(t *testing.T) error
		want netfail.Kind
	}{
		{"dial a closed port", func(t *testing.T) error {
			_, err := net.DialTimeout("tcp", closedPort, time.Second)
			return err
		}, netfail.Refused},
		{"GET a closed port", func(t *testing.T) error {
			return get(t, t.Context(), http.DefaultClient, "http://"+closedPort+"/")
		}, netfail.Refused},
		{"resolve a name under .invalid", func(t *testing.T) error {
			_, err := net.DefaultResolver.LookupHost(t.Context(), "nowhere.invalid")
			return err
		}, netfail.HostName},
		{"GET a name under .invalid", func(t *testing.T) error {
			return get(t, t.Context(), http.DefaultClient, "http://nowhere.invalid/")
		}, netfail.HostName},
		// The lookup ran out of time: still the name (see Classify's order), not Timeout.
		{"a lookup past its deadline", func(t *testing.T) error {
			_, err := net.DefaultResolver.LookupHost(expired, "nowhere.invalid")
			return err
		}, netfail.HostName},
		{"a lookup with no DNS answer in time", func(t *testing.T) error {
			return &net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Err: "i/o timeout", Name: "db.internal", IsTimeout: true}}
		}, netfail.HostName},
		{"an untrusted certificate", func(t *testing.T) error {
			return get(t, t.Context(), &http.Client{}, untrusted.URL)
		}, netfail.Certificate},
		{"a certificate for another host", func(t *testing.T) error {
			// The test server's certificate is trusted here, but names 127.0.0.1 and
			// example.com, not localhost.
			return get(t, t.Context(), untrusted.Client(), strings.Replace(untrusted.URL, "127.0.0.1", "localhost", 1))
		}, netfail.Certificate},
		{"a bare x509 error", func(t *testing.T) error {
			return x509.UnknownAuthorityError{}
		}, netfail.Certificate},
		{"https to a plain-HTTP port", func(t *testing.T) error {
			return get(t, t.Context(), http.DefaultClient, strings.Replace(plain.URL, "http://", "https://", 1))
		}, netfail.NotTLS},
		{"a TLS handshake with a plain-HTTP port", func(t *testing.T) error {
			// A server that answers the ClientHello in HTTP, without net/http's own check.
			addr := testserver.Serve(t, func(c net.Conn) {
				_, _ = c.Read(make([]byte, 1024))
				_, _ = io.WriteString(c, "HTTP/1.1 400 Bad Request\r\n\r\n")
				c.Close()
			})
			conn, err := tls.Dial("tcp", addr.String(), &tls.Config{ServerName: "localhost"})
			if err == nil {
				conn.Close()
			}
			return err
		}, netfail.NotTLS},
		{"a server that hangs up", func(t *testing.T) error {
			return get(t, t.Context(), http.DefaultClient, "http://"+hangUp.String()+"/")
		}, netfail.Closed},
		{"a server that resets the connection", func(t *testing.T) error {
			return get(t, t.Context(), http.DefaultClient, "http://"+reset.String()+"/")
		}, netfail.Closed},
		{"a server that never answers (client timeout)", func(t *testing.T) error {
			return get(t, t.Context(), short, "http://"+silent.String()+"/")
		}, netfail.Timeout},
		{"a server that never answers (context deadline)", func(t *testing.T) error {
			ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
			defer cancel()
			return get(t, ctx, http.DefaultClient, "http://"+silent.String()+"/")
		}, netfail.Timeout},
		{"a read past its deadline", func(t *testing.T) error {
			conn, err := net.Dial("tcp", silent.String())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			_ = conn.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
			_, err = conn.Read(make([]byte, 1))
			return err
		}, netfail.Timeout},
		{"a canceled request", func(t *testing.T) error {
			return get(t, canceled, http.DefaultClient, "http://"+silent.String()+"/")
		}, netfail.Canceled},
		{"no route to the host", func(t *testing.T) error {
			// No test can provoke it without a network to be cut off from.
			return &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.EHOSTUNREACH)}
		}, netfail.Unreachable},
		{"no route to the network", func(t *testing.T) error {
			return &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ENETUNREACH)}
		}, netfail.Unreachable},
		{"a server that hangs up before the request is under way", func(t *testing.T) error {
			// What net/http's transport says when its reader sees the connection end before the
			// request is accounted for (unexported; the hang-up row above meets it now and then).
			return &url.Error{Op: "Get", URL: "http://provider/", Err: errors.New("http: server closed idle connection")}
		}, netfail.Closed},
		// Canceled wins over a deadline met at the same time: this side gave up.
		{"canceled and past a deadline", func(t *testing.T) error {
			return errors.Join(context.DeadlineExceeded, context.Canceled)
		}, netfail.Canceled},
		{"something else", func(t *testing.T) error { return errors.New("disk full") }, netfail.Unknown},
		{"nil", func(t *testing.T) error { return nil }, netfail.Unknown},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := tc.err(t)
			if got := netfail.Classify(err); got != tc.want {
				t.Fatalf("Classify(%v) = %v, want %v", err, got, tc.want)
			}
			if err == nil {
				return
			}
			for _, wrapped := range []error{
				fmt.Errorf("otlp: POST collector: %w", err),
				&url.Error{Op: "Post", URL: "http://provider/v1", Err: err},
			} {
				if got := netfail.Classify(wrapped); got != tc.want {
					t.Errorf("Classify(%v) = %v, want %v", wrapped, got, tc.want)
				}
			}
		})
	}
}

// TestKindString: each kind has a name of its own, for logs and test failures.
func TestKindString(t *testing.T) {
	t.Parallel()
	seen := map[string]netfail.Kind{}
	for k := netfail.Unknown; k <= netfail.Timeout; k++ {
		s := k.String()
		if prev, dup := seen[s]; dup {
			t.Errorf("%d and %d are both %q", prev, k, s)
		}
		seen[s] = k
	}
}
