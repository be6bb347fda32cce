// Command wiregen rewrites wire_gen.go in the current folder so that it
// blank-imports every Go package found in the folder's immediate
// sub-directories. It is meant to run from a //go:generate line:
//
//	//go:generate go run ../wire/wiregen
//
// It finds the import path from the nearest go.mod and the package name from
// $GOPACKAGE (set by go generate), or from -pkg.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/aegisgo/aegis/template/internal/wire"
)

func main() {
	pkg := flag.String("pkg", os.Getenv("GOPACKAGE"), "package name of the generated file (default $GOPACKAGE)")
	dir := flag.String("dir", ".", "folder whose sub-packages to import")
	flag.Parse()
	if err := run(*dir, *pkg); err != nil {
		fmt.Fprintln(os.Stderr, "wiregen:", err)
		os.Exit(1)
	}
}

func run(dir, pkg string) error {
	if pkg == "" {
		abs, err := filepath.Abs(dir)
		if err != nil {
			return err
		}
		// Outside go generate the folder name is the best guess, and it is
		// right for every discovery folder this tool is used on.
		pkg = filepath.Base(abs)
	}
	changed, err := wire.Generate(dir, pkg)
	if err != nil {
		return err
	}
	if changed {
		fmt.Fprintf(os.Stderr, "wiregen: wrote %s\n", filepath.Join(dir, wire.FileName))
	}
	return nil
}
