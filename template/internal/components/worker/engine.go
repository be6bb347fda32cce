package worker

import (
	"context"
	"database/sql"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// engine is the part of a River client that differs by driver: River's client is generic over
// the driver's transaction type (pgx.Tx on PostgreSQL, *sql.Tx on SQLite), the Client is not.
type engine interface {
	start(ctx context.Context) error
	stop(ctx context.Context) error
	stopAndCancel(ctx context.Context) error
	stopped() <-chan struct{}
	insert(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
	insertTx(ctx context.Context, tx *Tx, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
	insertMany(ctx context.Context, params []river.InsertManyParams) (int, error)
	jobList(ctx context.Context, params *river.JobListParams) (*river.JobListResult, error)
	jobGet(ctx context.Context, id int64) (*rivertype.JobRow, error)
	jobRetry(ctx context.Context, id int64) (*rivertype.JobRow, error)
	jobCancel(ctx context.Context, id int64) (*rivertype.JobRow, error)
	subscribe(kinds ...river.EventKind) (<-chan *river.Event, func())
}

type riverEngine[TTx any] struct {
	c  *river.Client[TTx]
	tx func(*Tx) (TTx, error) // the driver's transaction inside a Tx
}

func (e *riverEngine[TTx]) start(ctx context.Context) error         { return e.c.Start(ctx) }
func (e *riverEngine[TTx]) stop(ctx context.Context) error          { return e.c.Stop(ctx) }
func (e *riverEngine[TTx]) stopAndCancel(ctx context.Context) error { return e.c.StopAndCancel(ctx) }
func (e *riverEngine[TTx]) stopped() <-chan struct{}                { return e.c.Stopped() }

func (e *riverEngine[TTx]) insert(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error) {
	return e.c.Insert(ctx, args, opts)
}

func (e *riverEngine[TTx]) insertTx(ctx context.Context, tx *Tx, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error) {
	t, err := e.tx(tx)
	if err != nil {
		return nil, err
	}
	return e.c.InsertTx(ctx, t, args, opts)
}

func (e *riverEngine[TTx]) insertMany(ctx context.Context, params []river.InsertManyParams) (int, error) {
	return e.c.InsertManyFast(ctx, params)
}

func (e *riverEngine[TTx]) jobList(ctx context.Context, params *river.JobListParams) (*river.JobListResult, error) {
	return e.c.JobList(ctx, params)
}

func (e *riverEngine[TTx]) jobGet(ctx context.Context, id int64) (*rivertype.JobRow, error) {
	return e.c.JobGet(ctx, id)
}

func (e *riverEngine[TTx]) jobRetry(ctx context.Context, id int64) (*rivertype.JobRow, error) {
	return e.c.JobRetry(ctx, id)
}

func (e *riverEngine[TTx]) jobCancel(ctx context.Context, id int64) (*rivertype.JobRow, error) {
	return e.c.JobCancel(ctx, id)
}

func (e *riverEngine[TTx]) subscribe(kinds ...river.EventKind) (<-chan *river.Event, func()) {
	return e.c.Subscribe(kinds...)
}

var errTxDone = errors.New("worker: transaction already finished")

func sqlTxOf(t *Tx) (*sql.Tx, error) {
	if t == nil || t.sqlTx == nil {
		return nil, errors.New("worker: not a SQLite transaction from Client.InTx")
	}
	if t.done {
		return nil, errTxDone
	}
	return t.sqlTx, nil
}

func pgxTxOf(t *Tx) (pgx.Tx, error) {
	if t == nil || t.pgxTx == nil {
		return nil, errors.New("worker: not a PostgreSQL transaction from Client.InTx")
	}
	if t.done {
		return nil, errTxDone
	}
	return t.pgxTx, nil
}
