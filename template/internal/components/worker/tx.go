package worker

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/uptrace/bun"

	"github.com/aegisgo/aegis/template/internal/components/database"
)

// Tx is a database transaction that both the app's queries and job inserts take part in; see
// Client.InTx.
type Tx struct {
	c     *Client
	db    bun.IDB
	sqlTx *sql.Tx // SQLite
	pgxTx pgx.Tx  // PostgreSQL
	done  bool
}

// DB returns the bun handle to run the app's queries in the transaction with.
func (t *Tx) DB() bun.IDB { return t.db }

// Enqueue stores a job in the transaction: Client.EnqueueTx(ctx, t, args, opts).
func (t *Tx) Enqueue(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error) {
	return t.c.EnqueueTx(ctx, t, args, opts)
}

// InTx runs fn in one database transaction: what fn writes through tx.DB() and the jobs it
// enqueues with tx.Enqueue commit together when fn returns nil, and are rolled back together
// when it returns an error (returned as is) or panics (the panic goes on). A worker never sees
// a job whose data is not committed, and no job is lost after its data is. Use tx, not the
// database, inside fn.
func (c *Client) InTx(ctx context.Context, fn func(ctx context.Context, tx *Tx) error) (err error) {
	var (
		tx       *Tx
		commit   func() error
		rollback func() error
		release  func()
	)
	switch c.db.Engine() {
	case database.Postgres:
		// River's PostgreSQL driver inserts through pgx, bun through database/sql: both run on
		// one connection, in a transaction begun with pgx.
		conn, err := c.db.Bun().Conn(ctx)
		if err != nil {
			return fmt.Errorf("worker: begin transaction: %w", err)
		}
		var pc *pgx.Conn
		if err := conn.Raw(func(dc any) error {
			sc, ok := dc.(*stdlib.Conn)
			if !ok {
				return fmt.Errorf("worker: begin transaction: connection is a %T, not pgx", dc)
			}
			pc = sc.Conn()
			return nil
		}); err != nil {
			_ = conn.Close()
			return err
		}
		ptx, err := pc.Begin(ctx)
		if err != nil {
			_ = conn.Close()
			return fmt.Errorf("worker: begin transaction: %w", err)
		}
		tx = &Tx{c: c, db: conn, pgxTx: ptx}
		commit = func() error { return ptx.Commit(ctx) }
		rollback = func() error { return ptx.Rollback(context.WithoutCancel(ctx)) }
		// A connection still in a transaction (a failed rollback) is discarded by pgx's
		// database/sql driver when it goes back to the pool.
		release = func() { _ = conn.Close() }
	default:
		btx, err := c.db.Bun().BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("worker: begin transaction: %w", err)
		}
		tx = &Tx{c: c, db: btx, sqlTx: btx.Tx}
		commit = btx.Commit
		rollback = btx.Rollback
		release = func() {}
	}
	defer release()
	committed := false
	defer func() {
		tx.done = true
		if committed {
			return
		}
		if rbErr := rollback(); rbErr != nil && !errors.Is(rbErr, sql.ErrTxDone) && !errors.Is(rbErr, pgx.ErrTxClosed) && err != nil {
			err = errors.Join(err, fmt.Errorf("worker: roll back: %w", rbErr))
		}
	}()
	if err := fn(ctx, tx); err != nil {
		return err
	}
	committed = true
	if err := commit(); err != nil {
		return fmt.Errorf("worker: commit: %w", err)
	}
	return nil
}
