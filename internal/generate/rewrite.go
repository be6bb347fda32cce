package generate

import (
	"bytes"
	"fmt"
	"go/format"
	"go/parser"
	"go/token"
	"slices"
	"strconv"
	"strings"
)

// rewriteImports replaces the import prefix from with to in a Go file's import paths, as gonew
// does, and in the other interpreted string literals that hold one of the reference app's
// package paths (an OpenTelemetry instrumentation scope is named by its package's import path,
// so a user's traces and metrics name the user's packages). Text that only mentions the prefix
// in passing is left alone; a test checks that no generated file mentions the reference app's
// path at all.
func rewriteImports(name string, src []byte, from, to string) ([]byte, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, name, src, parser.ImportsOnly|parser.ParseComments)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", name, err)
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
	literals := pathLiterals(src, from, edits)
	for _, start := range literals {
		edits = append(edits, edit{start: start, end: start + 1 + len(from), text: `"` + to})
	}
	slices.SortFunc(edits, func(a, b edit) int { return a.start - b.start })
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
	// A literal of another length can move gofmt's alignment of a const or var block.
	if len(literals) == 0 && sortedGroups(paths, lines) {
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

// pathLiterals returns the offsets of the opening quotes of the interpreted string literals
// in src whose text is one of the from module's package paths ("from" or "from/..."), other
// than the import paths already in edits.
func pathLiterals(src []byte, from string, edits []edit) []int {
	var out []int
	quoted := []byte(`"` + from)
	for off := 0; ; {
		i := bytes.Index(src[off:], quoted)
		if i < 0 {
			return out
		}
		start := off + i
		off = start + len(quoted)
		if off >= len(src) || (src[off] != '/' && src[off] != '"') {
			continue // another module whose path starts with from's
		}
		if slices.ContainsFunc(edits, func(e edit) bool { return e.start == start }) {
			continue
		}
		out = append(out, start)
	}
}

// edit replaces src[start:end] with text.
type edit struct {
	start, end int
	text       string
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
