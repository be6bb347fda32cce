package cache_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aegisgo/aegis/template/internal/components/cache"
	"github.com/aegisgo/aegis/template/internal/components/cache/cachetest"
	"github.com/aegisgo/aegis/template/internal/runtime/logtest"
	"github.com/aegisgo/aegis/template/internal/runtime/ratelimit"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
	"github.com/aegisgo/aegis/template/internal/runtime/registry/registrytest"
)

// sharedStore returns the rate-limit store of a cache on the Redis at
// TEST_REDIS_URL under a prefix of its own, skipping t when it is unset.
func sharedStore(t *testing.T) ratelimit.Store {
	t.Helper()
	c := cache.New(cachetest.NewRedisStore(t), nil)
	s := c.RateLimits()
	if s == nil {
		t.Fatal("RateLimits on Redis = nil, want a store")
	}
	return s
}

// instances returns n Limiters of limit per window sharing store under one
// name, as n instances of an app do.
func instances(n, limit int, window time.Duration, store ratelimit.Store, name string) []*ratelimit.Limiter {
	ls := make([]*ratelimit.Limiter, n)
	for i := range ls {
		ls[i] = ratelimit.New(limit, window, &ratelimit.Opts{Shared: store, Name: name})
	}
	return ls
}

// TestSharedLimits: Limiters sharing the Redis store count together, as the
// instances of an app behind a load balancer: the limit holds across them
// (not n times it), a reset through one clears it for all, and limiters of
// different names do not count each other's events.
func TestSharedLimits(t *testing.T) {
	t.Parallel()
	store := sharedStore(t)
	ctx := t.Context()
	tests := []struct {
		name string
		run  func(t *testing.T, a, b *ratelimit.Limiter)
	}{
		{"allow", func(t *testing.T, a, b *ratelimit.Limiter) {
			allowed := 0
			for i := range 10 {
				l := []*ratelimit.Limiter{a, b}[i%2]
				if l.AllowContext(ctx, "203.0.113.9") == 0 {
					allowed++
				}
			}
			if allowed != 3 {
				t.Fatalf("two instances allowed %d of 10 attempts, want 3 (the limit, not twice it)", allowed)
			}
			if d := b.CheckContext(ctx, "203.0.113.9"); d < 50*time.Second || d > time.Minute {
				t.Errorf("wait = %v, want about a minute", d)
			}
			if a.AllowContext(ctx, "198.51.100.1") != 0 {
				t.Error("another key was limited")
			}
		}},
		{"add and check", func(t *testing.T, a, b *ratelimit.Limiter) {
			for i := range 2 {
				if d := a.AddContext(ctx, "acct"); d != 0 {
					t.Fatalf("Add #%d: wait %v, want none", i+1, d)
				}
			}
			if d := b.CheckContext(ctx, "acct"); d != 0 {
				t.Fatalf("Check after 2 of 3 failures: wait %v, want none", d)
			}
			if d := b.AddContext(ctx, "acct"); d < time.Second {
				t.Fatalf("Add #3 through the other instance: wait %v, want about a minute", d)
			}
			if d := a.CheckContext(ctx, "acct"); d < time.Second {
				t.Fatalf("Check after the limit: wait %v, want about a minute", d)
			}
			// Adds past the limit keep the log bounded and go on counting.
			for range 20 {
				a.AddContext(ctx, "acct")
			}
			if d := b.CheckContext(ctx, "acct"); d < 50*time.Second {
				t.Fatalf("Check after a flood: wait %v, want about a minute", d)
			}
		}},
		{"reset", func(t *testing.T, a, b *ratelimit.Limiter) {
			for range 3 {
				a.AddContext(ctx, "k")
			}
			if b.CheckContext(ctx, "k") == 0 {
				t.Fatal("the other instance does not see the limit")
			}
			a.ResetContext(ctx, "k")
			if d := b.CheckContext(ctx, "k"); d != 0 {
				t.Fatalf("after a reset through one instance, the other waits %v", d)
			}
			if d := b.AllowContext(ctx, "k"); d != 0 {
				t.Fatalf("after a reset, Allow waits %v", d)
			}
		}},
		{"names apart", func(t *testing.T, a, _ *ratelimit.Limiter) {
			other := ratelimit.New(3, time.Minute, &ratelimit.Opts{Shared: store, Name: "register-ip-" + t.Name()})
			for range 3 {
				a.AddContext(ctx, "k")
			}
			if d := other.CheckContext(ctx, "k"); d != 0 {
				t.Fatalf("a limiter of another name waits %v for a key the first limited", d)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ls := instances(2, 3, time.Minute, store, "login-ip-"+tt.name)
			tt.run(t, ls[0], ls[1])
			for _, l := range ls {
				if n := l.Fallbacks(); n != 0 {
					t.Errorf("%d calls fell back to the local window with Redis up", n)
				}
			}
		})
	}
}

// TestSharedLimitsConcurrent: attempts racing from several instances get
// exactly the limit between them, as the check and the record are one step
// on the server.
func TestSharedLimitsConcurrent(t *testing.T) {
	t.Parallel()
	store := sharedStore(t)
	ls := instances(4, 7, time.Minute, store, "race")
	var allowed atomic.Int32
	var wg sync.WaitGroup
	for i := range 80 {
		wg.Go(func() {
			if ls[i%len(ls)].AllowContext(t.Context(), "k") == 0 {
				allowed.Add(1)
			}
		})
	}
	wg.Wait()
	if n := allowed.Load(); n != 7 {
		t.Fatalf("80 racing attempts through 4 instances: %d allowed, want 7", n)
	}
}

// TestSharedLimitsWindowSlides: events leave the window on the server's
// clock, and an expired log leaves no key behind.
func TestSharedLimitsWindowSlides(t *testing.T) {
	t.Parallel()
	store := sharedStore(t)
	ls := instances(2, 2, 300*time.Millisecond, store, "slide")
	ls[0].AllowContext(t.Context(), "k")
	ls[1].AllowContext(t.Context(), "k")
	if d := ls[0].AllowContext(t.Context(), "k"); d != time.Second {
		t.Fatalf("third attempt: wait %v, want the least wait, a second", d)
	}
	time.Sleep(350 * time.Millisecond)
	if d := ls[1].AllowContext(t.Context(), "k"); d != 0 {
		t.Fatalf("after the window: wait %v, want none", d)
	}
}

// flaky is a Store that fails while down is set and otherwise passes
// calls to the real one, as a Redis that goes away and comes back.
type flaky struct {
	ratelimit.Store
	down  atomic.Bool
	calls atomic.Int32
}

var errDown = errors.New("cache: redis ratelimit allow: dial tcp 127.0.0.1:6379: connect: connection refused")

func (f *flaky) Allow(ctx context.Context, key string, limit int, window time.Duration) (time.Duration, error) {
	if f.calls.Add(1); f.down.Load() {
		return 0, errDown
	}
	return f.Store.Allow(ctx, key, limit, window)
}

func (f *flaky) Add(ctx context.Context, key string, limit int, window time.Duration) (time.Duration, error) {
	if f.calls.Add(1); f.down.Load() {
		return 0, errDown
	}
	return f.Store.Add(ctx, key, limit, window)
}

func (f *flaky) Check(ctx context.Context, key string, limit int, window time.Duration) (time.Duration, error) {
	if f.calls.Add(1); f.down.Load() {
		return 0, errDown
	}
	return f.Store.Check(ctx, key, limit, window)
}

func (f *flaky) Reset(ctx context.Context, key string) error {
	if f.calls.Add(1); f.down.Load() {
		return errDown
	}
	return f.Store.Reset(ctx, key)
}

// TestSharedLimitsOutage: when Redis fails, each instance limits on its own
// window, which holds the events it recorded while Redis was up: an outage
// neither lifts the limit nor fails the call, and is logged once.
func TestSharedLimitsOutage(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	store := &flaky{Store: sharedStore(t)}
	logs := &logtest.Buffer{}
	var clock atomic.Int64 // the limiter's own clock: when to ask Redis again
	clock.Store(time.Now().UnixNano())
	l := ratelimit.New(3, time.Minute, &ratelimit.Opts{Shared: store, Name: "outage",
		Logger: slog.New(slog.NewJSONHandler(logs, nil)), Now: func() time.Time { return time.Unix(0, clock.Load()) }})
	other := ratelimit.New(3, time.Minute, &ratelimit.Opts{Shared: store, Name: "outage"})
	for i := range 2 {
		if d := l.AllowContext(ctx, "k"); d != 0 {
			t.Fatalf("attempt %d refused (%v)", i+1, d)
		}
	}
	other.AllowContext(ctx, "k") // the third in Redis, not in l's own window
	store.down.Store(true)
	before := store.calls.Load()
	if d := l.AllowContext(ctx, "k"); d != 0 {
		t.Fatalf("during the outage, the 3rd attempt through this instance waits %v; want none (per process)", d)
	}
	for i := range 5 {
		if d := l.AllowContext(ctx, "k"); d == 0 {
			t.Fatalf("during the outage, attempt %d past the local limit was allowed", i+4)
		}
	}
	if d := l.CheckContext(ctx, "k"); d == 0 {
		t.Error("Check during the outage: no wait")
	}
	if n := l.Fallbacks(); n != 7 {
		t.Errorf("Fallbacks = %d, want 7", n)
	}
	if n := len(logs.Records(t, "ratelimit: shared store failed; limiting per process until it answers")); n != 1 {
		t.Errorf("the outage was logged %d times, want once:\n%s", n, logs)
	}
	if n := store.calls.Load() - before; n != 1 {
		t.Errorf("the store was asked %d times during the outage, want once per ratelimit.SharedRetry", n)
	}
	store.down.Store(false)
	if d := l.AllowContext(ctx, "k"); d == 0 || store.calls.Load()-before != 1 {
		t.Fatal("Redis asked again before ratelimit.SharedRetry passed")
	}
	clock.Add(int64(ratelimit.SharedRetry))
	if d := l.AllowContext(ctx, "k"); d == 0 || store.calls.Load()-before != 2 {
		t.Error("after the outage: allowed, want Redis's count (3 of 3)")
	}
	if n := len(logs.Records(t, "ratelimit: shared store answers again; limits hold across instances")); n != 1 {
		t.Errorf("the recovery was logged %d times, want once:\n%s", n, logs)
	}
	if strings.Contains(logs.String(), `"k"`) {
		t.Errorf("the logs name the key:\n%s", logs)
	}
}

// TestSharedLimitsKeys: keys in Redis are under the cache's prefix and the
// limiter's name, and hold a hash of the key, never what a client typed.
func TestSharedLimitsKeys(t *testing.T) {
	t.Parallel()
	url := cachetest.RedisURL(t)
	prefix := "ratelimitkeys:" + cachetest.RandomPrefix()
	r, err := cache.NewRedis(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := cache.New(r, &cache.Opts{KeyPrefix: prefix})
	t.Cleanup(func() { _ = c.Stop(context.Background()) })
	l := ratelimit.New(3, time.Minute, &ratelimit.Opts{Shared: c.RateLimits(), Name: "auth:login-account"})
	const typed = "login:hunter2-secret"
	l.AddContext(t.Context(), typed)
	keys, err := r.Client().Keys(t.Context(), prefix+"*").Result()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Client().Del(context.Background(), keys...) })
	if len(keys) != 1 || !strings.HasPrefix(keys[0], prefix+"ratelimit:auth:login-account:") || strings.Contains(keys[0], "hunter2") {
		t.Fatalf("keys = %q, want one under %sratelimit:auth:login-account: without the key as typed", keys, prefix)
	}
	if ttl := r.Client().PTTL(t.Context(), keys[0]).Val(); ttl <= 0 || ttl > time.Minute {
		t.Errorf("TTL = %v, want the window", ttl)
	}
}

// TestSharedLimitsComponent: the component provides ratelimit.Shared with a
// store on Redis and none in memory, where limits stay per process.
func TestSharedLimitsComponent(t *testing.T) {
	// Not parallel: t.Setenv.
	for _, tt := range []struct {
		name, url string
		want      bool
	}{
		{"memory", "", false},
		{"redis", "redis://127.0.0.1:1/0", true}, // not dialled: providing it needs no server
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("CACHE_URL", tt.url)
			c := registrytest.Start(t, registry.New(), cache.Register)
			shared := registry.MustGet[ratelimit.Shared](c)
			if got := shared.Store != nil; got != tt.want {
				t.Fatalf("Shared.Store = %v, want a store: %v", shared.Store, tt.want)
			}
			if mem := cachetest.NewMemory(t); mem.RateLimits() != nil {
				t.Error("RateLimits of a memory cache is not nil")
			}
		})
	}
}
