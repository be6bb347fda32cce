package onboarding

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aegisgo/aegis/template/internal/command"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
)

// Retrier runs the Service's retries in the background: once at start, when every pending
// row is due (the steps that waited for a restart), then every interval for the rows whose
// backoff has passed.
type Retrier struct {
	svc      *Service
	interval time.Duration
	enabled  bool

	started atomic.Bool
	stop    sync.Once
	quit    chan struct{}
	done    chan struct{}
}

// newRetrier is the registry constructor. Only the server retries in the background:
// commands run no background work (`onboarding retry` retries on demand).
func newRetrier(_ context.Context, svc *Service, s Settings, role command.Role) (*Retrier, error) {
	r := NewRetrier(svc, s.RetryInterval)
	r.enabled = role == command.RoleServe
	return r, nil
}

// NewRetrier returns a Retrier of svc; an interval of 0 retries only at start.
func NewRetrier(svc *Service, interval time.Duration) *Retrier {
	return &Retrier{svc: svc, interval: interval, enabled: true, quit: make(chan struct{}), done: make(chan struct{})}
}

// Start begins the retries in the background; it does not wait for them.
func (r *Retrier) Start(context.Context) error {
	if !r.enabled || !r.started.CompareAndSwap(false, true) {
		return nil
	}
	go r.loop()
	return nil
}

func (r *Retrier) loop() {
	defer close(r.done)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-r.quit:
			cancel()
		case <-ctx.Done():
		}
	}()
	r.pass(ctx, true)
	if r.interval <= 0 {
		return
	}
	t := time.NewTicker(r.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			r.pass(ctx, false)
		}
	}
}

func (r *Retrier) pass(ctx context.Context, all bool) {
	res, err := r.svc.Retry(ctx, all)
	if err != nil && ctx.Err() == nil {
		r.svc.logger.ErrorContext(ctx, "onboarding: retry pending steps", "error", err)
	}
	if res != (RetryResult{}) {
		r.svc.logger.InfoContext(ctx, "onboarding: retried pending steps", "completed", res.Completed, "pending", res.Pending, "removed", res.Removed)
	}
}

// Stop ends the retries, waiting for the one in progress within ctx (a step it interrupts
// stays pending). It is idempotent and safe before Start.
func (r *Retrier) Stop(ctx context.Context) error {
	r.stop.Do(func() { close(r.quit) })
	if !r.started.Load() {
		return nil
	}
	select {
	case <-r.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("onboarding: stop retries: %w", ctx.Err())
	}
}

var (
	_ registry.Starter = (*Retrier)(nil)
	_ registry.Stopper = (*Retrier)(nil)
)
