package auth

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/danielgtaylor/huma/v2"

	"github.com/aegisgo/aegis/template/internal/components/backend"
	"github.com/aegisgo/aegis/template/internal/components/database"
	"github.com/aegisgo/aegis/template/internal/components/database/databasetest"
	"github.com/aegisgo/aegis/template/internal/components/frontend"
	"github.com/aegisgo/aegis/template/internal/components/frontend/frontendtest"
	"github.com/aegisgo/aegis/template/internal/runtime/logtest"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
	"github.com/aegisgo/aegis/template/internal/runtime/registry/registrytest"
)

// testSecret is long enough for production rules.
const testSecret = "0123456789abcdef0123456789abcdef-test-secret"

// testSettings are fast: argon2id with 64 KiB and one pass (production
// defaults cost ~20-40 ms per hash), and rate limits out of the way.
func testSettings() Settings {
	return Settings{
		Secret:            testSecret,
		Argon2MemoryKiB:   64,
		Argon2Iterations:  1,
		Argon2Parallelism: 1,
		Leeway:            DefaultLeeway,
		LoginIPLimit:      1_000_000,
		LoginAccountLimit: 1_000_000,
		RegisterIPLimit:   1_000_000,
	}.WithDefaults()
}

// testMaxBody is the MAX_BODY_BYTES of test handlers.
const testMaxBody = 16 << 10

// fixture is what the HTTP tests need: the services on one database and the
// real backend handler built on a fresh registry holding them.
type fixture struct {
	db    *database.DB
	auth  *AuthService
	users *UserService
	h     http.Handler
	logs  *logtest.Buffer
	seq   atomic.Int64
}

func setup(t testing.TB, db *database.DB, mod func(*Settings)) *fixture {
	t.Helper()
	s := testSettings()
	if mod != nil {
		mod(&s)
	}
	logs := &logtest.Buffer{}
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	users, a := newServices(t, db, s, AuthOpts{Logger: logger})
	srv := backend.NewServer(backend.Settings{MaxBodyBytes: testMaxBody})
	c := registrytest.Start(t, registry.New(), func(r *registry.Registry) error {
		return errors.Join(
			registry.Value(r, srv, registry.Component(backend.Name)),
			registry.Value(r, users),
			registry.Value(r, a),
		)
	})
	// The routes contributed from init(): the service's own and the test's.
	h, err := srv.Handler(c, &backend.HandlerOpts{Title: "authtest", Logger: logger, Routes: registry.Contributions[backend.Routes](registry.Default)})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{db: db, auth: a, users: users, h: h, logs: logs}
}

// req describes one request.
type req struct {
	method, path string
	body         any // string, []byte or a value to marshal; nil for none
	token        string
	remote       string
	header       http.Header
}

func (f *fixture) do(t testing.TB, r req) *httptest.ResponseRecorder {
	t.Helper()
	var body io.Reader
	switch b := r.body.(type) {
	case nil:
	case string:
		body = strings.NewReader(b)
	case []byte:
		body = bytes.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		body = bytes.NewReader(data)
	}
	hr := httptest.NewRequestWithContext(context.Background(), r.method, r.path, body)
	if body != nil {
		hr.Header.Set("Content-Type", "application/json")
	}
	if r.token != "" {
		hr.Header.Set("Authorization", "Bearer "+r.token)
	}
	if r.remote != "" {
		hr.RemoteAddr = r.remote
	}
	for k, v := range r.header {
		hr.Header[k] = v
	}
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, hr)
	return rec
}

// expect asserts the status and returns the body decoded into T.
func expect[T any](t testing.TB, rec *httptest.ResponseRecorder, status int) T {
	t.Helper()
	var v T
	if rec.Code != status {
		t.Fatalf("status = %d, want %d; body %s", rec.Code, status, rec.Body)
	}
	if status == http.StatusNoContent {
		return v
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
		t.Fatalf("decode %s: %v", rec.Body, err)
	}
	return v
}

// leaks are strings that must never reach a client.
var leaks = []string{"SQLSTATE", "auth_users", "auth_refresh_tokens", "constraint", "goroutine ", ".go:", "argon2id$", "$2a$", "password_hash", "bun:"}

// problem asserts rec is an RFC 9457 problem with status that tells nothing
// about the internals.
func problem(t testing.TB, rec *httptest.ResponseRecorder, status int) huma.ErrorModel {
	t.Helper()
	if rec.Code != status {
		t.Fatalf("status = %d, want %d; body %s", rec.Code, status, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("Content-Type = %q, want application/problem+json; body %s", ct, rec.Body)
	}
	var p huma.ErrorModel
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
		t.Fatalf("decode problem %s: %v", rec.Body, err)
	}
	if p.Status != status || p.Title == "" {
		t.Fatalf("problem = %+v, want status %d and a title", p, status)
	}
	checkNoLeaks(t, rec.Body.String())
	return p
}

// checkNoLeaks fails when body holds a leak string that the request (input)
// did not: huma echoes a malformed body back in its 400 answer.
func checkNoLeaks(t testing.TB, body string, input ...string) {
	t.Helper()
	in := strings.ToLower(strings.Join(input, " "))
	for _, l := range leaks {
		if strings.Contains(body, l) && !strings.Contains(in, strings.ToLower(l)) {
			t.Fatalf("response leaks %q: %s", l, body)
		}
	}
}

// goodPassword is not on the common list.
const goodPassword = "correct horse battery staple"

type account struct {
	id       int64
	email    string
	username string
	password string
}

// newAccount registers a fresh user through the API.
func (f *fixture) newAccount(t testing.TB) account {
	t.Helper()
	n := f.seq.Add(1)
	a := account{email: fmt.Sprintf("user%d@example.com", n), username: fmt.Sprintf("user%d", n), password: goodPassword}
	u := expect[UserBody](t, f.do(t, req{method: "POST", path: "/api/v1/auth/register",
		body: map[string]string{"email": a.email, "username": a.username, "password": a.password, "full_name": "User " + fmt.Sprint(n)}}), http.StatusCreated)
	a.id = u.ID
	return a
}

// newAdmin creates an admin through the service and logs in.
func (f *fixture) newAdmin(t testing.TB) (account, TokenBody) {
	t.Helper()
	n := f.seq.Add(1)
	a := account{email: fmt.Sprintf("admin%d@example.com", n), username: fmt.Sprintf("admin%d", n), password: goodPassword}
	u, err := f.users.Create(context.Background(), CreateUserParams{Email: a.email, Username: a.username, Password: a.password, Role: RoleAdmin})
	if err != nil {
		t.Fatal(err)
	}
	a.id = u.ID
	return a, f.login(t, a)
}

func (f *fixture) login(t testing.TB, a account) TokenBody {
	t.Helper()
	return expect[TokenBody](t, f.do(t, req{method: "POST", path: "/api/v1/auth/login",
		body: map[string]string{"email": a.email, "password": a.password}}), http.StatusOK)
}

// newServices builds the user and auth services on db with the settings s
// and the options ao (their logger discards when it is nil).
func newServices(t testing.TB, db *database.DB, s Settings, ao AuthOpts) (*UserService, *AuthService) {
	t.Helper()
	if ao.Logger == nil {
		ao.Logger = slog.New(slog.DiscardHandler)
	}
	users, err := NewUserServiceWith(db, s)
	if err != nil {
		t.Fatal(err)
	}
	a, err := NewAuthServiceWith(db, users, s, &ao)
	if err != nil {
		t.Fatal(err)
	}
	return users, a
}

// createUser creates the account p through the service.
func createUser(t testing.TB, users *UserService, p CreateUserParams) *User {
	t.Helper()
	u, err := users.Create(t.Context(), p)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// dashboardApp starts an app with the backend, the dashboard (opts) and this
// service on db, and returns its handler.
func dashboardApp(t *testing.T, db *database.DB, opts *frontend.Opts) (http.Handler, *UserService, *AuthService) {
	t.Helper()
	return dashboardAppWith(t, db, opts, testSettings(), AuthOpts{})
}

// dashboardAppWith is dashboardApp with the service's settings s and
// options ao.
func dashboardAppWith(t *testing.T, db *database.DB, opts *frontend.Opts, s Settings, ao AuthOpts) (http.Handler, *UserService, *AuthService) {
	t.Helper()
	users, a := newServices(t, db, s, ao)
	h := frontendtest.Handler(t, opts, func(r *registry.Registry) error {
		return errors.Join(registry.Value(r, users), registry.Value(r, a))
	})
	return h, users, a
}

// productionDashboard runs fn in parallel on every test engine with a
// production dashboardApp.
func productionDashboard(t *testing.T, fn func(t *testing.T, db *database.DB, h http.Handler, users *UserService, a *AuthService)) {
	t.Helper()
	databasetest.Engines(t, func(t *testing.T, db *database.DB) {
		t.Parallel()
		h, users, a := dashboardApp(t, db, &frontend.Opts{Production: true})
		fn(t, db, h, users, a)
	})
}

// serveDashboard sends one request to h as a browser on the app's own
// address would, with form (if not nil) as the body.
func serveDashboard(t *testing.T, h http.Handler, method, path string, form url.Values, cookies ...*http.Cookie) *httptest.ResponseRecorder {
	t.Helper()
	var req *http.Request
	if form != nil {
		req = httptest.NewRequestWithContext(t.Context(), method, path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		req = httptest.NewRequestWithContext(t.Context(), method, path, nil)
	}
	req.Host = "127.0.0.1:8000"
	for _, ck := range cookies {
		req.AddCookie(ck)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// csrfTokenRE finds the CSRF token in the forms of a dashboard page.
var csrfTokenRE = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// csrfToken returns the CSRF token of the dashboard page in rec, "" if it
// has none.
func csrfToken(rec *httptest.ResponseRecorder) string {
	if m := csrfTokenRE.FindStringSubmatch(rec.Body.String()); m != nil {
		return m[1]
	}
	return ""
}

// responseCookie returns the cookie called name that rec sets, nil if none.
func responseCookie(rec *httptest.ResponseRecorder, name string) *http.Cookie {
	for _, ck := range rec.Result().Cookies() {
		if ck.Name == name {
			return ck
		}
	}
	return nil
}

// dashboardSignIn signs in through the login form and returns the session
// cookie.
func dashboardSignIn(t *testing.T, h http.Handler, login, password string) *http.Cookie {
	t.Helper()
	page := serveDashboard(t, h, http.MethodGet, frontend.LoginPath, nil)
	token, csrf := csrfToken(page), responseCookie(page, "aegis_dashboard_csrf")
	if token == "" || csrf == nil {
		t.Fatalf("the login page has no CSRF token or cookie\n%s", page.Body)
	}
	rec := serveDashboard(t, h, http.MethodPost, frontend.LoginPath, url.Values{"login": {login}, "password": {password}, frontend.CSRFField: {token}}, csrf)
	for _, c := range rec.Result().Cookies() {
		if c.Name == "aegis_dashboard_session" && c.Value != "" {
			return c
		}
	}
	t.Fatalf("sign-in = %d, no session cookie\n%s", rec.Code, rec.Body)
	return nil
}
