package frontend

import (
	"fmt"
	"slices"
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
		// A group, not an image, which would hide its nodes' links from screen readers.
		`role="group" aria-labelledby="graph-title" aria-describedby="graph-desc"`, "api depends on signup", "signup depends on db", `class="node node-unhealthy`,
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

// TestLayoutRoutesAroundNodes checks the geometry of graphs whose edges skip
// columns: no edge runs through a node other than its own two ends, nodes do
// not overlap, each skipped column holds one waypoint per edge, and the same
// graph (in any input order) gives the same bytes.
func TestLayoutRoutesAroundNodes(t *testing.T) {
	t.Parallel()
	node := func(name string, deps ...string) registry.Node {
		return registry.Node{Name: name, Kind: "service", Lifetime: "singleton", State: "started", Deps: deps}
	}
	for _, tc := range []struct {
		name  string
		nodes []registry.Node
	}{
		{"diamond plus long edges", []registry.Node{
			node("base"), node("left", "base"), node("right", "base"),
			node("top", "left", "right", "base"), node("app", "top", "base"),
		}},
		{"chain with shortcuts", []registry.Node{
			node("a", "b", "e"), node("b", "c", "d"), node("c", "d"), node("d", "e"), node("e"),
		}},
		{"wide layer", []registry.Node{
			node("root"), node("w1", "root"), node("w2", "root"), node("w3", "root"), node("w4", "root"),
			node("w5", "root"), node("w6", "root"), node("hub", "w1", "w2", "w3", "w4", "w5", "w6", "root"),
			node("x", "hub", "root"), node("y", "root", "x"),
		}},
		{"fifteen nodes", []registry.Node{
			node("config"), node("logger", "config"), node("database", "config", "logger"),
			node("cache", "config"), node("mailer", "config", "logger"), node("worker", "database", "logger"),
			node("sessions", "cache", "database"), node("auth", "sessions", "database", "config"),
			node("users", "database", "auth", "mailer"), node("billing", "users", "database", "worker"),
			node("scheduler", "config", "worker"), node("search", "database", "cache"),
			node("frontend", "auth", "users", "config", "search"), node("api", "auth", "billing", "users", "logger"),
			node("server", "api", "frontend", "config"),
		}},
		{"one node", []registry.Node{node("only")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			g := registry.Graph{Nodes: tc.nodes}
			d := layout(g, registry.Report{})

			wantEdges := 0
			for _, n := range tc.nodes {
				wantEdges += len(n.Deps)
			}
			if len(d.Edges) != wantEdges {
				t.Fatalf("%d edges, want %d", len(d.Edges), wantEdges)
			}
			for i, a := range d.Nodes {
				if a.X < graphPad || a.Y < graphPad || a.X+a.W > d.Width-graphPad || a.Y+graphNodeH > d.Height-graphPad {
					t.Errorf("%s at (%.1f,%.1f) lies outside %.0fx%.0f less padding", a.Name, a.X, a.Y, d.Width, d.Height)
				}
				for _, b := range d.Nodes[i+1:] {
					if a.X < b.X+b.W && b.X < a.X+a.W && a.Y < b.Y+graphNodeH && b.Y < a.Y+graphNodeH {
						t.Errorf("%s and %s overlap", a.Name, b.Name)
					}
				}
			}
			for _, e := range d.Edges {
				name := e.From.Name + "->" + e.To.Name
				if want := 2 * (e.From.Layer - e.To.Layer); len(e.Points) != want {
					t.Errorf("%s spans %d columns but has %d points, want %d", name, e.From.Layer-e.To.Layer, len(e.Points), want)
				}
				first, last := e.Points[0], e.Points[len(e.Points)-1]
				if first.X != e.From.X || first.Y < e.From.Y || first.Y > e.From.Y+graphNodeH {
					t.Errorf("%s starts at %v, not on the left side of %s", name, first, e.From.Name)
				}
				if last.X < e.To.X+e.To.W || last.X > e.To.X+e.To.W+2 || last.Y < e.To.Y || last.Y > e.To.Y+graphNodeH {
					t.Errorf("%s ends at %v, not at the right side of %s", name, last, e.To.Name)
				}
				for _, n := range d.Nodes {
					if n == e.From || n == e.To {
						continue
					}
					for _, seg := range flatten(e) {
						if segmentHitsRect(seg[0], seg[1], n.X, n.Y, n.X+n.W, n.Y+graphNodeH) {
							t.Errorf("%s runs through %s: segment %v-%v", name, n.Name, seg[0], seg[1])
							break
						}
					}
				}
			}
			svg := string(d.SVG)
			if n := strings.Count(svg, "marker-end="); n != wantEdges {
				t.Errorf("SVG draws %d edges, want %d", n, wantEdges)
			}
			for _, e := range d.Edges {
				if want := fmt.Sprintf(`<path d="M%.1f,%.1f`, e.Points[0].X, e.Points[0].Y); !strings.Contains(svg, want) {
					t.Errorf("SVG lacks the edge %s->%s starting %q", e.From.Name, e.To.Name, want)
				}
			}
			if again := layout(g, registry.Report{}); again.SVG != d.SVG {
				t.Error("layout is not deterministic")
			}
			reversed := registry.Graph{Nodes: slices.Clone(tc.nodes)}
			slices.Reverse(reversed.Nodes)
			if again := layout(reversed, registry.Report{}); again.SVG != d.SVG {
				t.Error("the order of the input changes the drawing")
			}
		})
	}
}

// flatten approximates an edge's pieces by short segments: 16 per curve.
func flatten(e *graphEdge) [][2]graphPoint {
	var out [][2]graphPoint
	for _, p := range e.Pieces() {
		const steps = 16
		prev := p.P0
		for i := 1; i <= steps; i++ {
			t := float64(i) / steps
			u := 1 - t
			at := func(a, b, c, d float64) float64 { return u*u*u*a + 3*u*u*t*b + 3*u*t*t*c + t*t*t*d }
			next := graphPoint{at(p.P0.X, p.C1.X, p.C2.X, p.P1.X), at(p.P0.Y, p.C1.Y, p.C2.Y, p.P1.Y)}
			out = append(out, [2]graphPoint{prev, next})
			prev = next
		}
	}
	return out
}

// segmentHitsRect reports whether segment a-b meets the closed rectangle
// [x0,x1]x[y0,y1] (Liang-Barsky clipping).
func segmentHitsRect(a, b graphPoint, x0, y0, x1, y1 float64) bool {
	t0, t1 := 0.0, 1.0
	dx, dy := b.X-a.X, b.Y-a.Y
	for _, c := range [4][2]float64{{-dx, a.X - x0}, {dx, x1 - a.X}, {-dy, a.Y - y0}, {dy, y1 - a.Y}} {
		p, q := c[0], c[1]
		switch {
		case p == 0:
			if q < 0 {
				return false // parallel to this side and outside it
			}
		case p < 0:
			t0 = max(t0, q/p)
		default:
			t1 = min(t1, q/p)
		}
	}
	return t0 <= t1
}

// TestSegmentHitsRect checks the checker: a test that cannot fail proves nothing.
func TestSegmentHitsRect(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		a, b graphPoint
		want bool
	}{
		{"through", graphPoint{0, 5}, graphPoint{20, 5}, true},
		{"diagonal through a corner region", graphPoint{0, 0}, graphPoint{20, 20}, true},
		{"inside", graphPoint{12, 4}, graphPoint{13, 6}, true},
		{"touching a side", graphPoint{0, 0}, graphPoint{10, 0}, true},
		{"above", graphPoint{0, -1}, graphPoint{20, -1}, false},
		{"short of it", graphPoint{0, 5}, graphPoint{9, 5}, false},
		{"diagonal past a corner", graphPoint{0, 9}, graphPoint{9, 0}, false},
		{"vertical beside it", graphPoint{21, -5}, graphPoint{21, 15}, false},
	} {
		if got := segmentHitsRect(tc.a, tc.b, 10, 0, 20, 10); got != tc.want {
			t.Errorf("%s: segmentHitsRect(%v, %v) = %v, want %v", tc.name, tc.a, tc.b, got, tc.want)
		}
	}
	// The defect this layout fixes: drawn straight, the shortcut a->c of the
	// chain a->b->c runs through b.
	d := layout(registry.Graph{Nodes: []registry.Node{
		{Name: "a", Deps: []string{"b", "c"}}, {Name: "b", Deps: []string{"c"}}, {Name: "c"},
	}}, registry.Report{})
	pos := map[string]*graphNode{}
	for _, n := range d.Nodes {
		pos[n.Name] = n
	}
	a, b, c := pos["a"], pos["b"], pos["c"]
	b.Y = a.Y // as the old layout had it: one node a column, all centred
	c.Y = a.Y
	if !segmentHitsRect(graphPoint{a.X, a.Y + graphNodeH/2}, graphPoint{c.X + c.W, c.Y + graphNodeH/2}, b.X, b.Y, b.X+b.W, b.Y+graphNodeH) {
		t.Error("a straight shortcut through the middle column is not caught")
	}
}
