package frontend

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aegisgo/aegis/template/internal/runtime/registry"
)

// TestSafeNext keeps the redirect after a login on this site: anything but a
// plain same-origin path, in any spelling a browser might read as another
// host, goes to the overview.
func TestSafeNext(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"", "/"},
		{"/", "/"},
		{"/dashboard/graph", "/dashboard/graph"},
		{"/?x=1", "/?x=1"},
		{"/dashboard/panels/users?q=ada&page=2", "/dashboard/panels/users?q=ada&page=2"},
		{"/dashboard/panels/users?q=a%20b", "/dashboard/panels/users?q=a%20b"},
		{"/dashboard/graph#top", "/dashboard/graph"},
		// Another host, spelled the many ways browsers accept.
		{"//evil.example", "/"},
		{"///evil.example", "/"},
		{"/\\evil.example", "/"},
		{"\\evil.example", "/"},
		{"\\/evil.example", "/"},
		{"/\t/evil.example/", "/"},
		{"/\t/evil.example", "/"},
		{"/\n/evil.example", "/"},
		{"/\r/evil.example", "/"},
		{"/\x00/evil.example", "/"},
		{"/\x7f/evil.example", "/"},
		{"/%09/evil.example", "/"},
		{"/%0a/evil.example", "/"},
		{"/%2F/evil.example", "/"},
		{"/%2f%2fevil.example", "/"},
		{"/%5C/evil.example", "/"},
		{"/%5cevil.example", "/"},
		{"/%252F/evil.example", "/"}, // decoded twice by a careless proxy
		{" /evil.example", "/"},
		{"\t/evil.example", "/"},
		{"https://evil.example", "/"},
		{"https:evil.example", "/"},
		{"https:/evil.example", "/"},
		{"javascript:alert(1)", "/"},
		{"JaVaScRiPt:alert(1)", "/"},
		{"data:text/html,<script>alert(1)</script>", "/"},
		{"evil.example", "/"},
		{"./evil", "/"},
		{"../evil", "/"},
		{"/../../evil.example", "/"},
		{"/.//evil.example", "/"},
		{"/dashboard/../../evil.example", "/"},
		{"/\u3000/evil.example", "/"},      // ideographic space
		{"/\uff0f\uff0fevil.example", "/"}, // fullwidth solidus
		{"/\u2215evil.example", "/"},       // division slash
		{"/\u200b/evil.example", "/"},      // zero-width space
		{"/%E3%80%80/evil.example", "/"},
		{"/\xff", "/"}, // not UTF-8
		{"/" + strings.Repeat("a", 3000), "/"},
	}
	for _, tt := range tests {
		if got := safeNext(tt.in); got != tt.want {
			t.Errorf("safeNext(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// FuzzSafeNext: whatever comes in, what goes out is a path on this site,
// also as a browser reads it (browsers drop tabs and newlines and treat a
// backslash as a slash).
func FuzzSafeNext(f *testing.F) {
	for _, s := range []string{"/", "/dashboard/graph?x=1", "//x", "/\\x", "/%09/x", "https://x", "/%2F/x", " /x", "\\x", "/\uff0f/x", "/a/../../x"} {
		f.Add(s)
	}
	base, err := url.Parse("https://app.example/dashboard/login")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out := safeNext(in)
		if !strings.HasPrefix(out, "/") || strings.HasPrefix(out, "//") {
			t.Fatalf("safeNext(%q) = %q: not a single-slash path", in, out)
		}
		for _, r := range out {
			if r < 0x21 || r > 0x7e || r == '\\' {
				t.Fatalf("safeNext(%q) = %q holds %q", in, out, r)
			}
		}
		browser := strings.NewReplacer("\t", "", "\n", "", "\r", "", "\\", "/").Replace(out)
		u, err := base.Parse(browser)
		if err != nil {
			t.Fatalf("safeNext(%q) = %q, which does not parse: %v", in, out, err)
		}
		if u.Scheme != "https" || u.Host != "app.example" {
			t.Fatalf("safeNext(%q) = %q leads to %s", in, out, u)
		}
		if p, err := url.PathUnescape(u.EscapedPath()); err != nil || strings.HasPrefix(p, "//") || strings.Contains(p, "\\") {
			t.Fatalf("safeNext(%q) = %q: decoded path %q (%v)", in, out, p, err)
		}
	})
}

// inlineCode matches inline styles and scripts, including event handlers.
var inlineCode = regexp.MustCompile(`(?i)\sstyle=|<style|<script|\son[a-z]+=`)

// TestLoginPage checks what the login form promises to browsers, screen
// readers and the end-to-end test: the field names, labels tied to inputs,
// one submit button, the error as an alert, and nothing the CSP would
// block.
func TestLoginPage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		errorText string
		login     string // the login a failed sign-in kept
		focus     string // the field that has autofocus
	}{
		{"empty", "", "", "login"},
		{"with an error", "Wrong email, username or password.", "ada", "password"},
		{"with an error and no login", "Too many attempts: wait a few minutes and try again.", "", "login"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var buf strings.Builder
			data := map[string]any{"Title": "Acme <Ops>", "CSS": "/dashboard/assets/style.css", "Action": LoginPath, "Next": "/dashboard/graph", "CSRF": "tok", "Error": tt.errorText, "Login": tt.login}
			if err := loginTmpl.Execute(&buf, data); err != nil {
				t.Fatal(err)
			}
			page := buf.String()
			for _, want := range []string{
				`<title>Sign in · Acme &lt;Ops&gt;</title>`,
				`<input type="hidden" name="csrf_token" value="tok">`,
				`<input type="hidden" name="next" value="/dashboard/graph">`,
				`<label for="login">`, `id="login" name="login"`,
				`<label for="password">`, `id="password" name="password" type="password"`,
			} {
				if !strings.Contains(page, want) {
					t.Errorf("the page lacks %s", want)
				}
			}
			if n := strings.Count(page, "<button"); n != 1 || !strings.Contains(page, `<button type="submit">`) {
				t.Errorf("the page has %d buttons, want one submit button", n)
			}
			if got := strings.Contains(page, `role="alert"`); got != (tt.errorText != "") || !strings.Contains(page, tt.errorText) {
				t.Errorf("alert shown = %v, want %v (%q)", got, tt.errorText != "", tt.errorText)
			}
			if got := regexp.MustCompile(`<input id="(\w+)"[^>]* autofocus>`).FindAllStringSubmatch(page, -1); len(got) != 1 || got[0][1] != tt.focus {
				t.Errorf("autofocus on %q, want on the %s field only", got, tt.focus)
			}
			described := strings.Count(page, `aria-describedby="login-error"`)
			if tt.errorText != "" && (described != 2 || !strings.Contains(page, `id="login-error">`+tt.errorText)) {
				t.Errorf("the error describes %d fields, want both, and has the id they name", described)
			}
			if tt.errorText == "" && described != 0 {
				t.Errorf("without an error %d fields name one", described)
			}
			if bad := inlineCode.FindString(page); bad != "" {
				t.Errorf("the page contains %q, which the CSP blocks", bad)
			}
		})
	}
}

// fakeAuth answers Session from a map, or fails like an Authenticator whose
// database is down.
type fakeAuth struct {
	down     bool
	sessions map[string]Identity
	loginErr error // what Login returns; nil means ErrBadLogin
}

func (f *fakeAuth) Login(context.Context, string, string, string) (string, time.Duration, Identity, error) {
	if f.loginErr != nil {
		return "", 0, Identity{}, f.loginErr
	}
	return "", 0, Identity{}, ErrBadLogin
}

func (f *fakeAuth) Session(_ context.Context, token string, _ bool) (Identity, bool, error) {
	if f.down {
		return Identity{}, false, errors.New("dial tcp 127.0.0.1:5432: connect: connection refused")
	}
	id, ok := f.sessions[token]
	return id, ok, nil
}

func (f *fakeAuth) Logout(context.Context, string) error { return nil }

// TestSessionDuringOutage: while the Authenticator fails, a session it
// confirmed lately still gets in (the dashboard is where the outage shows),
// an unknown one gets 503, and a refused one gets no grace.
func TestSessionDuringOutage(t *testing.T) {
	t.Parallel()
	d, err := New(&Opts{Production: true})
	if err != nil {
		t.Fatal(err)
	}
	a := &fakeAuth{sessions: map[string]Identity{"admin": {User: "ada", Admin: true}, "revoked": {User: "rex", Admin: true}}}
	status := func(token string) int {
		t.Helper()
		req := httptest.NewRequest(http.MethodGet, FragmentsPath+"/overview", nil)
		req.AddCookie(&http.Cookie{Name: sessionCookie, Value: token})
		w := httptest.NewRecorder()
		if _, ok := d.authorizeSession(w, req, a); ok {
			return http.StatusOK
		}
		return w.Code
	}
	for _, step := range []struct {
		name  string
		do    func()
		token string
		want  int
	}{
		{"confirmed while up", nil, "admin", http.StatusOK},
		{"confirmed, then revoked", nil, "revoked", http.StatusOK},
		{"revocation seen", func() { delete(a.sessions, "revoked") }, "revoked", http.StatusUnauthorized},
		{"outage: confirmed session stays in", func() { a.down = true }, "admin", http.StatusOK},
		{"outage: refused session gets no grace", nil, "revoked", http.StatusServiceUnavailable},
		{"outage: unknown session", nil, "stranger", http.StatusServiceUnavailable},
	} {
		if step.do != nil {
			step.do()
		}
		if got := status(step.token); got != step.want {
			t.Errorf("%s: %d, want %d", step.name, got, step.want)
		}
	}
}

// TestSessionMemo: the grace ends sessionGrace after the last confirmation,
// and the memo stays bounded.
func TestSessionMemo(t *testing.T) {
	t.Parallel()
	var m sessionMemo
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	m.confirm("a", Identity{User: "ada", Admin: true}, now)
	if id, ok := m.recall("a", now.Add(sessionGrace)); !ok || id.User != "ada" {
		t.Errorf("recall at the end of the grace: %+v %v", id, ok)
	}
	if _, ok := m.recall("a", now.Add(sessionGrace+time.Second)); ok {
		t.Error("recall after the grace succeeded")
	}
	for i := range sessionMemoSize + 10 {
		m.confirm(strconv.Itoa(i), Identity{}, now)
	}
	if n := len(m.seen); n > sessionMemoSize {
		t.Errorf("the memo holds %d sessions, more than %d", n, sessionMemoSize)
	}
	m.forget("1033")
	if _, ok := m.recall("1033", now); ok {
		t.Error("a forgotten session is recalled")
	}
}

// TestSharedSecret: instances configured with the same DASHBOARD_SECRET accept
// each other's CSRF tokens (a form loaded from one, posted to another behind
// a load balancer); without it each process has its own key.
func TestSharedSecret(t *testing.T) {
	t.Parallel()
	key := strings.Repeat("k", 32)
	newDash := func(secret string) *Dashboard {
		d, err := New(&Opts{Settings: Settings{Secret: secret}})
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	const seed = "0123456789abcdefghijklmnopqrstuvwxyzABCDEF"
	for _, tt := range []struct {
		name   string
		a, b   string
		shared bool
	}{
		{"same secret", key, key, true},
		{"different secrets", key, strings.Repeat("x", 32), false},
		{"no secret", "", "", false},
	} {
		if got := newDash(tt.a).sign("cookie", seed) == newDash(tt.b).sign("cookie", seed); got != tt.shared {
			t.Errorf("%s: tokens interchangeable = %v, want %v", tt.name, got, tt.shared)
		}
	}
	if _, err := New(&Opts{Settings: Settings{Secret: "short"}}); err == nil || !strings.Contains(err.Error(), "DASHBOARD_SECRET") {
		t.Errorf("a short secret: %v, want an error naming DASHBOARD_SECRET", err)
	}
}

// TestCSRFBoundToSession: with session logins the CSRF token derives from
// the session, so a token minted for another session, or a valid cookie and
// token pair planted from a page served without a session (the login page),
// is refused beside an admin's session even from the same origin.
func TestCSRFBoundToSession(t *testing.T) {
	t.Parallel()
	const action = "/dashboard/panels/jobs/actions/retry"
	a := &fakeAuth{sessions: map[string]Identity{"session-a": {User: "ada", Admin: true}, "session-b": {User: "bob", Admin: true}}}
	e := setup(t, setupOpts{opts: &Opts{Production: true, Authenticator: func(*registry.Container) Authenticator { return a }}})

	// pageToken loads a page (with session cookies if any) and returns the
	// CSRF token of its form and the cookies it set.
	pageToken := func(path string, cookies ...*http.Cookie) (string, []*http.Cookie) {
		t.Helper()
		req := httptest.NewRequestWithContext(t.Context(), http.MethodGet, path, nil)
		for _, c := range cookies {
			req.AddCookie(c)
		}
		rec := do(t, e.h, req)
		m := regexp.MustCompile(`name="csrf_token" value="([^"]+)"`).FindStringSubmatch(rec.Body.String())
		if rec.Code != http.StatusOK || m == nil {
			t.Fatalf("GET %s = %d, no CSRF token\n%s", path, rec.Code, rec.Body)
		}
		return m[1], rec.Result().Cookies()
	}
	sessA := &http.Cookie{Name: sessionCookie, Value: "session-a"}
	sessB := &http.Cookie{Name: sessionCookie, Value: "session-b"}
	tokenA, cookiesA := pageToken("/dashboard/panels/jobs", sessA)
	tokenB, cookiesB := pageToken("/dashboard/panels/jobs", sessB)
	loginToken, loginCookies := pageToken(LoginPath)

	tests := []struct {
		name    string
		session *http.Cookie
		token   string
		cookies []*http.Cookie
		want    int
	}{
		{"own session's token", sessA, tokenA, cookiesA, http.StatusSeeOther},
		{"other session's token", sessB, tokenA, cookiesA, http.StatusForbidden},
		{"other session's token, with its own cookies", sessB, tokenA, cookiesB, http.StatusForbidden},
		{"planted pair from the login page", sessB, loginToken, loginCookies, http.StatusForbidden},
		{"own token again", sessB, tokenB, cookiesB, http.StatusSeeOther},
	}
	for _, tt := range tests {
		form := url.Values{CSRFField: {tt.token}, "id": {"7"}}
		req := httptest.NewRequestWithContext(t.Context(), http.MethodPost, action, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		req.Header.Set("Origin", "http://127.0.0.1:8000")
		req.AddCookie(tt.session)
		for _, c := range tt.cookies {
			if c.Name != sessionCookie {
				req.AddCookie(c)
			}
		}
		if rec := do(t, e.h, req); rec.Code != tt.want {
			t.Errorf("%s: POST = %d, want %d\n%s", tt.name, rec.Code, tt.want, rec.Body)
		}
	}
	if tokenA == tokenB {
		t.Error("two sessions got the same CSRF token")
	}
}

// TestLoginWaits: an Authenticator that asks to wait (too many attempts, or
// too busy to check a password) gets its wait sent as Retry-After, and the
// page says which it is.
func TestLoginWaits(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name       string
		err        error
		status     int
		retryAfter string
		says       string
	}{
		{"limited", &RetryAfterError{Err: ErrLoginLimited, After: 90 * time.Second}, http.StatusTooManyRequests, "90", "Too many attempts"},
		{"limited, rounded up", &RetryAfterError{Err: ErrLoginLimited, After: 1500 * time.Millisecond}, http.StatusTooManyRequests, "2", "Too many attempts"},
		{"limited, no wait known", ErrLoginLimited, http.StatusTooManyRequests, "", "Too many attempts"},
		{"busy", &RetryAfterError{Err: ErrLoginBusy, After: 5 * time.Second}, http.StatusServiceUnavailable, "5", "busy"},
		{"wrong", ErrBadLogin, http.StatusUnauthorized, "", "Wrong email"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			a := &fakeAuth{loginErr: c.err}
			e := setup(t, setupOpts{opts: &Opts{Production: true, Authenticator: func(*registry.Container) Authenticator { return a }}})
			page := do(t, e.h, httptest.NewRequestWithContext(t.Context(), http.MethodGet, LoginPath, nil))
			m := regexp.MustCompile(`name="csrf_token" value="([^"]+)"`).FindStringSubmatch(page.Body.String())
			if m == nil {
				t.Fatalf("the login page has no CSRF token\n%s", page.Body)
			}
			form := url.Values{"login": {"ada@example.com"}, "password": {"wrong password"}, "csrf_token": {m[1]}}
			req := httptest.NewRequestWithContext(t.Context(), http.MethodPost, LoginPath, strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			for _, c := range page.Result().Cookies() {
				req.AddCookie(c)
			}
			rec := do(t, e.h, req)
			if rec.Code != c.status || rec.Header().Get("Retry-After") != c.retryAfter {
				t.Errorf("status %d, Retry-After %q; want %d, %q", rec.Code, rec.Header().Get("Retry-After"), c.status, c.retryAfter)
			}
			if !strings.Contains(rec.Body.String(), c.says) {
				t.Errorf("the page does not say %q:\n%s", c.says, rec.Body)
			}
		})
	}
}

// TestOperator: a request the session let in carries the operator, for
// panels that apply rules about who acts.
func TestOperator(t *testing.T) {
	t.Parallel()
	d, err := New(&Opts{Production: true})
	if err != nil {
		t.Fatal(err)
	}
	ada := Identity{ID: "7", User: "ada", Admin: true}
	a := &fakeAuth{sessions: map[string]Identity{"s": ada}}
	req := httptest.NewRequest(http.MethodGet, PanelsPath+"/users", nil)
	if _, ok := Operator(req.Context()); ok {
		t.Fatal("a request nobody authorized has an operator")
	}
	req.AddCookie(&http.Cookie{Name: sessionCookie, Value: "s"})
	got, ok := d.authorizeSession(httptest.NewRecorder(), req, a)
	if !ok {
		t.Fatal("the session was refused")
	}
	pc := &PanelContext{Request: got}
	if id, ok := pc.Operator(); !ok || id != ada {
		t.Errorf("Operator = %+v, %v; want %+v", id, ok, ada)
	}
}

// TestSessionEndedHTMX: an htmx request without a valid session gets 401
// with HX-Redirect to the login page (htmx swaps no error, so without it
// the page would poll a dead session for ever), coming back to the page that
// was open; a plain request gets no HX-Redirect, and a page navigation is
// still redirected.
func TestSessionEndedHTMX(t *testing.T) {
	t.Parallel()
	d, err := New(&Opts{Production: true})
	if err != nil {
		t.Fatal(err)
	}
	a := &fakeAuth{sessions: map[string]Identity{}}
	for _, tt := range []struct {
		name, method, path, current string
		htmx                        bool
		want                        int
		redirect                    string // HX-Redirect
	}{
		{"htmx poll", http.MethodGet, overviewFrag, "https://ops.example.com/", true, http.StatusUnauthorized, LoginPath + "?next=%2F"},
		{"htmx poll of a panel", http.MethodGet, panelFrag + "/jobs", "https://ops.example.com/dashboard/panels/jobs?state=failed", true, http.StatusUnauthorized, LoginPath + "?next=%2Fdashboard%2Fpanels%2Fjobs%3Fstate%3Dfailed"},
		{"htmx action", http.MethodPost, PanelsPath + "/jobs/actions/retry", "https://ops.example.com/dashboard/panels/jobs", true, http.StatusUnauthorized, LoginPath + "?next=%2Fdashboard%2Fpanels%2Fjobs"},
		{"htmx, no current URL", http.MethodGet, overviewFrag, "", true, http.StatusUnauthorized, LoginPath + "?next=%2F"},
		{"htmx, odd current URL", http.MethodGet, overviewFrag, "https://ops.example.com//evil.example", true, http.StatusUnauthorized, LoginPath + "?next=%2F"},
		{"plain fragment", http.MethodGet, overviewFrag, "", false, http.StatusUnauthorized, ""},
		{"page", http.MethodGet, GraphPath, "", false, http.StatusSeeOther, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(tt.method, tt.path, nil)
			req.AddCookie(&http.Cookie{Name: sessionCookie, Value: "expired"})
			if tt.htmx {
				req.Header.Set("HX-Request", "true")
				if tt.current != "" {
					req.Header.Set("HX-Current-URL", tt.current)
				}
			}
			w := httptest.NewRecorder()
			if _, ok := d.authorizeSession(w, req, a); ok {
				t.Fatal("an expired session was let in")
			}
			if w.Code != tt.want {
				t.Errorf("status %d, want %d", w.Code, tt.want)
			}
			if got := w.Header().Get("HX-Redirect"); got != tt.redirect {
				t.Errorf("HX-Redirect = %q, want %q", got, tt.redirect)
			}
		})
	}
}

// TestDashboardJSSignedOut: dashboard.js treats a 401 as the end of the
// session (stops refreshing and links to the login page) rather than as a
// failed refresh to retry.
func TestDashboardJSSignedOut(t *testing.T) {
	t.Parallel()
	js, err := assetFS.ReadFile("dashboard.js")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"status === 401", "htmx:beforeRequest", "e.preventDefault()", `getResponseHeader("HX-Redirect")`, `"` + LoginPath + `"`} {
		if !strings.Contains(string(js), want) {
			t.Errorf("dashboard.js lacks %s", want)
		}
	}
}

// TestLoginOverPlainHTTP: in production the session cookie is Secure, which a browser drops
// over plain HTTP from any host but localhost; the login page says so there, and only there.
func TestLoginOverPlainHTTP(t *testing.T) {
	t.Parallel()
	a := &fakeAuth{}
	for _, c := range []struct {
		name, target string
		production   bool
		warned       bool
	}{
		{"production, plain HTTP, another host", "http://ops.example.com/dashboard/login", true, true},
		{"production, plain HTTP, with a port", "http://example.com:8000/dashboard/login", true, true},
		{"production, HTTPS", "https://example.com/dashboard/login", true, false},
		{"production, localhost", "http://localhost:8000/dashboard/login", true, false},
		{"production, loopback address", "http://127.0.0.1:8000/dashboard/login", true, false},
		{"production, IPv6 loopback", "http://[::1]:8000/dashboard/login", true, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := setup(t, setupOpts{opts: &Opts{Production: c.production, Authenticator: func(*registry.Container) Authenticator { return a }}})
			page := do(t, e.h, httptest.NewRequestWithContext(t.Context(), http.MethodGet, c.target, nil))
			if page.Code != http.StatusOK {
				t.Fatalf("status %d: %s", page.Code, page.Body)
			}
			if got := strings.Contains(page.Body.String(), `id="insecure"`); got != c.warned {
				t.Errorf("warned = %v, want %v:\n%s", got, c.warned, page.Body)
			}
		})
	}
}
