package cache_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aegisgo/aegis/template/internal/components/cache"
	"github.com/aegisgo/aegis/template/internal/components/cache/cachetest"
	"github.com/aegisgo/aegis/template/internal/runtime/logtest"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
	"github.com/aegisgo/aegis/template/internal/runtime/registry/registrytest"
)

func TestComponentInMemoryByDefault(t *testing.T) {
	// Not parallel: t.Setenv, so that a CACHE_URL in the environment
	// running the tests cannot turn this into a Redis test.
	t.Setenv("CACHE_URL", "")
	t.Setenv("CACHE_MAX_ENTRIES", "50")
	c := registrytest.Start(t, registry.New(), cache.Register)

	cc := registry.MustGet[*cache.Cache](c)
	if cc.Backend() != "memory" {
		t.Fatalf("Backend = %q, want memory", cc.Backend())
	}
	_ = cache.Set(t.Context(), cc, "k", "v", 0)
	report := c.CheckHealth(t.Context(), time.Second)
	if report.Status != registry.StatusHealthy || len(report.Checks) != 1 {
		t.Fatalf("report = %+v, want one healthy check", report)
	}
	check := report.Checks[0]
	if check.Name != cache.Name || check.Kind != registry.KindComponent || !check.Optional {
		t.Errorf("check = %+v, want the optional component %q", check, cache.Name)
	}
	for _, key := range []string{"latency_ms", "entries", "max_entries", "hits", "misses", "failures"} {
		if _, ok := check.Details[key]; !ok {
			t.Errorf("health details %v lack %s", check.Details, key)
		}
	}
	if check.Details["max_entries"] != 50 || check.Details["entries"] != 1 {
		t.Errorf("details = %v, want max_entries 50 (CACHE_MAX_ENTRIES) and 1 entry", check.Details)
	}
}

func TestSettingsInvalid(t *testing.T) {
	t.Setenv("CACHE_OP_TIMEOUT", "-1s")
	t.Setenv("CACHE_MAX_ENTRIES", "-5")
	c := registrytest.Build(t, registry.New(), cache.Register)
	err := c.Start(t.Context())
	if err == nil {
		_ = c.Stop(context.Background())
		t.Fatal("Start with bad settings succeeded")
	}
	for _, name := range []string{"CACHE_OP_TIMEOUT", "CACHE_MAX_ENTRIES"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error %q does not name %s", err, name)
		}
	}
}

func TestKeyPrefixAndDefaultTTL(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	m := cache.NewMemory(nil)
	c := cache.New(m, &cache.Opts{KeyPrefix: "app:", DefaultTTL: 50 * time.Millisecond})
	t.Cleanup(func() { _ = c.Stop(context.Background()) })
	_ = cache.Set(ctx, c, "short", 1, 0)
	_ = cache.Set(ctx, c, "long", 1, cache.NoExpiry)
	if ok, _ := m.Exists(ctx, "app:short"); !ok {
		t.Fatal("the key prefix was not applied")
	}
	time.Sleep(100 * time.Millisecond)
	if c.Exists(ctx, "short") {
		t.Error("a value set with ttl 0 outlived DefaultTTL")
	}
	if !c.Exists(ctx, "long") {
		t.Error("a value set with NoExpiry expired")
	}
}

func TestNewMemoryHelper(t *testing.T) {
	t.Parallel()
	c := cachetest.NewMemory(t)
	n, err := cache.GetOrCompute(t.Context(), c, "k", time.Minute, func(context.Context) (int, error) { return 7, nil })
	if err != nil || n != 7 {
		t.Fatalf("GetOrCompute = %d, %v", n, err)
	}
}

// User is what the example's service loads slowly.
type User struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// Users is a service that depends on the cache: it takes *cache.Cache as a
// constructor parameter, like any other dependency.
type Users struct {
	cache *cache.Cache
	loads int // calls to the slow source, for the example's output
}

func NewUsers(ctx context.Context, c *cache.Cache) (*Users, error) {
	return &Users{cache: c}, nil
}

// User returns a user, from the cache when it has it. The version in the
// key ("v1") changes when User does, so old entries are never decoded into
// the new type.
func (u *Users) User(ctx context.Context, id string) (User, error) {
	return cache.GetOrCompute(ctx, u.cache, "user:v1:"+id, 10*time.Minute, func(ctx context.Context) (User, error) {
		u.loads++ // a database query in a real service
		return User{ID: id, Name: "Ada"}, nil
	})
}

// A service that caches what it loads. In the app, cache.Register (run by
// the component's init) provides *cache.Cache; here a fresh registry gets an
// in-memory one, as a test would.
func Example() {
	ctx := context.Background()
	r := registry.New()
	_ = registry.Provide(r, func(context.Context) (*cache.Cache, error) {
		return cache.New(cache.NewMemory(nil), nil), nil
	})
	_ = registry.Provide1(r, NewUsers)
	c, err := r.Build()
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := c.Start(ctx); err != nil {
		fmt.Println(err)
		return
	}
	defer c.Stop(ctx)

	users := registry.MustGet[*Users](c)
	for range 3 {
		u, err := users.User(ctx, "42")
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(u.Name)
	}
	fmt.Println("loads:", users.loads)
	// Output:
	// Ada
	// Ada
	// Ada
	// loads: 1
}

// TestWarningSaysWhy: a failure that is the caller's, not the store's, is not logged as
// an outage.
func TestWarningSaysWhy(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		call func(ctx context.Context, c *cache.Cache)
		want string
	}{
		{"too large", func(ctx context.Context, c *cache.Cache) {
			_ = cache.Set(ctx, c, "big", strings.Repeat("x", 200), time.Minute)
		}, "cache: value too large to keep"},
		{"another type", func(ctx context.Context, c *cache.Cache) {
			_ = cache.Set(ctx, c, "k", "text", time.Minute)
			_, _ = cache.GetOrCompute(ctx, c, "k", time.Minute, func(context.Context) (int, error) { return 1, nil })
		}, "cache: stored value is not of the type asked for"},
	}
	for _, tt := range tests {
		logs := &logtest.Buffer{}
		c := cache.New(cache.NewMemory(&cache.MemoryOpts{MaxBytes: 100}), &cache.Opts{
			Logger: slog.New(slog.NewTextHandler(logs, nil)),
		})
		tt.call(t.Context(), c)
		_ = c.Stop(context.Background())
		if !strings.Contains(logs.String(), tt.want) || strings.Contains(logs.String(), "store failed") {
			t.Errorf("%s: logged %q; want %q and no outage warning", tt.name, logs.String(), tt.want)
		}
	}
}

// TestFailuresCountStoreFailures: the failures count (health details, cache_failures_total)
// is of calls the store failed; a stored value of another type is the caller's and is not
// one, or an alert on failures would send operators looking at a healthy store.
func TestFailuresCountStoreFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		call func(ctx context.Context, c *cache.Cache)
		want uint64
	}{
		{"another type, GetOrCompute", func(ctx context.Context, c *cache.Cache) {
			_ = cache.Set(ctx, c, "k", "text", time.Minute)
			_, _ = cache.GetOrCompute(ctx, c, "k", time.Minute, func(context.Context) (int, error) { return 1, nil })
		}, 0},
		{"another type, Get", func(ctx context.Context, c *cache.Cache) {
			_ = cache.Set(ctx, c, "k", "text", time.Minute)
			_, _, _ = cache.Get[int](ctx, c, "k")
		}, 0},
		{"too large for the store", func(ctx context.Context, c *cache.Cache) {
			_ = cache.Set(ctx, c, "big", strings.Repeat("x", 200), time.Minute)
		}, 1},
	}
	for _, tt := range tests {
		c := cache.New(cache.NewMemory(&cache.MemoryOpts{MaxBytes: 100}), &cache.Opts{
			Logger: slog.New(slog.DiscardHandler),
		})
		tt.call(t.Context(), c)
		got := c.CheckHealth(t.Context()).Details["failures"]
		_ = c.Stop(context.Background())
		if got != tt.want {
			t.Errorf("%s: failures = %v, want %d", tt.name, got, tt.want)
		}
	}
}

// TestErrorTextSaysCacheOnce: an error shown to users (a health message, a log line, a
// caller's error) starts with "cache:" and does not repeat it where it wraps a sentinel.
func TestErrorTextSaysCacheOnce(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	closed := cache.NewMemory(nil)
	_ = closed.Close()
	small := cache.NewMemory(&cache.MemoryOpts{MaxBytes: 100})
	t.Cleanup(func() { _ = small.Close() })
	c := cachetest.NewMemory(t)
	_ = cache.Set(ctx, c, "text", "not a number", time.Minute)
	tests := []struct {
		name string
		err  func() error
		want error
	}{
		{"closed store", func() error { _, _, err := closed.Get(ctx, "k"); return err }, cache.ErrClosed},
		{"closed store ping", func() error { return closed.Ping(ctx) }, cache.ErrClosed},
		{"too large", func() error { return small.Set(ctx, "k", make([]byte, 200), time.Minute) }, cache.ErrTooLarge},
		{"not an integer", func() error { _, err := c.Incr(ctx, "text", 1); return err }, cache.ErrNotInteger},
		{"another type", func() error { _, _, err := cache.Get[int](ctx, c, "text"); return err }, cache.ErrDecode},
		{"not encodable", func() error { return cache.Set(ctx, c, "k", func() {}, time.Minute) }, cache.ErrEncode},
	}
	if u := os.Getenv("TEST_REDIS_URL"); u != "" {
		parsed, err := url.Parse(u)
		if err != nil {
			t.Fatal(err)
		}
		parsed.Path = "/99999" // no Redis has that many databases: it refuses the app
		refused, err := cache.NewRedis(parsed.String(), nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = refused.Close() })
		tests = append(tests,
			struct {
				name string
				err  func() error
				want error
			}{"refused ping", func() error { return refused.Ping(ctx) }, cache.ErrRefused},
			struct {
				name string
				err  func() error
				want error
			}{"refused get", func() error { _, _, err := refused.Get(ctx, "k"); return err }, cache.ErrRefused},
			struct {
				name string
				err  func() error
				want error
			}{"redis not an integer", func() error {
				rc := cache.New(cachetest.NewRedisStore(t), nil)
				_ = cache.Set(ctx, rc, "text", "not a number", time.Minute)
				_, err := rc.Incr(ctx, "text", 1)
				return err
			}, cache.ErrNotInteger},
		)
	}
	for _, tt := range tests {
		err := tt.err()
		if !errors.Is(err, tt.want) {
			t.Errorf("%s: error %v, want one wrapping %v", tt.name, err, tt.want)
			continue
		}
		if msg := err.Error(); !strings.HasPrefix(msg, "cache: ") || strings.Count(msg, "cache:") != 1 {
			t.Errorf("%s: error %q; want it to start with \"cache: \" and say it once", tt.name, msg)
		}
		// Nor does it repeat the sentinel's words in the cause (Redis says "not an integer" too).
		if msg, words := err.Error(), inner(tt.want); strings.Count(msg, words) != 1 {
			t.Errorf("%s: error %q; want it to say %q once", tt.name, msg, words)
		}
	}
}

// inner is the text of a sentinel without its "cache: ".
func inner(err error) string { return strings.TrimPrefix(err.Error(), "cache: ") }
