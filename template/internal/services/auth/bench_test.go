package auth

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aegisgo/aegis/template/internal/components/database"
	"github.com/aegisgo/aegis/template/internal/components/database/databasetest"
)

// Login throughput with the production argon2id parameters, and the cost of
// an authenticated request (token check + user load) next to /health/live,
// all through the real handler in process, on SQLite and (with
// TEST_DATABASE_URL) PostgreSQL:
//
//	go test -run '^$' -bench . -benchtime 3s ./internal/services/auth
//
// Results are in bench/RESULTS.md ("Auth (issue 5)").

func benchEngines(b *testing.B, fn func(b *testing.B, db *database.DB)) {
	for _, engine := range []database.Engine{database.SQLite, database.Postgres} {
		b.Run(string(engine), func(b *testing.B) {
			if engine == database.Postgres && os.Getenv(databasetest.EnvURL) == "" {
				b.Skipf("set %s to benchmark PostgreSQL", databasetest.EnvURL)
			}
			fn(b, databasetest.New(b, engine))
		})
	}
}

// BenchmarkLogin: parallel logins (argon2id verify + refresh-token insert +
// JWT signing) with the OWASP parameters the app ships with.
func BenchmarkLogin(b *testing.B) {
	benchEngines(b, func(b *testing.B, db *database.DB) {
		f := setup(b, db, func(s *Settings) {
			s.Argon2MemoryKiB = DefaultArgon2MemoryKiB
			s.Argon2Iterations = DefaultArgon2Iterations
			s.Argon2Parallelism = DefaultArgon2Parallelism
		})
		a := f.newAccount(b)
		body := fmt.Sprintf(`{"email":%q,"password":%q}`, a.email, a.password)
		b.ReportAllocs()
		b.ResetTimer()
		var lat latencies
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				start := time.Now()
				if rec := f.do(b, req{method: "POST", path: "/api/v1/auth/login", body: body}); rec.Code != http.StatusOK {
					b.Errorf("login: %d %s", rec.Code, rec.Body)
					return
				}
				lat.add(time.Since(start))
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "logins/s")
		lat.report(b)
	})
}

// BenchmarkMe: GET /api/v1/auth/me with a bearer token (JWT check and one
// primary-key lookup) against GET /health/live on the same handler.
func BenchmarkMe(b *testing.B) {
	benchEngines(b, func(b *testing.B, db *database.DB) {
		f := setup(b, db, nil)
		tok := f.login(b, f.newAccount(b)).AccessToken
		for _, c := range []struct {
			name string
			r    req
		}{
			{"me", req{method: "GET", path: "/api/v1/auth/me", token: tok}},
			{"live", req{method: "GET", path: "/health/live"}},
		} {
			b.Run(c.name, func(b *testing.B) {
				b.ReportAllocs()
				var lat latencies
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						start := time.Now()
						if rec := f.do(b, c.r); rec.Code != http.StatusOK {
							b.Errorf("%s: %d %s", c.r.path, rec.Code, rec.Body)
							return
						}
						lat.add(time.Since(start))
					}
				})
				lat.report(b)
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
			})
		}
	})
}

// latencies collects per-request durations under load, to report the p99 beside throughput.
type latencies struct {
	mu sync.Mutex
	d  []time.Duration
}

func (l *latencies) add(d time.Duration) {
	l.mu.Lock()
	l.d = append(l.d, d)
	l.mu.Unlock()
}

func (l *latencies) report(b *testing.B) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.d) == 0 {
		return
	}
	slices.Sort(l.d)
	b.ReportMetric(float64(l.d[len(l.d)*99/100].Microseconds())/1000, "p99-ms")
}

// BenchmarkRequireUser: the authentication middleware alone (RequireRoleHTTP
// around a handler that does nothing), with the session (sid) check served
// from the cache (the default AUTH_SESSION_CHECK_TTL of 5s: the hit path of
// nearly every request) against a TTL of 1ns (the check queries the database
// every time). Results are in bench/RESULTS.md ("Auth: session check").
func BenchmarkRequireUser(b *testing.B) {
	benchEngines(b, func(b *testing.B, db *database.DB) {
		for _, c := range []struct {
			name string
			ttl  time.Duration
		}{
			{"cached", DefaultSessionCheckTTL},
			{"uncached", time.Nanosecond},
		} {
			b.Run(c.name, func(b *testing.B) {
				f := setup(b, db, func(s *Settings) { s.SessionCheckTTL = c.ttl })
				f.seq.Store(time.Now().UnixNano() % 1e9) // fresh accounts on the shared database
				tok := f.login(b, f.newAccount(b)).AccessToken
				h := f.auth.RequireRoleHTTP("")(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }))
				b.ReportAllocs()
				b.ResetTimer()
				for b.Loop() {
					r := httptest.NewRequest(http.MethodGet, "/x", nil)
					r.Header.Set("Authorization", "Bearer "+tok)
					w := httptest.NewRecorder()
					h.ServeHTTP(w, r)
					if w.Code != http.StatusNoContent {
						b.Fatalf("status %d: %s", w.Code, w.Body)
					}
				}
			})
		}
	})
}
