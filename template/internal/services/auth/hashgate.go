package auth

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"
)

// hashGate bounds the argon2id work running at once. Each hash or
// verification allocates AUTH_ARGON2_MEMORY_KIB (19 MiB by default) for its
// duration, so without a bound a burst of registrations or logins grows the
// heap by that much per concurrent request (a review measured 2.2 GB RSS from
// 96 concurrent sign-ups). More slots than CPUs buy no throughput, only
// memory, so the default is GOMAXPROCS. Requests beyond the slots wait, at
// most queue of them and for at most wait each; the others are refused at
// once with a *BusyError, which the API answers with 503 and Retry-After.
type hashGate struct {
	slots   chan struct{}
	queue   int64
	wait    time.Duration
	waiting atomic.Int64
}

func newHashGate(concurrency, queue int, wait time.Duration) *hashGate {
	return &hashGate{slots: make(chan struct{}, max(concurrency, 1)), queue: int64(queue), wait: wait}
}

// acquire takes a slot, waiting with ctx; the caller must call release. A
// full queue or a wait longer than g.wait is a *BusyError; a cancelled ctx
// is its error, wrapped.
func (g *hashGate) acquire(ctx context.Context) (release func(), err error) {
	if g == nil {
		return func() {}, nil
	}
	release = func() { <-g.slots }
	select {
	case g.slots <- struct{}{}:
		return release, nil
	default:
	}
	if g.waiting.Add(1) > g.queue {
		g.waiting.Add(-1)
		return nil, g.busy()
	}
	defer g.waiting.Add(-1)
	timer := time.NewTimer(g.wait)
	defer timer.Stop()
	select {
	case g.slots <- struct{}{}:
		return release, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("auth: wait to hash a password: %w", ctx.Err())
	case <-timer.C:
		return nil, g.busy()
	}
}

// busy says when to come back: by then the queue has had one wait to drain.
func (g *hashGate) busy() error {
	return &BusyError{RetryAfter: max(g.wait, time.Second)}
}
