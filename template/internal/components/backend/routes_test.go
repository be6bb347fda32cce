package backend

import (
	"errors"
	"strings"
	"testing"

	"github.com/aegisgo/aegis/template/internal/runtime/registry"
)

func TestMountAll(t *testing.T) {
	t.Parallel()
	var order []string
	mount := func(name string) Routes {
		return func(*Router) error { order = append(order, name); return nil }
	}
	sets := registry.All[Routes]{
		{Name: "zeta", Value: mount("zeta"), Registered: "z.go:1"},
		{Name: "alpha", Value: mount("alpha"), Registered: "a.go:1"},
		{Name: "fails", Value: func(*Router) error { return errors.New("no database") }, Registered: "f.go:1"},
		{Name: "panics", Value: func(*Router) error { panic("duplicate operation ID") }, Registered: "p.go:1"},
	}
	err := mountAll(sets, &Router{})
	if got := strings.Join(order, ","); got != "alpha,zeta" {
		t.Errorf("mount order = %s, want alpha,zeta (by name)", got)
	}
	if sets[0].Name != "zeta" {
		t.Error("mountAll sorted its argument in place")
	}
	for _, want := range []string{
		`mount routes "fails": no database`,
		`mount routes "panics" (registered at p.go:1): panic: duplicate operation ID`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("mountAll error = %v\nwant it to contain %q", err, want)
		}
	}
}

func TestRoutesContributions(t *testing.T) {
	t.Parallel()
	r := registry.New()
	if err := Register(r); err != nil {
		t.Fatal(err)
	}
	registry.Contribute(r, "alpha", Routes(func(*Router) error { return nil }))
	registry.Contribute(r, "alpha", Routes(func(*Router) error { return nil }))
	registry.Contribute[Routes](r, "nilfn", nil)
	err := r.Validate()
	for _, want := range []string{`"alpha"`, "duplicate name", `"nilfn"`, "nil value", "routes_test.go:46 and ", "routes_test.go:47"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v\nwant it to contain %q", err, want)
		}
	}
}
