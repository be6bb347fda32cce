package registry_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aegisgo/aegis/template/internal/runtime/registry"
)

// readyChecker has a full check that never ends and a readiness check the test sets.
type readyChecker struct {
	ready  error
	checks atomic.Int64
	hang   chan struct{}
}

func (r *readyChecker) CheckHealth(context.Context) registry.Health {
	r.checks.Add(1)
	<-r.hang
	return registry.Health{Status: registry.StatusHealthy}
}

func (r *readyChecker) Ready(context.Context) error { return r.ready }

// slowOnly has a full check that never ends and no readiness check.
type slowOnly struct{ hang chan struct{} }

func (s *slowOnly) CheckHealth(context.Context) registry.Health {
	<-s.hang
	return registry.Health{Status: registry.StatusHealthy}
}

// TestCheckReady runs the ReadinessCheckers only: their errors make the report unhealthy (an
// optional one's only degraded), and no CheckHealth runs, so hung full checks do not matter.
func TestCheckReady(t *testing.T) {
	t.Parallel()
	hang := make(chan struct{})
	defer close(hang)
	db := &readyChecker{ready: errors.New("db: connection refused"), hang: hang}
	cache := &readyChecker{ready: errors.New("cache: down"), hang: hang}
	jobs := &readyChecker{hang: hang}
	r := registry.New()
	must(t, registry.Value(r, db, registry.Name("db")))
	must(t, registry.Value(r, cache, registry.Name("cache"), registry.Optional()))
	must(t, registry.Value(r, jobs, registry.Name("jobs")))
	must(t, registry.Value(r, &slowOnly{hang: hang}, registry.Name("slow")))
	c, err := r.Build()
	must(t, err)
	must(t, c.Start(t.Context()))

	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	rep := c.CheckReady(ctx, time.Hour) // a hung check would hold it for the hour
	if ctx.Err() != nil {
		t.Fatal("CheckReady waited for a full health check")
	}
	got := map[string]registry.CheckResult{}
	for _, ch := range rep.Checks {
		got[ch.Name] = ch
	}
	if rep.Status != registry.StatusUnhealthy || got["db"].Status != registry.StatusUnhealthy || got["db"].Message != "db: connection refused" ||
		got["cache"].Status != registry.StatusUnhealthy || got["jobs"].Status != registry.StatusHealthy || got["slow"].Status != registry.StatusHealthy {
		t.Errorf("report %+v", rep)
	}
	if n := db.checks.Load() + cache.checks.Load() + jobs.checks.Load(); n != 0 {
		t.Errorf("CheckReady ran %d full health checks", n)
	}

	db.ready = nil
	if rep := c.CheckReady(ctx, time.Hour); rep.Status != registry.StatusDegraded {
		t.Errorf("with only the optional service not ready: %s, want degraded", rep.Status)
	}
}

// counter counts its health checks; each blocks until release is closed, when set.
type counter struct {
	n       atomic.Int64
	release chan struct{}
}

func (c *counter) CheckHealth(context.Context) registry.Health {
	c.n.Add(1)
	if c.release != nil {
		<-c.release
	}
	return registry.Health{Status: registry.StatusHealthy}
}

// startBlockedCounter starts a container holding one counter, named svc,
// whose checks block until its release is closed.
func startBlockedCounter(t *testing.T) (*counter, *registry.Container) {
	t.Helper()
	svc := &counter{release: make(chan struct{})}
	r := registry.New()
	must(t, registry.Value(r, svc, registry.Name("svc")))
	c, err := r.Build()
	must(t, err)
	must(t, c.Start(t.Context()))
	return svc, c
}

// waitBlocked returns once a check has started (and blocks on release).
func (c *counter) waitBlocked() {
	for c.n.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
}

// TestSharedHealth: viewers within the maximum age share one report, viewers arriving while it
// is computed wait for the same computation, and an older report is computed anew.
func TestSharedHealth(t *testing.T) {
	t.Parallel()
	svc, c := startBlockedCounter(t)

	// Concurrent viewers while the first computation blocks: one computation.
	var wg sync.WaitGroup
	reports := make([]registry.Report, 5)
	for i := range reports {
		wg.Go(func() { reports[i] = c.SharedHealth(t.Context(), time.Hour, time.Hour) })
	}
	svc.waitBlocked()
	time.Sleep(20 * time.Millisecond) // let the others arrive and wait
	close(svc.release)
	wg.Wait()
	for i, rep := range reports {
		if rep.Status != registry.StatusHealthy || !rep.CheckedAt.Equal(reports[0].CheckedAt) {
			t.Errorf("viewer %d got %+v, want the shared healthy report", i, rep)
		}
	}
	if n := svc.n.Load(); n != 1 {
		t.Fatalf("5 concurrent viewers ran %d checks, want 1", n)
	}

	// Two later viewers within the maximum age: the same report, no new check.
	a := c.SharedHealth(t.Context(), time.Second, time.Hour)
	b := c.SharedHealth(t.Context(), time.Second, time.Hour)
	if n := svc.n.Load(); n != 1 || !a.CheckedAt.Equal(reports[0].CheckedAt) || !b.CheckedAt.Equal(a.CheckedAt) {
		t.Errorf("viewers within the maximum age: %d checks, want still 1", n)
	}

	// A report older than the maximum age is computed anew.
	time.Sleep(2 * time.Millisecond)
	if rep := c.SharedHealth(t.Context(), time.Second, time.Millisecond); rep.CheckedAt.Equal(a.CheckedAt) || svc.n.Load() != 2 {
		t.Errorf("an old report was reused: %d checks, want 2", svc.n.Load())
	}

	if c.SharedHealth(t.Context(), time.Second, -1); svc.n.Load() != 3 {
		t.Errorf("a negative maximum age reused a report: %d checks, want 3", svc.n.Load())
	}

	// A viewer whose request ends while it waits leaves without the report.
	svc2, c2 := startBlockedCounter(t)
	go c2.SharedHealth(t.Context(), time.Hour, time.Hour)
	svc2.waitBlocked()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if rep := c2.SharedHealth(ctx, time.Hour, time.Hour); rep.Status != registry.StatusUnhealthy {
		t.Errorf("a cancelled viewer got %+v", rep)
	}
	close(svc2.release)
}
