package auth

import (
	"context"
	"sync"
)

// keyedMutex lets one holder per key in at a time; the others wait, each
// with its context. Keys are held only while in use, so it holds as many as
// there are requests in it. The zero value is ready.
type keyedMutex struct {
	mu   sync.Mutex
	held map[string]chan struct{} // closed when its key is released
}

// lock waits until key is free or ctx is done, and takes it; the caller
// must call release.
func (k *keyedMutex) lock(ctx context.Context, key string) (release func(), err error) {
	for {
		k.mu.Lock()
		if k.held == nil {
			k.held = map[string]chan struct{}{}
		}
		ch, busy := k.held[key]
		if !busy {
			ch = make(chan struct{})
			k.held[key] = ch
			k.mu.Unlock()
			return func() {
				k.mu.Lock()
				delete(k.held, key)
				k.mu.Unlock()
				close(ch)
			}, nil
		}
		k.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}
