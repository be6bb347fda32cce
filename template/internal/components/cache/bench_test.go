package cache_test

import (
	"context"
	"fmt"
	"math/bits"
	"sync"
	"testing"
	"time"

	"github.com/aegisgo/aegis/template/internal/components/cache"
	"github.com/aegisgo/aegis/template/internal/components/cache/cachetest"
)

// The benchmarks run each operation from parallel goroutines (RunParallel),
// time every call and report, besides ns/op, the throughput (ops/s) and the
// median and 99th percentile latency of one call (p50-ns, p99-ns). Redis
// runs with 4 goroutines per CPU, as a server's request handlers would, so
// its p99 includes waiting for a pooled connection. Timing each call costs
// two clock reads (~40 ns), included in every figure.
//
//	TEST_REDIS_URL=redis://127.0.0.1:6379/0 go test -run '^$' -bench . -benchmem

const (
	benchKeys      = 1000
	benchValueSize = 128
)

type benchBackend struct {
	name        string
	parallelism int
	store       func(b *testing.B) cache.Store
}

var benchBackends = []benchBackend{
	{"memory", 1, func(b *testing.B) cache.Store {
		m := cache.NewMemory(nil)
		b.Cleanup(func() { _ = m.Close() })
		return m
	}},
	{"redis", 4, func(b *testing.B) cache.Store { return cachetest.NewRedisStore(b) }},
}

// benchUser is a typical small cached record, about 100 bytes of JSON.
type benchUser struct {
	ID    int      `json:"id"`
	Name  string   `json:"name"`
	Email string   `json:"email"`
	Roles []string `json:"roles"`
}

func BenchmarkStore(b *testing.B) {
	value := make([]byte, benchValueSize)
	for _, be := range benchBackends {
		b.Run(be.name+"/get", func(b *testing.B) {
			s := be.store(b)
			fill(b, func(ctx context.Context, key string) error { return s.Set(ctx, key, value, 0) })
			runTimed(b, be.parallelism, func(ctx context.Context, key string) error {
				_, ok, err := s.Get(ctx, key)
				if err == nil && !ok {
					return fmt.Errorf("miss on %s", key)
				}
				return err
			})
		})
		b.Run(be.name+"/set", func(b *testing.B) {
			s := be.store(b)
			runTimed(b, be.parallelism, func(ctx context.Context, key string) error {
				return s.Set(ctx, key, value, time.Minute)
			})
		})
	}
}

func BenchmarkCache(b *testing.B) {
	u := benchUser{ID: 42, Name: "Ada Lovelace", Email: "ada@example.com", Roles: []string{"admin", "editor"}}
	for _, be := range benchBackends {
		b.Run(be.name+"/get_json", func(b *testing.B) {
			c := cache.New(be.store(b), nil)
			fill(b, func(ctx context.Context, key string) error { return cache.Set(ctx, c, key, u, 0) })
			runTimed(b, be.parallelism, func(ctx context.Context, key string) error {
				_, ok, err := cache.Get[benchUser](ctx, c, key)
				if err == nil && !ok {
					return fmt.Errorf("miss on %s", key)
				}
				return err
			})
		})
		b.Run(be.name+"/set_json", func(b *testing.B) {
			c := cache.New(be.store(b), nil)
			runTimed(b, be.parallelism, func(ctx context.Context, key string) error {
				return cache.Set(ctx, c, key, u, time.Minute)
			})
		})
	}
}

var benchKeyNames = func() []string {
	keys := make([]string, benchKeys)
	for i := range keys {
		keys[i] = fmt.Sprintf("bench:%04d", i)
	}
	return keys
}()

func fill(b *testing.B, set func(ctx context.Context, key string) error) {
	b.Helper()
	for _, k := range benchKeyNames {
		if err := set(b.Context(), k); err != nil {
			b.Fatal(err)
		}
	}
}

// runTimed calls op b.N times from parallel goroutines, each over the keys
// in turn from its own starting point, and reports throughput and latency.
func runTimed(b *testing.B, parallelism int, op func(ctx context.Context, key string) error) {
	b.Helper()
	var (
		mu     sync.Mutex
		total  latencies
		errs   int
		seed   int
		seedMu sync.Mutex
	)
	ctx := context.Background()
	b.SetParallelism(parallelism)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		var h latencies
		seedMu.Lock()
		i := seed * 7919
		seed++
		seedMu.Unlock()
		failed := 0
		for pb.Next() {
			key := benchKeyNames[i%benchKeys]
			i++
			start := time.Now()
			err := op(ctx, key)
			h.record(time.Since(start))
			if err != nil {
				failed++
			}
		}
		mu.Lock()
		total.merge(&h)
		errs += failed
		mu.Unlock()
	})
	b.StopTimer()
	if errs > 0 {
		b.Fatalf("%d of %d operations failed", errs, b.N)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
	b.ReportMetric(float64(total.quantile(0.50).Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(total.quantile(0.99).Nanoseconds()), "p99-ns")
}

// latencies is a log-linear histogram of durations: exact below 128 ns,
// then 64 buckets per power of two (under 1.6% error). It keeps every
// call's latency in 32 KiB however many calls there are, where a slice of
// them would take hundreds of megabytes for a fast in-memory benchmark.
type latencies struct {
	counts [128 + 58*64]uint64
	n      uint64
}

func bucketOf(ns uint64) int {
	if ns < 128 {
		return int(ns)
	}
	shift := bits.Len64(ns) - 7
	return 128 + (shift-1)*64 + int(ns>>shift) - 64
}

// bucketMid returns the middle of bucket i's range, in nanoseconds.
func bucketMid(i int) uint64 {
	if i < 128 {
		return uint64(i)
	}
	shift := (i-128)/64 + 1
	m := uint64((i-128)%64 + 64)
	return m<<shift + (uint64(1)<<shift)/2
}

func (l *latencies) record(d time.Duration) {
	if d < 0 {
		d = 0
	}
	l.counts[bucketOf(uint64(d))]++
	l.n++
}

func (l *latencies) merge(o *latencies) {
	for i, c := range o.counts {
		l.counts[i] += c
	}
	l.n += o.n
}

func (l *latencies) quantile(q float64) time.Duration {
	if l.n == 0 {
		return 0
	}
	rank := uint64(q*float64(l.n-1)) + 1
	var seen uint64
	for i, c := range l.counts {
		seen += c
		if seen >= rank {
			return time.Duration(bucketMid(i))
		}
	}
	return 0
}

func TestLatencyHistogram(t *testing.T) {
	t.Parallel()
	for _, ns := range []uint64{0, 1, 127, 128, 129, 1000, 123456, 1 << 40, 1<<63 - 1} {
		i := bucketOf(ns)
		if i < 0 || i >= len(latencies{}.counts) {
			t.Fatalf("bucketOf(%d) = %d, out of range", ns, i)
		}
		mid := bucketMid(i)
		if diff := float64(mid) - float64(ns); diff > float64(ns)/50+1 || -diff > float64(ns)/50+1 {
			t.Errorf("bucketMid(bucketOf(%d)) = %d, more than 2%% off", ns, mid)
		}
	}
	var l latencies
	for i := 1; i <= 1000; i++ {
		l.record(time.Duration(i) * time.Microsecond)
	}
	if p99 := l.quantile(0.99); p99 < 980*time.Microsecond || p99 > 1010*time.Microsecond {
		t.Errorf("p99 of 1..1000µs = %v, want about 990µs", p99)
	}
}
