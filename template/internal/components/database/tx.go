package database

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/uptrace/bun"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// InTx runs fn in a transaction: committed when fn returns nil, rolled back when it returns
// an error (returned as is, so callers can errors.Is it) or panics (the panic goes on). Use
// tx, not db.Bun(), inside fn: on SQLite a second connection would wait for the write lock
// this transaction holds.
func (db *DB) InTx(ctx context.Context, fn func(ctx context.Context, tx bun.Tx) error) (err error) {
	tx, err := db.bun.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("database: begin transaction: %w", err)
	}
	committed := false
	defer func() {
		if committed {
			return
		}
		// Also on panic: the connection must go back to the pool without the lock.
		if rbErr := tx.Rollback(); rbErr != nil && !errors.Is(rbErr, sql.ErrTxDone) && err != nil {
			err = errors.Join(err, fmt.Errorf("database: roll back: %w", rbErr))
		}
	}()
	if err := fn(ctx, tx); err != nil {
		return err
	}
	committed = true
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("database: commit: %w", err)
	}
	return nil
}

// PostgreSQL's SQLSTATE for unique_violation.
const pgUniqueViolation = "23505"

// IsUniqueViolation reports whether err (or an error it wraps) is a unique or primary key
// constraint violation, on either engine: the "already exists" of an insert.
func IsUniqueViolation(err error) bool {
	if pgErr, ok := errors.AsType[*pgconn.PgError](err); ok {
		return pgErr.Code == pgUniqueViolation
	}
	if sqErr, ok := errors.AsType[*sqlite.Error](err); ok {
		code := sqErr.Code()
		return code == sqlite3.SQLITE_CONSTRAINT_UNIQUE || code == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return false
}

// IsValueRefused reports whether err (or an error it wraps) is the database refusing a value
// of a row, which the same row would meet again however often it is retried: PostgreSQL's
// class 22, data exception (a NUL in text or jsonb, a time out of range...), and SQLite's
// too big, mismatch and constraint errors.
func IsValueRefused(err error) bool {
	if pgErr, ok := errors.AsType[*pgconn.PgError](err); ok {
		return strings.HasPrefix(pgErr.Code, "22")
	}
	if sqErr, ok := errors.AsType[*sqlite.Error](err); ok {
		switch sqErr.Code() & 0xff { // the primary code, without the extended bits
		case sqlite3.SQLITE_TOOBIG, sqlite3.SQLITE_MISMATCH, sqlite3.SQLITE_CONSTRAINT:
			return true
		}
	}
	return false
}

// ErrorCode is the engine's code for err, for a log line that must not quote the error's
// text (which may hold the data): PostgreSQL's SQLSTATE, "sqlite N" for SQLite, "" for an
// error that is neither's.
func ErrorCode(err error) string {
	if pgErr, ok := errors.AsType[*pgconn.PgError](err); ok {
		return pgErr.Code
	}
	if sqErr, ok := errors.AsType[*sqlite.Error](err); ok {
		return "sqlite " + strconv.Itoa(sqErr.Code())
	}
	return ""
}
