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
	for _, imp := range f.Imports {
		path, err := strconv.Unquote(imp.Path.Value)
		if err != nil {
			return nil, fmt.Errorf("parse %s: bad import %s: %w", name, imp.Path.Value, err)
		}
		if path != from && !strings.HasPrefix(path, from+"/") {
			continue
		}
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
	// The new paths may sort differently among other imports of the same group, so the file is
	// re-formatted to stay gofmt-clean.
	out, err := format.Source(buf.Bytes())
	if err != nil {
		return nil, fmt.Errorf("format %s: %w", name, err)
	}
	return out, nil
}
