package analytics

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aegisgo/aegis/template/internal/components/database"
)

// LongRange is the span from which counts are read from the hourly roll-up rather than the raw
// events (ranges of whole hours always are, and so are those reaching past the retention).
const LongRange = 7 * 24 * time.Hour

// MaxPoints bounds the points of one series.
const MaxPoints = 10_000

// MaxFunnelSteps bounds the steps of a funnel.
const MaxFunnelSteps = 10

// Errors of the queries; the API answers them with 422.
var (
	ErrBadRange      = errors.New("analytics: the range must end after it starts")
	ErrTooManyPoints = fmt.Errorf("analytics: the series would have more than %d points; use a shorter range or day buckets", MaxPoints)
	ErrBadFunnel     = fmt.Errorf("analytics: a funnel has 2 to %d distinct, valid event names", MaxFunnelSteps)
	ErrNoIdentity    = errors.New("analytics: user statistics need the auth service")
	ErrBadBucket     = errors.New(`analytics: a bucket is "hour" or "day"`)
	// ErrBeforeRetention: UniqueUsers and Funnel count from the raw events, which
	// ANALYTICS_RETENTION deletes, so a range starting before KeptSince would silently leave
	// out the users of the deleted part.
	ErrBeforeRetention = errors.New("analytics: the range starts before the oldest raw events kept (ANALYTICS_RETENTION), so users there are no longer known; start it at KeptSince or later")
	errScanTimeArg     = errors.New("analytics: unexpected time value")
)

// retentionSlack lets a range computed from KeptSince a moment ago still pass: the retention
// job runs hourly, so the raw events a minute past the retention are almost always there.
const retentionSlack = time.Minute

// KeptSince is the time of the oldest raw event ANALYTICS_RETENTION keeps: UniqueUsers and
// Funnel answer for ranges starting then or later.
func (s *Service) KeptSince() time.Time { return s.now().Add(-s.settings.Retention) }

// Kept returns r starting no earlier than KeptSince, and whether it had to be shortened; a
// range that ends before KeptSince is returned as it is (UniqueUsers and Funnel refuse it).
func (s *Service) Kept(r Range) (Range, bool) {
	kept := s.KeptSince()
	if !r.From.Before(kept) || !r.To.After(kept) {
		return r, false
	}
	return Range{From: kept, To: r.To}, true
}

// checkKept refuses a range whose raw events may be deleted.
func (s *Service) checkKept(r Range) error {
	if r.From.Before(s.KeptSince().Add(-retentionSlack)) {
		return ErrBeforeRetention
	}
	return nil
}

// Range is the span [From, To).
type Range struct {
	From, To time.Time
}

// Last returns the range of the d before now.
func Last(now time.Time, d time.Duration) Range { return Range{From: now.Add(-d), To: now} }

func (r Range) check() error {
	if !r.To.After(r.From) {
		return ErrBadRange
	}
	return nil
}

// hours returns r widened to whole hours.
func (r Range) hours() Range {
	to := r.To.Truncate(time.Hour)
	if to.Before(r.To) {
		to = to.Add(time.Hour)
	}
	return Range{From: r.From.Truncate(time.Hour), To: to}
}

// NameCount is how many times an event happened.
type NameCount struct {
	Name  string `json:"name"`
	Count int64  `json:"count"`
}

// rolledUp reports whether counts over r are read from analytics_hourly: for whole hours
// (exact), long ranges, and ranges reaching past the retention (whose raw events are gone).
func (s *Service) rolledUp(r Range) bool {
	h := r.hours()
	whole := h.From.Equal(r.From) && h.To.Equal(r.To)
	return whole || r.To.Sub(r.From) >= LongRange || r.From.Before(s.now().Add(-s.settings.Retention))
}

// Counts returns how many times each event happened in r, most frequent first. A long range
// or one reaching past ANALYTICS_RETENTION is counted from the hourly roll-up, widened to
// whole hours.
func (s *Service) Counts(ctx context.Context, r Range) ([]NameCount, error) {
	if err := r.check(); err != nil {
		return nil, err
	}
	q, args := s.countsQuery(r)
	rows, err := s.db.SQL().QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("analytics: counts: %w", err)
	}
	defer rows.Close()
	var out []NameCount
	for rows.Next() {
		var c NameCount
		if err := rows.Scan(&c.Name, &c.Count); err != nil {
			return nil, fmt.Errorf("analytics: counts: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("analytics: counts: %w", err)
	}
	slices.SortFunc(out, func(a, b NameCount) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), strings.Compare(a.Name, b.Name))
	})
	return out, nil
}

// countsQuery is the statement of Counts.
func (s *Service) countsQuery(r Range) (string, []any) {
	q := "SELECT name, COUNT(*) FROM analytics_events WHERE occurred_at >= ? AND occurred_at < ? GROUP BY name"
	if s.rolledUp(r) {
		r = r.hours()
		q = "SELECT name, SUM(count) FROM analytics_hourly WHERE hour >= ? AND hour < ? GROUP BY name"
	}
	return s.rebind(q), []any{s.timeArg(r.From), s.timeArg(r.To)}
}

// Top returns the limit most frequent events in r.
func (s *Service) Top(ctx context.Context, r Range, limit int) ([]NameCount, error) {
	out, err := s.Counts(ctx, r)
	if err != nil {
		return nil, err
	}
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// Bucket is the width of a series' points.
type Bucket string

const (
	Hour Bucket = "hour"
	Day  Bucket = "day"
)

func (b Bucket) step() (time.Duration, error) {
	switch b {
	case Hour:
		return time.Hour, nil
	case Day:
		return 24 * time.Hour, nil
	}
	return 0, ErrBadBucket
}

// Point is the count of one bucket, which starts at Time (UTC).
type Point struct {
	Time  time.Time `json:"time"`
	Count int64     `json:"count"`
}

// Series returns the events of r (only those called name, unless name is "") per hour or per
// day (UTC), every bucket present, from the hourly roll-up: r is widened to whole buckets.
func (s *Service) Series(ctx context.Context, r Range, bucket Bucket, name string) ([]Point, error) {
	step, err := bucket.step()
	if err != nil {
		return nil, err
	}
	if err := r.check(); err != nil {
		return nil, err
	}
	from := r.From.UTC().Truncate(step)
	to := r.To.UTC().Truncate(step)
	if to.Before(r.To) {
		to = to.Add(step)
	}
	n := int(to.Sub(from) / step)
	if n > MaxPoints {
		if bucket == Day {
			return nil, errTooManyDays{}
		}
		return nil, ErrTooManyPoints
	}
	q, args := s.seriesQuery(from, to, name)
	rows, err := s.db.SQL().QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("analytics: series: %w", err)
	}
	defer rows.Close()
	out := make([]Point, n)
	for i := range out {
		out[i].Time = from.Add(time.Duration(i) * step)
	}
	for rows.Next() {
		var (
			raw   any
			count int64
		)
		if err := rows.Scan(&raw, &count); err != nil {
			return nil, fmt.Errorf("analytics: series: %w", err)
		}
		t, err := scanTime(raw)
		if err != nil {
			return nil, fmt.Errorf("analytics: series: %w", err)
		}
		if i := int(t.Sub(from) / step); i >= 0 && i < n {
			out[i].Count += count
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("analytics: series: %w", err)
	}
	return out, nil
}

// errTooManyDays is ErrTooManyPoints for day buckets, whose advice cannot be to use day
// buckets.
type errTooManyDays struct{}

func (errTooManyDays) Error() string {
	return fmt.Sprintf("analytics: the series would have more than %d points; use a range of at most %d days", MaxPoints, MaxPoints)
}

func (errTooManyDays) Is(target error) bool { return target == ErrTooManyPoints }

// seriesQuery is the statement of Series over [from, to).
func (s *Service) seriesQuery(from, to time.Time, name string) (string, []any) {
	q := "SELECT hour, SUM(count) FROM analytics_hourly WHERE hour >= ? AND hour < ?"
	args := []any{s.timeArg(from), s.timeArg(to)}
	if name != "" {
		q += " AND name = ?"
		args = append(args, name)
	}
	return s.rebind(q + " GROUP BY hour"), args
}

// scanTime reads a time column: a time.Time from PostgreSQL, text (or a time.Time, when the
// driver parsed it) from SQLite.
func scanTime(v any) (time.Time, error) {
	switch t := v.(type) {
	case time.Time:
		return t.UTC(), nil
	case string:
		return time.ParseInLocation(sqliteTime, t, time.UTC)
	case []byte:
		return time.ParseInLocation(sqliteTime, string(t), time.UTC)
	}
	return time.Time{}, fmt.Errorf("%w: %T", errScanTimeArg, v)
}

// UniqueUsers counts the distinct users with events in r (only those called name, unless
// name is ""), from the raw events: users past ANALYTICS_RETENTION are no longer known, so a
// range starting before KeptSince is ErrBeforeRetention (Kept shortens one).
func (s *Service) UniqueUsers(ctx context.Context, r Range, name string) (int64, error) {
	if err := r.check(); err != nil {
		return 0, err
	}
	if err := s.checkKept(r); err != nil {
		return 0, err
	}
	q, args := s.uniqueQuery(r, name)
	var n int64
	if err := s.db.SQL().QueryRowContext(ctx, q, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("analytics: unique users: %w", err)
	}
	return n, nil
}

// uniqueQuery is the statement of UniqueUsers.
func (s *Service) uniqueQuery(r Range, name string) (string, []any) {
	q := "SELECT COUNT(DISTINCT user_id) FROM analytics_events WHERE occurred_at >= ? AND occurred_at < ?"
	args := []any{s.timeArg(r.From), s.timeArg(r.To)}
	if name != "" {
		q = "SELECT COUNT(DISTINCT user_id) FROM analytics_events WHERE name = ? AND occurred_at >= ? AND occurred_at < ?"
		args = append([]any{name}, args...)
	}
	return s.rebind(q), args
}

// FunnelParams ask for a funnel.
type FunnelParams struct {
	// Steps are 2 to MaxFunnelSteps distinct event names, in order.
	Steps []string
	// Range holds the events considered.
	Range Range
	// Window is how long after the first step a user has to reach the others; 0 means the
	// whole range.
	Window time.Duration
}

// FunnelStep is how many users reached a step of a funnel.
type FunnelStep struct {
	Name  string `json:"name"`
	Users int64  `json:"users"`
	// Rate is Users over the first step's users (1 for the first step, 0 when nobody
	// started).
	Rate float64 `json:"rate"`
}

// Funnel counts, for each step, the users who did the steps before it and then it, in order,
// within Window of the first step. Anonymous events do not count. Like UniqueUsers, it counts
// from the raw events: a range starting before KeptSince is ErrBeforeRetention.
func (s *Service) Funnel(ctx context.Context, p FunnelParams) ([]FunnelStep, error) {
	if err := p.Range.check(); err != nil {
		return nil, err
	}
	if err := s.checkKept(p.Range); err != nil {
		return nil, err
	}
	if stepsProblem(p.Steps) != "" {
		return nil, ErrBadFunnel
	}
	index := make(map[string]int, len(p.Steps))
	for i, name := range p.Steps {
		index[name] = i
	}
	window := p.Window
	if window <= 0 {
		window = p.Range.To.Sub(p.Range.From)
	}
	q, args := s.funnelQuery(p)
	rows, err := s.db.SQL().QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("analytics: funnel: %w", err)
	}
	defer rows.Close()
	reached := make([]int64, len(p.Steps))
	var (
		user  string
		trail []step
	)
	finish := func() {
		// Events stored in one microsecond come back in any order: take them in the funnel's.
		slices.SortStableFunc(trail, func(a, b step) int {
			if c := a.at.Compare(b.at); c != 0 {
				return c
			}
			return cmp.Compare(a.index, b.index)
		})
		if d := deepest(trail, len(p.Steps), window); d > 0 {
			for i := range d {
				reached[i]++
			}
		}
		trail = trail[:0]
	}
	for rows.Next() {
		var (
			u, name string
			raw     any
		)
		if err := rows.Scan(&u, &name, &raw); err != nil {
			return nil, fmt.Errorf("analytics: funnel: %w", err)
		}
		t, err := scanTime(raw)
		if err != nil {
			return nil, fmt.Errorf("analytics: funnel: %w", err)
		}
		if u != user {
			finish()
			user = u
		}
		trail = append(trail, step{index: index[name], at: t})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("analytics: funnel: %w", err)
	}
	finish()
	out := make([]FunnelStep, len(p.Steps))
	for i, name := range p.Steps {
		out[i] = FunnelStep{Name: name, Users: reached[i]}
		if reached[0] > 0 {
			out[i].Rate = float64(reached[i]) / float64(reached[0])
		}
	}
	return out, nil
}

// funnelQuery is the statement of Funnel: the steps' events of users, per user in time order.
func (s *Service) funnelQuery(p FunnelParams) (string, []any) {
	q := "SELECT user_id, name, occurred_at FROM analytics_events WHERE name IN (" +
		strings.TrimSuffix(strings.Repeat("?,", len(p.Steps)), ",") +
		") AND occurred_at >= ? AND occurred_at < ? AND user_id IS NOT NULL ORDER BY user_id, occurred_at"
	args := make([]any, 0, len(p.Steps)+2)
	for _, name := range p.Steps {
		args = append(args, name)
	}
	return s.rebind(q), append(args, s.timeArg(p.Range.From), s.timeArg(p.Range.To))
}

// step is one event of a user's trail through a funnel.
type step struct {
	index int
	at    time.Time
}

// deepest returns how many steps of a funnel of n steps the trail (one user's events, in time
// order) reaches in order within window of a first step: each occurrence of the first step
// is tried as the start, and after it each next step is matched at its earliest.
func deepest(trail []step, n int, window time.Duration) int {
	best := 0
	for i, start := range trail {
		if start.index != 0 {
			continue
		}
		depth := 1
		for _, e := range trail[i+1:] {
			if e.at.Sub(start.at) > window {
				break
			}
			if e.index == depth {
				depth++
				if depth == n {
					return n
				}
			}
		}
		best = max(best, depth)
	}
	return best
}

// UserStats are the guide's user statistics.
type UserStats struct {
	TotalUsers    int64   `json:"total_users"`
	ActiveUsers   int64   `json:"active_users" doc:"Accounts that are active (not deactivated)."`
	InactiveUsers int64   `json:"inactive_users"`
	ActivityRate  float64 `json:"activity_rate" doc:"Active over total accounts, 0 without accounts."`
	// TrackedUsers are the users with events since TrackedSince: Days days ago, or the oldest
	// raw event kept when ANALYTICS_RETENTION is shorter.
	TrackedUsers int64     `json:"tracked_users" doc:"Distinct users with events since tracked_since."`
	Days         int       `json:"days"`
	TrackedSince time.Time `json:"tracked_since" doc:"Days days ago, or the oldest raw event kept (ANALYTICS_RETENTION) when that is later."`
	GeneratedAt  time.Time `json:"generated_at"`
}

// UserStats returns the account statistics and the users tracked in the last days, cached
// for ANALYTICS_CACHE_TTL when the cache component is selected. It needs the auth service
// (ErrNoIdentity without it).
func (s *Service) UserStats(ctx context.Context, days int) (UserStats, error) {
	if s.identity == nil {
		return UserStats{}, ErrNoIdentity
	}
	days = max(days, 1)
	compute := func(ctx context.Context) ([]byte, error) {
		c, err := s.identity.UserStats(ctx)
		if err != nil {
			return nil, fmt.Errorf("analytics: user stats: %w", err)
		}
		now := s.now().UTC()
		r, _ := s.Kept(Last(now, time.Duration(days)*24*time.Hour))
		tracked, err := s.UniqueUsers(ctx, r, "")
		if err != nil {
			return nil, err
		}
		st := UserStats{TotalUsers: c.Total, ActiveUsers: c.Active, InactiveUsers: c.Total - c.Active,
			TrackedUsers: tracked, Days: days, TrackedSince: r.From, GeneratedAt: now}
		if c.Total > 0 {
			st.ActivityRate = float64(c.Active) / float64(c.Total)
		}
		return json.Marshal(st)
	}
	var (
		raw []byte
		err error
	)
	if s.memo != nil {
		raw, err = s.memo.Remember(ctx, "analytics:user_stats:"+strconv.Itoa(days), s.settings.CacheTTL, compute)
	} else {
		raw, err = compute(ctx)
	}
	if err != nil {
		return UserStats{}, err
	}
	var st UserStats
	if err := json.Unmarshal(raw, &st); err != nil {
		return UserStats{}, fmt.Errorf("analytics: user stats: decode: %w", err)
	}
	return st, nil
}

// Recent returns the last limit events (newest first), for the `analytics events --raw`
// listing.
func (s *Service) Recent(ctx context.Context, limit int) ([]Event, error) {
	q := "SELECT name, COALESCE(user_id, ''), properties, occurred_at FROM analytics_events ORDER BY occurred_at DESC LIMIT ?"
	if s.db.Engine() == database.Postgres {
		q = "SELECT name, COALESCE(user_id, ''), properties::text, occurred_at FROM analytics_events ORDER BY occurred_at DESC LIMIT ?"
	}
	rows, err := s.db.SQL().QueryContext(ctx, s.rebind(q), max(limit, 1))
	if err != nil {
		return nil, fmt.Errorf("analytics: recent events: %w", err)
	}
	defer rows.Close()
	var out []Event
	for rows.Next() {
		var (
			e     Event
			props string
			raw   any
		)
		if err := rows.Scan(&e.Name, &e.UserID, &props, &raw); err != nil {
			return nil, fmt.Errorf("analytics: recent events: %w", err)
		}
		if e.At, err = scanTime(raw); err != nil {
			return nil, fmt.Errorf("analytics: recent events: %w", err)
		}
		if err := json.Unmarshal([]byte(props), &e.Props); err != nil {
			return nil, fmt.Errorf("analytics: recent events: properties: %w", err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("analytics: recent events: %w", err)
	}
	return out, nil
}

// Prune deletes the raw events older than ANALYTICS_RETENTION, a batch at a time so no
// statement holds the table for long; the hourly counts stay. It returns how many it deleted.
func (s *Service) Prune(ctx context.Context) (int64, error) {
	q, args := s.pruneQuery()
	var total int64
	for {
		res, err := s.db.SQL().ExecContext(ctx, q, args...)
		if err != nil {
			return total, fmt.Errorf("analytics: prune: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return total, fmt.Errorf("analytics: prune: %w", err)
		}
		total += n
		if n < pruneBatch {
			return total, nil
		}
	}
}

// pruneBatch is the most events one DELETE of Prune removes.
const pruneBatch = 10_000

// pruneQuery is the statement of Prune: a batch of the events past the retention, oldest
// first.
func (s *Service) pruneQuery() (string, []any) {
	q := "DELETE FROM analytics_events WHERE id IN (SELECT id FROM analytics_events WHERE occurred_at < ? ORDER BY occurred_at LIMIT " +
		strconv.Itoa(pruneBatch) + ")"
	return s.rebind(q), []any{s.timeArg(s.now().Add(-s.settings.Retention))}
}

// stepsProblem says what is wrong with a funnel's steps, the first problem found; "" when
// nothing is: a malformed name, one given twice, or not 2 to MaxFunnelSteps of them.
func stepsProblem(names []string) string {
	seen := make(map[string]bool, len(names))
	for _, n := range names {
		switch {
		case !ValidName(n):
			return strconv.Quote(n) + " is not an event name (" + NamePattern + ")"
		case seen[n]:
			return n + " is given twice; each step is a different event"
		}
		seen[n] = true
	}
	if len(names) < 2 || len(names) > MaxFunnelSteps {
		return "give 2 to " + strconv.Itoa(MaxFunnelSteps) + " event names"
	}
	return ""
}
