package registry_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/aegisgo/aegis/template/internal/runtime/registry"
	"github.com/aegisgo/aegis/template/internal/runtime/registry/registrytest"
)

// route is a contribution kind for these tests; an empty path is invalid.
type route struct{ path string }

func (r route) ValidateContribution(string) error {
	if r.path == "" {
		return errors.New("empty path")
	}
	return nil
}

// login is a contribution kind consumed with One and Maybe.
type login func() string

// router consumes every route.
type router struct{ paths []string }

func newRouter(_ context.Context, rs registry.All[route]) (*router, error) {
	r := &router{}
	for _, x := range rs {
		r.paths = append(r.paths, x.Value.path)
	}
	return r, nil
}

func TestContributeAll(t *testing.T) {
	t.Parallel()
	r := registry.New()
	registry.Contribute(r, "users", route{"/users"})
	registry.Contribute(r, "jobs", route{"/jobs"})
	must(t, registry.Provide1(r, newRouter))
	c := registrytest.Start(t, r)
	got := registry.MustGet[*router](c)
	if want := []string{"/users", "/jobs"}; fmt.Sprint(got.paths) != fmt.Sprint(want) {
		t.Errorf("paths = %v, want %v (registration order)", got.paths, want)
	}
	for _, n := range c.Graph().Nodes {
		if strings.Contains(n.Name, "All[") {
			t.Errorf("Graph lists the derived node %q", n.Name)
		}
	}
	if rep := c.CheckHealth(t.Context(), 0); len(rep.Checks) != 1 {
		t.Errorf("health checks = %+v, want only the router", rep.Checks)
	}
}

func TestContributeAllNone(t *testing.T) {
	t.Parallel()
	r := registry.New()
	must(t, registry.Provide1(r, newRouter))
	if got := registry.MustGet[*router](registrytest.Start(t, r)); len(got.paths) != 0 {
		t.Errorf("paths = %v, want none", got.paths)
	}
}

func TestContributeErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		add  func(r *registry.Registry) []string // returns the file:lines the error must name
		want string
	}{
		{"duplicate names both registrations", func(r *registry.Registry) []string {
			registry.Contribute(r, "users", route{"/a"})
			first := here()
			registry.Contribute(r, "users", route{"/b"})
			second := here()
			return []string{lineBefore(first), lineBefore(second)}
		}, "duplicate name"},
		{"validator", func(r *registry.Registry) []string {
			registry.Contribute(r, "bad", route{})
			return []string{lineBefore(here())}
		}, "empty path"},
		{"empty name", func(r *registry.Registry) []string {
			registry.Contribute(r, "", route{"/x"})
			return []string{lineBefore(here())}
		}, "empty name"},
		{"nil value", func(r *registry.Registry) []string {
			registry.Contribute[login](r, "nil", nil)
			return []string{lineBefore(here())}
		}, "nil value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := registry.New()
			sites := tt.add(r)
			_, err := r.Build()
			var ce *registry.ContributionError
			if !errors.As(err, &ce) {
				t.Fatalf("Build error = %v, want a *ContributionError", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not say %q", err, tt.want)
			}
			for _, s := range sites {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not name %s", err, s)
				}
			}
			if v := r.Validate(); v == nil || v.Error() != err.Error() {
				t.Errorf("Validate does not report what Build does")
			}
		})
	}
}

// lineBefore turns the file:line of here() into that of the line above it.
func lineBefore(at string) string {
	i := strings.LastIndexByte(at, ':')
	var n int
	fmt.Sscan(at[i+1:], &n)
	return fmt.Sprintf("%s:%d", at[:i], n-1)
}

type dashboard struct{ who string }

func newDashboard(_ context.Context, l registry.One[login]) (*dashboard, error) {
	return &dashboard{who: l.Value()}, nil
}

type optional struct{ who string }

func newOptional(_ context.Context, l registry.Maybe[login]) (*optional, error) {
	if f, ok := l.Get(); ok {
		return &optional{who: f()}, nil
	}
	return &optional{who: "nobody"}, nil
}

func TestOneAndMaybe(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		logins   []string
		wantOne  string // "" means Build fails
		wantErr  string
		wantMayb string
	}{
		{"none", nil, "", "there is none", "nobody"},
		{"one", []string{"alice"}, "alice", "", "alice"},
		{"two", []string{"alice", "bob"}, "", "there are 2", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := registry.New()
			var sites []string
			for _, who := range tt.logins {
				registry.Contribute(r, who, login(func() string { return who }))
				sites = append(sites, lineBefore(here()))
			}
			one := r.Clone()
			must(t, registry.Provide1(one, newDashboard))
			_, err := one.Build()
			switch {
			case tt.wantOne == "":
				var me *registry.MissingDependencyError
				if !errors.As(err, &me) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Build error = %v, want a *MissingDependencyError saying %q", err, tt.wantErr)
				}
				for _, s := range sites {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error %q does not name %s", err, s)
					}
				}
			default:
				if got := registry.MustGet[*dashboard](registrytest.Start(t, one)).who; got != tt.wantOne {
					t.Errorf("One = %q, want %q", got, tt.wantOne)
				}
			}

			maybe := r.Clone()
			must(t, registry.Provide1(maybe, newOptional))
			if tt.wantMayb == "" {
				if _, err := maybe.Build(); err == nil {
					t.Fatal("Maybe with two contributions built")
				}
				return
			}
			if got := registry.MustGet[*optional](registrytest.Start(t, maybe)).who; got != tt.wantMayb {
				t.Errorf("Maybe = %q, want %q", got, tt.wantMayb)
			}
		})
	}
}

// store is a service consumed with Maybe.
type store interface{ Name() string }

type memStore struct{}

func (memStore) Name() string { return "mem" }

type consumer struct{ store string }

func TestMaybeService(t *testing.T) {
	t.Parallel()
	ctor := func(_ context.Context, s registry.Maybe[store]) (*consumer, error) {
		if v, ok := s.Get(); ok {
			return &consumer{store: v.Name()}, nil
		}
		return &consumer{store: "none"}, nil
	}
	for _, withStore := range []bool{false, true} {
		r := registry.New()
		must(t, registry.Provide1(r, ctor))
		want := "none"
		if withStore {
			must(t, registry.Value[store](r, memStore{}))
			want = "mem"
		}
		c := registrytest.Start(t, r)
		if got := registry.MustGet[*consumer](c).store; got != want {
			t.Errorf("with store %v: got %q, want %q", withStore, got, want)
		}
		for _, n := range c.Graph().Nodes {
			if n.Name == "*registry_test.consumer" && withStore && fmt.Sprint(n.Deps) != "[registry_test.store]" {
				t.Errorf("consumer deps = %v, want the store it may use", n.Deps)
			}
		}
	}
}

func TestCloneIsIndependent(t *testing.T) {
	t.Parallel()
	r := registry.New()
	registry.Contribute(r, "users", route{"/users"})
	c := r.Clone()
	registry.Contribute(c, "jobs", route{"/jobs"})
	registry.Contribute(c, "users", route{"/again"})
	if n := len(registry.Contributions[route](r)); n != 1 {
		t.Errorf("original has %d contributions after adding to the clone, want 1", n)
	}
	got := registry.Contributions[route](c)
	if len(got) != 3 || got[1].Name != "jobs" || got[0].Registered == "" {
		t.Errorf("clone contributions = %+v", got)
	}
	if err := r.Validate(); err != nil {
		t.Errorf("original: %v", err)
	}
	if err := c.Validate(); !errors.Is(err, registry.ErrDuplicateContribution) {
		t.Errorf("clone: %v, want ErrDuplicateContribution", err)
	}
}

// scopes opens a scope per unit of work, as the worker does per job.
type scopes struct{ c *registry.Container }

func TestContainerDependency(t *testing.T) {
	t.Parallel()
	r := registry.New()
	must(t, registry.Provide1(r, func(_ context.Context, c *registry.Container) (*scopes, error) { return &scopes{c: c}, nil }))
	c := registrytest.Start(t, r)
	if got := registry.MustGet[*scopes](c); got.c != c {
		t.Errorf("the dependency is %p, want the container %p", got.c, c)
	}
	if n := len(c.Graph().Nodes); n != 1 {
		t.Errorf("Graph has %d nodes, want the service only", n)
	}
	// Stopping does not stop the container through its own node.
	if err := c.Stop(t.Context()); err != nil {
		t.Fatal(err)
	}
}

func TestHidden(t *testing.T) {
	t.Parallel()
	type settings struct{ Port int }
	r := registry.New()
	must(t, registry.Value(r, settings{Port: 8000}, registry.Hidden()))
	must(t, registry.Provide1(r, func(_ context.Context, s settings) (*router, error) { return &router{}, nil }))
	c := registrytest.Start(t, r)
	g := c.Graph()
	if len(g.Nodes) != 1 || len(g.Nodes[0].Deps) != 0 {
		t.Errorf("Graph = %+v, want the router alone, without its hidden dependency", g.Nodes)
	}
	if rep := c.CheckHealth(t.Context(), 0); len(rep.Checks) != 1 {
		t.Errorf("health checks = %+v, want the router alone", rep.Checks)
	}
}
