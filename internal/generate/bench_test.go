package generate

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
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

// BenchmarkInit measures what `aegis init` does after parsing flags: render the project in
// memory and write it atomically. Module downloads are not part of init at all.
func BenchmarkInit(b *testing.B) {
	base, err := catalog.Default.Resolve(catalog.Request{})
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name string
		sel  catalog.Selection
	}{{"base", base.Selection}, {"everything", everything(b)}} {
		b.Run(bc.name, func(b *testing.B) {
			dir := b.TempDir()
			i := 0
			for b.Loop() {
				files, err := Render(Params{Name: "app", Module: "github.com/acme/app", Selection: bc.sel})
				if err != nil {
					b.Fatal(err)
				}
				i++
				target := filepath.Join(dir, strconv.Itoa(i))
				if err := Write(context.Background(), target, files, WriteOpts{}); err != nil {
					b.Fatal(err)
				}
				// One init writes one project: remove it, untimed, so hundreds of iterations do
				// not measure the kernel throttling a pile of dirty pages instead.
				b.StopTimer()
				if err := os.RemoveAll(target); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
		})
	}
}
