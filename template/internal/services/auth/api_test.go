package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/uptrace/bun"

	"github.com/aegisgo/aegis/template/internal/components/database"
	"github.com/aegisgo/aegis/template/internal/components/database/databasetest"
)

func TestRegisterLoginMe(t *testing.T) {
	t.Parallel()
	databasetest.Engines(t, func(t *testing.T, db *database.DB) {
		f := setup(t, db, nil)
		rec := f.do(t, req{method: "POST", path: "/api/v1/auth/register",
			body: `{"email":"Ada@Example.com","username":"Ada.L","password":"analytical engine","full_name":"Ada Lovelace"}`})
		if strings.Contains(rec.Body.String(), "password") || strings.Contains(rec.Body.String(), "argon2") {
			t.Fatalf("register answer shows the password or its hash: %s", rec.Body)
		}
		u := expect[UserBody](t, rec, http.StatusCreated)
		if u.ID == 0 || u.Email != "ada@example.com" || u.Username != "Ada.L" || u.FullName != "Ada Lovelace" ||
			u.Role != RoleUser || !u.Active || u.CreatedAt.IsZero() || u.UpdatedAt.IsZero() {
			t.Fatalf("registered user = %+v", u)
		}

		for _, body := range []string{
			`{"email":"ada@example.com","password":"analytical engine"}`,
			`{"email":"ADA@EXAMPLE.COM","password":"analytical engine"}`,
			`{"username":"Ada.L","password":"analytical engine"}`,
			`{"username":"ada.l","password":"analytical engine"}`,
			`{"login":"Ada.L","password":"analytical engine"}`,
			`{"login":"ada@example.com","password":"analytical engine"}`,
		} {
			rec := f.do(t, req{method: "POST", path: "/api/v1/auth/login", body: body})
			tok := expect[TokenBody](t, rec, http.StatusOK)
			if tok.AccessToken == "" || tok.RefreshToken == "" || tok.TokenType != "bearer" || tok.ExpiresIn != int(DefaultAccessTTL/time.Second) {
				t.Fatalf("login %s = %+v", body, tok)
			}
			if cc := rec.Header().Get("Cache-Control"); cc != "no-store" {
				t.Errorf("login Cache-Control = %q, want no-store", cc)
			}
			me := expect[UserBody](t, f.do(t, req{method: "GET", path: "/api/v1/auth/me", token: tok.AccessToken}), http.StatusOK)
			if me.ID != u.ID || me.Email != u.Email {
				t.Fatalf("me = %+v, want %+v", me, u)
			}
		}
		// The Authorization scheme is case-insensitive.
		tok := f.login(t, account{email: "ada@example.com", password: "analytical engine"})
		rec = f.do(t, req{method: "GET", path: "/api/v1/auth/me", header: http.Header{"Authorization": {"bearer " + tok.AccessToken}}})
		expect[UserBody](t, rec, http.StatusOK)
	})
}

// TestRegisterBadInput covers every kind of bad input the spec lists; each
// gets its status and a clean problem body.
func TestRegisterBadInput(t *testing.T) {
	t.Parallel()
	long := func(n int) string { return strings.Repeat("a", n) }
	cases := []struct {
		name   string
		body   string
		status int
		field  string // expected in the problem's detail or errors
	}{
		{"malformed json", `{"email": "a@example.com",`, 400, ""},
		{"not json", `email=a@example.com`, 400, ""},
		{"json array", `[1,2,3]`, 422, ""},
		{"empty body", ``, 400, ""},
		{"missing email", `{"username":"bob","password":"` + goodPassword + `"}`, 422, "email"},
		{"missing username", `{"email":"bob@example.com","password":"` + goodPassword + `"}`, 422, "username"},
		{"missing password", `{"email":"bob@example.com","username":"bob"}`, 422, "password"},
		{"wrong type", `{"email":42,"username":"bob","password":"` + goodPassword + `"}`, 422, "email"},
		{"null email", `{"email":null,"username":"bob","password":"` + goodPassword + `"}`, 422, "email"},
		{"email too long", `{"email":"` + long(250) + `@example.com","username":"bob","password":"` + goodPassword + `"}`, 422, "email"},
		{"username too long", `{"email":"bob@example.com","username":"` + long(33) + `","password":"` + goodPassword + `"}`, 422, "username"},
		{"username too short", `{"email":"bob@example.com","username":"bo","password":"` + goodPassword + `"}`, 422, "username"},
		{"full name too long", `{"email":"bob@example.com","username":"bob","password":"` + goodPassword + `","full_name":"` + long(101) + `"}`, 422, "full_name"},
		{"password too long", `{"email":"bob@example.com","username":"bob","password":"` + long(129) + `"}`, 422, "password"},
		{"email without at", `{"email":"bob.example.com","username":"bob","password":"` + goodPassword + `"}`, 422, "email"},
		{"email without domain dot", `{"email":"bob@localhost","username":"bob","password":"` + goodPassword + `"}`, 422, "email"},
		{"email with name", `{"email":"Bob <bob@example.com>","username":"bob","password":"` + goodPassword + `"}`, 422, "email"},
		{"email with space", `{"email":"bob @example.com","username":"bob","password":"` + goodPassword + `"}`, 422, "email"},
		{"email two ats", `{"email":"bob@@example.com","username":"bob","password":"` + goodPassword + `"}`, 422, "email"},
		{"email sql", `{"email":"x' OR '1'='1","username":"bob","password":"` + goodPassword + `"}`, 422, "email"},
		{"email newline", `{"email":"bob@example.com\nBcc: eve@example.com","username":"bob","password":"` + goodPassword + `"}`, 422, "email"},
		{"short password", `{"email":"bob@example.com","username":"bob","password":"Ab1!xyz"}`, 422, "password"},
		{"common password", `{"email":"bob@example.com","username":"bob","password":"password123"}`, 422, "password"},
		{"common password any case", `{"email":"bob@example.com","username":"bob","password":"QWERTYUIOP"}`, 422, "password"},
		{"password is username", `{"email":"bob@example.com","username":"bobbybobby","password":"BobbyBobby"}`, 422, "password"},
		{"username sql", `{"email":"bob@example.com","username":"bob'; DROP TABLE auth_users;--","password":"` + goodPassword + `"}`, 422, "username"},
		{"username unicode", `{"email":"bob@example.com","username":"böb","password":"` + goodPassword + `"}`, 422, "username"},
		{"username with at", `{"email":"bob@example.com","username":"bob@x","password":"` + goodPassword + `"}`, 422, "username"},
		{"full name control char", `{"email":"bob@example.com","username":"bob","password":"` + goodPassword + `","full_name":"Bob\u0000Smith"}`, 422, "full_name"},
		{"full name bidi control", `{"email":"bob@example.com","username":"bob","password":"` + goodPassword + `","full_name":"Bob\u200eSmith\u0007"}`, 422, "full_name"},
		{"password NUL", `{"email":"bob@example.com","username":"bob","password":"abc\u0000defghij"}`, 422, "password"},
		{"password only spaces", `{"email":"bob@example.com","username":"bob","password":"          "}`, 422, "password"},
		{"password only whitespace", `{"email":"bob@example.com","username":"bob","password":" \t\u00a0\u3000\n     "}`, 422, "password"},
		// The JSON decoder turns invalid UTF-8 and lone surrogates into U+FFFD: the password
		// would not be the one typed, and different ones would be the same. Bytes that are not
		// UTF-8 make the body not JSON (the backend's 400, at the field); an escaped lone
		// surrogate is JSON, and the password's rules refuse it.
		{"password invalid UTF-8", "{\"email\":\"bob@example.com\",\"username\":\"bob\",\"password\":\"abcdefgh\xff\xfeijkl\"}", 400, "password"},
		{"password lone surrogate", `{"email":"bob@example.com","username":"bob","password":"abcdefgh\ud800ijkl"}`, 422, "password"},
	}
	databasetest.Engines(t, func(t *testing.T, db *database.DB) {
		f := setup(t, db, nil)
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				rec := f.do(t, req{method: "POST", path: "/api/v1/auth/register", body: c.body})
				p := problem(t, rec, c.status)
				if c.field != "" {
					text := p.Detail
					for _, e := range p.Errors {
						text += " " + e.Location + " " + e.Message
					}
					if !strings.Contains(text, c.field) {
						t.Errorf("problem %+v does not name %q", p, c.field)
					}
				}
				if strings.Contains(p.Detail, goodPassword) {
					t.Errorf("problem repeats the password: %s", rec.Body)
				}
			})
		}
		// Nothing was stored.
		res, err := f.users.List(t.Context(), ListUsersParams{})
		if err != nil || res.Total != 0 {
			t.Fatalf("after bad registrations: %d users, %v", res.Total, err)
		}
	})
}

// TestEveryBadFieldNamed: a registration (and an update) with several bad
// fields is refused once, naming each of them, not one a try.
func TestEveryBadFieldNamed(t *testing.T) {
	t.Parallel()
	databasetest.Engines(t, func(t *testing.T, db *database.DB) {
		f := setup(t, db, nil)
		rec := f.do(t, req{method: "POST", path: "/api/v1/auth/register",
			body: `{"email":"bob.example.com","username":"bo","password":"Ab1!xyz","full_name":"Bob\u0007"}`})
		p := problem(t, rec, http.StatusUnprocessableEntity)
		var locs []string
		for _, e := range p.Errors {
			locs = append(locs, e.Location)
		}
		want := []string{"body.email", "body.username", "body.full_name", "body.password"}
		if !slices.Equal(locs, want) {
			t.Errorf("errors at %v, want %v", locs, want)
		}
		for _, field := range []string{"email is not a valid", "username must be", "full_name must not", "password must be at least"} {
			if !strings.Contains(p.Detail, field) {
				t.Errorf("detail %q does not name %q", p.Detail, field)
			}
		}
		if strings.Contains(p.Detail, "\n") {
			t.Errorf("detail is not one line: %q", p.Detail)
		}

		u, err := f.users.Create(t.Context(), CreateUserParams{Email: "ann@example.com", Username: "ann", Password: goodPassword})
		if err != nil {
			t.Fatal(err)
		}
		bad, short, role := "ann@", "a", "root"
		_, err = f.users.Update(t.Context(), u.ID, UpdateUserParams{Email: &bad, Username: &short, Role: &role})
		var fields []string
		for _, ve := range invalidFields(err) {
			fields = append(fields, ve.Field)
		}
		if !slices.Equal(fields, []string{"email", "username", "role"}) {
			t.Fatalf("update: %v, fields %v", err, fields)
		}
		var ve *ValidationError
		if !errors.As(err, &ve) || ve.Field != "email" {
			t.Fatalf("errors.As found %v, want the email's error first", ve)
		}
		if got, _ := f.users.Get(t.Context(), u.ID); got.Email != "ann@example.com" || got.Username != "ann" {
			t.Fatalf("a refused update changed the account: %+v", got)
		}
	})
}

// TestRegisterAcceptsUnicodeAndMetacharacters stores and returns such input
// verbatim where it is allowed.
func TestRegisterAcceptsUnicodeAndMetacharacters(t *testing.T) {
	t.Parallel()
	databasetest.Engines(t, func(t *testing.T, db *database.DB) {
		f := setup(t, db, nil)
		cases := []struct{ email, username, password, fullName string }{
			{"o'brien@example.com", "obrien", "p@ss'; DROP TABLE auth_users;--", `Robert'); DROP TABLE auth_users;-- "Bobby" \ % _`},
			{"zoe@example.com", "zoe_99", "пароль-надёжный-🔐", "Zoë Ñúñez 山田太郎 🚀"},
			{"percent%sign@example.com", "pct-user", "\\\\%%__''\"\"--;;", "100% _underscore_ \\backslash"},
		}
		for _, c := range cases {
			u := expect[UserBody](t, f.do(t, req{method: "POST", path: "/api/v1/auth/register",
				body: map[string]string{"email": c.email, "username": c.username, "password": c.password, "full_name": c.fullName}}), http.StatusCreated)
			if u.Email != c.email || u.Username != c.username || u.FullName != c.fullName {
				t.Fatalf("stored %+v, want %+v", u, c)
			}
			tok := expect[TokenBody](t, f.do(t, req{method: "POST", path: "/api/v1/auth/login",
				body: map[string]string{"login": c.username, "password": c.password}}), http.StatusOK)
			me := expect[UserBody](t, f.do(t, req{method: "GET", path: "/api/v1/auth/me", token: tok.AccessToken}), http.StatusOK)
			if me.FullName != c.fullName {
				t.Fatalf("me.full_name = %q, want %q", me.FullName, c.fullName)
			}
		}
		// A login that looks like SQL finds nobody.
		for _, login := range []string{"' OR '1'='1", "x' OR 1=1 --", `obrien" OR ""="`, "%", "_", "*"} {
			problem(t, f.do(t, req{method: "POST", path: "/api/v1/auth/login",
				body: map[string]string{"login": login, "password": "' OR '1'='1"}}), http.StatusUnauthorized)
		}
	})
}

func TestBodyTooLarge(t *testing.T) {
	t.Parallel()
	databasetest.Engines(t, func(t *testing.T, db *database.DB) {
		f := setup(t, db, nil)
		big := `{"email":"a@example.com","username":"abc","password":"` + strings.Repeat("x", testMaxBody) + `"}`
		for _, path := range []string{"/api/v1/auth/register", "/api/v1/auth/login", "/api/v1/auth/refresh"} {
			problem(t, f.do(t, req{method: "POST", path: path, body: big}), http.StatusRequestEntityTooLarge)
		}
	})
}

func TestDuplicateRegistration(t *testing.T) {
	t.Parallel()
	databasetest.Engines(t, func(t *testing.T, db *database.DB) {
		f := setup(t, db, nil)
		f.do(t, req{method: "POST", path: "/api/v1/auth/register",
			body: map[string]string{"email": "dup@example.com", "username": "dup", "password": goodPassword}})
		for _, c := range []struct{ email, username, want string }{
			{"DUP@example.com", "other", "email"},
			{"other@example.com", "DUP", "username"},
		} {
			p := problem(t, f.do(t, req{method: "POST", path: "/api/v1/auth/register",
				body: map[string]string{"email": c.email, "username": c.username, "password": goodPassword}}), http.StatusConflict)
			if !strings.Contains(p.Detail, c.want) {
				t.Errorf("conflict detail %q does not name %s", p.Detail, c.want)
			}
		}
	})
}

// TestConcurrentRegistration: racing sign-ups with one email give exactly one
// 201; the rest 409.
func TestConcurrentRegistration(t *testing.T) {
	t.Parallel()
	databasetest.Engines(t, func(t *testing.T, db *database.DB) {
		f := setup(t, db, nil)
		const n = 8
		codes := make([]int, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Go(func() {
				<-start
				rec := f.do(t, req{method: "POST", path: "/api/v1/auth/register",
					body: map[string]string{"email": "race@example.com", "username": fmt.Sprintf("racer%d", i), "password": goodPassword}})
				codes[i] = rec.Code
				if rec.Code != http.StatusCreated {
					checkNoLeaks(t, rec.Body.String())
				}
			})
		}
		close(start)
		wg.Wait()
		created, conflicts := 0, 0
		for _, c := range codes {
			switch c {
			case http.StatusCreated:
				created++
			case http.StatusConflict:
				conflicts++
			}
		}
		if created != 1 || conflicts != n-1 {
			t.Fatalf("statuses %v: want one 201 and %d 409", codes, n-1)
		}
	})
}

func TestLoginFailures(t *testing.T) {
	t.Parallel()
	databasetest.Engines(t, func(t *testing.T, db *database.DB) {
		f := setup(t, db, nil)
		a := f.newAccount(t)
		wrong := problem(t, f.do(t, req{method: "POST", path: "/api/v1/auth/login",
			body: map[string]string{"email": a.email, "password": "not the password"}}), http.StatusUnauthorized)
		unknown := problem(t, f.do(t, req{method: "POST", path: "/api/v1/auth/login",
			body: map[string]string{"email": "nobody@example.com", "password": "not the password"}}), http.StatusUnauthorized)
		if wrong.Detail != unknown.Detail || wrong.Title != unknown.Title {
			t.Errorf("wrong password %+v differs from unknown user %+v", wrong, unknown)
		}
		for _, c := range []struct {
			body   string
			status int
		}{
			{`{"password":"x"}`, 422},
			{`{"email":"","password":"x"}`, 422},
			{`{"email":"` + a.email + `"}`, 422},
			{`{"email":"` + a.email + `","password":""}`, 422},
			{`{"email":"` + a.email + `",`, 400},
			{`{"email":"` + strings.Repeat("a", 300) + `","password":"x"}`, 422},
			{`{"email":"` + a.email + `","password":"` + strings.Repeat("p", 5000) + `"}`, 401},
		} {
			problem(t, f.do(t, req{method: "POST", path: "/api/v1/auth/login", body: c.body}), c.status)
		}
		// A deactivated account cannot log in, with the same answer.
		if _, err := f.users.Deactivate(t.Context(), a.id); err != nil {
			t.Fatal(err)
		}
		p := problem(t, f.do(t, req{method: "POST", path: "/api/v1/auth/login",
			body: map[string]string{"email": a.email, "password": a.password}}), http.StatusUnauthorized)
		if p.Detail != unknown.Detail {
			t.Errorf("deactivated login detail %q, want %q", p.Detail, unknown.Detail)
		}
	})
}

func TestLoginRateLimit(t *testing.T) {
	t.Parallel()
	databasetest.Engines(t, func(t *testing.T, db *database.DB) {
		f := setup(t, db, func(s *Settings) {
			s.LoginIPLimit = 3
			s.LoginIPWindow = time.Minute
			s.LoginAccountLimit = 2
			s.LoginAccountWindow = time.Hour
		})
		a := f.newAccount(t)
		b := f.newAccount(t)
		login := func(remote, email, password string) *httptest.ResponseRecorder {
			return f.do(t, req{method: "POST", path: "/api/v1/auth/login", remote: remote,
				body: map[string]string{"email": email, "password": password}})
		}
		// Per IP: three attempts, then 429 whatever the credentials.
		for range 3 {
			expect[TokenBody](t, login("198.51.100.1:5000", a.email, a.password), http.StatusOK)
		}
		rec := login("198.51.100.1:5001", a.email, a.password)
		if p := problem(t, rec, http.StatusTooManyRequests); !strings.HasPrefix(p.Detail, "Too many password attempts; retry after ") {
			t.Errorf("detail %q, want the password limit's", p.Detail)
		}
		if ra := rec.Header().Get("Retry-After"); ra == "" || ra == "0" {
			t.Errorf("Retry-After = %q", ra)
		}
		// Another IP is not affected.
		expect[TokenBody](t, login("198.51.100.2:5000", a.email, a.password), http.StatusOK)

		// Per account: two failures (from different IPs), then 429 even with the
		// right password; other accounts are not affected.
		problem(t, login("203.0.113.1:1", b.email, "wrong password 1"), http.StatusUnauthorized)
		problem(t, login("203.0.113.2:1", b.username, "wrong password 2"), http.StatusUnauthorized)
		rec = login("203.0.113.3:1", b.email, b.password)
		problem(t, rec, http.StatusTooManyRequests)
		if rec.Header().Get("Retry-After") == "" {
			t.Error("no Retry-After on account limit")
		}
		expect[TokenBody](t, login("203.0.113.4:1", a.email, a.password), http.StatusOK)
		// Unknown accounts are limited the same way (no enumeration through 429).
		problem(t, login("203.0.113.5:1", "ghost@example.com", "x1"), http.StatusUnauthorized)
		problem(t, login("203.0.113.6:1", "ghost@example.com", "x2"), http.StatusUnauthorized)
		problem(t, login("203.0.113.7:1", "ghost@example.com", "x3"), http.StatusTooManyRequests)
	})
}

func TestRefreshRotation(t *testing.T) {
	t.Parallel()
	databasetest.Engines(t, func(t *testing.T, db *database.DB) {
		f := setup(t, db, nil)
		a := f.newAccount(t)
		first := f.login(t, a)
		refresh := func(token string) *httptest.ResponseRecorder {
			return f.do(t, req{method: "POST", path: "/api/v1/auth/refresh", body: map[string]string{"refresh_token": token}})
		}
		second := expect[TokenBody](t, refresh(first.RefreshToken), http.StatusOK)
		if second.RefreshToken == first.RefreshToken || second.AccessToken == "" {
			t.Fatalf("refresh did not rotate: %+v", second)
		}
		expect[UserBody](t, f.do(t, req{method: "GET", path: "/api/v1/auth/me", token: second.AccessToken}), http.StatusOK)
		third := expect[TokenBody](t, refresh(second.RefreshToken), http.StatusOK)

		// Reusing an old token revokes the whole family, the newest token too.
		p := problem(t, refresh(first.RefreshToken), http.StatusUnauthorized)
		if !strings.Contains(p.Detail, "already used") {
			t.Errorf("reuse detail = %q", p.Detail)
		}
		problem(t, refresh(third.RefreshToken), http.StatusUnauthorized)

		// Another session of the same user is untouched.
		other := f.login(t, a)
		expect[TokenBody](t, refresh(other.RefreshToken), http.StatusOK)

		for _, bad := range []string{"", "garbage", strings.Repeat("A", 43), strings.Repeat("x", 5000), "' OR 1=1 --"} {
			rec := refresh(bad)
			if rec.Code != http.StatusUnauthorized && rec.Code != http.StatusUnprocessableEntity {
				t.Errorf("refresh %.20q: status %d", bad, rec.Code)
			}
			problem(t, rec, rec.Code)
		}
		problem(t, f.do(t, req{method: "POST", path: "/api/v1/auth/refresh", body: `{`}), http.StatusBadRequest)
	})
}

func TestRefreshExpired(t *testing.T) {
	t.Parallel()
	databasetest.Engines(t, func(t *testing.T, db *database.DB) {
		f := setup(t, db, func(s *Settings) { s.RefreshTTL = time.Millisecond })
		a := f.newAccount(t)
		tok := f.login(t, a)
		time.Sleep(5 * time.Millisecond)
		problem(t, f.do(t, req{method: "POST", path: "/api/v1/auth/refresh", body: map[string]string{"refresh_token": tok.RefreshToken}}), http.StatusUnauthorized)
	})
}

// TestRefreshSessionMaxAge: refreshing gave each new refresh token a fresh
// AUTH_REFRESH_TTL, so a session refreshed regularly never ended. Every token
// of a family keeps the login's time, no token outlives the session, and a
// refresh past AUTH_SESSION_MAX_AGE gets the 401 of an expired token, also
// for a token whose own expiry is later (one issued before the cap).
func TestRefreshSessionMaxAge(t *testing.T) {
	t.Parallel()
	databasetest.Engines(t, func(t *testing.T, db *database.DB) {
		const maxAge = time.Hour
		f := setup(t, db, func(s *Settings) { s.SessionMaxAge = maxAge })
		refresh := func(token string) *httptest.ResponseRecorder {
			return f.do(t, req{method: "POST", path: "/api/v1/auth/refresh", body: map[string]string{"refresh_token": token}})
		}
		stored := func(token string) *refreshToken {
			rt, err := findRefreshToken(t.Context(), db.Bun(), token)
			if err != nil {
				t.Fatal(err)
			}
			return rt
		}
		login := f.login(t, f.newAccount(t))
		first := stored(login.RefreshToken)
		if end := first.SessionStartedAt.Add(maxAge); first.ExpiresAt.After(end) {
			t.Errorf("refresh token expires %v, after the session's end %v", first.ExpiresAt, end)
		}
		tok := login.RefreshToken
		for range 2 {
			tok = expect[TokenBody](t, refresh(tok), http.StatusOK).RefreshToken
		}
		last := stored(tok)
		if !last.SessionStartedAt.Equal(first.SessionStartedAt) {
			t.Errorf("refreshed token's session started %v, want the login's %v", last.SessionStartedAt, first.SessionStartedAt)
		}

		// The session began more than AUTH_SESSION_MAX_AGE ago; the token itself
		// is still within AUTH_REFRESH_TTL.
		if _, err := db.Bun().NewUpdate().Model((*refreshToken)(nil)).
			Set("session_started_at = ?", now().Add(-maxAge-time.Minute)).
			Set("expires_at = ?", now().Add(DefaultRefreshTTL)).
			Where("family_id = ?", last.FamilyID).Exec(t.Context()); err != nil {
			t.Fatal(err)
		}
		problem(t, refresh(tok), http.StatusUnauthorized)
		if live, err := f.auth.sessionLiveInDB(t.Context(), last.FamilyID, last.UserID); err != nil || live {
			t.Errorf("session past AUTH_SESSION_MAX_AGE: live %v, %v; want ended", live, err)
		}
	})
}

// TestConcurrentRefresh: the same token presented twice at once is used at
// most once.
func TestConcurrentRefresh(t *testing.T) {
	t.Parallel()
	databasetest.Engines(t, func(t *testing.T, db *database.DB) {
		f := setup(t, db, nil)
		tok := f.login(t, f.newAccount(t))
		const n = 4
		codes := make([]int, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				codes[i] = f.do(t, req{method: "POST", path: "/api/v1/auth/refresh", body: map[string]string{"refresh_token": tok.RefreshToken}}).Code
			})
		}
		wg.Wait()
		ok := 0
		for _, c := range codes {
			switch c {
			case http.StatusOK:
				ok++
			case http.StatusUnauthorized:
			default:
				t.Errorf("status %d", c)
			}
		}
		if ok > 1 {
			t.Fatalf("statuses %v: a refresh token worked more than once", codes)
		}
	})
}

// TestRefreshReuseGrace: with AUTH_REFRESH_REUSE_GRACE, a client refreshing twice at once
// (two browser tabs) or again just after gets a pair for each request and keeps its session;
// the same token presented after the grace still ends the session as stolen.
func TestRefreshReuseGrace(t *testing.T) {
	t.Parallel()
	databasetest.Engines(t, func(t *testing.T, db *database.DB) {
		refresh := func(f *fixture, token string) *httptest.ResponseRecorder {
			return f.do(t, req{method: "POST", path: "/api/v1/auth/refresh", body: map[string]string{"refresh_token": token}})
		}

		f := setup(t, db, func(s *Settings) { s.RefreshReuseGrace = time.Minute })
		tok := f.login(t, f.newAccount(t))
		const n = 4
		pairs := make([]*httptest.ResponseRecorder, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() { pairs[i] = refresh(f, tok.RefreshToken) })
		}
		wg.Wait()
		seen := map[string]bool{}
		for _, rec := range pairs {
			p := expect[TokenBody](t, rec, http.StatusOK)
			if seen[p.RefreshToken] {
				t.Fatal("two racing refreshes got the same refresh token")
			}
			seen[p.RefreshToken] = true
		}
		for token := range seen { // the session lives on: every new token works, once
			expect[TokenBody](t, refresh(f, token), http.StatusOK)
		}

		short := setup(t, db, func(s *Settings) { s.RefreshReuseGrace = 50 * time.Millisecond })
		short.seq.Store(100) // its own accounts on the same database
		first := short.login(t, short.newAccount(t))
		second := expect[TokenBody](t, refresh(short, first.RefreshToken), http.StatusOK)
		time.Sleep(100 * time.Millisecond)
		if p := problem(t, refresh(short, first.RefreshToken), http.StatusUnauthorized); !strings.Contains(p.Detail, "already used") {
			t.Errorf("reuse after the grace: %q", p.Detail)
		}
		problem(t, refresh(short, second.RefreshToken), http.StatusUnauthorized)
	})
}

func TestLogout(t *testing.T) {
	t.Parallel()
	databasetest.Engines(t, func(t *testing.T, db *database.DB) {
		f := setup(t, db, nil)
		a := f.newAccount(t)
		tok := f.login(t, a)
		keep := f.login(t, a)
		expect[struct{}](t, f.do(t, req{method: "POST", path: "/api/v1/auth/logout", body: map[string]string{"refresh_token": tok.RefreshToken}}), http.StatusNoContent)
		problem(t, f.do(t, req{method: "POST", path: "/api/v1/auth/refresh", body: map[string]string{"refresh_token": tok.RefreshToken}}), http.StatusUnauthorized)
		expect[TokenBody](t, f.do(t, req{method: "POST", path: "/api/v1/auth/refresh", body: map[string]string{"refresh_token": keep.RefreshToken}}), http.StatusOK)
		// Unknown tokens: nothing to do, same answer.
		expect[struct{}](t, f.do(t, req{method: "POST", path: "/api/v1/auth/logout", body: map[string]string{"refresh_token": "unknown"}}), http.StatusNoContent)
		problem(t, f.do(t, req{method: "POST", path: "/api/v1/auth/logout", body: `not json`}), http.StatusBadRequest)
	})
}

// TestUnauthorizedSaysWhatToDo: a refused access or refresh token is told what to do next.
func TestUnauthorizedSaysWhatToDo(t *testing.T) {
	t.Parallel()
	databasetest.Engines(t, func(t *testing.T, db *database.DB) {
		f := setup(t, db, nil)
		for _, tt := range []struct {
			name string
			r    req
			says string
		}{
			{"garbage access token", req{method: "GET", path: "/api/v1/auth/me", token: "not.a.token"}, "get a new one from POST /api/v1/auth/refresh, or log in again"},
			{"unknown refresh token", req{method: "POST", path: "/api/v1/auth/refresh", body: map[string]string{"refresh_token": "unknown"}}, "log in again (POST /api/v1/auth/login)"},
		} {
			if p := problem(t, f.do(t, tt.r), http.StatusUnauthorized); !strings.Contains(p.Detail, tt.says) {
				t.Errorf("%s: detail %q, want it to say %q", tt.name, p.Detail, tt.says)
			}
		}
	})
}

// TestLogoutWithAccessToken: without a refresh token in the body, logout ends the session of
// the access token in Authorization: its access and refresh tokens die, other sessions live;
// an invalid access token or no credentials at all get a problem saying what to send.
func TestLogoutWithAccessToken(t *testing.T) {
	t.Parallel()
	databasetest.Engines(t, func(t *testing.T, db *database.DB) {
		f := setup(t, db, nil)
		a := f.newAccount(t)
		tok := f.login(t, a)
		keep := f.login(t, a)
		for _, tt := range []struct {
			name   string
			body   any
			token  string
			want   int
			detail string
		}{
			{"no body, the access token", nil, tok.AccessToken, http.StatusNoContent, ""},
			{"again: the session is gone", nil, tok.AccessToken, http.StatusUnauthorized, `send {"refresh_token"`},
			{"garbage access token", map[string]string{}, "not.a.token", http.StatusUnauthorized, "The access token is invalid or expired"},
			{"nothing at all", nil, "", http.StatusUnprocessableEntity, `send {"refresh_token": "<refresh token>"}, or the access token as Authorization: Bearer`},
			{"empty object", map[string]string{}, "", http.StatusUnprocessableEntity, "Authorization: Bearer"},
		} {
			rec := f.do(t, req{method: "POST", path: "/api/v1/auth/logout", body: tt.body, token: tt.token})
			if tt.want == http.StatusNoContent {
				expect[struct{}](t, rec, tt.want)
				continue
			}
			if p := problem(t, rec, tt.want); !strings.Contains(p.Detail, tt.detail) || strings.Contains(p.Detail, "\n") {
				t.Errorf("%s: detail %q, want one line saying %q", tt.name, p.Detail, tt.detail)
			}
		}
		problem(t, f.do(t, req{method: "GET", path: "/api/v1/auth/me", token: tok.AccessToken}), http.StatusUnauthorized)
		problem(t, f.do(t, req{method: "POST", path: "/api/v1/auth/refresh", body: map[string]string{"refresh_token": tok.RefreshToken}}), http.StatusUnauthorized)
		expect[UserBody](t, f.do(t, req{method: "GET", path: "/api/v1/auth/me", token: keep.AccessToken}), http.StatusOK)
		expect[TokenBody](t, f.do(t, req{method: "POST", path: "/api/v1/auth/refresh", body: map[string]string{"refresh_token": keep.RefreshToken}}), http.StatusOK)
	})
}

func TestUpdateMe(t *testing.T) {
	t.Parallel()
	databasetest.Engines(t, func(t *testing.T, db *database.DB) {
		f := setup(t, db, nil)
		a := f.newAccount(t)
		b := f.newAccount(t)
		tok := f.login(t, a)
		u := expect[UserBody](t, f.do(t, req{method: "PATCH", path: "/api/v1/auth/me", token: tok.AccessToken,
			body: map[string]string{"full_name": "Ærøskøbing Ωmega"}}), http.StatusOK)
		if u.FullName != "Ærøskøbing Ωmega" || u.Email != a.email {
			t.Fatalf("updated = %+v", u)
		}
		// A new email needs the current password.
		for _, pw := range []string{"", "not the password"} {
			p := problem(t, f.do(t, req{method: "PATCH", path: "/api/v1/auth/me", token: tok.AccessToken,
				body: map[string]string{"email": "New.Address@Example.com", "current_password": pw}}), http.StatusUnprocessableEntity)
			if !strings.Contains(p.Detail, "current_password") {
				t.Errorf("email change with password %q: detail %q does not name current_password", pw, p.Detail)
			}
		}
		u = expect[UserBody](t, f.do(t, req{method: "PATCH", path: "/api/v1/auth/me", token: tok.AccessToken,
			body: map[string]string{"email": "New.Address@Example.com", "current_password": a.password}}), http.StatusOK)
		if u.Email != "new.address@example.com" || u.FullName != "Ærøskøbing Ωmega" {
			t.Fatalf("updated = %+v", u)
		}
		problem(t, f.do(t, req{method: "PATCH", path: "/api/v1/auth/me", token: tok.AccessToken,
			body: map[string]string{"email": b.email, "current_password": a.password}}), http.StatusConflict)
		problem(t, f.do(t, req{method: "PATCH", path: "/api/v1/auth/me", token: tok.AccessToken,
			body: map[string]string{"username": strings.ToUpper(b.username)}}), http.StatusConflict)
		problem(t, f.do(t, req{method: "PATCH", path: "/api/v1/auth/me", token: tok.AccessToken,
			body: map[string]string{"email": "not an email"}}), http.StatusUnprocessableEntity)
		problem(t, f.do(t, req{method: "PATCH", path: "/api/v1/auth/me", token: tok.AccessToken,
			body: map[string]string{"full_name": strings.Repeat("é", 101)}}), http.StatusUnprocessableEntity)
		// Role cannot be changed here: unknown fields are refused or ignored.
		rec := f.do(t, req{method: "PATCH", path: "/api/v1/auth/me", token: tok.AccessToken, body: map[string]string{"role": "admin"}})
		if rec.Code == http.StatusOK {
			if got := expect[UserBody](t, rec, http.StatusOK); got.Role != RoleUser {
				t.Fatalf("a user made themselves %s", got.Role)
			}
		} else {
			problem(t, rec, http.StatusUnprocessableEntity)
		}
		problem(t, f.do(t, req{method: "PATCH", path: "/api/v1/auth/me", body: map[string]string{"full_name": "x"}}), http.StatusUnauthorized)
	})
}

func TestChangePassword(t *testing.T) {
	t.Parallel()
	databasetest.Engines(t, func(t *testing.T, db *database.DB) {
		f := setup(t, db, nil)
		a := f.newAccount(t)
		mine := f.login(t, a)
		other := f.login(t, a)
		change := func(current, next string) *httptest.ResponseRecorder {
			return f.do(t, req{method: "POST", path: "/api/v1/auth/change-password", token: mine.AccessToken,
				body: map[string]string{"current_password": current, "new_password": next}})
		}
		problem(t, change("wrong", "a brand new passphrase"), http.StatusUnprocessableEntity)
		problem(t, change(a.password, "short"), http.StatusUnprocessableEntity)
		problem(t, change(a.password, "iloveyou"), http.StatusUnprocessableEntity)
		problem(t, change(a.password, a.password), http.StatusUnprocessableEntity)
		expect[struct{}](t, change(a.password, "a brand new passphrase"), http.StatusNoContent)

		// The other session is revoked, this one goes on.
		problem(t, f.do(t, req{method: "POST", path: "/api/v1/auth/refresh", body: map[string]string{"refresh_token": other.RefreshToken}}), http.StatusUnauthorized)
		expect[TokenBody](t, f.do(t, req{method: "POST", path: "/api/v1/auth/refresh", body: map[string]string{"refresh_token": mine.RefreshToken}}), http.StatusOK)
		problem(t, f.do(t, req{method: "POST", path: "/api/v1/auth/login", body: map[string]string{"email": a.email, "password": a.password}}), http.StatusUnauthorized)
		a.password = "a brand new passphrase"
		f.login(t, a)
		problem(t, f.do(t, req{method: "POST", path: "/api/v1/auth/change-password", body: map[string]string{"current_password": "x", "new_password": "y"}}), http.StatusUnauthorized)
	})
}

// TestBcryptRehash: accounts imported with bcrypt hashes log in and get an
// argon2id hash.
func TestBcryptRehash(t *testing.T) {
	t.Parallel()
	databasetest.Engines(t, func(t *testing.T, db *database.DB) {
		f := setup(t, db, nil)
		a := f.newAccount(t)
		for _, prefix := range []string{"$2a$", "$2b$"} {
			hash, err := bcrypt.GenerateFromPassword([]byte(a.password), bcrypt.MinCost)
			if err != nil {
				t.Fatal(err)
			}
			h := prefix + string(hash[4:])
			if _, err := db.Bun().NewUpdate().Model((*User)(nil)).Set("password_hash = ?", h).Where("id = ?", a.id).Exec(t.Context()); err != nil {
				t.Fatal(err)
			}
			problem(t, f.do(t, req{method: "POST", path: "/api/v1/auth/login", body: map[string]string{"email": a.email, "password": "wrong password"}}), http.StatusUnauthorized)
			f.login(t, a)
			u, err := f.users.Get(t.Context(), a.id)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(u.PasswordHash, "$argon2id$v=19$m=64,t=1,p=1$") {
				t.Fatalf("hash after login = %.30s, want argon2id", u.PasswordHash)
			}
			f.login(t, a)
		}
	})
}

// TestRehashKeepsNewerPassword: a login that upgrades an old hash writes it
// only over the hash it verified. Each case changes the password (as a reset
// does) while the login waits to store its upgrade; before, the login then
// wrote the old password back, undoing the reset.
func TestRehashKeepsNewerPassword(t *testing.T) {
	t.Parallel()
	cases := []struct{ name, prefix string }{{"bcrypt 2a", "$2a$"}, {"bcrypt 2b", "$2b$"}}
	databasetest.Engines(t, func(t *testing.T, db *database.DB) {
		f := setup(t, db, nil)
		for _, c := range cases {
			a := f.newAccount(t)
			hash, err := bcrypt.GenerateFromPassword([]byte(a.password), bcrypt.MinCost)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := db.Bun().NewUpdate().Model((*User)(nil)).Set("password_hash = ?", c.prefix+string(hash[4:])).Where("id = ?", a.id).Exec(t.Context()); err != nil {
				t.Fatal(err)
			}
			const next = "the password after the reset"
			nextHash, err := f.users.hasher.hash(next)
			if err != nil {
				t.Fatal(err)
			}
			err = whileHeld(t, db, func(ctx context.Context, tx bun.Tx) error {
				_, err := tx.NewUpdate().Model((*User)(nil)).Set("password_hash = ?", nextHash).Where("id = ?", a.id).Exec(ctx)
				return err
			}, func() error {
				_, err := f.users.VerifyPassword(t.Context(), a.email, a.password)
				return err
			})
			if err != nil {
				t.Fatalf("%s: login with the password it read: %v", c.name, err)
			}
			if _, err := f.users.VerifyPassword(t.Context(), a.email, next); err != nil {
				t.Errorf("%s: the new password no longer works: %v", c.name, err)
			}
			if _, err := f.users.VerifyPassword(t.Context(), a.email, a.password); !errors.Is(err, ErrInvalidCredentials) {
				t.Errorf("%s: the old password works again (%v)", c.name, err)
			}
		}
	})
}

func TestAdminRoutes(t *testing.T) {
	t.Parallel()
	databasetest.Engines(t, func(t *testing.T, db *database.DB) {
		f := setup(t, db, nil)
		admin, at := f.newAdmin(t)
		user := f.newAccount(t)
		ut := f.login(t, user)

		// Without a token 401, as a user 403, on every admin route.
		for _, r := range []req{
			{method: "GET", path: "/api/v1/users"},
			{method: "GET", path: fmt.Sprintf("/api/v1/users/%d", user.id)},
			{method: "PATCH", path: fmt.Sprintf("/api/v1/users/%d", user.id), body: map[string]string{"role": "admin"}},
			{method: "POST", path: fmt.Sprintf("/api/v1/users/%d/deactivate", user.id)},
			{method: "DELETE", path: fmt.Sprintf("/api/v1/users/%d", admin.id)},
		} {
			rec := f.do(t, r)
			problem(t, rec, http.StatusUnauthorized)
			if rec.Header().Get("WWW-Authenticate") == "" {
				t.Errorf("%s %s: 401 without WWW-Authenticate", r.method, r.path)
			}
			r.token = ut.AccessToken
			problem(t, f.do(t, r), http.StatusForbidden)
		}
		if u, _ := f.users.Get(t.Context(), user.id); u.Role != RoleUser {
			t.Fatal("a user promoted themselves")
		}

		// More users to page through and search.
		names := []string{"Zoë Quintana", "ZOË Upper", "Li Wei", "Ana María Pérez"}
		for i, n := range names {
			_, err := f.users.Create(t.Context(), CreateUserParams{Email: fmt.Sprintf("s%d@search.test", i), Username: fmt.Sprintf("search%d", i),
				Password: goodPassword, FullName: n, Inactive: i == 3})
			if err != nil {
				t.Fatal(err)
			}
		}
		list := func(query string) UserPage {
			return expect[UserPage](t, f.do(t, req{method: "GET", path: "/api/v1/users" + query, token: at.AccessToken}), http.StatusOK)
		}
		all := list("")
		if all.Total != 6 || len(all.Items) != 6 || all.Page != 1 || all.PerPage != DefaultPageSize {
			t.Fatalf("list = %+v", all)
		}
		p2 := list("?page=2&per_page=4")
		if p2.Total != 6 || len(p2.Items) != 2 || p2.Items[0].ID != all.Items[4].ID {
			t.Fatalf("page 2 = %+v", p2)
		}
		if p := list("?page=9&per_page=4"); len(p.Items) != 0 || p.Total != 6 {
			t.Fatalf("page 9 = %+v", p)
		}
		for q, want := range map[string]int{
			"?q=zo%C3%AB":            2, // zoë, case-insensitive beyond ASCII
			"?q=Z%C3%96%C3%8B+upper": 0,
			"?q=%C3%96":              0,
			"?q=ZOË":                 2,
			"?q=SEARCH.TEST":         4,
			"?q=search2":             1,
			"?q=P%C3%A9rez":          1,
			"?q=%25":                 0, // a literal %, not a wildcard
			"?q=_":                   0,
			"?q=%27+OR+1%3D1--":      0,
			"?active=false":          1,
			"?active=true":           5,
			"?role=admin":            1,
			"?role=user&active=true": 4,
			"?q=search&active=true":  3,
		} {
			if got := list(q); got.Total != want || len(got.Items) != want {
				t.Errorf("list %s: total %d, %d items, want %d", q, got.Total, len(got.Items), want)
			}
		}
		// A page number whose offset overflows int64 wrapped round to an early page.
		for _, bad := range []string{"?page=4611686018427387906&per_page=4", "?page=461168601842738790&per_page=20", "?page=1000001"} {
			rec := f.do(t, req{method: "GET", path: "/api/v1/users" + bad, token: at.AccessToken})
			if rec.Code == http.StatusOK {
				t.Errorf("list %s = 200 %s, want it refused", bad, rec.Body)
				continue
			}
			problem(t, rec, http.StatusUnprocessableEntity)
		}
		for _, bad := range []string{"?page=0", "?per_page=1000", "?per_page=-1", "?active=maybe", "?role=root", "?page=abc", "?q=" + strings.Repeat("a", 101)} {
			problem(t, f.do(t, req{method: "GET", path: "/api/v1/users" + bad, token: at.AccessToken}), http.StatusUnprocessableEntity)
		}

		// Get, update, deactivate, delete.
		path := fmt.Sprintf("/api/v1/users/%d", user.id)
		if u := expect[UserBody](t, f.do(t, req{method: "GET", path: path, token: at.AccessToken}), http.StatusOK); u.Email != user.email {
			t.Fatalf("get = %+v", u)
		}
		problem(t, f.do(t, req{method: "GET", path: "/api/v1/users/999999", token: at.AccessToken}), http.StatusNotFound)
		problem(t, f.do(t, req{method: "GET", path: "/api/v1/users/abc", token: at.AccessToken}), http.StatusUnprocessableEntity)
		problem(t, f.do(t, req{method: "GET", path: "/api/v1/users/0", token: at.AccessToken}), http.StatusUnprocessableEntity)
		u := expect[UserBody](t, f.do(t, req{method: "PATCH", path: path, token: at.AccessToken,
			body: map[string]any{"full_name": "Renamed", "role": "admin"}}), http.StatusOK)
		if u.FullName != "Renamed" || u.Role != RoleAdmin {
			t.Fatalf("update = %+v", u)
		}
		problem(t, f.do(t, req{method: "PATCH", path: path, token: at.AccessToken, body: map[string]any{"role": "root"}}), http.StatusUnprocessableEntity)
		problem(t, f.do(t, req{method: "PATCH", path: path, token: at.AccessToken, body: map[string]any{"email": admin.email}}), http.StatusConflict)
		problem(t, f.do(t, req{method: "PATCH", path: "/api/v1/users/999999", token: at.AccessToken, body: map[string]any{"full_name": "x"}}), http.StatusNotFound)

		// The user's tokens stop working the moment they are deactivated.
		expect[UserBody](t, f.do(t, req{method: "GET", path: "/api/v1/auth/me", token: ut.AccessToken}), http.StatusOK)
		u = expect[UserBody](t, f.do(t, req{method: "POST", path: path + "/deactivate", token: at.AccessToken}), http.StatusOK)
		if u.Active {
			t.Fatal("deactivate left the user active")
		}
		problem(t, f.do(t, req{method: "GET", path: "/api/v1/auth/me", token: ut.AccessToken}), http.StatusUnauthorized)
		problem(t, f.do(t, req{method: "POST", path: "/api/v1/auth/refresh", body: map[string]string{"refresh_token": ut.RefreshToken}}), http.StatusUnauthorized)
		// Reactivated, the old session stays revoked but a new login works.
		expect[UserBody](t, f.do(t, req{method: "PATCH", path: path, token: at.AccessToken, body: map[string]any{"active": true}}), http.StatusOK)
		f.login(t, user)

		// An admin cannot lock themselves out.
		self := fmt.Sprintf("/api/v1/users/%d", admin.id)
		problem(t, f.do(t, req{method: "POST", path: self + "/deactivate", token: at.AccessToken}), http.StatusConflict)
		problem(t, f.do(t, req{method: "DELETE", path: self, token: at.AccessToken}), http.StatusConflict)
		problem(t, f.do(t, req{method: "PATCH", path: self, token: at.AccessToken, body: map[string]any{"role": "user"}}), http.StatusConflict)

		expect[struct{}](t, f.do(t, req{method: "DELETE", path: path, token: at.AccessToken}), http.StatusNoContent)
		problem(t, f.do(t, req{method: "GET", path: path, token: at.AccessToken}), http.StatusNotFound)
		problem(t, f.do(t, req{method: "DELETE", path: path, token: at.AccessToken}), http.StatusNotFound)
		// A deleted user's token is refused.
		problem(t, f.do(t, req{method: "GET", path: "/api/v1/auth/me", token: ut.AccessToken}), http.StatusUnauthorized)
	})
}

func TestOpenAPI(t *testing.T) {
	t.Parallel()
	f := setup(t, databasetest.New(t, database.SQLite), nil)
	type openAPI struct {
		Paths      map[string]map[string]json.RawMessage `json:"paths"`
		Components struct {
			SecuritySchemes map[string]any `json:"securitySchemes"`
		} `json:"components"`
	}
	doc := expect[openAPI](t, f.do(t, req{method: "GET", path: "/openapi.json"}), http.StatusOK)
	want := map[string][]string{
		"/api/v1/auth/register":         {"post"},
		"/api/v1/auth/login":            {"post"},
		"/api/v1/auth/refresh":          {"post"},
		"/api/v1/auth/logout":           {"post"},
		"/api/v1/auth/me":               {"get", "patch"},
		"/api/v1/auth/change-password":  {"post"},
		"/api/v1/users":                 {"get"},
		"/api/v1/users/{id}":            {"get", "patch", "delete"},
		"/api/v1/users/{id}/deactivate": {"post"},
	}
	for path, methods := range want {
		for _, m := range methods {
			if _, ok := doc.Paths[path][m]; !ok {
				t.Errorf("openapi.json lacks %s %s", m, path)
			}
		}
	}
	if _, ok := doc.Components.SecuritySchemes[securityScheme]; !ok {
		t.Errorf("openapi.json lacks the %s security scheme", securityScheme)
	}
	if strings.Contains(fmt.Sprint(doc.Paths), "password_hash") {
		t.Error("openapi.json mentions password_hash")
	}
}
