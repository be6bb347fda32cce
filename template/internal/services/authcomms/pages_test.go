package authcomms

import (
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/aegisgo/aegis/template/internal/components/database"
	"github.com/aegisgo/aegis/template/internal/components/database/databasetest"
)

// page sends a GET (form nil) or a form POST to one of the app's pages.
func (e *env) page(t *testing.T, path string, form url.Values) response {
	t.Helper()
	method, body := http.MethodGet, io.Reader(nil)
	if form != nil {
		method, body = http.MethodPost, strings.NewReader(form.Encode())
	}
	r, err := http.NewRequestWithContext(t.Context(), method, e.url+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	return fetch(t, r)
}

// wantPage asserts an HTML page with status whose text has every one of has, served so that
// neither a cache nor a Referer keeps the token of its URL.
func wantPage(t *testing.T, what string, r response, status int, has ...string) {
	t.Helper()
	if r.status != status || !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") {
		t.Fatalf("%s: status %d, Content-Type %q, want %d and an HTML page; body %s", what, r.status, r.header.Get("Content-Type"), status, r.body)
	}
	if r.header.Get("Cache-Control") != "no-store" || r.header.Get("Referrer-Policy") != "no-referrer" {
		t.Errorf("%s: Cache-Control %q, Referrer-Policy %q, want no-store and no-referrer", what, r.header.Get("Cache-Control"), r.header.Get("Referrer-Policy"))
	}
	for _, s := range has {
		if !strings.Contains(string(r.body), s) {
			t.Errorf("%s: page lacks %q:\n%s", what, s, r.body)
		}
	}
}

// TestLinkPagesWork: the links of the emails, with AUTH_VERIFY_EMAIL_URL and
// AUTH_RESET_PASSWORD_URL empty, open pages of the app itself (they used to answer a JSON
// 404). Opening a link spends nothing (mail scanners open links too); the page's button
// does, once.
func TestLinkPagesWork(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		e := setup(t, db, nil)
		a := e.register(t)
		token := linkToken(t, e.mp.MessageTo(a.email, subjectVerify), "https://app.example.com/verify-email")

		wantPage(t, "open the verification link", e.page(t, DefaultVerifyPath+"?token="+token, nil), http.StatusOK, `name="token" value="`+token+`"`, "Confirm my email")
		if u, err := e.users.Get(t.Context(), a.id); err != nil || u.EmailVerifiedAt != nil {
			t.Fatalf("opening the link confirmed the address (or failed): %+v, %v", u, err)
		}
		wantPage(t, "confirm", e.page(t, DefaultVerifyPath, url.Values{"token": {token}}), http.StatusOK, "is confirmed")
		if u, err := e.users.Get(t.Context(), a.id); err != nil || u.EmailVerifiedAt == nil {
			t.Fatalf("the address is not confirmed: %+v, %v", u, err)
		}
		wantPage(t, "confirm again", e.page(t, DefaultVerifyPath, url.Values{"token": {token}}), http.StatusGone, "already used")
		wantPage(t, "open the used link", e.page(t, DefaultVerifyPath+"?token="+token, nil), http.StatusGone, "already used")
		wantPage(t, "a link without its token", e.page(t, DefaultVerifyPath, nil), http.StatusBadRequest, "no token")
		wantPage(t, "an altered token", e.page(t, DefaultVerifyPath, url.Values{"token": {token[:60] + "AAAA"}}), http.StatusBadRequest, "not valid")

		want[AcceptedBody](t, e.call(t, "POST", ForgotPath, map[string]string{"email": a.email}, ""), http.StatusAccepted)
		token = linkToken(t, e.mp.MessageTo(a.email, subjectReset), "https://app.example.com/reset-password")
		wantPage(t, "open the reset link", e.page(t, DefaultResetPath+"?token="+token, nil), http.StatusOK, `name="new_password"`, `value="`+token+`"`)
		wantPage(t, "a common password", e.page(t, DefaultResetPath, url.Values{"token": {token}, "new_password": {"password"}}),
			http.StatusUnprocessableEntity, `name="new_password"`, `value="`+token+`"`, "The new password is one of the most common passwords; choose another.<")
		wantPage(t, "reset", e.page(t, DefaultResetPath, url.Values{"token": {token}, "new_password": {newPassword}}), http.StatusOK, "password was changed")
		if r, _ := e.login(t, a.email, newPassword); r.status != http.StatusOK {
			t.Fatalf("login with the new password: %d %s", r.status, r.body)
		}
		wantPage(t, "reset again", e.page(t, DefaultResetPath, url.Values{"token": {token}, "new_password": {"yet another long passphrase"}}), http.StatusGone, "already used")
		// A spent or altered link says so when opened, before any password is typed.
		for what, tok := range map[string]string{"open the used reset link": token, "open an altered reset link": token[:60] + "AAAA"} {
			r := e.page(t, DefaultResetPath+"?token="+tok, nil)
			if r.status != http.StatusGone && r.status != http.StatusBadRequest || strings.Contains(string(r.body), `name="new_password"`) {
				t.Errorf("%s: %d, want 410 or 400 and no password field:\n%s", what, r.status, r.body)
			}
		}
	})
}

// TestLinkPagesRateLimited: a page refused by AUTH_TOKEN_IP_LIMIT says how long to wait, in
// its text and in Retry-After.
func TestLinkPagesRateLimited(t *testing.T) {
	t.Parallel()
	db := databasetest.New(t, database.SQLite)
	e := setup(t, db, func(s *Settings) { s.TokenIPLimit = 1 })
	for _, path := range []string{DefaultVerifyPath, DefaultResetPath} {
		e.page(t, path, url.Values{"token": {"spent-on-the-limit"}, "new_password": {newPassword}})
		r := e.page(t, path, url.Values{"token": {"x"}, "new_password": {newPassword}})
		wantPage(t, path, r, http.StatusTooManyRequests, "Too many attempts. Try again in ")
		if secs, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || secs < 1 {
			t.Errorf("%s: Retry-After %q, want the seconds to wait", path, r.header.Get("Retry-After"))
		}
	}
}

// TestLinkPagesLeftToFrontEnd: a page named by AUTH_VERIFY_EMAIL_URL or
// AUTH_RESET_PASSWORD_URL belongs to the front end, so the app serves neither path.
func TestLinkPagesLeftToFrontEnd(t *testing.T) {
	t.Parallel()
	db := databasetest.New(t, database.SQLite)
	e := setup(t, db, func(s *Settings) {
		s.VerifyURL = "https://front.example.com/confirm"
		s.ResetURL = "https://front.example.com/new-password"
	})
	for _, path := range []string{DefaultVerifyPath + "?token=x", DefaultResetPath + "?token=x"} {
		if r := e.page(t, path, nil); r.status != http.StatusNotFound {
			t.Errorf("GET %s = %d, want 404", path, r.status)
		}
	}
}
