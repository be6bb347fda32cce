package frontend

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aegisgo/aegis/template/internal/components/backend"
	"github.com/aegisgo/aegis/template/internal/config"
	"github.com/aegisgo/aegis/template/internal/runtime/ratelimit"
)

// Names of the CSRF cookie, form field and header. The token in forms and
// the htmx header is an HMAC under a key that lives only in the process (or
// DASHBOARD_SECRET), of the session it is used with: the session cookie
// when the operator signed in, so a token minted for one session (or
// planted from a page served without one) is refused beside another; the
// CSRF cookie, a random value, otherwise (basic auth, the development
// dashboard, the login form), so a value planted in the cookie by someone
// else (a sibling subdomain, say) does not yield a valid token either.
const (
	csrfCookie = "aegis_dashboard_csrf"
	CSRFField  = "csrf_token"
	CSRFHeader = "X-CSRF-Token"
)

// authorize enforces the access rules and writes the refusal itself:
//   - credentials set (any environment): HTTP basic auth with them;
//   - production without credentials: 401 for everyone;
//   - development without credentials: open to this machine (loopback)
//     only, so a dev server bound to 0.0.0.0 on a shared network does not
//     hand out job retries and user deactivation to anyone on it, and only
//     under a local name (hostAllowed), so a web page cannot reach it through
//     the developer's browser by DNS rebinding.
//
// Failed basic-auth sign-ins are throttled (basicAuthWindow and the limits
// beside it) and logged through logger, without the password.
func (d *Dashboard) authorize(w http.ResponseWriter, req *http.Request, logger *slog.Logger) bool {
	s := d.opts.Settings
	if s.Username == "" || s.Password == "" {
		if !d.opts.Production {
			switch {
			case !backend.FromLoopback(req):
				refuse(w, req, "Without DASHBOARD_USERNAME and DASHBOARD_PASSWORD the dashboard answers only on this machine (localhost); set both to reach it from elsewhere.")
				return false
			case !d.hostAllowed(req.Host):
				refuse(w, req, "Without DASHBOARD_USERNAME and DASHBOARD_PASSWORD the dashboard answers only when opened as localhost, 127.0.0.1 or [::1]: use one of those, or add this host name to ALLOWED_HOSTS (comma-separated).")
				return false
			}
			return true
		}
		w.Header().Set("WWW-Authenticate", `Basic realm="dashboard", charset="UTF-8"`)
		http.Error(w, "The dashboard is closed in production until DASHBOARD_USERNAME and DASHBOARD_PASSWORD are set.", http.StatusUnauthorized)
		return false
	}
	user, pass, ok := req.BasicAuth()
	if !ok {
		// No attempt yet (a browser asks first without credentials).
		w.Header().Set("WWW-Authenticate", `Basic realm="dashboard", charset="UTF-8"`)
		http.Error(w, "Sign in with DASHBOARD_USERNAME and DASHBOARD_PASSWORD.", http.StatusUnauthorized)
		return false
	}
	ok, wait := d.checkBasic(req, logger, user, pass)
	switch {
	case ok:
		return true
	case wait > 0:
		tooMany(w, wait)
		return false
	}
	w.Header().Set("WWW-Authenticate", `Basic realm="dashboard", charset="UTF-8"`)
	http.Error(w, "Sign in with DASHBOARD_USERNAME and DASHBOARD_PASSWORD.", http.StatusUnauthorized)
	return false
}

// checkBasic checks user and pass against DASHBOARD_USERNAME and
// DASHBOARD_PASSWORD, which must be set, under the limits of failed
// sign-ins: wait > 0 when the client's address or the name typed is limited,
// and then nothing is compared; a failure counts towards the limits and is
// logged through logger, without the password. The dashboard's basic auth
// and its health access (healthAccess) share it, so the health endpoints
// cannot be used to guess the password around the limits.
func (d *Dashboard) checkBasic(req *http.Request, logger *slog.Logger, user, pass string) (ok bool, wait time.Duration) {
	s := d.opts.Settings
	ip, name := ratelimit.IPKey(req.RemoteAddr), strings.ToLower(user)
	// Limited means limited, whatever the password: answering a right
	// guess differently would keep the guessing going.
	if wait := max(d.failedByIP.CheckContext(req.Context(), ip), d.failedByUser.CheckContext(req.Context(), name)); wait > 0 {
		return false, wait
	}
	// Both compared, always: stopping at a wrong user name would tell by
	// the time taken that the name was wrong.
	userOK, passOK := backend.EqualSecret(user, s.Username), backend.EqualSecret(pass, s.Password)
	if userOK && passOK {
		return true, 0
	}
	if wait := max(d.failedByIP.AddContext(req.Context(), ip), d.failedByUser.AddContext(req.Context(), name)); wait > 0 {
		logger.WarnContext(req.Context(), "frontend: too many failed dashboard sign-ins; refusing them for a while",
			slog.String("ip", ip), slog.String("user", truncate(user, 64)), slog.Duration("retry_after", wait))
	} else {
		logger.InfoContext(req.Context(), "frontend: dashboard sign-in failed", slog.String("ip", ip), slog.String("user", truncate(user, 64)))
	}
	return false, 0
}

// Limits of failed basic-auth sign-ins: per client address (IPv6: per /64)
// and per user name typed, within a sliding window. Past either, every
// sign-in of that address or name gets 429 until the window slides: 10
// guesses per 15 minutes instead of thousands per second.
const (
	basicAuthWindow    = 15 * time.Minute
	basicAuthUserLimit = 10
	basicAuthIPLimit   = 20
)

// tooMany answers 429 with Retry-After in whole seconds.
func tooMany(w http.ResponseWriter, wait time.Duration) {
	secs := ratelimit.Seconds(wait)
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	http.Error(w, "Too many failed sign-ins: try again in "+backend.Seconds(secs)+".", http.StatusTooManyRequests)
}

// truncate cuts s to at most n bytes for a log line (a user name field can
// hold anything a client sends).
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// minPasswordLength is the shortest DASHBOARD_PASSWORD production accepts:
// with the limits above, 12 characters that are not on a list are out of
// reach of online guessing.
const minPasswordLength = 12

// commonPasswords are refused in production whatever their length: the
// first ones a guesser tries that pass the length rule.
var commonPasswords = []string{
	"password1234", "password12345", "password123456", "passwordpassword", "password1234!",
	"123456789012", "1234567890123", "12345678901234", "123456789abc", "1234567890qwerty",
	"qwerty123456", "qwertyuiop12", "qwertyuiopasdf", "qwertyuiop123", "1q2w3e4r5t6y", "1qaz2wsx3edc",
	"administrator", "administrator1", "admin1234567", "adminpassword", "admin@123456",
	"changeme1234", "changemechangeme", "change-me-please", "letmeinletmein", "letmein12345",
	"iloveyou1234", "welcome12345", "welcome123456", "abc123abc123", "abcdefghijkl",
	"dashboard123", "dashboard1234", "dashboardpassword", "superuser123", "trustno1trustno1",
}

// checkProductionPassword refuses a DASHBOARD_PASSWORD that is short, common,
// one character repeated or the user name repeated. The error names the
// variable, never the value.
func checkProductionPassword(s Settings) error {
	if s.Password == "" {
		return nil
	}
	p, u := strings.ToLower(s.Password), strings.ToLower(s.Username)
	fix := "set a random one, for example: openssl rand -base64 18"
	switch {
	case utf8.RuneCountInString(s.Password) < minPasswordLength:
		return config.Invalid("DASHBOARD_PASSWORD", "(hidden)", "is shorter than "+strconv.Itoa(minPasswordLength)+" characters, which production refuses", fix)
	case slices.Contains(commonPasswords, p), strings.Trim(p, p[:1]) == "", u != "" && strings.ReplaceAll(p, u, "") == "":
		return config.Invalid("DASHBOARD_PASSWORD", "(hidden)", "is a common or easily guessed password, which production refuses", fix)
	}
	return nil
}

// localHosts are the names under which the development dashboard answers
// without ALLOWED_HOSTS (as Django with DEBUG and Rails' config.hosts do).
var localHosts = []string{"localhost", "127.0.0.1", "::1"}

// hostName returns the host of a Host header without its port or IPv6
// brackets, lower-cased and without a final dot.
func hostName(hostport string) string {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	return strings.TrimSuffix(strings.ToLower(host), ".")
}

// hostAllowed reports whether the request's Host names this machine or a
// host of ALLOWED_HOSTS. A loopback peer alone is not enough: after DNS
// rebinding, a page of another site talks to the server from the
// developer's own browser, and a local forwarder relays anyone; both keep
// the other site's name in Host, which this refuses.
func (d *Dashboard) hostAllowed(hostport string) bool {
	host := hostName(hostport)
	return host != "" && (slices.Contains(localHosts, host) || slices.Contains(d.allowedHosts, host))
}

// parseAllowedHosts splits ALLOWED_HOSTS into host names; it reports an
// entry that is not a plain host name (a URL, a path, a wildcard).
func parseAllowedHosts(v string) ([]string, error) {
	var out []string
	for entry := range strings.SplitSeq(v, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		host := hostName(entry)
		if host == "" || strings.ContainsAny(entry, "/@") || strings.ContainsFunc(host, func(r rune) bool {
			return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == ':')
		}) {
			return nil, config.Invalid("ALLOWED_HOSTS", v, "holds "+strconv.Quote(entry)+", which is not a host name", "list host names only, comma-separated, such as dev.example.com,box.local (no scheme, path or wildcard)")
		}
		out = append(out, host)
	}
	return out, nil
}

// refuse answers 403 with detail (see refusal).
func refuse(w http.ResponseWriter, req *http.Request, detail string) {
	refusal(w, req, http.StatusForbidden, detail)
}

// refusal answers status with detail: a small page when a person's browser
// shows the answer (wantsPage), an RFC 9457 problem otherwise (fragments,
// htmx requests, scripts), written by backend.WriteProblem so the dashboard's
// problems read like the API's.
func refusal(w http.ResponseWriter, req *http.Request, status int, detail string) {
	writeRefusal(w, req, refusalPage{Status: status, Detail: detail})
}

// notFound answers 404 with detail like refusal, and its page links to the
// dashboard's home: the request got past the access rules, so the operator
// can use the dashboard, and a mistyped or stale address is best answered with
// the way back.
func notFound(w http.ResponseWriter, req *http.Request, detail string) {
	writeRefusal(w, req, refusalPage{Status: http.StatusNotFound, Detail: detail, Home: OverviewPath})
}

func writeRefusal(w http.ResponseWriter, req *http.Request, page refusalPage) {
	status, detail := page.Status, page.Detail
	if !wantsPage(req) {
		backend.WriteProblem(w, req, status, detail)
		return
	}
	var buf bytes.Buffer
	if err := refusalTmpl.Execute(&buf, page); err != nil {
		// The template is fixed and its data strings and an int; should it
		// fail all the same, the problem still says what to do.
		backend.WriteProblem(w, req, status, detail)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// wantsPage reports whether the answer to req is shown by a browser as a
// page: a navigation (a link followed, an address typed, a form posted
// without htmx). The choice goes by the Accept header, which browsers set to
// text/html first on navigations, GET and form POST alike, and which
// fetch/XHR leave at */* unless told: a form posted with a stale token then
// shows a page saying to reload, not raw JSON. htmx requests (HX-Request)
// and the live fragments are never navigations: htmx swaps no error, and
// dashboard.js reports the status. An Accept naming JSON asks for the
// problem. Without any of these, a GET or HEAD still gets the page, as the
// host rule's refusals always did (a bare GET is most likely a person's
// first try), and anything else the problem.
func wantsPage(req *http.Request) bool {
	if req.Header.Get("HX-Request") != "" || strings.HasPrefix(req.URL.Path, FragmentsPath+"/") {
		return false
	}
	accept := req.Header.Get("Accept")
	switch {
	case strings.Contains(accept, "json"):
		return false
	case strings.Contains(accept, "text/html"):
		return true
	}
	return req.Method == http.MethodGet || req.Method == http.MethodHead
}

// refusalPage is what refusalTmpl shows.
type refusalPage struct {
	Status int
	Detail string
	Home   string // when set, the page links to it (the dashboard's home)
}

// Title is the status's text ("Forbidden").
func (p refusalPage) Title() string { return http.StatusText(p.Status) }

// refusalTmpl is deliberately bare: no stylesheet, nothing of the dashboard.
var refusalTmpl = NewTemplate("refusal", nil, `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>{{.Status}} {{.Title}}</title><link rel="icon" href="data:,"></head>
<body><main>
<h1>{{.Status}} {{.Title}}</h1><p>{{.Detail}}</p>{{with .Home}}<p><a href="{{.}}">Back to the dashboard</a></p>{{end}}
</main></body></html>
`)

// csrfToken returns the token for forms on this response: bound to the
// session cookie when there is one, otherwise to the CSRF cookie, which it
// sets first when the request has none.
func (d *Dashboard) csrfToken(w http.ResponseWriter, req *http.Request) string {
	if sess := sessionOf(req); sess != "" {
		return d.sign("session", sess)
	}
	seed := ""
	if c, err := req.Cookie(csrfCookie); err == nil && len(c.Value) >= 32 {
		seed = c.Value
	} else {
		b := make([]byte, 32)
		_, _ = rand.Read(b)
		seed = base64.RawURLEncoding.EncodeToString(b)
		http.SetCookie(w, &http.Cookie{
			Name:     csrfCookie,
			Value:    seed,
			Path:     "/",
			HttpOnly: true,
			Secure:   d.secureCookies(req),
			SameSite: http.SameSiteStrictMode,
		})
	}
	return d.sign("cookie", seed)
}

// sessionOf returns the session cookie's value, "" without one.
func sessionOf(req *http.Request) string {
	if c, err := req.Cookie(sessionCookie); err == nil {
		return c.Value
	}
	return ""
}

// sign returns the HMAC of value under the dashboard's key, labelled with
// what value is (a session, a cookie seed, a flash), so one kind can never
// stand for another.
func (d *Dashboard) sign(kind, value string) string {
	m := hmac.New(sha256.New, d.secret)
	m.Write([]byte(kind))
	m.Write([]byte{0})
	m.Write([]byte(value))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// validCSRF reports whether an unsafe request carries, in the header (htmx)
// or the form field, the token of its session, or of its CSRF cookie when
// it has no session.
func (d *Dashboard) validCSRF(req *http.Request) bool {
	want := ""
	if sess := sessionOf(req); sess != "" {
		want = d.sign("session", sess)
	} else if c, err := req.Cookie(csrfCookie); err == nil && len(c.Value) >= 32 {
		want = d.sign("cookie", c.Value)
	} else {
		return false
	}
	got := req.Header.Get(CSRFHeader)
	if got == "" {
		got = req.PostFormValue(CSRFField)
	}
	return got != "" && hmac.Equal([]byte(got), []byte(want))
}

// secureCookies is true in production (behind TLS or a TLS proxy), over TLS,
// and on loopback, which browsers treat as a secure context. Only plain HTTP
// to another host in development gets a cookie without Secure, which the
// browser would otherwise drop.
func (d *Dashboard) secureCookies(req *http.Request) bool {
	return d.opts.Production || req.TLS != nil || loopbackHost(req.Host)
}

// loopbackHost reports whether a Host header names this machine (localhost or
// a loopback address), which browsers treat as a secure context.
func loopbackHost(hostport string) bool {
	host := hostName(hostport)
	ip := net.ParseIP(host)
	return host == "localhost" || ip != nil && ip.IsLoopback()
}
