package analytics

import (
	"context"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aegisgo/aegis/template/internal/components/database"
	"github.com/aegisgo/aegis/template/internal/components/database/databasetest"
	"github.com/aegisgo/aegis/template/internal/runtime/logtest"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
)

// TestFlushBySize: with a long interval, events are written as soon as ANALYTICS_BUFFER_SIZE
// wait, and the rest at Stop.
func TestFlushBySize(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		// The service's log is shown if the wait fails: a write that failed would say why.
		logs := &logtest.Buffer{}
		svc := newService(t, db, Settings{BufferSize: 10, FlushInterval: time.Hour}, &Opts{Logger: slog.New(slog.NewTextHandler(logs, nil))})
		t.Cleanup(func() {
			if t.Failed() {
				t.Logf("service log:\n%s", logs)
			}
		})
		for i := range 25 {
			svc.Track(t.Context(), "clicked", map[string]any{"i": i})
		}
		// Generous: the wait ends as soon as the writes land, and a loaded CI machine once
		// took over 5 s.
		waitFor(t, 30*time.Second, "two batches of 10", func() bool { return storedEvents(t, db) >= 20 })
		if err := svc.Stop(t.Context()); err != nil {
			t.Fatal(err)
		}
		if n, h := storedEvents(t, db), hourlyTotal(t, db); n != 25 || h != 25 {
			t.Errorf("stored %d events, hourly total %d; want 25 and 25", n, h)
		}
		if st := svc.Stats(); st.Tracked != 25 || st.Stored != 25 || st.Dropped != 0 || st.Pending != 0 {
			t.Errorf("stats %+v", st)
		}
	})
}

// TestFlushByInterval: a few events are written within the interval, with no Stop.
func TestFlushByInterval(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		svc := newService(t, db, Settings{BufferSize: 1000, FlushInterval: 50 * time.Millisecond}, nil)
		svc.Track(WithUser(t.Context(), "u1"), "signup", nil)
		svc.TrackUserAction(t.Context(), "u2", "export", map[string]any{"format": "csv"})
		svc.TrackPageView(t.Context(), "/pricing", "https://example.com/")
		waitFor(t, 5*time.Second, "3 events stored", func() bool { return storedEvents(t, db) == 3 })
		evs, err := svc.Recent(t.Context(), 10)
		if err != nil {
			t.Fatal(err)
		}
		byName := map[string]Event{}
		for _, e := range evs {
			byName[e.Name] = e
		}
		if e := byName["signup"]; e.UserID != "u1" {
			t.Errorf("signup %+v, want user u1", e)
		}
		if e := byName[EventUserAction]; e.UserID != "u2" || e.Props["action"] != "export" || e.Props["format"] != "csv" {
			t.Errorf("user_action %+v", e)
		}
		if e := byName[EventPageView]; e.UserID != "" || e.Props["page"] != "/pricing" || e.Props["referrer"] != "https://example.com/" {
			t.Errorf("page_view %+v", e)
		}
		if e := byName["signup"]; time.Since(e.At) > time.Minute || time.Since(e.At) < 0 {
			t.Errorf("signup stored at %v, not about now", e.At)
		}
	})
}

// TestStopLosesNothing: 100,000 events tracked from 50 goroutines, then a graceful stop of
// the container: every event is stored exactly once, and counted once in the roll-up. The
// container stops the service before the database, which it depends on.
func TestStopLosesNothing(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		const goroutines, each = 50, 2000
		r := registry.New()
		if err := registry.Value(r, db, registry.Component(database.Name)); err != nil {
			t.Fatal(err)
		}
		// The database is stopped (closed) by the container after the service: a Value is
		// not closed unless it implements Stopper, which *database.DB does.
		if err := registry.Value(r, Settings{FlushInterval: time.Hour}.WithDefaults()); err != nil {
			t.Fatal(err)
		}
		if err := registry.Provide5(r, NewService, registry.StopTimeout(StopTimeout)); err != nil {
			t.Fatal(err)
		}
		c, err := r.Build()
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		svc, err := registry.Get[*Service](c)
		if err != nil {
			t.Fatal(err)
		}
		svc.logger = quiet
		var wg sync.WaitGroup
		for g := range goroutines {
			wg.Go(func() {
				ctx := WithUser(context.Background(), "user-"+strconv.Itoa(g))
				for i := range each {
					svc.Track(ctx, "load_test", map[string]any{"seq": g*each + i})
				}
			})
		}
		wg.Wait()
		if err := c.Stop(t.Context()); err != nil {
			t.Fatal(err)
		}
		if st := svc.Stats(); st.Stored != goroutines*each || st.Dropped != 0 {
			t.Fatalf("stats after stop %+v, want all %d stored", st, goroutines*each)
		}
		// The container closed the database: look with a fresh connection.
		check, err := database.Open(context.Background(), db.Settings())
		if err != nil {
			t.Fatal(err)
		}
		defer check.Close()
		n := count(t, check, "SELECT COUNT(*) FROM analytics_events")
		distinct := count(t, check, "SELECT COUNT(DISTINCT properties) FROM analytics_events")
		if n != goroutines*each || distinct != goroutines*each {
			t.Errorf("stored %d events (%d distinct), want %d exactly once each", n, distinct, goroutines*each)
		}
		if h := hourlyTotal(t, check); h != goroutines*each {
			t.Errorf("hourly total %d, want %d", h, goroutines*each)
		}
	})
}

// TestDatabaseDown: while writes fail (the table is renamed away), the buffer keeps at most ANALYTICS_BUFFER_LIMIT events and counts the others as dropped, health
// is degraded; once writes work again every kept event is stored.
func TestDatabaseDown(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		const limit = 500
		svc := newService(t, db, Settings{BufferSize: 100, BufferLimit: limit, FlushInterval: 20 * time.Millisecond}, nil)
		exec := func(q string) {
			t.Helper()
			if _, err := db.SQL().ExecContext(context.Background(), q); err != nil {
				t.Fatal(err)
			}
		}
		exec("ALTER TABLE analytics_events RENAME TO analytics_events_away")
		const attempts = 2000
		for i := range attempts {
			svc.Track(t.Context(), "during_outage", map[string]any{"i": i})
			if i%200 == 0 {
				time.Sleep(30 * time.Millisecond) // let the flusher fail a few times meanwhile
			}
		}
		st := svc.Stats()
		if st.Pending > limit || st.Dropped == 0 || st.Failures == 0 || st.Stored != 0 {
			t.Errorf("stats while down %+v: want at most %d waiting, drops and failures counted, nothing stored", st, limit)
		}
		if st.Pending+int(st.Dropped) != attempts {
			t.Errorf("waiting %d + dropped %d != %d attempts", st.Pending, st.Dropped, attempts)
		}
		h := svc.CheckHealth(t.Context())
		if h.Status != registry.StatusDegraded || h.Details["dropped"] != st.Dropped {
			t.Errorf("health while down %+v", h)
		}
		exec("ALTER TABLE analytics_events_away RENAME TO analytics_events")
		waitFor(t, 10*time.Second, "the kept events stored", func() bool { return svc.Stats().Pending == 0 && svc.Stats().Stored > 0 })
		if err := svc.Stop(t.Context()); err != nil {
			t.Fatal(err)
		}
		st = svc.Stats()
		if n := storedEvents(t, db); n != st.Stored || n+st.Dropped != attempts {
			t.Errorf("stored %d after recovery; stats %+v", n, st)
		}
		if h := svc.CheckHealth(t.Context()); h.Status != registry.StatusDegraded {
			t.Errorf("health right after drops %+v, want degraded for %s", h, dropWindow)
		}
	})
}

// TestInvalidAndStopped: bad names are counted as invalid, events after Stop as dropped;
// neither is stored nor an error.
func TestInvalidAndStopped(t *testing.T) {
	t.Parallel()
	db := databasetest.New(t, database.SQLite)
	svc := newService(t, db, Settings{}, nil)
	svc.Track(t.Context(), "Bad Name", nil)
	svc.Track(t.Context(), "", nil)
	svc.Track(t.Context(), "ok", map[string]any{"fn": func() {}}) // cannot be JSON
	if err := svc.Stop(t.Context()); err != nil {
		t.Fatal(err)
	}
	svc.Track(t.Context(), "late", nil)
	if st := svc.Stats(); st.Invalid != 3 || st.Dropped != 1 || st.Stored != 0 || storedEvents(t, db) != 0 {
		t.Errorf("stats %+v, want 3 invalid and 1 dropped", st)
	}
	if err := svc.Stop(t.Context()); err != nil {
		t.Errorf("second Stop: %v", err)
	}
}

func TestValidName(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]bool{
		"signup": true, "a": true, "checkout.step-2:done_ok": true, "x[]": false,
		"": false, "Signup": false, "1st": false, "has space": false, "émoji": false,
		"a123456789012345678901234567890123456789012345678901234567890123":  true,
		"a1234567890123456789012345678901234567890123456789012345678901234": false,
	} {
		if got := ValidName(name); got != want {
			t.Errorf("ValidName(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestSettingsValidate(t *testing.T) {
	t.Parallel()
	if err := (Settings{}).WithDefaults().Validate(); err != nil {
		t.Fatal(err)
	}
	bad := Settings{BufferSize: 1000, BufferLimit: 10, FlushInterval: time.Nanosecond, Retention: time.Minute}.WithDefaults()
	err := bad.Validate()
	for _, name := range []string{"ANALYTICS_BUFFER_LIMIT", "ANALYTICS_FLUSH_INTERVAL", "ANALYTICS_RETENTION"} {
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("Validate() = %v, want it to name %s", err, name)
		}
	}
}

// TestSettingsReadToken: ANALYTICS_READ_TOKEN guards reads that are not rate limited, so a
// short one is refused at start-up, naming the variable and never showing the value.
func TestSettingsReadToken(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name, token string
		ok          bool
	}{
		{name: "unset", token: "", ok: true},
		{name: "at the minimum", token: strings.Repeat("k", MinReadToken), ok: true},
		{name: "one short", token: strings.Repeat("k", MinReadToken-1)},
		{name: "a word", token: "secret"},
	} {
		err := Settings{ReadToken: tt.token}.WithDefaults().Validate()
		if tt.ok != (err == nil) {
			t.Errorf("%s: Validate() = %v, want ok %v", tt.name, err, tt.ok)
			continue
		}
		if err != nil && (!strings.Contains(err.Error(), "ANALYTICS_READ_TOKEN") || !strings.Contains(err.Error(), "shorter than 32") || strings.Contains(err.Error(), tt.token)) {
			t.Errorf("%s: Validate() = %q, want it to name ANALYTICS_READ_TOKEN and its length, not the value", tt.name, err)
		}
	}
}

// TestTrackDoesNotWaitForTheDatabase: while a write hangs on a lock another connection holds,
// Track keeps returning; the events wait in the buffer and are stored once the lock is gone.
// (A bound on each Track's time would fail whenever a shared machine pauses the test.)
func TestTrackDoesNotWaitForTheDatabase(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		svc := newService(t, db, Settings{BufferSize: 10, BufferLimit: 100_000, FlushInterval: time.Hour}, nil)
		ctx := t.Context()
		conn, err := db.SQL().Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		tx, err := conn.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback() // for a failed test; released below otherwise
		// SQLite has one write lock: any write statement takes it until the transaction ends.
		lock := "UPDATE analytics_events SET name = name WHERE 1 = 0"
		if db.Engine() == database.Postgres {
			lock = "LOCK TABLE analytics_events IN ACCESS EXCLUSIVE MODE"
		}
		if _, err := tx.ExecContext(ctx, lock); err != nil {
			t.Fatal(err)
		}
		for i := range 10 { // a full buffer: the flusher takes it and waits for the lock
			svc.Track(ctx, "before", map[string]any{"i": i})
		}
		waitFor(t, 10*time.Second, "the flusher to wait for the lock", func() bool {
			svc.mu.Lock()
			defer svc.mu.Unlock()
			return svc.inflight == 10
		})
		const attempts = 2000
		done := make(chan struct{})
		go func() {
			defer close(done)
			for i := range attempts {
				svc.Track(ctx, "during_lock", map[string]any{"i": i})
			}
		}()
		// A liveness bound, not a speed one: the write waits far longer (PostgreSQL: until the
		// flush times out after 30 s), and 2,000 appends take milliseconds.
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Fatal("Track waited for the locked database")
		}
		if err := tx.Rollback(); err != nil {
			t.Fatal(err)
		}
		if err := svc.Flush(ctx); err != nil { // SQLite's writer may have given up on the lock: retry
			t.Fatal(err)
		}
		waitFor(t, 30*time.Second, "every event stored", func() bool { return svc.Stats().Stored == attempts+10 })
		if st := svc.Stats(); st.Dropped != 0 || st.Pending != 0 {
			t.Errorf("stats %+v, want nothing dropped or waiting", st)
		}
	})
}

// TestHealthSlowWrite: a write held up by a lock (a long transaction, a migration) turns
// health degraded once it has run for slowWrite, instead of healthy until flushTimeout ends
// it, while the events pile up; a short wait does not, and the stored write clears it.
func TestHealthSlowWrite(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		for _, tt := range []struct {
			name    string
			elapsed time.Duration
			want    registry.Status
		}{
			{name: "a moment", elapsed: time.Second, want: registry.StatusHealthy},
			{name: "just under", elapsed: slowWrite - time.Millisecond, want: registry.StatusHealthy},
			{name: "stuck", elapsed: slowWrite, want: registry.StatusDegraded},
		} {
			start := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
			clock := &fakeClock{t: start}
			svc := newService(t, db, Settings{FlushInterval: time.Hour}, &Opts{Now: clock.Now})
			svc.Track(t.Context(), "slow", nil)
			// Another transaction holds the table, as a long one or a migration would.
			tx, err := db.SQL().BeginTx(t.Context(), nil)
			if err != nil {
				t.Fatal(err)
			}
			lock := "INSERT INTO analytics_hourly (hour, name, count) VALUES ('2000-01-01 00:00:00.000000', 'lock', 1)"
			if db.Engine() == database.Postgres {
				lock = "LOCK TABLE analytics_events IN EXCLUSIVE MODE"
			}
			if _, err := tx.ExecContext(t.Context(), lock); err != nil {
				t.Fatal(err)
			}
			flushed := make(chan error, 1)
			go func() { flushed <- svc.Flush(context.Background()) }()
			waitFor(t, 5*time.Second, "the write to start", func() bool { return svc.writing.Load() != 0 })
			clock.Set(start.Add(tt.elapsed))
			h := svc.CheckHealth(t.Context())
			if h.Status != tt.want || tt.want == registry.StatusDegraded && !strings.Contains(h.Message, "has been running for 10s") {
				t.Errorf("%s: health %+v during a write held up for %s, want %s", tt.name, h, tt.elapsed, tt.want)
			}
			if err := tx.Rollback(); err != nil {
				t.Fatal(err)
			}
			if err := <-flushed; err != nil {
				t.Fatalf("%s: the write after the lock: %v", tt.name, err)
			}
			if h := svc.CheckHealth(t.Context()); h.Status != registry.StatusHealthy {
				t.Errorf("%s: health %+v after the write, want healthy", tt.name, h)
			}
		}
	})
}
