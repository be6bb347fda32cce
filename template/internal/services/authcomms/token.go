package authcomms

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/uptrace/bun"

	"github.com/aegisgo/aegis/template/internal/components/database"
)

// Purposes of a token: a verification token cannot reset a password, nor the reverse.
const (
	PurposeVerify = "verify"
	PurposeReset  = "reset"
)

// Errors of a submitted token. The API answers each with its own problem: none of them
// tells anything about an account to whoever does not hold the token.
var (
	// ErrTokenInvalid: malformed, tampered with, unknown, of the other purpose, or issued
	// for an address the account no longer has.
	ErrTokenInvalid = errors.New("authcomms: the token is invalid")
	// ErrTokenExpired: the token's time (AUTH_VERIFY_TOKEN_TTL, AUTH_RESET_TOKEN_TTL) is up.
	ErrTokenExpired = errors.New("authcomms: the token has expired")
	// ErrTokenUsed: the token worked once already.
	ErrTokenUsed = errors.New("authcomms: the token was already used")
)

// Token layout: 32 random bytes, then the first 16 bytes of an HMAC-SHA256 over the
// purpose and those bytes, base64url without padding (64 characters). The random part is
// what makes a token unguessable; the signature lets a forged or altered token be refused
// without a database query, and binds the token to its purpose.
const (
	tokenRandomBytes = 32
	tokenMACBytes    = 16
	// TokenLength is the length of every token this package issues.
	TokenLength = (tokenRandomBytes + tokenMACBytes) * 4 / 3
)

// signer issues and checks the signature of tokens.
type signer struct{ key []byte }

func (s signer) mac(purpose string, random []byte) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(purpose))
	m.Write([]byte{0})
	m.Write(random)
	return m.Sum(nil)[:tokenMACBytes]
}

// issue returns a new token for purpose.
func (s signer) issue(purpose string) string {
	b := make([]byte, tokenRandomBytes, tokenRandomBytes+tokenMACBytes)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(append(b, s.mac(purpose, b)...))
}

// check reports whether token is well formed and signed for purpose, in constant time for
// tokens of the right length.
func (s signer) check(purpose, token string) bool {
	if len(token) != TokenLength {
		return false
	}
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(b) != tokenRandomBytes+tokenMACBytes {
		return false
	}
	return hmac.Equal(b[tokenRandomBytes:], s.mac(purpose, b[:tokenRandomBytes]))
}

// hashToken is what the table keeps of a token.
func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// tokenRow is one row of authcomms_tokens.
type tokenRow struct {
	bun.BaseModel `bun:"table:authcomms_tokens"`

	ID        int64      `bun:"id,pk,autoincrement"`
	UserID    int64      `bun:"user_id,notnull"`
	Purpose   string     `bun:"purpose,notnull"`
	Email     string     `bun:"email,notnull"`
	TokenHash string     `bun:"token_hash,notnull"`
	CreatedAt time.Time  `bun:"created_at,notnull"`
	ExpiresAt time.Time  `bun:"expires_at,notnull"`
	UsedAt    *time.Time `bun:"used_at"`
}

// sweepBatchDefault is how many expired tokens, of any account, issuing one token deletes
// at most: bounded, so issuing stays as quick with a backlog of a million rows as with none,
// and above the one row issuing adds, so the backlog shrinks with every link sent.
const sweepBatchDefault = 100

// tokens stores and spends the tokens of one database.
type tokens struct {
	db     *database.DB
	signer signer
	now    func() time.Time
	logger *slog.Logger
	// sweep bounds the expired tokens deleted per issued token; 0 means sweepBatchDefault.
	sweep int
}

func (t *tokens) clock() time.Time { return t.now().UTC().Truncate(time.Microsecond) }

// create stores a new token of purpose for the account userID at email, valid for ttl, and
// returns it. It first deletes a bounded batch of expired tokens of every account (see
// sweepExpired), so the table does not fill with the links of accounts that never come back.
func (t *tokens) create(ctx context.Context, userID int64, email, purpose string, ttl time.Duration) (string, error) {
	at := t.clock()
	if _, err := t.sweepExpired(ctx, at); err != nil {
		// Housekeeping: the link is still worth sending, and the next one sweeps again.
		t.logger.WarnContext(ctx, "authcomms: delete expired tokens", "error", err)
	}
	token := t.signer.issue(purpose)
	row := &tokenRow{UserID: userID, Purpose: purpose, Email: email, TokenHash: hashToken(token), CreatedAt: at, ExpiresAt: at.Add(ttl)}
	if _, err := t.db.Bun().NewInsert().Model(row).Returning("id").Exec(ctx); err != nil {
		return "", fmt.Errorf("authcomms: store token: %w", err)
	}
	return token, nil
}

// sweepExpired deletes at most t.sweep tokens, of any account, that expired by at, oldest
// first, in one statement that reads the (expires_at) index: a used or expired token has
// nothing left to do. It runs in a statement of its own, not in the issuing transaction, so
// concurrent sweeps hold their row locks only briefly. It returns how many it deleted.
func (t *tokens) sweepExpired(ctx context.Context, at time.Time) (int64, error) {
	batch := t.sweep
	if batch <= 0 {
		batch = sweepBatchDefault
	}
	res, err := t.db.Bun().NewRaw(`DELETE FROM authcomms_tokens WHERE id IN
(SELECT id FROM authcomms_tokens WHERE expires_at <= ? ORDER BY expires_at LIMIT ?)`, at, batch).Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("authcomms: delete expired tokens: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("authcomms: delete expired tokens: %w", err)
	}
	return n, nil
}

// find returns the live token row of purpose for token: ErrTokenInvalid, ErrTokenExpired or
// ErrTokenUsed when it is not one.
func (t *tokens) find(ctx context.Context, purpose, token string) (*tokenRow, error) {
	if !t.signer.check(purpose, token) {
		return nil, ErrTokenInvalid
	}
	row := new(tokenRow)
	err := t.db.Bun().NewSelect().Model(row).Where("token_hash = ?", hashToken(token)).Where("purpose = ?", purpose).Limit(1).Scan(ctx)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		// Signed right but unknown: most often expired and swept by a later issue
		// (create), else another database's; the answers say both.
		return nil, ErrTokenInvalid
	case err != nil:
		return nil, fmt.Errorf("authcomms: load token: %w", err)
	case row.UsedAt != nil:
		return nil, ErrTokenUsed
	case !t.clock().Before(row.ExpiresAt):
		return nil, ErrTokenExpired
	}
	return row, nil
}

// claim marks the row used; ErrTokenUsed when another request did first.
func (t *tokens) claim(ctx context.Context, row *tokenRow) error {
	res, err := t.db.Bun().NewUpdate().Model((*tokenRow)(nil)).Set("used_at = ?", t.clock()).
		Where("id = ?", row.ID).Where("used_at IS NULL").Exec(ctx)
	if err != nil {
		return fmt.Errorf("authcomms: spend token: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return ErrTokenUsed
	}
	return nil
}

// release makes a claimed row usable again, when what it was claimed for failed for a
// reason the user can fix or that will pass (a password the rules refuse, a busy server).
func (t *tokens) release(ctx context.Context, row *tokenRow) error {
	if _, err := t.db.Bun().NewUpdate().Model((*tokenRow)(nil)).Set("used_at = NULL").Where("id = ?", row.ID).Exec(ctx); err != nil {
		return fmt.Errorf("authcomms: release token: %w", err)
	}
	return nil
}

// spendAll marks every live token of purpose of the account used: after a reset the other
// reset links stop working, after a verification the other verification links.
func (t *tokens) spendAll(ctx context.Context, userID int64, purpose string) error {
	_, err := t.db.Bun().NewUpdate().Model((*tokenRow)(nil)).Set("used_at = ?", t.clock()).
		Where("user_id = ?", userID).Where("purpose = ?", purpose).Where("used_at IS NULL").Exec(ctx)
	if err != nil {
		return fmt.Errorf("authcomms: spend tokens: %w", err)
	}
	return nil
}
