package onboarding

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// docQuote is a block of docs/service-layer.md that quotes a file: the line
// "From [name](path):", a blank line, then the fenced block.
var docQuote = regexp.MustCompile("(?s)From \\[[^]]*\\]\\(([^)]+)\\):\n\n```[a-z]*\n(.*?)\n```")

// TestComposingDoc keeps the "Composing services" chapter of docs/service-layer.md (this
// folder's _fragments/service-layer.md.tmpl) true: every block it quotes is a verbatim
// excerpt of the file it names.
func TestComposingDoc(t *testing.T) {
	t.Parallel()
	// The page is at docs/ of the app's root; its links are relative to it.
	docs := filepath.Join("..", "..", "..", "docs")
	data, err := os.ReadFile(filepath.Join(docs, "service-layer.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, chapter, ok := strings.Cut(string(data), "\n## Composing services\n")
	if !ok {
		t.Fatal("docs/service-layer.md has no \"Composing services\" chapter")
	}
	chapter, _, _ = strings.Cut(chapter, "\n## ")
	quotes := docQuote.FindAllStringSubmatch(chapter, -1)
	if len(quotes) < 6 {
		t.Fatalf("the chapter quotes %d blocks, want the service's code throughout", len(quotes))
	}
	for _, q := range quotes {
		src, err := os.ReadFile(filepath.Join(docs, filepath.FromSlash(q[1])))
		if err != nil {
			t.Errorf("the chapter quotes %s: %v", q[1], err)
			continue
		}
		if !strings.Contains(string(src), q[2]) {
			t.Errorf("the chapter quotes a block that %s does not hold (update the fragment or the code):\n%s", q[1], q[2])
		}
	}
}
