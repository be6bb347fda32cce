package frontend

import (
	"cmp"
	"fmt"
	"html"
	"html/template"
	"net/http"
	"slices"
	"strings"

	"github.com/aegisgo/aegis/template/internal/runtime/registry"
)

// Geometry of the service graph, in SVG user units (CSS pixels at 100%).
const (
	graphPad     = 16
	graphColGap  = 72
	graphRowGap  = 14
	graphNodeH   = 46
	graphNameW   = 8.2 // width of one character of a name (13px monospace)
	graphSubW    = 6.9 // width of one character of the second line (11px monospace)
	graphNodePad = 20
	graphMinW    = 120
)

// graphNode is a node placed on the diagram.
type graphNode struct {
	registry.Node
	Health     string
	Layer, Row int
	X, Y, W    float64
	Dependents []string
}

// Diagram is the laid-out service graph.
type Diagram struct {
	Nodes  []*graphNode // in name order, for the table
	Layers int
	Width  float64
	Height float64
	SVG    template.HTML
}

// layout places every node in a column by its dependency depth (0: depends
// on nothing), orders each column to cut edge crossings (barycenter sweeps),
// and draws the result as SVG.
func layout(g registry.Graph, rep registry.Report) Diagram {
	health := map[string]string{}
	for _, c := range rep.Checks {
		health[c.Name] = string(c.Status)
	}
	byName := make(map[string]*graphNode, len(g.Nodes))
	nodes := make([]*graphNode, 0, len(g.Nodes))
	for _, n := range g.Nodes {
		gn := &graphNode{Node: n, Health: health[n.Name]}
		byName[n.Name] = gn
		nodes = append(nodes, gn)
	}
	slices.SortFunc(nodes, func(a, b *graphNode) int { return cmp.Compare(a.Name, b.Name) })
	for _, n := range nodes {
		for _, d := range n.Deps {
			if dep, ok := byName[d]; ok {
				dep.Dependents = append(dep.Dependents, n.Name)
			}
		}
	}

	// Depth: longest path to a node without dependencies. The registry
	// rejects cycles at Build; onPath guards against one anyway.
	depth := map[string]int{}
	onPath := map[string]bool{}
	var depthOf func(n *graphNode) int
	depthOf = func(n *graphNode) int {
		if d, ok := depth[n.Name]; ok {
			return d
		}
		if onPath[n.Name] {
			return 0
		}
		onPath[n.Name] = true
		d := 0
		for _, name := range n.Deps {
			if dep, ok := byName[name]; ok {
				d = max(d, depthOf(dep)+1)
			}
		}
		onPath[n.Name] = false
		depth[n.Name] = d
		return d
	}
	layers := 0
	for _, n := range nodes {
		n.Layer = depthOf(n)
		layers = max(layers, n.Layer+1)
	}
	cols := make([][]*graphNode, layers)
	for _, n := range nodes {
		cols[n.Layer] = append(cols[n.Layer], n)
	}
	setRows := func(col []*graphNode) {
		for i, n := range col {
			n.Row = i
		}
	}
	for _, col := range cols {
		setRows(col)
	}
	// Barycenter sweeps: order a column by the mean row of its neighbours in
	// the column already ordered, right then left, a few times.
	mean := func(names []string, layer func(int) bool) (float64, bool) {
		sum, k := 0.0, 0
		for _, name := range names {
			if o, ok := byName[name]; ok && layer(o.Layer) {
				sum += float64(o.Row)
				k++
			}
		}
		if k == 0 {
			return 0, false
		}
		return sum / float64(k), true
	}
	sortCol := func(col []*graphNode, key func(*graphNode) (float64, bool)) {
		keys := make(map[*graphNode]float64, len(col))
		for _, n := range col {
			if v, ok := key(n); ok {
				keys[n] = v
			} else {
				keys[n] = float64(n.Row)
			}
		}
		slices.SortStableFunc(col, func(a, b *graphNode) int { return cmp.Compare(keys[a], keys[b]) })
		setRows(col)
	}
	for range 3 {
		for i := 1; i < layers; i++ {
			sortCol(cols[i], func(n *graphNode) (float64, bool) {
				return mean(n.Deps, func(l int) bool { return l < i })
			})
		}
		for i := layers - 2; i >= 0; i-- {
			sortCol(cols[i], func(n *graphNode) (float64, bool) {
				return mean(n.Dependents, func(l int) bool { return l > i })
			})
		}
	}

	// Coordinates: columns as wide as their widest node, each centred
	// vertically on the tallest.
	tallest := 0
	for _, col := range cols {
		tallest = max(tallest, len(col))
	}
	fullH := float64(tallest)*(graphNodeH+graphRowGap) - graphRowGap
	x := float64(graphPad)
	for _, col := range cols {
		w := float64(graphMinW)
		for _, n := range col {
			w = max(w, float64(len(n.Name))*graphNameW+graphNodePad, float64(len(subtitle(n)))*graphSubW+graphNodePad)
		}
		colH := float64(len(col))*(graphNodeH+graphRowGap) - graphRowGap
		y := graphPad + (fullH-colH)/2
		for _, n := range col {
			n.X, n.Y, n.W = x, y, w
			y += graphNodeH + graphRowGap
		}
		x += w + graphColGap
	}
	d := Diagram{Nodes: nodes, Layers: layers, Width: x - graphColGap + graphPad, Height: fullH + 2*graphPad}
	if len(nodes) == 0 {
		d.Width, d.Height = 2*graphPad, 2*graphPad
	}
	d.SVG = d.draw(byName)
	return d
}

func subtitle(n *graphNode) string {
	s := n.Lifetime + " · " + n.State
	if n.Health != "" {
		s += " · " + n.Health
	}
	return s
}

// draw writes the SVG. Every text goes through html.EscapeString, which is
// enough for text and quoted attributes in inline SVG.
func (d Diagram) draw(byName map[string]*graphNode) template.HTML {
	var b strings.Builder
	esc := html.EscapeString
	fmt.Fprintf(&b, `<svg class="graph" viewBox="0 0 %.0f %.0f" width="%.0f" height="%.0f" role="img" aria-labelledby="graph-title graph-desc">`,
		d.Width, d.Height, d.Width, d.Height)
	b.WriteString(`<title id="graph-title">Service graph</title>`)
	fmt.Fprintf(&b, `<desc id="graph-desc">%d components and services in %d layers by dependency depth; arrows point from a service to what it depends on. The table below lists the same.</desc>`, len(d.Nodes), d.Layers)
	b.WriteString(`<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0L10,5L0,10z" class="arrowhead"/></marker></defs>`)
	b.WriteString(`<g class="edges">`)
	for _, n := range d.Nodes {
		for _, name := range n.Deps {
			dep, ok := byName[name]
			if !ok {
				continue
			}
			x1, y1 := n.X, n.Y+graphNodeH/2
			x2, y2 := dep.X+dep.W, dep.Y+graphNodeH/2
			mid := (x1 + x2) / 2
			fmt.Fprintf(&b, `<path d="M%.1f,%.1f C%.1f,%.1f %.1f,%.1f %.1f,%.1f" marker-end="url(#arrow)"><title>%s depends on %s</title></path>`,
				x1, y1, mid, y1, mid, y2, x2+1, y2, esc(n.Name), esc(dep.Name))
		}
	}
	b.WriteString(`</g><g class="nodes">`)
	for _, n := range d.Nodes {
		health := n.Health
		if health == "" {
			health = "none"
		}
		fmt.Fprintf(&b, `<a href="/#%s" class="node node-%s state-%s kind-%s">`, esc(anchor(n.Name)), esc(health), esc(n.State), esc(n.Kind))
		fmt.Fprintf(&b, `<title>%s (%s): %s</title>`, esc(n.Name), esc(n.Kind), esc(subtitle(n)))
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%d" rx="6"/>`, n.X, n.Y, n.W, graphNodeH)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" class="n">%s</text>`, n.X+10, n.Y+19, esc(n.Name))
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" class="s">%s</text>`, n.X+10, n.Y+36, esc(subtitle(n)))
		b.WriteString(`</a>`)
	}
	b.WriteString(`</g></svg>`)
	// Built from escaped text and numbers only.
	return template.HTML(b.String())
}

func (s *site) diagram(req *http.Request) Diagram {
	return layout(s.c.Graph(), s.c.CheckHealth(req.Context(), s.timeout))
}

func (s *site) graph(w http.ResponseWriter, req *http.Request, d *Dashboard) {
	s.render(w, req, d, "graph", "layout", s.page(w, req, d, "graph", "Service graph", s.diagram(req)))
}

func (s *site) graphFragment(w http.ResponseWriter, req *http.Request, d *Dashboard) {
	s.render(w, req, d, "graph", "live", s.diagram(req))
}
