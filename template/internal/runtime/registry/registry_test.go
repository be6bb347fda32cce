package registry_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aegisgo/aegis/template/internal/runtime/registry"
	"github.com/aegisgo/aegis/template/internal/runtime/registry/registrytest"
)

func TestLifetimeString(t *testing.T) {
	t.Parallel()
	for l, want := range map[registry.Lifetime]string{
		registry.Singleton: "singleton", registry.Scoped: "scoped", registry.Transient: "transient", 7: "Lifetime(7)",
	} {
		if got := l.String(); got != want {
			t.Errorf("Lifetime(%d).String() = %q, want %q", l, got, want)
		}
	}
	var zero registry.Lifetime
	if zero != registry.Singleton {
		t.Error("the zero Lifetime must be Singleton")
	}
}

func TestDefaultRegistry(t *testing.T) {
	t.Parallel()
	if registry.Default == nil {
		t.Fatal("Default is nil")
	}
}

// TestRegistrationErrors checks that each malformed registration is returned with the
// caller's file:line, and that Validate and Build report it again even if ignored.
func TestRegistrationErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		register func(r *registry.Registry) (at string, err error)
		as       func(error) bool
		contains string
	}{
		{
			name: "duplicate type and name",
			register: func(r *registry.Registry) (string, error) {
				_ = registry.Provide(r, newDB)
				return here(), registry.Provide(r, newDB)
			},
			as:       isType[*registry.DuplicateError],
			contains: `duplicate service "registry_test.DB"`,
		},
		{
			name: "duplicate name across types",
			register: func(r *registry.Registry) (string, error) {
				_ = registry.Provide(r, newDB, registry.Name("store"))
				return here(), registry.Provide(r, newBlob, registry.Name("store"))
			},
			as:       isType[*registry.DuplicateError],
			contains: "*registry_test.DB and *registry_test.Blob",
		},
		{
			name: "nil constructor",
			register: func(r *registry.Registry) (string, error) {
				return here(), registry.Provide[*DB](r, nil)
			},
			as:       isInvalid,
			contains: "nil constructor",
		},
		{
			name: "nil constructor with deps",
			register: func(r *registry.Registry) (string, error) {
				return here(), registry.Provide1[*Repo, *DB](r, nil)
			},
			as:       isInvalid,
			contains: "nil constructor",
		},
		{
			name: "zero option",
			register: func(r *registry.Registry) (string, error) {
				return here(), registry.Provide(r, newDB, registry.Option{})
			},
			as:       isInvalid,
			contains: "zero Option",
		},
		{
			name: "empty name",
			register: func(r *registry.Registry) (string, error) {
				return here(), registry.Provide(r, newDB, registry.Name(""))
			},
			as:       isInvalid,
			contains: "empty name",
		},
		{
			name: "name with space",
			register: func(r *registry.Registry) (string, error) {
				return here(), registry.Provide(r, newDB, registry.Name("my db"))
			},
			as:       isInvalid,
			contains: "spaces",
		},
		{
			name: "unknown kind",
			register: func(r *registry.Registry) (string, error) {
				return here(), registry.Provide(r, newDB, registry.Kind("widget"))
			},
			as:       isInvalid,
			contains: `Kind "widget"`,
		},
		{
			name: "multi-line description",
			register: func(r *registry.Registry) (string, error) {
				return here(), registry.Provide(r, newDB, registry.Describe("a\nb"))
			},
			as:       isInvalid,
			contains: "one line",
		},
		{
			name: "unknown lifetime",
			register: func(r *registry.Registry) (string, error) {
				return here(), registry.Provide(r, newDB, registry.WithLifetime(9))
			},
			as:       isInvalid,
			contains: "Lifetime(9)",
		},
		{
			name: "lifetime on value",
			register: func(r *registry.Registry) (string, error) {
				return here(), registry.Value(r, &DB{}, registry.WithLifetime(registry.Scoped))
			},
			as:       isInvalid,
			contains: "a value is a singleton",
		},
		{
			name: "lifetime on bind",
			register: func(r *registry.Registry) (string, error) {
				_ = registry.Provide(r, newEnglish)
				return here(), registry.Bind[Greeter, *English](r, registry.WithLifetime(registry.Transient))
			},
			as:       isInvalid,
			contains: "lifetime of its target",
		},
		{
			name: "too many dependency names",
			register: func(r *registry.Registry) (string, error) {
				return here(), registry.Provide1(r, newRepo, registry.DependsOnNames("a", "b"))
			},
			as:       isInvalid,
			contains: "2 names for 1 dependencies",
		},
		{
			name: "non-positive stop timeout",
			register: func(r *registry.Registry) (string, error) {
				return here(), registry.Provide(r, newDB, registry.StopTimeout(0))
			},
			as:       isInvalid,
			contains: "must be positive",
		},
		{
			name: "hooks for another type",
			register: func(r *registry.Registry) (string, error) {
				return here(), registry.Provide(r, newDB, registry.Hooks(registry.Lifecycle[*Blob]{}))
			},
			as:       isType[*registry.TypeError],
			contains: "Hooks: want *registry_test.Blob, got *registry_test.DB",
		},
		{
			name: "hooks on bind",
			register: func(r *registry.Registry) (string, error) {
				_ = registry.Provide(r, newEnglish)
				return here(), registry.Bind[Greeter, *English](r, registry.Hooks(registry.Lifecycle[Greeter]{}))
			},
			as:       isInvalid,
			contains: "hook the target",
		},
		{
			name: "optional on bind",
			register: func(r *registry.Registry) (string, error) {
				_ = registry.Provide(r, newEnglish)
				return here(), registry.Bind[Greeter, *English](r, registry.Optional())
			},
			as:       isInvalid,
			contains: "Optional",
		},
		{
			name: "bind target does not implement",
			register: func(r *registry.Registry) (string, error) {
				_ = registry.Provide(r, newDB)
				return here(), registry.Bind[Greeter, *DB](r)
			},
			as:       isType[*registry.TypeError],
			contains: "*registry_test.DB does not implement registry_test.Greeter",
		},
		{
			name: "bind to a non-interface",
			register: func(r *registry.Registry) (string, error) {
				_ = registry.Provide(r, newDB)
				return here(), registry.Bind[*DB, *DB](r, registry.Name("db2"))
			},
			as:       isType[*registry.TypeError],
			contains: "want an interface type",
		},
		{
			name: "nil value",
			register: func(r *registry.Registry) (string, error) {
				return here(), registry.Value[*DB](r, nil)
			},
			as:       isInvalid,
			contains: "nil value",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := registry.New()
			at, err := tt.register(r)
			if err == nil {
				t.Fatal("registration returned nil error")
			}
			for name, got := range map[string]error{"returned": err, "Validate": r.Validate(), "Build": buildErr(r)} {
				if got == nil {
					t.Fatalf("%s: nil error", name)
				}
				if !tt.as(got) {
					t.Errorf("%s: %v (%T): wrong error type", name, got, got)
				}
				msg := got.Error()
				if !strings.Contains(msg, tt.contains) {
					t.Errorf("%s: %q does not contain %q", name, msg, tt.contains)
				}
				if !strings.Contains(msg, at) {
					t.Errorf("%s: %q does not name the registration at %s", name, msg, at)
				}
				if !strings.HasPrefix(msg, "registry: ") {
					t.Errorf("%s: %q lacks the package prefix", name, msg)
				}
			}
		})
	}
}

func buildErr(r *registry.Registry) error {
	c, err := r.Build()
	if err == nil && c == nil {
		return errors.New("Build returned neither container nor error")
	}
	return err
}

func isType[E error](err error) bool {
	var e E
	return errors.As(err, &e)
}

func isInvalid(err error) bool {
	return errors.Is(err, registry.ErrInvalid) && isType[*registry.RegistrationError](err)
}

func TestNilRegistry(t *testing.T) {
	t.Parallel()
	var r *registry.Registry
	if err := registry.Provide(r, newDB); err == nil {
		t.Error("Provide on nil registry: want error")
	}
	if err := r.Validate(); err == nil {
		t.Error("Validate on nil registry: want error")
	}
	if _, err := r.Build(); err == nil {
		t.Error("Build on nil registry: want error")
	}
}

// TestValidate covers the graph problems found at Validate/Build time.
func TestValidate(t *testing.T) {
	t.Parallel()
	type A struct{}
	type B struct{}
	type C struct{}
	ctorA := func(context.Context, *B) (*A, error) { return &A{}, nil }
	ctorB := func(context.Context, *C) (*B, error) { return &B{}, nil }
	ctorC := func(context.Context, *A) (*C, error) { return &C{}, nil }
	newB := func(context.Context) (*B, error) { return &B{}, nil }

	tests := []struct {
		name     string
		register func(r *registry.Registry) (at string)
		check    func(t *testing.T, err error)
	}{
		{
			name: "valid graph",
			register: func(r *registry.Registry) string {
				must(t, registry.Provide(r, newDB))
				must(t, registry.Provide1(r, newRepo))
				return ""
			},
			check: func(t *testing.T, err error) {
				if err != nil {
					t.Fatal(err)
				}
			},
		},
		{
			name: "missing dependency",
			register: func(r *registry.Registry) string {
				at := here()
				_ = registry.Provide1(r, newRepo)
				return at
			},
			check: func(t *testing.T, err error) {
				var e *registry.MissingDependencyError
				if !errors.As(err, &e) || !errors.Is(err, registry.ErrNotFound) {
					t.Fatalf("want *MissingDependencyError wrapping ErrNotFound, got %v", err)
				}
				if e.Service != "registry_test.Repo" || e.Dependency != "*registry_test.DB" || e.Position != 1 {
					t.Errorf("fields: %+v", e)
				}
			},
		},
		{
			name: "missing named dependency",
			register: func(r *registry.Registry) string {
				must(t, registry.Provide(r, newDB))
				at := here()
				_ = registry.Provide1(r, newRepo, registry.DependsOnNames("replica"))
				return at
			},
			check: func(t *testing.T, err error) {
				if !isType[*registry.MissingDependencyError](err) || !strings.Contains(err.Error(), `named "replica"`) {
					t.Fatalf("got %v", err)
				}
			},
		},
		{
			name: "ambiguous dependency",
			register: func(r *registry.Registry) string {
				must(t, registry.Provide(r, newDB, registry.Name("primary")))
				must(t, registry.Provide(r, newDB, registry.Name("replica")))
				at := here()
				_ = registry.Provide1(r, newRepo)
				return at
			},
			check: func(t *testing.T, err error) {
				var e *registry.MissingDependencyError
				if !errors.As(err, &e) || !errors.Is(err, registry.ErrAmbiguous) {
					t.Fatalf("want ambiguous error, got %v", err)
				}
				if strings.Join(e.Candidates, ",") != "primary,replica" {
					t.Errorf("candidates %v", e.Candidates)
				}
			},
		},
		{
			name: "named dependency of another type",
			register: func(r *registry.Registry) string {
				must(t, registry.Provide(r, newBlob, registry.Name("main")))
				at := here()
				_ = registry.Provide1(r, newRepo, registry.DependsOnNames("main"))
				return at
			},
			check: func(t *testing.T, err error) {
				if !isType[*registry.TypeError](err) || !strings.Contains(err.Error(), "want *registry_test.DB, got *registry_test.Blob") {
					t.Fatalf("got %v", err)
				}
			},
		},
		{
			name: "cycle",
			register: func(r *registry.Registry) string {
				at := here()
				_ = registry.Provide1(r, ctorA)
				_ = registry.Provide1(r, ctorB)
				_ = registry.Provide1(r, ctorC)
				return at
			},
			check: func(t *testing.T, err error) {
				var e *registry.CycleError
				if !errors.As(err, &e) {
					t.Fatalf("want *CycleError, got %v", err)
				}
				want := "registry_test.A -> registry_test.B -> registry_test.C -> registry_test.A"
				if strings.Join(e.Path, " -> ") != want || !strings.Contains(err.Error(), want) {
					t.Errorf("path %v, message %q", e.Path, err)
				}
				if len(e.Registered) != 3 {
					t.Errorf("registered %v", e.Registered)
				}
				if n := strings.Count(err.Error(), "dependency cycle"); n != 1 {
					t.Errorf("one cycle reported %d times", n)
				}
			},
		},
		{
			name: "self cycle",
			register: func(r *registry.Registry) string {
				at := here()
				_ = registry.Provide1(r, func(_ context.Context, a *A) (*A, error) { return a, nil })
				return at
			},
			check: func(t *testing.T, err error) {
				if !isType[*registry.CycleError](err) || !strings.Contains(err.Error(), "registry_test.A -> registry_test.A") {
					t.Fatalf("got %v", err)
				}
			},
		},
		{
			name: "singleton depends on scoped",
			register: func(r *registry.Registry) string {
				must(t, registry.Provide(r, newDB, registry.WithLifetime(registry.Scoped)))
				at := here()
				_ = registry.Provide1(r, newRepo)
				return at
			},
			check: func(t *testing.T, err error) {
				var e *registry.LifetimeError
				if !errors.As(err, &e) {
					t.Fatalf("want *LifetimeError, got %v", err)
				}
				if e.Lifetime != registry.Singleton || e.DependencyLifetime != registry.Scoped || e.Dependency != "registry_test.DB" {
					t.Errorf("fields %+v", e)
				}
			},
		},
		{
			name: "singleton depends on scoped through a transient",
			register: func(r *registry.Registry) string {
				must(t, registry.Provide(r, newDB, registry.WithLifetime(registry.Scoped)))
				must(t, registry.Provide1(r, newRepo, registry.WithLifetime(registry.Transient)))
				at := here()
				_ = registry.Provide1(r, newHandler)
				return at
			},
			check: func(t *testing.T, err error) {
				var e *registry.LifetimeError
				if !errors.As(err, &e) {
					t.Fatalf("want *LifetimeError, got %v", err)
				}
				if got := strings.Join(e.Path, " -> "); got != "registry_test.Handler -> registry_test.Repo -> registry_test.DB" {
					t.Errorf("path %s", got)
				}
			},
		},
		{
			name: "scoped and transient may depend on anything",
			register: func(r *registry.Registry) string {
				must(t, registry.Provide(r, newDB))
				must(t, registry.Provide1(r, newRepo, registry.WithLifetime(registry.Scoped)))
				must(t, registry.Provide1(r, newHandler, registry.WithLifetime(registry.Transient)))
				must(t, registry.Provide(r, newB, registry.WithLifetime(registry.Transient)))
				return ""
			},
			check: func(t *testing.T, err error) {
				if err != nil {
					t.Fatal(err)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := registry.New()
			at := tt.register(r)
			err := r.Validate()
			tt.check(t, err)
			_, berr := r.Build()
			if (err == nil) != (berr == nil) || (err != nil && err.Error() != berr.Error()) {
				t.Errorf("Build error %v differs from Validate error %v", berr, err)
			}
			if at != "" && err != nil {
				// here() was called on the line before the registration.
				file, line := splitLoc(at)
				want := file + ":" + itoa(line+1)
				if !strings.Contains(err.Error(), want) {
					t.Errorf("%q does not name the registration at %s", err, want)
				}
			}
		})
	}
}

func TestValidateReportsEverything(t *testing.T) {
	t.Parallel()
	r := registry.New()
	_ = registry.Provide(r, newDB)
	_ = registry.Provide(r, newDB)                                                                     // duplicate
	_ = registry.Provide(r, newBlob, registry.Kind("x"))                                               // bad option
	_ = registry.Provide1(r, newHandler)                                                               // missing *Repo
	_ = registry.Provide1(r, func(_ context.Context, g Greeter) (*English, error) { return nil, nil }) // missing Greeter
	err := r.Validate()
	for _, want := range []func(error) bool{isType[*registry.DuplicateError], isInvalid, isType[*registry.MissingDependencyError]} {
		if !want(err) {
			t.Errorf("missing an error kind in %v", err)
		}
	}
	if n := len(err.(interface{ Unwrap() []error }).Unwrap()); n != 4 {
		t.Errorf("%d errors, want 4: %v", n, err)
	}
}

func TestConcurrentRegistration(t *testing.T) {
	t.Parallel()
	r := registry.New()
	done := make(chan error)
	for i := range 50 {
		go func() {
			done <- registry.Provide(r, newDB, registry.Name("db"+itoa(i)))
		}()
	}
	for range 50 {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
	c := registrytest.Start(t, r)
	if n := len(c.Graph().Nodes); n != 50 {
		t.Errorf("%d nodes, want 50", n)
	}
}

func TestStopTimeoutOption(t *testing.T) {
	t.Parallel()
	r := registry.New()
	ev := &events{}
	must(t, registry.Provide(r, func(context.Context) (*lifecycle, error) {
		return &lifecycle{name: "slow", log: ev, stopHang: 2 * time.Second}, nil
	}, registry.StopTimeout(20*time.Millisecond)))
	logger, _ := newLogger()
	c, err := r.BuildWith(&registry.ContainerOpts{Logger: logger})
	must(t, err)
	must(t, c.Start(t.Context()))
	begin := time.Now()
	err = c.Stop(context.Background())
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Stop: %v, want deadline exceeded", err)
	}
	if d := time.Since(begin); d > time.Second {
		t.Errorf("Stop took %s despite a 20ms timeout", d)
	}
}

func TestComponentOption(t *testing.T) {
	t.Parallel()
	r := registry.New()
	must(t, registry.Provide(r, newDB, registry.Component("pool")))
	if n := registrytest.Start(t, r).Graph().Nodes[0]; n.Name != "pool" || n.Kind != registry.KindComponent {
		t.Errorf("node %+v, want the component pool", n)
	}
	bad := registry.New()
	_ = registry.Provide(bad, newDB, registry.Component(""))
	if _, err := bad.Build(); err == nil || !strings.Contains(err.Error(), "Name: empty name") {
		t.Errorf("Build with an empty component name: %v", err)
	}
}
