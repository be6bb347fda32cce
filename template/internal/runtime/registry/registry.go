package registry

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"sync"
	"time"
)

// Registry holds service definitions: what to construct, from what, for how long. It
// constructs nothing itself; Build freezes it into a Container. A Registry is safe for
// concurrent registration, and can be built any number of times (each Container has its own
// instances). The zero value is not usable; call New.
type Registry struct {
	mu      sync.Mutex
	entries []*entry
	byName  map[string]*entry
	errs    []error // registration errors, reported again by Validate and Build
	// contribs are the Contribute calls, in order; checked by Validate and Build.
	contribs []*contribution
}

// New returns an empty Registry. Tests create a fresh one to swap dependencies.
func New() *Registry {
	return &Registry{byName: make(map[string]*entry)}
}

// Default is the Registry that init functions of components and services register into,
// as http.Handle registers into http.DefaultServeMux.
var Default = New()

// ctorFunc is a constructor with its dependencies passed in parameter order.
type ctorFunc func(ctx context.Context, deps []any) (any, error)

// dep is one declared dependency: a constructor parameter type and an optional name.
type dep struct {
	typ  reflect.Type
	name string
}

// entry is one registration; immutable once added.
type entry struct {
	name        string
	named       bool // registered with Name; Get[T] prefers the entry that is not
	typ         reflect.Type
	lifetime    Lifetime
	kind        string
	desc        string
	optional    bool
	deps        []dep
	ctor        ctorFunc // nil for Bind
	alias       bool     // Bind: resolves to its single dependency
	isValue     bool
	hooks       hooks
	stopTimeout time.Duration
	loc         site // the registering call
	hidden      bool // left out of Graph and health reports: Hidden, or derived
	derived     bool // built by the registry from contributions (or the container itself)
	self        bool // the *Container itself; BuildWith sets ctor
}

// registration is what Provide, Bind and Value pass to register.
type registration struct {
	what   string
	typ    reflect.Type
	params []reflect.Type
	ctor   ctorFunc
	errs   []error // problems found by the caller (type checks, nil values)
}

// register applies the options and adds the entry. Every problem is returned and also kept
// for Validate. A malformed entry is still added (with its bad options ignored) so that its
// dependents do not report it missing: one mistake, one error.
func (r *Registry) register(at site, reg registration, opts []Option) error {
	o := options{what: reg.what, typ: reg.typ, nparams: len(reg.params), kind: KindService}
	problems := append([]error(nil), reg.errs...)
	if reg.ctor == nil && reg.what != "Bind" {
		problems = append(problems, errors.New("nil constructor"))
	}
	for i, opt := range opts {
		if opt.apply == nil {
			problems = append(problems, fmt.Errorf("option %d is the zero Option", i+1))
			continue
		}
		if err := opt.apply(&o); err != nil {
			problems = append(problems, err)
		}
	}
	e := &entry{
		name:        o.name,
		named:       o.name != "",
		typ:         reg.typ,
		lifetime:    o.lifetime,
		kind:        o.kind,
		desc:        o.desc,
		optional:    o.optional,
		hidden:      o.hidden,
		ctor:        reg.ctor,
		alias:       reg.what == "Bind",
		isValue:     reg.what == "Value",
		hooks:       o.hooks,
		stopTimeout: o.stopTimeout,
		loc:         at,
	}
	if !e.named {
		e.name = typeName(reg.typ)
	}
	for i, p := range reg.params {
		d := dep{typ: p}
		if i < len(o.depNames) {
			d.name = o.depNames[i]
		}
		e.deps = append(e.deps, d)
	}

	errs := make([]error, 0, len(problems)+1)
	var loc string // file:line, computed only when there is an error to report
	if len(problems) > 0 || r == nil {
		loc = at.String()
	}
	for _, p := range problems {
		var te *TypeError
		if errors.As(p, &te) {
			te.Service, te.Registered = e.name, loc
			errs = append(errs, te)
			continue
		}
		errs = append(errs, &RegistrationError{Service: e.name, Registered: loc, Err: p})
	}
	if r == nil {
		errs = append(errs, &RegistrationError{Service: e.name, Registered: loc, Err: errors.New("nil *Registry")})
		return errors.Join(errs...)
	}

	r.mu.Lock()
	defer r.mu.Unlock()
	if prev, ok := r.byName[e.name]; ok {
		errs = append(errs, &DuplicateError{
			Name: e.name, FirstType: prev.typ.String(), SecondType: e.typ.String(), First: prev.loc.String(), Second: at.String(),
		})
	} else {
		r.byName[e.name] = e
		r.entries = append(r.entries, e)
	}
	r.errs = append(r.errs, errs...)
	return errors.Join(errs...)
}

// snapshot copies what Validate and Build read, so registration may go on concurrently.
func (r *Registry) snapshot() ([]*entry, []*contribution, []error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*entry(nil), r.entries...), append([]*contribution(nil), r.contribs...), append([]error(nil), r.errs...)
}

// Clone returns a new Registry with r's registrations, contributions and registration errors,
// so a test can add to or build a copy of Default without changing it.
func (r *Registry) Clone() *Registry {
	out := New()
	if r == nil {
		return out
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	out.entries = append(out.entries, r.entries...)
	for k, v := range r.byName {
		out.byName[k] = v
	}
	out.errs = append(out.errs, r.errs...)
	out.contribs = append(out.contribs, r.contribs...)
	return out
}

// typeName is the default service name: the Go type without leading pointers.
func typeName(t reflect.Type) string {
	for t.Kind() == reflect.Pointer && t.Name() == "" {
		t = t.Elem()
	}
	return t.String()
}

// site is the program counter of a registering call. It becomes file:line only when an error
// or the graph needs it, because symbolising costs more than the rest of a registration.
type site uintptr

// caller is the call site skip frames above the caller of caller.
func caller(skip int) site {
	var pcs [1]uintptr
	if runtime.Callers(skip+2, pcs[:]) == 0 {
		return 0
	}
	return site(pcs[0])
}

// String returns file:line.
func (s site) String() string {
	if s == 0 {
		return "unknown"
	}
	f, _ := runtime.CallersFrames([]uintptr{uintptr(s)}).Next()
	return fmt.Sprintf("%s:%d", f.File, f.Line)
}
