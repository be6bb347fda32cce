package frontend

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net"
	"net/http"
)

// Names of the CSRF cookie, form field and header. The cookie holds a random
// value; the token in forms and the htmx header is its HMAC under a key that
// lives only in the process, so a value planted in the cookie by someone else
// (a sibling subdomain, say) does not yield a valid token.
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
//     hand out job retries and user deactivation to anyone on it.
func (d *Dashboard) authorize(w http.ResponseWriter, req *http.Request) bool {
	s := d.opts.Settings
	if s.Username == "" || s.Password == "" {
		if !d.opts.Production {
			if fromLoopback(req) {
				return true
			}
			http.Error(w, "Without DASHBOARD_USERNAME and DASHBOARD_PASSWORD the dashboard answers only on this machine (localhost); set both to reach it from elsewhere.", http.StatusForbidden)
			return false
		}
		w.Header().Set("WWW-Authenticate", `Basic realm="dashboard", charset="UTF-8"`)
		http.Error(w, "The dashboard is closed in production until DASHBOARD_USERNAME and DASHBOARD_PASSWORD are set.", http.StatusUnauthorized)
		return false
	}
	user, pass, ok := req.BasicAuth()
	if ok && equal(user, s.Username) && equal(pass, s.Password) {
		return true
	}
	w.Header().Set("WWW-Authenticate", `Basic realm="dashboard", charset="UTF-8"`)
	http.Error(w, "Sign in with DASHBOARD_USERNAME and DASHBOARD_PASSWORD.", http.StatusUnauthorized)
	return false
}

// fromLoopback reports whether the request's peer is this machine.
func fromLoopback(req *http.Request) bool {
	host, _, err := net.SplitHostPort(req.RemoteAddr)
	if err != nil {
		host = req.RemoteAddr
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// equal compares in time independent of where the strings differ (hashing
// first also hides their lengths).
func equal(a, b string) bool {
	ha, hb := sha256.Sum256([]byte(a)), sha256.Sum256([]byte(b))
	return subtle.ConstantTimeCompare(ha[:], hb[:]) == 1
}

// csrfToken returns the token for forms on this response, setting the CSRF
// cookie first when the request has none.
func (d *Dashboard) csrfToken(w http.ResponseWriter, req *http.Request) string {
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
	return d.sign(seed)
}

func (d *Dashboard) sign(seed string) string {
	m := hmac.New(sha256.New, d.secret)
	m.Write([]byte(seed))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// validCSRF reports whether an unsafe request carries the token that
// belongs to its cookie, in the header (htmx) or the form field.
func (d *Dashboard) validCSRF(req *http.Request) bool {
	c, err := req.Cookie(csrfCookie)
	if err != nil || len(c.Value) < 32 {
		return false
	}
	got := req.Header.Get(CSRFHeader)
	if got == "" {
		got = req.PostFormValue(CSRFField)
	}
	return got != "" && hmac.Equal([]byte(got), []byte(d.sign(c.Value)))
}

// secureCookies is true in production (behind TLS or a TLS proxy), over TLS,
// and on loopback, which browsers treat as a secure context. Only plain HTTP
// to another host in development gets a cookie without Secure, which the
// browser would otherwise drop.
func (d *Dashboard) secureCookies(req *http.Request) bool {
	if d.opts.Production || req.TLS != nil {
		return true
	}
	host, _, err := net.SplitHostPort(req.Host)
	if err != nil {
		host = req.Host
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
