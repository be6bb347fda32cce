package generate

import (
	"testing"

	"github.com/aegisgo/aegis/internal/catalog"
)

// everything selects every available entry of the shipped catalog.
func everything(tb testing.TB) catalog.Selection {
	var req catalog.Request
	for _, e := range catalog.Default.Entries {
		if e.Available() && !e.AlwaysOn {
			if e.Kind == catalog.KindComponent {
				req.Components = append(req.Components, e.Name)
			} else {
				req.Services = append(req.Services, e.Name)
			}
		}
	}
	res, err := catalog.Default.Resolve(req)
	if err != nil {
		tb.Fatal(err)
	}
	return res.Selection
}

// BenchmarkRender measures rendering a whole project in memory, the generator's share of
// `aegis init`; BenchmarkInit in internal/project measures init as a whole (render, plan, write).
func BenchmarkRender(b *testing.B) {
	base, err := catalog.Default.Resolve(catalog.Request{})
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name string
		sel  catalog.Selection
	}{{"base", base.Selection}, {"everything", everything(b)}} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := Render(Params{Name: "app", Module: "github.com/acme/app", Selection: bc.sel}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
