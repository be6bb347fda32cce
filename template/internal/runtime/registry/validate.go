package registry

import (
	"errors"
	"fmt"
	"reflect"
	"sort"
)

// plan is a Registry snapshot with dependencies resolved and every problem found; Validate
// reports its errors and Build turns it into a Container.
type plan struct {
	entries []*entry
	deps    [][]*entry // per entry, per parameter; nil where unresolved
	byType  map[reflect.Type][]*entry
	errs    []error
}

// Validate reports every problem in the registry, or nil: first registration errors, in
// registration order and including those an init function ignored (*RegistrationError,
// *DuplicateError, *TypeError); then unresolvable dependencies (*MissingDependencyError, or
// *TypeError for a named one of another type); then cycles (*CycleError) and captive
// lifetimes (*LifetimeError). They are combined with errors.Join; use errors.As to pick them.
func (r *Registry) Validate() error {
	if r == nil {
		return fmt.Errorf("registry: validate: %w", errNilRegistry)
	}
	return errors.Join(analyze(r.snapshot()).errs...)
}

var errNilRegistry = errors.New("nil *Registry")

func analyze(entries []*entry, contribs []*contribution, regErrs []error) *plan {
	regErrs = append(regErrs, checkContribs(contribs)...)
	entries, derrs := deriveEntries(entries, contribs)
	regErrs = append(regErrs, derrs...)
	underived := make(map[reflect.Type]bool, len(derrs))
	for _, err := range derrs {
		var me *MissingDependencyError
		if errors.As(err, &me) {
			underived[me.typ] = true
		}
	}
	p := &plan{
		entries: entries,
		deps:    make([][]*entry, len(entries)),
		byType:  make(map[reflect.Type][]*entry),
		errs:    regErrs,
	}
	byName := make(map[string]*entry, len(entries))
	index := make(map[*entry]int, len(entries))
	for i, e := range entries {
		byName[e.name] = e
		index[e] = i
		p.byType[e.typ] = append(p.byType[e.typ], e)
	}

	for i, e := range entries {
		p.deps[i] = make([]*entry, len(e.deps))
		for j, d := range e.deps {
			if d.name != "" {
				t, ok := byName[d.name]
				switch {
				case !ok:
					p.errs = append(p.errs, &MissingDependencyError{
						Service: e.name, Registered: e.loc.String(), Dependency: d.typ.String(), Name: d.name, Position: j + 1,
					})
				case t.typ != d.typ:
					p.errs = append(p.errs, &TypeError{
						Service: e.name, Registered: e.loc.String(),
						Context: fmt.Sprintf("dependency %d is %q (registered at %s)", j+1, d.name, t.loc.String()),
						Want:    d.typ.String(), Got: t.typ.String(),
					})
				default:
					p.deps[i][j] = t
				}
				continue
			}
			t, candidates := defaultOf(p.byType[d.typ])
			if t == nil && underived[d.typ] {
				continue // reported by deriveEntries
			}
			if t == nil {
				p.errs = append(p.errs, &MissingDependencyError{
					Service: e.name, Registered: e.loc.String(), Dependency: d.typ.String(), Position: j + 1, Candidates: candidates,
				})
				continue
			}
			p.deps[i][j] = t
		}
	}

	p.errs = append(p.errs, p.cycles(index)...)
	p.errs = append(p.errs, p.captives(index)...)
	return p
}

// defaultOf picks the service that Get[T] and unnamed dependencies resolve to among those of
// one type: the only one, or else the one registered without Name. With several and none
// unnamed it returns the candidates' names.
func defaultOf(list []*entry) (*entry, []string) {
	if len(list) == 1 {
		return list[0], nil
	}
	var names []string
	for _, e := range list {
		if !e.named {
			return e, nil
		}
		names = append(names, e.name)
	}
	sort.Strings(names)
	return nil, names
}

// cycles finds strongly connected components (Tarjan) and reports one cycle through each, so
// a loop of ten services is one error, not ten.
func (p *plan) cycles(index map[*entry]int) []error {
	n := len(p.entries)
	order := make([]int, n) // discovery order, 0 = unvisited
	low := make([]int, n)
	onStack := make([]bool, n)
	var stack []int
	var sccs [][]int
	counter := 0
	var visit func(v int)
	visit = func(v int) {
		counter++
		order[v], low[v] = counter, counter
		stack = append(stack, v)
		onStack[v] = true
		for _, d := range p.deps[v] {
			if d == nil {
				continue
			}
			w := index[d]
			if order[w] == 0 {
				visit(w)
				low[v] = min(low[v], low[w])
			} else if onStack[w] {
				low[v] = min(low[v], order[w])
			}
		}
		if low[v] == order[v] {
			var scc []int
			for {
				w := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				onStack[w] = false
				scc = append(scc, w)
				if w == v {
					break
				}
			}
			sccs = append(sccs, scc)
		}
	}
	for v := range n {
		if order[v] == 0 {
			visit(v)
		}
	}

	var errs []error
	var found [][]int
	for _, scc := range sccs {
		in := make(map[int]bool, len(scc))
		start := scc[0]
		for _, v := range scc {
			in[v] = true
			start = min(start, v)
		}
		if path := p.cycleFrom(start, in, index); path != nil {
			found = append(found, path)
		}
	}
	// Report in registration order of each cycle's first service, so output is stable.
	sort.Slice(found, func(i, j int) bool { return found[i][0] < found[j][0] })
	for _, path := range found {
		ce := &CycleError{}
		for k, v := range path {
			ce.Path = append(ce.Path, p.entries[v].name)
			if k < len(path)-1 {
				ce.Registered = append(ce.Registered, p.entries[v].loc.String())
			}
		}
		errs = append(errs, ce)
	}
	return errs
}

// cycleFrom returns the shortest path start -> ... -> start inside one component, or nil
// when the component is a single service that does not depend on itself.
func (p *plan) cycleFrom(start int, in map[int]bool, index map[*entry]int) []int {
	parent := map[int]int{start: -1}
	queue := []int{start}
	for len(queue) > 0 {
		v := queue[0]
		queue = queue[1:]
		for _, d := range p.deps[v] {
			if d == nil {
				continue
			}
			w := index[d]
			if w == start {
				path := []int{start}
				for u := v; u != -1; u = parent[u] {
					path = append(path, u)
				}
				// path is start, v, parent(v), ..., start reversed after the first element.
				rev := make([]int, 0, len(path))
				for k := len(path) - 1; k >= 0; k-- {
					rev = append(rev, path[k])
				}
				return rev
			}
			if _, seen := parent[w]; !seen && in[w] {
				parent[w] = v
				queue = append(queue, w)
			}
		}
	}
	return nil
}

// captives reports singletons that depend on scoped services, directly or through transient
// services or bindings: the singleton would keep one scope's instance after the scope closed.
func (p *plan) captives(index map[*entry]int) []error {
	var errs []error
	for i, e := range p.entries {
		if e.alias || e.lifetime != Singleton {
			continue
		}
		seen := map[*entry]bool{e: true}
		var walk func(v int, path []string)
		walk = func(v int, path []string) {
			for _, d := range p.deps[v] {
				if d == nil || seen[d] {
					continue
				}
				seen[d] = true
				next := append(path[:len(path):len(path)], d.name)
				switch {
				case d.alias:
					walk(index[d], next)
				case d.lifetime == Scoped:
					errs = append(errs, &LifetimeError{
						Service: e.name, Lifetime: e.lifetime, Registered: e.loc.String(),
						Dependency: d.name, DependencyLifetime: d.lifetime, DependencyAt: d.loc.String(), Path: next,
					})
				case d.lifetime == Transient:
					walk(index[d], next)
				}
			}
		}
		walk(i, []string{e.name})
	}
	return errs
}
