// Package jsonkind names JSON values in the messages a client reads when its JSON does not fit:
// what a field takes and what was sent, each with its article, in JSON's words. A Go type name
// never reaches a client: the request body, a job's arguments and an MCP request's params are all
// decoded into Go types, and all three say the same thing about the same mistake.
package jsonkind

import (
	"encoding"
	"reflect"
	"strings"
	"time"
)

var (
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
	duration        = reflect.TypeFor[time.Duration]()
)

// Want is the JSON value a Go type decodes from, with its article: "a string", "an integer",
// "an object". Types that read their text (time.Time, netip.Addr) take a string.
func Want(t reflect.Type) string {
	if t == nil {
		return "another JSON value"
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == duration {
		return "a number of nanoseconds"
	}
	if reflect.PointerTo(t).Implements(textUnmarshaler) {
		return "a string"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "an integer"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return "a non-negative integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return "a base64 string"
		}
		return "an array"
	case reflect.Array:
		return "an array"
	case reflect.Map, reflect.Struct:
		return "an object"
	case reflect.Interface:
		return "a JSON value"
	}
	return "another JSON value"
}

// Number reports whether t decodes from a JSON number, so a number that does not fit it is
// out of range or not whole rather than of the wrong kind.
func Number(t reflect.Type) bool {
	if t == nil {
		return false
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64:
		return true
	}
	return false
}

// Got names a JSON value by its kind, with its article: encoding/json's names in an
// UnmarshalTypeError ("string", "number 3", "bool", "object") and JSON Schema's type names
// ("integer", "boolean", "null") alike.
func Got(kind string) string {
	switch {
	case kind == "object" || kind == "array" || kind == "integer":
		return "an " + kind
	case kind == "bool" || kind == "boolean":
		return "true or false"
	case kind == "null" || kind == "":
		return "null"
	case strings.HasPrefix(kind, "number"):
		return "a number"
	}
	return "a " + kind
}
