package auth

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/aegisgo/aegis/template/internal/components/database"
	"github.com/aegisgo/aegis/template/internal/components/database/databasetest"
)

// liveTokens counts the session family's refresh tokens that still work.
func liveTokens(t *testing.T, db *database.DB, family string) int {
	t.Helper()
	n, err := db.Bun().NewSelect().Model((*refreshToken)(nil)).Where("family_id = ?", family).
		Where("revoked_at IS NULL").Where("used_at IS NULL").Count(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return int(n)
}

// familyOf is the session of a refresh token.
func familyOf(t *testing.T, db *database.DB, token string) string {
	t.Helper()
	rt, err := findRefreshToken(t.Context(), db.Bun(), token)
	if err != nil {
		t.Fatal(err)
	}
	return rt.FamilyID
}

// TestRefreshDuringRevocation: a refresh that read its token before a
// logout committed, and then waited for the logout's lock, must not carry the
// session on. Before, on PostgreSQL, the refresh's "mark used" found the row
// revoked (0 rows), took that for a racing refresh of the same client within
// AUTH_REFRESH_REUSE_GRACE and issued a new pair: the logged-out session
// lived on, its new access token accepted.
func TestRefreshDuringRevocation(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		s := testSettings()
		s.RefreshReuseGrace = 10 * time.Second // the default
		users, a := newServices(t, db, s, AuthOpts{})
		u := createUser(t, users, CreateUserParams{Email: "race@example.com", Username: "race", Password: goodPassword})
		pair, err := a.Login(t.Context(), LoginParams{Login: u.Email, Password: goodPassword})
		if err != nil {
			t.Fatal(err)
		}
		family := familyOf(t, db, pair.RefreshToken)
		got := whileHeld(t, db, func(ctx context.Context, tx bun.Tx) error {
			// What LogoutSession writes, held uncommitted while the refresh runs.
			_, err := tx.NewUpdate().Model((*refreshToken)(nil)).Set("revoked_at = ?", now()).
				Where("family_id = ?", family).Where("revoked_at IS NULL").Exec(ctx)
			return err
		}, func() error {
			_, err := a.Refresh(t.Context(), pair.RefreshToken)
			return err
		})
		if !errors.Is(got, ErrInvalidToken) {
			t.Errorf("refresh of a token logged out meanwhile: %v, want ErrInvalidToken", got)
		}
		if n := liveTokens(t, db, family); n != 0 {
			t.Fatalf("%d refresh tokens of the logged-out session still work", n)
		}
	})
}

// TestRevocationDuringRefresh: a logout, password change or deactivation
// that runs while a refresh of one of the user's sessions is between storing
// its new token and committing must revoke that new token too. Before, on
// PostgreSQL, the revocation's UPDATE waited for the refresh's lock on the
// old token and then revoked only the rows it could see when it began: the
// new token, committed after, went on working (a thief refreshing in a loop
// kept the session through the owner's logout or password change). The
// refresh is paused there by a trigger that waits for an advisory lock the
// test holds.
func TestRevocationDuringRefresh(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		revoke func(ctx context.Context, a *AuthService, u *User, family string) error
	}{
		{"logout", func(ctx context.Context, a *AuthService, _ *User, family string) error {
			return a.LogoutSession(ctx, family)
		}},
		{"password change", func(ctx context.Context, a *AuthService, u *User, _ string) error {
			return a.ChangePassword(ctx, u.ID, "", goodPassword, "a brand new passphrase")
		}},
		{"password reset", func(ctx context.Context, a *AuthService, u *User, _ string) error {
			return a.ResetPassword(ctx, u.ID, "a brand new passphrase")
		}},
		{"deactivation", func(ctx context.Context, a *AuthService, u *User, _ string) error {
			_, err := a.Users().Deactivate(ctx, u.ID)
			return err
		}},
		{"deletion", func(ctx context.Context, a *AuthService, u *User, _ string) error {
			return a.Users().Delete(ctx, u.ID)
		}},
	}
	const lockKey = 4242
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			db := databasetest.New(t, database.Postgres)
			ctx := t.Context()
			users, a := newServices(t, db, testSettings(), AuthOpts{})
			u := createUser(t, users, CreateUserParams{Email: "race@example.com", Username: "race", Password: goodPassword})
			createUser(t, users, CreateUserParams{Email: "admin@example.com", Username: "admin", Password: goodPassword, Role: RoleAdmin})
			pair, err := a.Login(ctx, LoginParams{Login: u.Email, Password: goodPassword})
			if err != nil {
				t.Fatal(err)
			}
			family := familyOf(t, db, pair.RefreshToken)
			_, err = db.Bun().ExecContext(ctx, `CREATE FUNCTION test_pause() RETURNS trigger LANGUAGE plpgsql AS $$
				BEGIN PERFORM pg_advisory_xact_lock_shared(4242); RETURN NEW; END $$;
				CREATE TRIGGER test_pause BEFORE INSERT ON auth_refresh_tokens FOR EACH ROW EXECUTE FUNCTION test_pause();`)
			if err != nil {
				t.Fatal(err)
			}
			conn, err := db.Bun().Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = conn.Close() }()
			if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock(?)", lockKey); err != nil {
				t.Fatal(err)
			}
			unlock := func() {
				if _, err := conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock(?)", lockKey); err != nil {
					t.Error(err)
				}
			}

			type result struct {
				pair *TokenPair
				err  error
			}
			refreshed := make(chan result, 1)
			go func() {
				p, err := a.Refresh(ctx, pair.RefreshToken)
				refreshed <- result{p, err}
			}()
			waitForWaiters(t, db, 1) // the refresh, paused in its transaction
			revoked := make(chan error, 1)
			go func() { revoked <- c.revoke(ctx, a, u, family) }()
			waitForWaiters(t, db, 2) // and the revocation, waiting for it
			unlock()
			if err := <-revoked; err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			r := <-refreshed
			if r.err != nil {
				return // refused: nothing was carried on
			}
			if n := liveTokens(t, db, family); n != 0 {
				t.Errorf("after %s during a refresh, %d refresh tokens of the session still work", c.name, n)
			}
			if _, _, err := a.Authenticate(ctx, r.pair.AccessToken); !errors.Is(err, ErrInvalidToken) {
				t.Errorf("after %s during a refresh, its access token: %v, want ErrInvalidToken", c.name, err)
			}
		})
	}
}

// waitForWaiters returns once n sessions of the test's PostgreSQL database
// wait for a lock.
func waitForWaiters(t *testing.T, db *database.DB, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		var got int
		err := db.Bun().NewRaw("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'").Scan(t.Context(), &got)
		if err != nil {
			t.Fatal(err)
		}
		if got >= n {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("fewer than %d sessions waited for a lock within 10s", n)
}
