package jsonkind

import (
	"encoding/json"
	"errors"
	"net/netip"
	"reflect"
	"testing"
	"time"
)

func TestWant(t *testing.T) {
	tests := []struct {
		v    any
		want string
	}{
		{"", "a string"},
		{new(string), "a string"},
		{true, "true or false"},
		{int64(0), "an integer"},
		{uint8(0), "a non-negative integer"},
		{0.5, "a number"},
		{time.Second, "a number of nanoseconds"},
		{time.Time{}, "a string"},
		{netip.Addr{}, "a string"},
		{[]byte(nil), "a base64 string"},
		{[]int(nil), "an array"},
		{[2]int{}, "an array"},
		{map[string]int(nil), "an object"},
		{struct{}{}, "an object"},
		{new(any), "a JSON value"},
		{make(chan int), "another JSON value"},
	}
	for _, tt := range tests {
		if got := Want(reflect.TypeOf(tt.v)); got != tt.want {
			t.Errorf("Want(%T) = %q, want %q", tt.v, got, tt.want)
		}
	}
	if got := Want(nil); got != "another JSON value" {
		t.Errorf("Want(nil) = %q", got)
	}
}

func TestNumber(t *testing.T) {
	for v, want := range map[any]bool{int8(0): true, uint(0): true, 1.5: true, time.Second: true, "": false, false: false} {
		if got := Number(reflect.TypeOf(v)); got != want {
			t.Errorf("Number(%T) = %v, want %v", v, got, want)
		}
	}
	if Number(reflect.TypeOf(new(*int))) != true || Number(nil) {
		t.Error("Number follows pointers and is false for nil")
	}
}

// TestGot reads the kinds encoding/json reports, taken from real decoding failures, and JSON
// Schema's type names.
func TestGot(t *testing.T) {
	var target struct{ S string }
	tests := []struct {
		body, want string
	}{
		{`{"S":3}`, "a number"},
		{`{"S":2.5}`, "a number"},
		{`{"S":true}`, "true or false"},
		{`{"S":{}}`, "an object"},
		{`{"S":[]}`, "an array"},
	}
	for _, tt := range tests {
		var ute *json.UnmarshalTypeError
		err := json.Unmarshal([]byte(tt.body), &target)
		if !errors.As(err, &ute) {
			t.Fatalf("%s: %v is not a type error", tt.body, err)
		}
		if got := Got(ute.Value); got != tt.want {
			t.Errorf("%s: Got(%q) = %q, want %q", tt.body, ute.Value, got, tt.want)
		}
	}
	for kind, want := range map[string]string{"string": "a string", "integer": "an integer", "boolean": "true or false", "null": "null", "": "null"} {
		if got := Got(kind); got != want {
			t.Errorf("Got(%q) = %q, want %q", kind, got, want)
		}
	}
}
