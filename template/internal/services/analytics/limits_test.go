package analytics

import (
	"reflect"
	"strings"
	"testing"
)

// TestLimitDocsSayPerInstance: the ingest limit is counted in each process's memory, so behind
// a load balancer n instances accept n times the limit; the setting's doc (and so
// .env.example and the README's table) says so.
func TestLimitDocsSayPerInstance(t *testing.T) {
	t.Parallel()
	for _, field := range []string{"IngestIPLimit"} {
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
