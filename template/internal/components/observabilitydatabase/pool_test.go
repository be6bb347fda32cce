package observabilitydatabase

import (
	"context"
	"database/sql"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aegisgo/aegis/template/internal/components/database"
	"github.com/aegisgo/aegis/template/internal/components/database/databasetest"
	"github.com/aegisgo/aegis/template/internal/components/frontend/frontendtest"
	"github.com/aegisgo/aegis/template/internal/components/observability/observabilitytest"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
)

// TestPoolMetrics: /metrics shows the pool as the test uses it: one connection in use while
// the test holds it, the pool's size, and a request that waited while every connection was
// held, with its wait. Both engines: database/sql's numbers on SQLite, pgxpool's on
// PostgreSQL. promtool check metrics finds nothing to say about the names.
func TestPoolMetrics(t *testing.T) {
	t.Parallel()
	databasetest.Engines(t, func(t *testing.T, db *database.DB) {
		t.Parallel()
		ctx := t.Context()
		obs := observabilitytest.Start(t)
		pm, err := NewPoolMetrics(obs.MeterProvider(), db)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = pm.Stop(context.Background()) })
		pool := []string{"db_client_connection_pool_name", db.PoolName()}
		value := func(m observabilitytest.Metrics, family string, labels ...string) float64 {
			t.Helper()
			v, ok := m.Value(family, append(labels, pool...)...)
			if !ok {
				t.Fatalf("no %s%v in /metrics", family, labels)
			}
			return v
		}

		held := make([]*sql.Conn, db.Settings().MaxConns)
		for i := range held {
			if held[i], err = db.SQL().Conn(ctx); err != nil {
				t.Fatal(err)
			}
			// Given back however the test ends: a failure while they are held would
			// otherwise leave the pool's close waiting for them until the test times out.
			c := held[i]
			t.Cleanup(func() { _ = c.Close() })
			if err := held[i].PingContext(ctx); err != nil {
				t.Fatal(err)
			}
		}
		m := observabilitytest.Scrape(t, obs)
		if got := value(m, "db_client_connections", "db_client_connection_state", "used"); got != float64(len(held)) {
			t.Errorf("used connections = %v while the test holds %d", got, len(held))
		}
		if got := value(m, "db_client_connection_max"); got != float64(db.Settings().MaxConns) {
			t.Errorf("max = %v, want %d", got, db.Settings().MaxConns)
		}
		// pgxpool also counts the acquires that waited for a new connection to be made.
		waits := value(m, "db_client_connection_wait_count_total")
		waited := value(m, "db_client_connection_wait_duration_seconds_total")

		// Every connection is held: this request waits until one comes back.
		const hold = 50 * time.Millisecond
		got := make(chan error, 1)
		started := make(chan struct{})
		go func() {
			// The hold counts from here: a goroutine scheduled late (a loaded machine) would
			// otherwise wait for less than the sleep below, or not at all.
			close(started)
			c, err := db.SQL().Conn(ctx)
			if err == nil {
				err = c.Close()
			}
			got <- err
		}()
		<-started
		time.Sleep(hold)
		if err := held[0].Close(); err != nil {
			t.Fatal(err)
		}
		if err := <-got; err != nil {
			t.Fatal(err)
		}
		for _, c := range held[1:] {
			_ = c.Close()
		}
		m = observabilitytest.Scrape(t, obs)
		if got := value(m, "db_client_connection_wait_count_total"); got != waits+1 {
			t.Errorf("waits = %v, want %v", got, waits+1)
		}
		if got := value(m, "db_client_connection_wait_duration_seconds_total") - waited; got < hold.Seconds()/2 {
			t.Errorf("wait duration grew by %vs, want about %s", got, hold)
		}
		if got := value(m, "db_client_connections", "db_client_connection_state", "used"); got != 0 {
			t.Errorf("used connections = %v after the test gave them back", got)
		}
		if got := value(m, "db_client_connections", "db_client_connection_state", "idle"); got < 1 {
			t.Errorf("idle connections = %v, want the ones given back", got)
		}
		// The pool's names as Prometheus names them (no gauge ending in _count).
		observabilitytest.Promtool(t, obs)
	})
}

// TestPoolPanel: the dashboard's Metrics panel shows the pool /metrics publishes: the
// connection the test holds in use, and the pool's size.
func TestPoolPanel(t *testing.T) {
	t.Parallel()
	databasetest.Engines(t, func(t *testing.T, db *database.DB) {
		t.Parallel()
		ctx := t.Context()
		obs := observabilitytest.Start(t)
		pm, err := NewPoolMetrics(obs.MeterProvider(), db)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = pm.Stop(context.Background()) })
		conn, err := db.SQL().Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if err := conn.PingContext(ctx); err != nil {
			t.Fatal(err)
		}

		h := frontendtest.Handler(t, nil, func(r *registry.Registry) error { return registry.Value(r, obs) })
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequestWithContext(ctx, http.MethodGet, "/dashboard/panels/metrics", nil))
		body := rec.Body.String()
		max := strconv.Itoa(db.Settings().MaxConns)
		for _, want := range []string{"Database pool", "<code>" + db.PoolName() + "</code></th><td>1</td>",
			"</td><td>" + max + "</td>", "<title>1 in use, "} {
			if !strings.Contains(body, want) {
				t.Errorf("the Metrics panel lacks %q:\n%s", want, body)
			}
		}
	})
}
