// Command datagen fills a generated app's database with finished River jobs and auth users, to
// measure what grows with data (issue 18). Run the app's migrations first (start the app once,
// or `<app> migrate up`): datagen writes into the real tables and never creates them.
//
//	datagen -db 'sqlite://data/app.db' -jobs 3000000 -users 200000
//	datagen -db 'postgres://postgres@127.0.0.1:5432/bench?sslmode=disable' -jobs 10000000 -users 1000000
//
// Jobs: 97% completed, 3% discarded (three failed attempts, their errors recorded), five kinds
// with JSON args, spread evenly over the 23 hours before now (inside River's default 24 h
// retention of completed jobs, so the cleaner leaves them alone while you measure). Users:
// user<N>@example.com / user<N>, with one shared argon2id hash, search_text filled like the app
// does, created over the last year; user 1 is an admin. Existing users of the same names are
// left alone. Rows are generated inside the database (a recursive CTE on SQLite,
// generate_series on PostgreSQL) in batches of -batch rows, one transaction each.
package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"
)

// hash is the argon2id hash of "correct horse battery staple 9" with the shipped parameters.
const hash = `$argon2id$v=19$m=19456,t=2,p=1$kjnL3/Z/CslsuJRlWZg1lw$OdbLeJpDUGtbnBJ4I9sa/S+mY22Yyj8CBoUOpWCIhCA`

func main() {
	dsn := flag.String("db", "sqlite://data/app.db", "the app's DATABASE_URL (sqlite://PATH or postgres://...)")
	jobs := flag.Int("jobs", 0, "river_job rows to add")
	users := flag.Int("users", 0, "auth_users rows to add (user1..userN)")
	batch := flag.Int("batch", 100000, "rows per statement and transaction")
	flag.Parse()
	if err := run(*dsn, *jobs, *users, *batch); err != nil {
		fmt.Fprintln(os.Stderr, "datagen:", err)
		os.Exit(1)
	}
}

func run(dsn string, jobs, users, batch int) error {
	ctx := context.Background()
	var db *sql.DB
	var err error
	pg := strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
	if pg {
		db, err = sql.Open("pgx", dsn)
	} else {
		path := strings.TrimPrefix(strings.TrimPrefix(dsn, "sqlite://"), "sqlite:")
		if _, err := os.Stat(path); err != nil {
			return fmt.Errorf("%s: %w (run the app's migrations first)", path, err)
		}
		// One connection, so the PRAGMAs hold for every statement. WAL like the app; no fsync
		// while loading (the data is disposable).
		db, err = sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(OFF)&_pragma=cache_size(-200000)")
		db.SetMaxOpenConns(1)
	}
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.PingContext(ctx); err != nil {
		return err
	}
	end := time.Now().UTC().Add(-5 * time.Minute)
	for _, f := range []struct {
		table            string
		sqlite, postgres string
		n                int
	}{
		{"river_job", jobsSQLite, jobsPostgres, jobs},
		{"auth_users", usersSQLite, usersPostgres, users},
	} {
		if f.n <= 0 {
			continue
		}
		q := f.sqlite
		if pg {
			q = f.postgres
		}
		if err := fill(ctx, db, f.table, q, f.n, batch, end); err != nil {
			return err
		}
	}
	if !pg {
		// What the app would see after its own ANALYZE-free life: nothing. Checkpoint so the
		// WAL does not make the first measured queries slower than the rest.
		_, _ = db.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)")
	} else {
		_, _ = db.ExecContext(ctx, "ANALYZE river_job")
		_, _ = db.ExecContext(ctx, "ANALYZE auth_users")
	}
	return nil
}

// fill runs q for rows [lo, hi) in batches; q takes $1=lo, $2=hi (exclusive), $3=total rows,
// $4=end time (RFC 3339), numbered the same for both engines.
func fill(ctx context.Context, db *sql.DB, table, q string, n, batch int, end time.Time) error {
	start := time.Now()
	for lo := 0; lo < n; lo += batch {
		hi := min(lo+batch, n)
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, q, lo, hi, n, end.Format("2006-01-02 15:04:05.000")); err != nil {
			_ = tx.Rollback()
			return fmt.Errorf("%s rows %d-%d: %w", table, lo, hi, err)
		}
		if err := tx.Commit(); err != nil {
			return err
		}
		el := time.Since(start)
		fmt.Fprintf(os.Stderr, "\r%s: %d/%d rows, %.1fs, %.0f rows/s ", table, hi, n, el.Seconds(), float64(hi)/el.Seconds())
	}
	fmt.Fprintln(os.Stderr)
	return nil
}

// Job n (0-based) of N: created at end - 23h + n*23h/N; attempted 20-120 ms later; finished
// 1-500 ms after that. n%100 < 3 is discarded after 3 attempts, the rest completed at the first.
const jobsSQLite = `
WITH RECURSIVE seq(n) AS (SELECT $1 UNION ALL SELECT n + 1 FROM seq WHERE n + 1 < $2),
r AS (SELECT n, n % 100 < 3 AS failed, n % 20 AS k,
	julianday($4) - 23.0 / 24 + (n * (23.0 / 24)) / $3 AS created FROM seq)
INSERT INTO river_job (args, attempt, attempted_at, attempted_by, created_at, errors, finalized_at,
	kind, max_attempts, metadata, priority, queue, state, scheduled_at, tags)
SELECT
	jsonb(CASE
		WHEN k < 8 THEN json_object('user_id', 1 + n % 200000, 'email', 'user' || (1 + n % 200000) || '@example.com')
		WHEN k < 14 THEN json_object('to', 'user' || (1 + n % 200000) || '@example.com', 'template', 'receipt', 'order_id', n)
		WHEN k < 16 THEN json_object('report', 'daily_sales', 'day', date(created), 'format', 'pdf')
		WHEN k < 19 THEN json_object('sku_from', n % 5000, 'sku_to', n % 5000 + 100)
		ELSE json_object('older_than', '720h') END),
	CASE WHEN failed THEN 3 ELSE 1 END,
	strftime('%Y-%m-%d %H:%M:%f', created + (20 + n % 100) / 86400000.0),
	jsonb('["app-7f9c4d8b6-x2k9q"]'),
	strftime('%Y-%m-%d %H:%M:%f', created),
	CASE WHEN failed THEN jsonb(json_array(
		json_object('at', strftime('%Y-%m-%dT%H:%M:%fZ', created), 'attempt', 1, 'error', 'smtp: 451 4.7.1 try again later', 'trace', ''),
		json_object('at', strftime('%Y-%m-%dT%H:%M:%fZ', created), 'attempt', 2, 'error', 'smtp: 451 4.7.1 try again later', 'trace', ''),
		json_object('at', strftime('%Y-%m-%dT%H:%M:%fZ', created), 'attempt', 3, 'error', 'smtp: 550 5.1.1 mailbox unavailable', 'trace', ''))) END,
	strftime('%Y-%m-%d %H:%M:%f', created + (20 + n % 100 + 1 + n % 500) / 86400000.0),
	CASE WHEN k < 8 THEN 'send_welcome' WHEN k < 14 THEN 'send_email' WHEN k < 16 THEN 'generate_report'
		WHEN k < 19 THEN 'sync_inventory' ELSE 'cleanup_sessions' END,
	CASE WHEN failed THEN 3 ELSE 25 END,
	jsonb('{}'),
	1,
	CASE WHEN k = 19 THEN 'system' ELSE 'default' END,
	CASE WHEN failed THEN 'discarded' ELSE 'completed' END,
	strftime('%Y-%m-%d %H:%M:%f', created),
	jsonb('[]')
FROM r`

const jobsPostgres = `
WITH r AS (SELECT n, n % 100 < 3 AS failed, n % 20 AS k,
	$4::timestamptz - interval '23 hours' + (n::float8 * 23 * 3600 / $3) * interval '1 second' AS created
	FROM generate_series($1::bigint, $2::bigint - 1) AS n)
INSERT INTO river_job (args, attempt, attempted_at, attempted_by, created_at, errors, finalized_at,
	kind, max_attempts, metadata, priority, queue, state, scheduled_at, tags)
SELECT
	CASE
		WHEN k < 8 THEN jsonb_build_object('user_id', 1 + n % 200000, 'email', 'user' || (1 + n % 200000) || '@example.com')
		WHEN k < 14 THEN jsonb_build_object('to', 'user' || (1 + n % 200000) || '@example.com', 'template', 'receipt', 'order_id', n)
		WHEN k < 16 THEN jsonb_build_object('report', 'daily_sales', 'day', created::date, 'format', 'pdf')
		WHEN k < 19 THEN jsonb_build_object('sku_from', n % 5000, 'sku_to', n % 5000 + 100)
		ELSE jsonb_build_object('older_than', '720h') END,
	CASE WHEN failed THEN 3 ELSE 1 END,
	created + (20 + n % 100) * interval '1 millisecond',
	ARRAY['app-7f9c4d8b6-x2k9q'],
	created,
	CASE WHEN failed THEN ARRAY[
		jsonb_build_object('at', created, 'attempt', 1, 'error', 'smtp: 451 4.7.1 try again later', 'trace', ''),
		jsonb_build_object('at', created, 'attempt', 2, 'error', 'smtp: 451 4.7.1 try again later', 'trace', ''),
		jsonb_build_object('at', created, 'attempt', 3, 'error', 'smtp: 550 5.1.1 mailbox unavailable', 'trace', '')] END,
	created + (20 + n % 100 + 1 + n % 500) * interval '1 millisecond',
	CASE WHEN k < 8 THEN 'send_welcome' WHEN k < 14 THEN 'send_email' WHEN k < 16 THEN 'generate_report'
		WHEN k < 19 THEN 'sync_inventory' ELSE 'cleanup_sessions' END,
	CASE WHEN failed THEN 3 ELSE 25 END,
	'{}'::jsonb,
	1,
	CASE WHEN k = 19 THEN 'system' ELSE 'default' END,
	(CASE WHEN failed THEN 'discarded' ELSE 'completed' END)::river_job_state,
	created,
	ARRAY[]::varchar(255)[]
FROM r`

// User n+1 (1-based names): created over the year before end; user1 is an admin; 1 in 50 is
// deactivated.
const usersSQLite = `
WITH RECURSIVE seq(n) AS (SELECT $1 UNION ALL SELECT n + 1 FROM seq WHERE n + 1 < $2),
r AS (SELECT n + 1 AS i, strftime('%Y-%m-%d %H:%M:%f+00:00', julianday($4) - 365 + (n * 365.0) / $3) AS created FROM seq)
INSERT OR IGNORE INTO auth_users (email, username, full_name, password_hash, role, active, search_text, created_at, updated_at)
SELECT 'user' || i || '@example.com', 'user' || i, 'Bench User ' || i, '` + hash + `',
	CASE WHEN i = 1 THEN 'admin' ELSE 'user' END, i % 50 <> 0,
	'user' || i || '@example.com' || char(10) || 'user' || i || char(10) || 'bench user ' || i,
	created, created
FROM r`

const usersPostgres = `
WITH r AS (SELECT n + 1 AS i, $4::timestamptz - interval '365 days' + (n::float8 * 365 * 86400 / $3) * interval '1 second' AS created
	FROM generate_series($1::bigint, $2::bigint - 1) AS n)
INSERT INTO auth_users (email, username, full_name, password_hash, role, active, search_text, created_at, updated_at)
SELECT 'user' || i || '@example.com', 'user' || i, 'Bench User ' || i, '` + hash + `',
	CASE WHEN i = 1 THEN 'admin' ELSE 'user' END, i % 50 <> 0,
	'user' || i || '@example.com' || chr(10) || 'user' || i || chr(10) || 'bench user ' || i,
	created, created
FROM r
ON CONFLICT DO NOTHING`
