// Package ratelimit is the app's in-memory limiter of attempts: a sliding
// window log per key (an IP, an account), bounded in memory. The auth
// service throttles logins with it and the dashboard its basic auth, and a
// service added later should throttle with it too, so every limit behaves
// (and is documented) the same way.
//
// Limits are per process by default (no cache component, or the cache in
// memory): behind a load balancer with n instances an attacker gets up to n
// times the limit, which still turns thousands of guesses per second into a
// few per minute. Given a shared Store (Opts.Shared; the cache component
// provides one when it runs on Redis) a Limiter counts in the store, so the
// limit holds across instances.
//
// When the shared store fails (Redis down or slow), a call falls back to the
// Limiter's own window, and so do the calls of the next SharedRetry, so that
// a store that does not answer costs its timeout once per SharedRetry rather
// than on every attempt; the outage is logged once, when it starts, and once
// more when the store answers again. The Limiter keeps its
// own window up to date with the events this instance recorded in the store,
// so a fallback limits with the per-process count (n times the limit at
// worst), never with no limit, and never turns into an error the caller must
// handle: a login goes on being limited, not refused with a 500.
package ratelimit

import (
	"container/list"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// Store is a window log kept outside the process, shared by the instances
// of an app: each method works on the events of key within the last window,
// and decides from every instance's events. limit and window are the
// calling Limiter's. A wait is as a Limiter reports it: 0 means none, else
// at least a second. An error means nothing can be said (the store is
// unreachable); the Limiter then decides on its own.
//
// Keys arrive namespaced by the Limiter (Opts.Name) and hashed, never as
// the caller gave them (which may be what a client typed: a user name, or
// a password put in the wrong field). Implementations must be safe for
// concurrent use by many processes: Allow's check and record are one
// atomic step.
type Store interface {
	// Allow records an event for key when fewer than limit are in the
	// window and returns 0, or returns the wait and records nothing.
	Allow(ctx context.Context, key string, limit int, window time.Duration) (time.Duration, error)
	// Add records an event for key regardless of the limit and returns the
	// wait it now has.
	Add(ctx context.Context, key string, limit int, window time.Duration) (time.Duration, error)
	// Check returns key's wait without recording anything.
	Check(ctx context.Context, key string, limit int, window time.Duration) (time.Duration, error)
	// Reset forgets key's events.
	Reset(ctx context.Context, key string) error
}

// Shared is how the registry hands a Store to the services that limit
// attempts: they take a registry.Maybe[ratelimit.Shared] and pass Store to
// their Limiters. The cache component provides it, with a Store when it
// runs on Redis and a nil one in memory, where limits stay per process.
type Shared struct {
	Store Store
}

// DefaultMaxKeys bounds the keys a Limiter tracks unless Opts says
// otherwise: with a limit of 20 that is at most a few megabytes.
const DefaultMaxKeys = 10_000

// Opts adjust New; nil means the defaults.
type Opts struct {
	// MaxKeys is the most keys tracked at once (DefaultMaxKeys when 0).
	// Past it the key whose last event is oldest is forgotten, so a flood of
	// new keys (spoofed user names, a botnet's addresses) costs memory up to
	// this bound and no more; it can make the limiter forget the oldest
	// counters early, never refuse the wrong key.
	MaxKeys int
	// Now is the clock (time.Now when nil); tests pass a fake one. It times
	// the Limiter's own window; a shared store keeps its own time.
	Now func() time.Time
	// Shared, when not nil, is the store that counts the events of every
	// instance: the limit then holds across instances. Nil keeps it per
	// process.
	Shared Store
	// Name namespaces the Limiter's keys in Shared, so that two limiters
	// (logins and registrations by IP) do not count each other's events; it
	// must be set with Shared, and be the same in every instance
	// ("auth:login-ip"). A Shared without a Name is not used: the Limiter
	// counts per process and New logs why.
	Name string
	// Logger receives the warning of a shared store outage (slog.Default()
	// at the moment of logging when nil).
	Logger *slog.Logger
}

// Limiter allows at most limit events per key within a sliding window. It is
// safe for concurrent use. Keys whose events have all left the window are
// dropped as they are met and on a periodic sweep.
type Limiter struct {
	mu      sync.Mutex
	limit   int
	window  time.Duration
	maxKeys int
	now     func() time.Time
	keys    map[string]*list.Element // of *entry, in order
	order   *list.List               // most recent event first
	ops     int

	shared    Store // nil: per process
	name      string
	logger    *slog.Logger
	down      atomic.Bool   // the last call to shared failed
	retryAt   atomic.Int64  // while down: unix nanoseconds before which shared is not asked
	fallbacks atomic.Uint64 // calls decided locally because shared failed
}

// SharedRetry is how long a Limiter whose shared store failed decides alone
// before it asks the store again: a store that does not answer costs its
// timeout (CACHE_OP_TIMEOUT) once per SharedRetry, not on every attempt.
const SharedRetry = 5 * time.Second

type entry struct {
	key    string
	events []time.Time // oldest first, at most limit
}

// New returns a Limiter of limit events per window per key. A limit below 1
// is taken as 1.
func New(limit int, window time.Duration, opts *Opts) *Limiter {
	var o Opts
	if opts != nil {
		o = *opts
	}
	if o.MaxKeys <= 0 {
		o.MaxKeys = DefaultMaxKeys
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Shared != nil && o.Name == "" {
		// Without a name two limiters would count each other's events in
		// the store; counting per process is the safe side of that mistake,
		// and the log names it for the caller to fix.
		logger := o.Logger
		if logger == nil {
			logger = slog.Default()
		}
		logger.Warn("ratelimit: a shared store was given without Opts.Name; this limiter counts per process")
		o.Shared = nil
	}
	return &Limiter{limit: max(limit, 1), window: window, maxKeys: o.MaxKeys, now: o.Now,
		keys: map[string]*list.Element{}, order: list.New(),
		shared: o.Shared, name: o.Name, logger: o.Logger}
}

// prune drops the events of key older than the window and returns its
// entry, nil when none is left.
func (l *Limiter) prune(key string, t time.Time) *entry {
	el, ok := l.keys[key]
	if !ok {
		return nil
	}
	e := el.Value.(*entry)
	cut := 0
	for cut < len(e.events) && t.Sub(e.events[cut]) >= l.window {
		cut++
	}
	if cut == len(e.events) {
		l.order.Remove(el)
		delete(l.keys, key)
		return nil
	}
	e.events = append(e.events[:0], e.events[cut:]...)
	return e
}

// sweep drops stale keys every 1024 operations: the least recently active
// are at the back, so it stops at the first key still in its window.
func (l *Limiter) sweep(t time.Time) {
	l.ops++
	if l.ops%1024 != 0 {
		return
	}
	for el := l.order.Back(); el != nil; {
		prev := el.Prev()
		if l.prune(el.Value.(*entry).key, t) != nil {
			break
		}
		el = prev
	}
}

func (l *Limiter) wait(e *entry, t time.Time) time.Duration {
	if e == nil || len(e.events) < l.limit {
		return 0
	}
	return max(e.events[len(e.events)-l.limit].Add(l.window).Sub(t), time.Second)
}

// record appends an event at t to key's log (keeping at most limit) and
// makes key the most recent, evicting the least recent key when full. It
// returns key's entry.
func (l *Limiter) record(key string, e *entry, t time.Time) *entry {
	if e == nil {
		for len(l.keys) >= l.maxKeys {
			back := l.order.Back()
			l.order.Remove(back)
			delete(l.keys, back.Value.(*entry).key)
		}
		e = &entry{key: key}
		l.keys[key] = l.order.PushFront(e)
	} else {
		l.order.MoveToFront(l.keys[key])
	}
	if len(e.events) >= l.limit {
		e.events = append(e.events[:0], e.events[len(e.events)-l.limit+1:]...)
	}
	e.events = append(e.events, t)
	return e
}

// current returns the time and key's entry pruned at that time, after a
// sweep: where Allow and Add start. l.mu must be held.
func (l *Limiter) current(key string) (*entry, time.Time) {
	t := l.now()
	l.sweep(t)
	return l.prune(key, t), t
}

// Check reports how long to wait before key may have another event; 0 means
// now. It records nothing.
func (l *Limiter) Check(key string) time.Duration { return l.CheckContext(context.Background(), key) }

// Allow records an event for key when the limit permits and returns 0, or
// returns how long to wait (at least a second) and records nothing.
func (l *Limiter) Allow(key string) time.Duration { return l.AllowContext(context.Background(), key) }

// Add records an event for key regardless of the limit (a failure that
// already happened) and returns how long key must now wait, 0 if it need
// not.
func (l *Limiter) Add(key string) time.Duration { return l.AddContext(context.Background(), key) }

// Reset forgets key.
func (l *Limiter) Reset(key string) { l.ResetContext(context.Background(), key) }

// CheckContext is Check; ctx bounds the call to a shared store.
func (l *Limiter) CheckContext(ctx context.Context, key string) time.Duration {
	if l.useShared() {
		d, err := l.shared.Check(ctx, l.sharedKey(key), l.limit, l.window)
		if l.answered(ctx, err) {
			return d
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	t := l.now()
	return l.wait(l.prune(key, t), t)
}

// AllowContext is Allow; ctx bounds the call to a shared store.
func (l *Limiter) AllowContext(ctx context.Context, key string) time.Duration {
	if l.useShared() {
		d, err := l.shared.Allow(ctx, l.sharedKey(key), l.limit, l.window)
		if l.answered(ctx, err) {
			if d == 0 {
				l.addLocal(key) // keeps the fallback's count
			}
			return d
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	e, t := l.current(key)
	if d := l.wait(e, t); d > 0 {
		return d
	}
	l.record(key, e, t)
	return 0
}

// AddContext is Add; ctx bounds the call to a shared store.
func (l *Limiter) AddContext(ctx context.Context, key string) time.Duration {
	if l.useShared() {
		d, err := l.shared.Add(ctx, l.sharedKey(key), l.limit, l.window)
		if l.answered(ctx, err) {
			l.addLocal(key)
			return d
		}
	}
	return l.addLocal(key)
}

// ResetContext is Reset; ctx bounds the call to a shared store. A store
// that fails keeps key's events there until they leave the window: the
// outage is logged, and the key waits as it would have without the reset.
func (l *Limiter) ResetContext(ctx context.Context, key string) {
	if l.useShared() {
		l.answered(ctx, l.shared.Reset(ctx, l.sharedKey(key)))
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if el, ok := l.keys[key]; ok {
		l.order.Remove(el)
		delete(l.keys, key)
	}
}

func (l *Limiter) addLocal(key string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	e, t := l.current(key)
	return l.wait(l.record(key, e, t), t)
}

// sharedKey is key as the shared store sees it: the Limiter's name and a
// hash of key, which may be what a client typed (an unknown login can be a
// password put in the wrong field) and must not be kept in the store as is.
func (l *Limiter) sharedKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return l.name + ":" + hex.EncodeToString(sum[:16])
}

// useShared reports whether to ask the shared store: there is one, and it
// did not fail within SharedRetry, or it did and this caller is the one to
// try it again.
func (l *Limiter) useShared() bool {
	if l.shared == nil {
		return false
	}
	if !l.down.Load() {
		return true
	}
	at, now := l.retryAt.Load(), l.now().UnixNano()
	if now < at || !l.retryAt.CompareAndSwap(at, now+int64(SharedRetry)) {
		l.fallbacks.Add(1)
		return false
	}
	return true
}

// answered reports whether the shared store answered (err is nil). A
// failure is counted and starts an outage, logged once until the store
// answers again, which is logged too; during it the store is asked again
// once per SharedRetry. A failure because ctx ended (the client left) is
// counted, not an outage: the store is not at fault.
func (l *Limiter) answered(ctx context.Context, err error) bool {
	if err == nil {
		if l.down.Load() && l.down.CompareAndSwap(true, false) {
			l.log().LogAttrs(ctx, slog.LevelInfo, "ratelimit: shared store answers again; limits hold across instances",
				slog.String("limiter", l.name))
		}
		return true
	}
	l.fallbacks.Add(1)
	if ctx.Err() != nil {
		return false
	}
	l.retryAt.Store(l.now().Add(SharedRetry).UnixNano())
	if l.down.CompareAndSwap(false, true) {
		l.log().LogAttrs(ctx, slog.LevelWarn, "ratelimit: shared store failed; limiting per process until it answers",
			slog.String("limiter", l.name), slog.String("error", err.Error()))
	}
	return false
}

func (l *Limiter) log() *slog.Logger {
	if l.logger != nil {
		return l.logger
	}
	return slog.Default()
}

// Fallbacks is the number of calls decided by the Limiter alone because
// the shared store failed.
func (l *Limiter) Fallbacks() uint64 { return l.fallbacks.Load() }

// Len is the number of keys tracked.
func (l *Limiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.keys)
}

// IPKey is the key for a client address (an IP, or host:port as in
// http.Request.RemoteAddr): the IP itself for IPv4, its /64 network for
// IPv6, because one client commonly holds a whole /64 and could otherwise
// take a fresh address, and a fresh limit, for every attempt. Anything that
// is not an IP is returned as is.
func IPKey(addr string) string {
	host := addr
	if h, _, err := net.SplitHostPort(addr); err == nil {
		host = h
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	ip = ip.Unmap().WithZone("")
	if ip.Is4() {
		return ip.String()
	}
	return netip.PrefixFrom(ip, 64).Masked().String()
}

// Seconds is a wait in whole seconds, rounded up, as Retry-After carries it.
func Seconds(wait time.Duration) int { return int((wait + time.Second - 1) / time.Second) }
