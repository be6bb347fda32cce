package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/aegisgo/aegis/internal/project"
)

func newAddCmd(env *Env) *cobra.Command {
	var o growOpts
	cmd := &cobra.Command{
		Use:   "add [NAME...]",
		Short: "Add components or services to a project",
		Long: `Add components or services to the project in the current folder or the nearest one above
it (or --project-path).

The components they require are added too, and add says so. Add writes the new files,
re-renders the shared ones (go.mod, go.sum, import files, README, .env.example, ...) and
appends a random value to .env for each new secret. A shared file you changed is merged
with the new version; if your changes overlap, add stops and names the file. The result is
byte for byte what 'aegis init' would generate with the same selection.

Without names, at a terminal, add asks which of the parts the project lacks to add.

Add asks before writing; without a terminal it reads the answer from stdin as init does
(y or n, an empty line means yes). --yes skips the question.`,
		Example: `  aegis add cache
  aegis add auth --dry-run
  aegis add worker scheduler -p ~/src/my-api --yes`,
		Args: needNames(env, "add", false),
		RunE: func(cmd *cobra.Command, args []string) error {
			return growNames(cmd.Context(), env, o, "add", false, args, runAdd)
		},
	}
	growFlags(cmd, &o, true)
	return cmd
}

func runAdd(ctx context.Context, env *Env, p *project.Project, names []string, o growOpts) error {
	pl, err := p.PlanAdd(names)
	if err != nil {
		return err
	}
	out := env.Stdout
	for _, a := range pl.Added {
		fmt.Fprintf(out, "+ adding component '%s': %s '%s' requires it\n", a.Name, a.ByKind, a.RequiredBy)
	}
	fmt.Fprintf(out, "Adding %s to %s%s\n", ownerList(pl.NewOwners), p.Manifest.Name, glueNote(pl.NewOwners))
	applied, err := apply(ctx, env, p, pl, o, "write", nil)
	if err != nil || !applied {
		return err
	}
	fmt.Fprintf(out, "Added %s%s.\n", ownerList(pl.NewOwners), glueNote(pl.NewOwners))
	if len(pl.Migrations) > 0 {
		// The names the app runs them under, which 'migrate status' and 'migrate down --owner'
		// show and take, not the catalog's.
		names := make([]string, len(pl.Migrations))
		for i, m := range pl.Migrations {
			names[i] = m.Name
		}
		fmt.Fprintf(out, "The migrations of %s run with the next 'go run ./cmd/%s migrate up' (serve runs them too).\n",
			strings.Join(names, ", "), p.Manifest.Name)
	}
	printTidy(out, pl)
	printLostComments(out, pl)
	printNext(out, p.Dir, "")
	return nil
}
