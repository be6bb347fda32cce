package httpclient

import (
	"bufio"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/codes"

	"github.com/aegisgo/aegis/template/internal/runtime/tracing/tracingtest"
)

// TestCallSpanFailure checks the client span of a failed call: an error status with a fixed
// description and the failure's class (error.type), never the error's text, which for a
// transport failure can hold what the server sent (a malformed answer is quoted) or a URL with
// its credentials. It installs a global tracer provider, so it does not run in parallel.
func TestCallSpanFailure(t *testing.T) {
	const secret = "s3cr3t-marker"
	tests := []struct {
		name      string
		handle    func(n int, w http.ResponseWriter, r *http.Request)
		send      func(*http.Request) (*http.Response, error) // replaces the transport when set
		status    codes.Code
		desc      string // the status description, "" for none
		errorType string // "" for no error.type attribute
		timeout   time.Duration
		before    int // calls made first (failing ones open the breaker, which opens after 2)
	}{
		{
			name:   "ok",
			handle: func(_ int, w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) },
			status: codes.Unset,
		},
		{
			name:      "server error",
			handle:    func(_ int, w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) },
			status:    codes.Error,
			desc:      "Service Unavailable",
			errorType: "503",
		},
		{
			// OpenTelemetry's HTTP conventions: a client span's 4xx is an error (a server
			// span's is not: there the client erred).
			name:      "client error",
			handle:    func(_ int, w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNotFound) },
			status:    codes.Error,
			desc:      "Not Found",
			errorType: "404",
		},
		{
			// net/http quotes a malformed answer in its error.
			name: "malformed answer",
			handle: func(_ int, w http.ResponseWriter, _ *http.Request) {
				conn, buf, err := w.(http.Hijacker).Hijack()
				if err != nil {
					panic(err)
				}
				defer conn.Close()
				_, _ = buf.WriteString("HTTP/1.1 " + secret + " OK\r\n\r\n")
				_ = buf.Flush()
				_, _ = bufio.NewReader(conn).Peek(1)
			},
			status:    codes.Error,
			desc:      "transport error",
			errorType: "*errors.errorString",
		},
		{
			name:      "breaker open",
			handle:    func(_ int, w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusBadGateway) },
			before:    2,
			status:    codes.Error,
			desc:      "circuit breaker open",
			errorType: "httpclient.breakerOpenError",
		},
		{
			name: "timeout",
			handle: func(_ int, w http.ResponseWriter, r *http.Request) {
				<-r.Context().Done()
			},
			timeout:   50 * time.Millisecond,
			status:    codes.Error,
			desc:      "timed out",
			errorType: "timeout",
		},
		{
			name: "error naming a URL with credentials",
			send: func(r *http.Request) (*http.Response, error) {
				return nil, &url.Error{Op: "Get", URL: "https://user:" + secret + "@" + r.URL.Host + "/?access_token=" + secret, Err: errors.New("refused")}
			},
			status:    codes.Error,
			desc:      "transport error",
			errorType: "*errors.errorString",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := tracingtest.Install(t)
			s := fastSettings()
			s.BreakerFailures = 2
			f := setup(t, s)
			if tt.send != nil {
				f.cs.send = tt.send
			}
			srv := newServer(t, tt.handle)
			c := f.client(t, "vendor", Options{BaseURL: srv.URL, MaxAttempts: 1, Timeout: tt.timeout})
			call := func() (*http.Response, error) {
				req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+"/v1/items", nil)
				if err != nil {
					t.Fatal(err)
				}
				return c.Do(req)
			}
			for range tt.before {
				if resp, err := call(); err == nil {
					_ = resp.Body.Close()
				}
			}
			resp, err := call()
			if err == nil {
				_ = resp.Body.Close()
			}
			span, ok := rec.Find(http.MethodGet)
			if !ok || !span.Ended {
				t.Fatalf("no ended GET span among %v", rec.Spans())
			}
			if span.Status != tt.status || span.Description != tt.desc {
				t.Errorf("status %v %q, want %v %q", span.Status, span.Description, tt.status, tt.desc)
			}
			if got := span.Attrs["error.type"].AsString(); got != tt.errorType {
				t.Errorf("error.type %q, want %q", got, tt.errorType)
			}
			if strings.Contains(span.Description, secret) {
				t.Errorf("the status description shows the secret: %s", span.Description)
			}
			for k, v := range span.Attrs {
				if strings.Contains(v.String(), secret) {
					t.Errorf("attribute %s shows the secret: %s", k, v.String())
				}
			}
		})
	}
}

// TestCallSpanURL checks what a client span exports of the URL called: url.full without
// credentials, every query value REDACTED (a provider's key=..., a customer's email as a
// filter) with its name kept, and the path's IDs, emails and tokens REDACTED, its resource
// names and version kept. It installs a global tracer provider, so it does not run in parallel.
func TestCallSpanURL(t *testing.T) {
	tests := []struct {
		name, target string // target: the path and query called on the test server
		want         string // url.full after the server's scheme and host
	}{
		{"key in the query", "/v1/items?key=SECRET", "/v1/items?key=REDACTED"},
		{"every value", "/v1/items?limit=10&email=ada%40example.com&sig=SECRET", "/v1/items?limit=REDACTED&email=REDACTED&sig=REDACTED"},
		{"bare values and flags", "/search?SECRET123&pretty&", "/search?REDACTED&pretty&"},
		{"id in the path", "/v1/customers/cus_9fQx2/charges", "/v1/customers/REDACTED/charges"},
		{"email in the path", "/v3/users/ada@example.com", "/v3/users/REDACTED"},
		{"escaped email", "/users/ada%40example.com", "/users/REDACTED"},
		{"long token", "/reset/abcdefghijklmnopqrstuvwxyzABCDEFGH", "/reset/REDACTED"},
		{"version and action", "/v1beta/models/gemini:generateContent", "/v1beta/models/gemini:generateContent"},
		{"trailing slash", "/v2/emails/", "/v2/emails/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := tracingtest.Install(t)
			f := setup(t, fastSettings())
			srv := newServer(t, func(_ int, w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
			c := f.client(t, "vendor", Options{BaseURL: srv.URL, MaxAttempts: 1})
			u, err := url.Parse(srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			u.User = url.UserPassword("user", "SECRET")
			req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, u.String()+tt.target, nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			_ = resp.Body.Close()
			span, ok := rec.Find(http.MethodGet)
			if !ok || !span.Ended {
				t.Fatalf("no ended GET span among %v", rec.Spans())
			}
			want := "http://REDACTED:REDACTED@" + u.Host + tt.want
			if got := span.Attrs["url.full"].AsString(); got != want {
				t.Errorf("url.full %q, want %q", got, want)
			}
			if got := span.Attrs["server.port"].AsInt64(); got == 0 || strconv.FormatInt(got, 10) != u.Port() {
				t.Errorf("server.port %d, want %s", got, u.Port())
			}
			for k, v := range span.Attrs {
				if s := v.String(); strings.Contains(s, "SECRET") || strings.Contains(s, "ada") || strings.Contains(s, "cus_9fQx2") {
					t.Errorf("attribute %s exports %q", k, s)
				}
			}
		})
	}
}
