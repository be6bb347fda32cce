package cachetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aegisgo/aegis/template/internal/components/cache"
)

// RunStoreTests checks that the stores newStore returns keep the Store
// contract, and that a Cache on them keeps its own (JSON helpers,
// single-flight). newStore is called once per subtest, with the subtest's t,
// and must return an empty store (or one under a fresh key prefix) that it
// closes when t ends; closing it twice must be harmless. Subtests run in
// parallel and take about a second in all, most of it waiting for expiry.
func RunStoreTests(t *testing.T, newStore func(t *testing.T) cache.Store) {
	t.Helper()
	tests := []struct {
		name string
		run  func(t *testing.T, s cache.Store)
	}{
		{"GetMissing", testGetMissing},
		{"SetGet", testSetGet},
		{"Overwrite", testOverwrite},
		{"Copies", testCopies},
		{"TTL", testTTL},
		{"Delete", testDelete},
		{"Exists", testExists},
		{"Incr", testIncr},
		{"IncrConcurrent", testIncrConcurrent},
		{"BigValue", testBigValue},
		{"Prefix", testPrefix},
		{"CanceledContext", testCanceledContext},
		{"Close", testClose},
		{"Cache/JSON", testCacheJSON},
		{"Cache/Decode", testCacheDecode},
		{"Cache/Encode", testCacheEncode},
		{"Cache/GetOrCompute", testGetOrCompute},
		{"Cache/SingleFlight", testSingleFlight},
		{"Cache/LeaderCanceled", testLeaderCanceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.run(t, newStore(t))
		})
	}
}

func mustGet(t *testing.T, s cache.Store, key string) ([]byte, bool) {
	t.Helper()
	v, ok, err := s.Get(t.Context(), key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	return v, ok
}

func mustSet(t *testing.T, s cache.Store, key string, v []byte, ttl time.Duration) {
	t.Helper()
	if err := s.Set(t.Context(), key, v, ttl); err != nil {
		t.Fatalf("Set(%q): %v", key, err)
	}
}

func wantValue(t *testing.T, s cache.Store, key string, want []byte) {
	t.Helper()
	got, ok := mustGet(t, s, key)
	if !ok {
		t.Fatalf("Get(%q) missed, want %q", key, abbrev(want))
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("Get(%q) = %q, want %q", key, abbrev(got), abbrev(want))
	}
}

func wantMissing(t *testing.T, s cache.Store, key string) {
	t.Helper()
	if got, ok := mustGet(t, s, key); ok {
		t.Fatalf("Get(%q) = %q, want a miss", key, abbrev(got))
	}
}

func abbrev(b []byte) []byte {
	if len(b) > 40 {
		return append(b[:40:40], "…"...)
	}
	return b
}

func testGetMissing(t *testing.T, s cache.Store) {
	v, ok := mustGet(t, s, "missing")
	if ok || v != nil {
		t.Fatalf("Get(missing) = %q, %v; want nil, false", v, ok)
	}
}

func testSetGet(t *testing.T, s cache.Store) {
	for _, tc := range []struct{ key, value string }{
		{"plain", "hello"},
		{"empty value", ""},
		{"binary", "a\x00b\xff\r\n"},
		{"user:42:profile", `{"name":"Ada"}`},
		{"ключ ☃ with spaces", "unicode key"},
		{"", "empty key"},
	} {
		mustSet(t, s, tc.key, []byte(tc.value), 0)
		wantValue(t, s, tc.key, []byte(tc.value))
	}
}

func testOverwrite(t *testing.T, s cache.Store) {
	mustSet(t, s, "k", []byte("first"), 0)
	mustSet(t, s, "k", []byte("second, longer"), 0)
	wantValue(t, s, "k", []byte("second, longer"))
	mustSet(t, s, "k", []byte("3"), 0)
	wantValue(t, s, "k", []byte("3"))

	// Overwriting replaces the expiry too: a value set without a TTL over
	// one that had a short TTL stays.
	mustSet(t, s, "ttl", []byte("short"), 150*time.Millisecond)
	mustSet(t, s, "ttl", []byte("forever"), 0)
	time.Sleep(300 * time.Millisecond)
	wantValue(t, s, "ttl", []byte("forever"))
}

func testCopies(t *testing.T, s cache.Store) {
	in := []byte("original")
	mustSet(t, s, "k", in, 0)
	copy(in, "XXXXXXXX")
	wantValue(t, s, "k", []byte("original"))

	got, _ := mustGet(t, s, "k")
	copy(got, "YYYYYYYY")
	wantValue(t, s, "k", []byte("original"))
}

func testTTL(t *testing.T, s cache.Store) {
	const ttl = 200 * time.Millisecond
	start := time.Now()
	mustSet(t, s, "short", []byte("v"), ttl)
	mustSet(t, s, "forever", []byte("v"), 0)
	mustSet(t, s, "negative", []byte("v"), -time.Second)
	mustSet(t, s, "counter", []byte("1"), ttl)
	if _, err := s.Incr(t.Context(), "counter", 1); err != nil {
		t.Fatal(err)
	}
	if _, ok := mustGet(t, s, "short"); !ok && time.Since(start) < ttl {
		t.Fatal("value with a TTL missed before it expired")
	}
	// Wait well past the TTL: Redis expires lazily on read, memory too.
	time.Sleep(ttl + 300*time.Millisecond)
	wantMissing(t, s, "short")
	if ok, err := s.Exists(t.Context(), "short"); err != nil || ok {
		t.Fatalf("Exists(short) after expiry = %v, %v; want false", ok, err)
	}
	// Incr keeps the key's TTL, so a counter with a window expires with it.
	wantMissing(t, s, "counter")
	wantValue(t, s, "forever", []byte("v"))
	wantValue(t, s, "negative", []byte("v"))
}

func testDelete(t *testing.T, s cache.Store) {
	mustSet(t, s, "k", []byte("v"), 0)
	if err := s.Delete(t.Context(), "k"); err != nil {
		t.Fatal(err)
	}
	wantMissing(t, s, "k")
	if err := s.Delete(t.Context(), "never-set"); err != nil {
		t.Fatalf("Delete of a missing key: %v; want nil", err)
	}
	mustSet(t, s, "k", []byte("again"), 0)
	wantValue(t, s, "k", []byte("again"))
}

func testExists(t *testing.T, s cache.Store) {
	exists := func(key string) bool {
		t.Helper()
		ok, err := s.Exists(t.Context(), key)
		if err != nil {
			t.Fatalf("Exists(%q): %v", key, err)
		}
		return ok
	}
	if exists("k") {
		t.Fatal("Exists before Set = true")
	}
	mustSet(t, s, "k", []byte{}, 0)
	if !exists("k") {
		t.Fatal("Exists of an empty value = false")
	}
	_ = s.Delete(t.Context(), "k")
	if exists("k") {
		t.Fatal("Exists after Delete = true")
	}
}

func testIncr(t *testing.T, s cache.Store) {
	incr := func(key string, delta, want int64) {
		t.Helper()
		got, err := s.Incr(t.Context(), key, delta)
		if err != nil {
			t.Fatalf("Incr(%q, %d): %v", key, delta, err)
		}
		if got != want {
			t.Fatalf("Incr(%q, %d) = %d, want %d", key, delta, got, want)
		}
	}
	incr("missing", 1, 1)
	incr("missing", 1, 2)
	incr("missing", -5, -3)
	incr("missing", 0, -3)
	wantValue(t, s, "missing", []byte("-3"))
	incr("delta", 10, 10)

	mustSet(t, s, "set", []byte("41"), 0)
	incr("set", 1, 42)

	for _, tc := range []struct {
		name  string
		value string
		delta int64
	}{
		{"text", "forty-two", 1},
		{"float", "1.5", 1},
		{"overflow", fmt.Sprint(int64(math.MaxInt64)), 1},
		{"underflow", fmt.Sprint(int64(math.MinInt64)), -1},
	} {
		mustSet(t, s, tc.name, []byte(tc.value), 0)
		_, err := s.Incr(t.Context(), tc.name, tc.delta)
		if !errors.Is(err, cache.ErrNotInteger) {
			t.Errorf("Incr on %q by %d: error %v, want one wrapping cache.ErrNotInteger", tc.value, tc.delta, err)
		}
		wantValue(t, s, tc.name, []byte(tc.value)) // left alone
	}
}

func testIncrConcurrent(t *testing.T, s cache.Store) {
	const workers, each = 20, 50
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for range workers {
		wg.Go(func() {
			for range each {
				if _, err := s.Incr(t.Context(), "n", 1); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	wantValue(t, s, "n", fmt.Appendf(nil, "%d", workers*each))
}

func testBigValue(t *testing.T, s cache.Store) {
	for _, size := range []int{64 << 10, 4 << 20} {
		v := make([]byte, size)
		_, _ = rand.Read(v)
		key := fmt.Sprintf("big-%d", size)
		mustSet(t, s, key, v, time.Minute)
		got, ok := mustGet(t, s, key)
		if !ok || !bytes.Equal(got, v) {
			t.Fatalf("Get(%q) returned %d bytes (hit %v), want the %d bytes set", key, len(got), ok, size)
		}
	}
}

func testPrefix(t *testing.T, s cache.Store) {
	a, b := cache.WithPrefix(s, "a:"), cache.WithPrefix(s, "b:")
	mustSet(t, a, "k", []byte("from a"), 0)
	mustSet(t, b, "k", []byte("from b"), 0)
	wantValue(t, a, "k", []byte("from a"))
	wantValue(t, b, "k", []byte("from b"))
	// The prefix is a plain concatenation, visible to the store below.
	wantValue(t, s, "a:k", []byte("from a"))
	wantMissing(t, s, "k")

	if _, err := a.Incr(t.Context(), "n", 2); err != nil {
		t.Fatal(err)
	}
	wantValue(t, s, "a:n", []byte("2"))
	if err := a.Delete(t.Context(), "k"); err != nil {
		t.Fatal(err)
	}
	wantValue(t, b, "k", []byte("from b"))
	if ok, _ := a.Exists(t.Context(), "k"); ok {
		t.Fatal("Exists after Delete through the prefix = true")
	}
	// Nested prefixes compose.
	wantMissing(t, cache.WithPrefix(a, "x:"), "k")
	mustSet(t, cache.WithPrefix(a, "x:"), "k", []byte("nested"), 0)
	wantValue(t, s, "a:x:k", []byte("nested"))
}

func testCanceledContext(t *testing.T, s cache.Store) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	for name, err := range map[string]error{
		"Get":    func() error { _, _, err := s.Get(ctx, "k"); return err }(),
		"Set":    s.Set(ctx, "k", []byte("v"), 0),
		"Delete": s.Delete(ctx, "k"),
		"Exists": func() error { _, err := s.Exists(ctx, "k"); return err }(),
		"Incr":   func() error { _, err := s.Incr(ctx, "k", 1); return err }(),
		"Ping":   s.Ping(ctx),
	} {
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%s with a canceled context: error %v, want one wrapping context.Canceled", name, err)
		}
	}
}

func testClose(t *testing.T, s cache.Store) {
	if err := s.Ping(t.Context()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	mustSet(t, s, "k", []byte("v"), 0)
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v; want nil (idempotent)", err)
	}
	if _, _, err := s.Get(t.Context(), "k"); !errors.Is(err, cache.ErrClosed) {
		t.Errorf("Get after Close: error %v, want one wrapping cache.ErrClosed", err)
	}
	if err := s.Set(t.Context(), "k", nil, 0); !errors.Is(err, cache.ErrClosed) {
		t.Errorf("Set after Close: error %v, want one wrapping cache.ErrClosed", err)
	}
	if err := s.Ping(t.Context()); !errors.Is(err, cache.ErrClosed) {
		t.Errorf("Ping after Close: error %v, want one wrapping cache.ErrClosed", err)
	}
}

type profile struct {
	Name  string   `json:"name"`
	Roles []string `json:"roles"`
	Age   int      `json:"age"`
}

// newCache wraps s in a Cache whose Stop the store's own cleanup makes
// harmless (Close is idempotent).
func newCache(s cache.Store) *cache.Cache { return cache.New(s, nil) }

func testCacheJSON(t *testing.T, s cache.Store) {
	c := newCache(s)
	ctx := t.Context()
	if _, ok, err := cache.Get[profile](ctx, c, "p"); ok || err != nil {
		t.Fatalf("Get before Set = %v, %v; want a miss", ok, err)
	}
	want := profile{Name: "Ada", Roles: []string{"admin"}, Age: 36}
	if err := cache.Set(ctx, c, "p", want, time.Minute); err != nil {
		t.Fatal(err)
	}
	got, ok, err := cache.Get[profile](ctx, c, "p")
	if err != nil || !ok || got.Name != want.Name || len(got.Roles) != 1 || got.Age != want.Age {
		t.Fatalf("Get = %+v, %v, %v; want %+v", got, ok, err, want)
	}
	// Stored as JSON, readable by any client of the store.
	wantValue(t, s, "p", []byte(`{"name":"Ada","roles":["admin"],"age":36}`))

	if err := cache.Set(ctx, c, "n", 7, 0); err != nil { // ttl 0: the default TTL
		t.Fatal(err)
	}
	if n, ok, _ := cache.Get[int](ctx, c, "n"); !ok || n != 7 {
		t.Fatalf("Get[int] = %d, %v; want 7", n, ok)
	}
	if !c.Exists(ctx, "n") {
		t.Fatal("Exists(n) = false")
	}
	c.Delete(ctx, "n")
	if c.Exists(ctx, "n") {
		t.Fatal("Exists after Delete = true")
	}
	if n, err := c.Incr(ctx, "hits", 3); err != nil || n != 3 {
		t.Fatalf("Incr = %d, %v; want 3", n, err)
	}
	if n, ok, _ := cache.Get[int64](ctx, c, "hits"); !ok || n != 3 {
		t.Fatalf("Get[int64] of a counter = %d, %v; want 3", n, ok)
	}
}

func testCacheDecode(t *testing.T, s cache.Store) {
	c := newCache(s)
	ctx := t.Context()
	mustSet(t, s, "p", []byte(`"not a profile"`), 0)
	if _, ok, err := cache.Get[profile](ctx, c, "p"); ok || !errors.Is(err, cache.ErrDecode) {
		t.Fatalf("Get of another type = %v, %v; want a miss with an error wrapping cache.ErrDecode", ok, err)
	}
	// GetOrCompute heals the key instead of failing.
	got, err := cache.GetOrCompute(ctx, c, "p", time.Minute, func(context.Context) (profile, error) {
		return profile{Name: "fresh"}, nil
	})
	if err != nil || got.Name != "fresh" {
		t.Fatalf("GetOrCompute over a bad value = %+v, %v; want the computed value", got, err)
	}
	if got, ok, err := cache.Get[profile](ctx, c, "p"); !ok || err != nil || got.Name != "fresh" {
		t.Fatalf("Get after GetOrCompute = %+v, %v, %v; want the computed value stored", got, ok, err)
	}
}

func testCacheEncode(t *testing.T, s cache.Store) {
	c := newCache(s)
	if err := cache.Set(t.Context(), c, "ch", make(chan int), 0); !errors.Is(err, cache.ErrEncode) {
		t.Fatalf("Set of a channel: error %v, want one wrapping cache.ErrEncode", err)
	}
	_, err := cache.GetOrCompute(t.Context(), c, "fn", 0, func(context.Context) (func(), error) { return func() {}, nil })
	if !errors.Is(err, cache.ErrEncode) {
		t.Fatalf("GetOrCompute of a func: error %v, want one wrapping cache.ErrEncode", err)
	}
}

func testGetOrCompute(t *testing.T, s cache.Store) {
	c := newCache(s)
	ctx := t.Context()
	var calls atomic.Int32
	compute := func(context.Context) (profile, error) {
		calls.Add(1)
		return profile{Name: "Grace"}, nil
	}
	for range 3 {
		got, err := cache.GetOrCompute(ctx, c, "p", time.Minute, compute)
		if err != nil || got.Name != "Grace" {
			t.Fatalf("GetOrCompute = %+v, %v", got, err)
		}
	}
	if n := calls.Load(); n != 1 {
		t.Fatalf("compute called %d times for 3 calls, want 1 (the value is cached)", n)
	}

	// An error comes back unchanged and nothing is cached.
	boom := errors.New("database is down")
	for range 2 {
		_, err := cache.GetOrCompute(ctx, c, "err", time.Minute, func(context.Context) (int, error) {
			calls.Add(1)
			return 0, boom
		})
		if err != boom {
			t.Fatalf("GetOrCompute error = %v, want compute's own error", err)
		}
	}
	if n := calls.Load(); n != 3 {
		t.Fatalf("compute called %d times in all, want 3 (errors are not cached)", n)
	}
	wantMissing(t, s, "err")
}

func testSingleFlight(t *testing.T, s cache.Store) {
	c := newCache(s)
	const callers = 100
	var (
		calls   atomic.Int32
		wg      sync.WaitGroup
		start   = make(chan struct{})
		results = make([]profile, callers)
		errs    = make([]error, callers)
	)
	compute := func(context.Context) (profile, error) {
		calls.Add(1)
		time.Sleep(100 * time.Millisecond) // a slow query: everyone else arrives meanwhile
		return profile{Name: "cold", Roles: []string{"a", "b"}}, nil
	}
	for i := range callers {
		wg.Go(func() {
			<-start
			results[i], errs[i] = cache.GetOrCompute(t.Context(), c, "cold", time.Minute, compute)
		})
	}
	close(start)
	wg.Wait()
	if n := calls.Load(); n != 1 {
		t.Fatalf("compute called %d times for %d concurrent calls on a cold key, want 1", n, callers)
	}
	for i := range callers {
		if errs[i] != nil || results[i].Name != "cold" || len(results[i].Roles) != 2 {
			t.Fatalf("caller %d got %+v, %v", i, results[i], errs[i])
		}
	}
	// Each caller decoded its own copy: changing one changes no other.
	results[0].Roles[0] = "changed"
	if results[1].Roles[0] != "a" {
		t.Fatal("callers share the computed value's memory")
	}
}

func testLeaderCanceled(t *testing.T, s cache.Store) {
	c := newCache(s)
	leaderCtx, cancelLeader := context.WithCancel(t.Context())
	entered := make(chan struct{})
	leaderDone := make(chan error, 1)
	go func() {
		_, err := cache.GetOrCompute(leaderCtx, c, "k", time.Minute, func(ctx context.Context) (string, error) {
			close(entered)
			<-ctx.Done()
			return "", ctx.Err()
		})
		leaderDone <- err
	}()
	<-entered
	followerDone := make(chan struct{})
	var got string
	var err error
	go func() {
		defer close(followerDone)
		got, err = cache.GetOrCompute(t.Context(), c, "k", time.Minute, func(context.Context) (string, error) {
			return "from follower", nil
		})
	}()
	time.Sleep(50 * time.Millisecond) // let the follower start waiting
	cancelLeader()
	if err := <-leaderDone; !errors.Is(err, context.Canceled) {
		t.Fatalf("leader error = %v, want context.Canceled", err)
	}
	<-followerDone
	if err != nil || got != "from follower" {
		t.Fatalf("follower got %q, %v; want its own computed value, not the leader's cancellation", got, err)
	}
}
