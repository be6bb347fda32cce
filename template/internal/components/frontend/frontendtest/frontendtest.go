// Package frontendtest helps components and services test their dashboard panels against the
// real backend handler.
package frontendtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/aegisgo/aegis/template/internal/components/backend"
	"github.com/aegisgo/aegis/template/internal/components/frontend"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
	"github.com/aegisgo/aegis/template/internal/runtime/registry/registrytest"
)

// Handler starts a fresh container holding the backend, the dashboard built with opts and what
// register adds. As in the app, the handler mounts every route set contributed to
// registry.Default from init(), and the dashboard shows the panels and uses the authenticator
// and the error wording contributed there unless opts sets its own. It stops the container when the test ends and
// returns the app's HTTP handler. Requests made with httptest.NewRequest come, as far as the
// handler can tell, from this machine and addressed to it (a developer's own browser on
// http://127.0.0.1:8000, which the dashboard lets in without credentials in development); set
// RemoteAddr or Host to test another peer or name.
func Handler(t testing.TB, opts *frontend.Opts, register func(*registry.Registry) error) http.Handler {
	t.Helper()
	o := frontend.Opts{}
	if opts != nil {
		o = *opts
	}
	if o.Panels == nil {
		o.Panels = registry.Contributions[frontend.Panel](registry.Default)
	}
	if o.Authenticator == nil {
		if a := registry.Contributions[frontend.AuthenticatorFunc](registry.Default); len(a) == 1 {
			o.Authenticator = a[0].Value
		}
	}
	if o.Wording == nil {
		if w := registry.Contributions[frontend.ErrorWording](registry.Default); len(w) == 1 {
			o.Wording = w[0].Value
		}
	}
	dash, err := frontend.New(&o)
	if err != nil {
		t.Fatal(err)
	}
	srv := backend.NewServer(backend.Settings{})
	c := registrytest.Start(t, registry.New(), func(r *registry.Registry) error {
		return errors.Join(
			registry.Value(r, srv, registry.Component(backend.Name)),
			registry.Value(r, dash, registry.Component(frontend.Name)),
		)
	}, register)
	h, err := srv.Handler(c, &backend.HandlerOpts{Title: "app", Logger: slog.New(slog.DiscardHandler),
		Routes: registry.Contributions[backend.Routes](registry.Default)})
	if err != nil {
		t.Fatal(err)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.RemoteAddr == httptestPeer {
			req.RemoteAddr = "127.0.0.1:1234"
		}
		if req.Host == httptestHost {
			req.Host = "127.0.0.1:8000"
		}
		h.ServeHTTP(w, req)
	})
}

// Send serves one API request to h and returns the response. body is nil (none), a string or
// []byte sent as is, or a value sent as JSON; any body goes with Content-Type
// application/json. header adds request headers, such as Authorization.
func Send(t testing.TB, h http.Handler, method, path string, body any, header map[string]string) *httptest.ResponseRecorder {
	t.Helper()
	return Serve(h, NewRequest(t, method, path, body, header))
}

// NewRequest is the request Send sends, for a test that changes it first (its RemoteAddr, say)
// and then serves it with Serve.
func NewRequest(t testing.TB, method, path string, body any, header map[string]string) *http.Request {
	t.Helper()
	var data []byte
	switch b := body.(type) {
	case nil:
	case string:
		data = []byte(b)
	case []byte:
		data = b
	default:
		var err error
		if data, err = json.Marshal(b); err != nil {
			t.Fatal(err)
		}
	}
	req := httptest.NewRequestWithContext(context.Background(), method, path, bytes.NewReader(data))
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	return req
}

// Serve serves req to h and returns the recorded response.
func Serve(h http.Handler, req *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// httptestPeer is the peer address httptest.NewRequest gives a request.
const httptestPeer = "192.0.2.1:1234"

// httptestHost is the Host httptest.NewRequest gives a request for a path.
const httptestHost = "example.com"

// Browser acts on the dashboard the way a browser without JavaScript does, for panel tests:
// it keeps the cookies the app sets and the CSRF token of the last page it loaded, posts
// forms with them and follows the redirect back (post/redirect/get).
type Browser struct {
	t       testing.TB
	h       http.Handler
	cookies map[string]*http.Cookie
	token   string
}

// NewBrowser returns a Browser on h (from Handler).
func NewBrowser(t testing.TB, h http.Handler) *Browser {
	return &Browser{t: t, h: h, cookies: map[string]*http.Cookie{}}
}

var csrfInput = regexp.MustCompile(`name="` + frontend.CSRFField + `" value="([^"]+)"`)

// Get loads path, which must answer 200, and returns the page.
func (b *Browser) Get(path string) string {
	b.t.Helper()
	rec := b.do(httptest.NewRequestWithContext(b.t.Context(), http.MethodGet, path, nil))
	if rec.Code != http.StatusOK {
		b.t.Fatalf("GET %s = %d\n%s", path, rec.Code, rec.Body)
	}
	body := rec.Body.String()
	if m := csrfInput.FindStringSubmatch(body); m != nil {
		b.token = m[1]
	}
	return body
}

// Submit posts form to action with the CSRF token of the last page, expects the redirect back
// to the panel and returns the page it leads to.
func (b *Browser) Submit(action string, form url.Values) string {
	b.t.Helper()
	rec := b.Post(action, form, false)
	if rec.Code != http.StatusSeeOther {
		b.t.Fatalf("POST %s = %d\n%s", action, rec.Code, rec.Body)
	}
	return b.Get(rec.Header().Get("Location"))
}

// Post posts form to action with the CSRF token of the last page, as htmx does when htmx is
// true (the answer is then the panel itself), and returns the response.
func (b *Browser) Post(action string, form url.Values, htmx bool) *httptest.ResponseRecorder {
	b.t.Helper()
	if b.token == "" {
		b.t.Fatal("no CSRF token: Get a page with a form first")
	}
	f := url.Values{frontend.CSRFField: {b.token}}
	for k, v := range form {
		f[k] = v
	}
	req := httptest.NewRequestWithContext(b.t.Context(), http.MethodPost, action, strings.NewReader(f.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if htmx {
		req.Header.Set("HX-Request", "true")
	}
	return b.do(req)
}

func (b *Browser) do(req *http.Request) *httptest.ResponseRecorder {
	req.Host = "127.0.0.1:8000"
	for _, c := range b.cookies {
		req.AddCookie(c)
	}
	rec := httptest.NewRecorder()
	b.h.ServeHTTP(rec, req)
	for _, c := range rec.Result().Cookies() {
		if c.MaxAge < 0 {
			delete(b.cookies, c.Name) // as a browser does
			continue
		}
		b.cookies[c.Name] = c
	}
	return rec
}
