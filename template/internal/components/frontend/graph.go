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
	graphWayH    = 8   // height reserved in a column for an edge passing through it
	graphNameW   = 8.2 // width of one character of a name (13px monospace)
	graphSubW    = 6.9 // width of one character of the second line (11px monospace)
	graphNodePad = 20
	graphMinW    = 120
	graphSweeps  = 4 // barycenter sweeps (each right then left); plenty for a few dozen nodes
)

// graphNode is a node placed on the diagram.
type graphNode struct {
	registry.Node
	Health     string
	Layer, Row int // Row counts the edges' waypoints in the column too
	X, Y, W    float64
	Dependents []string
}

// graphPoint is a point of the diagram.
type graphPoint struct{ X, Y float64 }

// graphEdge is a drawn dependency: From depends on To, which lies in a column
// to its left. Points run from From's left side to To's right side; an edge
// that skips columns crosses each column in between horizontally, through a
// waypoint slot reserved there, so it never runs through a node.
type graphEdge struct {
	From, To *graphNode
	Points   []graphPoint
}

// graphPiece is one stretch of an edge as a cubic Bézier curve: a straight
// line through a column, or an S-curve across the gap between two columns,
// whose control points keep it inside the gap (no node lies there).
type graphPiece struct {
	P0, C1, C2, P1 graphPoint
	Straight       bool
}

// Pieces returns the edge's stretches, in drawing order.
func (e *graphEdge) Pieces() []graphPiece {
	out := make([]graphPiece, 0, len(e.Points)-1)
	for i := 1; i < len(e.Points); i++ {
		a, b := e.Points[i-1], e.Points[i]
		if i%2 == 0 { // a column crossed: a waypoint's two ends, level
			out = append(out, graphPiece{P0: a, C1: a, C2: b, P1: b, Straight: true})
			continue
		}
		mid := (a.X + b.X) / 2
		out = append(out, graphPiece{P0: a, C1: graphPoint{mid, a.Y}, C2: graphPoint{mid, b.Y}, P1: b})
	}
	return out
}

// Diagram is the laid-out service graph: what the SVG draws, exposed so tests
// can check its geometry.
type Diagram struct {
	Nodes  []*graphNode // in name order, for the table
	Edges  []*graphEdge // by dependent's name, then in the order of its Deps
	Layers int
	Width  float64
	Height float64
	SVG    template.HTML
}

// graphSlot is one place in a column: a node, or a waypoint of an edge that
// skips the column (the "virtual node" of a layered drawing).
type graphSlot struct {
	node        *graphNode // nil for a waypoint
	layer, pos  int
	left, right []*graphSlot // neighbours in the columns either side
	y, h        float64      // top and height
}

// layout draws the graph the layered (Sugiyama) way: every node goes in a
// column by its dependency depth (0: depends on nothing); an edge that skips
// columns gets a waypoint in each column it crosses, so every link joins
// neighbouring columns; barycenter sweeps order each column to cut crossings;
// then columns are stacked and centred, and the result drawn as SVG. The same
// graph always gives the same bytes: everything is ordered by name, and
// sorts are stable.
func layout(g registry.Graph, rep registry.Report) Diagram {
	checks := checksByName(rep)
	byName := make(map[string]*graphNode, len(g.Nodes))
	nodes := make([]*graphNode, 0, len(g.Nodes))
	for _, n := range g.Nodes {
		gn := &graphNode{Node: n}
		if c, ok := checkOf(checks, n); ok {
			gn.Health = string(c.Status)
		}
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

	// Slots: nodes in name order, then the waypoints of each long edge.
	cols := make([][]*graphSlot, layers)
	slotOf := make(map[*graphNode]*graphSlot, len(nodes))
	for _, n := range nodes {
		sl := &graphSlot{node: n, layer: n.Layer, h: graphNodeH}
		slotOf[n] = sl
		cols[n.Layer] = append(cols[n.Layer], sl)
	}
	var edges []*graphEdge
	chains := map[*graphEdge][]*graphSlot{} // an edge's slots, from From to To
	for _, n := range nodes {
		for _, name := range n.Deps {
			dep, ok := byName[name]
			if !ok {
				continue
			}
			e := &graphEdge{From: n, To: dep}
			edges = append(edges, e)
			chain := []*graphSlot{slotOf[n]}
			for l := n.Layer - 1; l > dep.Layer; l-- {
				w := &graphSlot{layer: l, h: graphWayH}
				cols[l] = append(cols[l], w)
				chain = append(chain, w)
			}
			chain = append(chain, slotOf[dep])
			for i := 1; i < len(chain); i++ {
				if chain[i].layer >= chain[i-1].layer {
					break // only a cycle gets here; draw it without links
				}
				chain[i-1].left = append(chain[i-1].left, chain[i])
				chain[i].right = append(chain[i].right, chain[i-1])
			}
			chains[e] = chain
		}
	}
	order(cols)

	// Coordinates: columns as wide as their widest node, each stacked and
	// centred vertically on the tallest.
	colH := func(col []*graphSlot) float64 {
		h := 0.0
		for _, sl := range col {
			h += sl.h + graphRowGap
		}
		return max(h-graphRowGap, 0)
	}
	fullH := 0.0
	for _, col := range cols {
		fullH = max(fullH, colH(col))
	}
	colX := make([]float64, layers)
	colW := make([]float64, layers)
	x := float64(graphPad)
	for l, col := range cols {
		w := float64(graphMinW)
		for _, sl := range col {
			if n := sl.node; n != nil {
				w = max(w, float64(len(n.Name))*graphNameW+graphNodePad, float64(len(subtitle(n)))*graphSubW+graphNodePad)
			}
		}
		y := graphPad + (fullH-colH(col))/2
		for _, sl := range col {
			sl.y = y
			if n := sl.node; n != nil {
				n.X, n.Y, n.W, n.Row = x, y, w, sl.pos
			}
			y += sl.h + graphRowGap
		}
		colX[l], colW[l] = x, w
		x += w + graphColGap
	}
	for _, e := range edges {
		chain := chains[e]
		e.Points = append(e.Points, graphPoint{e.From.X, e.From.Y + graphNodeH/2})
		for _, w := range chain[1 : len(chain)-1] {
			y := w.y + w.h/2
			e.Points = append(e.Points, graphPoint{colX[w.layer] + colW[w.layer], y}, graphPoint{colX[w.layer], y})
		}
		// One unit off the node's side, where the arrowhead's tip ends.
		e.Points = append(e.Points, graphPoint{e.To.X + e.To.W + 1, e.To.Y + graphNodeH/2})
	}
	d := Diagram{Nodes: nodes, Edges: edges, Layers: layers, Width: x - graphColGap + graphPad, Height: fullH + 2*graphPad}
	if len(nodes) == 0 {
		d.Width, d.Height = 2*graphPad, 2*graphPad
	}
	d.SVG = d.draw()
	return d
}

// order sorts each column to cut edge crossings: barycenter sweeps order a
// column by the mean position of its neighbours in the column just ordered,
// left to right, then right to left; the order with the fewest crossings
// seen wins (the first, on a tie).
func order(cols [][]*graphSlot) {
	setPos := func(col []*graphSlot) {
		for i, sl := range col {
			sl.pos = i
		}
	}
	for _, col := range cols {
		setPos(col)
	}
	sortCol := func(col []*graphSlot, nb func(*graphSlot) []*graphSlot) {
		keys := make(map[*graphSlot]float64, len(col))
		for _, sl := range col {
			keys[sl] = float64(sl.pos) // no neighbours there: stay put
			if ns := nb(sl); len(ns) > 0 {
				sum := 0.0
				for _, o := range ns {
					sum += float64(o.pos)
				}
				keys[sl] = sum / float64(len(ns))
			}
		}
		slices.SortStableFunc(col, func(a, b *graphSlot) int { return cmp.Compare(keys[a], keys[b]) })
		setPos(col)
	}
	best, bestN := snapshot(cols), crossings(cols)
	for range graphSweeps {
		if bestN == 0 {
			break
		}
		for l := 1; l < len(cols); l++ {
			sortCol(cols[l], func(sl *graphSlot) []*graphSlot { return sl.left })
		}
		for l := len(cols) - 2; l >= 0; l-- {
			sortCol(cols[l], func(sl *graphSlot) []*graphSlot { return sl.right })
		}
		if n := crossings(cols); n < bestN {
			best, bestN = snapshot(cols), n
		}
	}
	for l := range cols {
		cols[l] = best[l]
		setPos(cols[l])
	}
}

func snapshot(cols [][]*graphSlot) [][]*graphSlot {
	out := make([][]*graphSlot, len(cols))
	for l, col := range cols {
		out[l] = slices.Clone(col)
	}
	return out
}

// crossings counts pairs of links between neighbouring columns that cross.
func crossings(cols [][]*graphSlot) int {
	n := 0
	for _, col := range cols {
		type link struct{ a, b int }
		var links []link
		for _, sl := range col {
			for _, o := range sl.left {
				links = append(links, link{sl.pos, o.pos})
			}
		}
		for i, p := range links {
			for _, q := range links[i+1:] {
				if (p.a-q.a)*(p.b-q.b) < 0 {
					n++
				}
			}
		}
	}
	return n
}

func subtitle(n *graphNode) string {
	s := n.Lifetime + " · " + n.State
	if n.Health != "" {
		s += " · " + n.Health
	}
	return s
}

// draw writes the SVG. Every text goes through html.EscapeString, which is
// enough for text and quoted attributes in inline SVG. It is a named group, not an image:
// the children of role="img" are presentational, so its nodes' links, which the keyboard
// reaches, would lose their role and name in browsers that follow ARIA there (Safari and
// Firefox with their screen readers).
func (d Diagram) draw() template.HTML {
	var b strings.Builder
	esc := html.EscapeString
	fmt.Fprintf(&b, `<svg class="graph" viewBox="0 0 %.0f %.0f" width="%.0f" height="%.0f" role="group" aria-labelledby="graph-title" aria-describedby="graph-desc">`,
		d.Width, d.Height, d.Width, d.Height)
	b.WriteString(`<title id="graph-title">Service graph</title>`)
	fmt.Fprintf(&b, `<desc id="graph-desc">%d components and services in %d layers by dependency depth; arrows point from a service to what it depends on. The table below lists the same.</desc>`, len(d.Nodes), d.Layers)
	b.WriteString(`<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0L10,5L0,10z" class="arrowhead"/></marker></defs>`)
	b.WriteString(`<g class="edges">`)
	for _, e := range d.Edges {
		fmt.Fprintf(&b, `<path d="M%.1f,%.1f`, e.Points[0].X, e.Points[0].Y)
		for _, p := range e.Pieces() {
			if p.Straight {
				fmt.Fprintf(&b, ` L%.1f,%.1f`, p.P1.X, p.P1.Y)
			} else {
				fmt.Fprintf(&b, ` C%.1f,%.1f %.1f,%.1f %.1f,%.1f`, p.C1.X, p.C1.Y, p.C2.X, p.C2.Y, p.P1.X, p.P1.Y)
			}
		}
		fmt.Fprintf(&b, `" marker-end="url(#arrow)"><title>%s depends on %s</title></path>`, esc(e.From.Name), esc(e.To.Name))
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

func (s *site) diagram(req *http.Request, d *Dashboard) Diagram {
	return layout(s.c.Graph(), s.c.SharedHealth(req.Context(), s.timeout, d.reportMaxAge))
}

func (s *site) graph(w http.ResponseWriter, req *http.Request, d *Dashboard) {
	s.render(w, req, d, "graph", "layout", s.page(w, req, d, "graph", "Service graph", s.diagram(req, d)))
}

func (s *site) graphFragment(w http.ResponseWriter, req *http.Request, d *Dashboard) {
	s.render(w, req, d, "graph", "live", s.diagram(req, d))
}
