package backend

import (
	"errors"
	"strings"
	"testing"
)

func TestRouteBook(t *testing.T) {
	t.Parallel()
	var order []string
	mount := func(name string) func(*Router) error {
		return func(*Router) error { order = append(order, name); return nil }
	}
	b := NewRouteBook()
	b.add("zeta", mount("zeta"), "z.go:1")
	b.add("alpha", mount("alpha"), "a.go:1")
	b.add("alpha", mount("alpha2"), "a.go:9")
	b.add("", mount("x"), "x.go:1")
	b.add("nilfn", nil, "n.go:1")
	b.add("fails", func(*Router) error { return errors.New("no database") }, "f.go:1")
	b.add("panics", func(*Router) error { panic("duplicate operation ID") }, "p.go:1")

	err := b.mountAll(&Router{})
	if got := strings.Join(order, ","); got != "alpha,zeta" {
		t.Errorf("mount order = %s, want alpha,zeta (by name, duplicates dropped)", got)
	}
	for _, want := range []string{
		`routes "alpha" registered at a.go:9 were already registered at a.go:1`,
		"routes registered at x.go:1 have no name",
		`routes "nilfn" registered at n.go:1 have a nil mount function`,
		`mount routes "fails": no database`,
		`mount routes "panics" (registered at p.go:1): panic: duplicate operation ID`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("mountAll error = %v\nwant it to contain %q", err, want)
		}
	}
}
