package auth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/aegisgo/aegis/template/internal/components/database"
	"github.com/aegisgo/aegis/template/internal/components/database/databasetest"
	"github.com/aegisgo/aegis/template/internal/components/frontend"
	"github.com/aegisgo/aegis/template/internal/components/frontend/frontendtest"
)

// TestAdminRules: UserService refuses to let an admin deactivate or demote
// themselves, and anyone to deactivate, demote or delete the last active
// admin; every caller (API, panel, command) gets the rule from there.
func TestAdminRules(t *testing.T) {
	t.Parallel()
	f, tr := false, true
	user, admin := RoleUser, RoleAdmin
	type change struct {
		actor, target string // "" actor: an operator outside the app (the users command)
		params        UpdateUserParams
		delete        bool
		want          error
	}
	cases := []struct {
		name   string
		admins []string // active admins; "off" is an inactive admin, "joe" a user
		steps  []change
	}{
		{"an admin cannot deactivate themselves", []string{"ann", "bob"}, []change{
			{actor: "ann", target: "ann", params: UpdateUserParams{Active: &f}, want: ErrSelf}}},
		{"an admin cannot demote themselves", []string{"ann", "bob"}, []change{
			{actor: "ann", target: "ann", params: UpdateUserParams{Role: &user}, want: ErrSelf}}},
		{"an admin may rename themselves", []string{"ann"}, []change{
			{actor: "ann", target: "ann", params: UpdateUserParams{Role: &admin, Active: &tr}}}},
		{"another admin may be deactivated, not the last", []string{"ann", "bob"}, []change{
			{actor: "ann", target: "bob", params: UpdateUserParams{Active: &f}},
			{actor: "", target: "ann", params: UpdateUserParams{Active: &f}, want: ErrLastAdmin}}},
		{"the last active admin cannot be demoted", []string{"ann", "off"}, []change{
			{actor: "", target: "ann", params: UpdateUserParams{Role: &user}, want: ErrLastAdmin}}},
		{"the last active admin cannot be deleted", []string{"ann", "joe"}, []change{
			{actor: "joe", target: "ann", delete: true, want: ErrLastAdmin},
			{actor: "", target: "joe", delete: true}}},
		{"an admin cannot delete themselves", []string{"ann", "bob"}, []change{
			{actor: "ann", target: "ann", delete: true, want: ErrSelf}}},
		{"an inactive admin may be demoted and a user promoted", []string{"ann", "off", "joe"}, []change{
			{actor: "ann", target: "off", params: UpdateUserParams{Role: &user}},
			{actor: "ann", target: "joe", params: UpdateUserParams{Role: &admin}},
			{actor: "joe", target: "ann", params: UpdateUserParams{Role: &user}},
			{actor: "", target: "joe", params: UpdateUserParams{Active: &f}, want: ErrLastAdmin}}},
	}
	databasetest.Engines(t, func(t *testing.T, db *database.DB) {
		for ci, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				// The cases share the database and the rule counts every active admin:
				// start each from none.
				if _, err := db.Bun().NewDelete().Model((*User)(nil)).Where("1 = 1").Exec(t.Context()); err != nil {
					t.Fatal(err)
				}
				svc, err := NewUserServiceWith(db, testSettings())
				if err != nil {
					t.Fatal(err)
				}
				ids := map[string]int64{}
				for _, name := range c.admins {
					role := RoleAdmin
					if name == "joe" {
						role = RoleUser
					}
					u, err := svc.Create(t.Context(), CreateUserParams{Email: fmt.Sprintf("%s%d@example.com", name, ci), Username: fmt.Sprintf("%s%d", name, ci),
						Password: goodPassword, Role: role, Inactive: name == "off"})
					if err != nil {
						t.Fatal(err)
					}
					ids[name] = u.ID
				}
				for i, s := range c.steps {
					var err error
					if s.delete {
						err = svc.DeleteBy(t.Context(), ids[s.actor], ids[s.target])
					} else {
						p := s.params
						p.Actor = ids[s.actor]
						_, err = svc.Update(t.Context(), ids[s.target], p)
					}
					if !errors.Is(err, s.want) || (s.want == nil && err != nil) {
						t.Fatalf("step %d: %v, want %v", i, err, s.want)
					}
				}
			})
		}
	})
}

// TestPanelAdminRules: the dashboard's Deactivate button obeys the same
// rules: an admin signed in to the dashboard cannot deactivate their own
// account, and nobody the last active admin.
func TestPanelAdminRules(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		// Development without a login: the operator is this machine; only the
		// last-admin rule can apply.
		h, users, _ := dashboardApp(t, db, nil)
		tag := strings.ToLower(strings.NewReplacer("/", "-", "_", "-").Replace(t.Name()))
		sole, err := users.Create(t.Context(), CreateUserParams{Email: "sole-" + tag + "@example.com", Username: "sole" + fmt.Sprint(len(tag)) + "x", Password: goodPassword, Role: RoleAdmin})
		if err != nil {
			t.Fatal(err)
		}
		b := frontendtest.NewBrowser(t, h)
		// The page of the confirmation step (the deactivate form asks first): its form has the token.
		b.Get("/dashboard/panels/users?confirm=" + fmt.Sprint(sole.ID))
		rec := b.Post("/dashboard/panels/users/actions/deactivate", url.Values{"id": {fmt.Sprint(sole.ID)}}, true)
		if u, _ := users.Get(t.Context(), sole.ID); !u.Active {
			t.Fatalf("the panel deactivated the last active admin (status %d)", rec.Code)
		}

		// Production: an admin signed in to the dashboard.
		hp, _, _ := dashboardApp(t, db, &frontend.Opts{Production: true})
		other, err := users.Create(t.Context(), CreateUserParams{Email: "other-" + tag + "@example.com", Username: "other" + fmt.Sprint(len(tag)) + "x", Password: goodPassword, Role: RoleAdmin})
		if err != nil {
			t.Fatal(err)
		}
		bp := frontendtest.NewBrowser(t, hp)
		bp.Get(frontend.LoginPath)
		if rec := bp.Post(frontend.LoginPath, url.Values{"login": {other.Email}, "password": {goodPassword}, "next": {"/dashboard/panels/users"}}, false); rec.Code != http.StatusSeeOther {
			t.Fatalf("dashboard login: %d\n%s", rec.Code, rec.Body)
		}
		bp.Get("/dashboard/panels/users")
		rec = bp.Post("/dashboard/panels/users/actions/deactivate", url.Values{"id": {fmt.Sprint(other.ID)}}, true)
		if u, _ := users.Get(t.Context(), other.ID); !u.Active {
			t.Fatalf("an admin deactivated themselves from the dashboard (status %d)", rec.Code)
		}
		if body := rec.Body.String(); !strings.Contains(body, "your own account") {
			t.Errorf("the refusal does not say why:\n%s", body)
		}
		// Another admin's account: allowed (two are active).
		bp.Get("/dashboard/panels/users")
		bp.Post("/dashboard/panels/users/actions/deactivate", url.Values{"id": {fmt.Sprint(sole.ID)}}, true)
		if u, _ := users.Get(t.Context(), sole.ID); u.Active {
			t.Fatal("an admin could not deactivate another admin")
		}
	})
}

// TestUpdateDuringChange: Update writes every column of the account, so it
// must read the row it writes in the same transaction. Each case changes the
// account in a transaction held open while Update starts, then commits; the
// account must keep that change as well as Update's. Before, Update read the
// row first: a user's own profile edit reactivated the account an admin had
// just deactivated, or gave back the admin role just taken.
func TestUpdateDuringChange(t *testing.T) {
	f := false
	name := "Renamed"
	cases := []struct {
		name   string
		admin  bool   // the account is an admin (a second admin exists either way)
		set    string // the concurrent change, an UPDATE's SET clause
		params UpdateUserParams
		check  func(u *User) string
	}{
		{"a profile edit keeps a deactivation", false, "active = FALSE", UpdateUserParams{FullName: &name},
			func(u *User) string {
				if u.Active || u.FullName != name {
					return fmt.Sprintf("active %v, name %q; want inactive, %q", u.Active, u.FullName, name)
				}
				return ""
			}},
		{"a profile edit keeps a demotion", true, "role = 'user'", UpdateUserParams{FullName: &name},
			func(u *User) string {
				if u.Role != RoleUser || u.FullName != name {
					return fmt.Sprintf("role %s, name %q; want user, %q", u.Role, u.FullName, name)
				}
				return ""
			}},
		{"a deactivation keeps a rename", false, "full_name = 'Renamed'", UpdateUserParams{Active: &f},
			func(u *User) string {
				if u.Active || u.FullName != name {
					return fmt.Sprintf("active %v, name %q; want inactive, %q", u.Active, u.FullName, name)
				}
				return ""
			}},
	}
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		svc, err := NewUserServiceWith(db, testSettings())
		if err != nil {
			t.Fatal(err)
		}
		createUser(t, svc, CreateUserParams{Email: "keeper@example.com", Username: "keeper", Password: goodPassword, Role: RoleAdmin})
		for i, c := range cases {
			role := RoleUser
			if c.admin {
				role = RoleAdmin
			}
			u := createUser(t, svc, CreateUserParams{Email: fmt.Sprintf("during%d@example.com", i), Username: fmt.Sprintf("during%d", i), Password: goodPassword, Role: role})
			err := whileHeld(t, db, func(ctx context.Context, tx bun.Tx) error {
				_, err := tx.ExecContext(ctx, "UPDATE auth_users SET "+c.set+" WHERE id = ?", u.ID)
				return err
			}, func() error {
				_, err := svc.Update(t.Context(), u.ID, c.params)
				return err
			})
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			got, err := svc.Get(t.Context(), u.ID)
			if err != nil {
				t.Fatal(err)
			}
			if msg := c.check(got); msg != "" {
				t.Errorf("%s: %s", c.name, msg)
			}
		}
	})
}

// whileHeld runs op while the changes hold makes wait, uncommitted, in a
// transaction: op starts, and once it waits for the rows held (or is done
// without), the transaction commits and op's result is returned.
func whileHeld[T any](t *testing.T, db *database.DB, hold func(ctx context.Context, tx bun.Tx) error, op func() T) T {
	t.Helper()
	tx, err := db.Bun().BeginTx(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := hold(t.Context(), tx); err != nil {
		_ = tx.Rollback()
		t.Fatal(err)
	}
	done := make(chan T, 1)
	go func() { done <- op() }()
	var r T
	finished := false
	select {
	case r = <-done:
		finished = true
	case <-time.After(200 * time.Millisecond):
		waitForLockWait(t, db)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if !finished {
		r = <-done
	}
	return r
}

// waitForLockWait returns once another transaction waits for a lock that an
// open transaction of the test holds. PostgreSQL shows it in
// pg_stat_activity; SQLite shows nothing, so there it waits a while (within
// DATABASE_BUSY_TIMEOUT): too short a wait only lets the test pass.
func waitForLockWait(t *testing.T, db *database.DB) {
	t.Helper()
	if db.Engine() != database.Postgres {
		time.Sleep(300 * time.Millisecond)
		return
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		var n int
		err := db.Bun().NewRaw("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'").Scan(t.Context(), &n)
		if err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("no transaction waited for the held row lock within 10s")
}
