package httpclient

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/aegisgo/aegis/template/internal/runtime/logtest"
)

// TestRedactedLogs sends secrets in every place an integration puts them and checks that
// neither the debug log line nor the error shows one, while the rest is there.
func TestRedactedLogs(t *testing.T) {
	t.Parallel()
	f := setup(t, fastSettings())
	srv := newServer(t, func(_ int, w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusBadGateway) })
	const secret = "s3cr3t-marker"
	c := f.client(t, "vendor", Options{BaseURL: srv.URL, MaxAttempts: 2,
		Headers: http.Header{"Authorization": {"Bearer " + secret + "-auth"}}})
	_, err := Do[struct{}](t.Context(), c, http.MethodGet,
		"/v1/items?page=2&api_key="+secret+"-q1&access_token="+secret+"-q2&sig="+secret+"-q3&client_secret="+secret+"-q4",
		nil,
		WithHeader("X-Api-Key", secret+"-h1"), WithHeader("X-Auth-Token", secret+"-h2"),
		WithHeader("Cookie", "session="+secret+"-h3"), WithHeader("X-Webhook-Secret", secret+"-h4"),
		WithHeader("X-Hub-Signature-256", secret+"-h5"), WithHeader("Idempotency-Key", "visible-key"))
	var he *Error
	if !errors.As(err, &he) || he.Status != http.StatusBadGateway || he.Attempts != 2 {
		t.Fatalf("error %v, want the 502 after 2 attempts", err)
	}
	logtest.HideSecret(t, "a call with secrets", secret, "vendor", err)
	if strings.Contains(f.logs.String(), secret) {
		t.Errorf("the log shows a secret:\n%s", f.logs.String())
	}
	recs := f.logs.Records(t, "http client call")
	if len(recs) != 1 {
		t.Fatalf("%d log lines for one call, want 1:\n%s", len(recs), f.logs.String())
	}
	rec := recs[0]
	wantPath := "/v1/items?page=2&api_key=REDACTED&access_token=REDACTED&sig=REDACTED&client_secret=REDACTED"
	if rec["path"] != wantPath || he.Path != wantPath {
		t.Errorf("logged path %q, error path %q; want %q", rec["path"], he.Path, wantPath)
	}
	if rec["level"] != "DEBUG" || rec["method"] != "GET" || rec["host"] != srv.host() || rec["status"] != float64(502) ||
		rec["attempts"] != float64(2) || rec["client"] != "vendor" || rec["duration"] == nil {
		t.Errorf("log line %v lacks a field", rec)
	}
	headers, _ := rec["headers"].(map[string]any)
	for _, h := range []string{"Authorization", "X-Api-Key", "X-Auth-Token", "Cookie", "X-Webhook-Secret", "X-Hub-Signature-256"} {
		if headers[h] != Redacted {
			t.Errorf("header %s logged as %v, want %s", h, headers[h], Redacted)
		}
	}
	if headers["Idempotency-Key"] != "visible-key" || headers["Accept"] != "application/json" {
		t.Errorf("harmless headers hidden: %v", headers)
	}
	if hosts := f.cs.Hosts(); len(hosts) != 1 || strings.Contains(hosts[0].LastError, secret) || !strings.Contains(hosts[0].LastError, "REDACTED") {
		t.Errorf("last error %q", hosts[0].LastError)
	}
}

// TestClientDoRedactsURL: the *url.Error of Client.Do names the URL without its secrets.
func TestClientDoRedactsURL(t *testing.T) {
	t.Parallel()
	f := setup(t, fastSettings())
	srv := newServer(t, func(_ int, w http.ResponseWriter, _ *http.Request) { reset(w) })
	c := f.client(t, "test", Options{MaxAttempts: 1})
	_, err := c.Do(mustRequest(t, http.MethodGet, srv.URL+"/x?token=hunter2&q=1"))
	if err == nil || strings.Contains(err.Error(), "hunter2") || !strings.Contains(err.Error(), "token=REDACTED&q=1") {
		t.Errorf("error %v, want the URL with token=REDACTED", err)
	}
}

func TestSecretNames(t *testing.T) {
	t.Parallel()
	for _, h := range []string{"Authorization", "proxy-authorization", "Cookie", "X-Api-Key", "Api-Key", "X-Auth-Token",
		"X-Client-Secret", "X-Hub-Signature-256", "X-Amz-Security-Token", "Private-Token"} {
		if !SecretHeader(h) {
			t.Errorf("header %s is not secret", h)
		}
	}
	for _, h := range []string{"Content-Type", "Accept", "Idempotency-Key", "X-Request-ID", "User-Agent"} {
		if SecretHeader(h) {
			t.Errorf("header %s is secret", h)
		}
	}
	for _, p := range []string{"key", "api_key", "apikey", "token", "access_token", "secret", "client_secret", "signature",
		"password", "sig", "X-Amz-Signature", "X-Amz-Credential"} {
		if !SecretParam(p) {
			t.Errorf("parameter %s is not secret", p)
		}
	}
	for _, p := range []string{"page", "q", "limit", "id"} {
		if SecretParam(p) {
			t.Errorf("parameter %s is secret", p)
		}
	}
	if got := RedactQuery("a=1&api%5Fkey=x&b&token="); got != "a=1&api%5Fkey=REDACTED&b&token=REDACTED" {
		t.Errorf("RedactQuery = %q", got)
	}
}

// TestRedirectKeepsCredentials: a redirect to another host gets none of the client's secret
// default headers (http.Client drops Authorization on such a hop; the defaults must not put
// it back), while a redirect within the host keeps them.
func TestRedirectKeepsCredentials(t *testing.T) {
	t.Parallel()
	f := setup(t, fastSettings())
	type seen struct{ auth, key, agent string }
	got := make(chan seen, 4)
	srv := newServer(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		if to := r.URL.Query().Get("to"); to != "" {
			http.Redirect(w, r, to, http.StatusFound)
			return
		}
		got <- seen{r.Header.Get("Authorization"), r.Header.Get("X-Api-Key"), r.Header.Get("User-Agent")}
	})
	_, port, _ := strings.Cut(srv.host(), ":")
	c := f.client(t, "test", Options{BaseURL: srv.URL, Headers: http.Header{
		"Authorization": {"Bearer sk-live"}, "X-Api-Key": {"k-live"}, "User-Agent": {"app/1"}}})
	for _, tc := range []struct {
		name, to string
		want     seen
	}{
		{"other host", "http://localhost:" + port + "/next", seen{agent: "app/1"}},
		{"same host", srv.URL + "/next", seen{"Bearer sk-live", "k-live", "app/1"}},
	} {
		_, err := Do[struct{}](t.Context(), c, http.MethodGet, "/start", nil, WithQuery(url.Values{"to": {tc.to}}))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if s := <-got; s != tc.want {
			t.Errorf("%s: the redirect's target got %+v, want %+v", tc.name, s, tc.want)
		}
	}
}

// TestUnparsableURLRedacted: a URL that does not parse is named in the error without its user
// information or secret query values (url.Parse's own error quotes it whole).
func TestUnparsableURLRedacted(t *testing.T) {
	t.Parallel()
	f := setup(t, fastSettings())
	c := f.client(t, "test", Options{})
	_, err := Do[struct{}](t.Context(), c, http.MethodGet, "https://user:hunter2@h.example/%zz?token=s3cret&q=1", nil)
	if err == nil || strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "s3cret") ||
		!strings.Contains(err.Error(), "https://h.example/%zz?token=REDACTED&q=1") {
		t.Errorf("Do error %v, want the URL without its secrets", err)
	}
	_, err = f.cs.New("base", Options{BaseURL: "https://user:hunter2@h.example/%zz"})
	if err == nil || strings.Contains(err.Error(), "hunter2") || !strings.Contains(err.Error(), `"https://h.example/%zz"`) {
		t.Errorf("New error %v, want the base URL without its user information", err)
	}
}
