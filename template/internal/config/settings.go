package config

import (
	"cmp"
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"sync"
)

// Setting describes one environment variable some part of the app reads.
type Setting struct {
	Owner   string // who declared it: "core", "backend", a component or service name
	Name    string // environment variable, e.g. "PORT"
	Default string // value of its envDefault tag; empty when it has none
	Doc     string // one sentence from its doc tag
}

// field is one `env`-tagged leaf of a settings struct.
type field struct {
	goName     string
	key        string
	def        string
	hasDefault bool
	doc        string
}

// ledger is the list Register writes to; a type of its own so tests can use a
// fresh one instead of the process-wide std.
type ledger struct {
	mu       sync.Mutex
	settings []Setting
	owners   map[string]string // owner -> where it registered, for duplicate errors
	errs     []error
}

var std = &ledger{}

// Register records the settings struct of owner so that Settings can list its
// variables (for .env.example and the docs). Call it from init(), once per
// owner, with a zero value or a pointer to one.
//
// Register never panics: a sample that is not a struct, or a second
// registration for the same owner, is recorded and reported by Err, which
// `serve` checks before starting.
func Register(owner string, sample any) {
	_, file, line, _ := runtime.Caller(1)
	std.add(owner, sample, fmt.Sprintf("%s:%d", file, line))
}

// Settings returns every registered setting: the core ones first, then by
// owner, each owner's in the order its struct declares them. The result is a
// copy.
func Settings() []Setting { return std.list() }

// Err reports registrations that could not be recorded, joined; nil when all
// were fine.
func Err() error { return std.err() }

func (l *ledger) add(owner string, sample any, where string) {
	l.mu.Lock()
	defer l.mu.Unlock()

	t := reflect.TypeOf(sample)
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil || t.Kind() != reflect.Struct {
		l.errs = append(l.errs, fmt.Errorf("config: register %q at %s: settings sample must be a struct, got %T", owner, where, sample))
		return
	}
	if prev, dup := l.owners[owner]; dup {
		l.errs = append(l.errs, fmt.Errorf("config: register %q at %s: already registered at %s", owner, where, prev))
		return
	}
	if l.owners == nil {
		l.owners = map[string]string{}
	}
	l.owners[owner] = where
	for _, f := range fieldsOf(t, "") {
		l.settings = append(l.settings, Setting{Owner: owner, Name: f.key, Default: f.def, Doc: f.doc})
	}
}

func (l *ledger) list() []Setting {
	l.mu.Lock()
	out := slices.Clone(l.settings)
	l.mu.Unlock()
	slices.SortStableFunc(out, func(a, b Setting) int {
		if ra, rb := ownerRank(a.Owner), ownerRank(b.Owner); ra != rb {
			return cmp.Compare(ra, rb)
		}
		return cmp.Compare(a.Owner, b.Owner)
	})
	return out
}

func (l *ledger) err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return errors.Join(l.errs...)
}

// ownerRank puts the core settings first; everything else sorts by name.
func ownerRank(owner string) int {
	if owner == CoreOwner {
		return 0
	}
	return 1
}

// fieldsOf lists the `env`-tagged fields of struct type t, descending into
// nested structs the way the env library does (honouring envPrefix).
func fieldsOf(t reflect.Type, prefix string) []field {
	var out []field
	for i := range t.NumField() {
		sf := t.Field(i)
		if !sf.IsExported() {
			continue
		}
		tag := sf.Tag.Get("env")
		key, _, _ := strings.Cut(tag, ",")
		ft := sf.Type
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if key == "-" {
			continue
		}
		if ft.Kind() == reflect.Struct && !isLeafStruct(ft) {
			out = append(out, fieldsOf(ft, prefix+sf.Tag.Get("envPrefix"))...)
			continue
		}
		if key == "" {
			continue
		}
		def, hasDef := sf.Tag.Lookup("envDefault")
		out = append(out, field{
			goName:     sf.Name,
			key:        prefix + key,
			def:        def,
			hasDefault: hasDef,
			doc:        sf.Tag.Get("doc"),
		})
	}
	return out
}

// isLeafStruct reports struct types the env library parses as one value
// (time.Time, url.URL, anything with UnmarshalText) rather than descending.
func isLeafStruct(t reflect.Type) bool {
	if t.PkgPath() == "time" || t.PkgPath() == "net/url" {
		return true
	}
	return reflect.PointerTo(t).Implements(reflect.TypeFor[interface{ UnmarshalText([]byte) error }]())
}
