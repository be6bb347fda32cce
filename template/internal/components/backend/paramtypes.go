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
// for an integer type narrower than 64 bits, a float or a slice: the rules limitedAdapter
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
	if k := t.Kind(); k == reflect.Slice || k == reflect.Float32 || k == reflect.Float64 || (integerKind(k) && t.Bits() < 64) {
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

// integerRange is the range of values an integer type holds.
func integerRange(t reflect.Type) (lo int64, hi uint64) {
	bits := t.Bits()
	if t.Kind() >= reflect.Uint {
		return 0, math.MaxUint64 >> (64 - bits)
	}
	return -1 << (bits - 1), 1<<(bits-1) - 1
}

// paramCheck is a parameter whose raw value limitedAdapter checks before huma reads it, as
// huma's own refusal would mislead. A list of integers: huma reads each item at its size,
// refusing one out of range as "invalid integer" with the whole value, which teach can only
// call not a whole number; the check says which item, and the range. A list of floats
// likewise ("invalid floating value" for 1e39 given a []float32). A float, alone or a list's
// item: huma reads NaN, Inf and -Infinity (strconv.ParseFloat does), which no JSON can carry
// (a response echoing one fails, a 500) and a handler would take for a number.
type paramCheck struct {
	in, name string
	list     bool  // items separated by commas, unless exploded; else one value
	explode  bool  // a query parameter repeated for each item (?id=1&id=2)
	float    int   // the items' bits when they are floats (32, 64), else 0 for integers
	lo       int64 // the integers' range
	hi       uint64
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
//   - A float parameter, or a list of floats, gets a paramCheck refusing NaN and infinities
//     (and a float64 past its range, which huma refused as not a number).
//   - A list of such integers gets the range on its items' schema, and a paramCheck, as do
//     lists of 64-bit integers and of floats (their items' range, checked at each request).
//   - A list of items huma cannot read panics here, at registration, naming the parameter
//     and what to declare instead (unsupportedList): huma would panic at each request
//     giving it, a 500. mountOne makes the panic the app's error at start.
//   - A parameter whose default (`default:"..."`) is past its bounds panics likewise
//     (defaultOutOfRange): huma takes the tag as given, and every request not giving the
//     parameter would be refused for a value the client never sent.
//
// A hidden parameter (`hidden:"true"`) is not in op.Parameters and gets none of these.
func paramRules(op *huma.Operation, types *typedRegistry) []paramCheck {
	var checks []paramCheck
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
		case reflect.Float32, reflect.Float64:
			if t.Kind() == reflect.Float32 {
				bound(p.Schema, -math.MaxFloat32, math.MaxFloat32)
			}
			checks = append(checks, paramCheck{in: p.In, name: p.Name, float: t.Bits()})
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
		c := paramCheck{in: p.In, name: p.Name, list: true, explode: p.In == "query" && p.Explode != nil && *p.Explode}
		switch e := t.Elem(); {
		case e.Kind() == reflect.Float32 || e.Kind() == reflect.Float64:
			c.float = e.Bits()
		case integerKind(e.Kind()):
			c.lo, c.hi = integerRange(e)
			if e.Bits() < 64 && p.Schema.Items != nil {
				bound(p.Schema.Items, float64(c.lo), float64(c.hi))
			}
		default:
			continue
		}
		checks = append(checks, c)
	}
	for _, p := range op.Parameters {
		if p == nil || p.Schema == nil {
			continue
		}
		if why := defaultOutOfRange(p.Schema); why != "" {
			panic(fmt.Sprintf("backend: operation %q (%s %s): %s parameter %q has the default %v, which %s: "+
				"each request not giving it would be refused; give it a default within its range",
				op.OperationID, op.Method, op.Path, p.In, p.Name, p.Schema.Default, why))
		}
	}
	return checks
}

// defaultOutOfRange says how s's default, when a number, is past s's bounds (after bound's),
// or "". huma converts the default tag to the parameter's type when it documents it, so that
// past the range of a float32 it is an infinity, yet reads the tag itself at each request
// and validates that against the schema. An integer default past its type's range it
// wraps when documenting (300 given an int8 is documented as 44) and cannot be told here; at
// each request it is refused all the same, never reaching the operation.
func defaultOutOfRange(s *huma.Schema) string {
	v := reflect.ValueOf(s.Default)
	var f float64
	switch {
	case !v.IsValid():
		return ""
	case v.CanInt():
		f = float64(v.Int())
	case v.CanUint():
		f = float64(v.Uint())
	case v.CanFloat():
		f = v.Float()
	default:
		return ""
	}
	switch {
	case math.IsNaN(f) || math.IsInf(f, 0):
		return "is not a finite number (a default past its type's range?)"
	case s.Minimum != nil && f < *s.Minimum:
		return "is less than its minimum, " + number(strconv.FormatFloat(*s.Minimum, 'g', -1, 64))
	case s.Maximum != nil && f > *s.Maximum:
		return "is more than its maximum, " + number(strconv.FormatFloat(*s.Maximum, 'g', -1, 64))
	case s.ExclusiveMinimum != nil && f <= *s.ExclusiveMinimum:
		return "is not more than its exclusive minimum, " + number(strconv.FormatFloat(*s.ExclusiveMinimum, 'g', -1, 64))
	case s.ExclusiveMaximum != nil && f >= *s.ExclusiveMaximum:
		return "is not less than its exclusive maximum, " + number(strconv.FormatFloat(*s.ExclusiveMaximum, 'g', -1, 64))
	}
	return ""
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

// paramChecks checks r's values of the parameters in checks, before huma reads them: an
// item out of its type's range is an error saying which and the range. Other values are
// left to huma, as is a parameter not given. The query is scanned as repeatedQuery does,
// without allocating unless a value is escaped.
func paramChecks(ctx huma.Context, r *http.Request, checks []paramCheck) []error {
	var errs []error
	for _, c := range checks {
		var value, msg string
		switch c.in {
		case "query":
			value, msg = c.checkQuery(r.URL.RawQuery)
		case "path":
			value = ctx.Param(c.name)
			msg = c.check(value)
		case "header":
			value = r.Header.Get(c.name)
			msg = c.check(value)
		case "cookie":
			if ck, err := r.Cookie(c.name); err == nil {
				value = ck.Value
				msg = c.check(value)
			}
		}
		if msg != "" {
			errs = append(errs, &huma.ErrorDetail{Location: c.in + "." + c.name, Message: msg, Value: value})
		}
	}
	return errs
}

// checkQuery checks c's values in rawQuery: each one given when exploded, else the first
// (huma reads the first). It returns the value refused and why, or "", "".
func (c paramCheck) checkQuery(rawQuery string) (string, string) {
	for key, value := range queryPairs(rawQuery) {
		if key != c.name {
			continue
		}
		if strings.ContainsAny(value, "%+") {
			value = unescapedKey(value)
		}
		if msg := c.check(value); msg != "" || !c.explode {
			return value, msg
		}
	}
	return "", ""
}

// check says what is wrong with value, or with its first item out of c's range, or "".
// Items are separated by commas unless the parameter is exploded (a value each).
func (c paramCheck) check(value string) string {
	if !c.list {
		if nonFinite(value) {
			return "must be a finite number, such as 1.5"
		}
		if small, large := c.floatOutOfRange(value); large {
			return "must be at most " + maxFloat(c.float)
		} else if small {
			return "must be at least -" + maxFloat(c.float)
		}
		return ""
	}
	for rest := value; rest != ""; {
		s := rest
		if !c.explode {
			s, rest, _ = strings.Cut(rest, ",")
		} else {
			rest = ""
		}
		item := "item " + s
		if len(s) > 20 {
			item = "an item"
		}
		if c.float != 0 {
			if nonFinite(s) {
				return item + " is not a finite number; each item must be a finite number, such as 1.5"
			}
			if small, large := c.floatOutOfRange(s); small || large {
				return tooSmallOrLarge(item, large, "-"+maxFloat(c.float), maxFloat(c.float))
			}
			continue
		}
		if small, large := c.integerOutOfRange(s); small || large {
			return tooSmallOrLarge(item, large, strconv.FormatInt(c.lo, 10), strconv.FormatUint(c.hi, 10))
		}
	}
	return ""
}

// tooSmallOrLarge says that item is too large (else too small), and the bound it passed.
func tooSmallOrLarge(item string, large bool, lo, hi string) string {
	if large {
		return item + " is too large; each item must be at most " + hi
	}
	return item + " is too small; each item must be at least " + lo
}

// integerOutOfRange reports whether s, when an integer, is below c's range or above it.
// Anything else is left to huma, which says what is wrong.
func (c paramCheck) integerOutOfRange(s string) (small, large bool) {
	if !isIntegerLiteral(s) {
		return false, false
	}
	if s[0] == '-' {
		n, err := strconv.ParseInt(s, 10, 64)
		return err != nil || n < c.lo, false
	}
	digits := strings.TrimPrefix(s, "+")
	if c.lo == 0 && len(digits) != len(s) {
		return false, false // huma refuses a sign on an unsigned number; teach says so
	}
	n, err := strconv.ParseUint(digits, 10, 64)
	return false, err != nil || n > c.hi
}

// floatOutOfRange reports whether s, when a number, is past c's float range, below or
// above. Only an exponent or more than 38 characters can go past float32's range, so other
// items are not parsed.
func (c paramCheck) floatOutOfRange(s string) (small, large bool) {
	if len(s) <= 38 && !strings.ContainsAny(s, "eEpP") {
		return false, false
	}
	f, err := strconv.ParseFloat(s, c.float)
	if err == nil || !math.IsInf(f, 0) {
		return false, false
	}
	return f < 0, f > 0
}

// nonFinite reports whether s is a float strconv.ParseFloat reads as NaN or an infinity
// ("nan", "Inf", "-Infinity", in any case). A finite number has no n or i (its digits, hex
// digits, exponent and prefix have none), so other values are not parsed.
func nonFinite(s string) bool {
	if !strings.ContainsAny(s, "nNiI") {
		return false
	}
	f, err := strconv.ParseFloat(s, 64)
	return err == nil && (math.IsNaN(f) || math.IsInf(f, 0))
}

// maxFloat is the largest float of bits (32, 64) as a bound is written (number).
func maxFloat(bits int) string {
	if bits == 32 {
		return strconv.FormatFloat(math.MaxFloat32, 'g', -1, 64)
	}
	return strconv.FormatFloat(math.MaxFloat64, 'g', -1, 64)
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
