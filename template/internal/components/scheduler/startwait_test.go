package scheduler

import (
	"context"
	"testing"
	"time"

	"github.com/aegisgo/aegis/template/internal/runtime/registry"
	"github.com/aegisgo/aegis/template/internal/runtime/registry/registrytest"
)

// A run that comes while the app is still starting (a missed run caught up at start) waits
// for the start instead of failing to resolve a service that is not started yet. This checks
// the outcome; that the run cannot begin before the start ends is WaitStarted's contract,
// tested in the registry (the scheduler offers no point to observe the wait from).
func TestRunWaitsForContainerStart(t *testing.T) {
	t.Parallel()
	g := registrytest.NewGate()
	r := registry.New()
	if err := registry.Value(r, g); err != nil {
		t.Fatal(err)
	}
	c, err := r.Build()
	if err != nil {
		t.Fatal(err)
	}
	started := make(chan error, 1)
	go func() { started <- c.Start(t.Context()) }()
	t.Cleanup(func() { _ = c.Stop(context.Background()) })
	<-g.Entered()

	job := Every(time.Hour, func(ctx context.Context) error {
		res, _ := registry.FromContext(ctx)
		_, err := registry.Get[*registrytest.Gate](res)
		return err
	}, nil)
	s, err := New(Settings{}, &Opts{Container: c, Jobs: registry.All[*Job]{{Name: "test_gated", Value: job, Registered: "startwait_test.go"}}})
	if err != nil {
		t.Fatal(err)
	}
	type result struct {
		run Run
		err error
	}
	done := make(chan result, 1)
	go func() {
		run, err := s.RunNow(t.Context(), "test_gated")
		done <- result{run, err}
	}()
	g.Release()
	if err := <-started; err != nil {
		t.Fatal(err)
	}
	if res := <-done; res.err != nil || res.run.Outcome != OutcomeOK {
		t.Errorf("run during the start: %+v, %v; want it to wait for the start and succeed", res.run, res.err)
	}
}
