package registry

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"
	"unicode"
)

// Kinds of service, shown by dashboards and health output.
const (
	KindService   = "service"
	KindComponent = "component"
)

// Option adjusts one registration. Options that do not apply to a registration (a lifetime
// for Value, hooks for Bind, ...) are registration errors, reported like any other.
type Option struct {
	apply func(*options) error
}

// options is what the Options of one registration set.
type options struct {
	what    string       // "Provide", "Bind" or "Value", for messages and checks
	typ     reflect.Type // the registered type, for Hooks
	nparams int          // dependency parameters of the constructor

	name        string
	lifetime    Lifetime
	kind        string
	desc        string
	optional    bool
	hidden      bool
	depNames    []string
	hooks       hooks
	stopTimeout time.Duration
}

// Name sets the service's name, which must be unique in the Registry. Without it the name is
// derived from the Go type without pointers: *services.UserService is "services.UserService".
// Name is needed to register two services of one type; dependents then pick one with
// DependsOnNames.
func Name(name string) Option {
	return Option{func(o *options) error {
		if name == "" {
			return errors.New("Name: empty name")
		}
		if i := strings.IndexFunc(name, func(r rune) bool { return unicode.IsSpace(r) || !unicode.IsPrint(r) }); i >= 0 {
			return fmt.Errorf("Name %q: names cannot contain spaces or control characters", name)
		}
		o.name = name
		return nil
	}}
}

// WithLifetime sets the lifetime of a Provide registration (default Singleton). Value is
// always a singleton and Bind shares the lifetime of its target.
func WithLifetime(l Lifetime) Option {
	return Option{func(o *options) error {
		if !l.valid() {
			return fmt.Errorf("WithLifetime: unknown %s", l)
		}
		if o.what != "Provide" {
			return fmt.Errorf("WithLifetime: not valid on %s (%s)", o.what, lifetimeNote(o.what))
		}
		o.lifetime = l
		return nil
	}}
}

func lifetimeNote(what string) string {
	if what == "Bind" {
		return "a binding has the lifetime of its target"
	}
	return "a value is a singleton"
}

// Kind sets the kind shown by dashboards and health output: KindService (the default) or
// KindComponent (infrastructure such as a database pool or a cache).
func Kind(kind string) Option {
	return Option{func(o *options) error {
		if kind != KindService && kind != KindComponent {
			return fmt.Errorf("Kind %q: want %q or %q", kind, KindService, KindComponent)
		}
		o.kind = kind
		return nil
	}}
}

// Component is Name(name) and Kind(KindComponent) in one option: how the app's infrastructure
// (the HTTP server, a database pool, a cache, ...) registers.
func Component(name string) Option {
	return Option{func(o *options) error {
		if err := Name(name).apply(o); err != nil {
			return err
		}
		return Kind(KindComponent).apply(o)
	}}
}

// Describe sets a one-line description for dashboards and the services command.
func Describe(text string) Option {
	return Option{func(o *options) error {
		if strings.ContainsAny(text, "\r\n") {
			return fmt.Errorf("Describe %q: the description must be one line", text)
		}
		o.desc = text
		return nil
	}}
}

// Optional marks a service whose failing health check makes the app degraded rather than
// unhealthy, so it does not fail readiness.
func Optional() Option {
	return Option{func(o *options) error {
		if o.what == "Bind" {
			return errors.New("Optional: not valid on Bind (a binding has no health of its own)")
		}
		o.optional = true
		return nil
	}}
}

// Hidden leaves the service out of Graph and health reports (it still starts, stops and
// resolves as usual): plumbing that tells an operator nothing, such as parsed settings.
func Hidden() Option {
	return Option{func(o *options) error {
		o.hidden = true
		return nil
	}}
}

// DependsOnNames names the services to inject into the constructor's dependency parameters,
// by position (the first name is the first parameter after ctx); "" keeps the default of
// resolving by type. For Bind, the single name picks the target.
func DependsOnNames(names ...string) Option {
	return Option{func(o *options) error {
		if len(names) > o.nparams {
			return fmt.Errorf("DependsOnNames: %d names for %d dependencies", len(names), o.nparams)
		}
		o.depNames = append([]string(nil), names...)
		return nil
	}}
}

// StopTimeout bounds how long stopping (or closing) this service may take, overriding
// ContainerOpts.StopTimeout. A service that does not stop in time is logged and abandoned.
func StopTimeout(d time.Duration) Option {
	return Option{func(o *options) error {
		if d <= 0 {
			return fmt.Errorf("StopTimeout %s: must be positive", d)
		}
		if o.what == "Bind" {
			return errors.New("StopTimeout: not valid on Bind (a binding is stopped with its target)")
		}
		o.stopTimeout = d
		return nil
	}}
}

// Hooks attaches lifecycle functions to a service whose type does not implement Starter,
// Stopper or HealthChecker (a type from another package, say). A hook set here replaces the
// matching interface method. T must be the registered type or an interface it implements.
func Hooks[T any](h Lifecycle[T]) Option {
	return Option{func(o *options) error {
		want := reflect.TypeFor[T]()
		if o.what == "Bind" {
			return errors.New("Hooks: not valid on Bind (hook the target instead)")
		}
		if !o.typ.AssignableTo(want) {
			return &TypeError{Context: "Hooks", Want: want.String(), Got: o.typ.String()}
		}
		o.hooks = h.erase()
		return nil
	}}
}
