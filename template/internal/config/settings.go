package config

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/aegisgo/aegis/template/internal/runtime/registry"
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

// Declaration is the settings struct of one owner: a contribution kind, named by the owner,
// so that Settings can list its variables (for .env.example and the docs). Components
// contribute one from init() and provide the parsed struct with Loader, both done by Provide:
//
//	func init() {
//		_ = config.Provide[Settings](registry.Default, Name)
//	}
//
// Two declarations for one owner fail the container's Build, naming both file:lines.
type Declaration struct {
	typ    reflect.Type
	fields []field
	load   func() error // Load[T], for Check
}

// Declare returns the declaration of settings struct T.
func Declare[T any]() Declaration {
	t := reflect.TypeFor[T]()
	d := Declaration{typ: t, load: func() error { _, err := Load[T](); return err }}
	if t.Kind() == reflect.Struct {
		d.fields = fieldsOf(t, "")
	}
	return d
}

// ValidateContribution rejects a declaration of something that is not a struct.
func (d Declaration) ValidateContribution(string) error {
	if d.typ == nil || d.typ.Kind() != reflect.Struct {
		return fmt.Errorf("config: settings must be a struct type, got %v", d.typ)
	}
	return nil
}

// Check loads every settings struct declared in r and reports every bad setting at once, each
// error once (a .env file that does not parse is one error, not one per struct). Commands call
// it before constructing anything: the operator fixes every setting in one go instead of one
// per start, and an app that will not start makes nothing first (a SQLite file, a connection).
func Check(r *registry.Registry) error {
	var errs []error
	seen := make(map[string]bool)
	for _, c := range registry.Contributions[Declaration](r) {
		if c.Value.load == nil {
			continue
		}
		if err := c.Value.load(); err != nil && !seen[err.Error()] {
			seen[err.Error()] = true
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Loader is the constructor of settings struct T for the registry: Load[T]. Providing it
// makes the settings a constructor dependency, parsed once per container.
func Loader[T any](context.Context) (T, error) { return Load[T]() }

// Settings returns every setting declared in r: the core ones first, then by owner, each
// owner's in the order its struct declares them.
func Settings(r *registry.Registry) []Setting {
	var out []Setting
	for _, c := range registry.Contributions[Declaration](r) {
		for _, f := range c.Value.fields {
			out = append(out, Setting{Owner: c.Name, Name: f.key, Default: f.def, Doc: f.doc})
		}
	}
	slices.SortStableFunc(out, func(a, b Setting) int {
		if ra, rb := ownerRank(a.Owner), ownerRank(b.Owner); ra != rb {
			return cmp.Compare(ra, rb)
		}
		return cmp.Compare(a.Owner, b.Owner)
	})
	return out
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

// Default sets *v to def when *v is its type's zero value: the one step of every part's
// WithDefaults, so a zero setting (a test's literal Settings{}) means "the default".
func Default[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}

// Provide declares the settings T of owner in r and provides them to constructors: the two
// registrations every part with settings makes. A duplicate declaration is reported with the
// file:line of the Provide call.
func Provide[T any](r *registry.Registry, owner string) error {
	registry.ContributeFor(r, owner, Declare[T]())
	return registry.Provide(r, Loader[T], registry.Hidden())
}

// A bad setting reaches the user as its own one-line message, not inside the registry's
// "construct X (registered at ...)".
var _ registry.StandaloneError = (*Error)(nil)
