// Command querytime times the queries behind the health endpoints and dashboard panels on a
// database filled by datagen, next to rewrites that could replace them (issue 18), in the
// app's own SQLite engine (modernc.org/sqlite) or on PostgreSQL: the query plan, then the
// median and max of -runs executions (all rows read and discarded).
//
//	querytime -db 'sqlite://data/app.db'
//	querytime -db 'postgres://postgres@127.0.0.1:5432/aegis_bench_lean?sslmode=disable'
package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"
)

// top is the greatest code point: [p, p+top) holds the strings that start with p (the prefix
// searches of UserService.List).
const top = "\U0010FFFF"

// fts marks the queries that need the auth_users_fts table (SQLite, auth migration 00003):
// skipped on a database without it.
// sqliteOnly marks the queries only List on SQLite runs.
type query struct {
	name, sqlite, postgres string
	fts, sqliteOnly        bool
}

// Same text on both engines unless postgres is set.
var queries = slices.Concat([]query{
	{name: "count now (worker/health.go Count)",
		sqlite:   `SELECT queue, state, count(*) FROM river_job WHERE state <> 'completed' GROUP BY queue, state`,
		postgres: `SELECT queue, state::text, count(*) FROM river_job WHERE state <> 'completed' GROUP BY queue, state`},
	{name: "count, states listed",
		sqlite:   `SELECT queue, state, count(*) FROM river_job WHERE state IN ('available','cancelled','discarded','pending','retryable','running','scheduled') GROUP BY queue, state`,
		postgres: `SELECT queue, state::text, count(*) FROM river_job WHERE state IN ('available','cancelled','discarded','pending','retryable','running','scheduled') GROUP BY queue, state`},
	{name: "count, live states only (no discarded/cancelled)",
		sqlite:   `SELECT queue, state, count(*) FROM river_job WHERE state IN ('available','pending','retryable','running','scheduled') GROUP BY queue, state`,
		postgres: `SELECT queue, state::text, count(*) FROM river_job WHERE state IN ('available','pending','retryable','running','scheduled') GROUP BY queue, state`},
	{name: "discarded in the last hour (partial index state, finalized_at)",
		sqlite:   `SELECT count(*) FROM river_job WHERE state = 'discarded' AND finalized_at IS NOT NULL AND finalized_at > strftime('%Y-%m-%d %H:%M:%f', 'now', '-1 hour')`,
		postgres: `SELECT count(*) FROM river_job WHERE state = 'discarded' AND finalized_at IS NOT NULL AND finalized_at > now() - interval '1 hour'`},
	{name: "recent now (panel: NewJobListParams, all 8 states)",
		sqlite: `SELECT id, kind, state FROM river_job WHERE state IN ('available','cancelled','completed','discarded','pending','retryable','running','scheduled') ORDER BY id DESC LIMIT 15`},
	{name: "recent, no state filter",
		sqlite: `SELECT id, kind, state FROM river_job ORDER BY id DESC LIMIT 15`},
	{name: "failed now (panel: States(retryable, discarded) by id)",
		sqlite: `SELECT id, kind, state FROM river_job WHERE state IN ('retryable','discarded') ORDER BY id DESC LIMIT 15`},
	{name: "failed: discarded by finalized_at (one state)",
		sqlite: `SELECT id, kind, state FROM river_job WHERE state = 'discarded' AND finalized_at IS NOT NULL ORDER BY finalized_at DESC, id DESC LIMIT 15`},
	{name: "failed: retryable (one state)",
		sqlite: `SELECT id, kind, state FROM river_job WHERE state = 'retryable' ORDER BY id DESC LIMIT 15`},
	// After the fixes (issue 18): the SQL the app now sends, as River 0.49's dblist writes it.
	{name: "fixed: Count (live states + last hour's failures)",
		sqlite: `SELECT queue, state, count(*) FROM river_job WHERE state IN ('available', 'pending', 'retryable', 'running', 'scheduled') GROUP BY queue, state
UNION ALL SELECT NULL, state, count(*) FROM river_job WHERE state IN ('cancelled', 'discarded') AND finalized_at IS NOT NULL AND finalized_at >= strftime('%Y-%m-%d %H:%M:%f', 'now', '-1 hour') GROUP BY state`,
		postgres: `SELECT queue, state::text, count(*) FROM river_job WHERE state IN ('available', 'pending', 'retryable', 'running', 'scheduled') GROUP BY queue, state
UNION ALL SELECT NULL, state::text, count(*) FROM river_job WHERE state IN ('cancelled', 'discarded') AND finalized_at IS NOT NULL AND finalized_at >= now() - interval '1 hour' GROUP BY state`},
	{name: "fixed: recent (States(), ORDER BY id DESC)",
		sqlite: `SELECT * FROM river_job WHERE true ORDER BY id DESC LIMIT 15`},
	{name: "fixed: failed, retryable by id",
		sqlite: `SELECT * FROM river_job WHERE state = 'retryable' ORDER BY id DESC LIMIT 15`},
	{name: "fixed: failed, discarded by finalized_at (NULLS FIRST)",
		sqlite: `SELECT * FROM river_job WHERE state = 'discarded' AND finalized_at IS NOT NULL ORDER BY finalized_at DESC NULLS FIRST, id DESC LIMIT 15`},
	{name: "fixed: readiness (database ping)",
		sqlite: `SELECT 1`},
	{name: "users search now (auth List: LIKE + count)",
		sqlite: `SELECT count(*) FROM auth_users WHERE search_text LIKE '%user19999%' ESCAPE '\'`},
	{name: "users search, rows only (LIKE, LIMIT 100)",
		sqlite: `SELECT id FROM auth_users WHERE search_text LIKE '%user19999%' ESCAPE '\' ORDER BY id LIMIT 100`},
	{name: "users search, email prefix (unique index on email)",
		sqlite: `SELECT id FROM auth_users WHERE email >= 'user19999' AND email < 'user1999:' ORDER BY email LIMIT 100`},
	{name: "users page 1 without search (count)",
		sqlite: `SELECT count(*) FROM auth_users`},
},
	// After the fix (auth migration 00003, UserService.List): the statements bun writes.
	ftsSearch("users search after: FTS5 trigram / pg_trgm, rows (LIMIT 100)", "user19999"),
	ftsSearch("search matching every user ('example'), rows", "example"),
	[]query{
		{name: "search 1-2 characters ('zz'): email/username prefix, rows",
			sqlite:   `SELECT u.id FROM auth_users AS u WHERE u.id IN (SELECT id FROM auth_users WHERE email >= 'zz' AND email < 'u9􏿿' UNION SELECT id FROM auth_users WHERE lower(username) >= 'zz' AND lower(username) < 'u9􏿿') ORDER BY u.id LIMIT 100`,
			postgres: `SELECT u.id FROM auth_users AS u WHERE (u.email LIKE 'zz%' OR lower(u.username) LIKE 'zz%') ORDER BY u.id LIMIT 100`},
		{name: "same, count capped at 10,001",
			sqlite:   `SELECT count(*) FROM (SELECT 1 FROM auth_users AS u WHERE u.id IN (SELECT id FROM auth_users WHERE email >= 'zz' AND email < 'u9􏿿' UNION SELECT id FROM auth_users WHERE lower(username) >= 'zz' AND lower(username) < 'u9􏿿') LIMIT 10001)`,
			postgres: `SELECT count(*) FROM (SELECT 1 FROM auth_users AS u WHERE (u.email LIKE 'zz%' OR lower(u.username) LIKE 'zz%') LIMIT 10001) AS m`},
		{name: "search 1 character matching every user ('u'), prefix via the indexes, rows",
			sqlite:   `SELECT u.id FROM auth_users AS u WHERE u.id IN (SELECT id FROM auth_users WHERE email >= 'u' AND email < 'u` + top + `' UNION SELECT id FROM auth_users WHERE lower(username) >= 'u' AND lower(username) < 'u` + top + `') ORDER BY u.id LIMIT 100`,
			postgres: `SELECT u.id FROM auth_users AS u WHERE (u.email LIKE 'u%' OR lower(u.username) LIKE 'u%') ORDER BY u.id LIMIT 100`},
		{name: "same, dense (List's probe: >= 5000 in an index), rows by id", sqliteOnly: true,
			sqlite: `SELECT u.id FROM auth_users AS u WHERE ((+u.email >= 'u' AND +u.email < 'u` + top + `') OR (+lower(u.username) >= 'u' AND +lower(u.username) < 'u` + top + `')) ORDER BY u.id LIMIT 100`},
		{name: "same, dense, count capped at 10,001",
			sqlite:   `SELECT count(*) FROM (SELECT 1 FROM auth_users AS u WHERE ((u.email >= 'u' AND u.email < 'u` + top + `') OR (lower(u.username) >= 'u' AND lower(u.username) < 'u` + top + `')) LIMIT 10001)`,
			postgres: `SELECT count(*) FROM (SELECT 1 FROM auth_users AS u WHERE (u.email LIKE 'u%' OR lower(u.username) LIKE 'u%') LIMIT 10001) AS m`},
		{name: "the probe: prefix count in one index, capped at 5000", sqliteOnly: true,
			sqlite: `SELECT count(*) FROM (SELECT 1 FROM auth_users WHERE email >= 'u' AND email < 'u` + top + `' LIMIT 5000)`},
		{name: "users page 1 without search, count capped at 10,001",
			sqlite:   `SELECT count(*) FROM (SELECT 1 FROM auth_users AS u LIMIT 10001)`,
			postgres: `SELECT count(*) FROM (SELECT 1 FROM auth_users AS u LIMIT 10001) AS m`},
	})

// ftsSearch is the pair of statements bun writes for a List search for term
// with FTS5 trigram (SQLite) or pg_trgm: the rows (name) and the capped count.
func ftsSearch(name, term string) []query {
	match := `u.search_text LIKE '%` + term + `%' ESCAPE '\'`
	fts := `auth_users AS u JOIN auth_users_fts AS fts ON fts.rowid = u.id WHERE fts.auth_users_fts MATCH '"` + term + `"' AND ` + match
	return []query{
		{name: name, fts: true,
			sqlite:   `SELECT u.id FROM ` + fts + ` ORDER BY fts.rowid LIMIT 100`,
			postgres: `SELECT u.id FROM auth_users AS u WHERE ` + match + ` ORDER BY u.id LIMIT 100`},
		{name: "same, count capped at 10,001", fts: true,
			sqlite:   `SELECT count(*) FROM (SELECT 1 FROM ` + fts + ` LIMIT 10001)`,
			postgres: `SELECT count(*) FROM (SELECT 1 FROM auth_users AS u WHERE ` + match + ` LIMIT 10001) AS m`},
	}
}

func main() {
	dsn := flag.String("db", "sqlite://data/app.db", "the app's DATABASE_URL")
	runs := flag.Int("runs", 5, "executions per query")
	flag.Parse()
	ctx := context.Background()
	pg := strings.HasPrefix(*dsn, "postgres")
	var db *sql.DB
	var err error
	if pg {
		db, err = sql.Open("pgx", *dsn)
	} else {
		db, err = sql.Open("sqlite", "file:"+strings.TrimPrefix(strings.TrimPrefix(*dsn, "sqlite://"), "sqlite:")+"?mode=ro&_pragma=busy_timeout(5000)")
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "querytime:", err)
		os.Exit(1)
	}
	defer db.Close()
	var hasFTS bool
	if !pg {
		_ = db.QueryRowContext(ctx, "SELECT count(*) > 0 FROM sqlite_master WHERE name = 'auth_users_fts'").Scan(&hasFTS)
	}
	for _, q := range queries {
		if q.sqliteOnly && pg {
			continue
		}
		if q.fts && !pg && !hasFTS {
			fmt.Printf("%-62s (no auth_users_fts: auth migration 00003 not applied)\n", q.name)
			continue
		}
		text := q.sqlite
		if pg && q.postgres != "" {
			text = q.postgres
		}
		plan := explain(ctx, db, pg, text)
		var times []time.Duration
		var rows int
		failed := false
		for range *runs {
			start := time.Now()
			n, err := run(ctx, db, text)
			if err != nil { // a table the database lacks (no users generated): say so, go on
				fmt.Printf("%-62s %v\n", q.name, err)
				failed = true
				break
			}
			times = append(times, time.Since(start))
			rows = n
		}
		if failed {
			continue
		}
		slices.Sort(times)
		fmt.Printf("%-62s median %9.2f ms  max %9.2f ms  rows %d\n    plan: %s\n", q.name,
			ms(times[len(times)/2]), ms(times[len(times)-1]), rows, plan)
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func run(ctx context.Context, db *sql.DB, q string) (int, error) {
	rows, err := db.QueryContext(ctx, q)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	vals := make([]any, len(cols))
	for i := range vals {
		vals[i] = new(any)
	}
	n := 0
	for rows.Next() {
		if err := rows.Scan(vals...); err != nil {
			return n, err
		}
		n++
	}
	return n, rows.Err()
}

func explain(ctx context.Context, db *sql.DB, pg bool, q string) string {
	prefix := "EXPLAIN QUERY PLAN "
	if pg {
		prefix = "EXPLAIN "
	}
	rows, err := db.QueryContext(ctx, prefix+q)
	if err != nil {
		return "(" + err.Error() + ")"
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out []string
	for rows.Next() {
		vals := make([]any, len(cols))
		for i := range vals {
			vals[i] = new(any)
		}
		if rows.Scan(vals...) != nil {
			break
		}
		out = append(out, fmt.Sprint(*(vals[len(vals)-1].(*any))))
	}
	return strings.Join(out, " | ")
}
