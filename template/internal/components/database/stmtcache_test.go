package database

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"

	"modernc.org/sqlite"
)

// openCaching opens a fresh SQLite file through the caching connector, one connection.
func openCaching(t *testing.T, size int) *sql.DB {
	t.Helper()
	conns, err := sqlite.NewConnector(filepath.Join(t.TempDir(), "c.db") + "?_pragma=journal_mode(WAL)")
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(cachingConnector{Connector: conns, size: size})
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { _ = db.Close() })
	if _, err := db.Exec(`CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	return db
}

// cacheOf runs fn with the pool's one connection's cache.
func cacheOf(t *testing.T, db *sql.DB, fn func(c *cachingConn)) {
	t.Helper()
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.Raw(func(dc any) error { fn(dc.(*cachingConn)); return nil }); err != nil {
		t.Fatal(err)
	}
}

func nameOf(t *testing.T, q interface {
	QueryRow(string, ...any) *sql.Row
}, id int) string {
	t.Helper()
	var name string
	if err := q.QueryRow(`SELECT name FROM t WHERE id = ?`, id).Scan(&name); err != nil {
		t.Fatalf("select %d: %v", id, err)
	}
	return name
}

// A statement run with arguments is prepared once per connection and reused; SQL without
// arguments (bun inlines its values) runs once each time and is not kept.
func TestStmtCacheReuses(t *testing.T) {
	db := openCaching(t, 8)
	for i := 1; i <= 50; i++ {
		if _, err := db.Exec(`INSERT INTO t (id, name) VALUES (?, ?)`, i, "n"+string(rune('a'+i%26))); err != nil {
			t.Fatal(err)
		}
	}
	for i := 1; i <= 50; i++ {
		if got, want := nameOf(t, db, i), "n"+string(rune('a'+i%26)); got != want {
			t.Fatalf("row %d: %q, want %q", i, got, want)
		}
	}
	for i := 0; i < 10; i++ {
		var n int
		if err := db.QueryRow(`SELECT count(*) FROM t WHERE id > 25`).Scan(&n); err != nil || n != 25 {
			t.Fatalf("count: %d, %v", n, err)
		}
	}
	cacheOf(t, db, func(c *cachingConn) {
		if c.prepared != 2 || c.reused != 98 || c.lru.Len() != 2 {
			t.Errorf("prepared %d, reused %d, kept %d; want 2, 98, 2 (the insert and the select)", c.prepared, c.reused, c.lru.Len())
		}
	})
}

// Rows of a kept statement still open (inside a transaction, on the same connection): running
// the same SQL again runs it once on its own, and both read their own rows.
func TestStmtCacheBusy(t *testing.T) {
	db := openCaching(t, 8)
	for i := 1; i <= 4; i++ {
		if _, err := db.Exec(`INSERT INTO t (id, name) VALUES (?, ?)`, i, string(rune('a'+i-1))); err != nil {
			t.Fatal(err)
		}
	}
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback() }()
	const q = `SELECT name FROM t WHERE id >= ? ORDER BY id`
	outer, err := tx.Query(q, 1)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for outer.Next() {
		var name string
		if err := outer.Scan(&name); err != nil {
			t.Fatal(err)
		}
		inner, err := tx.Query(q, 3)
		if err != nil {
			t.Fatal(err)
		}
		var tail string
		for inner.Next() {
			var n string
			if err := inner.Scan(&n); err != nil {
				t.Fatal(err)
			}
			tail += n
		}
		if err := inner.Close(); err != nil {
			t.Fatal(err)
		}
		got = append(got, name+":"+tail)
	}
	if err := outer.Close(); err != nil {
		t.Fatal(err)
	}
	if want := "[a:cd b:cd c:cd d:cd]"; fmt.Sprint(got) != want {
		t.Errorf("outer:inner rows = %s, want %s", got, want)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	cacheOf(t, db, func(c *cachingConn) {
		e := c.byText[q]
		if e == nil || e.Value.(*cachedStmt).busy {
			t.Errorf("the select is not kept, or still marked busy after its rows closed")
		}
	})
}

// The least recently used statement goes when the cache is full; one whose rows are open when
// it goes is closed with its rows.
func TestStmtCacheEviction(t *testing.T) {
	db := openCaching(t, 2)
	if _, err := db.Exec(`INSERT INTO t (id, name) VALUES (1, 'a'), (2, 'b')`); err != nil {
		t.Fatal(err)
	}
	queries := []string{
		`SELECT name FROM t WHERE id = ?`,
		`SELECT name FROM t WHERE id = ? AND 1`,
		`SELECT name FROM t WHERE id = ? AND 2`,
	}
	for _, q := range queries {
		var n string
		if err := db.QueryRow(q, 1).Scan(&n); err != nil || n != "a" {
			t.Fatalf("%s: %q, %v", q, n, err)
		}
	}
	cacheOf(t, db, func(c *cachingConn) {
		if _, kept := c.byText[queries[0]]; kept || c.lru.Len() != 2 {
			t.Errorf("after 3 statements in a cache of 2: first kept %v, %d kept", kept, c.lru.Len())
		}
	})

	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback() }()
	rows, err := tx.Query(queries[1], 2) // kept, now busy
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{queries[0], queries[2], `SELECT name FROM t WHERE id = ? AND 3`} {
		var n string
		if err := tx.QueryRow(q, 1).Scan(&n); err != nil || n != "a" {
			t.Fatalf("%s: %q, %v", q, n, err)
		}
	}
	var n string
	if !rows.Next() || rows.Scan(&n) != nil || n != "b" {
		t.Fatalf("the evicted statement's rows: %q, %v", n, rows.Err())
	}
	if err := rows.Close(); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if got := nameOf(t, db, 2); got != "b" {
		t.Errorf("after the evictions: %q", got)
	}
}

// SQLite recompiles a kept statement after a schema change; a statement that fails is dropped
// and prepared afresh next time.
func TestStmtCacheSchemaChange(t *testing.T) {
	db := openCaching(t, 8)
	const q = `SELECT * FROM t WHERE id = ?`
	if _, err := db.Exec(`INSERT INTO t (id, name) VALUES (?, ?)`, 1, "a"); err != nil {
		t.Fatal(err)
	}
	columns := func() int {
		rows, err := db.Query(q, 1)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		cols, err := rows.Columns()
		if err != nil {
			t.Fatal(err)
		}
		return len(cols)
	}
	if n := columns(); n != 2 {
		t.Fatalf("%d columns, want 2", n)
	}
	if _, err := db.Exec(`ALTER TABLE t ADD COLUMN extra TEXT`); err != nil {
		t.Fatal(err)
	}
	if n := columns(); n != 3 {
		t.Errorf("after ALTER TABLE: %d columns, want 3", n)
	}
	if _, err := db.Exec(`DROP TABLE t`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Query(q, 1); err == nil {
		t.Fatal("query of a dropped table succeeded")
	}
	cacheOf(t, db, func(c *cachingConn) {
		if _, kept := c.byText[q]; kept {
			t.Error("the failed statement is still kept")
		}
	})
	if _, err := db.Exec(`CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO t (id, name) VALUES (?, ?)`, 1, "again"); err != nil {
		t.Fatal(err)
	}
	if got := nameOf(t, db, 1); got != "again" {
		t.Errorf("after re-creating the table: %q", got)
	}
}

func TestSingleStatement(t *testing.T) {
	for _, tt := range []struct {
		sql  string
		want bool
	}{
		{`SELECT 1`, true},
		{"SELECT 1;\n", true},
		{`SELECT 1; SELECT 2`, false},
		{`INSERT INTO t VALUES (';')`, false}, // looks like two: only not kept
	} {
		if got := singleStatement(tt.sql); got != tt.want {
			t.Errorf("singleStatement(%q) = %v, want %v", tt.sql, got, tt.want)
		}
	}
}

// What a repeated parameterised query costs with and without the cache, side by side:
//
//	go test -run '^$' -bench StmtCache -benchmem ./internal/components/database
func BenchmarkStmtCache(b *testing.B) {
	for _, bc := range []struct {
		name string
		size int
	}{{"one-off", 0}, {"kept", stmtCacheSize}} {
		b.Run(bc.name, func(b *testing.B) {
			conns, err := sqlite.NewConnector(filepath.Join(b.TempDir(), "b.db"))
			if err != nil {
				b.Fatal(err)
			}
			db := sql.OpenDB(cachingConnector{Connector: conns, size: bc.size})
			defer db.Close()
			db.SetMaxOpenConns(1)
			if _, err := db.Exec(`CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL, state TEXT NOT NULL)`); err != nil {
				b.Fatal(err)
			}
			if _, err := db.Exec(`CREATE INDEX t_state ON t (state, id)`); err != nil {
				b.Fatal(err)
			}
			for i := 1; i <= 1000; i++ {
				if _, err := db.Exec(`INSERT INTO t (id, name, state) VALUES (?, ?, ?)`, i, "x", "available"); err != nil {
					b.Fatal(err)
				}
			}
			const q = `SELECT id, name FROM t WHERE state = ? AND id > ? ORDER BY id LIMIT ?`
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				rows, err := db.Query(q, "available", i%900, 10)
				if err != nil {
					b.Fatal(err)
				}
				for rows.Next() {
				}
				_ = rows.Close()
			}
		})
	}
}
