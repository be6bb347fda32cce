// Package cache is the cache component: one small API for services to keep
// computed values for a while, in memory by default and in Redis when
// CACHE_URL says so.
//
// Services take a *Cache as a constructor parameter and use the generic
// helpers, which store values as JSON:
//
//	user, err := cache.GetOrCompute(ctx, c, "user:v1:"+id, 10*time.Minute,
//		func(ctx context.Context) (User, error) { return s.db.User(ctx, id) })
//
// The cache is optional to the services that use it: when the store fails
// (Redis down, slow, full), reads become misses, writes are dropped and a
// warning is logged at most every few seconds, so an outage makes requests
// slower, never failed. Code that must see store errors uses Cache.Store.
package cache

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/metric"

	"github.com/aegisgo/aegis/template/internal/runtime/registry"
)

// Defaults for Opts; the CACHE_* settings repeat them as text.
const (
	DefaultTTLDefault   = 5 * time.Minute
	WarnIntervalDefault = 10 * time.Second
)

// NoExpiry, passed as a ttl, stores a value until it is evicted or deleted.
const NoExpiry time.Duration = -1

// Opts configure a Cache. The zero value (or nil) means the defaults.
type Opts struct {
	// DefaultTTL is the expiry of values set with a ttl of 0. Negative
	// means no expiry.
	DefaultTTL time.Duration
	// KeyPrefix goes in front of every key (see WithPrefix).
	KeyPrefix string
	// Logger receives the warnings about store failures; nil means
	// slog.Default() at the moment of logging.
	Logger *slog.Logger
	// WarnInterval is the least time between two warnings about store
	// failures; the ones in between are counted, not logged, so an outage
	// cannot flood the logs.
	WarnInterval time.Duration
}

// Cache is the service other services depend on: a Store with JSON helpers
// (Get, Set, GetOrCompute), single-flight computation of missing values and
// the outage contract described on the package. It is safe for concurrent
// use. Build one with New, or get the app's from the registry.
type Cache struct {
	store      Store
	backend    string
	defaultTTL time.Duration
	logger     *slog.Logger
	flights    flights

	warnEvery  time.Duration
	lastWarn   atomic.Int64 // unix nanoseconds of the last warning
	suppressed atomic.Int64 // failures not logged since then

	hits, misses, failures atomic.Uint64
	metrics                metric.Registration // nil until Start
}

// New returns a Cache on store. The Cache owns store from then on: Stop
// closes it.
func New(store Store, opts *Opts) *Cache {
	var o Opts
	if opts != nil {
		o = *opts
	}
	if o.DefaultTTL == 0 {
		o.DefaultTTL = DefaultTTLDefault
	}
	if o.WarnInterval <= 0 {
		o.WarnInterval = WarnIntervalDefault
	}
	c := &Cache{
		store:      WithPrefix(store, o.KeyPrefix),
		defaultTTL: o.DefaultTTL,
		logger:     o.Logger,
		warnEvery:  o.WarnInterval,
	}
	switch s := unwrap(store).(type) {
	case *Memory:
		c.backend = "memory"
	case *Redis:
		c.backend = "redis"
	default:
		c.backend = fmt.Sprintf("%T", s)
	}
	return c
}

// Store returns the store under the cache, with the key prefix applied. Its
// methods report every failure; use it where a lost write matters more than
// the request (a counter, an invalidation you must retry).
func (c *Cache) Store() Store { return c.store }

// Backend names the store: "memory", "redis", or the Go type of another.
func (c *Cache) Backend() string { return c.backend }

// Get returns the value under key decoded from JSON into a T, and whether
// there was one.
//
// A store failure counts as a miss: Get logs it (rate-limited) and returns
// false with a nil error. The error is non-nil only when the stored value
// does not decode into T (it wraps ErrDecode): a bug in the caller, such as
// two types under one key; callers may treat it as a miss too.
func Get[T any](ctx context.Context, c *Cache, key string) (T, bool, error) {
	var v T
	raw, ok, _ := c.get(ctx, key)
	if !ok {
		return v, false, nil
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		var zero T
		return zero, false, sentinelError(fmt.Sprintf("get %q as %T", key, zero), ErrDecode, err)
	}
	return v, true, nil
}

// Set stores v under key as JSON for ttl: 0 means the cache's DefaultTTL,
// NoExpiry (any negative) means until evicted.
//
// A store failure is logged (rate-limited) and dropped: Set returns nil, as
// a cache that could not keep a value only costs a later miss. The error is
// non-nil only when v cannot be encoded as JSON (it wraps ErrEncode).
func Set[T any](ctx context.Context, c *Cache, key string, v T, ttl time.Duration) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return sentinelError("set "+strconv.Quote(key), ErrEncode, err)
	}
	c.set(ctx, key, raw, ttl)
	return nil
}

// GetOrCompute returns the value under key, or calls compute, stores its
// result for ttl (as in Set) and returns it. Concurrent calls for a missing
// key wait for one call of compute (single-flight) and each decode their
// own copy of its result. Single-flight is per Cache, that is per process:
// instances sharing a Redis may each compute a cold key once.
//
// GetOrCompute never fails because of the store: when the store is down it
// calls compute and returns the result without caching it. Its error is
// compute's own error, unchanged (shared with the calls that waited for it),
// ctx's error if ctx ends while waiting for another call's compute, or one
// wrapping ErrEncode when the result cannot be encoded as JSON. compute runs
// with the ctx of the call that runs it; if that ctx ends, the calls
// waiting on it compute again rather than fail with an error that is not
// theirs. A stored value that does not decode into T is recomputed and
// overwritten.
func GetOrCompute[T any](ctx context.Context, c *Cache, key string, ttl time.Duration, compute func(ctx context.Context) (T, error)) (T, error) {
	var zero T
	raw, ok, failed := c.get(ctx, key)
	if ok {
		var v T
		err := json.Unmarshal(raw, &v)
		if err == nil {
			return v, nil
		}
		// An opError, so that the log line leaves the key out (withoutKey).
		c.warn(ctx, "decode", key, &opError{op: "get", key: key, err: fmt.Errorf("%w into %T: %w", ErrDecode, zero, err)})
	}
	for {
		f, leader := c.flights.join(key)
		if leader {
			// Another caller may have stored the value between our miss and
			// our turn as leader; read again unless the store is failing
			// (then a second read only doubles the cost of the outage).
			return lead(ctx, c, f, key, ttl, !ok && !failed, compute)
		}
		select {
		case <-f.done:
		case <-ctx.Done():
			return zero, fmt.Errorf("cache: wait for %q: %w", key, ctx.Err())
		}
		if f.err != nil {
			// Only the leader's ctx ending makes its error not ours; a context
			// error from compute itself (an API call that timed out) is the
			// key's, shared like any other, or each waiter would wait for one
			// more timeout per waiter before it.
			if f.leaderGone && ctx.Err() == nil {
				continue // the leader's ctx ended, not ours: try again
			}
			return zero, f.err
		}
		var v T
		if err := json.Unmarshal(f.val, &v); err != nil {
			// The leader computed another type under this key; compute ours
			// without caching rather than return a value we cannot decode.
			return compute(ctx)
		}
		return v, nil
	}
}

// lead runs the computation of f as its leader and publishes the result to
// the calls waiting on it, even if compute panics.
func lead[T any](ctx context.Context, c *Cache, f *flight, key string, ttl time.Duration, recheck bool, compute func(context.Context) (T, error)) (v T, err error) {
	var zero T
	published := false
	publish := func(val []byte, err error) {
		published = true
		c.flights.finish(key, f, val, err, err != nil && ctx.Err() != nil)
	}
	defer func() {
		if !published {
			publish(nil, errComputePanicked)
		}
	}()
	if recheck {
		if raw, ok, _ := c.get(ctx, key); ok {
			if json.Unmarshal(raw, &v) == nil {
				publish(raw, nil)
				return v, nil
			}
		}
	}
	v, err = compute(ctx)
	if err != nil {
		publish(nil, err)
		return zero, err
	}
	raw, err := json.Marshal(v)
	if err != nil {
		err = sentinelError("compute "+strconv.Quote(key), ErrEncode, err)
		publish(nil, err)
		return zero, err
	}
	// Store before publishing: a call that misses after we publish then
	// finds the value instead of computing it again.
	c.set(ctx, key, raw, ttl)
	publish(raw, nil)
	return v, nil
}

// Delete removes key. A store failure is logged (rate-limited), not
// returned: the value still expires with its TTL. Use Store().Delete when a
// stale value must not survive the outage.
func (c *Cache) Delete(ctx context.Context, key string) {
	span := c.startSpan(ctx, "delete")
	err := c.store.Delete(ctx, key)
	endSpan(span, err, key)
	if err != nil {
		c.warn(ctx, "delete", key, err)
	}
}

// Exists reports whether key holds a value; a store failure counts as
// false and is logged (rate-limited).
func (c *Cache) Exists(ctx context.Context, key string) bool {
	span := c.startSpan(ctx, "exists")
	ok, err := c.store.Exists(ctx, key)
	endRead(span, err, key, ok)
	if err != nil {
		c.warn(ctx, "exists", key, err)
		return false
	}
	return ok
}

// Incr adds delta to the integer under key (0 when missing) and returns the
// result, atomically across every instance sharing the store. It is the one
// helper that returns store failures: a counter has no "miss" to fall back
// on, so the caller decides (a rate limiter usually lets the request
// through). The failure is logged too (rate-limited); an error wraps
// ErrNotInteger when the value is not an integer.
func (c *Cache) Incr(ctx context.Context, key string, delta int64) (int64, error) {
	span := c.startSpan(ctx, "incr")
	n, err := c.store.Incr(ctx, key, delta)
	endSpan(span, err, key)
	if err != nil && !errors.Is(err, ErrNotInteger) {
		c.warn(ctx, "incr", key, err)
	}
	return n, err
}

// get reads key from the store, counting hits, misses and failures; failed
// reports a store error (already logged).
func (c *Cache) get(ctx context.Context, key string) (raw []byte, ok, failed bool) {
	span := c.startSpan(ctx, "get")
	raw, ok, err := c.store.Get(ctx, key)
	endRead(span, err, key, ok)
	switch {
	case err != nil:
		c.warn(ctx, "get", key, err)
		c.misses.Add(1)
		return nil, false, true
	case ok:
		c.hits.Add(1)
	default:
		c.misses.Add(1)
	}
	return raw, ok, false
}

// set writes raw under key, logging a failure.
func (c *Cache) set(ctx context.Context, key string, raw []byte, ttl time.Duration) {
	span := c.startSpan(ctx, "set")
	err := c.store.Set(ctx, key, raw, c.ttl(ttl))
	endSpan(span, err, key)
	if err != nil {
		c.warn(ctx, "set", key, err)
	}
}

// ttl maps the Cache's ttl convention onto the Store's: 0 is the default,
// negative is none (0 for a Store).
func (c *Cache) ttl(ttl time.Duration) time.Duration {
	if ttl == 0 {
		ttl = c.defaultTTL
	}
	if ttl < 0 {
		return 0
	}
	return ttl
}

// warn counts a store failure and logs it unless one was logged less than
// WarnInterval ago. A failure caused by the caller's own ctx ending is
// counted but not logged: the store is not at fault. The key is left out of
// the line (withoutKey), as out of spans.
func (c *Cache) warn(ctx context.Context, op, key string, err error) {
	// A value of another type is the caller's fault, not the store's: it is
	// logged, not counted, so that failures keep meaning the store failed.
	if !errors.Is(err, ErrDecode) {
		c.failures.Add(1)
	}
	if ctx.Err() != nil {
		return
	}
	now := time.Now().UnixNano()
	last := c.lastWarn.Load()
	if now-last < int64(c.warnEvery) || !c.lastWarn.CompareAndSwap(last, now) {
		c.suppressed.Add(1)
		return
	}
	logger := c.logger
	if logger == nil {
		logger = slog.Default()
	}
	// The store being down is the usual failure; the two that are the caller's own
	// (a value too large for the memory store, a stored value of another type) and a
	// Redis refusing the app's settings say so, rather than send the reader looking
	// for an outage.
	msg := "cache: store failed; serving without the cache"
	switch {
	case errors.Is(err, ErrTooLarge):
		msg = "cache: value too large to keep; it is not cached (raise CACHE_MAX_BYTES or cache smaller values)"
	case errors.Is(err, ErrDecode):
		msg = "cache: stored value is not of the type asked for; computing it again (put a version in the key)"
	case errors.Is(err, ErrRefused):
		// A password rotated or an ACL changed while the app runs: waiting will
		// not fix it, the settings will.
		msg = "cache: Redis refused the app (check the user, password and database number in CACHE_URL); serving without the cache"
	}
	logger.LogAttrs(ctx, slog.LevelWarn, msg,
		slog.String("backend", c.backend),
		slog.String("op", op),
		slog.String("error", withoutKey(err, key)),
		slog.Int64("suppressed", c.suppressed.Swap(0)),
	)
}

// Start checks that the store answers and logs a warning when it does not.
// It never fails: the cache is optional, and a Redis that is down at start
// is used as soon as it comes back.
func (c *Cache) Start(ctx context.Context) error {
	if reg, err := c.observe(); err == nil {
		c.metrics = reg
	}
	if err := c.store.Ping(ctx); err != nil {
		logger := c.logger
		if logger == nil {
			logger = slog.Default()
		}
		// A store that refuses the app is reachable: its URL is wrong, and waiting will
		// not fix it.
		msg := "cache: store not reachable at start; serving without the cache until it is"
		if errors.Is(err, ErrRefused) {
			msg = "cache: Redis refused the app at start (check the user, password and database number in CACHE_URL); serving without the cache"
		}
		logger.LogAttrs(ctx, slog.LevelWarn, msg,
			slog.String("backend", c.backend), slog.String("error", err.Error()))
	}
	return nil
}

// Stop closes the store, giving up when ctx ends. It is idempotent.
func (c *Cache) Stop(ctx context.Context) error {
	if c.metrics != nil {
		_ = c.metrics.Unregister()
		c.metrics = nil
	}
	done := make(chan error, 1)
	go func() { done <- c.store.Close() }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("cache: stop %s: %w", c.backend, ctx.Err())
	}
}

// CheckHealth pings the store and reports its latency. An unreachable store
// is unhealthy; the component is registered as optional, so the app then
// reports degraded and stays ready, as requests still work without the
// cache.
func (c *Cache) CheckHealth(ctx context.Context) registry.Health {
	start := time.Now()
	err := c.store.Ping(ctx)
	latency := time.Since(start)
	details := map[string]any{
		"backend":    c.backend,
		"latency_ms": float64(latency.Microseconds()) / 1000,
		"hits":       c.hits.Load(),
		"misses":     c.misses.Load(),
		"failures":   c.failures.Load(),
	}
	var where string
	switch s := unwrap(c.store).(type) {
	case *Memory:
		st := s.Stats()
		details["entries"], details["bytes"] = st.Entries, st.Bytes
		details["evictions"], details["expirations"] = st.Evictions, st.Expirations
		details["max_entries"], details["max_bytes"] = s.opts.MaxEntries, s.opts.MaxBytes
		where = fmt.Sprintf("memory, %d entries", st.Entries)
	case *Redis:
		details["addr"], details["db"] = s.addr, s.db
		where = "redis at " + s.addr
	default:
		where = c.backend
	}
	if err != nil {
		return registry.Health{
			Status:  registry.StatusUnhealthy,
			Message: err.Error() + "; requests run without the cache",
			Details: details,
		}
	}
	return registry.Health{
		Status:  registry.StatusHealthy,
		Message: fmt.Sprintf("%s, ping %s", where, latency.Round(time.Microsecond)),
		Details: details,
	}
}

var (
	_ registry.Starter       = (*Cache)(nil)
	_ registry.Stopper       = (*Cache)(nil)
	_ registry.HealthChecker = (*Cache)(nil)
)
