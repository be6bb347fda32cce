package analytics

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aegisgo/aegis/template/internal/components/database"
	"github.com/aegisgo/aegis/template/internal/components/database/databasetest"
)

// BenchmarkTrack is the cost of one Track call in process: a clock read, a name check and an
// append under a mutex. The buffer is emptied (timer stopped) before it fills, so every call
// takes the keeping path, never the cheaper dropping one. The properties map is the caller's
// (allocated once here); Track itself should allocate nothing.
func BenchmarkTrack(b *testing.B) {
	db := databasetest.New(b, database.SQLite)
	svc, err := New(db, Settings{BufferSize: 100_000, BufferLimit: 1 << 20, FlushInterval: time.Hour}, &Opts{Logger: quiet})
	if err != nil {
		b.Fatal(err)
	}
	svc.buf = make([]Event, 0, 1<<20) // grown once here, not in the timed loop
	ctx := WithUser(context.Background(), "user-1")
	props := map[string]any{"page": "/pricing"}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if i&(1<<20-1) == 0 {
			b.StopTimer()
			svc.mu.Lock()
			clear(svc.buf)
			svc.buf = svc.buf[:0]
			svc.mu.Unlock()
			b.StartTimer()
		}
		svc.Track(ctx, "page_view", props)
	}
}

// BenchmarkTrackParallel tracks from every P while the flusher writes to a real SQLite
// database, and reports the 99th and 99.9th percentile and the slowest single call: Track
// never waits for a write, so these are a mutex hand-off and, on a loaded machine, the OS
// scheduler. Events the writer cannot keep up with are dropped and counted (dropped/op),
// which is the designed behaviour, not a failure.
func BenchmarkTrackParallel(b *testing.B) {
	db := databasetest.New(b, database.SQLite)
	svc := newService(b, db, Settings{}, nil)
	props := map[string]any{"page": "/pricing"}
	var (
		mu  sync.Mutex
		all []time.Duration
	)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		ctx := WithUser(context.Background(), "user-2")
		lat := make([]time.Duration, 0, 1<<16)
		for pb.Next() {
			start := time.Now()
			svc.Track(ctx, "page_view", props)
			lat = append(lat, time.Since(start))
		}
		mu.Lock()
		all = append(all, lat...)
		mu.Unlock()
	})
	b.StopTimer()
	slices.Sort(all)
	at := func(q float64) float64 { return float64(all[min(int(q*float64(len(all))), len(all)-1)]) }
	b.ReportMetric(at(0.99), "p99-ns")
	b.ReportMetric(at(0.999), "p99.9-ns")
	b.ReportMetric(float64(all[len(all)-1]), "max-ns")
	b.ReportMetric(float64(svc.Stats().Dropped)/float64(b.N), "dropped/op")
}

// BenchmarkSustained is the sustained write rate with the default settings: one op is one
// event, tracked as fast as the buffer takes it (the producer waits when it is half full, as
// a steady load would not overrun it), and the clock stops when every event is stored.
// events/s is the figure; run it with -benchtime=200000x.
func BenchmarkSustained(b *testing.B) {
	for _, engine := range []database.Engine{database.SQLite, database.Postgres} {
		b.Run(string(engine), func(b *testing.B) { sustained(b, engine) })
	}
}

func sustained(b *testing.B, engine database.Engine) {
	{
		db := databasetest.New(b, engine)
		svc := newService(b, db, Settings{}, nil)
		props := map[string]any{"page": "/pricing", "n": 1}
		ctx := WithUser(context.Background(), "user-3")
		half := svc.settings.BufferLimit / 2
		b.ResetTimer()
		start := time.Now()
		for b.Loop() {
			for svc.Pending() > half {
				time.Sleep(100 * time.Microsecond)
			}
			svc.Track(ctx, "page_view", props)
		}
		for svc.Stats().Stored+svc.Stats().Dropped < int64(b.N) {
			time.Sleep(time.Millisecond)
		}
		elapsed := time.Since(start)
		b.StopTimer()
		if d := svc.Stats().Dropped; d != 0 {
			b.Fatalf("%d events dropped", d)
		}
		b.ReportMetric(float64(b.N)/elapsed.Seconds(), "events/s")
	}
}
