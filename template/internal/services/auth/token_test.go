package auth

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/aegisgo/aegis/template/internal/command"
	"github.com/aegisgo/aegis/template/internal/components/database"
	"github.com/aegisgo/aegis/template/internal/components/database/databasetest"
	"github.com/aegisgo/aegis/template/internal/config"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
)

// forge signs claims for user id with method and key, for tokens the
// service must refuse.
func forge(t testing.TB, method jwt.SigningMethod, key any, mod func(*Claims)) string {
	t.Helper()
	n := time.Now()
	c := &Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer: DefaultIssuer, Subject: "1", Audience: jwt.ClaimStrings{DefaultAudience},
			ExpiresAt: jwt.NewNumericDate(n.Add(time.Minute)), IssuedAt: jwt.NewNumericDate(n), NotBefore: jwt.NewNumericDate(n),
		},
		Role: RoleAdmin,
	}
	if mod != nil {
		mod(c)
	}
	s, err := jwt.NewWithClaims(method, c).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// badTokens are access tokens for a user with id sub (an admin) that must
// all be refused.
func badTokens(t testing.TB, sub int64, good string) map[string]string {
	t.Helper()
	id := strconv.FormatInt(sub, 10)
	secret := []byte(testSecret)
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(good, ".")
	b64 := base64.RawURLEncoding
	payload, _ := b64.DecodeString(parts[1])
	sub2 := func(c *Claims) { c.Subject = id }
	tampered := bytes.Replace(payload, []byte(`"role":"user"`), []byte(`"role":"admin"`), 1)
	sig, _ := b64.DecodeString(parts[2])
	sig[0] ^= 1
	return map[string]string{
		"empty":            "",
		"garbage":          "not.a.jwt",
		"one part":         "eyJhbGciOiJIUzI1NiJ9",
		"too long":         strings.Repeat("a", MaxTokenLength+1),
		"tampered payload": parts[0] + "." + b64.EncodeToString(tampered) + "." + parts[2],
		"tampered sig":     parts[0] + "." + parts[1] + "." + b64.EncodeToString(sig),
		"no signature":     parts[0] + "." + parts[1] + ".",
		"alg none":         forge(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, sub2),
		"alg none header":  b64.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + parts[1] + ".",
		"alg NONE header":  b64.EncodeToString([]byte(`{"alg":"NONE","typ":"JWT"}`)) + "." + parts[1] + ".",
		"wrong key":        forge(t, jwt.SigningMethodHS256, []byte("another secret that is long enough!!"), sub2),
		"HS384":            forge(t, jwt.SigningMethodHS384, secret, sub2),
		"HS512":            forge(t, jwt.SigningMethodHS512, secret, sub2),
		"RS256":            forge(t, jwt.SigningMethodRS256, rsaKey, sub2),
		"ES256":            forge(t, jwt.SigningMethodES256, ecKey, sub2),
		"expired": forge(t, jwt.SigningMethodHS256, secret, func(c *Claims) {
			sub2(c)
			c.IssuedAt = jwt.NewNumericDate(time.Now().Add(-time.Hour))
			c.NotBefore = c.IssuedAt
			c.ExpiresAt = jwt.NewNumericDate(time.Now().Add(-DefaultLeeway - time.Second))
		}),
		"no expiry":      forge(t, jwt.SigningMethodHS256, secret, func(c *Claims) { sub2(c); c.ExpiresAt = nil }),
		"future":         forge(t, jwt.SigningMethodHS256, secret, func(c *Claims) { sub2(c); c.NotBefore = jwt.NewNumericDate(time.Now().Add(time.Hour)) }),
		"issued later":   forge(t, jwt.SigningMethodHS256, secret, func(c *Claims) { sub2(c); c.IssuedAt = jwt.NewNumericDate(time.Now().Add(time.Hour)) }),
		"wrong issuer":   forge(t, jwt.SigningMethodHS256, secret, func(c *Claims) { sub2(c); c.Issuer = "evil" }),
		"no issuer":      forge(t, jwt.SigningMethodHS256, secret, func(c *Claims) { sub2(c); c.Issuer = "" }),
		"wrong audience": forge(t, jwt.SigningMethodHS256, secret, func(c *Claims) { sub2(c); c.Audience = jwt.ClaimStrings{"other"} }),
		"no audience":    forge(t, jwt.SigningMethodHS256, secret, func(c *Claims) { sub2(c); c.Audience = nil }),
		"bad subject":    forge(t, jwt.SigningMethodHS256, secret, func(c *Claims) { c.Subject = "1 OR 1=1" }),
		"zero subject":   forge(t, jwt.SigningMethodHS256, secret, func(c *Claims) { c.Subject = "0" }),
		"unknown user":   forge(t, jwt.SigningMethodHS256, secret, func(c *Claims) { c.Subject = "987654" }),
	}
}

// TestBadTokens: every forged, tampered or expired token gets 401 with a
// problem body, on a user route and an admin route.
func TestBadTokens(t *testing.T) {
	t.Parallel()
	databasetest.Engines(t, func(t *testing.T, db *database.DB) {
		f := setup(t, db, nil)
		// The victim is a user; forged tokens claim to be an admin.
		a := f.newAccount(t)
		good := f.login(t, a).AccessToken
		expect[UserBody](t, f.do(t, req{method: "GET", path: "/api/v1/auth/me", token: good}), http.StatusOK)
		// Within the leeway an expired token still works.
		inLeeway := forge(t, jwt.SigningMethodHS256, []byte(testSecret), func(c *Claims) {
			c.Subject = strconv.FormatInt(a.id, 10)
			c.IssuedAt = jwt.NewNumericDate(time.Now().Add(-time.Hour))
			c.ExpiresAt = jwt.NewNumericDate(time.Now().Add(-DefaultLeeway / 3))
		})
		expect[UserBody](t, f.do(t, req{method: "GET", path: "/api/v1/auth/me", token: inLeeway}), http.StatusOK)

		for name, tok := range badTokens(t, a.id, good) {
			for _, path := range []string{"/api/v1/auth/me", "/api/v1/users"} {
				rec := f.do(t, req{method: "GET", path: path, header: http.Header{"Authorization": {"Bearer " + tok}}})
				if rec.Code != http.StatusUnauthorized {
					t.Errorf("%s on %s: status %d, want 401; %s", name, path, rec.Code, rec.Body)
					continue
				}
				problem(t, rec, http.StatusUnauthorized)
			}
		}
		for _, h := range []string{"", "Basic dXNlcjpwYXNz", "Bearer", "Bearer ", "Token " + good, good, "Bearer  " + good + " extra"} {
			rec := f.do(t, req{method: "GET", path: "/api/v1/auth/me", header: http.Header{"Authorization": {h}}})
			problem(t, rec, http.StatusUnauthorized)
		}
	})
}

func TestTokenSignerParse(t *testing.T) {
	t.Parallel()
	s := testSettings()
	signer := newTokenSigner([]byte(testSecret), s)
	u := &User{ID: 42, Role: RoleUser}
	tok, ttl, err := signer.issue(u, "fam")
	if err != nil || ttl != DefaultAccessTTL {
		t.Fatal(ttl, err)
	}
	c, err := signer.parse(tok)
	if err != nil {
		t.Fatal(err)
	}
	if id, _ := c.UserID(); id != 42 || c.SessionID != "fam" || c.Role != RoleUser {
		t.Fatalf("claims = %+v", c)
	}
	h, _, _ := strings.Cut(tok, ".")
	if hdr, _ := base64.RawURLEncoding.DecodeString(h); !strings.Contains(string(hdr), `"alg":"HS256"`) {
		t.Fatalf("header = %s", hdr)
	}
	// A signer with another key refuses it.
	if _, err := newTokenSigner([]byte("x"+testSecret), s).parse(tok); err != ErrInvalidToken {
		t.Fatalf("other key: %v", err)
	}
}

func TestResolveSecret(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	for _, bad := range []string{"", "   ", PlaceholderSecret, "short-secret", strings.Repeat("x", MinSecretBytes-1)} {
		_, _, err := resolveSecret(bad, true)
		if err == nil {
			t.Fatalf("production accepted secret %q", bad)
		}
		msg := err.Error()
		if !strings.HasPrefix(msg, "auth: ") || !strings.Contains(msg, "openssl rand -hex 32") || strings.Contains(msg, "\n") ||
			(len(strings.TrimSpace(bad)) > 3 && strings.Contains(msg, strings.TrimSpace(bad))) {
			t.Errorf("error for %q = %q: want one line naming the fix and not the secret", bad, msg)
		}
	}
	good := strings.Repeat("ab", 32)
	for _, prod := range []bool{true, false} {
		key, ephemeral, err := resolveSecret(good, prod)
		if err != nil || string(key) != good || ephemeral {
			t.Fatalf("good secret (production %v): %q, %v", prod, key, err)
		}
	}
	k1, ephemeral, err := resolveSecret("", false)
	if err != nil || len(k1) != 32 || !ephemeral {
		t.Fatal(k1, ephemeral, err)
	}
	k2, _, _ := resolveSecret(PlaceholderSecret, false)
	if bytes.Equal(k1, k2) {
		t.Fatal("ephemeral secrets repeat")
	}
	warnEphemeral(logger, k1)
	if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "openssl rand -hex 32") {
		t.Fatalf("no warning for an ephemeral secret: %s", logs.String())
	}
}

// TestEphemeralSecretWarning: in development without AUTH_SECRET, serve warns at start that
// its tokens die with it; any other process (`users list`, `migrate status`, the worker) says
// nothing unless it issues or checks a token, and then says it once. Before, every command
// that built the container warned about tokens it never touched. Not parallel: the registry
// constructor logs to slog.Default, swapped here.
func TestEphemeralSecretWarning(t *testing.T) {
	db := databasetest.New(t, database.SQLite)
	users, err := NewUserServiceWith(db, testSettings())
	if err != nil {
		t.Fatal(err)
	}
	u := createUser(t, users, CreateUserParams{Email: "eph@example.com", Username: "eph", Password: "correct horse battery staple"})
	const warning = "AUTH_SECRET is missing, short or the placeholder"
	tests := []struct {
		role        command.Role
		set         bool // the container provides the role (command.Env does; a test may not)
		atStart     bool // warned once built
		afterTokens bool // warned once a token was issued and checked
	}{
		{command.RoleServe, true, true, true},
		{command.RoleNone, true, false, true},
		{"worker", true, false, true},
		{"", false, false, true},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("role %q set %v", tt.role, tt.set), func(t *testing.T) {
			var logs bytes.Buffer
			prev := slog.Default()
			slog.SetDefault(slog.New(slog.NewTextHandler(&logs, nil)))
			t.Cleanup(func() { slog.SetDefault(prev) })
			s := testSettings()
			s.Secret = ""
			a, err := NewAuthService(t.Context(), db, users, s, Env{Core: config.Core{Env: config.EnvDevelopment}, Role: registry.Maybe[command.Role]{Value: tt.role, OK: tt.set}}, registry.Maybe[Hooks]{})
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Contains(logs.String(), warning); got != tt.atStart {
				t.Fatalf("role %q: warned at start = %v, want %v: %s", tt.role, got, tt.atStart, logs.String())
			}
			for range 2 {
				tok, err := a.IssueAccessToken(u)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := a.signer.parse(tok); err != nil {
					t.Fatal(err)
				}
			}
			if n := strings.Count(logs.String(), warning); (n == 1) != tt.afterTokens || n > 1 {
				t.Fatalf("role %q: %d warnings after tokens, want one: %s", tt.role, n, logs.String())
			}
		})
	}
}

// TestProductionRefusesWeakSecret goes through the constructor the registry
// calls.
func TestProductionRefusesWeakSecret(t *testing.T) {
	db := databasetest.New(t, database.SQLite)
	users, err := NewUserServiceWith(db, testSettings())
	if err != nil {
		t.Fatal(err)
	}
	s := testSettings()
	s.Secret = PlaceholderSecret
	if _, err := NewAuthServiceWith(db, users, s, &AuthOpts{Production: true}); err == nil || !strings.Contains(err.Error(), "openssl rand -hex 32") {
		t.Fatalf("production with the placeholder: %v", err)
	}
	prod := config.Core{Env: config.EnvProduction}
	s.Secret = ""
	if _, err := NewAuthService(t.Context(), db, users, s, Env{Core: prod}, registry.Maybe[Hooks]{}); err == nil || !strings.Contains(err.Error(), "AUTH_SECRET") {
		t.Fatalf("production without a secret: %v", err)
	}
	s.Secret = strings.Repeat("z", 64)
	if _, err := NewAuthService(t.Context(), db, users, s, Env{Core: prod}, registry.Maybe[Hooks]{}); err != nil {
		t.Fatalf("production with a good secret: %v", err)
	}
}

// TestLeewayFromEnvironment: AUTH_LEEWAY is what the app tolerates, 0s
// included (its range starts there); before, 0s was taken for "unset" and
// became the default 30s, so an expired token still worked half a minute.
func TestLeewayFromEnvironment(t *testing.T) {
	cases := []struct {
		env     string // "" leaves AUTH_LEEWAY unset
		expired time.Duration
		status  int
	}{
		{"0s", 5 * time.Second, http.StatusUnauthorized},
		{"10s", 5 * time.Second, http.StatusOK},
		{"10s", 15 * time.Second, http.StatusUnauthorized},
		{"", 5 * time.Second, http.StatusOK},
		{"", DefaultLeeway + 5*time.Second, http.StatusUnauthorized},
	}
	databasetest.Engines(t, func(t *testing.T, db *database.DB) {
		for ci, c := range cases {
			t.Run(c.env+"/"+c.expired.String(), func(t *testing.T) {
				if c.env == "" {
					t.Setenv("AUTH_LEEWAY", "") // registers the restore of any value
					if err := os.Unsetenv("AUTH_LEEWAY"); err != nil {
						t.Fatal(err)
					}
				} else {
					t.Setenv("AUTH_LEEWAY", c.env)
				}
				loaded, err := config.Load[Settings]()
				if err != nil {
					t.Fatal(err)
				}
				f := setup(t, db, func(s *Settings) { s.Leeway = loaded.Leeway })
				f.seq.Store(int64(ci)*100 + 7000) // the cases share the database: fresh accounts
				a := f.newAccount(t)
				tok := forge(t, jwt.SigningMethodHS256, []byte(testSecret), func(cl *Claims) {
					cl.Subject = strconv.FormatInt(a.id, 10)
					cl.IssuedAt = jwt.NewNumericDate(time.Now().Add(-time.Hour))
					cl.ExpiresAt = jwt.NewNumericDate(time.Now().Add(-c.expired))
				})
				if rec := f.do(t, req{method: "GET", path: "/api/v1/auth/me", token: tok}); rec.Code != c.status {
					t.Fatalf("AUTH_LEEWAY=%q, token expired %s ago: status %d, want %d", c.env, c.expired, rec.Code, c.status)
				}
			})
		}
	})
}
