package ratelimit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// fakeClock is a clock tests move by hand.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

func TestLimiter(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{time.Unix(1_000_000, 0)}
	l := New(3, time.Minute, &Opts{Now: clock.now})
	for i := range 3 {
		if d := l.Allow("k"); d != 0 {
			t.Fatalf("attempt %d refused", i+1)
		}
		clock.t = clock.t.Add(10 * time.Second)
	}
	d := l.Allow("k")
	if d <= 0 || d > 40*time.Second {
		t.Fatalf("4th attempt: wait %v, want about 30s", d)
	}
	if l.Allow("other") != 0 {
		t.Fatal("another key was limited")
	}
	clock.t = clock.t.Add(31 * time.Second) // the first event left the window
	if l.Allow("k") != 0 {
		t.Fatal("sliding window did not slide")
	}
	if l.Check("k") == 0 {
		t.Fatal("check after refill: want limited")
	}
	l.Reset("k")
	if l.Check("k") != 0 {
		t.Fatal("reset did not clear")
	}
	// Add past the limit keeps the log bounded and reports the wait.
	for i := range 100 {
		d := l.Add("flood")
		if (d > 0) != (i >= 2) {
			t.Fatalf("Add #%d: wait %v", i+1, d)
		}
	}
	if n := len(l.keys["flood"].Value.(*entry).events); n != 3 {
		t.Fatalf("log holds %d events, want 3", n)
	}
	// Old keys are swept.
	clock.t = clock.t.Add(time.Hour)
	for i := range 2048 {
		l.Allow(fmt.Sprint("fresh", i%50))
	}
	if _, ok := l.keys["flood"]; ok {
		t.Fatal("stale key not swept")
	}
}

// TestLimiterBounded: a flood of distinct keys (spoofed user names, many
// addresses) holds at most MaxKeys, forgetting the least recently active
// first, while a key under attack keeps its count.
func TestLimiterBounded(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{time.Unix(1_000_000, 0)}
	l := New(5, time.Hour, &Opts{MaxKeys: 100, Now: clock.now})
	for range 5 {
		l.Add("victim")
	}
	for i := range 100_000 {
		clock.t = clock.t.Add(time.Millisecond)
		l.Add(fmt.Sprint("spray-", i))
		if i%50 == 0 {
			l.Add("victim") // still being guessed: stays among the recent keys
		}
	}
	if n := l.Len(); n > 100 {
		t.Fatalf("the limiter holds %d keys, want at most 100", n)
	}
	if l.Check("victim") == 0 {
		t.Error("the key under attack was forgotten")
	}
	if l.Check("spray-0") != 0 || l.Len() != 100 {
		t.Errorf("the oldest key is still tracked (%d keys)", l.Len())
	}
}

func TestIPKey(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"203.0.113.9":                    "203.0.113.9",
		"203.0.113.9:5000":               "203.0.113.9",
		"[::ffff:203.0.113.9]:5000":      "203.0.113.9",
		"[2001:db8:1:2:3:4:5:6]:443":     "2001:db8:1:2::/64",
		"2001:db8:1:2:ffff:ffff:ffff:ff": "2001:db8:1:2::/64",
		"[fe80::1%eth0]:80":              "fe80::/64",
		"not an ip":                      "not an ip",
		"":                               "",
	} {
		if got := IPKey(in); got != want {
			t.Errorf("IPKey(%q) = %q, want %q", in, got, want)
		}
	}
}

// downStore is a shared Store that cannot be reached, as a Redis that is down.
type downStore struct{}

var errUnreachable = errors.New("dial tcp 127.0.0.1:6379: connect: connection refused")

func (downStore) Allow(context.Context, string, int, time.Duration) (time.Duration, error) {
	return 0, errUnreachable
}

func (downStore) Add(context.Context, string, int, time.Duration) (time.Duration, error) {
	return 0, errUnreachable
}

func (downStore) Check(context.Context, string, int, time.Duration) (time.Duration, error) {
	return 0, errUnreachable
}

func (downStore) Reset(context.Context, string) error { return errUnreachable }

// TestSharedStoreDown: a Limiter whose shared store fails limits on its own
// window, as without one (never allowing everything, never failing the
// call), and logs the outage once, not once per call; a call whose ctx ended
// is not an outage.
func TestSharedStoreDown(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		run  func(l *Limiter) error
	}{
		{"allow", func(l *Limiter) error {
			for i := range 3 {
				if d := l.Allow("k"); d != 0 {
					return fmt.Errorf("attempt %d refused (wait %v)", i+1, d)
				}
			}
			if l.Allow("k") == 0 || l.Check("k") == 0 {
				return errors.New("4th attempt allowed: the limit was lifted")
			}
			return nil
		}},
		{"add and reset", func(l *Limiter) error {
			for i := range 3 {
				if d := l.Add("k"); (d > 0) != (i == 2) {
					return fmt.Errorf("Add #%d: wait %v", i+1, d)
				}
			}
			l.Reset("k")
			if d := l.Check("k"); d != 0 {
				return fmt.Errorf("after Reset: wait %v", d)
			}
			return nil
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var logs bytes.Buffer
			l := New(3, time.Minute, &Opts{Shared: downStore{}, Name: "test",
				Logger: slog.New(slog.NewTextHandler(&logs, nil))})
			if err := tt.run(l); err != nil {
				t.Fatal(err)
			}
			if l.Fallbacks() < 4 {
				t.Errorf("Fallbacks = %d, want every call", l.Fallbacks())
			}
			if n := strings.Count(logs.String(), "shared store failed"); n != 1 {
				t.Errorf("the outage was logged %d times, want once:\n%s", n, logs.String())
			}
		})
	}
	t.Run("caller gone", func(t *testing.T) {
		t.Parallel()
		var logs bytes.Buffer
		l := New(3, time.Minute, &Opts{Shared: downStore{}, Name: "test",
			Logger: slog.New(slog.NewTextHandler(&logs, nil))})
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if d := l.AllowContext(ctx, "k"); d != 0 {
			t.Fatalf("wait %v, want the local window's answer", d)
		}
		if logs.Len() != 0 {
			t.Errorf("a call whose ctx ended logged an outage:\n%s", logs.String())
		}
	})
}

// openStore is a shared Store that allows everything: a limiter that used it
// would never refuse.
type openStore struct{}

func (openStore) Allow(context.Context, string, int, time.Duration) (time.Duration, error) {
	return 0, nil
}
func (openStore) Add(context.Context, string, int, time.Duration) (time.Duration, error) {
	return 0, nil
}
func (openStore) Check(context.Context, string, int, time.Duration) (time.Duration, error) {
	return 0, nil
}
func (openStore) Reset(context.Context, string) error { return nil }

// TestSharedNeedsName: a shared store without a name would mix limiters'
// keys; it is left unused, with a warning, and the limiter counts alone.
func TestSharedNeedsName(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	l := New(1, time.Minute, &Opts{Shared: openStore{}, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if !strings.Contains(logs.String(), "without Opts.Name") {
		t.Errorf("no warning of the missing name; logged:\n%s", logs.String())
	}
	if d := l.AllowContext(context.Background(), "k"); d != 0 {
		t.Fatalf("first attempt refused (%v)", d)
	}
	if d := l.AllowContext(context.Background(), "k"); d == 0 {
		t.Error("second attempt allowed: the limiter does not count locally")
	}
}

// TestNoAllocations: without a shared store, the calls on a key already
// tracked allocate nothing: the shared store's plumbing costs the
// in-process path nothing.
func TestNoAllocations(t *testing.T) {
	l := New(3, time.Hour, nil)
	for range 3 {
		l.Add("k")
	}
	for name, f := range map[string]func(){
		"Allow refused": func() { l.Allow("k") },
		"Add":           func() { l.Add("k") },
		"Check":         func() { l.Check("k") },
	} {
		if n := testing.AllocsPerRun(100, f); n != 0 {
			t.Errorf("%s: %v allocations per call, want 0", name, n)
		}
	}
}

func BenchmarkAllow(b *testing.B) {
	l := New(20, time.Minute, nil)
	keys := make([]string, 1000)
	for i := range keys {
		keys[i] = fmt.Sprint("203.0.113.", i)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		l.Allow(keys[i%len(keys)])
		i++
	}
}
