package registry_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aegisgo/aegis/template/internal/runtime/registry"
	"github.com/aegisgo/aegis/template/internal/runtime/registry/registrytest"
)

// queue stands for a job queue: its Start begins background work that resolves another
// service lazily, the way the worker's job handlers do, and its Stop waits for that work.
type queue struct {
	c       *registry.Container
	waiting chan struct{} // closed when the background work is about to wait for the start
	done    chan struct{} // closed when the background work has ended
	got     error         // what the work's WaitStarted and Get returned
}

func (q *queue) Start(context.Context) error {
	go func() {
		defer close(q.done)
		// The job's own context, not Start's, which ends when the container's Start returns.
		ctx := context.Background()
		close(q.waiting)
		if err := q.c.WaitStarted(ctx); err != nil {
			q.got = err
			return
		}
		_, q.got = registry.Get[*registrytest.Gate](q.c)
	}()
	return nil
}

func (q *queue) Stop(ctx context.Context) error {
	select {
	case <-q.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("queue: running work did not end: %w", ctx.Err())
	}
}

func newQueue(_ context.Context, c *registry.Container) (*queue, error) {
	return &queue{c: c, waiting: make(chan struct{}), done: make(chan struct{})}, nil
}

// TestWaitStartedHoldsWorkUntilEverySingletonStarted: work begun by a started singleton that
// needs a service still starting waits for it instead of failing with ErrNotStarted.
func TestWaitStartedHoldsWorkUntilEverySingletonStarted(t *testing.T) {
	t.Parallel()
	svc := registrytest.NewGate()
	made := make(chan *queue, 1)
	r := registry.New()
	must(t, registry.Provide1(r, func(ctx context.Context, c *registry.Container) (*queue, error) {
		q, err := newQueue(ctx, c)
		made <- q
		return q, err
	}))
	must(t, registry.Value(r, svc))
	c, err := r.Build()
	must(t, err)
	started := make(chan error, 1)
	go func() { started <- c.Start(t.Context()) }()
	<-svc.Entered()
	// The queue does not depend on the blocked service, so it starts meanwhile, and its work
	// waits while the service starts.
	work := <-made
	<-work.waiting
	select {
	case <-work.done:
		t.Fatalf("work ran before the container finished starting: %v", work.got)
	default:
	}
	svc.Release()
	if err := <-started; err != nil {
		t.Fatal(err)
	}
	<-work.done
	if work.got != nil {
		t.Errorf("work after WaitStarted: %v", work.got)
	}
	if err := c.WaitStarted(t.Context()); err != nil {
		t.Errorf("WaitStarted after Start: %v", err)
	}
	must(t, c.Stop(t.Context()))
}

// TestWaitStartedEndsBeforeRollback: when the start fails, waiting work is told so before the
// started singletons are stopped, so a Stop that waits for that work does not hang.
func TestWaitStartedEndsBeforeRollback(t *testing.T) {
	t.Parallel()
	type Bad struct{}
	r := registry.New()
	must(t, registry.Provide1(r, newQueue))
	// Bad depends on the queue, so it fails after the queue has started its work.
	must(t, registry.Provide1(r, func(_ context.Context, q *queue) (*Bad, error) {
		<-q.waiting
		return nil, errBoom
	}))
	c, err := r.BuildWith(&registry.ContainerOpts{StopTimeout: 5 * time.Second})
	must(t, err)
	err = c.Start(t.Context())
	if !errors.Is(err, errBoom) || strings.Contains(err.Error(), "did not end") {
		t.Fatalf("Start: %v", err)
	}
	if err := c.WaitStarted(t.Context()); !errors.Is(err, registry.ErrFailed) || !errors.Is(err, errBoom) {
		t.Errorf("WaitStarted after a failed Start: %v", err)
	}
}

func TestWaitStartedHonoursContext(t *testing.T) {
	t.Parallel()
	c, err := registry.New().Build()
	must(t, err)
	ctx, cancel := context.WithCancelCause(t.Context())
	cause := errors.New("gave up")
	cancel(cause)
	if err := c.WaitStarted(ctx); !errors.Is(err, cause) {
		t.Errorf("WaitStarted on a container never started: %v", err)
	}
}

// standaloneErr is a complete message for the user, like config's *Error.
type standaloneErr struct{ msg string }

func (e *standaloneErr) Error() string    { return e.msg }
func (e *standaloneErr) Standalone() bool { return true }

// TestStartReportsOnlyRealFailures: the cancellations that a failed start causes in services
// still starting are not reported beside the failure; independent real failures are, and a
// standalone error reads as itself.
func TestStartReportsOnlyRealFailures(t *testing.T) {
	t.Parallel()
	badSetting := &standaloneErr{`config: AUTH_ACCESS_TTL="-1m" must be positive; use a duration such as 15m or 720h`}
	type (
		Settings struct{}
		Slow     struct{}
		Other    struct{}
	)
	tests := []struct {
		name  string
		fail  error // what the failing constructor returns
		other error // a second, independent failure, if any
		want  []string
		// exact, when set, is the whole message expected.
		exact string
	}{
		{name: "programming error keeps where", fail: errBoom, want: []string{"construct registry_test.Settings (registered at ", "boom"}},
		{name: "setting reads alone", fail: badSetting, exact: badSetting.msg},
		{name: "joined settings read alone", fail: errors.Join(badSetting, &standaloneErr{"config: PORT=\"x\" is not a valid whole number"}),
			exact: badSetting.msg + "\nconfig: PORT=\"x\" is not a valid whole number"},
		{name: "wrapped setting keeps where", fail: fmt.Errorf("load: %w", badSetting), want: []string{"construct registry_test.Settings (registered at ", "load: config: AUTH"}},
		{name: "independent failures both reported", fail: errBoom, other: errors.New("disk full"), want: []string{"boom", "disk full"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			slowIn, settingsIn, otherIn := make(chan struct{}), make(chan struct{}), make(chan struct{})
			r := registry.New()
			// Slow is under way when Settings fails, and ends with the start's cancellation,
			// as a database ping would: "ping: context canceled".
			must(t, registry.Provide(r, func(ctx context.Context) (*Slow, error) {
				close(slowIn)
				<-ctx.Done()
				return nil, fmt.Errorf("ping: %w", ctx.Err())
			}))
			must(t, registry.Provide(r, func(context.Context) (*Settings, error) {
				<-slowIn
				if tt.other != nil {
					// Both are under way before either fails: each fails for reasons of its own.
					close(settingsIn)
					<-otherIn
				}
				return nil, tt.fail
			}))
			if tt.other != nil {
				must(t, registry.Provide(r, func(context.Context) (*Other, error) {
					close(otherIn)
					<-settingsIn
					return nil, tt.other
				}))
			}
			c, err := r.Build()
			must(t, err)
			err = c.Start(t.Context())
			if err == nil {
				t.Fatal("Start succeeded")
			}
			msg := err.Error()
			if strings.Contains(msg, "canceled") || strings.Contains(msg, "Slow") {
				t.Errorf("Start reports the cancellation it caused: %q", msg)
			}
			if !errors.Is(err, tt.fail) {
				t.Errorf("Start: %v does not match the failure", err)
			}
			// Independent failures come joined in the order they happened, which is either.
			if !slices.ContainsFunc(serviceErrors(err), func(se *registry.ServiceError) bool { return se.Service == "registry_test.Settings" }) {
				t.Errorf("Start: %v: no ServiceError for Settings", err)
			}
			if tt.exact != "" && msg != tt.exact {
				t.Errorf("Start:\n%s\nwant\n%s", msg, tt.exact)
			}
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("Start: %q does not contain %q", msg, w)
				}
			}
		})
	}
}

// serviceErrors returns the ServiceErrors err holds, through joins: errors.As finds only the
// first.
func serviceErrors(err error) []*registry.ServiceError {
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		var out []*registry.ServiceError
		for _, e := range joined.Unwrap() {
			out = append(out, serviceErrors(e)...)
		}
		return out
	}
	if se, ok := errors.AsType[*registry.ServiceError](err); ok {
		return []*registry.ServiceError{se}
	}
	return nil
}
