package auth

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/aegisgo/aegis/template/internal/components/database"
	"github.com/aegisgo/aegis/template/internal/components/database/databasetest"
)

// TestAdminsChangeEachOtherAtOnce: two admins, ann and bob, on two instances (a pool and a
// UserService each) of an app on PostgreSQL. Instance one demotes ann for bob and has passed
// the last-admin check when instance two, for ann, demotes, deactivates or deletes bob. One
// change wins and the other is ErrLastAdmin (409): never a deadlock answered with a 500, and
// one active admin remains.
func TestAdminsChangeEachOtherAtOnce(t *testing.T) {
	t.Parallel()
	f, user := false, RoleUser
	cases := []struct {
		name   string
		change func(ctx context.Context, svc *UserService, actor, target int64) error
	}{
		{"demote", func(ctx context.Context, svc *UserService, actor, target int64) error {
			_, err := svc.Update(ctx, target, UpdateUserParams{Role: &user, Actor: actor})
			return err
		}},
		{"deactivate", func(ctx context.Context, svc *UserService, actor, target int64) error {
			_, err := svc.Update(ctx, target, UpdateUserParams{Active: &f, Actor: actor})
			return err
		}},
		{"delete", func(ctx context.Context, svc *UserService, actor, target int64) error {
			return svc.DeleteBy(ctx, actor, target)
		}},
	}
	db := databasetest.New(t, database.Postgres)
	other, err := database.Open(t.Context(), db.Settings())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = other.Close() })
	one, err := NewUserServiceWith(db, testSettings())
	if err != nil {
		t.Fatal(err)
	}
	two, err := NewUserServiceWith(other, testSettings())
	if err != nil {
		t.Fatal(err)
	}
	for ci, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx := t.Context()
			if _, err := db.Bun().NewDelete().Model((*User)(nil)).Where("1 = 1").Exec(ctx); err != nil {
				t.Fatal(err)
			}
			var ids [2]int64 // ann, bob
			for i, name := range []string{"ann", "bob"} {
				u, err := one.Create(ctx, CreateUserParams{Email: fmt.Sprintf("%s%d@example.com", name, ci),
					Username: fmt.Sprintf("%s%d", name, ci), Password: goodPassword, Role: RoleAdmin})
				if err != nil {
					t.Fatal(err)
				}
				ids[i] = u.ID
			}
			ann, bob := ids[0], ids[1]
			secondErr := make(chan error, 1)
			firstErr := db.InTx(ctx, func(ctx context.Context, tx bun.Tx) error {
				// Instance one, bob demoting ann: the check passed, the update not yet made.
				if err := one.keepAnAdmin(ctx, tx, ann); err != nil {
					return err
				}
				go func() { secondErr <- c.change(ctx, two, ann, bob) }()
				// Wait until instance two waits for a lock: it has made its own check.
				for waiting := 0; waiting == 0; {
					if err := db.Bun().NewRaw(`SELECT count(*) FROM pg_stat_activity
WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(ctx, &waiting); err != nil {
						return err
					}
					time.Sleep(10 * time.Millisecond)
				}
				_, err := tx.NewUpdate().Model((*User)(nil)).Set("role = ?", RoleUser).Where("id = ?", ann).Exec(ctx)
				return err
			})
			errs := []error{firstErr, <-secondErr}
			won := 0
			for i, err := range errs {
				switch {
				case err == nil:
					won++
				case !errors.Is(err, ErrLastAdmin):
					t.Errorf("instance %d: %v, want nil or ErrLastAdmin", i+1, err)
				}
			}
			var admins int
			if err := db.Bun().NewSelect().Model((*User)(nil)).ColumnExpr("count(*)").
				Where("role = ?", RoleAdmin).Where("active = ?", true).Scan(ctx, &admins); err != nil {
				t.Fatal(err)
			}
			if won != 1 || admins != 1 {
				t.Errorf("%d changes went through and %d active admins remain, want 1 and 1", won, admins)
			}
		})
	}
}
