package cache

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/aegisgo/aegis/template/internal/runtime/ratelimit"
)

// RateLimits returns the store in which the app's rate limiters count
// attempts across instances (see ratelimit.Store): one on Redis, under the
// cache's key prefix and "ratelimit:", when the cache runs on Redis; nil in
// memory, where a Limiter's own window already is the process's.
func (c *Cache) RateLimits() ratelimit.Store {
	base, prefix := c.store, ""
	if p, ok := base.(*prefixed); ok {
		base, prefix = p.s, p.prefix
	}
	r, ok := base.(*Redis)
	if !ok {
		return nil
	}
	return newRedisLimits(r, prefix+"ratelimit:")
}

// sharedLimits is the registry constructor of ratelimit.Shared, which auth,
// authcomms and the dashboard take as an optional dependency.
func sharedLimits(_ context.Context, c *Cache) (ratelimit.Shared, error) {
	return ratelimit.Shared{Store: c.RateLimits()}, nil
}

// redisLimits is ratelimit.Store on Redis: a sorted set per key whose members
// are the events and whose scores are their times on the Redis server's clock
// (in microseconds), so the instances' clocks need not agree. One Lua script
// prunes, counts, records and computes the wait: scripts run atomically, so
// instances racing on one key cannot all pass a check made before any of
// them recorded.
type redisLimits struct {
	r      *Redis
	prefix string
	node   string        // random, per process: with seq, makes members unique
	seq    atomic.Uint64 // events recorded by this process
}

func newRedisLimits(r *Redis, prefix string) *redisLimits {
	b := make([]byte, 6)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return &redisLimits{r: r, prefix: prefix, node: hex.EncodeToString(b) + ":"}
}

// windowScript runs one operation on the log KEYS[1]. ARGV: the limit, the
// window in microseconds, the mode (check, allow or add) and the member to
// record. It returns the wait in microseconds, 0 for none: check and add
// return the wait the log has (after add's event), allow 0 when it recorded. The log keeps at
// most limit events (the older ones cannot change a wait) and expires with
// its newest event's window.
var windowScript = redis.NewScript(`
local key = KEYS[1]
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local mode = ARGV[3]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
local n = redis.call('ZCARD', key)
if mode == 'check' or (mode == 'allow' and n >= limit) then
	if n < limit then
		return 0
	end
	local at = redis.call('ZRANGE', key, n - limit, n - limit, 'WITHSCORES')
	return tonumber(at[2]) + window - now
end
redis.call('ZADD', key, now, ARGV[4])
n = n + 1
if n > limit then
	redis.call('ZREMRANGEBYRANK', key, 0, n - limit - 1)
	n = limit
end
redis.call('PEXPIRE', key, math.ceil(window / 1000))
if mode == 'allow' or n < limit then
	return 0
end
local at = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
return tonumber(at[2]) + window - now
`)

func (s *redisLimits) run(ctx context.Context, op, key string, limit int, window time.Duration) (time.Duration, error) {
	opCtx, cancel := context.WithTimeout(ctx, s.r.opTimeout)
	defer cancel()
	member := s.node + strconv.FormatUint(s.seq.Add(1), 36)
	us, err := windowScript.Run(opCtx, s.r.client, []string{s.prefix + key},
		max(limit, 1), window.Microseconds(), op, member).Int64()
	if err != nil {
		return 0, s.r.wrap(ctx, "ratelimit "+op, s.prefix+key, err)
	}
	if us <= 0 {
		return 0, nil
	}
	// As a Limiter's own window: a wait is at least a second.
	return max(time.Duration(us)*time.Microsecond, time.Second), nil
}

// Allow implements ratelimit.Store.
func (s *redisLimits) Allow(ctx context.Context, key string, limit int, window time.Duration) (time.Duration, error) {
	return s.run(ctx, "allow", key, limit, window)
}

// Add implements ratelimit.Store.
func (s *redisLimits) Add(ctx context.Context, key string, limit int, window time.Duration) (time.Duration, error) {
	return s.run(ctx, "add", key, limit, window)
}

// Check implements ratelimit.Store.
func (s *redisLimits) Check(ctx context.Context, key string, limit int, window time.Duration) (time.Duration, error) {
	return s.run(ctx, "check", key, limit, window)
}

// Reset implements ratelimit.Store.
func (s *redisLimits) Reset(ctx context.Context, key string) error {
	opCtx, cancel := context.WithTimeout(ctx, s.r.opTimeout)
	defer cancel()
	return s.r.wrap(ctx, "ratelimit reset", s.prefix+key, s.r.client.Del(opCtx, s.prefix+key).Err())
}

var _ ratelimit.Store = (*redisLimits)(nil)
