package registry_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aegisgo/aegis/template/internal/runtime/registry"
)

// A graph of 100 services of one Go type, told apart by name, with mixed lifetimes:
// ids ending in 0-6 are singletons, 7-8 scoped, 9 transient. Singletons and transients depend
// only on singletons and transients (transients only on singletons), so the graph is valid;
// scoped services depend on anything earlier.

const graphSize = 100

func lifetimeOf(i int) registry.Lifetime {
	switch i % 10 {
	case 7, 8:
		return registry.Scoped
	case 9:
		return registry.Transient
	}
	return registry.Singleton
}

func svcName(i int) string { return fmt.Sprintf("s%02d", i) }

// depsOf picks up to two earlier services that i may depend on, deterministically. s00 and
// s01 have none: they are the two independent roots that must start concurrently.
func depsOf(i int) []int {
	var allowed []int
	for j := range i {
		switch lifetimeOf(i) {
		case registry.Singleton:
			if lifetimeOf(j) != registry.Scoped {
				allowed = append(allowed, j)
			}
		case registry.Transient:
			if lifetimeOf(j) == registry.Singleton {
				allowed = append(allowed, j)
			}
		default:
			allowed = append(allowed, j)
		}
	}
	if i < 2 || len(allowed) == 0 {
		return nil
	}
	a, b := allowed[(i*7+3)%len(allowed)], allowed[(i*13+5)%len(allowed)]
	if a == b {
		return []int{a}
	}
	return []int{a, b}
}

// singletonPrereqs are the singletons that must be started before singleton i: its singleton
// deps and those of its transient deps.
func singletonPrereqs(i int) []int {
	var out []int
	for _, d := range depsOf(i) {
		if lifetimeOf(d) == registry.Singleton {
			out = append(out, d)
			continue
		}
		out = append(out, depsOf(d)...) // a transient: its deps are singletons
	}
	return out
}

// gsvc is one instance; it records its lifecycle in the run's recorder.
type gsvc struct {
	id  int
	run *graphRun
}

// graphRun records what happened to one container, as sequence numbers.
type graphRun struct {
	failAt  int
	seq     atomic.Int64
	running atomic.Int64
	maxRun  atomic.Int64
	roots   [2]chan struct{} // closed by s00 and s01 when their Start begins

	mu         sync.Mutex
	startBegin map[int]int64 // singletons only
	startEnd   map[int]int64
	stopBegin  map[*gsvc]int64
	stopEnd    map[*gsvc]int64
	created    []*gsvc // scoped and transient instances, in construction order
	closed     []*gsvc // in close order
	singles    map[int]*gsvc
}

func newGraphRun(failAt int) *graphRun {
	return &graphRun{
		failAt: failAt, roots: [2]chan struct{}{make(chan struct{}), make(chan struct{})},
		startBegin: map[int]int64{}, startEnd: map[int]int64{},
		stopBegin: map[*gsvc]int64{}, stopEnd: map[*gsvc]int64{},
		singles: map[int]*gsvc{},
	}
}

func (g *gsvc) Start(ctx context.Context) error {
	r := g.run
	if lifetimeOf(g.id) != registry.Singleton {
		return nil
	}
	r.mu.Lock()
	r.startBegin[g.id] = r.seq.Add(1)
	r.mu.Unlock()
	n := r.running.Add(1)
	for m := r.maxRun.Load(); n > m && !r.maxRun.CompareAndSwap(m, n); m = r.maxRun.Load() {
	}
	defer r.running.Add(-1)
	if g.id < 2 {
		// Rendezvous: each root waits until the other has begun starting too, which only
		// happens if they start concurrently.
		close(r.roots[g.id])
		select {
		case <-r.roots[1-g.id]:
		case <-time.After(5 * time.Second):
			return fmt.Errorf("%s: independent services did not start concurrently", svcName(g.id))
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if g.id == r.failAt {
		return errBoom
	}
	time.Sleep(100 * time.Microsecond) // let starts overlap
	r.mu.Lock()
	r.startEnd[g.id] = r.seq.Add(1)
	r.mu.Unlock()
	return nil
}

func (g *gsvc) Stop(context.Context) error {
	r := g.run
	r.mu.Lock()
	r.stopBegin[g] = r.seq.Add(1)
	r.mu.Unlock()
	time.Sleep(50 * time.Microsecond)
	r.mu.Lock()
	r.stopEnd[g] = r.seq.Add(1)
	r.closed = append(r.closed, g)
	r.mu.Unlock()
	return nil
}

// register100 registers the graph into a fresh Registry; every instance reports to run.
func register100(t *testing.T, run *graphRun) *registry.Registry {
	t.Helper()
	r := registry.New()
	for i := range graphSize {
		newSvc := func() (*gsvc, error) {
			g := &gsvc{id: i, run: run}
			run.mu.Lock()
			if lifetimeOf(i) == registry.Singleton {
				run.singles[i] = g
			} else {
				run.created = append(run.created, g)
			}
			run.mu.Unlock()
			return g, nil
		}
		opts := []registry.Option{registry.Name(svcName(i)), registry.WithLifetime(lifetimeOf(i))}
		var names []string
		for _, d := range depsOf(i) {
			names = append(names, svcName(d))
		}
		opts = append(opts, registry.DependsOnNames(names...))
		var err error
		switch len(names) {
		case 0:
			err = registry.Provide(r, func(context.Context) (*gsvc, error) { return newSvc() }, opts...)
		case 1:
			err = registry.Provide1(r, func(context.Context, *gsvc) (*gsvc, error) { return newSvc() }, opts...)
		case 2:
			err = registry.Provide2(r, func(context.Context, *gsvc, *gsvc) (*gsvc, error) { return newSvc() }, opts...)
		}
		must(t, err)
	}
	return r
}

func TestGraphOf100(t *testing.T) {
	t.Parallel()
	var singletons []int
	for i := range graphSize {
		if lifetimeOf(i) == registry.Singleton {
			singletons = append(singletons, i)
		}
	}

	t.Run("start, scope, stop", func(t *testing.T) {
		t.Parallel()
		run := newGraphRun(-1)
		c, err := register100(t, run).Build()
		must(t, err)
		must(t, c.Start(t.Context()))

		// Start order respects dependencies.
		for _, i := range singletons {
			if _, ok := run.startEnd[i]; !ok {
				t.Fatalf("%s did not start", svcName(i))
			}
			for _, p := range singletonPrereqs(i) {
				if run.startEnd[p] >= run.startBegin[i] {
					t.Errorf("%s began starting before its dependency %s finished", svcName(i), svcName(p))
				}
			}
		}
		if m := run.maxRun.Load(); m < 2 {
			t.Errorf("at most %d service started at once; independent ones must overlap", m)
		}

		// A request scope: resolve every scoped and transient service, newest id first.
		run.mu.Lock()
		run.created = nil // forget transients built for singletons during Start
		run.mu.Unlock()
		s := c.NewScope(t.Context())
		for i := graphSize - 1; i >= 0; i-- {
			if lifetimeOf(i) == registry.Singleton {
				continue
			}
			g, err := registry.GetNamed[*gsvc](s, svcName(i))
			if err != nil || g.id != i {
				t.Fatalf("GetNamed %s: %v", svcName(i), err)
			}
		}
		run.mu.Lock()
		created := slices.Clone(run.created)
		run.closed = nil
		run.mu.Unlock()
		must(t, s.Close(t.Context()))
		run.mu.Lock()
		closed := slices.Clone(run.closed)
		run.mu.Unlock()
		slices.Reverse(created)
		if len(created) == 0 || !slices.Equal(created, closed) {
			t.Errorf("scope closed %d instances in an order other than reverse creation (%d created)", len(closed), len(created))
		}

		// Stop is the reverse of the dependency order.
		must(t, c.Stop(t.Context()))
		for _, i := range singletons {
			g := run.singles[i]
			if _, ok := run.stopEnd[g]; !ok {
				t.Errorf("%s was not stopped", svcName(i))
				continue
			}
			for _, p := range singletonPrereqs(i) {
				if run.stopEnd[g] >= run.stopBegin[run.singles[p]] {
					t.Errorf("%s stopped before its dependent %s", svcName(p), svcName(i))
				}
			}
		}
		checkStates(t, c, func(string) string { return "" }, map[string]bool{"stopped": true, "registered": true})
	})

	t.Run("failure at s60 rolls back", func(t *testing.T) {
		t.Parallel()
		run := newGraphRun(60)
		c, err := register100(t, run).Build()
		must(t, err)
		err = c.Start(t.Context())
		var se *registry.ServiceError
		if !errors.As(err, &se) || se.Service != "s60" || se.Op != "start" || !errors.Is(err, errBoom) {
			t.Fatalf("Start: %v", err)
		}
		// Whatever depends on s60, directly or not, never started.
		blocked := map[int]bool{60: true}
		for _, i := range singletons {
			for _, p := range singletonPrereqs(i) {
				if blocked[p] {
					blocked[i] = true
				}
			}
		}
		startedCount := 0
		for _, i := range singletons {
			_, began := run.startEnd[i]
			if blocked[i] && began {
				t.Errorf("%s started although it depends on the failed s60", svcName(i))
			}
			g := run.singles[i]
			_, stopped := run.stopEnd[g]
			if began != stopped {
				t.Errorf("%s: started %v, stopped %v; rollback must stop exactly what started", svcName(i), began, stopped)
			}
			if began {
				startedCount++
				for _, p := range singletonPrereqs(i) {
					if run.stopEnd[g] >= run.stopBegin[run.singles[p]] {
						t.Errorf("rollback stopped %s before its dependent %s", svcName(p), svcName(i))
					}
				}
			}
		}
		if startedCount < 10 {
			t.Errorf("only %d services started before the failure; the test proves little", startedCount)
		}
		checkStates(t, c, func(name string) string {
			if name == "s60" {
				return "failed"
			}
			return ""
		}, map[string]bool{"stopped": true, "registered": true})
		if err := c.Stop(t.Context()); err != nil {
			t.Errorf("Stop after rollback: %v", err)
		}
	})
}

// checkStates checks every singleton's state: the one named by special, else one of allowed.
func checkStates(t *testing.T, c *registry.Container, special func(string) string, allowed map[string]bool) {
	t.Helper()
	for _, n := range c.Graph().Nodes {
		if n.Lifetime != "singleton" {
			continue
		}
		if want := special(n.Name); want != "" {
			if n.State != want {
				t.Errorf("%s: state %s, want %s", n.Name, n.State, want)
			}
			continue
		}
		if !allowed[n.State] {
			t.Errorf("%s: state %s", n.Name, n.State)
		}
	}
}
