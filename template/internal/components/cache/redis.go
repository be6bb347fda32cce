package cache

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"

	"github.com/aegisgo/aegis/template/internal/config"
	"github.com/aegisgo/aegis/template/internal/runtime/netfail"
)

// Defaults for RedisOpts; the CACHE_* settings repeat them as text.
const (
	RedisDialTimeoutDefault = 2 * time.Second
	RedisOpTimeoutDefault   = 500 * time.Millisecond
)

// RedisOpts configure a Redis store. The zero value (or nil) means the
// defaults. Timeouts given as query parameters of the URL
// (?dial_timeout=3s&read_timeout=1s) win over these.
type RedisOpts struct {
	// DialTimeout bounds opening a connection.
	DialTimeout time.Duration
	// OpTimeout bounds each operation, retries included, so that a slow or
	// unreachable server costs a request at most this much.
	OpTimeout time.Duration
	// PoolSize is the most connections kept open; 0 is go-redis's default
	// (10 per CPU).
	PoolSize int
}

// Redis is a Store on a Redis server (or anything speaking its protocol:
// Valkey, KeyDB, DragonflyDB). Values are Redis strings; expiry is Redis's
// own, with millisecond precision.
type Redis struct {
	client    *redis.Client
	addr      string
	db        int
	tls       bool // rediss://
	opTimeout time.Duration
	closeOnce sync.Once
	closeErr  error
}

// NewRedis returns a Redis store for url (redis://[user:password@]host:port/db,
// rediss:// for TLS, unix:///path.sock). It does not connect: connections are
// opened on first use, so an app starts while Redis is down and the cache
// recovers by itself when Redis returns.
func NewRedis(url string, opts *RedisOpts) (*Redis, error) {
	o, err := parseURL(url)
	if err != nil {
		return nil, err
	}
	var ro RedisOpts
	if opts != nil {
		ro = *opts
	}
	if ro.DialTimeout <= 0 {
		ro.DialTimeout = RedisDialTimeoutDefault
	}
	if ro.OpTimeout <= 0 {
		ro.OpTimeout = RedisOpTimeoutDefault
	}
	if o.DialTimeout == 0 {
		o.DialTimeout = ro.DialTimeout
	}
	if o.ReadTimeout == 0 {
		o.ReadTimeout = ro.OpTimeout
	}
	if o.WriteTimeout == 0 {
		o.WriteTimeout = ro.OpTimeout
	}
	if o.PoolSize == 0 {
		o.PoolSize = ro.PoolSize
	}
	// Each operation carries a deadline (OpTimeout); honour it rather than
	// only the socket timeouts, so retries cannot stretch a call past it.
	o.ContextTimeoutEnabled = true
	// go-redis retries a failed dial 5 times with a pause on its own, inside
	// each command retry; one dial per attempt keeps an outage cheap.
	if o.DialerRetries == 0 {
		o.DialerRetries = 1
	}
	// go-redis also retries each command 3 times, with pauses, before it
	// gives up: against a Redis that accepts and drops connections (one at
	// maxclients, or a proxy whose backend is down) that made each call of
	// an outage cost ~400 ms. One retry is enough to replace a pooled
	// connection that went stale when Redis restarted; ?max_retries= wins.
	if o.MaxRetries == 0 {
		o.MaxRetries = 1
	}
	// Maintenance notifications are for Redis Enterprise clusters; probing
	// for them costs a round trip per connection and logs on plain servers.
	o.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
	routeRedisLogs.Do(func() { redis.SetLogger(debugLogger{}) })
	return &Redis{
		client:    redis.NewClient(o),
		addr:      o.Addr,
		db:        o.DB,
		tls:       o.TLSConfig != nil,
		opTimeout: ro.OpTimeout,
	}, nil
}

// parseURL parses a Redis URL. Its error names CACHE_URL and never contains
// the URL, which may hold a password: net/url and go-redis quote their input
// (or parts of it) in their errors, so those are kept for errors.Is/As only,
// not printed.
func parseURL(rawURL string) (*redis.Options, error) {
	o, err := redis.ParseURL(rawURL)
	if err != nil {
		return nil, &config.Error{
			Var:    "CACHE_URL",
			Secret: true,
			Reason: urlReason(rawURL, err),
			Fix:    urlFix,
			Err:    err,
		}
	}
	// go-redis takes any integer as the database and selects it only when it
	// is above 0, so redis://host/-1 silently used database 0, where another
	// app's keys may live.
	if o.DB < 0 {
		return nil, &config.Error{
			Var:    "CACHE_URL",
			Secret: true,
			Reason: "has a negative database number",
			Fix:    "use a database number from 0 (the default) up to the server's databases setting, as in redis://host:6379/0",
		}
	}
	return o, nil
}

// go-redis's errors for a query parameter it does not know, or whose value it cannot
// read; the first group holds parameter names only (the values may be secret).
var (
	unknownParams = regexp.MustCompile(`^redis: unexpected option: ([a-z0-9_, ]+)$`)
	badParam      = regexp.MustCompile(`^redis: invalid ([a-z0-9_]+) (number|duration|boolean)`)
)

// urlReason says what is wrong with a CACHE_URL go-redis refused, without its value:
// the query parameter at fault when go-redis names one (the generic advice sent users
// looking at the scheme and password of a URL whose only fault was ?foo=1).
//
// The value is not shown, so the two mistakes that cannot be seen without it are named:
// blanks around it (a secret file ending in a newline) and a missing scheme (host:6379).
func urlReason(rawURL string, err error) string {
	if strings.TrimSpace(rawURL) != rawURL {
		return "has a space or line break before or after it (a copied value, or a secret file ending in a newline)"
	}
	scheme, _, found := strings.Cut(rawURL, "://")
	switch strings.ToLower(scheme) {
	case "redis", "rediss", "unix":
	default:
		if found {
			return "does not start with redis://, rediss:// or unix://"
		}
		return "has no scheme (write redis://host:6379/0, not host:6379)"
	}
	msg := err.Error()
	if m := unknownParams.FindStringSubmatch(msg); m != nil {
		return "has query parameters go-redis does not know: " + m[1] + " (it knows dial_timeout, read_timeout, pool_size, max_retries and more)"
	}
	if m := badParam.FindStringSubmatch(msg); m != nil && m[1] != "database" {
		return "has a query parameter " + m[1] + " whose value is not a " + m[2]
	}
	return "is not a Redis URL (check the scheme, the %-escapes in the password, the port and the database number)"
}

// Client returns the underlying go-redis client, for the commands a Store
// does not offer (pub/sub, sorted sets). Keys used through it are not
// prefixed.
func (r *Redis) Client() *redis.Client { return r.client }

// Addr returns the server's address (host:port or socket path), without
// credentials, for logs and health details.
func (r *Redis) Addr() string { return r.addr }

// Get implements Store.
func (r *Redis) Get(ctx context.Context, key string) ([]byte, bool, error) {
	opCtx, cancel := context.WithTimeout(ctx, r.opTimeout)
	defer cancel()
	v, err := r.client.Get(opCtx, key).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, r.wrap(ctx, "get", key, err)
	}
	return v, true, nil
}

// Set implements Store.
func (r *Redis) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	opCtx, cancel := context.WithTimeout(ctx, r.opTimeout)
	defer cancel()
	if ttl < 0 {
		ttl = 0 // go-redis reads a negative ttl as KEEPTTL; ours means none
	}
	if ttl > 0 && ttl < time.Millisecond {
		ttl = time.Millisecond // Redis's precision; 0 would mean no expiry
	}
	return r.wrap(ctx, "set", key, r.client.Set(opCtx, key, value, ttl).Err())
}

// Delete implements Store.
func (r *Redis) Delete(ctx context.Context, key string) error {
	opCtx, cancel := context.WithTimeout(ctx, r.opTimeout)
	defer cancel()
	return r.wrap(ctx, "delete", key, r.client.Del(opCtx, key).Err())
}

// Exists implements Store.
func (r *Redis) Exists(ctx context.Context, key string) (bool, error) {
	opCtx, cancel := context.WithTimeout(ctx, r.opTimeout)
	defer cancel()
	n, err := r.client.Exists(opCtx, key).Result()
	return n > 0, r.wrap(ctx, "exists", key, err)
}

// Incr implements Store with INCRBY, which is atomic on the server.
func (r *Redis) Incr(ctx context.Context, key string, delta int64) (int64, error) {
	opCtx, cancel := context.WithTimeout(ctx, r.opTimeout)
	defer cancel()
	n, err := r.client.IncrBy(opCtx, key, delta).Result()
	if err != nil {
		var rerr redis.Error
		if errors.As(err, &rerr) && (strings.Contains(err.Error(), "not an integer") || strings.Contains(err.Error(), "overflow")) {
			// Redis's own words add to ours only when they differ ("increment or
			// decrement would overflow"), not when they repeat them.
			cause := &textError{text: inner(ErrNotInteger), errs: []error{ErrNotInteger, err}}
			if strings.TrimPrefix(err.Error(), "ERR ") != cause.text {
				cause.text += " (" + err.Error() + ")"
			}
			return 0, &opError{store: "redis ", op: "incr", key: key, err: cause}
		}
		return 0, r.wrap(ctx, "incr", key, err)
	}
	return n, nil
}

// Ping implements Store.
func (r *Redis) Ping(ctx context.Context) error {
	opCtx, cancel := context.WithTimeout(ctx, r.opTimeout)
	defer cancel()
	if err := r.client.Ping(opCtx).Err(); err != nil {
		mapped := r.mapErr(err)
		return &textError{text: "cache: ping redis " + r.addr + ": " + r.describe(ctx, mapped) + r.schemeHint(err), errs: []error{mapped}}
	}
	return nil
}

// describe is the text of a failed ping for the start-up warning and the health message,
// in the words of the setting to look at where go-redis's own are cryptic: a server that
// never answered ("context deadline exceeded") and one that answered in another protocol
// (an HTTP or database port put in CACHE_URL) do not read as such otherwise.
func (r *Redis) describe(ctx context.Context, err error) string {
	msg := inner(err)
	switch {
	case r.timedOut(ctx, err):
		return r.noAnswer()
	case strings.HasPrefix(msg, "redis: can't parse") || strings.HasPrefix(msg, "redis: invalid reply"):
		return "the server there does not speak the Redis protocol (check the host and port in CACHE_URL)"
	}
	switch netfail.Classify(err) {
	case netfail.HostName:
		return "cannot resolve the host name (check the host in CACHE_URL)"
	case netfail.Refused:
		return "connection refused: nothing listens there (check the host and port in CACHE_URL, and that Redis runs)"
	}
	return msg
}

// schemeHint says which scheme to try when err looks like a TLS mismatch, for
// the start-up warning and the health message. Alone, the errors of a mismatch
// send users looking for an outage: a TLS server drops a plain client without
// a word ("EOF"), and a plain server waits for the rest of a command that is a
// TLS handshake until the client gives up ("context deadline exceeded").
func (r *Redis) schemeHint(err error) string {
	if r.tls {
		if kind := netfail.Classify(err); kind == netfail.NotTLS || kind == netfail.Timeout {
			return " (if this server does not use TLS, put redis:// instead of rediss:// in CACHE_URL)"
		}
		return ""
	}
	if netfail.Classify(err) == netfail.Closed {
		return " (the server closed the connection; if it uses TLS, put rediss:// instead of redis:// in CACHE_URL)"
	}
	return ""
}

// Close implements Store: it closes the connection pool.
func (r *Redis) Close() error {
	r.closeOnce.Do(func() {
		if err := r.client.Close(); err != nil {
			r.closeErr = fmt.Errorf("cache: close redis %s: %w", r.addr, err)
		}
	})
	return r.closeErr
}

// wrap is the error of op on key; ctx is the caller's, to tell our own timeout from its end.
func (r *Redis) wrap(ctx context.Context, op, key string, err error) error {
	if err == nil {
		return nil
	}
	err = r.mapErr(err)
	if r.timedOut(ctx, err) {
		// The outage warning and the caller's error say which setting bounds the wait.
		err = &textError{text: r.noAnswer(), errs: []error{err}}
	}
	return &opError{store: "redis ", op: op, key: key, err: err}
}

// timedOut reports whether err is the server not answering within opTimeout, rather
// than the caller's ctx ending.
func (r *Redis) timedOut(ctx context.Context, err error) bool {
	return ctx.Err() == nil && netfail.Classify(err) == netfail.Timeout
}

func (r *Redis) noAnswer() string {
	return fmt.Sprintf("no answer within %v (CACHE_OP_TIMEOUT)", r.opTimeout)
}

// mapErr turns go-redis's closed-client error into ErrClosed and a refusal of the app's
// credentials or database into ErrRefused, so callers test one sentinel whatever the backend.
func (r *Redis) mapErr(err error) error {
	switch {
	case errors.Is(err, redis.ErrClosed):
		return fmt.Errorf("%w (%w)", ErrClosed, err)
	case redis.IsAuthError(err), redis.IsPermissionError(err), strings.Contains(err.Error(), "DB index is out of range"):
		return fmt.Errorf("%w (%w)", ErrRefused, err)
	}
	return err
}

// routeRedisLogs installs debugLogger once. go-redis has one logger per
// process; the cache is the part of the app that owns go-redis, so it sets
// it.
var routeRedisLogs sync.Once

// debugLogger sends go-redis's own log lines to slog at debug level. Left on
// the standard logger they bypass the app's format, and during an outage
// they repeat on every failed dial; each failure also reaches the caller as
// an error, which Cache logs as a rate-limited warning.
type debugLogger struct{}

func (debugLogger) Printf(ctx context.Context, format string, v ...any) {
	logger := slog.Default()
	if !logger.Enabled(ctx, slog.LevelDebug) {
		return
	}
	logger.LogAttrs(ctx, slog.LevelDebug, fmt.Sprintf(format, v...), slog.String("component", "go-redis"))
}

var _ Store = (*Redis)(nil)
