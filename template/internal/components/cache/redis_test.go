package cache_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aegisgo/aegis/template/internal/components/cache"
	"github.com/aegisgo/aegis/template/internal/components/cache/cachetest"
	"github.com/aegisgo/aegis/template/internal/runtime/logtest"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
	"github.com/aegisgo/aegis/template/internal/runtime/registry/registrytest"
	"github.com/aegisgo/aegis/template/internal/runtime/testserver"
)

func TestRedisConformance(t *testing.T) {
	t.Parallel()
	cachetest.RedisURL(t) // skip the whole suite at once when unset
	cachetest.RunStoreTests(t, func(t *testing.T) cache.Store { return cachetest.NewRedisStore(t) })
}

func TestRedisBadURL(t *testing.T) {
	t.Parallel()
	for _, url := range []string{"memcached://host:11211", "redis://host/notadb", "redis://user:se%zzcret@host:6379/0"} {
		if _, err := cache.NewRedis(url, nil); err == nil || !strings.Contains(err.Error(), "CACHE_URL (value not shown)") {
			t.Errorf("NewRedis(%q) error = %v, want an error naming CACHE_URL without its value", url, err)
		}
		err := (cache.Settings{URL: url}).Validate()
		if err == nil || !strings.Contains(err.Error(), "CACHE_URL") {
			t.Errorf("Validate with CACHE_URL=%q = %v, want an error naming CACHE_URL", url, err)
		}
		if _, err2 := cache.NewRedis(url, nil); err != nil && err2 != nil &&
			(strings.Contains(err.Error(), "cret") || strings.Contains(err2.Error(), "cret")) {
			t.Errorf("errors for a bad CACHE_URL show its password: %v; %v", err, err2)
		}
	}
}

// outage checks the contract of a cache whose Redis does not answer: reads
// miss, writes are dropped, GetOrCompute still computes, health says why,
// warnings are rate-limited (checked when logs is not nil), and nothing
// takes longer than bound.
func outage(t *testing.T, c *cache.Cache, logs *logtest.Buffer, bound time.Duration) {
	t.Helper()
	ctx := t.Context()
	timed := func(what string, f func()) {
		t.Helper()
		start := time.Now()
		f()
		if d := time.Since(start); d > bound {
			t.Errorf("%s took %v during an outage, want at most %v", what, d, bound)
		}
	}
	timed("Get", func() {
		v, ok, err := cache.Get[string](ctx, c, "k")
		if ok || err != nil || v != "" {
			t.Errorf("Get = %q, %v, %v; want a miss with no error", v, ok, err)
		}
	})
	timed("Set", func() {
		if err := cache.Set(ctx, c, "k", "v", time.Minute); err != nil {
			t.Errorf("Set = %v; want nil (dropped)", err)
		}
	})
	timed("GetOrCompute", func() {
		v, err := cache.GetOrCompute(ctx, c, "k", time.Minute, func(context.Context) (string, error) { return "computed", nil })
		if err != nil || v != "computed" {
			t.Errorf("GetOrCompute = %q, %v; want the computed value", v, err)
		}
	})
	timed("Exists and Delete", func() {
		if c.Exists(ctx, "k") {
			t.Error("Exists = true")
		}
		c.Delete(ctx, "k")
	})
	timed("Incr", func() {
		if _, err := c.Incr(ctx, "n", 1); err == nil {
			t.Error("Incr succeeded; want the store's error (counters have no miss)")
		}
	})
	timed("CheckHealth", func() {
		h := c.CheckHealth(ctx)
		if h.Status != registry.StatusUnhealthy || !strings.Contains(h.Message, "cache: ping redis") {
			t.Errorf("CheckHealth = %s %q; want unhealthy naming the ping", h.Status, h.Message)
		}
		if _, ok := h.Details["latency_ms"]; !ok {
			t.Errorf("health details %v lack latency_ms", h.Details)
		}
	})
	// Several failures, one warning: the rest wait for WarnInterval.
	if logs == nil {
		return
	}
	if n := strings.Count(logs.String(), "cache: store failed"); n != 1 {
		t.Errorf("%d warnings logged for one outage, want 1:\n%s", n, logs)
	}
}

func TestOutageDeadPort(t *testing.T) {
	// Not parallel: t.Setenv, to go through the settings as the app does.
	t.Setenv("CACHE_URL", "redis://127.0.0.1:1/0")
	t.Setenv("CACHE_OP_TIMEOUT", "300ms")
	// Starting never fails because of the cache.
	c := registrytest.Start(t, registry.New(), cache.Register)

	report := c.CheckHealth(t.Context(), 5*time.Second)
	if report.Status != registry.StatusDegraded {
		t.Errorf("app status with Redis down = %s, want degraded (the cache is optional)", report.Status)
	}
	cc := registry.MustGet[*cache.Cache](c)
	if cc.Backend() != "redis" {
		t.Fatalf("Backend = %q, want redis", cc.Backend())
	}
	outage(t, cc, nil, 2*time.Second)

	logs := &logtest.Buffer{}
	cc2 := cache.New(mustRedis(t, "redis://127.0.0.1:1/0", 300*time.Millisecond), &cache.Opts{
		Logger: slog.New(slog.NewTextHandler(logs, nil)),
	})
	t.Cleanup(func() { _ = cc2.Stop(context.Background()) })
	outage(t, cc2, logs, 2*time.Second)
}

// TestOutageUnresponsive points the cache at a server that accepts
// connections and never answers, the outage that hangs clients without
// timeouts.
func TestOutageUnresponsive(t *testing.T) {
	t.Parallel()
	var conns []net.Conn
	var mu sync.Mutex
	addr := testserver.Serve(t, func(conn net.Conn) {
		mu.Lock()
		conns = append(conns, conn) // held open, never answered
		mu.Unlock()
	})
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	})

	logs := &logtest.Buffer{}
	const opTimeout = 200 * time.Millisecond
	c := cache.New(mustRedis(t, "redis://"+addr.String()+"/0", opTimeout), &cache.Opts{
		Logger: slog.New(slog.NewTextHandler(logs, nil)),
	})
	t.Cleanup(func() { _ = c.Stop(context.Background()) })
	// Each operation waits out its timeout once (GetOrCompute: get + set),
	// plus scheduling slack on a shared machine.
	outage(t, c, logs, 3*opTimeout+time.Second)
	// The warning names the setting that bounds the wait, not go-redis's words for it;
	// callers of Store still see the timeout as such.
	if out := logs.String(); !strings.Contains(out, "no answer within 200ms (CACHE_OP_TIMEOUT)") || strings.Contains(out, "deadline exceeded") {
		t.Errorf("outage warning does not say the server did not answer within CACHE_OP_TIMEOUT:\n%s", out)
	}
	if _, _, err := c.Store().Get(t.Context(), "k"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Store().Get = %v, want an error wrapping context.DeadlineExceeded", err)
	}
}

func mustRedis(t *testing.T, url string, opTimeout time.Duration) *cache.Redis {
	t.Helper()
	r, err := cache.NewRedis(url, &cache.RedisOpts{DialTimeout: opTimeout, OpTimeout: opTimeout})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestRedisHealth(t *testing.T) {
	t.Parallel()
	url := cachetest.RedisURL(t)
	c := cache.New(mustRedis(t, url, time.Second), &cache.Opts{KeyPrefix: cachetest.RandomPrefix()})
	t.Cleanup(func() { _ = c.Stop(context.Background()) })
	h := c.CheckHealth(t.Context())
	if h.Status != registry.StatusHealthy {
		t.Fatalf("CheckHealth = %s %q, want healthy", h.Status, h.Message)
	}
	if h.Details["backend"] != "redis" || h.Details["addr"] == nil {
		t.Errorf("details = %v, want backend redis and addr", h.Details)
	}
	if _, ok := h.Details["latency_ms"].(float64); !ok {
		t.Errorf("details = %v, want latency_ms", h.Details)
	}
}

func TestRedisStopIsBounded(t *testing.T) {
	t.Parallel()
	c := cache.New(mustRedis(t, "redis://127.0.0.1:1/0", 100*time.Millisecond), nil)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	if err := c.Stop(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		t.Fatal(err)
	}
	if err := c.Stop(ctx); err != nil {
		t.Fatalf("second Stop = %v, want nil", err)
	}
}

// TestOutageDroppedConnections points the cache at a server that accepts
// connections and closes them at once (a Redis at maxclients, or a proxy
// whose backend is down): each call must give up after one retry, not
// go-redis's default three with pauses, unless the URL asks for more.
func TestOutageDroppedConnections(t *testing.T) {
	t.Parallel()
	var accepted atomic.Int64
	addr := testserver.Serve(t, func(conn net.Conn) {
		accepted.Add(1)
		_ = conn.Close()
	})
	tests := []struct {
		name      string
		query     string
		wantDials int64
	}{
		{"default: one retry", "", 2},
		{"max_retries in the URL wins", "?max_retries=3", 4},
	}
	for _, tt := range tests {
		r := mustRedis(t, "redis://"+addr.String()+"/0"+tt.query, time.Second)
		before := accepted.Load()
		if _, _, err := r.Get(t.Context(), "k"); err == nil {
			t.Fatalf("%s: Get succeeded against a server that drops connections", tt.name)
		}
		if got := accepted.Load() - before; got != tt.wantDials {
			t.Errorf("%s: one Get opened %d connections, want %d", tt.name, got, tt.wantDials)
		}
		_ = r.Close()
	}
}

// TestRedisBadURLParams checks a refused CACHE_URL says what is wrong with it (the query
// parameter at fault, blanks around it, its scheme) without showing its value.
func TestRedisBadURLParams(t *testing.T) {
	t.Parallel()
	tests := []struct {
		url, want string
	}{
		{"redis://:pw@host:6379/0?foo=s3cret", "query parameters go-redis does not know: foo"},
		{"redis://:pw@host:6379/0?read_timeout=s3cret", "query parameter read_timeout whose value is not a duration"},
		{"redis://:pw@host:6379/0?pool_size=s3cret", "query parameter pool_size whose value is not a number"},
		{"redis://:pw@host:6379/s3cret", "is not a Redis URL"},
		{"redis://:s3cret@host:6379/-1", "has a negative database number"},
		{"redis://:s3cret@host:6379/0\n", "has a space or line break before or after it"},
		{" redis://:s3cret@host:6379/0", "has a space or line break before or after it"},
		{"s3cret@host:6379", "has no scheme"},
		{"valkey://:s3cret@host:6379/0", "does not start with redis://, rediss:// or unix://"},
	}
	for _, tt := range tests {
		_, err := cache.NewRedis(tt.url, nil)
		if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("NewRedis(%q) error = %v; want it to say %q and not show the value", tt.url, err, tt.want)
		}
	}
}

// TestStartRefusedByRedis: a Redis that answers the ping with an error is reachable, so
// the start-up warning points at CACHE_URL rather than at an outage.
func TestStartRefusedByRedis(t *testing.T) {
	t.Parallel()
	u, err := url.Parse(cachetest.RedisURL(t))
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/99999" // no Redis has that many databases: ERR DB index is out of range
	tests := []struct {
		url, want string
	}{
		{u.String(), "cache: Redis refused the app at start (check the user, password and database number in CACHE_URL)"},
		{"redis://127.0.0.1:1/0", "cache: store not reachable at start"},
	}
	for _, tt := range tests {
		logs := &logtest.Buffer{}
		c := cache.New(mustRedis(t, tt.url, time.Second), &cache.Opts{Logger: slog.New(slog.NewTextHandler(logs, nil))})
		if err := c.Start(t.Context()); err != nil {
			t.Errorf("Start = %v; want nil (the cache is optional)", err)
		}
		_ = c.Stop(context.Background())
		if !strings.Contains(logs.String(), tt.want) {
			t.Errorf("start-up log %q; want %q", logs.String(), tt.want)
		}
	}
}

// TestPingSaysWhichScheme: a TLS mismatch between CACHE_URL and the server fails
// with errors that read as an outage ("EOF", "context deadline exceeded"); the
// ping, which the start-up warning and the health check show, says which scheme
// to try instead. Other failures get no such hint.
func TestPingSaysWhichScheme(t *testing.T) {
	t.Parallel()
	// closing drops every connection at once, as a TLS-only Redis does with
	// a plain client; silent holds them open without a word, as a plain
	// Redis does with a TLS handshake.
	closing := testserver.Serve(t, func(conn net.Conn) { _ = conn.Close() }).String()
	var mu sync.Mutex
	var held []net.Conn
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		for _, conn := range held {
			_ = conn.Close()
		}
	})
	silent := testserver.Serve(t, func(conn net.Conn) {
		mu.Lock()
		defer mu.Unlock()
		held = append(held, conn)
	}).String()
	tests := []struct {
		name, url string
		want      string // "" for no hint
	}{
		{"plain client, TLS server", "redis://" + closing + "/0", "put rediss:// instead of redis:// in CACHE_URL"},
		{"TLS client, plain server", "rediss://" + silent + "/0", "put redis:// instead of rediss:// in CACHE_URL"},
		{"plain client, silent server", "redis://" + silent + "/0", ""},
		{"TLS client, dead port", "rediss://127.0.0.1:1/0", ""},
		{"plain client, dead port", "redis://127.0.0.1:1/0", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := mustRedis(t, tt.url, 300*time.Millisecond)
			t.Cleanup(func() { _ = r.Close() })
			err := r.Ping(t.Context())
			if err == nil {
				t.Fatal("Ping succeeded; want an error")
			}
			if tt.want == "" {
				// "instead of": the hints' words (a refused dial names CACHE_URL too, to check the host).
				if strings.Contains(err.Error(), " instead of ") {
					t.Errorf("Ping error = %q; want no scheme hint for this failure", err)
				}
			} else if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Ping error = %q; want it to say %q", err, tt.want)
			}
		})
	}
}

// TestWarningRefusedMidRun: a Redis that starts refusing the app while it runs (a
// password rotated, an ACL changed) is named in the warning, which points at CACHE_URL
// as the start-up one does, rather than reported as an outage that will pass.
func TestWarningRefusedMidRun(t *testing.T) {
	t.Parallel()
	u, err := url.Parse(cachetest.RedisURL(t))
	if err != nil {
		t.Fatal(err)
	}
	refused := *u
	refused.Path = "/99999" // no Redis has that many databases: ERR DB index is out of range
	tests := []struct {
		name, url, want, notWant string
	}{
		{"refused", refused.String(), "cache: Redis refused the app (check the user, password and database number in CACHE_URL); serving without the cache", "store failed"},
		{"down", "redis://127.0.0.1:1/0", "cache: store failed; serving without the cache", "refused the app"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			logs := &logtest.Buffer{}
			c := cache.New(mustRedis(t, tt.url, time.Second), &cache.Opts{Logger: slog.New(slog.NewTextHandler(logs, nil))})
			t.Cleanup(func() { _ = c.Stop(context.Background()) })
			if _, ok, err := cache.Get[string](t.Context(), c, "k"); ok || err != nil {
				t.Fatalf("Get = %v, %v; want a miss", ok, err)
			}
			if !strings.Contains(logs.String(), tt.want) || strings.Contains(logs.String(), tt.notWant) {
				t.Errorf("logged %q; want %q", logs.String(), tt.want)
			}
		})
	}
}

// startRedisServer runs a private redis-server on port (with password pass) until stop is
// called or the test ends; the machine's own Redis is never touched.
func startRedisServer(t *testing.T, bin string, port int, pass string) (stop func()) {
	t.Helper()
	cmd := exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--requirepass", pass, "--save", "", "--appendonly", "no")
	if err := cmd.Start(); err != nil {
		t.Fatalf("start redis-server: %v", err)
	}
	var once sync.Once
	stop = func() {
		once.Do(func() {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		})
	}
	t.Cleanup(stop)
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if conn, err := net.Dial("tcp", addr); err == nil {
			_ = conn.Close()
			return stop
		}
	}
	t.Fatalf("redis-server did not listen on %s", addr)
	return nil
}

// TestRecoversWhenRedisReturns kills the cache's Redis mid-run and starts it again on the
// same port: while it is gone the cache misses and health names the server (never the
// password in CACHE_URL); once it is back the same Cache serves from it again, with no
// restart of the app.
func TestRecoversWhenRedisReturns(t *testing.T) {
	t.Parallel()
	bin := testserver.Binary(t, "redis-server", "apt-get install redis-server")
	const pass = "s3cret-pw"
	port := testserver.FreePort(t)
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	stop := startRedisServer(t, bin, port, pass)
	c := cache.New(mustRedis(t, "redis://:"+pass+"@"+addr+"/0", 300*time.Millisecond), &cache.Opts{
		Logger: slog.New(slog.NewTextHandler(&logtest.Buffer{}, nil)),
	})
	t.Cleanup(func() { _ = c.Stop(context.Background()) })
	ctx := t.Context()

	tests := []struct {
		phase   string
		before  func()
		healthy bool
		stored  bool // whether a value set in this phase is read back
	}{
		{phase: "up", healthy: true, stored: true},
		{phase: "killed", before: stop, healthy: false, stored: false},
		{phase: "back", before: func() { startRedisServer(t, bin, port, pass) }, healthy: true, stored: true},
	}
	for _, tt := range tests {
		if tt.before != nil {
			tt.before()
		}
		h := c.CheckHealth(ctx)
		if (h.Status == registry.StatusHealthy) != tt.healthy {
			t.Errorf("%s: health = %s %q, want healthy=%v", tt.phase, h.Status, h.Message, tt.healthy)
		}
		if !tt.healthy && !strings.Contains(h.Message, addr) {
			t.Errorf("%s: health message %q does not name %s", tt.phase, h.Message, addr)
		}
		if strings.Contains(h.Message, pass) || strings.Contains(fmt.Sprint(h.Details), pass) {
			t.Errorf("%s: health shows the password: %q %v", tt.phase, h.Message, h.Details)
		}
		if err := cache.Set(ctx, c, "k", tt.phase, time.Minute); err != nil {
			t.Errorf("%s: Set = %v, want nil", tt.phase, err)
		}
		v, ok, err := cache.Get[string](ctx, c, "k")
		if err != nil || ok != tt.stored || (ok && v != tt.phase) {
			t.Errorf("%s: Get = %q, %v, %v; want stored=%v with no error", tt.phase, v, ok, err, tt.stored)
		}
	}
}

// TestPingSaysWhat: the health message and start-up warning say what a failed ping means
// in terms of the setting to check, not in go-redis's words ("context deadline exceeded",
// "can't parse map reply"), and name the server.
func TestPingSaysWhat(t *testing.T) {
	t.Parallel()
	const opTimeout = 200 * time.Millisecond
	silent := testserver.Serve(t, func(conn net.Conn) {
		defer conn.Close()
		_, _ = io.Copy(io.Discard, conn) // reads, never answers
	})
	http := testserver.Serve(t, func(conn net.Conn) {
		defer conn.Close()
		_, _ = conn.Read(make([]byte, 512))
		_, _ = io.WriteString(conn, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
	})
	canceled, cancel := context.WithCancel(t.Context())
	cancel()
	tests := []struct {
		name     string
		ctx      context.Context
		addr     string
		want     string
		dontWant string
	}{
		{"never answers", t.Context(), silent.String(), "no answer within 200ms (CACHE_OP_TIMEOUT)", "deadline exceeded"},
		{"speaks HTTP", t.Context(), http.String(), "does not speak the Redis protocol (check the host and port in CACHE_URL)", "can't parse"},
		{"nothing listens", t.Context(), "127.0.0.1:" + strconv.Itoa(testserver.FreePort(t)), "connection refused: nothing listens there (check the host and port in CACHE_URL, and that Redis runs)", "dial tcp"},
		{"unknown host", t.Context(), "nowhere.invalid:6379", "cannot resolve the host name (check the host in CACHE_URL)", "lookup"},
		// The caller gave up: not the server's fault, so not blamed on CACHE_OP_TIMEOUT.
		{"caller's ctx ended", canceled, silent.String(), "context canceled", "CACHE_OP_TIMEOUT"},
	}
	for _, tt := range tests {
		r := mustRedis(t, "redis://"+tt.addr+"/0", opTimeout)
		err := r.Ping(tt.ctx)
		_ = r.Close()
		if err == nil {
			t.Fatalf("%s: Ping succeeded", tt.name)
		}
		msg := err.Error()
		if !strings.Contains(msg, tt.want) || strings.Contains(msg, tt.dontWant) || !strings.Contains(msg, tt.addr) {
			t.Errorf("%s: Ping error %q; want it to name %s and say %q, not %q", tt.name, msg, tt.addr, tt.want, tt.dontWant)
		}
	}
}
