package generate

import (
	"bytes"
	"fmt"
	"go/format"
	"go/parser"
	"go/token"
	"strconv"
	"strings"
)

// rewriteImports replaces the import prefix from with to in a Go file's import paths, as gonew
// does. Only imports change: comments and string literals that mention the prefix are left
// alone, and a test checks that no generated file mentions the reference app's path at all.
func rewriteImports(name string, src []byte, from, to string) ([]byte, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, name, src, parser.ImportsOnly|parser.ParseComments)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", name, err)
	}
	type edit struct {
		start, end int
		text       string
	}
	var edits []edit
	paths := make([]string, len(f.Imports)) // after rewriting
	lines := make([]int, len(f.Imports))
	for i, imp := range f.Imports {
		lines[i] = fset.Position(imp.Pos()).Line
		path, err := strconv.Unquote(imp.Path.Value)
		if err != nil {
			return nil, fmt.Errorf("parse %s: bad import %s: %w", name, imp.Path.Value, err)
		}
		paths[i] = path
		if path != from && !strings.HasPrefix(path, from+"/") {
			continue
		}
		paths[i] = to + path[len(from):]
		edits = append(edits, edit{
			start: fset.Position(imp.Path.Pos()).Offset,
			end:   fset.Position(imp.Path.End()).Offset,
			text:  strconv.Quote(to + path[len(from):]),
		})
	}
	if len(edits) == 0 {
		return src, nil
	}
	var buf bytes.Buffer
	buf.Grow(len(src) + len(edits)*len(to))
	last := 0
	for _, e := range edits {
		buf.Write(src[last:e.start])
		buf.WriteString(e.text)
		last = e.end
	}
	buf.Write(src[last:])
	if sortedGroups(paths, lines) {
		return buf.Bytes(), nil
	}
	// A new path sorts differently among the other imports of its group: gofmt would reorder
	// them, so the file is re-formatted to stay gofmt-clean. Most files keep their own imports
	// in a group of their own and skip this, which is most of the cost of rendering.
	out, err := format.Source(buf.Bytes())
	if err != nil {
		return nil, fmt.Errorf("format %s: %w", name, err)
	}
	return out, nil
}

// sortedGroups reports whether each run of imports on consecutive lines (what gofmt sorts as
// one group) is in path order.
func sortedGroups(paths []string, lines []int) bool {
	for i := 1; i < len(paths); i++ {
		if lines[i] == lines[i-1]+1 && paths[i] < paths[i-1] {
			return false
		}
	}
	return true
}
