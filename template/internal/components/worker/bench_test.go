package worker

import (
	"context"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/aegisgo/aegis/template/internal/components/database"
	"github.com/aegisgo/aegis/template/internal/components/database/databasetest"
)

// BenchmarkThroughput enqueues b.N no-op jobs (in batches of 1,000, as a bulk producer would)
// and waits until all are completed; jobs/s counts both. One queue with 50 workers. River
// fetches at most the free worker slots per fetch and waits its fetch cooldown between
// fetches (WORKER_FETCH_COOLDOWN, here 50ms then 5ms), so short jobs top out at about
// workers/cooldown: 1,000 jobs/s at 50ms.
func BenchmarkThroughput(b *testing.B) {
	for _, engine := range []database.Engine{database.SQLite, database.Postgres} {
		for _, cooldown := range []time.Duration{50 * time.Millisecond, 5 * time.Millisecond} {
			b.Run(string(engine)+"/cooldown="+cooldown.String(), func(b *testing.B) {
				if engine == database.Postgres {
					databasetest.SkipWithoutPostgres(b)
				}
				db := databasetest.New(b, engine)
				s := testSettings()
				s.Queues = "default=50"
				s.FetchCooldown = cooldown
				c := setup(b, db, s)
				ctx := context.Background()
				batch := make([]river.InsertManyParams, 0, 1000)
				b.ResetTimer()
				start := time.Now()
				for i := 0; i < b.N; i += cap(batch) {
					batch = batch[:0]
					for j := i; j < min(b.N, i+cap(batch)); j++ {
						batch = append(batch, river.InsertManyParams{Args: noopArgs{}})
					}
					if _, err := c.EnqueueMany(ctx, batch); err != nil {
						b.Fatal(err)
					}
				}
				for {
					var done int
					if err := db.SQL().QueryRowContext(ctx, `SELECT count(*) FROM river_job WHERE state = 'completed'`).Scan(&done); err != nil {
						b.Fatal(err)
					}
					if done >= b.N {
						break
					}
					time.Sleep(5 * time.Millisecond)
				}
				b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "jobs/s")
			})
		}
	}
}
