package database

import (
	"container/list"
	"context"
	"database/sql/driver"
	"reflect"
	"strings"
)

// SQLite compiles every statement it runs, and modernc.org/sqlite compiles again for each
// Query or Exec given SQL text: a statement run a thousand times is parsed and planned a
// thousand times. For River's job fetch, which every idle worker runs each poll interval, the
// compiling was most of the work (a CPU profile of an idle app: 35-40% of its CPU in
// sqlite3Prepare). The connections of the SQLite pool therefore keep their most recently used
// parameterised statements prepared, keyed by their text, as PostgreSQL drivers do (pgx's
// statement cache). Only statements run with arguments are kept: SQL built with its values
// inlined (bun's query builder) differs on every call, and caching it would only push out the
// statements that repeat. SQLite recompiles a kept statement by itself after a schema change.

// stmtCacheSize is how many statements each connection keeps prepared.
const stmtCacheSize = 32

// cachingConnector makes connections that keep their statements prepared.
type cachingConnector struct {
	driver.Connector
	size int
}

func (c cachingConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return newCachingConn(conn, c.size), nil
}

// conn is what the cache needs of the driver's connection; modernc.org/sqlite's has it all.
type conn interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.ExecerContext
	driver.QueryerContext
}

// cachingConn is one connection and its prepared statements. database/sql uses a connection
// from one goroutine at a time and closes a connection's rows under the same lock, so its
// fields need no lock of their own.
type cachingConn struct {
	conn
	size   int
	byText map[string]*list.Element // of *cachedStmt
	lru    list.List                // most recently used first
	// stats, for tests
	prepared, reused int
}

type cachedStmt struct {
	text    string
	stmt    driver.Stmt
	busy    bool // its rows are open: run the text once instead
	evicted bool // out of the cache while busy: close it when its rows close
}

func newCachingConn(c driver.Conn, size int) driver.Conn {
	full, ok := c.(conn)
	if !ok || size <= 0 {
		return c
	}
	return &cachingConn{conn: full, size: size, byText: make(map[string]*list.Element, size)}
}

// Unwrap returns the driver's own connection, for code that needs its extras (sql.Conn.Raw
// hands out the cachingConn).
func (c *cachingConn) Unwrap() driver.Conn { return c.conn }

func (c *cachingConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	cs, err := c.lookup(ctx, query, args)
	if err != nil {
		return nil, err
	}
	if cs == nil {
		return c.conn.QueryContext(ctx, query, args)
	}
	rows, err := cs.stmt.(driver.StmtQueryContext).QueryContext(ctx, args)
	if err != nil {
		c.drop(cs)
		return nil, err
	}
	cs.busy = true
	return &cachedRows{Rows: rows, cs: cs}, nil
}

func (c *cachingConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	cs, err := c.lookup(ctx, query, args)
	if err != nil {
		return nil, err
	}
	if cs == nil {
		return c.conn.ExecContext(ctx, query, args)
	}
	res, err := cs.stmt.(driver.StmtExecContext).ExecContext(ctx, args)
	if err != nil {
		c.drop(cs)
		return nil, err
	}
	return res, nil
}

// lookup returns the prepared statement for query, preparing and keeping it if need be, or nil
// when query is to run once: no arguments, more than one statement, or its statement is busy.
func (c *cachingConn) lookup(ctx context.Context, query string, args []driver.NamedValue) (*cachedStmt, error) {
	if len(args) == 0 || !singleStatement(query) {
		return nil, nil
	}
	if e, ok := c.byText[query]; ok {
		cs := e.Value.(*cachedStmt)
		if cs.busy {
			return nil, nil
		}
		c.lru.MoveToFront(e)
		c.reused++
		return cs, nil
	}
	stmt, err := c.conn.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if _, ok := stmt.(driver.StmtQueryContext); !ok {
		_ = stmt.Close()
		return nil, nil
	}
	if _, ok := stmt.(driver.StmtExecContext); !ok {
		_ = stmt.Close()
		return nil, nil
	}
	c.prepared++
	cs := &cachedStmt{text: query, stmt: stmt}
	c.byText[query] = c.lru.PushFront(cs)
	for c.lru.Len() > c.size {
		c.drop(c.lru.Back().Value.(*cachedStmt))
	}
	return cs, nil
}

// drop takes cs out of the cache and closes it, or marks it to be closed with its rows.
func (c *cachingConn) drop(cs *cachedStmt) {
	if e, ok := c.byText[cs.text]; ok && e.Value == cs {
		delete(c.byText, cs.text)
		c.lru.Remove(e)
	}
	if cs.busy {
		cs.evicted = true
		return
	}
	_ = cs.stmt.Close()
}

func (c *cachingConn) Close() error {
	for e := c.lru.Front(); e != nil; e = e.Next() {
		_ = e.Value.(*cachedStmt).stmt.Close()
	}
	c.byText, c.lru = nil, list.List{}
	return c.conn.Close()
}

// The optional interfaces database/sql looks for on the driver's connection, passed through.

func (c *cachingConn) Ping(ctx context.Context) error {
	if p, ok := c.conn.(driver.Pinger); ok {
		return p.Ping(ctx)
	}
	return nil
}

func (c *cachingConn) ResetSession(ctx context.Context) error {
	if r, ok := c.conn.(driver.SessionResetter); ok {
		return r.ResetSession(ctx)
	}
	return nil
}

func (c *cachingConn) IsValid() bool {
	if v, ok := c.conn.(driver.Validator); ok {
		return v.IsValid()
	}
	return true
}

// cachedRows gives the statement back to the cache when the rows close.
type cachedRows struct {
	driver.Rows
	cs *cachedStmt
}

func (r *cachedRows) Close() error {
	err := r.Rows.Close()
	r.cs.busy = false
	if r.cs.evicted {
		_ = r.cs.stmt.Close()
	}
	return err
}

// The optional column-type interfaces of the driver's rows, passed through; without them
// database/sql's ColumnTypes would report less for a kept statement than for a one-off. The
// answers when the driver's rows lack one are database/sql's own defaults.

func (r *cachedRows) ColumnTypeDatabaseTypeName(i int) string {
	if t, ok := r.Rows.(driver.RowsColumnTypeDatabaseTypeName); ok {
		return t.ColumnTypeDatabaseTypeName(i)
	}
	return ""
}

func (r *cachedRows) ColumnTypeLength(i int) (int64, bool) {
	if t, ok := r.Rows.(driver.RowsColumnTypeLength); ok {
		return t.ColumnTypeLength(i)
	}
	return 0, false
}

func (r *cachedRows) ColumnTypeNullable(i int) (nullable, ok bool) {
	if t, ok := r.Rows.(driver.RowsColumnTypeNullable); ok {
		return t.ColumnTypeNullable(i)
	}
	return false, false
}

func (r *cachedRows) ColumnTypePrecisionScale(i int) (precision, scale int64, ok bool) {
	if t, ok := r.Rows.(driver.RowsColumnTypePrecisionScale); ok {
		return t.ColumnTypePrecisionScale(i)
	}
	return 0, 0, false
}

func (r *cachedRows) ColumnTypeScanType(i int) reflect.Type {
	if t, ok := r.Rows.(driver.RowsColumnTypeScanType); ok {
		return t.ColumnTypeScanType(i)
	}
	return reflect.TypeFor[any]()
}

// singleStatement reports whether query holds one statement: no semicolon but at its end. A
// semicolon inside a string literal makes it look like two, which only means it is not kept.
func singleStatement(query string) bool {
	return !strings.Contains(strings.TrimRight(query, " \t\r\n;"), ";")
}
