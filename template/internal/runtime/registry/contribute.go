package registry

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
)

// Contribute records v as the contribution called name of kind T: a route set, a dashboard
// panel, a command, a migration set, a task, a job, a settings declaration. Components call it
// from init() with Default, tests with a fresh Registry. Nothing is checked until Validate or
// Build, which report, each with the file:line of every registration involved:
//   - two contributions of the same kind and name (never "last wins");
//   - an empty name or a nil value;
//   - what a kind's ContributionValidator finds wrong with a contribution.
//
// Services consume contributions as constructor dependencies of type All[T], One[T] or
// Maybe[T].
func Contribute[T any](r *Registry, name string, v T) { contribute(r, name, v, caller(1)) }

// ContributeFor is Contribute for helpers that contribute on their caller's behalf (such as
// config.Provide): the file:line recorded is that of the helper's caller, where a reader of
// an error looks.
func ContributeFor[T any](r *Registry, name string, v T) { contribute(r, name, v, caller(2)) }

func contribute[T any](r *Registry, name string, v T, loc site) {
	c := &contribution{typ: reflect.TypeFor[T](), name: name, value: v, loc: loc}
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.contribs = append(r.contribs, c)
}

// ContributionValidator is implemented by kinds of contribution that can tell a bad one
// (a panel with an invalid name, a job without a schedule). Validate and Build call it on
// every contribution of that kind with the contribution's name.
type ContributionValidator interface {
	ValidateContribution(name string) error
}

// Contribution is one recorded contribution, as Contributions lists it.
type Contribution[T any] struct {
	Name       string
	Value      T
	Registered string // file:line of the Contribute call
}

// Contributions returns the contributions of kind T in registration order, valid or not,
// for tests and listings (a command that lists jobs without building the container).
func Contributions[T any](r *Registry) []Contribution[T] {
	if r == nil {
		return nil
	}
	t := reflect.TypeFor[T]()
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Contribution[T]
	for _, c := range r.contribs {
		if c.typ == t {
			out = append(out, asContribution[T](c))
		}
	}
	return out
}

func asContribution[T any](c *contribution) Contribution[T] {
	v, _ := c.value.(T)
	return Contribution[T]{Name: c.name, Value: v, Registered: c.loc.String()}
}

// All is a dependency on every contribution of kind T, in registration order, with their
// names and file:lines for the consumer's messages; none is an empty list, not an error.
type All[T any] []Contribution[T]

// One is a dependency on exactly one contribution of kind T, such as the dashboard's
// authenticator. Validate and Build fail when there is none or more than one, naming the
// consumer and every contribution.
type One[T any] struct {
	Value      T
	Name       string
	Registered string
}

// Maybe is an optional dependency on T: the service of type T when one is registered, else
// the only contribution of kind T, else the zero value with OK false. More than one
// contribution is an error, as for One.
type Maybe[T any] struct {
	Value T
	OK    bool
}

// Get returns the value and whether it is there.
func (m Maybe[T]) Get() (T, bool) { return m.Value, m.OK }

// contribution is one Contribute call; immutable once recorded.
type contribution struct {
	typ   reflect.Type
	name  string
	value any
	loc   site
}

// A dependency of type *Container is the container that builds the service, for
// components that open a Scope per unit of work (a job, a scheduled run).

// derived is implemented by All, One and Maybe. A dependency of such a type that no service
// provides gets a hidden service built from the contributions (and, for Maybe, the service)
// of the element type.
type derived interface {
	elem() reflect.Type // T
	derive(in deriveInput) (params []reflect.Type, ctor ctorFunc, err error)
}

func (All[T]) elem() reflect.Type   { return reflect.TypeFor[T]() }
func (One[T]) elem() reflect.Type   { return reflect.TypeFor[T]() }
func (Maybe[T]) elem() reflect.Type { return reflect.TypeFor[T]() }

type deriveInput struct {
	contribs []*contribution // of the element type, registration order
	service  bool            // a service of the element type can be resolved
}

func (All[T]) derive(in deriveInput) ([]reflect.Type, ctorFunc, error) {
	out := make(All[T], 0, len(in.contribs))
	for _, c := range in.contribs {
		out = append(out, asContribution[T](c))
	}
	return nil, func(context.Context, []any) (any, error) { return out, nil }, nil
}

func (One[T]) derive(in deriveInput) ([]reflect.Type, ctorFunc, error) {
	if len(in.contribs) != 1 {
		return nil, nil, countError(reflect.TypeFor[T](), "exactly one", in.contribs)
	}
	c := asContribution[T](in.contribs[0])
	one := One[T]{Value: c.Value, Name: c.Name, Registered: c.Registered}
	return nil, func(context.Context, []any) (any, error) { return one, nil }, nil
}

func (Maybe[T]) derive(in deriveInput) ([]reflect.Type, ctorFunc, error) {
	switch {
	case in.service:
		return []reflect.Type{reflect.TypeFor[T]()}, func(_ context.Context, d []any) (any, error) {
			return Maybe[T]{Value: arg[T](d, 0), OK: true}, nil
		}, nil
	case len(in.contribs) > 1:
		return nil, nil, countError(reflect.TypeFor[T](), "at most one", in.contribs)
	case len(in.contribs) == 1:
		v, _ := in.contribs[0].value.(T)
		return nil, func(context.Context, []any) (any, error) { return Maybe[T]{Value: v, OK: true}, nil }, nil
	}
	return nil, func(context.Context, []any) (any, error) { return Maybe[T]{}, nil }, nil
}

func countError(t reflect.Type, want string, cs []*contribution) error {
	if len(cs) == 0 {
		return fmt.Errorf("wants %s contribution of %s, and there is none", want, t)
	}
	return fmt.Errorf("wants %s contribution of %s, and there are %d: %s", want, t, len(cs), listContribs(cs))
}

func listContribs(cs []*contribution) string {
	parts := make([]string, len(cs))
	for i, c := range cs {
		parts[i] = fmt.Sprintf("%q at %s", c.name, c.loc.String())
	}
	return strings.Join(parts, ", ")
}

// ContributionError reports a contribution that is malformed, invalid or has the name of
// another of its kind (then Registered holds both file:lines, first one first).
type ContributionError struct {
	Kind       string   // Go type of the contribution
	Name       string   // its name
	Registered []string // file:line of each registration involved
	Err        error
}

func (e *ContributionError) Error() string {
	return fmt.Sprintf("registry: contribution %s %q (registered at %s): %v", e.Kind, e.Name, strings.Join(e.Registered, " and "), e.Err)
}

func (e *ContributionError) Unwrap() error { return e.Err }

// ErrDuplicateContribution is wrapped by the ContributionError of a contribution whose kind
// and name were contributed before.
var ErrDuplicateContribution = errors.New("duplicate name: rename one of them")

// checkContribs reports malformed, invalid and duplicate contributions in registration order.
func checkContribs(cs []*contribution) []error {
	type key struct {
		t    reflect.Type
		name string
	}
	first := make(map[key]*contribution, len(cs))
	var errs []error
	for _, c := range cs {
		cerr := func(err error, at ...string) error {
			return &ContributionError{Kind: c.typ.String(), Name: c.name, Registered: at, Err: err}
		}
		at := c.loc.String
		switch {
		case c.name == "":
			errs = append(errs, cerr(errors.New("empty name"), at()))
			continue
		case isNil(c.value):
			errs = append(errs, cerr(errors.New("nil value"), at()))
			continue
		}
		k := key{c.typ, c.name}
		if prev, dup := first[k]; dup {
			errs = append(errs, cerr(ErrDuplicateContribution, prev.loc.String(), at()))
			continue
		}
		first[k] = c
		if v, ok := c.value.(ContributionValidator); ok {
			if err := safely(func() error { return v.ValidateContribution(c.name) }); err != nil {
				errs = append(errs, cerr(err, at()))
			}
		}
	}
	return errs
}

var containerType = reflect.TypeFor[*Container]()

// deriveEntries adds a hidden entry for every dependency on All, One or Maybe that no
// registered service provides, built from the contributions; errors name the consumer.
func deriveEntries(entries []*entry, contribs []*contribution) ([]*entry, []error) {
	byType := make(map[reflect.Type]bool, len(entries))
	for _, e := range entries {
		byType[e.typ] = true
	}
	derivedFor := make(map[reflect.Type]bool)
	var errs []error
	out := entries
	for _, e := range entries {
		for j, d := range e.deps {
			if d.name != "" || byType[d.typ] || derivedFor[d.typ] {
				continue
			}
			if d.typ == containerType {
				derivedFor[d.typ] = true
				out = append(out, &entry{
					name: typeName(d.typ), typ: d.typ, lifetime: Singleton, kind: KindService,
					isValue: true, hidden: true, derived: true, self: true, loc: e.loc,
				})
				continue
			}
			dv, ok := reflect.Zero(d.typ).Interface().(derived)
			if !ok {
				continue
			}
			elem := dv.elem()
			var of []*contribution
			for _, c := range contribs {
				if c.typ == elem {
					of = append(of, c)
				}
			}
			params, ctor, err := dv.derive(deriveInput{contribs: of, service: byType[elem]})
			if err != nil {
				errs = append(errs, &MissingDependencyError{
					Service: e.name, Registered: e.loc.String(), Dependency: d.typ.String(), Position: j + 1, Reason: err.Error(), typ: d.typ,
				})
				// Record the type so that other consumers are not each reported.
				derivedFor[d.typ] = true
				continue
			}
			derivedFor[d.typ] = true
			de := &entry{
				name: typeName(d.typ), typ: d.typ, lifetime: Singleton, kind: KindService, ctor: ctor,
				isValue: true, hidden: true, derived: true, loc: e.loc,
			}
			for _, p := range params {
				de.deps = append(de.deps, dep{typ: p})
			}
			out = append(out, de)
		}
	}
	return out, errs
}
