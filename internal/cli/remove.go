package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

func newRemoveCmd(env *Env) *cobra.Command {
	var o growOpts
	cmd := &cobra.Command{
		Use:   "remove NAME...",
		Short: "Remove components or services from a project",
		Long: `Remove components or services from the project in the current folder (or --project-path).

Remove refuses the components every project has (backend, frontend) and anything another
selected component or service requires. It deletes the files of what is removed and
re-renders the shared ones; a file you changed is never deleted: remove stops and names it.
Database tables are kept: remove prints them and how to drop them.`,
		Example: `  aegis remove cache
  aegis remove auth --dry-run`,
		Args: needNames("remove"),
		RunE: func(cmd *cobra.Command, args []string) error {
			err := runRemove(cmd.Context(), env, args, o)
			return onClosedInput(err, "remove's confirmation was", "pass --yes to apply the changes without asking; nothing was changed")
		},
	}
	growFlags(cmd, &o, true)
	return cmd
}

func runRemove(ctx context.Context, env *Env, names []string, o growOpts) error {
	p, err := load(env, o.path)
	if err != nil {
		return err
	}
	pl, err := p.PlanRemove(names)
	if err != nil {
		return err
	}
	out := env.Stdout
	fmt.Fprintf(out, "Removing %s from %s\n", strings.Join(pl.GoneOwners, ", "), p.Manifest.Name)
	applied, err := apply(ctx, env, p, pl, o, "change")
	if err != nil || !applied {
		return err
	}
	fmt.Fprintf(out, "Removed %s.\n", strings.Join(pl.GoneOwners, ", "))
	for _, owner := range pl.GoneOwners {
		tables := pl.Tables[owner]
		if len(tables) == 0 {
			continue
		}
		fmt.Fprintf(out, "Database tables of '%s' were not dropped: %s, and its version table goose_db_version_%s.\n",
			owner, strings.Join(tables, ", "), owner)
		fmt.Fprintf(out, "  To drop them, restore the previous commit and run 'go run ./cmd/%s migrate down --owner %s' once per applied migration before removing again,\n  or drop them by hand: DROP TABLE %s, goose_db_version_%s;\n",
			p.Manifest.Name, owner, strings.Join(tables, ", "), owner)
	}
	fmt.Fprintln(out, "Next: go build ./... && go test ./...   (git diff shows every change)")
	return nil
}
