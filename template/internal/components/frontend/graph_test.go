package frontend

import (
	"strings"
	"testing"

	"github.com/aegisgo/aegis/template/internal/runtime/registry"
)

func TestLayout(t *testing.T) {
	t.Parallel()
	node := func(name string, deps ...string) registry.Node {
		return registry.Node{Name: name, Kind: "service", Lifetime: "singleton", State: "started", Deps: deps}
	}
	g := registry.Graph{Nodes: []registry.Node{
		node("api", "signup", "db"),
		node("db"),
		node("mail"),
		node("signup", "db", "mail"),
		node(`we<ird> "name"`, "nobody"), // a dependency that is not in the graph is ignored
	}}
	rep := registry.Report{Checks: []registry.CheckResult{{Name: "db", Status: registry.StatusUnhealthy}}}
	d := layout(g, rep)

	layers := map[string]int{}
	pos := map[string]*graphNode{}
	for _, n := range d.Nodes {
		layers[n.Name] = n.Layer
		pos[n.Name] = n
	}
	want := map[string]int{"db": 0, "mail": 0, `we<ird> "name"`: 0, "signup": 1, "api": 2}
	for name, l := range want {
		if layers[name] != l {
			t.Errorf("%s in layer %d, want %d", name, layers[name], l)
		}
	}
	if d.Layers != 3 {
		t.Errorf("%d layers, want 3", d.Layers)
	}
	// Columns go left to right by layer; nodes of a column do not overlap.
	for _, a := range d.Nodes {
		if a.X < graphPad || a.Y < graphPad || a.X+a.W > d.Width || a.Y+graphNodeH > d.Height {
			t.Errorf("%s at (%.0f,%.0f) lies outside %.0fx%.0f", a.Name, a.X, a.Y, d.Width, d.Height)
		}
		for _, b := range d.Nodes {
			if a == b {
				continue
			}
			if a.Layer < b.Layer && a.X+a.W >= b.X {
				t.Errorf("%s (layer %d) is not left of %s (layer %d)", a.Name, a.Layer, b.Name, b.Layer)
			}
			if a.Layer == b.Layer && a.Y < b.Y+graphNodeH && b.Y < a.Y+graphNodeH {
				t.Errorf("%s and %s overlap", a.Name, b.Name)
			}
		}
	}
	svg := string(d.SVG)
	for _, w := range []string{
		`role="img"`, "api depends on signup", "signup depends on db", `class="node node-unhealthy`,
		"we&lt;ird&gt; &#34;name&#34;", `href="/#card-we-ird---name-"`, "singleton · started · unhealthy",
	} {
		if !strings.Contains(svg, w) {
			t.Errorf("SVG lacks %q", w)
		}
	}
	if strings.Contains(svg, "<ird>") {
		t.Error("a name reached the SVG unescaped")
	}
	if strings.Count(svg, "marker-end=") != 4 {
		t.Errorf("SVG has %d edges, want 4", strings.Count(svg, "marker-end="))
	}
	// Same input, same drawing.
	if again := layout(g, rep); again.SVG != d.SVG {
		t.Error("layout is not deterministic")
	}
	if empty := layout(registry.Graph{}, registry.Report{}); !strings.Contains(string(empty.SVG), "<svg") {
		t.Error("an empty graph draws no SVG")
	}
}

// TestLayoutOrdersColumns checks that barycenter ordering puts dependents
// next to what they depend on: with two chains a->x and b->y, the second
// column follows the first.
func TestLayoutOrdersColumns(t *testing.T) {
	t.Parallel()
	g := registry.Graph{Nodes: []registry.Node{
		{Name: "a", Deps: []string{"y"}}, {Name: "b", Deps: []string{"x"}}, {Name: "x"}, {Name: "y"},
	}}
	d := layout(g, registry.Report{})
	rows := map[string]int{}
	for _, n := range d.Nodes {
		rows[n.Name] = n.Row
	}
	if (rows["a"] < rows["b"]) != (rows["y"] < rows["x"]) {
		t.Errorf("edges cross: rows %v", rows)
	}
}
