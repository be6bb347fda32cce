package worker

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/aegisgo/aegis/template/internal/components/database"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
	"github.com/aegisgo/aegis/template/internal/runtime/registry/registrytest"
)

// Tasks the tests enqueue. Their behaviour is keyed by the Token in their arguments, so
// parallel tests do not see each other's jobs.

type okArgs struct {
	Token string `json:"token"`
	N     int    `json:"n,omitempty"`
}

func (okArgs) Kind() string { return "test_ok" }

type panicArgs struct {
	Token string `json:"token"`
}

func (panicArgs) Kind() string { return "test_panic" }

type sleepArgs struct {
	Token string        `json:"token"`
	For   time.Duration `json:"for"`
}

func (sleepArgs) Kind() string { return "test_sleep" }

type blockArgs struct {
	Token string `json:"token"`
}

func (blockArgs) Kind() string { return "test_block" }

type scopedArgs struct {
	Token string `json:"token"`
}

func (scopedArgs) Kind() string { return "test_scoped" }

type noopArgs struct{}

func (noopArgs) Kind() string { return "test_noop" }

// runs counts the attempts of each token.
var runs sync.Map // token -> *atomic.Int64

func runCount(token string) *atomic.Int64 {
	v, _ := runs.LoadOrStore(token, new(atomic.Int64))
	return v.(*atomic.Int64)
}

// requestLog is a scoped service: one per job attempt, closed with the scope.
type requestLog struct {
	token string
}

var closedLogs sync.Map // token -> *atomic.Bool

func (l *requestLog) Close() error {
	if l.token != "" {
		v, _ := closedLogs.LoadOrStore(l.token, new(atomic.Bool))
		v.(*atomic.Bool).Store(true)
	}
	return nil
}

func init() {
	registry.Contribute(registry.Default, okArgs{}.Kind(), NewTask(func(ctx context.Context, job *river.Job[okArgs]) error {
		runCount(job.Args.Token).Add(1)
		return nil
	}, nil))
	registry.Contribute(registry.Default, panicArgs{}.Kind(), NewTask(func(ctx context.Context, job *river.Job[panicArgs]) error {
		runCount(job.Args.Token).Add(1)
		panic("boom " + job.Args.Token)
	}, nil))
	registry.Contribute(registry.Default, sleepArgs{}.Kind(), NewTask(func(ctx context.Context, job *river.Job[sleepArgs]) error {
		runCount(job.Args.Token).Add(1)
		select {
		case <-time.After(job.Args.For):
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}, nil))
	registry.Contribute(registry.Default, blockArgs{}.Kind(), NewTask(func(ctx context.Context, job *river.Job[blockArgs]) error {
		runCount(job.Args.Token).Add(1)
		<-ctx.Done()
		return ctx.Err()
	}, &TaskOpts{Timeout: 150 * time.Millisecond}))
	registry.Contribute(registry.Default, scopedArgs{}.Kind(), NewTask(func(ctx context.Context, job *river.Job[scopedArgs]) error {
		runCount(job.Args.Token).Add(1)
		res, ok := registry.FromContext(ctx)
		if !ok {
			return errors.New("no resolver in the job's context")
		}
		l, err := registry.Get[*requestLog](res)
		if err != nil {
			return err
		}
		l.token = job.Args.Token
		return nil
	}, nil))
	registry.Contribute(registry.Default, noopArgs{}.Kind(), NewTask(func(ctx context.Context, job *river.Job[noopArgs]) error { return nil }, nil))
}

var tokenSeq atomic.Int64

func token(t testing.TB) string { return fmt.Sprintf("%s-%d", t.Name(), tokenSeq.Add(1)) }

// testSettings are fast settings for tests.
func testSettings() Settings {
	return Settings{PollInterval: 50 * time.Millisecond, ShutdownTimeout: 5 * time.Second}.WithDefaults()
}

// setup returns a started, working client on db, with a container that has a scoped
// *requestLog; both stop when the test ends.
func setup(t testing.TB, db *database.DB, s Settings) *Client {
	t.Helper()
	r := registry.New()
	_ = registry.Value(r, db)
	_ = registry.Provide(r, func(ctx context.Context) (*requestLog, error) { return &requestLog{}, nil }, registry.WithLifetime(registry.Scoped))
	c := registrytest.Start(t, r)
	client, err := NewClient(db, s, &ClientOpts{Work: true, Container: c})
	if err != nil {
		t.Fatal(err)
	}
	if err := client.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := client.Stop(context.Background()); err != nil {
			t.Error(err)
		}
	})
	return client
}

// waitState waits until job id is in state, failing the test after timeout.
func waitState(t testing.TB, c *Client, id int64, state rivertype.JobState, timeout time.Duration) *rivertype.JobRow {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		j, err := c.Job(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if j.State == state {
			return j
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %d (%s) is %s after %s, want %s; errors: %+v", id, j.Kind, j.State, timeout, state, j.Errors)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
