package project

import (
	"bytes"
	"go/parser"
	"go/token"
	"maps"
	"path"
	"slices"
	"strconv"

	"github.com/aegisgo/aegis/internal/generate"
)

// The DO NOT EDIT import files of the discovery folders (generate.WireFiles) have a documented
// workflow: a user moves a service into a sub-folder and runs go generate, which adds its
// import beside aegis's; a line merge then overlaps with every part aegis adds or removes next
// to it, so these files are merged by their meaning instead.

// mergeWire merges the wire_gen.go at rel the user regenerated: aegis's new import set plus the
// imports the user added (their own sub-packages), written as wiregen writes it. It declines
// (false), leaving the file to the line merge, when any version is not a wiregen file or the
// user's file is not exactly what wiregen writes for its imports: a hand edit is never dropped.
func mergeWire(rel string, ours, base, theirs []byte) ([]byte, bool) {
	pkg := path.Base(path.Dir(rel))
	o, ok1 := wireImports(ours)
	b, ok2 := wireImports(base)
	t, ok3 := wireImports(theirs)
	if !ok1 || !ok2 || !ok3 || !bytes.Equal(generate.RenderWire(pkg, o), ours) {
		return nil, false
	}
	set := map[string]bool{}
	for _, p := range t {
		set[p] = true
	}
	for _, p := range o {
		if !slices.Contains(b, p) {
			set[p] = true
		}
	}
	return generate.RenderWire(pkg, slices.Sorted(maps.Keys(set))), true
}

// wireImports lists the blank imports of a wiregen file; false when it holds anything else.
func wireImports(src []byte) ([]string, bool) {
	f, err := parser.ParseFile(token.NewFileSet(), "wire_gen.go", src, parser.ImportsOnly)
	if err != nil || len(f.Decls) > 1 {
		return nil, false
	}
	var paths []string
	for _, imp := range f.Imports {
		p, err := strconv.Unquote(imp.Path.Value)
		if err != nil || imp.Name == nil || imp.Name.Name != "_" {
			return nil, false
		}
		paths = append(paths, p)
	}
	return paths, true
}
