package commsworker

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aegisgo/aegis/template/internal/components/database"
	"github.com/aegisgo/aegis/template/internal/components/database/databasetest"
	"github.com/aegisgo/aegis/template/internal/services/comms"
	"github.com/aegisgo/aegis/template/internal/services/comms/mailpittest"
)

// benchSenders is how many goroutines send at once in BenchmarkDeliverToMailpit.
const benchSenders = 8

// BenchmarkDeliverToMailpit measures messages per second through the worker into a real SMTP
// server: b.N Sends from benchSenders goroutines (each stores the message and its job in one
// transaction), on a database with the app's default pool, worked by an
// in-process worker (testSettings: 20 at once) that delivers each over its own SMTP connection
// to Mailpit, until Mailpit holds all b.N. Run it with a fixed count:
//
//	TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable \
//	  go test -run '^$' -bench DeliverToMailpit -benchtime 1000x ./internal/services/commsworker/
func BenchmarkDeliverToMailpit(b *testing.B) {
	for _, engine := range []database.Engine{database.SQLite, database.Postgres} {
		b.Run(string(engine), func(b *testing.B) {
			// The app's default pool (DATABASE_MAX_CONNS=10), not the tests' small one: senders
			// and 20 workers share it.
			s := databasetest.Settings(b, engine)
			s.MaxConns = database.DefaultMaxConns
			db, err := database.Open(b.Context(), s)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = db.Close() })
			if _, err := db.MigrateUp(b.Context()); err != nil {
				b.Fatal(err)
			}
			mp := mailpittest.Start(b)
			e := setup(b, db, smtpTo(b, mp, "", ""), testSettings())
			ctx := b.Context()
			b.ResetTimer()
			start := time.Now()
			// benchSenders goroutines send, as concurrent requests of an app would.
			var (
				wg   sync.WaitGroup
				next atomic.Int64
				errs = make(chan error, benchSenders)
			)
			for range benchSenders {
				wg.Go(func() {
					for i := next.Add(1) - 1; i < int64(b.N); i = next.Add(1) - 1 {
						if _, err := e.svc.Send(ctx, comms.Message{To: []string{"ada@example.com"}, Subject: fmt.Sprintf("Bench %d", i), Text: "x"}); err != nil {
							errs <- err
							return
						}
					}
				})
			}
			wg.Wait()
			close(errs)
			if err := <-errs; err != nil {
				b.Fatal(err)
			}
			enqueued := time.Since(start)
			for {
				var page struct{ Total int }
				mp.Get("/api/v1/messages?limit=1", &page)
				if page.Total >= b.N {
					break
				}
				if time.Since(start) > 10*time.Minute {
					b.Fatalf("%d of %d messages arrived in 10 minutes", page.Total, b.N)
				}
				time.Sleep(10 * time.Millisecond)
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
			b.ReportMetric(float64(b.N)/enqueued.Seconds(), "sends/s")
		})
	}
}
