package auth

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/aegisgo/aegis/template/internal/components/database"
	"github.com/aegisgo/aegis/template/internal/components/database/databasetest"
	"github.com/aegisgo/aegis/template/internal/components/frontend/frontendtest"
)

// emails returns the emails of a List's users, in order.
func emails(t *testing.T, users *UserService, p ListUsersParams) []string {
	t.Helper()
	res, err := users.List(t.Context(), p)
	if err != nil {
		t.Fatalf("List(%+v): %v", p, err)
	}
	out := []string{}
	for _, u := range res.Users {
		out = append(out, u.Email)
	}
	if !res.TotalCapped && res.Total != len(out) && p.Page <= 1 {
		t.Errorf("List(%+v): total %d for %d users", p, res.Total, len(out))
	}
	return out
}

// TestListSearch: a search of 3 or more characters finds a substring of the
// email, username or full name, in any case and NFKC form; 1 or 2 characters
// match the start of the email or username; the index follows every create,
// update and delete.
func TestListSearch(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		f := setup(t, db, nil)
		ctx := t.Context()
		mk := func(email, username, name string) *User {
			t.Helper()
			u, err := f.users.Create(ctx, CreateUserParams{Email: email, Username: username, FullName: name, Password: goodPassword})
			if err != nil {
				t.Fatal(err)
			}
			return u
		}
		mk("alice@example.com", "Alice", "Alice Liddell")
		bob := mk("bob@builders.org", "BobTheBuilder", "Robert Müller")
		carol := mk("carol@example.net", "carol99", "José Núñez")
		for _, c := range []struct {
			q    string
			want []string
		}{
			{"LIDDELL", []string{"alice@example.com"}},                           // full name, upper case
			{"thebuil", []string{"bob@builders.org"}},                            // username, lower case
			{"@EXAMPLE", []string{"alice@example.com", "carol@example.net"}},     // email, oldest first
			{"  example.  ", []string{"alice@example.com", "carol@example.net"}}, // trimmed
			{"MÜLLER", []string{"bob@builders.org"}},                             // non-ASCII case
			{"ｊｏｓé", []string{"carol@example.net"}},                              // full-width: NFKC
			{"núñez", []string{"carol@example.net"}},
			{"Jose\u0301", []string{"carol@example.net"}}, // decomposed é: NFKC composes it
			{"l99", []string{"carol@example.net"}},
			{"a", []string{"alice@example.com"}}, // 1 character: start of email or username
			{"BO", []string{"bob@builders.org"}}, // 2 characters, any case
			{"ca", []string{"carol@example.net"}},
			{"ro", []string{}}, // "Robert" is a full name: not a prefix match
			{"%", []string{}},  // wildcards are text
			{"_", []string{}},
			{"a%e", []string{}},
			{`"ali`, []string{}}, // FTS5 syntax is text too
			{"xyz", []string{}},
			{"", []string{"alice@example.com", "bob@builders.org", "carol@example.net"}},
		} {
			if got := emails(t, f.users, ListUsersParams{Query: c.q}); !slices.Equal(got, c.want) {
				t.Errorf("search %q = %v, want %v", c.q, got, c.want)
			}
		}
		// Filters combine with the search.
		f2 := false
		if _, err := f.users.Update(ctx, carol.ID, UpdateUserParams{Active: &f2}); err != nil {
			t.Fatal(err)
		}
		if got := emails(t, f.users, ListUsersParams{Query: "example", Active: &f2}); !slices.Equal(got, []string{"carol@example.net"}) {
			t.Errorf("inactive matching example = %v", got)
		}
		if got := emails(t, f.users, ListUsersParams{Query: "ca", Role: RoleAdmin}); len(got) != 0 {
			t.Errorf("admins starting with ca = %v", got)
		}

		// Update: the old text is gone from the index, the new one is in.
		email, name := "robert@masons.org", "Bob Mason"
		if _, err := f.users.Update(ctx, bob.ID, UpdateUserParams{Email: &email, FullName: &name}); err != nil {
			t.Fatal(err)
		}
		for q, want := range map[string][]string{"müller": {}, "builders": {}, "thebuilder": {email}, "mason": {email}, "ro": {email}, "bo": {email}} {
			if got := emails(t, f.users, ListUsersParams{Query: q}); !slices.Equal(got, want) {
				t.Errorf("after update, search %q = %v, want %v", q, got, want)
			}
		}
		// Delete.
		if err := f.users.Delete(ctx, carol.ID); err != nil {
			t.Fatal(err)
		}
		if got := emails(t, f.users, ListUsersParams{Query: "núñez"}); len(got) != 0 {
			t.Errorf("after delete: %v", got)
		}
		// Create.
		mk("dave@example.com", "dave", "David Núñez")
		if got := emails(t, f.users, ListUsersParams{Query: "NÚÑEZ"}); !slices.Equal(got, []string{"dave@example.com"}) {
			t.Errorf("after create: %v", got)
		}
		// Short queries beyond ASCII: the prefix range holds every code point.
		mk("Émile😀@exämple.fr", "emile", "Émile Zola")
		for q, want := range map[string][]string{"É": {"émile😀@exämple.fr"}, "éM": {"émile😀@exämple.fr"},
			"e": {"émile😀@exämple.fr"}, "😀": {}, "le😀": {"émile😀@exämple.fr"}} {
			if got := emails(t, f.users, ListUsersParams{Query: q}); !slices.Equal(got, want) {
				t.Errorf("search %q = %v, want %v", q, got, want)
			}
		}
	})
}

// addUsers inserts n accounts user<i>@example.com (i from 1) in one
// statement, search_text as the app writes it; the triggers index them.
func addUsers(t *testing.T, db *database.DB, n int) {
	t.Helper()
	q := `WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < ?)
INSERT INTO auth_users (email, username, full_name, password_hash, role, active, search_text, created_at, updated_at)
SELECT 'user' || i || '@example.com', 'user' || i, 'Test User ' || i, 'x', 'user', TRUE,
	'user' || i || '@example.com' || char(10) || 'user' || i || char(10) || 'test user ' || i, ?, ?
FROM seq`
	if db.Engine() == database.Postgres {
		q = strings.ReplaceAll(q, "char(10)", "chr(10)")
	}
	ts := now()
	if _, err := db.Bun().ExecContext(t.Context(), q, n, ts, ts); err != nil {
		t.Fatal(err)
	}
}

// TestListTotalCapped: past TotalCap matches List stops counting and says so;
// the last page and small results stay exact.
func TestListTotalCapped(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		f := setup(t, db, nil)
		n := TotalCap + 150
		addUsers(t, db, n)
		for _, c := range []struct {
			p      ListUsersParams
			total  int
			capped bool
			rows   int
		}{
			{ListUsersParams{}, TotalCap, true, DefaultPageSize},
			{ListUsersParams{Query: "example"}, TotalCap, true, DefaultPageSize},
			{ListUsersParams{Query: "u"}, TotalCap, true, DefaultPageSize},
			{ListUsersParams{Page: 3, PerPage: 100}, n, false, 100}, // 200+TotalCap > n: exact
			{ListUsersParams{Query: "user", Page: 2, PerPage: 100}, 100 + TotalCap, true, 100},
			{ListUsersParams{Page: 102, PerPage: 100}, n, false, 50}, // last page: exact, not counted
			{ListUsersParams{Page: 103, PerPage: 100}, n, false, 0},  // past the end
			{ListUsersParams{Query: "user1000"}, 11, false, 11},      // 1000, 10000..10009
			{ListUsersParams{Query: "user100", PerPage: 5}, 111, false, 5},
			{ListUsersParams{Query: "user1016", Page: 2, PerPage: 1}, 1, false, 0},
		} {
			res, err := f.users.List(t.Context(), c.p)
			if err != nil {
				t.Fatal(err)
			}
			if res.Total != c.total || res.TotalCapped != c.capped || len(res.Users) != c.rows {
				t.Errorf("List(%+v) = total %d capped %v, %d rows; want %d %v %d", c.p, res.Total, res.TotalCapped, len(res.Users), c.total, c.capped, c.rows)
			}
		}
		// Oldest first, on every path: page 2 of 3 per page.
		for q, first := range map[string]string{"user1000": "user10002@example.com", "u": "user4@example.com", "US": "user4@example.com", "": "user4@example.com"} {
			res, err := f.users.List(t.Context(), ListUsersParams{Query: q, Page: 2, PerPage: 3})
			if err != nil || len(res.Users) != 3 || res.Users[0].Email != first {
				t.Errorf("List(%q, page 2 of 3) = %+v, %v: want %s first", q, res, err, first)
			}
		}
		if db.Engine() == database.SQLite {
			// Every account starts with "u": the page walks the primary key
			// (no sort of 10,000 rows), the count both indexes up to its limit.
			dense := ListUsersParams{Query: "u"}
			if got := plan(t, db, listSQL(t, f.users, dense, true)); strings.Contains(got, "TEMP B-TREE") || !strings.Contains(got, "SCAN user") {
				t.Errorf("dense prefix, rows plan:\n%s", got)
			}
			if got := plan(t, db, listSQL(t, f.users, dense, false)); !strings.Contains(got, "MULTI-INDEX OR") {
				t.Errorf("dense prefix, count plan:\n%s", got)
			}
		}
	})
}

// listSQL is the statement List runs for p's rows (ordered) or, unordered,
// the matches it counts.
func listSQL(t *testing.T, s *UserService, p ListUsersParams, ordered bool) string {
	t.Helper()
	dense, err := s.densePrefix(t.Context(), p.Query)
	if err != nil {
		t.Fatal(err)
	}
	var users []*User
	return s.listQuery(s.db.Bun().NewSelect().Model(&users), p, ordered, dense).Limit(MaxPageSize).String()
}

// plan returns the query plan of q, one line per node.
func plan(t *testing.T, db *database.DB, q string) string {
	t.Helper()
	var lines []string
	err := db.InTx(t.Context(), func(ctx context.Context, tx bun.Tx) error {
		explain := "EXPLAIN QUERY PLAN "
		if db.Engine() == database.Postgres {
			// The planner would rather scan a small table; what matters here is
			// that the index can serve the query.
			if _, err := tx.ExecContext(ctx, "SET LOCAL enable_seqscan = off"); err != nil {
				return err
			}
			explain = "EXPLAIN "
		}
		rows, err := tx.QueryContext(ctx, explain+q)
		if err != nil {
			return err
		}
		defer rows.Close()
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			for i := range vals {
				vals[i] = new(any)
			}
			if err := rows.Scan(vals...); err != nil {
				return err
			}
			lines = append(lines, fmt.Sprint(*vals[len(vals)-1].(*any)))
		}
		return rows.Err()
	})
	if err != nil {
		t.Fatalf("explain %s: %v", q, err)
	}
	return strings.Join(lines, "\n")
}

// TestListSearchPlan: searches go through an index, never a scan of every
// account: SQLite's plans have no SCAN of auth_users; PostgreSQL's, with
// sequential scans off, name the trigram and prefix indexes (without them the
// planner has no other way than a scan).
func TestListSearchPlan(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		f := setup(t, db, nil)
		addUsers(t, db, 3000)
		if _, err := db.Bun().ExecContext(t.Context(), "ANALYZE auth_users"); err != nil {
			t.Fatal(err)
		}
		pg := db.Engine() == database.Postgres
		f2 := false
		for _, c := range []struct {
			p    ListUsersParams
			want []string // PostgreSQL: indexes the plan uses
		}{
			{ListUsersParams{Query: "user1234"}, []string{"auth_users_search_trgm_idx"}},
			{ListUsersParams{Query: "Test User 99", Active: &f2}, []string{"auth_users_search_trgm_idx"}},
			// Every account starts with "u": the planner would rightly scan.
			{ListUsersParams{Query: "ab"}, []string{"auth_users_email_prefix_idx", "auth_users_username_prefix_idx"}},
			{ListUsersParams{Query: "x", Role: RoleAdmin}, []string{"auth_users_email_prefix_idx", "auth_users_username_prefix_idx"}},
		} {
			if pg {
				// The planner may walk the primary key of a table this small
				// for the ordered page; the matches it counts show the index
				// serves the search.
				q := listSQL(t, f.users, c.p, false)
				got := plan(t, db, q)
				for _, idx := range c.want {
					if !strings.Contains(got, idx) {
						t.Errorf("%+v: plan does not use %s:\n%s\n%s", c.p, idx, got, q)
					}
				}
				continue
			}
			q := listSQL(t, f.users, c.p, true) + ";" + listSQL(t, f.users, c.p, false)
			got := plan(t, db, listSQL(t, f.users, c.p, true)) + "\n" + plan(t, db, listSQL(t, f.users, c.p, false))
			for _, line := range strings.Split(got, "\n") {
				if strings.HasPrefix(strings.TrimSpace(line), "SCAN ") && !strings.Contains(line, "VIRTUAL TABLE") {
					t.Errorf("%+v: plan scans a table:\n%s\n%s", c.p, got, q)
				}
			}
		}
	})
}

// TestPanelAndAPICappedTotal: past TotalCap accounts the panel says
// "10,000+ accounts" and the API sets total_capped.
func TestPanelAndAPICappedTotal(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		h, _, _ := dashboardApp(t, db, nil)
		addUsers(t, db, TotalCap+5)
		b := frontendtest.NewBrowser(t, h)
		if body := b.Get("/dashboard/panels/users"); !strings.Contains(body, "10,000+ accounts, the first 100 shown.") {
			t.Errorf("panel does not say 10,000+ accounts:\n%s", body)
		}
		if body := b.Get("/dashboard/panels/users?q=user123"); !strings.Contains(body, "11 accounts matching “user123”.") {
			t.Errorf("panel does not count the matches of user123:\n%s", body)
		}
		if body := b.Get("/dashboard/panels/users?q=U"); !strings.Contains(body, "10,000+ accounts starting with “U”") {
			t.Errorf("panel does not say what a short search matches:\n%s", body)
		}

		f := setup(t, db, nil)
		_, login := f.newAdmin(t)
		tok := login.AccessToken
		page := expect[UserPage](t, f.do(t, req{method: "GET", path: "/api/v1/users?per_page=5", token: tok}), http.StatusOK)
		if page.Total != TotalCap || !page.TotalCapped || len(page.Items) != 5 {
			t.Errorf("GET /api/v1/users = total %d capped %v, %d items", page.Total, page.TotalCapped, len(page.Items))
		}
		page = expect[UserPage](t, f.do(t, req{method: "GET", path: "/api/v1/users?q=ADMIN1@", token: tok}), http.StatusOK)
		if page.Total != 1 || page.TotalCapped || len(page.Items) != 1 {
			t.Errorf("GET /api/v1/users?q=ADMIN1@ = %+v", page)
		}
	})
}

// TestMigrationWithoutTrgm: a role that may create tables but not
// extensions (a managed database without pg_trgm, say) still migrates; the
// trigram index is left out and search answers the same through a scan.
func TestMigrationWithoutTrgm(t *testing.T) {
	t.Parallel()
	s := databasetest.Settings(t, database.Postgres) // empty, created by the test's superuser
	admin, err := database.Open(t.Context(), s)
	if err != nil {
		t.Fatal(err)
	}
	role := fmt.Sprintf("aegis_noext_%d", time.Now().UnixNano())
	for _, stmt := range []string{
		"CREATE ROLE " + role + " LOGIN",
		"GRANT CREATE, USAGE ON SCHEMA public TO " + role, // tables, but not CREATE on the database: no extension
	} {
		if _, err := admin.Bun().ExecContext(t.Context(), stmt); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { // after the role's connections are closed, before the database is dropped
		ctx := context.Background()
		for _, stmt := range []string{"DROP OWNED BY " + role, "DROP ROLE IF EXISTS " + role} {
			if _, err := admin.Bun().ExecContext(ctx, stmt); err != nil {
				t.Errorf("%s: %v", stmt, err)
			}
		}
		_ = admin.Close()
	})
	u, err := url.Parse(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.User(role)
	limited := s
	limited.URL = u.String()
	db, err := database.Open(t.Context(), limited)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if _, err := db.MigrateUp(t.Context()); err != nil {
		t.Fatalf("migrate without the right to create pg_trgm: %v", err)
	}
	var idx []string
	if err := db.Bun().NewSelect().ColumnExpr("indexname").TableExpr("pg_indexes").Where("tablename = 'auth_users'").Scan(t.Context(), &idx); err != nil {
		t.Fatal(err)
	}
	if slices.Contains(idx, "auth_users_search_trgm_idx") || !slices.Contains(idx, "auth_users_email_prefix_idx") {
		t.Errorf("indexes on auth_users: %v; want the prefix ones, not the trigram one", idx)
	}
	f := setup(t, db, nil)
	if _, err := f.users.Create(t.Context(), CreateUserParams{Email: "ada@example.com", Username: "ada", FullName: "Ada Lovelace", Password: goodPassword}); err != nil {
		t.Fatal(err)
	}
	if got := emails(t, f.users, ListUsersParams{Query: "LOVELACE"}); !slices.Equal(got, []string{"ada@example.com"}) {
		t.Errorf("search without pg_trgm = %v", got)
	}
}
