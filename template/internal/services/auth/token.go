package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strconv"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/uptrace/bun"
)

// MaxTokenLength bounds what is parsed at all; real access tokens are a few
// hundred bytes.
const MaxTokenLength = 4096

// Claims are the claims of an access token: the registered ones (sub is
// the user ID) plus the role and the session (refresh-token family) it was
// issued for.
type Claims struct {
	jwt.RegisteredClaims
	Role      string `json:"role"`
	SessionID string `json:"sid,omitempty"`
}

// UserID returns the subject as a user ID.
func (c *Claims) UserID() (int64, error) {
	id, err := strconv.ParseInt(c.Subject, 10, 64)
	if err != nil || id <= 0 {
		return 0, ErrInvalidToken
	}
	return id, nil
}

// tokenSigner issues and checks HS256 access tokens.
type tokenSigner struct {
	key      []byte
	issuer   string
	audience string
	ttl      time.Duration
	parser   *jwt.Parser
	now      func() time.Time
	// used, when set, is called at every issue and parse: the lazy warning about an
	// ephemeral key (AuthOpts.WarnLazily), which runs once.
	used func()
}

func newTokenSigner(key []byte, s Settings) *tokenSigner {
	return &tokenSigner{
		key:      key,
		issuer:   s.Issuer,
		audience: s.Audience,
		ttl:      s.AccessTTL,
		now:      time.Now,
		parser: jwt.NewParser(
			jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
			jwt.WithIssuer(s.Issuer),
			jwt.WithAudience(s.Audience),
			jwt.WithLeeway(s.Leeway),
			jwt.WithExpirationRequired(),
			jwt.WithIssuedAt(),
		),
	}
}

// issue signs an access token for u in session sid; it returns the token
// and its lifetime.
func (t *tokenSigner) issue(u *User, sid string) (string, time.Duration, error) {
	if t.used != nil {
		t.used()
	}
	n := t.now()
	claims := &Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    t.issuer,
			Subject:   strconv.FormatInt(u.ID, 10),
			Audience:  jwt.ClaimStrings{t.audience},
			ExpiresAt: jwt.NewNumericDate(n.Add(t.ttl)),
			NotBefore: jwt.NewNumericDate(n),
			IssuedAt:  jwt.NewNumericDate(n),
			ID:        rand.Text(),
		},
		Role:      u.Role,
		SessionID: sid,
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(t.key)
	if err != nil {
		return "", 0, fmt.Errorf("auth: sign access token: %w", err)
	}
	return s, t.ttl, nil
}

// parse verifies token (signature with HS256 only, issuer, audience,
// expiry with leeway) and returns its claims; every failure is
// ErrInvalidToken.
func (t *tokenSigner) parse(token string) (*Claims, error) {
	if t.used != nil {
		t.used()
	}
	if token == "" || len(token) > MaxTokenLength {
		return nil, ErrInvalidToken
	}
	claims := &Claims{}
	tok, err := t.parser.ParseWithClaims(token, claims, func(tok *jwt.Token) (any, error) {
		if tok.Method != jwt.SigningMethodHS256 {
			return nil, ErrInvalidToken
		}
		return t.key, nil
	})
	if err != nil || !tok.Valid {
		return nil, ErrInvalidToken
	}
	if _, err := claims.UserID(); err != nil {
		return nil, err
	}
	return claims, nil
}

// refreshToken is a stored refresh token: only its SHA-256 is kept. Tokens
// of one login form a family (a session); each refresh marks the old token
// used and adds a new one to the family, which keeps the family's
// SessionStartedAt: the login that AUTH_SESSION_MAX_AGE counts from.
type refreshToken struct {
	bun.BaseModel `bun:"table:auth_refresh_tokens"`

	ID        int64     `bun:"id,pk,autoincrement"`
	UserID    int64     `bun:"user_id,notnull"`
	FamilyID  string    `bun:"family_id,notnull"`
	TokenHash string    `bun:"token_hash,notnull"`
	CreatedAt time.Time `bun:"created_at,notnull"`
	ExpiresAt time.Time `bun:"expires_at,notnull"`
	// SessionStartedAt is when the family's login was (NOT NULL on PostgreSQL;
	// SQLite cannot add the constraint to an existing table, and openSession
	// always writes it).
	SessionStartedAt time.Time  `bun:"session_started_at,notnull"`
	UsedAt           *time.Time `bun:"used_at"`
	RevokedAt        *time.Time `bun:"revoked_at"`
}

// newOpaqueToken returns a random refresh token (256 bits, base64url) and
// the hash to store.
func newOpaqueToken() (token, hash string) {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	token = base64.RawURLEncoding.EncodeToString(b)
	return token, hashToken(token)
}

func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

func newFamilyID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
