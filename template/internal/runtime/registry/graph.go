package registry

import (
	"fmt"
	"sort"
	"strings"
)

// State is where a service is in its lifecycle. Scoped and transient services stay
// registered: their instances live in scopes.
type State string

const (
	StateRegistered State = "registered"
	StateStarting   State = "starting"
	StateStarted    State = "started"
	StateFailed     State = "failed"
	StateStopping   State = "stopping"
	StateStopped    State = "stopped"
)

var stateNames = [...]State{
	stateRegistered: StateRegistered,
	stateStarting:   StateStarting,
	stateStarted:    StateStarted,
	stateFailed:     StateFailed,
	stateStopping:   StateStopping,
	stateStopped:    StateStopped,
}

// Node is one service in a Graph.
type Node struct {
	Name        string   `json:"name"`
	Type        string   `json:"type"` // Go type, e.g. *services.UserService
	Kind        string   `json:"kind"`
	Lifetime    string   `json:"lifetime"`
	State       string   `json:"state"`
	Description string   `json:"description"`
	Registered  string   `json:"registered"` // file:line of the registration
	Deps        []string `json:"deps"`       // names, in constructor parameter order
	Optional    bool     `json:"optional"`
	Error       string   `json:"error,omitempty"` // why it failed, when State is failed
	// AliasOf names a binding's target: the same instance, so its health is the target's.
	AliasOf string `json:"alias_of,omitempty"`
}

// Graph is the services of a Container and their dependencies, for the services command, the
// dashboard and docs.
type Graph struct {
	Nodes []Node `json:"nodes"` // sorted by name
}

// Graph returns a snapshot of the services with their current states. A binding has the
// lifetime and state of its target, and the target as its only dependency.
func (c *Container) Graph() Graph {
	if c == nil {
		return Graph{Nodes: []Node{}}
	}
	nodes := make([]Node, 0, len(c.nodes))
	for _, n := range c.nodes {
		if n.e.hidden {
			continue
		}
		t := n.target
		node := Node{
			Name: n.name(), Type: n.e.typ.String(), Kind: n.e.kind, Lifetime: t.e.lifetime.String(),
			State: string(stateNames[t.state.Load()]), Description: n.e.desc, Registered: n.e.loc.String(),
			Deps: []string{}, Optional: n.e.optional,
		}
		if t.state.Load() == stateFailed {
			node.Error = bare(t.err)
		}
		if t != n {
			node.AliasOf = t.name()
		}
		seen := map[string]bool{}
		for _, d := range visibleDeps(n.deps) {
			if !seen[d.name()] {
				seen[d.name()] = true
				node.Deps = append(node.Deps, d.name())
			}
		}
		nodes = append(nodes, node)
	}
	sort.Slice(nodes, func(i, j int) bool { return nodes[i].Name < nodes[j].Name })
	return Graph{Nodes: nodes}
}

// Mermaid renders the graph as a Mermaid flowchart; an edge points from a service to what it
// depends on, and failed services are outlined in red.
func (g Graph) Mermaid() string {
	var b strings.Builder
	b.WriteString("flowchart LR\n")
	ids := g.ids()
	for i, n := range g.Nodes {
		label := fmt.Sprintf("%s<br/>%s · %s", n.Name, n.Lifetime, n.State)
		fmt.Fprintf(&b, "    n%d[\"%s\"]\n", i, mermaidEscape(label))
	}
	for i, n := range g.Nodes {
		for _, d := range n.Deps {
			if j, ok := ids[d]; ok {
				fmt.Fprintf(&b, "    n%d --> n%d\n", i, j)
			}
		}
	}
	var failed []string
	for i, n := range g.Nodes {
		if n.State == string(StateFailed) {
			failed = append(failed, fmt.Sprintf("n%d", i))
		}
	}
	if len(failed) > 0 {
		b.WriteString("    classDef failed stroke:#d33,stroke-width:2px\n")
		fmt.Fprintf(&b, "    class %s failed\n", strings.Join(failed, ","))
	}
	return b.String()
}

// DOT renders the graph in Graphviz's DOT language; an edge points from a service to what it
// depends on.
func (g Graph) DOT() string {
	var b strings.Builder
	b.WriteString("digraph services {\n\trankdir=LR;\n\tnode [shape=box];\n")
	for _, n := range g.Nodes {
		attrs := ""
		if n.State == string(StateFailed) {
			attrs = ", color=red"
		}
		fmt.Fprintf(&b, "\t%s [label=%s%s];\n", dotQuote(n.Name), dotQuote(n.Name+"\n"+n.Lifetime+", "+n.State), attrs)
	}
	ids := g.ids()
	for _, n := range g.Nodes {
		for _, d := range n.Deps {
			if _, ok := ids[d]; ok {
				fmt.Fprintf(&b, "\t%s -> %s;\n", dotQuote(n.Name), dotQuote(d))
			}
		}
	}
	b.WriteString("}\n")
	return b.String()
}

func (g Graph) ids() map[string]int {
	ids := make(map[string]int, len(g.Nodes))
	for i, n := range g.Nodes {
		ids[n.Name] = i
	}
	return ids
}

// mermaidEscape keeps a label inside its quotes: Mermaid uses HTML entity codes.
var mermaidEscape = strings.NewReplacer(`"`, "#quot;", "<br/>", "<br/>", "<", "#lt;", ">", "#gt;").Replace

func dotQuote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s) + `"`
}

// visibleDeps replaces a dependency on contributions (a hidden node) with what that node
// depends on: Maybe[T] shows as T when T is a service, All and One as nothing.
func visibleDeps(deps []*node) []*node {
	var out []*node
	for _, d := range deps {
		if d.e.hidden {
			out = append(out, visibleDeps(d.deps)...)
			continue
		}
		out = append(out, d)
	}
	return out
}
