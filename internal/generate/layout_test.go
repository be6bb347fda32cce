package generate

import (
	"io/fs"
	"path"
	"strings"
	"testing"

	"github.com/aegisgo/aegis/template"
)

// TestPanelTestsLeaveLayoutAlone keeps the tests of the parts that contribute dashboard panels
// off the markup of the frontend's layout.html: a project owns its layout and may restyle it (a
// title of its own, another header), and a panel's test that looked for the layout's <title>
// broke on the first such change though the panel was fine. The frontend's own tests cover
// the layout; a panel's test looks at what its panel renders.
func TestPanelTestsLeaveLayoutAlone(t *testing.T) {
	// Markup only layout.html writes: the page title it builds from a panel's Title and the
	// app's name ("app" in frontendtest.Handler), its skip link, navigation and footer.
	layoutOnly := []string{" · app</title>", "Skip to content", `aria-label="Dashboard"`, "The same data as JSON"}
	const frontend = "internal/components/frontend/"
	err := fs.WalkDir(template.FS, "internal", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(name, "_test.go") || strings.HasPrefix(name, frontend) {
			return err
		}
		data, err := fs.ReadFile(template.FS, name)
		if err != nil {
			return err
		}
		for _, m := range layoutOnly {
			if strings.Contains(string(data), m) {
				t.Errorf("%s looks for %q, markup of %s: assert on the panel's own markup instead", name, m, path.Join(frontend, "templates/layout.html"))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
