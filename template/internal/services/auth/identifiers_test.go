package auth

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/aegisgo/aegis/template/internal/components/database"
	"github.com/aegisgo/aegis/template/internal/components/database/databasetest"
)

// TestHostileIdentifiers: emails, usernames and full names that would look
// like another account's in the users panel are normalised to it (NFKC:
// full-width forms) or refused (invisible and bidi control characters,
// letters of two scripts in one part of an address).
func TestHostileIdentifiers(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		check func(string) (string, error)
		in    string
		want  string // "" means refused with a *ValidationError
	}{
		{"email zero-width space", normalizeEmail, "ada\u200b@example.com", ""},
		{"email zero-width joiner", normalizeEmail, "a\u200dda@example.com", ""},
		{"email word joiner", normalizeEmail, "ada\u2060@example.com", ""},
		{"email BOM", normalizeEmail, "\ufeffada@example.com", ""},
		{"email soft hyphen", normalizeEmail, "ad\u00ada@example.com", ""},
		{"email right-to-left override", normalizeEmail, "ada@example.com\u202e", ""},
		{"email left-to-right mark", normalizeEmail, "ada\u200e@example.com", ""},
		{"email Cyrillic a in Latin local part", normalizeEmail, "\u0430da@example.com", ""},
		{"email Cyrillic a in Latin domain", normalizeEmail, "ada@ex\u0430mple.com", ""},
		{"email Greek omicron in Latin domain", normalizeEmail, "ada@g\u03bfogle.com", ""},
		{"email full-width", normalizeEmail, "\uff41\uff44\uff41@example.com", "ada@example.com"},
		{"email full-width at and dot", normalizeEmail, "ada\uff20example\uff0ecom", "ada@example.com"},
		{"email mathematical bold", normalizeEmail, "\U0001d41a\U0001d41d\U0001d41a@example.com", "ada@example.com"},
		{"email all Cyrillic", normalizeEmail, "\u0438\u0432\u0430\u043d@\u043f\u0440\u0438\u043c\u0435\u0440.\u0440\u0444", "\u0438\u0432\u0430\u043d@\u043f\u0440\u0438\u043c\u0435\u0440.\u0440\u0444"},
		{"email Japanese", normalizeEmail, "\u5c71\u7530\u305f\u308d\u3046@example.jp", "\u5c71\u7530\u305f\u308d\u3046@example.jp"},
		{"email plain", normalizeEmail, "Ada.Lovelace+x@Example.com", "ada.lovelace+x@example.com"},
		{"username full-width", checkUsername, "\uff41\uff44\uff41", "ada"},
		{"username zero-width", checkUsername, "ad\u200ba", ""},
		{"full name right-to-left override", checkFullName, "Ada \u202eecalevoL", ""},
		{"full name isolate", checkFullName, "Ada \u2067Lovelace\u2069", ""},
		{"full name zero-width space", checkFullName, "Ada\u200bLovelace", ""},
		{"full name soft hyphen", checkFullName, "Ada Love\u00adlace", ""},
		{"full name Hangul filler", checkFullName, "Ada\u3164", ""},
		{"full name full-width", checkFullName, "\uff21\uff44\uff41 Lovelace", "Ada Lovelace"},
		{"full name accents kept", checkFullName, "Zo\u00eb \u00d1\u00fa\u00f1ez \u5c71\u7530", "Zo\u00eb \u00d1\u00fa\u00f1ez \u5c71\u7530"},
		{"full name decomposed is composed", checkFullName, "Zoe\u0308", "Zo\u00eb"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := c.check(c.in)
			var ve *ValidationError
			switch {
			case c.want == "" && !errors.As(err, &ve):
				t.Fatalf("%+q accepted as %+q (err %v), want a validation error", c.in, got, err)
			case c.want != "" && (err != nil || got != c.want):
				t.Fatalf("%+q = %+q, %v; want %+q", c.in, got, err, c.want)
			}
		})
	}
}

// TestUsernameRuleMessage: a username refused for its characters is told the rule as it is
// (ASCII letters only), not "letters", which "çarol" or "山田" would read as allowing them.
func TestUsernameRuleMessage(t *testing.T) {
	t.Parallel()
	for _, in := range []string{"\u00e7arol", "\u5c71\u7530\u592a", "_ada", "ada!"} {
		_, err := checkUsername(in)
		var ve *ValidationError
		if !errors.As(err, &ve) || !strings.Contains(err.Error(), "only the letters a-z and A-Z (no accents), digits") {
			t.Errorf("checkUsername(%+q) = %v, want the rule naming a-z and A-Z", in, err)
		}
	}
}

// TestLookAlikeRegistration: through the API, a look-alike of an existing
// account is the same account (409) or refused (422), never a second one;
// and logging in with the full-width form finds the account.
func TestLookAlikeRegistration(t *testing.T) {
	t.Parallel()
	databasetest.Engines(t, func(t *testing.T, db *database.DB) {
		f := setup(t, db, nil)
		expect[UserBody](t, f.do(t, req{method: "POST", path: "/api/v1/auth/register",
			body: map[string]string{"email": "ada@example.com", "username": "ada", "password": goodPassword}}), http.StatusCreated)
		for i, c := range []struct {
			email, username string
			status          int
		}{
			{"\uff41\uff44\uff41@example.com", "ada2", http.StatusConflict},
			{"ada@example.com", "\uff41\uff44\uff41", http.StatusConflict},
			{"ada\u200b@example.com", "ada3", http.StatusUnprocessableEntity},
			{"\u0430da@example.com", "ada4", http.StatusUnprocessableEntity},
			{"ada@ex\u0430mple.com", "ada5", http.StatusUnprocessableEntity},
			{"ad\u00ada@example.com", "ada6", http.StatusUnprocessableEntity},
		} {
			rec := f.do(t, req{method: "POST", path: "/api/v1/auth/register",
				body: map[string]string{"email": c.email, "username": c.username, "password": goodPassword}})
			if rec.Code != c.status {
				t.Errorf("case %d (%+q, %+q): status %d, want %d; %s", i, c.email, c.username, rec.Code, c.status, rec.Body)
			}
		}
		f.login(t, account{email: "\uff21\uff24\uff21@example.com", password: goodPassword})
		if res, _ := f.users.List(t.Context(), ListUsersParams{}); res.Total != 1 {
			t.Fatalf("%d accounts, want 1", res.Total)
		}
	})
}
