// Package cachetest helps test code that uses the cache component: a
// conformance suite for Store implementations (RunStoreTests) and helpers
// that build a cache for a test (NewMemory, NewRedisStore, RedisInstances).
package cachetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/aegisgo/aegis/template/internal/components/cache"
)

// RedisURLEnv names the variable that points tests at a Redis server, for
// example redis://127.0.0.1:6379/0. Tests that need Redis skip when it is
// unset, so `go test ./...` passes on a machine without one.
const RedisURLEnv = "TEST_REDIS_URL"

// RedisURL returns the Redis URL from TEST_REDIS_URL, or skips t.
func RedisURL(t testing.TB) string {
	t.Helper()
	url := os.Getenv(RedisURLEnv)
	if url == "" {
		t.Skipf("%s is not set; set it (e.g. %s=redis://127.0.0.1:6379/0) to run the Redis tests", RedisURLEnv, RedisURLEnv)
	}
	return url
}

// NewMemory returns a Cache on a Memory store with default bounds, stopped
// when t ends. Pass it to the service under test in place of the app's.
func NewMemory(t testing.TB) *cache.Cache {
	t.Helper()
	c := cache.New(cache.NewMemory(nil), nil)
	t.Cleanup(func() { _ = c.Stop(context.Background()) })
	return c
}

// NewRedisStore returns a Store on the Redis at TEST_REDIS_URL (skipping t
// when unset) under a random key prefix, so parallel tests and packages do
// not see each other's keys. When t ends, the keys under the prefix are
// deleted and the store is closed.
func NewRedisStore(t testing.TB) cache.Store {
	t.Helper()
	url := RedisURL(t)
	prefix := "cachetest:" + randomHex(8) + ":"
	deleteKeysAtEnd(t, url, prefix)
	r, err := cache.NewRedis(url, &cache.RedisOpts{OpTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return cache.WithPrefix(r, prefix)
}

// RedisInstances returns n caches on the Redis at TEST_REDIS_URL (skipping t
// when unset), each with a client of its own, as n instances of an app share
// one Redis: what one stores (a rate limit's count, say) the others see.
// They share a random key prefix, whose keys are deleted when t ends, after
// the caches are stopped.
func RedisInstances(t testing.TB, n int) []*cache.Cache {
	t.Helper()
	url := RedisURL(t)
	prefix := "cachetest:" + randomHex(8) + ":"
	deleteKeysAtEnd(t, url, prefix)
	caches := make([]*cache.Cache, n)
	for i := range caches {
		r, err := cache.NewRedis(url, &cache.RedisOpts{OpTimeout: 5 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		c := cache.New(r, &cache.Opts{KeyPrefix: prefix})
		t.Cleanup(func() { _ = c.Stop(context.Background()) })
		caches[i] = c
	}
	return caches
}

// deleteKeysAtEnd deletes the keys under prefix when t ends, after the
// cleanups registered later (the clients that wrote them are closed by then).
func deleteKeysAtEnd(t testing.TB, url, prefix string) {
	t.Cleanup(func() {
		// A client of its own: the test may have closed its stores.
		janitor, err := cache.NewRedis(url, nil)
		if err != nil {
			return
		}
		defer janitor.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		client := janitor.Client()
		iter := client.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		var keys []string
		for iter.Next(ctx) {
			keys = append(keys, iter.Val())
		}
		if err := iter.Err(); err != nil {
			t.Logf("cachetest: list keys under %s: %v", prefix, err)
		}
		if len(keys) > 0 {
			if err := client.Del(ctx, keys...).Err(); err != nil {
				t.Logf("cachetest: delete keys under %s: %v", prefix, err)
			}
		}
	})
}

// RandomPrefix returns a key prefix no other test uses, such as
// "t3f9a1c2e:".
func RandomPrefix() string { return "t" + randomHex(4) + ":" }

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b)
}
