package auth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aegisgo/aegis/template/internal/components/database"
	"github.com/aegisgo/aegis/template/internal/components/database/databasetest"
)

// heapSampler records the peak of the heap (live and not yet swept objects)
// while it runs, read from runtime/metrics every half millisecond: the memory
// argon2id blocks hold is what a burst of hashes grows.
type heapSampler struct {
	stop chan struct{}
	done chan struct{}
	peak atomic.Uint64
}

const heapMetric = "/memory/classes/heap/objects:bytes"

func heapNow() uint64 {
	s := []metrics.Sample{{Name: heapMetric}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

func startHeapSampler() *heapSampler {
	h := &heapSampler{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(h.done)
		tick := time.NewTicker(500 * time.Microsecond)
		defer tick.Stop()
		for {
			if v := heapNow(); v > h.peak.Load() {
				h.peak.Store(v)
			}
			select {
			case <-h.stop:
				return
			case <-tick.C:
			}
		}
	}()
	return h
}

func (h *heapSampler) finish() uint64 {
	close(h.stop)
	<-h.done
	return h.peak.Load()
}

// TestRegisterBurstHeapBounded fires 200 concurrent registrations (new
// accounts, so each one would hash) and checks that the heap's growth stays
// under what the hashing slots can hold: at most AUTH_HASH_CONCURRENCY
// argon2id blocks live at once, however many requests arrive. Excess
// requests get 503 with Retry-After, never a queue of 19 MiB allocations.
//
// The bound is 2 × slots × memory + 48 MiB: a block stays on the heap until
// the next GC after its hash, so up to about twice the live blocks are
// counted, plus the requests, responses and database work of the burst.
// Measured on the 2-core machine (GOMAXPROCS 2, 8 MiB blocks, bound 80 MiB):
// peak growth 40-56 MiB over five runs with the semaphore (about 70 of the
// 200 created, the rest 503); 376 MiB without it (all 200 hashing at once),
// which is what this test failed with before the gate existed.
//
// Not parallel: other tests' allocations would be counted.
func TestRegisterBurstHeapBounded(t *testing.T) {
	const (
		burst     = 200
		memoryKiB = 8 << 10
	)
	db := databasetest.New(t, database.SQLite)
	f := setup(t, db, func(s *Settings) {
		s.Argon2MemoryKiB = memoryKiB
		s.Argon2Iterations = 1
	})
	slots := runtime.GOMAXPROCS(0)
	bound := uint64(2*slots*memoryKiB<<10) + 48<<20

	runtime.GC()
	base := heapNow()
	sampler := startHeapSampler()
	codes := make([]int, burst)
	retry := make([]string, burst)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range burst {
		wg.Go(func() {
			<-start
			rec := f.do(t, req{method: "POST", path: "/api/v1/auth/register", remote: fmt.Sprintf("198.51.100.%d:1", i%250),
				body: map[string]string{"email": fmt.Sprintf("burst%d@example.com", i), "username": fmt.Sprintf("burst%d", i), "password": goodPassword}})
			codes[i], retry[i] = rec.Code, rec.Header().Get("Retry-After")
			if rec.Code == http.StatusServiceUnavailable {
				problem(t, rec, http.StatusServiceUnavailable)
			}
		})
	}
	close(start)
	wg.Wait()
	peak := sampler.finish()

	growth := uint64(0)
	if peak > base {
		growth = peak - base
	}
	t.Logf("GOMAXPROCS %d, argon2id %d KiB: heap base %d MiB, peak growth %d MiB, bound %d MiB",
		slots, memoryKiB, base>>20, growth>>20, bound>>20)
	created, busy := 0, 0
	for i, c := range codes {
		switch c {
		case http.StatusCreated:
			created++
		case http.StatusServiceUnavailable:
			busy++
			if retry[i] == "" || retry[i] == "0" {
				t.Errorf("503 without Retry-After")
			}
		default:
			t.Errorf("registration %d: status %d, want 201 or 503", i, c)
		}
	}
	t.Logf("%d created, %d answered 503", created, busy)
	if created == 0 {
		t.Error("no registration succeeded")
	}
	if growth > bound {
		t.Errorf("heap grew by %d MiB during the burst, over the bound of %d MiB (%d slots × %d KiB)", growth>>20, bound>>20, slots, memoryKiB)
	}
}

// TestHashGate: the semaphore around argon2id admits AUTH_HASH_CONCURRENCY
// at once, lets AUTH_HASH_QUEUE wait up to AUTH_HASH_WAIT, and answers the
// rest at once with a *BusyError; a cancelled request stops waiting.
func TestHashGate(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		queue   int
		wait    time.Duration
		cancel  bool
		wantErr func(error) bool
	}{
		{"queue full", 1, time.Hour, false, func(err error) bool { var b *BusyError; return errors.As(err, &b) && b.RetryAfter > 0 }},
		{"waited too long", 2, 20 * time.Millisecond, false, func(err error) bool { var b *BusyError; return errors.As(err, &b) && b.RetryAfter > 0 }},
		{"request cancelled", 2, time.Hour, true, func(err error) bool { return errors.Is(err, context.Canceled) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			g := newHashGate(1, c.queue, c.wait)
			release, err := g.acquire(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			// In "queue full" one waiter fills the queue of 1.
			waiterIn := make(chan struct{})
			waiterDone := make(chan error, 1)
			if c.name == "queue full" {
				go func() {
					close(waiterIn)
					r, err := g.acquire(context.Background())
					if err == nil {
						r()
					}
					waiterDone <- err
				}()
				<-waiterIn
				for g.waiting.Load() == 0 {
					time.Sleep(time.Millisecond)
				}
			}
			ctx, cancel := context.WithCancel(t.Context())
			if c.cancel {
				cancel()
			} else {
				defer cancel()
			}
			if _, err := g.acquire(ctx); !c.wantErr(err) {
				t.Fatalf("acquire with the slot taken = %v", err)
			}
			release()
			if c.name == "queue full" {
				if err := <-waiterDone; err != nil {
					t.Fatalf("the queued request got %v, want the slot", err)
				}
			}
			// The slot is free again.
			r, err := g.acquire(t.Context())
			if err != nil {
				t.Fatalf("acquire after release = %v", err)
			}
			r()
		})
	}
}

// TestRegisterCheapChecksFirst: a registration for a taken email or
// username, or with invalid input, answers without running argon2id.
func TestRegisterCheapChecksFirst(t *testing.T) {
	t.Parallel()
	databasetest.Engines(t, func(t *testing.T, db *database.DB) {
		f := setup(t, db, nil)
		a := f.newAccount(t)
		for _, c := range []struct {
			name   string
			body   map[string]string
			status int
		}{
			{"taken email", map[string]string{"email": a.email, "username": "fresh1", "password": goodPassword}, http.StatusConflict},
			{"taken username", map[string]string{"email": "fresh1@example.com", "username": a.username, "password": goodPassword}, http.StatusConflict},
			{"common password", map[string]string{"email": "fresh2@example.com", "username": "fresh2", "password": "password123"}, http.StatusUnprocessableEntity},
		} {
			before := f.users.hasher.hashes.Load()
			problem(t, f.do(t, req{method: "POST", path: "/api/v1/auth/register", body: c.body}), c.status)
			if n := f.users.hasher.hashes.Load() - before; n != 0 {
				t.Errorf("%s: %d argon2id hashes, want 0", c.name, n)
			}
		}
	})
}

// TestRegisterRateLimit: sign-ups are limited per client IP like logins.
func TestRegisterRateLimit(t *testing.T) {
	t.Parallel()
	databasetest.Engines(t, func(t *testing.T, db *database.DB) {
		f := setup(t, db, func(s *Settings) {
			s.RegisterIPLimit = 2
			s.RegisterIPWindow = time.Hour
		})
		register := func(remote string, n int) *httptest.ResponseRecorder {
			return f.do(t, req{method: "POST", path: "/api/v1/auth/register", remote: remote,
				body: map[string]string{"email": fmt.Sprintf("rl%d@example.com", n), "username": fmt.Sprintf("rl%d", n), "password": goodPassword}})
		}
		expect[UserBody](t, register("198.51.100.7:1", 1), http.StatusCreated)
		expect[UserBody](t, register("198.51.100.7:2", 2), http.StatusCreated)
		rec := register("198.51.100.7:3", 3)
		// Its own message: no password was tried.
		if p := problem(t, rec, http.StatusTooManyRequests); !strings.HasPrefix(p.Detail, "Too many registrations from this address; retry after ") {
			t.Errorf("detail %q, want the registration limit's", p.Detail)
		}
		if ra := rec.Header().Get("Retry-After"); ra == "" || ra == "0" {
			t.Errorf("Retry-After = %q", ra)
		}
		expect[UserBody](t, register("198.51.100.8:1", 4), http.StatusCreated)
	})
}
