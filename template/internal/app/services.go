package app

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/aegisgo/aegis/template/internal/command"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
)

// graphFormats are the values --format accepts, in the order help lists them.
var graphFormats = []string{"mermaid", "dot", "json"}

func (a *cli) servicesCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "services",
		Short: "List every component and service and what each depends on",
		Long: `List every component and service and what each depends on.

The list is built in this process from what the binary registers, without
starting anything or touching the network: it works without a database and
validates the wiring (a missing dependency or a cycle is an error here too).
STATE is "registered" because nothing is started; a running server's states
are at /health/services.`,
		Example: fmt.Sprintf(`  %[1]s services
  %[1]s services graph --format dot | dot -Tsvg > services.svg`, a.name),
		// Arguments reach RunE, so that a mistyped subcommand gets command.Group's
		// "did you mean" like every other group's ("services grph": "graph").
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return command.Group(cmd, args)
			}
			g, err := a.graph()
			if err != nil {
				return err
			}
			return printServices(cmd.OutOrStdout(), g)
		},
	}
	cmd.AddCommand(a.servicesGraphCmd())
	return cmd
}

func (a *cli) graph() (registry.Graph, error) {
	// Built as serve builds it (with the core settings and a role), but never started.
	c, _, err := a.env().Build(command.RoleNone)
	if err != nil {
		return registry.Graph{}, err
	}
	return c.Graph(), nil
}

func printServices(w io.Writer, g registry.Graph) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tKIND\tLIFETIME\tSTATE\tDEPENDS ON")
	for _, n := range g.Nodes {
		deps := strings.Join(n.Deps, ", ")
		if deps == "" {
			deps = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", n.Name, n.Kind, n.Lifetime, n.State, deps)
	}
	return tw.Flush()
}

func (a *cli) servicesGraphCmd() *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "graph",
		Short: "Print the dependency graph as Mermaid, Graphviz DOT or JSON",
		Long: `Print the dependency graph as Mermaid (default), Graphviz DOT or JSON.

Mermaid renders in GitHub and GitLab markdown; DOT feeds Graphviz; JSON is the
same document as GET /health/services on a running server.`,
		Example: fmt.Sprintf(`  %[1]s services graph
  %[1]s services graph --format dot | dot -Tpng > services.png
  %[1]s services graph --format json | jq '.nodes[].name'`, a.name),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !slices.Contains(graphFormats, format) {
				return usageErr(cmd, "unknown --format %q; use one of %s", format, strings.Join(graphFormats, ", "))
			}
			g, err := a.graph()
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			switch format {
			case "dot":
				_, err = io.WriteString(out, withNewline(g.DOT()))
			case "json":
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				err = enc.Encode(g)
			default:
				_, err = io.WriteString(out, withNewline(g.Mermaid()))
			}
			return err
		},
	}
	cmd.Flags().StringVar(&format, "format", "mermaid", "output format: "+strings.Join(graphFormats, ", "))
	return cmd
}

func withNewline(s string) string {
	if strings.HasSuffix(s, "\n") {
		return s
	}
	return s + "\n"
}
