package frontend

import (
	"crypto/hmac"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// flashCookie carries an action's notice across the redirect of a plain form
// post (post/redirect/get) to the panel's page, which shows it once. Notices
// never travel in the URL: a link with ?notice= would let anyone put their
// words on the dashboard as if the app said them.
const flashCookie = "aegis_dashboard_flash"

// flashTTL is how long a flash waits for the redirect it was set for.
const flashTTL = time.Minute

// maxFlash bounds a notice in the cookie (a browser keeps about 4 KB per
// cookie); a longer one is cut.
const maxFlash = 1024

// setFlash stores notice for the next view of panel in this session.
func (d *Dashboard) setFlash(w http.ResponseWriter, req *http.Request, panel string, n notice) {
	text := n.Text
	if len(text) > maxFlash {
		cut := maxFlash
		for cut > 0 && !utf8.RuneStart(text[cut]) {
			cut--
		}
		text = text[:cut] + "…"
	}
	exp := strconv.FormatInt(time.Now().Add(flashTTL).Unix(), 10)
	kind := "ok"
	if n.Failed {
		kind = "failed"
	}
	payload := base64.RawURLEncoding.EncodeToString([]byte(exp + "\x00" + kind + "\x00" + text))
	http.SetCookie(w, &http.Cookie{
		Name: flashCookie, Value: payload + "." + d.flashMAC(req, panel, payload),
		Path: PanelsPath + "/", MaxAge: int(flashTTL / time.Second),
		HttpOnly: true, Secure: d.secureCookies(req), SameSite: http.SameSiteStrictMode,
	})
}

// takeFlash returns the notice stored for panel, if any, and clears the
// cookie so it is shown once. The cookie is signed with the dashboard's key
// and bound to the session (or CSRF cookie) and the panel, and expires:
// neither planted, nor replayed by another session, nor kept for later.
func (d *Dashboard) takeFlash(w http.ResponseWriter, req *http.Request, panel string) notice {
	c, err := req.Cookie(flashCookie)
	if err != nil {
		return notice{}
	}
	http.SetCookie(w, &http.Cookie{Name: flashCookie, Value: "", Path: PanelsPath + "/", MaxAge: -1,
		HttpOnly: true, Secure: d.secureCookies(req), SameSite: http.SameSiteStrictMode})
	payload, mac, ok := strings.Cut(c.Value, ".")
	if !ok || !hmac.Equal([]byte(mac), []byte(d.flashMAC(req, panel, payload))) {
		return notice{}
	}
	raw, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return notice{}
	}
	exp, rest, ok := strings.Cut(string(raw), "\x00")
	kind, text, ok2 := strings.Cut(rest, "\x00")
	unix, err := strconv.ParseInt(exp, 10, 64)
	if !ok || !ok2 || err != nil || time.Now().Unix() > unix {
		return notice{}
	}
	return notice{Text: text, Failed: kind == "failed"}
}

// notice is the outcome of a panel's action, shown above the panel: a failure as an alert,
// in the colours of an error, not in the green of a success.
type notice struct {
	Text   string
	Failed bool
}

// flashMAC signs a flash payload for panel and the request's session: the
// session cookie when signed in, the CSRF cookie otherwise.
func (d *Dashboard) flashMAC(req *http.Request, panel, payload string) string {
	owner := "session\x00" + sessionOf(req)
	if sessionOf(req) == "" {
		owner = "cookie\x00"
		if c, err := req.Cookie(csrfCookie); err == nil {
			owner += c.Value
		}
	}
	return d.sign("flash", owner+"\x00"+panel+"\x00"+payload)
}
