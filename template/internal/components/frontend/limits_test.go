package frontend

import (
	"reflect"
	"strings"
	"testing"
)

// TestLimitDocsSayPerInstance: the dashboard's sign-in limits are counted in each process's
// memory, so behind a load balancer n instances allow n times as many failures; the
// setting's doc (and so .env.example and the README's table) says so.
func TestLimitDocsSayPerInstance(t *testing.T) {
	t.Parallel()
	for _, field := range []string{"Password"} {
		t.Run(field, func(t *testing.T) {
			f, ok := reflect.TypeFor[Settings]().FieldByName(field)
			if !ok {
				t.Fatalf("Settings has no field %s", field)
			}
			if doc := f.Tag.Get("doc"); !strings.Contains(doc, "each instance") {
				t.Errorf("%s's doc does not say the limit is counted per instance: %q", f.Tag.Get("env"), doc)
			}
		})
	}
}
