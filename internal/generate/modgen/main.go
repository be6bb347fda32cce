// Command modgen refreshes internal/generate/modules.json: the module graph and the package
// import graph of the reference app's dependencies, read from go.mod, go.sum and the module
// cache, from which aegis computes each selection's go.mod and go.sum the way `go mod tidy`
// does. Its size grows with the packages the catalog imports, not with the number of
// selections. Run it with `go generate ./internal/generate` after changing go.mod or the
// imports of the reference app.
package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/aegisgo/aegis/internal/generate"
	"github.com/aegisgo/aegis/template"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "modgen:", err)
		os.Exit(1)
	}
}

func run() error {
	// go generate runs in the package folder: the repository root is two levels up.
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		return err
	}
	data, err := generate.ComputeModules(context.Background(), root, template.FS)
	if err != nil {
		return err
	}
	out, err := generate.EncodeModules(data)
	if err != nil {
		return err
	}
	return os.WriteFile("modules.json", out, 0o644)
}
