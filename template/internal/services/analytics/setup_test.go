package analytics

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/aegisgo/aegis/template/internal/components/database"
)

// quiet is a logger for services whose warnings the test provokes.
var quiet = slog.New(slog.DiscardHandler)

// newService returns a started Service on db, stopped when the test ends.
func newService(t testing.TB, db *database.DB, s Settings, opts *Opts) *Service {
	t.Helper()
	if opts == nil {
		opts = &Opts{}
	}
	if opts.Logger == nil {
		opts.Logger = quiet
	}
	svc, err := New(db, s, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = svc.Stop(context.Background()) })
	return svc
}

// count runs a COUNT-like query that returns one integer.
func count(t testing.TB, db *database.DB, q string) int64 {
	t.Helper()
	var n int64
	if err := db.SQL().QueryRowContext(context.Background(), q).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func storedEvents(t testing.TB, db *database.DB) int64 {
	return count(t, db, "SELECT COUNT(*) FROM analytics_events")
}

func hourlyTotal(t testing.TB, db *database.DB) int64 {
	return count(t, db, "SELECT COALESCE(SUM(count), 0) FROM analytics_hourly")
}

// waitFor polls cond until it holds or the timeout passes.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}
