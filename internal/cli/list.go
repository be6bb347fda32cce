package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/aegisgo/aegis/internal/catalog"
)

func newServicesCmd(env *Env) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "services",
		Short: "List the services aegis can add: what your app does",
		Long: `List the services by category, with their status and the components each requires.
A service marked "coming soon" is listed but cannot be generated yet.`,
		Example: "  aegis services\n  aegis services --json",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return list(cmd.OutOrStdout(), env.catalog(), catalog.KindService, catalog.ServiceCategories, asJSON)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func newComponentsCmd(env *Env) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:     "components",
		Short:   "List the components aegis can add: how your app works",
		Long:    `List the components by category, with their status and requirements.`,
		Example: "  aegis components\n  aegis components --json",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return list(cmd.OutOrStdout(), env.catalog(), catalog.KindComponent, catalog.ComponentCategories, asJSON)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

type listEntry struct {
	Name        string   `json:"name"`
	Category    string   `json:"category"`
	Status      string   `json:"status"`
	Description string   `json:"description"`
	Requires    []string `json:"requires"`
	// AlwaysOn is on every entry, false on most, so the shape of the JSON does not vary.
	AlwaysOn bool `json:"always_included"`
}

func list(w io.Writer, c catalog.Catalog, kind catalog.Kind, categories []string, asJSON bool) error {
	entries := c.OfKind(kind)
	if asJSON {
		out := make([]listEntry, 0, len(entries))
		for _, e := range entries {
			req := e.Requires
			if req == nil {
				req = []string{}
			}
			out = append(out, listEntry{e.Name, e.Category, string(e.Status), e.Description, req, e.AlwaysOn})
		}
		// One field per line: bench/*.sh read the names and statuses with awk. Descriptions
		// keep '&' as is ("AI & Machine Learning"): this is not HTML.
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode(out)
	}
	title := map[catalog.Kind]string{catalog.KindService: "Services: what your app does", catalog.KindComponent: "Components: how your app works"}[kind]
	fmt.Fprintf(w, "%s\n", title)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, cat := range categories {
		fmt.Fprintf(tw, "\n%s\n", cat)
		for _, e := range entries {
			if e.Category != cat {
				continue
			}
			status := string(e.Status)
			if e.AlwaysOn {
				status = "always included"
			}
			req := "-"
			if len(e.Requires) > 0 {
				req = "requires " + strings.Join(e.Requires, ", ")
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", e.Name, status, req, e.Description)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	flag := map[catalog.Kind]string{catalog.KindService: "--services", catalog.KindComponent: "--components"}[kind]
	fmt.Fprintf(w, "\nAdd to a new project with: aegis init NAME %s NAME[,NAME...]\n", flag)
	fmt.Fprintf(w, "Add to an existing project with: aegis add NAME... (in its folder)\n")
	return nil
}
