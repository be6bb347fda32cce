package database

import (
	"net"
	"strconv"
	"time"
)

// PoolStats are the connection pool's numbers, alike on both engines: database/sql's on
// SQLite, pgxpool's on PostgreSQL (whose pool River and bun share, so its numbers are the
// whole app's).
type PoolStats struct {
	Open  int // connections open: in use and idle
	InUse int
	Idle  int
	Max   int // the pool's size (DATABASE_MAX_CONNS; 1 for :memory:)
	// Waits counts the connection requests that found no idle connection and waited, since
	// the database was opened: for one to be given back, and on PostgreSQL also for a new one
	// to be made. WaitDuration is their total wait.
	Waits        int64
	WaitDuration time.Duration
}

// PoolStats reads the pool's numbers. It takes no connection and costs a lock, so metrics can
// read it at every collection.
func (db *DB) PoolStats() PoolStats {
	if db.pool != nil {
		st := db.pool.Stat()
		return PoolStats{
			Open: int(st.TotalConns()), InUse: int(st.AcquiredConns()), Idle: int(st.IdleConns()), Max: int(st.MaxConns()),
			Waits: st.EmptyAcquireCount(), WaitDuration: st.EmptyAcquireWaitTime(),
		}
	}
	st := db.sql.Stats()
	return PoolStats{
		Open: st.OpenConnections, InUse: st.InUse, Idle: st.Idle, Max: st.MaxOpenConnections,
		Waits: st.WaitCount, WaitDuration: st.WaitDuration,
	}
}

// PoolName names the pool without credentials, for metrics (OpenTelemetry's
// db.client.connection.pool.name): "db:5432/app" on PostgreSQL, the file on SQLite.
func (db *DB) PoolName() string {
	if db.engine == SQLite {
		return db.target.path
	}
	cc := db.target.pg.ConnConfig
	return net.JoinHostPort(cc.Host, strconv.Itoa(int(cc.Port))) + "/" + cc.Database
}
