package registry

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
)

const prefix = "registry: "

// Sentinel errors, wrapped by the errors that Get, GetNamed, Start and registration return.
// Test for them with errors.Is.
var (
	// ErrNotFound: no service of the requested type or name is registered.
	ErrNotFound = errors.New("registry: service not found")
	// ErrAmbiguous: several services have the requested type and none was registered
	// without Name; ask for one with GetNamed or DependsOnNames.
	ErrAmbiguous = errors.New("registry: ambiguous service type")
	// ErrNotStarted: a singleton was resolved before Container.Start constructed it.
	ErrNotStarted = errors.New("registry: service not started")
	// ErrFailed: the singleton's constructor or Start hook failed.
	ErrFailed = errors.New("registry: service failed")
	// ErrStopped: the container was stopped; build a new one to start again.
	ErrStopped = errors.New("registry: stopped")
	// ErrOutsideScope: a scoped service (or a transient one that needs a scoped service)
	// was resolved from the Container instead of a Scope.
	ErrOutsideScope = errors.New("registry: scoped service resolved outside a scope")
	// ErrScopeClosed: the Scope was closed.
	ErrScopeClosed = errors.New("registry: scope closed")
	// ErrInvalid: a registration was malformed (nil constructor, bad option, nil value).
	ErrInvalid = errors.New("registry: invalid registration")
	// ErrNilResolver: Get was given a nil Resolver, for example from FromContext on a
	// context that carries none.
	ErrNilResolver = errors.New("registry: nil resolver")
)

// bare is err's message without the package prefix, so nested errors read as one sentence
// ("registry: get a: construct b: boom") instead of repeating "registry: ".
func bare(err error) string { return strings.TrimPrefix(err.Error(), prefix) }

// chained joins a sentinel and its cause into one error that matches both with errors.Is.
type chained struct {
	sentinel, cause error
}

func because(sentinel, cause error) error { return &chained{sentinel, cause} }

func (e *chained) Error() string   { return prefix + bare(e.sentinel) + ": " + bare(e.cause) }
func (e *chained) Unwrap() []error { return []error{e.sentinel, e.cause} }

// RegistrationError reports a malformed registration: a nil constructor, a nil value or a
// bad option. It matches ErrInvalid.
type RegistrationError struct {
	Service    string // the service's name
	Registered string // file:line of the registration
	Err        error  // what is wrong
}

func (e *RegistrationError) Error() string {
	return fmt.Sprintf("registry: invalid registration of %s (registered at %s): %s", e.Service, e.Registered, bare(e.Err))
}

func (e *RegistrationError) Unwrap() []error { return []error{ErrInvalid, e.Err} }

// DuplicateError reports two registrations with the same service name. Names identify
// services in errors, health output and the graph, so they are unique in a Registry even
// across types.
type DuplicateError struct {
	Name          string
	FirstType     string // Go type of the first registration
	SecondType    string // Go type of the rejected one
	First, Second string // file:line of both registrations
}

func (e *DuplicateError) Error() string {
	what := e.FirstType
	if e.SecondType != e.FirstType {
		what = e.FirstType + " and " + e.SecondType
	}
	return fmt.Sprintf("registry: duplicate service %q (%s): registered at %s and again at %s; give one of them a different Name",
		e.Name, what, e.First, e.Second)
}

// MissingDependencyError reports a dependency that no registration satisfies, or that
// several satisfy (Candidates is then set). It matches ErrNotFound or ErrAmbiguous.
type MissingDependencyError struct {
	Service    string   // the service that needs the dependency
	Registered string   // file:line of that service's registration
	Dependency string   // Go type of the dependency
	Name       string   // the name asked for with DependsOnNames, or ""
	Position   int      // 1-based constructor parameter (after ctx); for Bind, 1 is the target
	Candidates []string // services of that type when the type alone is ambiguous
	// Reason says why a dependency on contributions (One, Maybe) cannot be met.
	Reason string

	typ reflect.Type
}

func (e *MissingDependencyError) Error() string {
	want := e.Dependency
	if e.Name != "" {
		want = fmt.Sprintf("%s named %q", e.Dependency, e.Name)
	}
	if e.Reason != "" {
		return fmt.Sprintf("registry: %s (registered at %s) needs %s (parameter %d), but it %s",
			e.Service, e.Registered, want, e.Position, e.Reason)
	}
	if len(e.Candidates) > 0 {
		return fmt.Sprintf("registry: %s (registered at %s) needs %s (parameter %d), but %d services have that type (%s); name one with DependsOnNames",
			e.Service, e.Registered, want, e.Position, len(e.Candidates), strings.Join(e.Candidates, ", "))
	}
	return fmt.Sprintf("registry: %s (registered at %s) needs %s (parameter %d), which is not registered",
		e.Service, e.Registered, want, e.Position)
}

func (e *MissingDependencyError) Unwrap() error {
	if len(e.Candidates) > 0 {
		return ErrAmbiguous
	}
	return ErrNotFound
}

// CycleError reports services that depend on each other in a loop.
type CycleError struct {
	Path       []string // names, first repeated at the end: a -> b -> c -> a
	Registered []string // file:line of each service in Path, without the repetition
}

func (e *CycleError) Error() string {
	var at []string
	for i, loc := range e.Registered {
		at = append(at, e.Path[i]+" at "+loc)
	}
	return fmt.Sprintf("registry: dependency cycle: %s (%s)", strings.Join(e.Path, " -> "), strings.Join(at, ", "))
}

// LifetimeError reports a captive dependency: a service that lives longer than something
// it holds, such as a singleton depending on a scoped service (directly or through
// transient services), which would keep one request's instance forever.
type LifetimeError struct {
	Service            string
	Lifetime           Lifetime
	Registered         string // file:line of Service
	Dependency         string
	DependencyLifetime Lifetime
	DependencyAt       string   // file:line of Dependency
	Path               []string // from Service to Dependency
}

func (e *LifetimeError) Error() string {
	return fmt.Sprintf("registry: %s %s (registered at %s) depends on %s %s (registered at %s) via %s; make %s %s or %s %s",
		e.Lifetime, e.Service, e.Registered, e.DependencyLifetime, e.Dependency, e.DependencyAt,
		strings.Join(e.Path, " -> "), e.Service, e.DependencyLifetime, e.Dependency, e.Lifetime)
}

// TypeError reports a type that does not fit: a Bind target that does not implement the
// interface, Hooks written for another type, a named dependency or GetNamed whose service has
// another type.
type TypeError struct {
	Service    string
	Registered string // file:line of Service's registration
	Context    string // what was being checked, e.g. "Bind target", `dependency 2 ("replica")`
	Want, Got  string // Go types
}

func (e *TypeError) Error() string {
	return fmt.Sprintf("registry: %s (registered at %s): %s: want %s, got %s", e.Service, e.Registered, e.Context, e.Want, e.Got)
}

// ServiceError reports a lifecycle step that failed for one service at run time: Op is
// "get", "construct", "start", "stop" or "close". Nested failures read as one chain:
// "registry: get a: construct b (registered at b.go:9): connection refused".
type ServiceError struct {
	Op         string
	Service    string
	Registered string // file:line, set where the failure happened in this service itself
	Err        error
}

func (e *ServiceError) Error() string {
	if standalone(e.Err) {
		return e.Err.Error()
	}
	if e.Registered == "" {
		return prefix + e.Op + " " + e.Service + ": " + bare(e.Err)
	}
	return prefix + e.Op + " " + e.Service + " (registered at " + e.Registered + "): " + bare(e.Err)
}

func (e *ServiceError) Unwrap() error { return e.Err }

// StandaloneError is implemented by errors whose message is complete for the person running
// the app, such as a setting with a bad value, whose message names the variable and the fix.
// A ServiceError whose cause is one (or a join of only such errors) reads as the cause alone:
// which service was being constructed and where it was registered help with programming
// errors but would bury the fix for a configuration one. errors.Is and errors.As still see
// the ServiceError and everything it wraps.
type StandaloneError interface {
	error
	// Standalone reports whether the message stands on its own.
	Standalone() bool
}

// standalone reports whether err, followed through single wrapping and joins, is made only of
// StandaloneErrors. A wrapper that is not a ServiceError adds words of its own, so it does not
// count.
func standalone(err error) bool {
	switch e := err.(type) {
	case nil:
		return false
	case StandaloneError:
		return e.Standalone()
	case *ServiceError:
		return standalone(e.Err)
	case interface{ Unwrap() []error }:
		if reflect.TypeOf(err) != joinType {
			return false
		}
		for _, err := range e.Unwrap() {
			if !standalone(err) {
				return false
			}
		}
		return true
	}
	return false
}

// joinType is the type of errors.Join's errors, whose message is only its errors' own, one a
// line.
var joinType = reflect.TypeOf(errors.Join(errors.New("x")))

// PanicError is a panic recovered from a user constructor, hook or health check.
type PanicError struct {
	Value any
	Stack []byte // of the panicking goroutine, for logs; not part of Error()
}

func (e *PanicError) Error() string { return fmt.Sprintf("registry: panic: %v", e.Value) }

// Unwrap returns the panic value when it is an error, so errors.Is sees through it.
func (e *PanicError) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}
