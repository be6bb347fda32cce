package frontend

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"html/template"
	"net"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aegisgo/aegis/template/internal/components/backend"
	"github.com/aegisgo/aegis/template/internal/runtime/ratelimit"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
)

// Paths of the session login, used when an Authenticator is present.
const (
	LoginPath  = Prefix + "/login"
	LogoutPath = Prefix + "/logout"
)

// sessionCookie holds the opaque session token an Authenticator issued.
const sessionCookie = "aegis_dashboard_session"

// ErrBadLogin is what an Authenticator's Login returns for any wrong
// credentials (unknown account, wrong password, inactive account), so the
// login page shows one generic message.
var ErrBadLogin = errors.New("frontend: invalid login")

// ErrLoginLimited is what an Authenticator's Login returns when too many
// attempts were made; the login page asks to wait.
var ErrLoginLimited = errors.New("frontend: too many login attempts")

// ErrLoginBusy is what an Authenticator's Login returns when it cannot check
// a password now (too many checks running); the login page asks to retry
// soon, without logging an error.
var ErrLoginBusy = errors.New("frontend: login busy")

// RetryAfterError wraps ErrLoginLimited or ErrLoginBusy with how long to
// wait; the login page sends it as Retry-After.
type RetryAfterError struct {
	Err   error
	After time.Duration
}

func (e *RetryAfterError) Error() string { return e.Err.Error() }
func (e *RetryAfterError) Unwrap() error { return e.Err }

// Identity is who a session belongs to.
type Identity struct {
	ID    string // the account's id in the Authenticator's terms, for rules about the operator
	User  string // a name to show
	Admin bool   // only admins may use the dashboard
}

type operatorKey struct{}

// Operator returns who signed in to the dashboard for the request, when an
// Authenticator signed them in (not in development without credentials, nor
// behind basic auth).
func Operator(ctx context.Context) (Identity, bool) {
	id, ok := ctx.Value(operatorKey{}).(Identity)
	return id, ok
}

// Authenticator signs operators in with the app's own accounts (the auth
// service provides one). Tokens are opaque to the dashboard; it keeps them
// in an HttpOnly, SameSite=Strict cookie.
type Authenticator interface {
	// Login checks the credentials and returns a session token and how
	// long it lives; wrong credentials give ErrBadLogin.
	Login(ctx context.Context, login, password, ip string) (token string, ttl time.Duration, id Identity, err error)
	// Session returns the identity of a token; an invalid, expired (idle
	// or past its lifetime) or revoked one gives ok false. It is called on
	// every dashboard request, several at a time while pages poll, so it
	// must not use the token up (no rotation), and it should reflect the
	// account as it is now (a deactivated or demoted admin loses access at
	// once). activity is true for what the operator does (a page, an
	// action) and false for the background polling of live parts, which
	// must not keep an idle session alive.
	Session(ctx context.Context, token string, activity bool) (id Identity, ok bool, err error)
	// Logout ends the session of token.
	Logout(ctx context.Context, token string) error
}

// AuthenticatorFunc resolves the Authenticator from the container; nil when
// the service behind it cannot serve, in which case the dashboard falls back
// to DASHBOARD_USERNAME/DASHBOARD_PASSWORD. It is a contribution kind: the
// service that authenticates users contributes one from init(), and at most
// one may be contributed (a second fails the container's Build, naming both):
//
//	registry.Contribute(registry.Default, "auth", frontend.AuthenticatorFunc(find))
//
// When it finds an Authenticator, that takes precedence over basic auth in
// production, and in development when DASHBOARD_USERNAME is set: the
// dashboard then asks for an admin login on LoginPath.
type AuthenticatorFunc func(c *registry.Container) Authenticator

// authenticator returns the Authenticator for this dashboard, or nil.
func (s *site) authenticator(d *Dashboard) Authenticator { return d.authenticatorIn(s.c) }

// authenticatorIn returns the Authenticator d uses in container c, or nil:
// in production, and in development when DASHBOARD_USERNAME is set, the one
// d.opts.Authenticator finds.
func (d *Dashboard) authenticatorIn(c *registry.Container) Authenticator {
	if !d.opts.Production && d.opts.Settings.Username == "" {
		return nil
	}
	fn := d.opts.Authenticator
	if fn == nil || c == nil {
		return nil
	}
	return fn(c)
}

// authorizeSession enforces an admin session: pages without one redirect to
// the login page, fragments and actions get 401, non-admins 403. The
// request it returns carries the operator (see Operator).
func (d *Dashboard) authorizeSession(w http.ResponseWriter, req *http.Request, a Authenticator) (*http.Request, bool) {
	if token := sessionOf(req); token != "" {
		// htmx polls the fragments every few seconds while a tab is open:
		// that is not the operator at work, and must not defeat the idle
		// timeout.
		polling := req.Method == http.MethodGet && strings.HasPrefix(req.URL.Path, FragmentsPath+"/")
		id, ok, err := d.checkSession(req.Context(), a, token, !polling)
		if err != nil {
			http.Error(w, "The login could not be checked; try again.", http.StatusServiceUnavailable)
			return req, false
		}
		if ok {
			if !id.Admin {
				http.Error(w, "The dashboard is for administrators only.", http.StatusForbidden)
				return req, false
			}
			return req.WithContext(context.WithValue(req.Context(), operatorKey{}, id)), true
		}
	}
	if req.Method == http.MethodGet && !strings.HasPrefix(req.URL.Path, FragmentsPath+"/") && req.Header.Get("HX-Request") == "" {
		http.Redirect(w, req, LoginPath+"?next="+template.URLQueryEscaper(req.URL.RequestURI()), http.StatusSeeOther)
		return req, false
	}
	if req.Header.Get("HX-Request") != "" {
		// htmx swaps no error and would keep polling a dead session every
		// few seconds; HX-Redirect makes it load the login page instead,
		// coming back to the page the operator had open.
		w.Header().Set("HX-Redirect", loginRedirect(req.Header.Get("HX-Current-URL")))
	}
	http.Error(w, "Sign in at "+LoginPath+".", http.StatusUnauthorized)
	return req, false
}

// loginRedirect is the login page, returning after sign-in to the page
// current (the HX-Current-URL htmx sends: a full URL, of this site since the
// dashboard's requests are same-origin) when it is one of the dashboard's.
func loginRedirect(current string) string {
	next := OverviewPath
	if u, err := url.Parse(current); err == nil && u.Path != "" {
		u.Scheme, u.Host, u.User, u.Fragment, u.RawFragment = "", "", nil, "", ""
		next = safeNext(u.RequestURI())
	}
	return LoginPath + "?next=" + template.URLQueryEscaper(next)
}

// checkSession asks a for the session of token and keeps the memo in step.
// When a cannot answer, most likely because its database is down (exactly
// when an operator needs the dashboard), a session it confirmed shortly
// before stays in; err is returned only when the memo does not know it.
func (d *Dashboard) checkSession(ctx context.Context, a Authenticator, token string, activity bool) (Identity, bool, error) {
	id, ok, err := a.Session(ctx, token, activity)
	switch {
	case err != nil:
		if id, ok = d.sessions.recall(token, time.Now()); !ok {
			return Identity{}, false, err
		}
	case ok:
		d.sessions.confirm(token, id, time.Now())
	default:
		d.sessions.forget(token)
	}
	return id, ok, nil
}

// sessionGrace is how long a session the Authenticator confirmed stays
// usable while the Authenticator fails (not when it refuses the session).
const sessionGrace = 10 * time.Minute

// sessionMemoSize bounds the memo; past it, stale entries go first and, if
// none is stale, all of them (everyone is then checked afresh).
const sessionMemoSize = 1024

// sessionMemo remembers, by a hash of the token, which sessions the
// Authenticator confirmed and when.
type sessionMemo struct {
	mu   sync.Mutex
	seen map[[32]byte]confirmedSession
}

type confirmedSession struct {
	id Identity
	at time.Time
}

func (m *sessionMemo) confirm(token string, id Identity, now time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.seen == nil {
		m.seen = make(map[[32]byte]confirmedSession)
	}
	if len(m.seen) >= sessionMemoSize {
		for k, v := range m.seen {
			if now.Sub(v.at) > sessionGrace {
				delete(m.seen, k)
			}
		}
		if len(m.seen) >= sessionMemoSize {
			clear(m.seen)
		}
	}
	m.seen[sha256.Sum256([]byte(token))] = confirmedSession{id, now}
}

// recall returns the identity of a session confirmed within sessionGrace.
func (m *sessionMemo) recall(token string, now time.Time) (Identity, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.seen[sha256.Sum256([]byte(token))]
	if !ok || now.Sub(v.at) > sessionGrace {
		return Identity{}, false
	}
	return v.id, true
}

func (m *sessionMemo) forget(token string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.seen, sha256.Sum256([]byte(token)))
}

// loginTmpl is a card centred on the page (style.css, .login-page): the CSP
// allows no inline style or script. The field names and ids are what the
// handler reads and what browser tests fill in.
// loginTmpl puts the focus where typing goes on: the first field, or the password after a
// failed sign-in that kept the login, so a keyboard user need not Tab to it. The error, read
// out when it is loaded with the page only by some screen readers, describes both fields, so
// it is read with the focused one.
var loginTmpl = NewTemplate("login", nil, `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in · {{.Title}}</title><link rel="icon" href="data:,"><link rel="stylesheet" href="{{.CSS}}"></head>
<body class="login-page"><main class="login" aria-labelledby="login-title">
<p class="app">{{.Title}}</p>
<h1 id="login-title">Sign in to the dashboard</h1>
{{with .Warning}}<p role="alert" class="notice notice-error" id="insecure">{{.}}</p>{{end}}
{{with .Error}}<p role="alert" class="notice notice-error" id="login-error">{{.}}</p>{{end}}
<form method="post" action="{{.Action}}">
  <input type="hidden" name="csrf_token" value="{{.CSRF}}">
  <input type="hidden" name="next" value="{{.Next}}">
  <label for="login">Email or username</label>
  <input id="login" name="login" type="text" autocomplete="username" autocapitalize="none" spellcheck="false" required value="{{.Login}}"{{if .Error}} aria-describedby="login-error"{{end}}{{if not .Login}} autofocus{{end}}>
  <label for="password">Password</label>
  <input id="password" name="password" type="password" autocomplete="current-password" required{{if .Error}} aria-describedby="login-error"{{end}}{{if .Login}} autofocus{{end}}>
  <button type="submit">Sign in</button>
</form>
</main></body></html>`)

// maxNext bounds a post-login redirect; the dashboard's own URLs are short.
const maxNext = 2048

// safeNext keeps a post-login redirect on this site. next comes from the
// query string, so anyone can craft it, and browsers are lenient readers of
// a Location header: they drop tabs and newlines ("/\t/evil" is "//evil"),
// read a backslash as a slash, and some proxies decode %2F. So only a plain
// path is accepted: printable ASCII, no backslash, starting with exactly one
// slash, and still so once percent-decoded, with no dot segments. Anything
// else, and the fragment, gives the overview.
func safeNext(next string) string {
	if next == "" || len(next) > maxNext || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") {
		return OverviewPath
	}
	for i := 0; i < len(next); i++ {
		if c := next[i]; c < 0x21 || c > 0x7e || c == '\\' {
			return OverviewPath
		}
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.Opaque != "" || u.User != nil {
		return OverviewPath
	}
	// Decode as often as it changes, so a proxy that decodes once more
	// cannot turn an encoded slash or control character into a real one.
	p := u.EscapedPath()
	for range 4 {
		d, err := url.PathUnescape(p)
		if err != nil {
			return OverviewPath
		}
		if d == p {
			break
		}
		p = d
	}
	if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || path.Clean(p) != p && path.Clean(p)+"/" != p {
		return OverviewPath
	}
	for i := 0; i < len(p); i++ {
		if c := p[i]; c < 0x21 || c > 0x7e || c == '\\' {
			return OverviewPath
		}
	}
	out := u.EscapedPath()
	if u.RawQuery != "" {
		out += "?" + u.RawQuery
	}
	return out
}

// login serves the login form (GET) and checks it (POST).
func (s *site) login(w http.ResponseWriter, req *http.Request) {
	setSecurityHeaders(w)
	d, err := s.dashboard()
	if err != nil {
		http.Error(w, "The dashboard is not available yet: the app is starting.", http.StatusServiceUnavailable)
		return
	}
	a := s.authenticator(d)
	if a == nil {
		http.NotFound(w, req)
		return
	}
	data := map[string]any{"Title": s.title, "CSS": d.urls().css, "Action": LoginPath, "Next": safeNext(req.URL.Query().Get("next"))}
	if d.opts.Production && !backend.Secure(req) && !loopbackHost(req.Host) {
		// The session cookie is Secure in production, and a browser drops a Secure cookie
		// that came over plain HTTP from any host but localhost: the sign-in would only
		// bring the operator back here, with no word why.
		data["Warning"] = "This page came over plain HTTP. In production the dashboard's cookies are Secure, which browsers keep only over HTTPS (or on localhost), so signing in here would not stick: open the dashboard through HTTPS (behind a TLS proxy, listed in TRUSTED_PROXIES)."
	}
	status := http.StatusOK
	if req.Method == http.MethodPost {
		if err := http.NewCrossOriginProtection().Check(req); err != nil {
			refusal(w, req, http.StatusForbidden, crossOriginDetail)
			return
		}
		if !d.validCSRF(req) {
			refusal(w, req, http.StatusForbidden, d.csrfDetail())
			return
		}
		login := req.PostFormValue("login")
		data["Login"], data["Next"] = login, safeNext(req.PostFormValue("next"))
		ip, _, _ := net.SplitHostPort(req.RemoteAddr)
		token, ttl, id, err := a.Login(req.Context(), login, req.PostFormValue("password"), ip)
		switch {
		case err == nil && id.Admin:
			// The overview lives at "/", outside Prefix, so the cookie
			// covers the whole site.
			http.SetCookie(w, &http.Cookie{
				Name: sessionCookie, Value: token, Path: "/", MaxAge: int(ttl / time.Second),
				HttpOnly: true, Secure: d.secureCookies(req), SameSite: http.SameSiteStrictMode,
			})
			http.Redirect(w, req, data["Next"].(string), http.StatusSeeOther)
			return
		case err == nil: // a valid account, but not an admin
			_ = a.Logout(req.Context(), token)
			data["Error"] = "This account may not use the dashboard."
			status = http.StatusForbidden
		case errors.Is(err, ErrBadLogin):
			data["Error"] = "Wrong email, username or password."
			status = http.StatusUnauthorized
		case errors.Is(err, ErrLoginLimited):
			data["Error"] = "Too many attempts: wait a few minutes and try again."
			status = http.StatusTooManyRequests
			setRetryAfter(w, err)
		case errors.Is(err, ErrLoginBusy):
			data["Error"] = "The server is busy checking other sign-ins: try again in a moment."
			status = http.StatusServiceUnavailable
			setRetryAfter(w, err)
		default:
			s.r.Logger.ErrorContext(req.Context(), "frontend: login", "error", err)
			data["Error"] = "The login failed; try again later."
			status = http.StatusServiceUnavailable
		}
	}
	data["CSRF"] = d.csrfToken(w, req)
	var buf bytes.Buffer
	if err := loginTmpl.Execute(&buf, data); err != nil {
		http.Error(w, "The page failed to render.", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// logout ends the session (POST with the CSRF token) and returns to the
// login page.
func (s *site) logout(w http.ResponseWriter, req *http.Request, d *Dashboard) {
	if c, err := req.Cookie(sessionCookie); err == nil && c.Value != "" {
		d.sessions.forget(c.Value)
		if a := s.authenticator(d); a != nil {
			_ = a.Logout(req.Context(), c.Value)
		}
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: d.secureCookies(req), SameSite: http.SameSiteStrictMode})
	http.Redirect(w, req, LoginPath, http.StatusSeeOther)
}

// setRetryAfter sends the wait a *RetryAfterError carries, in whole seconds.
func setRetryAfter(w http.ResponseWriter, err error) {
	var ra *RetryAfterError
	if errors.As(err, &ra) && ra.After > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(ratelimit.Seconds(ra.After)))
	}
}
