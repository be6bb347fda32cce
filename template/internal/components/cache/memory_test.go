package cache_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/aegisgo/aegis/template/internal/components/cache"
	"github.com/aegisgo/aegis/template/internal/components/cache/cachetest"
)

func newMemory(t *testing.T, opts *cache.MemoryOpts) *cache.Memory {
	t.Helper()
	m := cache.NewMemory(opts)
	t.Cleanup(func() { _ = m.Close() })
	return m
}

func TestMemoryConformance(t *testing.T) {
	t.Parallel()
	cachetest.RunStoreTests(t, func(t *testing.T) cache.Store { return newMemory(t, nil) })
}

func TestMemoryEvictsLeastRecentlyUsed(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	m := newMemory(t, &cache.MemoryOpts{MaxEntries: 3})
	for _, k := range []string{"a", "b", "c"} {
		_ = m.Set(ctx, k, []byte(k), 0)
	}
	_, _, _ = m.Get(ctx, "a") // a is now the most recent; b the least
	_ = m.Set(ctx, "d", []byte("d"), 0)

	for k, want := range map[string]bool{"a": true, "b": false, "c": true, "d": true} {
		if _, ok, _ := m.Get(ctx, k); ok != want {
			t.Errorf("after eviction, %s present = %v, want %v", k, ok, want)
		}
	}
	if st := m.Stats(); st.Entries != 3 || st.Evictions != 1 {
		t.Errorf("Stats = %+v, want 3 entries and 1 eviction", st)
	}
}

func TestMemoryEvictsByBytes(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	m := newMemory(t, &cache.MemoryOpts{MaxEntries: -1, MaxBytes: 100})
	for i := range 10 {
		// 2-byte key + 18-byte value = 20 bytes: five fit.
		if err := m.Set(ctx, fmt.Sprintf("k%d", i), make([]byte, 18), 0); err != nil {
			t.Fatal(err)
		}
		if st := m.Stats(); st.Bytes > 100 {
			t.Fatalf("after %d sets, %d bytes held, over the 100-byte bound", i+1, st.Bytes)
		}
	}
	st := m.Stats()
	if st.Entries != 5 || st.Bytes != 100 || st.Evictions != 5 {
		t.Fatalf("Stats = %+v, want 5 entries, 100 bytes, 5 evictions", st)
	}
	for i := range 10 {
		_, ok, _ := m.Get(ctx, fmt.Sprintf("k%d", i))
		if ok != (i >= 5) {
			t.Errorf("k%d present = %v, want %v (the newest five stay)", i, ok, i >= 5)
		}
	}

	// Growing a value in place evicts others, never the value just written.
	if err := m.Set(ctx, "k9", make([]byte, 90), 0); err != nil {
		t.Fatal(err)
	}
	if st := m.Stats(); st.Entries != 1 || st.Bytes != 92 {
		t.Fatalf("after growing k9: %+v, want only k9 (92 bytes)", st)
	}

	// A value larger than the whole cache is refused, and replaces nothing.
	err := m.Set(ctx, "k9", make([]byte, 200), 0)
	if !errors.Is(err, cache.ErrTooLarge) {
		t.Fatalf("Set of 200 bytes into 100: %v, want cache.ErrTooLarge", err)
	}
	if _, ok, _ := m.Get(ctx, "k9"); ok {
		t.Fatal("the value a too-large Set replaced is still served")
	}
}

func TestMemoryEvictionUnderIncr(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	m := newMemory(t, &cache.MemoryOpts{MaxEntries: 2})
	for _, k := range []string{"a", "b", "c"} {
		if _, err := m.Incr(ctx, k, 1); err != nil {
			t.Fatal(err)
		}
	}
	if st := m.Stats(); st.Entries != 2 {
		t.Fatalf("Stats = %+v, want 2 entries", st)
	}
	if ok, _ := m.Exists(ctx, "a"); ok {
		t.Fatal("a, the least recently used counter, was not evicted")
	}
}

func TestMemorySweep(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	m := newMemory(t, &cache.MemoryOpts{SweepInterval: 20 * time.Millisecond})
	for i := range 100 {
		_ = m.Set(ctx, fmt.Sprint(i), []byte("v"), 10*time.Millisecond)
	}
	_ = m.Set(ctx, "stays", []byte("v"), 0)
	// Nothing reads the keys: only the background sweep can remove them.
	deadline := time.Now().Add(5 * time.Second)
	for m.Stats().Entries != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("sweep left %+v, want only the key without a TTL", m.Stats())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if st := m.Stats(); st.Expirations != 100 {
		t.Fatalf("Stats = %+v, want 100 expirations", st)
	}
}

func TestMemorySweepNow(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	m := newMemory(t, &cache.MemoryOpts{SweepInterval: -1})
	_ = m.Set(ctx, "gone", []byte("v"), time.Millisecond)
	_ = m.Set(ctx, "stays", []byte("v"), time.Hour)
	time.Sleep(5 * time.Millisecond)
	if n := m.Sweep(); n != 1 {
		t.Fatalf("Sweep removed %d, want 1", n)
	}
}

func TestMemoryCloseStopsSweep(t *testing.T) {
	t.Parallel()
	m := cache.NewMemory(&cache.MemoryOpts{SweepInterval: time.Millisecond})
	done := make(chan struct{})
	go func() { _ = m.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return: the sweep goroutine did not stop")
	}
	if err := m.Ping(context.Background()); !errors.Is(err, cache.ErrClosed) {
		t.Fatalf("Ping after Close = %v, want cache.ErrClosed", err)
	}
}

// TestMemoryLongTTL checks that a TTL whose expiry falls past what a time in
// Unix nanoseconds can hold (the year 2262) keeps the value, as Redis does:
// the expiry used to overflow into the past and drop the value at once.
func TestMemoryLongTTL(t *testing.T) {
	t.Parallel()
	const year = 365 * 24 * time.Hour
	tests := []struct {
		name string
		ttl  time.Duration
	}{
		{"a century", 100 * year},
		{"past 2262", 250 * year},
		{"largest duration", time.Duration(math.MaxInt64)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			m := newMemory(t, nil)
			if err := m.Set(ctx, "k", []byte("v"), tt.ttl); err != nil {
				t.Fatal(err)
			}
			if _, ok, err := m.Get(ctx, "k"); !ok || err != nil {
				t.Fatalf("Get after Set with ttl %v = %v, %v; want the value", tt.ttl, ok, err)
			}
			if n := m.Sweep(); n != 0 {
				t.Fatalf("Sweep removed %d entries set with ttl %v, want 0", n, tt.ttl)
			}
		})
	}
}

// TestMemoryIncrTooLarge: a counter whose key and value cannot fit in MaxBytes fails
// with ErrTooLarge, as Set does, instead of returning a count that was evicted at once
// (every call then answered 1, and a rate limiter on it never limited).
func TestMemoryIncrTooLarge(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		key     string
		wantErr error // nil: the counter is kept and counts
	}{
		{"fits", "short", nil},
		{"key fills the store", "a-key-of-exactly-20b", cache.ErrTooLarge},
		{"key over the bound", "a-key-longer-than-twenty-bytes", cache.ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			m := newMemory(t, &cache.MemoryOpts{MaxBytes: 20})
			var n int64
			var err error
			for range 2 {
				n, err = m.Incr(ctx, tt.key, 1)
			}
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Incr = %d, %v; want an error wrapping %v", n, err, tt.wantErr)
				}
				return
			}
			if err != nil || n != 2 {
				t.Fatalf("second Incr = %d, %v; want 2", n, err)
			}
		})
	}
}
