package auth

import (
	"sync"
	"time"
)

// limiter is an in-memory sliding-window log: at most limit events per key
// within window. Safe for concurrent use. Keys whose events have all aged
// out are dropped on a periodic sweep, so memory stays bounded by the
// recently active keys.
type limiter struct {
	mu     sync.Mutex
	limit  int
	window time.Duration
	events map[string][]time.Time
	ops    int
	now    func() time.Time
}

func newLimiter(limit int, window time.Duration) *limiter {
	return &limiter{limit: limit, window: window, events: map[string][]time.Time{}, now: time.Now}
}

// prune drops the events of key older than the window and returns the rest.
func (l *limiter) prune(key string, t time.Time) []time.Time {
	ev := l.events[key]
	cut := 0
	for cut < len(ev) && t.Sub(ev[cut]) >= l.window {
		cut++
	}
	if cut > 0 {
		ev = append(ev[:0], ev[cut:]...)
		if len(ev) == 0 {
			delete(l.events, key)
		} else {
			l.events[key] = ev
		}
	}
	return ev
}

func (l *limiter) sweep(t time.Time) {
	l.ops++
	if l.ops%1024 != 0 {
		return
	}
	for k := range l.events {
		l.prune(k, t)
	}
}

// check reports how long to wait before key may have another event; 0
// means now.
func (l *limiter) check(key string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	t := l.now()
	return l.wait(l.prune(key, t), t)
}

func (l *limiter) wait(ev []time.Time, t time.Time) time.Duration {
	if len(ev) < l.limit {
		return 0
	}
	return max(ev[len(ev)-l.limit].Add(l.window).Sub(t), time.Second)
}

// allow records an event for key when the limit permits and returns 0, or
// returns how long to wait.
func (l *limiter) allow(key string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	t := l.now()
	l.sweep(t)
	ev := l.prune(key, t)
	if d := l.wait(ev, t); d > 0 {
		return d
	}
	l.events[key] = append(ev, t)
	return 0
}

// add records an event for key regardless of the limit.
func (l *limiter) add(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	t := l.now()
	l.sweep(t)
	ev := l.prune(key, t)
	if len(ev) >= l.limit {
		ev = ev[len(ev)-l.limit+1:]
	}
	l.events[key] = append(ev, t)
}

// reset forgets key.
func (l *limiter) reset(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.events, key)
}
