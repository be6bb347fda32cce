package auth

import (
	"reflect"
	"strings"
	"testing"
)

// TestLimitDocsSayPerInstance: the login and registration limits are counted in each process's
// memory, so behind a load balancer n instances allow n times the limit; the settings' docs
// (and so .env.example and the README's table) say so.
func TestLimitDocsSayPerInstance(t *testing.T) {
	t.Parallel()
	for _, field := range []string{"LoginIPLimit", "LoginAccountLimit", "RegisterIPLimit"} {
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
