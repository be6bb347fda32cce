package analytics

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/aegisgo/aegis/template/internal/components/database"
)

// sqliteTime is how times are written on SQLite: UTC, one fixed width, so that comparing the
// text compares the times (a variable number of fraction digits would not).
const sqliteTime = "2006-01-02 15:04:05.000000"

// Rows per INSERT statement on SQLite: 4 parameters each stays far below its 32,766.
const insertRows = 500

// timeArg is t as the engine stores it.
func (s *Service) timeArg(t time.Time) any {
	if s.db.Engine() == database.SQLite {
		return t.UTC().Format(sqliteTime)
	}
	return t.UTC()
}

// rebind turns the ? placeholders of q into PostgreSQL's $1, $2, ... (none of our
// statements holds a literal '?').
func (s *Service) rebind(q string) string {
	if s.db.Engine() == database.SQLite {
		return q
	}
	var b strings.Builder
	b.Grow(len(q) + 16)
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(q[i])
	}
	return b.String()
}

// hourCount is one row of analytics_hourly to add.
type hourCount struct {
	hour  time.Time
	name  string
	count int64
}

// rollUp counts rows per name and hour, sorted by hour and name so concurrent writers lock
// the rows in one order.
func rollUp(rows []encoded) []hourCount {
	type key struct {
		hour int64
		name string
	}
	counts := map[key]int64{}
	for _, r := range rows {
		counts[key{r.at.Truncate(time.Hour).Unix(), r.name}]++
	}
	out := make([]hourCount, 0, len(counts))
	for k, n := range counts {
		out = append(out, hourCount{hour: time.Unix(k.hour, 0).UTC(), name: k.name, count: n})
	}
	slices.SortFunc(out, func(a, b hourCount) int {
		if c := a.hour.Compare(b.hour); c != 0 {
			return c
		}
		return strings.Compare(a.name, b.name)
	})
	return out
}

// encoded is an event ready to write.
type encoded struct {
	name, props string
	user        any // nil for no user
	at          time.Time
	i           int // index of the event in the slice encode was given
}

// encode prepares evs, leaving out (and counting as invalid) those whose properties cannot be
// encoded.
func (s *Service) encode(evs []Event) []encoded {
	out := make([]encoded, 0, len(evs))
	for i, e := range evs {
		props, err := encodeProps(e.Props)
		if err != nil {
			if s.invalid.Add(1) == 1 {
				s.logger.Warn("analytics: event properties cannot be encoded as JSON; such events are counted as invalid and not stored")
			}
			continue
		}
		var user any
		if e.UserID != "" {
			user = e.UserID
		}
		out = append(out, encoded{name: e.Name, props: props, user: user, at: e.At.UTC(), i: i})
	}
	return out
}

// writeSplit stores rows and adds them to the hourly counts. When the database refuses a
// value of one of them (database.IsValueRefused), writing them again would fail again, and the buffer
// would hold them, and everything after them, until the service stops: so each half is
// written apart, down to single rows, and a single row the database refuses is dropped and
// counted as dropped and refused. done is how many rows, from the first, were stored or
// dropped; on any other error the rest are left to retry.
func (s *Service) writeSplit(ctx context.Context, rows []encoded) (done, stored int, err error) {
	if len(rows) == 0 {
		return 0, 0, nil
	}
	err = s.writeRows(ctx, rows)
	switch {
	case err == nil:
		return len(rows), len(rows), nil
	case !database.IsValueRefused(err):
		return 0, 0, err
	case len(rows) == 1:
		s.refused.Add(1)
		s.dropped.Add(1)
		s.mu.Lock()
		s.lastDrop = s.now()
		s.mu.Unlock()
		if s.refusedLogged.CompareAndSwap(false, true) {
			// The cause may quote the data; the log gets its code only.
			s.logger.Warn("analytics: the database refused an event for a value it cannot store; such events are dropped (health counts them as refused) and the rest of their batch is stored",
				slog.String("code", database.ErrorCode(err)), slog.String("event", rows[0].name))
		}
		return 1, 0, nil
	}
	half := len(rows) / 2
	d1, s1, err := s.writeSplit(ctx, rows[:half])
	if err != nil {
		return d1, s1, err
	}
	d2, s2, err := s.writeSplit(ctx, rows[half:])
	return d1 + d2, s1 + s2, err
}

func (s *Service) writeRows(ctx context.Context, rows []encoded) error {
	hours := rollUp(rows)
	if pool := s.db.Pool(); pool != nil {
		tx, err := pool.Begin(ctx)
		if err != nil {
			return fmt.Errorf("analytics: write events: begin: %w", err)
		}
		defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
		_, err = tx.CopyFrom(ctx, pgx.Identifier{"analytics_events"}, []string{"name", "user_id", "properties", "occurred_at"},
			pgx.CopyFromSlice(len(rows), func(i int) ([]any, error) {
				r := rows[i]
				return []any{r.name, r.user, r.props, r.at}, nil
			}))
		if err != nil {
			return fmt.Errorf("analytics: write events: copy: %w", err)
		}
		for chunk := range slices.Chunk(hours, insertRows) {
			q, args := s.upsertHours(chunk)
			if _, err := tx.Exec(ctx, q, args...); err != nil {
				return fmt.Errorf("analytics: write events: hourly counts: %w", err)
			}
		}
		if err := tx.Commit(ctx); err != nil {
			return fmt.Errorf("analytics: write events: commit: %w", err)
		}
		return nil
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		for chunk := range slices.Chunk(rows, insertRows) {
			var b strings.Builder
			b.WriteString("INSERT INTO analytics_events (name, user_id, properties, occurred_at) VALUES ")
			args := make([]any, 0, 4*len(chunk))
			for i, r := range chunk {
				if i > 0 {
					b.WriteByte(',')
				}
				b.WriteString("(?,?,?,?)")
				args = append(args, r.name, r.user, r.props, s.timeArg(r.at))
			}
			if _, err := tx.ExecContext(ctx, s.rebind(b.String()), args...); err != nil {
				return fmt.Errorf("analytics: write events: insert: %w", err)
			}
		}
		for chunk := range slices.Chunk(hours, insertRows) {
			q, args := s.upsertHours(chunk)
			if _, err := tx.ExecContext(ctx, q, args...); err != nil {
				return fmt.Errorf("analytics: write events: hourly counts: %w", err)
			}
		}
		return nil
	})
}

// upsertHours is the statement adding hs to analytics_hourly.
func (s *Service) upsertHours(hs []hourCount) (string, []any) {
	var b strings.Builder
	b.WriteString("INSERT INTO analytics_hourly (hour, name, count) VALUES ")
	args := make([]any, 0, 3*len(hs))
	for i, h := range hs {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("(?,?,?)")
		args = append(args, s.timeArg(h.hour), h.name, h.count)
	}
	b.WriteString(" ON CONFLICT (hour, name) DO UPDATE SET count = analytics_hourly.count + excluded.count")
	return s.rebind(b.String()), args
}

// inTx runs fn in a database/sql transaction, committed when fn succeeds.
func (s *Service) inTx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.db.SQL().BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("analytics: begin: %w", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("analytics: commit: %w", err)
	}
	return nil
}
