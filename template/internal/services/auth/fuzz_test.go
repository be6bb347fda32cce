package auth

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"

	"github.com/aegisgo/aegis/template/internal/components/database"
	"github.com/aegisgo/aegis/template/internal/components/database/databasetest"
)

var decodeSeeds = []string{
	`{"email":"a@example.com","password":"correct horse battery staple"}`,
	`{"username":"alice","password":"x"}`,
	`{"login":"alice","password":"x","email":"b@example.com"}`,
	`{"email":"a@example.com","username":"alice","password":"correct horse battery staple","full_name":"Zoë"}`,
	`{"email":"x' OR '1'='1","username":"'; DROP TABLE auth_users;--","password":"\u0000"}`,
	`{"email":null,"password":[]}`,
	`{"email":{"$ne":null},"password":{"$gt":""}}`,
	`{"email":"a@example.com","password":"x"`,
	`[]`, `null`, `""`, `0`, ``, `{}`, "\xff\xfe", `{"email":"\ud800@x.io","password":"\udfff"}`,
	`{"email":"` + strings.Repeat("a", 300) + `"}`,
}

// checkAnswer holds every answer to arbitrary input to the rules: an allowed
// status, never a 5xx, and errors as clean problem bodies.
func checkAnswer(t *testing.T, input []byte, code int, ct, body string, allowed ...int) {
	t.Helper()
	if !slices.Contains(allowed, code) {
		t.Fatalf("status %d not in %v; body %s", code, allowed, body)
	}
	if code >= 400 && ct != "application/problem+json" {
		t.Fatalf("status %d with Content-Type %q", code, ct)
	}
	// The echo of the input is JSON-escaped; compare against both forms.
	quoted, _ := json.Marshal(string(input))
	checkNoLeaks(t, body, string(input), string(quoted))
}

// FuzzLoginDecode sends arbitrary bodies to POST /api/v1/auth/login.
func FuzzLoginDecode(f *testing.F) {
	for _, s := range decodeSeeds {
		f.Add([]byte(s))
	}
	fx := setup(f, databasetest.New(f, database.SQLite), nil)
	fx.newAccount(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		rec := fx.do(t, req{method: "POST", path: "/api/v1/auth/login", body: body})
		checkAnswer(t, body, rec.Code, rec.Header().Get("Content-Type"), rec.Body.String(),
			http.StatusOK, http.StatusBadRequest, http.StatusUnauthorized, http.StatusRequestEntityTooLarge, http.StatusUnprocessableEntity, http.StatusTooManyRequests)
	})
}

// FuzzRegisterDecode sends arbitrary bodies to POST /api/v1/auth/register.
func FuzzRegisterDecode(f *testing.F) {
	for _, s := range decodeSeeds {
		f.Add([]byte(s))
	}
	fx := setup(f, databasetest.New(f, database.SQLite), nil)
	f.Fuzz(func(t *testing.T, body []byte) {
		rec := fx.do(t, req{method: "POST", path: "/api/v1/auth/register", body: body})
		checkAnswer(t, body, rec.Code, rec.Header().Get("Content-Type"), rec.Body.String(),
			http.StatusCreated, http.StatusBadRequest, http.StatusConflict, http.StatusRequestEntityTooLarge, http.StatusUnprocessableEntity)
		if rec.Code == http.StatusCreated && strings.Contains(rec.Body.String(), "argon2") {
			t.Fatalf("register shows the hash: %s", rec.Body)
		}
	})
}

// FuzzParseToken feeds arbitrary strings to the access-token parser: it must
// never panic, and whatever it accepts must be HS256, ours, and unexpired.
func FuzzParseToken(f *testing.F) {
	s := testSettings()
	signer := newTokenSigner([]byte(testSecret), s)
	good, _, err := signer.issue(&User{ID: 7, Role: RoleUser}, "sid")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	for _, tok := range badTokens(f, 7, good) {
		f.Add(tok)
	}
	f.Add("Bearer " + good)
	f.Add(good + ".")
	f.Add(strings.ToUpper(good))
	f.Fuzz(func(t *testing.T, token string) {
		c, err := signer.parse(token)
		if err != nil {
			if err != ErrInvalidToken {
				t.Fatalf("error %v, want ErrInvalidToken", err)
			}
			return
		}
		tok, _, perr := jwt.NewParser().ParseUnverified(token, &Claims{})
		if perr != nil || tok.Method.Alg() != "HS256" {
			t.Fatalf("accepted a token that is not HS256: %q", token)
		}
		if c.Issuer != s.Issuer || len(c.Audience) == 0 || c.ExpiresAt == nil {
			t.Fatalf("accepted claims %+v", c)
		}
		if id, err := c.UserID(); err != nil || id <= 0 {
			t.Fatalf("accepted subject %q", c.Subject)
		}
	})
}

// FuzzBearerToken: header parsing never panics and never yields a token
// with surrounding space.
func FuzzBearerToken(f *testing.F) {
	for _, s := range []string{"Bearer abc", "bearer  abc ", "Basic x", "", "Bearer", " Bearer x y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		tok, ok := bearerToken(h)
		if ok && (tok == "" || strings.TrimSpace(tok) != tok) {
			t.Fatalf("bearerToken(%q) = %q", h, tok)
		}
	})
}
