package auth

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// dashboardSession is a dashboard sign-in, stored apart from the API's
// refresh tokens (only the SHA-256 of its token is kept), so a dashboard
// cookie refreshes nothing and a refresh token opens no dashboard. It ends
// DashboardIdleTimeout after the operator's last activity, at ExpiresAt
// (DashboardSessionTTL after sign-in) whatever the activity, or when
// revoked (logout, a password change).
type dashboardSession struct {
	bun.BaseModel `bun:"table:auth_dashboard_sessions"`

	ID         int64      `bun:"id,pk,autoincrement"`
	UserID     int64      `bun:"user_id,notnull"`
	TokenHash  string     `bun:"token_hash,notnull"`
	CreatedAt  time.Time  `bun:"created_at,notnull"`
	LastSeenAt time.Time  `bun:"last_seen_at,notnull"`
	ExpiresAt  time.Time  `bun:"expires_at,notnull"`
	RevokedAt  *time.Time `bun:"revoked_at"`
}

// touchEvery is how stale last_seen_at may get before an activity writes it
// again: the idle timeout is counted in minutes, and a write per request
// would cost more than it tells.
const touchEvery = time.Minute

// clockNow is the service's clock, in the precision the databases keep.
func (a *AuthService) clockNow() time.Time { return a.now().UTC().Truncate(time.Microsecond) }

// DashboardLogin checks the credentials like Login (with its rate limits
// and errors) and opens a dashboard session; it returns the session's token
// and its user. Any account may sign in; the dashboard admits admins only.
func (a *AuthService) DashboardLogin(ctx context.Context, p LoginParams) (string, *User, error) {
	u, err := a.checkLogin(ctx, p)
	if err != nil {
		return "", nil, err
	}
	token, hash := newOpaqueToken()
	t := a.clockNow()
	s := &dashboardSession{UserID: u.ID, TokenHash: hash, CreatedAt: t, LastSeenAt: t, ExpiresAt: t.Add(a.dashTTL)}
	err = a.storeLoginSession(ctx, u, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewInsert().Model(s).Returning("id").Exec(ctx); err != nil {
			return fmt.Errorf("auth: store dashboard session: %w", err)
		}
		return nil
	})
	if err != nil {
		return "", nil, err
	}
	return token, u, nil
}

// DashboardSessionUser returns the (active) user of a dashboard session.
// activity records that the operator did something, which restarts the idle
// timeout; background refreshes pass false. Unknown, revoked, idle and
// expired sessions, and deleted or deactivated users, give ErrInvalidToken.
// The token is never rotated: the dashboard presents it on every request,
// several at a time.
func (a *AuthService) DashboardSessionUser(ctx context.Context, token string, activity bool) (*User, error) {
	if token == "" || len(token) > MaxTokenLength {
		return nil, ErrInvalidToken
	}
	s := new(dashboardSession)
	err := a.db.Bun().NewSelect().Model(s).Where("token_hash = ?", hashToken(token)).Limit(1).Scan(ctx)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, ErrInvalidToken
	case err != nil:
		return nil, fmt.Errorf("auth: load dashboard session: %w", err)
	}
	t := a.clockNow()
	if s.RevokedAt != nil || !t.Before(s.ExpiresAt) || !t.Before(s.LastSeenAt.Add(a.dashIdle)) {
		return nil, ErrInvalidToken
	}
	u, err := a.users.Get(ctx, s.UserID)
	switch {
	case errors.Is(err, ErrNotFound):
		return nil, ErrInvalidToken
	case err != nil:
		return nil, err
	case !u.Active:
		return nil, ErrInvalidToken
	}
	if activity && t.Sub(s.LastSeenAt) >= touchEvery {
		// Only forward, and only while live: a concurrent logout wins.
		if _, err := a.db.Bun().NewUpdate().Model((*dashboardSession)(nil)).Set("last_seen_at = ?", t).
			Where("id = ?", s.ID).Where("revoked_at IS NULL").Where("last_seen_at < ?", t).Exec(ctx); err != nil {
			return nil, fmt.Errorf("auth: record dashboard activity: %w", err)
		}
	}
	return u, nil
}

// DashboardLogout ends a dashboard session. An unknown token is not an
// error: the session is gone either way.
func (a *AuthService) DashboardLogout(ctx context.Context, token string) error {
	if token == "" || len(token) > MaxTokenLength {
		return nil
	}
	if _, err := a.db.Bun().NewUpdate().Model((*dashboardSession)(nil)).Set("revoked_at = ?", a.clockNow()).
		Where("token_hash = ?", hashToken(token)).Where("revoked_at IS NULL").Exec(ctx); err != nil {
		return fmt.Errorf("auth: end dashboard session: %w", err)
	}
	return nil
}

// revokeDashboardSessions ends every dashboard session of the user (a
// password change, a deactivation).
func revokeDashboardSessions(ctx context.Context, db bun.IDB, userID int64) error {
	if _, err := db.NewUpdate().Model((*dashboardSession)(nil)).Set("revoked_at = ?", now()).
		Where("user_id = ?", userID).Where("revoked_at IS NULL").Exec(ctx); err != nil {
		return fmt.Errorf("auth: revoke dashboard sessions: %w", err)
	}
	return nil
}
