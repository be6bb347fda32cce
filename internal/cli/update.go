package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/aegisgo/aegis/internal/generate"
	"github.com/aegisgo/aegis/internal/project"
)

func newUpdateCmd(env *Env) *cobra.Command {
	var o growOpts
	cmd := &cobra.Command{
		Use:   "update",
		Short: "Re-render a project with this version of aegis",
		Long: `Re-render the project in the current folder or the nearest one above it (or --project-path)
with this version of aegis.

Files you never changed are replaced. Files you changed are merged three-way: the base is the
pristine copy aegis keeps in .aegis/base.tar, yours is the file, theirs the new rendering. A
conflict is written with markers (<<<<<<< yours ... >>>>>>> aegis), listed, and update exits
with status 1. go.mod and go.sum are merged by their meaning: your requirements and aegis's are
kept side by side. A file you deleted stays deleted; when aegis changed it, update says so and
its new version can be read from .aegis/base.tar. Update needs a clean git tree (or --force),
so 'git diff' shows what changed.`,
		Example: `  aegis update --dry-run
  aegis update`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usagef("update takes no arguments, got: %s", strings.Join(args, " "))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error { return runUpdate(cmd.Context(), env, o) },
	}
	growFlags(cmd, &o, false)
	cmd.Flags().BoolVar(&o.force, "force", false, "update even when the git tree has uncommitted changes")
	o.yes = true
	return cmd
}

func runUpdate(ctx context.Context, env *Env, o growOpts) error {
	p, err := load(env, o.path)
	if err != nil {
		return err
	}
	if !o.force && !o.dryRun {
		if err := project.CleanTree(p.Dir); err != nil {
			return err
		}
	}
	pl, err := p.PlanUpdate()
	if err != nil {
		return err
	}
	out := env.Stdout
	if p.Manifest.Version == generate.Version {
		// "from 0.1.0 to 0.1.0" reads as nothing to do, yet the templates may differ between
		// builds of one version.
		fmt.Fprintf(out, "Updating %s to this aegis's rendering (aegis %s, the version that made it)\n", p.Manifest.Name, generate.Version)
	} else {
		fmt.Fprintf(out, "Updating %s from aegis %s to %s\n", p.Manifest.Name, p.Manifest.Version, generate.Version)
	}
	o.yes = true
	applied, err := apply(ctx, env, p, pl, o, "update", nil)
	if err != nil {
		return err
	}
	if applied {
		printTidy(out, pl)
		printLostComments(out, pl)
		printUnread(out, pl)
	}
	if n := len(pl.Conflicts); n > 0 {
		files, verb := "1 file", "has"
		if n > 1 {
			files, verb = fmt.Sprintf("%d files", n), "have"
		}
		list := strings.Join(pl.Conflicts, ", ")
		if !applied {
			return fmt.Errorf("%s would have conflicts (%s): aegis update would write them with <<<<<<< yours / >>>>>>> aegis markers for you to resolve, then commit; nothing was changed", files, list)
		}
		return fmt.Errorf("%s %s conflicts, marked <<<<<<< yours / >>>>>>> aegis: %s; resolve them, then commit", files, verb, list)
	}
	if applied {
		printNext(out, p.Dir, "Updated. ")
	}
	return nil
}
