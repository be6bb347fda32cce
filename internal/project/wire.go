package project

import (
	"bytes"
	"fmt"
	"go/parser"
	"go/token"
	"maps"
	"slices"
	"strconv"
)

// wireFiles are the DO NOT EDIT import files of the discovery folders. Their documented
// workflow is that a user moves a service into a sub-folder and runs go generate, which adds
// its import beside aegis's; a line merge then overlaps with every part aegis adds or removes
// next to it, so these files are merged by their meaning instead.
var wireFiles = map[string]bool{
	"internal/components/wire_gen.go": true,
	"internal/services/wire_gen.go":   true,
}

// mergeWire merges a wire_gen.go the user regenerated: aegis's new import set plus the imports
// the user added (their own sub-packages), written as wiregen writes it. It declines (false),
// leaving the file to the line merge, when any version is not a wiregen file or the user's
// file is not exactly what wiregen writes for its imports: a hand edit is never dropped.
func mergeWire(ours, base, theirs []byte) ([]byte, bool) {
	o, ok1 := wireImports(ours)
	b, ok2 := wireImports(base)
	t, ok3 := wireImports(theirs)
	if !ok1 || !ok2 || !ok3 || !bytes.Equal(renderWire(ours, o), ours) {
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
	return renderWire(theirs, slices.Sorted(maps.Keys(set))), true
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

// renderWire writes paths (sorted, as wiregen sorts its folders) under the header and package
// clause of tmpl, a wiregen file.
func renderWire(tmpl []byte, paths []string) []byte {
	head := tmpl
	// "package x\n\nimport (\n": the match starts at the package clause's newline.
	if i := bytes.Index(tmpl, []byte("\n\nimport (\n")); i >= 0 {
		head = tmpl[:i+1]
	}
	var b bytes.Buffer
	b.Write(head)
	if len(paths) > 0 {
		b.WriteString("\nimport (\n")
		for _, p := range paths {
			fmt.Fprintf(&b, "\t_ %q\n", p)
		}
		b.WriteString(")\n")
	}
	return b.Bytes()
}
