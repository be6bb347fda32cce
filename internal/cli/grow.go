package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/aegisgo/aegis/internal/generate"
	"github.com/aegisgo/aegis/internal/project"
	"github.com/aegisgo/aegis/internal/prompt"
)

// growOpts are the flags add, remove and update share.
type growOpts struct {
	path   string
	yes    bool
	dryRun bool
	force  bool
}

func growFlags(cmd *cobra.Command, o *growOpts, confirm bool) {
	f := cmd.Flags()
	f.StringVarP(&o.path, "project-path", "p", ".", "folder of the project (the one holding .aegis/manifest.json)")
	f.BoolVar(&o.dryRun, "dry-run", false, "print what would change and change nothing")
	if confirm {
		f.BoolVarP(&o.yes, "yes", "y", false, "do not ask for confirmation")
	}
}

func needNames(verb string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) == 0 {
			return usagef("%s needs at least one component or service name, for example: aegis %s cache", verb, verb)
		}
		return nil
	}
}

// printPlan lists what a plan changes, one line per file.
func printPlan(w io.Writer, pl *project.Plan) {
	marks := map[project.Action]string{
		project.Create: "+ create  ", project.Update: "~ update  ", project.Merge: "M merge   ",
		project.Conflict: "! conflict", project.Delete: "- delete  ",
	}
	for _, c := range pl.Visible() {
		fmt.Fprintf(w, "  %s %s\n", marks[c.Action], c.Path)
	}
	for _, s := range pl.Secrets {
		fmt.Fprintf(w, "  + .env      %s (random value)\n", s)
	}
	for _, f := range pl.KeptDeleted {
		fmt.Fprintf(w, "  x keep deleted %s: you deleted it; aegis changed it: its new version is written to %s (read it with tar -xOf %s %s)\n",
			f, generate.BasePath, generate.BasePath, f)
	}
}

// printTidy tells the user to tidy the module after go.mod or go.sum kept their changes beside
// aegis's: the merge keeps every requirement either side needs, which builds but may leave
// requirements nothing needs any more or markings that are out of date.
func printTidy(w io.Writer, pl *project.Plan) {
	if pl.Tidy {
		fmt.Fprintln(w, "go.mod and go.sum keep your changes beside aegis's: run 'go mod tidy' to settle them.")
	}
}

// confirm asks before changing the project when a person is at the terminal.
func confirm(ctx context.Context, env *Env, yes bool, question string) (bool, error) {
	if yes {
		return true, nil
	}
	p := env.Prompter
	if p == nil {
		f, ok := env.Stdin.(*os.File)
		if !ok || !term.IsTerminal(int(f.Fd())) {
			return true, nil
		}
		p = prompt.New(env.Stdin, env.Stdout)
	}
	return p.Confirm(ctx, question, true)
}

// load opens the project at path with the generator of env.
func load(env *Env, path string) (*project.Project, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	return project.Load(abs, env.projectOpts())
}

// apply prints the plan, asks, and applies it; it reports whether anything was applied.
func apply(ctx context.Context, env *Env, p *project.Project, pl *project.Plan, o growOpts, verb string) (bool, error) {
	out := env.Stdout
	if pl.Empty() {
		fmt.Fprintln(out, "Nothing to change.")
		return false, nil
	}
	printPlan(out, pl)
	if o.dryRun {
		fmt.Fprintln(out, "Dry run: nothing was changed.")
		return false, nil
	}
	ok, err := confirm(ctx, env, o.yes, strings.ToUpper(verb[:1])+verb[1:]+" these files?")
	if err != nil {
		return false, err
	}
	if !ok {
		fmt.Fprintln(out, "Cancelled; nothing was changed.")
		return false, nil
	}
	if err := ctx.Err(); err != nil {
		return false, err
	}
	if err := p.Apply(ctx, pl); err != nil {
		return false, fmt.Errorf("%w; the project was left as it was", err)
	}
	return true, nil
}
