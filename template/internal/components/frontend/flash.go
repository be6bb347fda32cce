package frontend

import (
	"crypto/hmac"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"sync"
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
	return d.sign("flash", ownerOf(req)+"\x00"+panel+"\x00"+payload)
}

// ownerOf names whose browser a request comes from: its session cookie when
// signed in, its CSRF cookie otherwise.
func ownerOf(req *http.Request) string {
	if sess := sessionOf(req); sess != "" {
		return "session\x00" + sess
	}
	owner := "cookie\x00"
	if c, err := req.Cookie(csrfCookie); err == nil {
		owner += c.Value
	}
	return owner
}

// An htmx action answers with the panel and its outcome, but when the
// operator reloads the page (or leaves it) before the answer comes, the
// browser drops the answer: the action ran and nobody saw what came of it.
// A cookie cannot carry it, since the one response that could set it is the
// one the browser dropped; a page script cannot either, for it is gone. What
// the server does observe is the client leaving: the request's context ends
// when the connection closes or the stream is reset. So an htmx action that
// finds its request cancelled once it has run keeps the outcome here, in
// memory, for the next page load of that panel in that browser, which shows
// it and forgets it (takeUnseen): once, to its owner only. An answer the
// browser received is never kept, so it cannot show twice. What stays
// uncovered is a client leaving in the instant after the answer was written.
// Memory, not a shared store: like the flash cookie (signed with a key that
// may be new per process), an outcome belongs to the process that ran the
// action, and one lost to a restart is no worse than before.
const (
	// unseenTTL is how long an unseen outcome waits for the operator to come
	// back to the panel: long enough to go elsewhere and return.
	unseenTTL = 10 * time.Minute
	// maxUnseen bounds the outcomes kept, whatever the number of browsers
	// that post and leave; past it the oldest are dropped.
	maxUnseen = 1000
)

// unseenOutcomes are the outcomes of htmx actions whose answer never reached
// the browser, by signed owner and panel.
type unseenOutcomes struct {
	mu   sync.Mutex
	byID map[string]unseen
}

type unseen struct {
	n       notice
	expires time.Time
}

// unseenKey binds an outcome to the browser and panel, signed so the map
// holds no session cookie in clear.
func (d *Dashboard) unseenKey(req *http.Request, panel string) string {
	return d.sign("unseen", ownerOf(req)+"\x00"+panel)
}

// keepUnseen keeps n for the next page load of panel by the same browser
// (one per panel: a later one replaces it).
func (d *Dashboard) keepUnseen(req *http.Request, panel string, n notice) {
	now := time.Now()
	key := d.unseenKey(req, panel)
	u := &d.unseen
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.byID == nil {
		u.byID = map[string]unseen{}
	}
	for k, v := range u.byID {
		if now.After(v.expires) {
			delete(u.byID, k)
		}
	}
	// The map never holds more than maxUnseen, so one added needs at most one dropped.
	if _, replaced := u.byID[key]; !replaced && len(u.byID) >= maxUnseen {
		oldest := ""
		for k, v := range u.byID {
			if oldest == "" || v.expires.Before(u.byID[oldest].expires) {
				oldest = k
			}
		}
		delete(u.byID, oldest)
	}
	u.byID[key] = unseen{n: n, expires: now.Add(unseenTTL)}
}

// takeUnseen returns and forgets the outcome kept for panel and this
// browser, if any.
func (d *Dashboard) takeUnseen(req *http.Request, panel string) notice {
	key := d.unseenKey(req, panel)
	u := &d.unseen
	u.mu.Lock()
	defer u.mu.Unlock()
	v, ok := u.byID[key]
	if !ok {
		return notice{}
	}
	delete(u.byID, key)
	if time.Now().After(v.expires) {
		return notice{}
	}
	return v.n
}
