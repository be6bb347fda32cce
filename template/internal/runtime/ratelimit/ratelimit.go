// Package ratelimit is the app's in-memory limiter of attempts: a sliding
// window log per key (an IP, an account), bounded in memory. The auth
// service throttles logins with it and the dashboard its basic auth, and a
// service added later should throttle with it too, so every limit behaves
// (and is documented) the same way.
//
// Limits are per process: behind a load balancer with n instances an
// attacker gets up to n times the limit, which still turns thousands of
// guesses per second into a few per minute.
package ratelimit

import (
	"container/list"
	"net"
	"net/netip"
	"sync"
	"time"
)

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
	// Now is the clock (time.Now when nil); tests pass a fake one.
	Now func() time.Time
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
}

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
	return &Limiter{limit: max(limit, 1), window: window, maxKeys: o.MaxKeys, now: o.Now,
		keys: map[string]*list.Element{}, order: list.New()}
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
func (l *Limiter) Check(key string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	t := l.now()
	return l.wait(l.prune(key, t), t)
}

// Allow records an event for key when the limit permits and returns 0, or
// returns how long to wait (at least a second) and records nothing.
func (l *Limiter) Allow(key string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	e, t := l.current(key)
	if d := l.wait(e, t); d > 0 {
		return d
	}
	l.record(key, e, t)
	return 0
}

// Add records an event for key regardless of the limit (a failure that
// already happened) and returns how long key must now wait, 0 if it need
// not.
func (l *Limiter) Add(key string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	e, t := l.current(key)
	return l.wait(l.record(key, e, t), t)
}

// Reset forgets key.
func (l *Limiter) Reset(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if el, ok := l.keys[key]; ok {
		l.order.Remove(el)
		delete(l.keys, key)
	}
}

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
