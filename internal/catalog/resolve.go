package catalog

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Request is what a user asked for, before requirements are resolved.
type Request struct {
	Components []string
	Services   []string
	// Strict is set for --no-interactive runs that name their components: every requirement must
	// then be in Components, because a script that silently grows its selection is a surprise.
	Strict bool
}

// Addition records a component added to satisfy a requirement.
type Addition struct {
	Name       string // the component added
	RequiredBy string // the entry that needs it
	ByKind     Kind
}

func (a Addition) String() string {
	return fmt.Sprintf("%s '%s' requires component '%s'", a.ByKind, a.RequiredBy, a.Name)
}

// Resolution is a request with its requirements resolved.
type Resolution struct {
	Selection Selection
	// Added lists, in resolution order, the components added for requirements; always-on
	// components are not listed.
	Added []Addition
}

// UnknownError reports names that are not in the catalog.
type UnknownError struct {
	Kind  Kind
	Names []string
	Valid []string
	// Hints explain names that exist with the other kind ("'auth' is a service") and name
	// the entry a misspelt name probably meant ("did you mean 'cache'?").
	Hints []string
}

func (e *UnknownError) Error() string {
	noun := string(e.Kind)
	if len(e.Names) > 1 {
		noun += "s"
	}
	msg := fmt.Sprintf("unknown %s %s; valid %ss: %s", noun, quoteList(e.Names), e.Kind, strings.Join(e.Valid, ", "))
	for _, h := range e.Hints {
		msg += "; " + h
	}
	return msg
}

// ComingSoonError reports a selected entry that is not available yet.
type ComingSoonError struct {
	Entry      Entry
	RequiredBy string // set when the entry was pulled in as a requirement
}

func (e *ComingSoonError) Error() string {
	list := "aegis " + string(e.Entry.Kind) + "s"
	if e.RequiredBy != "" {
		return fmt.Sprintf("%s needs %s '%s', which is coming soon and cannot be generated yet; run '%s' to see what is available",
			e.RequiredBy, e.Entry.Kind, e.Entry.Name, list)
	}
	return fmt.Sprintf("%s '%s' is coming soon and cannot be generated yet; run '%s' to see what is available",
		e.Entry.Kind, e.Entry.Name, list)
}

// MissingError reports requirements missing from a strict request. Fixed is the selection that
// would satisfy them, so callers can print the corrected command line.
type MissingError struct {
	Missing []Addition
	Fixed   Selection
}

func (e *MissingError) Error() string {
	parts := make([]string, len(e.Missing))
	for i, m := range e.Missing {
		parts[i] = m.String()
	}
	return strings.Join(parts, "; ")
}

// ErrInvalid is wrapped by every resolution error, so callers can tell user mistakes apart.
var ErrInvalid = errors.New("invalid selection")

func (e *UnknownError) Unwrap() error    { return ErrInvalid }
func (e *ComingSoonError) Unwrap() error { return ErrInvalid }
func (e *MissingError) Unwrap() error    { return ErrInvalid }

// Resolve validates a request and adds what it requires, transitively (ai -> worker -> database).
func (c Catalog) Resolve(req Request) (Resolution, error) {
	comps, err := c.check(KindComponent, req.Components)
	if err != nil {
		return Resolution{}, err
	}
	svcs, err := c.check(KindService, req.Services)
	if err != nil {
		return Resolution{}, err
	}

	selected := map[string]bool{}
	for _, e := range c.Entries {
		if e.AlwaysOn {
			selected[e.Name] = true
		}
	}
	var queue []Entry
	for _, name := range append(slices.Clone(comps), svcs...) {
		e, _ := c.Lookup(name)
		if !e.Available() {
			return Resolution{}, &ComingSoonError{Entry: e}
		}
		if !selected[name] {
			selected[name] = true
			queue = append(queue, e)
		}
	}

	var added []Addition
	for len(queue) > 0 {
		e := queue[0]
		queue = queue[1:]
		for _, name := range e.Requires {
			if selected[name] {
				continue
			}
			dep, ok := c.Lookup(name)
			if !ok {
				return Resolution{}, fmt.Errorf("catalog: %s '%s' requires unknown component '%s'", e.Kind, e.Name, name)
			}
			if !dep.Available() {
				return Resolution{}, &ComingSoonError{Entry: dep, RequiredBy: fmt.Sprintf("%s '%s'", e.Kind, e.Name)}
			}
			selected[name] = true
			added = append(added, Addition{Name: name, RequiredBy: e.Name, ByKind: e.Kind})
			queue = append(queue, dep)
		}
	}

	var sel Selection
	for _, e := range c.Entries {
		if !selected[e.Name] {
			continue
		}
		if e.Kind == KindComponent {
			sel.Components = append(sel.Components, e.Name)
		} else {
			sel.Services = append(sel.Services, e.Name)
		}
	}
	slices.Sort(sel.Components)
	slices.Sort(sel.Services)

	if req.Strict && len(added) > 0 {
		return Resolution{}, &MissingError{Missing: added, Fixed: sel}
	}
	return Resolution{Selection: sel, Added: added}, nil
}

// check returns the deduplicated names of one kind, or an UnknownError naming every bad one.
func (c Catalog) check(kind Kind, names []string) ([]string, error) {
	var out, unknown, misspelt, hints []string
	for _, raw := range names {
		name := strings.ToLower(strings.TrimSpace(raw))
		if name == "" || slices.Contains(out, name) {
			continue
		}
		e, ok := c.Lookup(name)
		switch {
		case ok && e.Kind == kind:
			out = append(out, name)
		case ok:
			unknown = append(unknown, name)
			hints = append(hints, fmt.Sprintf("'%s' is a %s: use --%ss %s", name, e.Kind, e.Kind, name))
		default:
			unknown = append(unknown, name)
			misspelt = append(misspelt, name)
		}
	}
	if len(unknown) > 0 {
		// A misspelt name of the other kind is named with its kind ("component 'cache'"),
		// since the flag is wrong too. A name of the other kind has its hint already: it is
		// not misspelt, and "did you mean service 'auth'?" for 'auth' would only repeat it.
		mean := c.DidYouMean(misspelt, func(Entry) bool { return true }, func(e Entry) string {
			if e.Kind != kind {
				return string(e.Kind) + " "
			}
			return ""
		})
		if mean != "" {
			hints = append(hints, mean)
		}
		valid := c.Names(kind)
		slices.Sort(valid)
		return nil, &UnknownError{Kind: kind, Names: unknown, Valid: valid, Hints: hints}
	}
	return out, nil
}

func quoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = "'" + n + "'"
	}
	return strings.Join(q, ", ")
}
