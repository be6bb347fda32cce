package analytics

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aegisgo/aegis/template/internal/components/database"
	"github.com/aegisgo/aegis/template/internal/components/database/databasetest"
)

// queryNow is the fixed now of the query tests: half past noon, so ranges of the last day
// are not whole hours.
var queryNow = time.Date(2026, 6, 10, 12, 30, 0, 0, time.UTC)

type fixtureEvent struct {
	name, user string
	ago        time.Duration
}

// knownEvents: a funnel signup -> activate -> purchase walked by six users in different
// ways, and anonymous page views.
var knownEvents = []fixtureEvent{
	{"signup", "u1", 50 * time.Hour}, {"activate", "u1", 49 * time.Hour},
	{"signup", "u2", 3 * time.Hour}, {"activate", "u2", 2*time.Hour + 50*time.Minute}, {"purchase", "u2", 2 * time.Hour},
	{"signup", "u3", 2*time.Hour + 30*time.Minute}, {"activate", "u3", 30 * time.Minute}, {"purchase", "u3", 10 * time.Minute},
	{"signup", "u4", time.Hour + 10*time.Minute}, {"purchase", "u4", 5 * time.Minute},
	{"activate", "u5", 20 * time.Minute},
	// Out of order: purchase before activate.
	{"signup", "u6", 40 * time.Minute}, {"purchase", "u6", 35 * time.Minute}, {"activate", "u6", 30 * time.Minute},
	{"page_view", "", 10 * time.Minute}, {"page_view", "", 10 * time.Minute}, {"page_view", "", 70 * time.Minute},
	{"page_view", "u1", 26 * time.Hour},
}

// seed stores knownEvents through the service (the buffer and a flush, so the roll-up is
// built the real way).
func seed(t *testing.T, db *database.DB, s Settings) *Service {
	t.Helper()
	clock := &fakeClock{t: queryNow}
	svc := newService(t, db, s, &Opts{Now: clock.Now})
	for _, e := range knownEvents {
		if !svc.TrackEvent(Event{Name: e.name, UserID: e.user, At: queryNow.Add(-e.ago)}) {
			t.Fatalf("event %+v not kept", e)
		}
	}
	if err := svc.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	return svc
}

// expectCounts counts knownEvents in r, independently of the service.
func expectCounts(r Range) map[string]int64 {
	out := map[string]int64{}
	for _, e := range knownEvents {
		at := queryNow.Add(-e.ago)
		if !at.Before(r.From) && at.Before(r.To) {
			out[e.name]++
		}
	}
	return out
}

func asMap(cs []NameCount) map[string]int64 {
	out := map[string]int64{}
	for _, c := range cs {
		out[c.Name] = c.Count
	}
	return out
}

func TestQueries(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		svc := seed(t, db, Settings{})
		ctx := t.Context()

		// Counts over the last day (raw events) and over whole hours (the roll-up).
		day := Last(queryNow, 24*time.Hour)
		if svc.rolledUp(day) {
			t.Fatal("the last 24h from 12:30 should be read from the raw events")
		}
		aligned := Range{From: queryNow.Truncate(time.Hour).Add(-72 * time.Hour), To: queryNow.Truncate(time.Hour).Add(time.Hour)}
		if !svc.rolledUp(aligned) {
			t.Fatal("a range of whole hours should be read from the roll-up")
		}
		for _, r := range []Range{day, aligned, Last(queryNow, 10*24*time.Hour)} {
			got, err := svc.Counts(ctx, r)
			if err != nil {
				t.Fatal(err)
			}
			want := expectCounts(r)
			if svc.rolledUp(r) {
				want = expectCounts(r.hours())
			}
			if m := asMap(got); !mapsEqual(m, want) {
				t.Errorf("Counts(%s) = %v, want %v", describe(r), m, want)
			}
			if !slices.IsSortedFunc(got, func(a, b NameCount) int { return int(b.Count - a.Count) }) {
				t.Errorf("Counts(%s) = %v, not most frequent first", describe(r), got)
			}
		}

		top, err := svc.Top(ctx, day, 2)
		if err != nil {
			t.Fatal(err)
		}
		// In the last day: signup 4 (u2, u3, u4, u6), activate 4 (u2, u3, u5, u6), purchase 4, page_view 3.
		if len(top) != 2 || top[0].Count != 4 || top[1].Count != 4 || top[0].Name != "activate" || top[1].Name != "purchase" {
			t.Errorf("Top 2 = %v, want activate and purchase (4 each, ties by name)", top)
		}

		// Hourly series of the last 6 hours: every hour present, counted independently.
		points, err := svc.Series(ctx, Last(queryNow, 6*time.Hour), Hour, "")
		if err != nil {
			t.Fatal(err)
		}
		if len(points) != 7 || !points[0].Time.Equal(queryNow.Truncate(time.Hour).Add(-6*time.Hour)) {
			t.Fatalf("series %v: want 7 hours from 06:00", points)
		}
		for _, p := range points {
			var want int64
			for _, n := range expectCounts(Range{From: p.Time, To: p.Time.Add(time.Hour)}) {
				want += n
			}
			if p.Count != want {
				t.Errorf("hour %s: %d events, want %d", p.Time, p.Count, want)
			}
		}
		// Daily, one name.
		days, err := svc.Series(ctx, Last(queryNow, 3*24*time.Hour), Day, "signup")
		if err != nil {
			t.Fatal(err)
		}
		if len(days) != 4 {
			t.Fatalf("daily series %v, want 4 days", days)
		}
		for _, p := range days {
			if want := expectCounts(Range{From: p.Time, To: p.Time.Add(24 * time.Hour)})["signup"]; p.Count != want {
				t.Errorf("day %s: %d signups, want %d", p.Time.Format(time.DateOnly), p.Count, want)
			}
		}
		if _, err := svc.Series(ctx, Last(queryNow, 5*365*24*time.Hour), Hour, ""); err != ErrTooManyPoints {
			t.Errorf("five years of hours: %v, want ErrTooManyPoints", err)
		}

		// Unique users: the anonymous page views do not count.
		for _, c := range []struct {
			r    Range
			name string
			want int64
		}{{day, "", 5}, {Last(queryNow, 3*24*time.Hour), "", 6}, {day, "purchase", 4}, {day, "page_view", 0}} {
			if n, err := svc.UniqueUsers(ctx, c.r, c.name); err != nil || n != c.want {
				t.Errorf("UniqueUsers(%s, %q) = %d, %v; want %d", describe(c.r), c.name, n, err, c.want)
			}
		}

		// The funnel, in order and within the window of the first step.
		steps := []string{"signup", "activate", "purchase"}
		for _, c := range []struct {
			window time.Duration
			want   []int64
		}{{time.Hour, []int64{5, 3, 1}}, {0, []int64{5, 4, 2}}} {
			got, err := svc.Funnel(ctx, FunnelParams{Steps: steps, Range: Last(queryNow, 72*time.Hour), Window: c.window})
			if err != nil {
				t.Fatal(err)
			}
			var users []int64
			for _, s := range got {
				users = append(users, s.Users)
			}
			if !slices.Equal(users, c.want) || got[0].Rate != 1 || got[2].Rate != float64(c.want[2])/float64(c.want[0]) {
				t.Errorf("funnel within %s = %+v, want users %v", c.window, got, c.want)
			}
		}
		for _, bad := range [][]string{{"signup"}, {"signup", "signup"}, {"signup", "Bad"}} {
			if _, err := svc.Funnel(ctx, FunnelParams{Steps: bad, Range: day}); err != ErrBadFunnel {
				t.Errorf("funnel %v: %v, want ErrBadFunnel", bad, err)
			}
		}
		if _, err := svc.Counts(ctx, Range{From: queryNow, To: queryNow}); err != ErrBadRange {
			t.Errorf("empty range: %v, want ErrBadRange", err)
		}
		if _, err := svc.UserStats(ctx, 30); err != ErrNoIdentity {
			t.Errorf("UserStats without auth: %v, want ErrNoIdentity", err)
		}
	})
}

// TestRetention: Prune deletes the raw events past ANALYTICS_RETENTION and keeps the hourly
// counts, so long ranges still count them.
func TestRetention(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		svc := seed(t, db, Settings{Retention: 48 * time.Hour})
		before := hourlyTotal(t, db)
		n, err := svc.Prune(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if n != 2 { // u1's signup and activate, 50 and 49 hours ago
			t.Errorf("pruned %d events, want 2", n)
		}
		if got := storedEvents(t, db); got != int64(len(knownEvents))-2 {
			t.Errorf("%d events left, want %d", got, len(knownEvents)-2)
		}
		if h := hourlyTotal(t, db); h != before || h != int64(len(knownEvents)) {
			t.Errorf("hourly total %d after pruning, want %d kept", h, before)
		}
		// Past the retention, counts come from the roll-up and still see the pruned events.
		r := Last(queryNow, 72*time.Hour)
		got, err := svc.Counts(t.Context(), r)
		if err != nil {
			t.Fatal(err)
		}
		if m, want := asMap(got), expectCounts(r.hours()); !mapsEqual(m, want) {
			t.Errorf("counts after pruning %v, want %v", m, want)
		}
		if n, err := svc.Prune(t.Context()); err != nil || n != 0 {
			t.Errorf("second prune: %d, %v; want nothing left to delete", n, err)
		}
	})
}

// countsIdentity is an Identity that only counts accounts.
type countsIdentity struct{ Identity }

func (countsIdentity) UserStats(context.Context) (UserCounts, error) {
	return UserCounts{Total: 3, Active: 2}, nil
}

// TestUsersWithinRetention: unique users and funnels count from the raw events, which a
// retention shorter than the range deletes, so the service refuses such a range
// (ErrBeforeRetention) instead of undercounting, Kept shortens one to what is kept, and
// UserStats counts over what is kept and says since when.
func TestUsersWithinRetention(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		clock := &fakeClock{t: queryNow}
		svc := newService(t, db, Settings{Retention: 48 * time.Hour}, &Opts{Now: clock.Now, Identity: countsIdentity{}})
		for _, e := range knownEvents {
			svc.TrackEvent(Event{Name: e.name, UserID: e.user, At: queryNow.Add(-e.ago)})
		}
		if err := svc.Flush(t.Context()); err != nil {
			t.Fatal(err)
		}
		kept := queryNow.Add(-48 * time.Hour)
		if got := svc.KeptSince(); !got.Equal(kept) {
			t.Fatalf("KeptSince = %s, want %s", got, kept)
		}
		steps := []string{"signup", "activate"}
		for _, tt := range []struct {
			name string
			r    Range
			err  error
		}{
			{"past the retention", Last(queryNow, 72*time.Hour), ErrBeforeRetention},
			{"wholly past it", Range{From: queryNow.Add(-100 * time.Hour), To: queryNow.Add(-60 * time.Hour)}, ErrBeforeRetention},
			{"from the oldest kept", Range{From: kept, To: queryNow}, nil},
			{"a moment before it", Range{From: kept.Add(-30 * time.Second), To: queryNow}, nil},
		} {
			if _, err := svc.UniqueUsers(t.Context(), tt.r, ""); !errors.Is(err, tt.err) {
				t.Errorf("UniqueUsers %s: %v, want %v", tt.name, err, tt.err)
			}
			if _, err := svc.Funnel(t.Context(), FunnelParams{Steps: steps, Range: tt.r}); !errors.Is(err, tt.err) {
				t.Errorf("Funnel %s: %v, want %v", tt.name, err, tt.err)
			}
		}

		r, cut := svc.Kept(Last(queryNow, 72*time.Hour))
		if !cut || !r.From.Equal(kept) || !r.To.Equal(queryNow) {
			t.Errorf("Kept(72h) = %s, %v; want from %s, cut", describe(r), cut, kept)
		}
		if r, cut := svc.Kept(Last(queryNow, 24*time.Hour)); cut || !r.From.Equal(queryNow.Add(-24*time.Hour)) {
			t.Errorf("Kept(24h) = %s, %v; want it unchanged", describe(r), cut)
		}
		// u1's signup and activate are 50 and 49 hours old: the funnel counts from 48 hours ago.
		got, err := svc.Funnel(t.Context(), FunnelParams{Steps: steps, Range: r})
		if err != nil || got[0].Users != 4 || got[1].Users != 3 {
			t.Errorf("funnel over the kept range = %+v, %v; want 4 then 3 users", got, err)
		}

		st, err := svc.UserStats(t.Context(), 30)
		if err != nil {
			t.Fatal(err)
		}
		if st.Days != 30 || !st.TrackedSince.Equal(kept) || st.TrackedUsers != 6 || st.TotalUsers != 3 {
			t.Errorf("UserStats(30) = %+v; want 6 users tracked since %s", st, kept)
		}
		if st, err := svc.UserStats(t.Context(), 1); err != nil || !st.TrackedSince.Equal(queryNow.Add(-24*time.Hour)) || st.TrackedUsers != 5 {
			t.Errorf("UserStats(1) = %+v, %v; want 5 users tracked over the last day", st, err)
		}
	})
}

func mapsEqual(a, b map[string]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestQueriesUseIndexes: on a table of many events, no query the service runs scans a table:
// each searches an index (on SQLite, the plan has no SCAN of our tables; on PostgreSQL, with
// sequential scans priced out, no Seq Scan is left, so an index can serve each).
func TestQueriesUseIndexes(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		svc := newService(t, db, Settings{Retention: 30 * 24 * time.Hour}, &Opts{Now: (&fakeClock{t: queryNow}).Now})
		ctx := t.Context()
		var fill string
		if db.Engine() == database.SQLite {
			fill = `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000)
				INSERT INTO analytics_events (name, user_id, properties, occurred_at)
				SELECT 'e' || (i % 40), 'u' || (i % 3000), '{}', strftime('%Y-%m-%d %H:%M:%f000', '2026-06-10 12:30:00', '-' || (i % 5000) || ' minutes') FROM n`
		} else {
			fill = `INSERT INTO analytics_events (name, user_id, properties, occurred_at)
				SELECT 'e' || (i % 40), 'u' || (i % 3000), '{}', TIMESTAMPTZ '2026-06-10 12:30:00+00' - (i % 5000) * INTERVAL '1 minute' FROM generate_series(1, 20000) i`
		}
		if _, err := db.SQL().ExecContext(ctx, fill); err != nil {
			t.Fatal(err)
		}
		if _, err := db.SQL().ExecContext(ctx, `INSERT INTO analytics_hourly (hour, name, count) SELECT DISTINCT occurred_at, name, 1 FROM analytics_events`); err != nil {
			t.Fatal(err)
		}
		if _, err := db.SQL().ExecContext(ctx, "ANALYZE"); err != nil {
			t.Fatal(err)
		}
		day := Last(queryNow, 24*time.Hour)
		type query struct {
			what string
			q    string
			args []any
		}
		var qs []query
		add := func(what, q string, args []any) { qs = append(qs, query{what, q, args}) }
		q, a := svc.countsQuery(day)
		add("counts (raw)", q, a)
		q, a = svc.countsQuery(Last(queryNow, 30*24*time.Hour))
		add("counts (hourly)", q, a)
		q, a = svc.seriesQuery(day.From, day.To, "")
		add("series", q, a)
		q, a = svc.seriesQuery(day.From, day.To, "e1")
		add("series of a name", q, a)
		q, a = svc.uniqueQuery(day, "")
		add("unique users", q, a)
		q, a = svc.uniqueQuery(day, "e1")
		add("unique users of a name", q, a)
		q, a = svc.funnelQuery(FunnelParams{Steps: []string{"e1", "e2", "e3"}, Range: day})
		add("funnel", q, a)
		q, a = svc.pruneQuery()
		add("prune", q, a)

		conn, err := db.SQL().Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		explain := "EXPLAIN QUERY PLAN "
		if db.Engine() == database.Postgres {
			explain = "EXPLAIN "
			if _, err := conn.ExecContext(ctx, "SET enable_seqscan = off"); err != nil {
				t.Fatal(err)
			}
			defer func() { _, _ = conn.ExecContext(context.Background(), "RESET enable_seqscan") }()
		}
		for _, c := range qs {
			rows, err := conn.QueryContext(ctx, explain+c.q, c.args...)
			if err != nil {
				t.Fatalf("%s: %v", c.what, err)
			}
			cols, _ := rows.Columns()
			var plan []string
			for rows.Next() {
				vals := make([]any, len(cols))
				ptrs := make([]any, len(cols))
				for i := range vals {
					ptrs[i] = &vals[i]
				}
				if err := rows.Scan(ptrs...); err != nil {
					t.Fatal(err)
				}
				line, _ := vals[len(vals)-1].(string)
				plan = append(plan, line)
			}
			_ = rows.Close()
			text := strings.Join(plan, "\n")
			t.Logf("%s:\n%s", c.what, text)
			for _, table := range []string{"analytics_events", "analytics_hourly"} {
				if strings.Contains(text, "SCAN "+table) || strings.Contains(text, "Seq Scan on "+table) {
					t.Errorf("%s scans %s:\n%s", c.what, table, text)
				}
			}
		}
	})
}

// TestFunnelSameInstant: steps stored in one microsecond count in the funnel's order, whatever
// order the database returns them in (activate is stored first here).
func TestFunnelSameInstant(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		svc := newService(t, db, Settings{}, nil)
		at := time.Now().UTC().Add(-time.Minute).Truncate(time.Microsecond)
		for _, e := range []Event{{Name: "activate", UserID: "u", At: at}, {Name: "signup", UserID: "u", At: at}} {
			svc.TrackEvent(e)
		}
		if err := svc.Flush(t.Context()); err != nil {
			t.Fatal(err)
		}
		got, err := svc.Funnel(t.Context(), FunnelParams{Steps: []string{"signup", "activate"}, Range: Last(time.Now(), time.Hour), Window: time.Hour})
		if err != nil || len(got) != 2 || got[0].Users != 1 || got[1].Users != 1 {
			t.Errorf("funnel = %+v, %v; want 1 user through both steps", got, err)
		}
	})
}
