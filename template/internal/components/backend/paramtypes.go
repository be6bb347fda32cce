package backend

import (
	"encoding"
	"encoding/json"
	"fmt"
	"math"
	"net"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"sync"

	"github.com/danielgtaylor/huma/v2"
)

// typedRegistry is the API's schema registry, noting the Go type of each schema it makes
// for an integer type narrower than 64 bits, a float32 or a slice: the rules limitedAdapter
// sets on an operation's parameters depend on the Go type, which an operation does not
// carry (huma writes int8, int16 and int32 alike as an integer of format int32). huma asks the API's
// registry for the schema of each parameter's type when it registers the operation, then
// keeps that schema as the parameter's, so the adapter finds the type by the schema. The
// fields of a body's types are asked of the registry inside, not of this one: they are not
// noted. Nothing is noted after registration, and requests never look here.
//
// huma gives its own registry a configuration no other can have (registryConfig,
// unexported), read when it registers an operation: the one huma.DefaultConfig makes is
// the zero value, which is also what huma reads of this registry.
type typedRegistry struct {
	huma.Registry
	mu    sync.Mutex
	types map[*huma.Schema]reflect.Type
}

func newTypedRegistry(r huma.Registry) *typedRegistry {
	return &typedRegistry{Registry: r, types: make(map[*huma.Schema]reflect.Type)}
}

// Schema is the registry's schema of t, its type noted when the rules may need it.
func (r *typedRegistry) Schema(t reflect.Type, allowRef bool, hint string) *huma.Schema {
	s := r.Registry.Schema(t, allowRef, hint)
	if s == nil {
		return s
	}
	if k := t.Kind(); k == reflect.Slice || k == reflect.Float32 || (integerKind(k) && t.Bits() < 64) {
		r.mu.Lock()
		r.types[s] = t
		r.mu.Unlock()
	}
	return s
}

// typeOf is the Go type s was made for, or nil when not noted.
func (r *typedRegistry) typeOf(s *huma.Schema) reflect.Type {
	if r == nil || s == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.types[s]
}

// MarshalJSON writes the registry as huma's does (the OpenAPI's components.schemas).
func (r *typedRegistry) MarshalJSON() ([]byte, error) {
	return json.Marshal(r.Registry)
}

// MarshalYAML writes the registry as huma's does.
func (r *typedRegistry) MarshalYAML() (any, error) {
	if m, ok := r.Registry.(interface{ MarshalYAML() (any, error) }); ok {
		return m.MarshalYAML()
	}
	return r.Registry, nil
}

// integerKind reports whether k is a Go integer kind.
func integerKind(k reflect.Kind) bool {
	return k >= reflect.Int && k <= reflect.Uint64
}

// integerRange is the range of values an integer type narrower than 64 bits holds.
func integerRange(t reflect.Type) (lo, hi int64) {
	bits := t.Bits()
	if t.Kind() >= reflect.Uint {
		return 0, 1<<bits - 1
	}
	return -1 << (bits - 1), 1<<(bits-1) - 1
}

// listRange is a list parameter whose items are integers narrower than 64 bits: huma reads
// each item at its size, refusing one out of range as "invalid integer" with the whole value,
// which teach can only call not a whole number. listRanges says which item, and the range.
type listRange struct {
	in, name string
	explode  bool // a query parameter repeated for each item (?id=1&id=2)
	lo, hi   int64
}

// paramRules applies the rules of op's parameters that depend on their Go type (types), at
// registration, and returns the list parameters to check at each request (none for most
// operations):
//
//   - An integer parameter narrower than 64 bits (int8, uint16, int32, ...; int and uint on
//     a 32-bit platform) gets its type's range as its schema's minimum and maximum, within
//     any the operation declares. huma reads such a parameter as 64 bits and converts it,
//     wrapping (300 given an int8 reached the operation as 44), but validates the value it
//     read before the conversion against the schema: out of range is then a 422 ("must be
//     at most 127"), and the OpenAPI shows the range.
//   - A float32 parameter likewise gets float32's range: huma reads it as a float64, and
//     1e39 reached the operation as +Inf.
//   - A list of such integers gets the range on its items' schema, and a listRange.
//   - A list of items huma cannot read panics here, at registration, naming the parameter
//     and what to declare instead (unsupportedList): huma would panic at each request
//     giving it, a 500. mountOne makes the panic the app's error at start.
//
// A hidden parameter (`hidden:"true"`) is not in op.Parameters and gets none of these.
func paramRules(op *huma.Operation, types *typedRegistry) []listRange {
	var lists []listRange
	for _, p := range op.Parameters {
		if p == nil || p.Style == "deepObject" {
			continue
		}
		t := types.typeOf(p.Schema)
		if t == nil {
			continue
		}
		switch t.Kind() {
		case reflect.Slice:
		case reflect.Float32:
			bound(p.Schema, -math.MaxFloat32, math.MaxFloat32)
			continue
		default:
			lo, hi := integerRange(t)
			bound(p.Schema, float64(lo), float64(hi))
			continue
		}
		if why := unsupportedList(t); why != "" {
			panic(fmt.Sprintf("backend: operation %q (%s %s): %s parameter %q is a %s, %s",
				op.OperationID, op.Method, op.Path, p.In, p.Name, t, why))
		}
		e := t.Elem()
		if !integerKind(e.Kind()) || e.Bits() >= 64 || p.Schema.Items == nil {
			continue
		}
		lo, hi := integerRange(e)
		bound(p.Schema.Items, float64(lo), float64(hi))
		lists = append(lists, listRange{in: p.In, name: p.Name, explode: p.In == "query" && p.Explode != nil && *p.Explode, lo: lo, hi: hi})
	}
	return lists
}

// bound narrows s's minimum and maximum to lo and hi.
func bound(s *huma.Schema, lo, hi float64) {
	if s.Minimum == nil || *s.Minimum < lo {
		s.Minimum = &lo
	}
	if s.Maximum == nil || *s.Maximum > hi {
		s.Maximum = &hi
	}
	s.PrecomputeMessages()
}

var textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()

// unsupportedList says why huma (v2.37.2) cannot read a list parameter of type t, and what
// to declare instead, or "" when it can. huma reads a list of string items of any type, and
// of the predeclared number types; other items fall to the list type's own UnmarshalText,
// and without one huma panics at each request that gives the parameter: []bool,
// []time.Time, []netip.Addr, and numbers of a type of their own (time.Duration, an enum
// such as `type Level int`), which huma reads as the predeclared type then cannot store.
// A []byte huma documents and validates as base64 text yet reads as numbers, so that no
// value passes, and one that reads itself (net.IP) it reads as numbers all the same.
func unsupportedList(t reflect.Type) string {
	e := t.Elem()
	k := e.Kind()
	const fails = "which huma cannot read (each request giving it would fail with a 500): "
	switch {
	case k == reflect.String:
		return ""
	case k == reflect.Uint8 && reflect.PointerTo(t).Implements(textUnmarshalerType):
		fix := "a string and convert it to " + t.String()
		if t == reflect.TypeFor[net.IP]() {
			fix = "a netip.Addr, which huma reads"
		}
		return "which huma reads as a list of numbers, not by its UnmarshalText, so that no value is accepted: declare it as " + fix
	case k == reflect.Uint8:
		return "which huma documents as base64 text yet reads as numbers, so that no value is accepted: " +
			"declare it as a string and decode it, or as []uint16 for a list of numbers"
	case integerKind(k) || k == reflect.Float32 || k == reflect.Float64:
		if e.PkgPath() == "" && e.Name() == k.String() {
			return ""
		}
		return fails + "declare it as []" + k.String() + " and convert each item to " + e.String()
	case reflect.PointerTo(t).Implements(textUnmarshalerType):
		return ""
	case k == reflect.Bool:
		return fails + "declare it as []string and read each item with strconv.ParseBool"
	}
	return fails + "declare it as []string and convert each item to " + e.String()
}

// listRanges checks the items of r's list parameters of narrow integers (lists), before
// huma reads them: an integer item out of its type's range is an error saying which and the
// range. Other items are left to huma, as is a parameter not given. The query is scanned
// as repeatedQuery does, without allocating unless a value is escaped.
func listRanges(ctx huma.Context, r *http.Request, lists []listRange) []error {
	var errs []error
	for _, l := range lists {
		var value, msg string
		switch l.in {
		case "query":
			value, msg = l.checkQuery(r.URL.RawQuery)
		case "path":
			value = ctx.Param(l.name)
			msg = l.check(value)
		case "header":
			value = r.Header.Get(l.name)
			msg = l.check(value)
		case "cookie":
			if c, err := r.Cookie(l.name); err == nil {
				value = c.Value
				msg = l.check(value)
			}
		}
		if msg != "" {
			errs = append(errs, &huma.ErrorDetail{Location: l.in + "." + l.name, Message: msg, Value: value})
		}
	}
	return errs
}

// checkQuery checks l's values in rawQuery: each one given when exploded, else the first
// (huma reads the first). It returns the value refused and why, or "", "".
func (l listRange) checkQuery(rawQuery string) (string, string) {
	for q := rawQuery; q != ""; {
		var pair string
		pair, q, _ = strings.Cut(q, "&")
		key, value, _ := strings.Cut(pair, "=")
		if strings.ContainsAny(key, "%+") {
			key = unescapedKey(key)
		}
		if key != l.name {
			continue
		}
		if strings.ContainsAny(value, "%+") {
			value = unescapedKey(value)
		}
		if msg := l.check(value); msg != "" || !l.explode {
			return value, msg
		}
	}
	return "", ""
}

// check says what is wrong with the first item of value out of l's range, or "". Items are
// separated by commas unless the parameter is exploded (a value each).
func (l listRange) check(value string) string {
	for rest := value; rest != ""; {
		s := rest
		if !l.explode {
			s, rest, _ = strings.Cut(rest, ",")
		} else {
			rest = ""
		}
		if !isIntegerLiteral(s) {
			continue // huma says what is wrong
		}
		n, err := strconv.ParseInt(s, 10, 64)
		small := (err != nil && s[0] == '-') || (err == nil && n < l.lo)
		large := (err != nil && s[0] != '-') || (err == nil && n > l.hi)
		item := "item " + s
		if len(s) > 20 {
			item = "an item"
		}
		switch {
		case small:
			return item + " is too small; each item must be at least " + strconv.FormatInt(l.lo, 10)
		case large:
			return item + " is too large; each item must be at most " + strconv.FormatInt(l.hi, 10)
		}
	}
	return ""
}

// isIntegerLiteral is integerLiteral's match without a regular expression, which would cost
// each item of each request a few hundred nanoseconds.
func isIntegerLiteral(s string) bool {
	if s != "" && (s[0] == '+' || s[0] == '-') {
		s = s[1:]
	}
	if s == "" {
		return false
	}
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
