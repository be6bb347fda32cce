package cache

import (
	"errors"
	"sync"
)

// errComputePanicked is what goroutines waiting on a computation receive
// when the function computing it panicked; the panic itself goes on in the
// goroutine that ran it, as it would without the cache.
var errComputePanicked = errors.New("cache: compute panicked in another goroutine")

// flight is one computation in progress. val and err are written once,
// before done is closed, and only read after.
type flight struct {
	done chan struct{}
	val  []byte // the value as JSON, so that each waiter decodes its own copy
	err  error
	// leaderGone is set when the leader's ctx ended before compute returned: its
	// error is then the leader's, not the key's, and waiters compute again.
	leaderGone bool
}

// flights makes concurrent misses on one key wait for a single computation
// (single-flight), so a cold key under load costs one call to the database
// or API behind it, not one per request.
type flights struct {
	mu sync.Mutex
	m  map[string]*flight
}

// join returns the computation in progress for key, or starts one and
// returns it with leader set: the leader must call finish.
func (g *flights) join(key string) (f *flight, leader bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if f, ok := g.m[key]; ok {
		return f, false
	}
	if g.m == nil {
		g.m = map[string]*flight{}
	}
	f = &flight{done: make(chan struct{})}
	g.m[key] = f
	return f, true
}

// finish publishes the result of f and lets the next miss on key start a
// new computation.
func (g *flights) finish(key string, f *flight, val []byte, err error, leaderGone bool) {
	g.mu.Lock()
	delete(g.m, key)
	g.mu.Unlock()
	f.val, f.err, f.leaderGone = val, err, leaderGone
	close(f.done)
}
