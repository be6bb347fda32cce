package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"unicode"

	"github.com/spf13/cobra"

	"github.com/aegisgo/aegis/internal/catalog"
	"github.com/aegisgo/aegis/internal/generate"
	"github.com/aegisgo/aegis/internal/project"
)

// growOpts are the flags add, remove and update share.
type growOpts struct {
	path   string
	yes    bool
	dryRun bool
	force  bool
	// asks marks a command with --yes (add, remove): it asks for confirmation even without a
	// terminal, reading the answer from stdin as init does; update has no --yes and asks only
	// at a terminal.
	asks bool
}

func growFlags(cmd *cobra.Command, o *growOpts, confirm bool) {
	f := cmd.Flags()
	f.StringVarP(&o.path, "project-path", "p", ".", "folder of the project (the one holding .aegis/manifest.json)")
	f.BoolVar(&o.dryRun, "dry-run", false, "print what would change and change nothing")
	if confirm {
		o.asks = true
		f.BoolVarP(&o.yes, "yes", "y", false, "do not ask for confirmation (without a terminal the answer is read from stdin: y, n, or empty for yes)")
	}
}

// needNames refuses a command without names, except with none at all where a person can be
// asked for them. has is growNames's: the names are of parts the project has (remove).
func needNames(env *Env, verb string, has bool) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) == 0 && env.canAsk() {
			return nil
		}
		if len(splitNames(args)) == 0 { // "" too: still no name
			path, _ := cmd.Flags().GetString("project-path")
			name, ok := exampleName(env, path, has)
			if !ok {
				return usagef("nothing to %s: %s", verb, nothingTo(verb))
			}
			return usagef("%s needs at least one component or service name, for example: aegis %s %s", verb, verb, name)
		}
		return nil
	}
}

// exampleName is a name the example of a usage error can give add (has false) or remove (has
// true) in the project at path and work: one the project lacks and can add, or one it has and
// can remove, in catalog order. A fixed example (cache) is refused in a project that already
// has it. Where no project can be read, the error about that comes once names are given, and
// the example is cache, as --help's; false when the project has no such part.
func exampleName(env *Env, path string, has bool) (string, bool) {
	quiet := *env
	quiet.Stdout = io.Discard // load names an enclosing project it finds; the usage error is the answer
	p, err := load(&quiet, path)
	if err != nil {
		return "cache", true
	}
	return examplePart(env.catalog(), p, has)
}

// examplePart is the first part of the catalog that p lacks and can add (!has), or that it
// has and can remove (has): one no other part of p requires, since remove refuses those.
// Those every project has are left out.
func examplePart(cat catalog.Catalog, p *project.Project, has bool) (string, bool) {
	present := append(slices.Clone(p.Manifest.Components), p.Manifest.Services...)
	required := func(name string) bool {
		for _, e := range cat.Entries {
			if e.Name != name && slices.Contains(present, e.Name) && slices.Contains(e.Requires, name) {
				return true
			}
		}
		return false
	}
	for _, e := range cat.Entries {
		if !e.AlwaysOn && e.Available() && slices.Contains(present, e.Name) == has && !(has && required(e.Name)) {
			return e.Name, true
		}
	}
	return "", false
}

// nothingTo says why a project offers nothing to add or remove.
func nothingTo(verb string) string {
	if verb == "remove" {
		return "the project has only the parts every project has, which cannot be removed"
	}
	return "the project already has every component and service aegis can add"
}

// splitNames accepts names as separate arguments, comma-separated as init's --components and
// --services take them, and space-separated as a quoted list ("cache worker") reads, so they
// all mean the same; empty names are dropped.
func splitNames(args []string) []string {
	var names []string
	for _, a := range args {
		names = append(names, strings.FieldsFunc(a, func(r rune) bool { return r == ',' || unicode.IsSpace(r) })...)
	}
	return names
}

func printPlan(w io.Writer, pl *project.Plan) {
	marks := map[project.Action]string{
		project.Create: "+ create  ", project.Update: "~ update  ", project.Merge: "M merge   ",
		project.Conflict: "! conflict", project.Delete: "- delete  ",
	}
	if pl.Renamed != "" {
		fmt.Fprintf(w, "go.mod names the module %s, renamed since aegis wrote the project: the files aegis writes use it, and the manifest records it from now on.\n", pl.Renamed)
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
	if n := pl.Outdated; n > 0 {
		files, them := "1 file changes", "it"
		if n > 1 {
			files, them = fmt.Sprintf("%d files change", n), "them"
		}
		fmt.Fprintf(w, "Of these, %s only because this aegis renders %s differently from the aegis that made the project: to keep those changes apart, cancel, run 'aegis update', commit, then retry.\n", files, them)
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

// printLostComments shows the comments go.mod's merge could not keep, so that the user can put
// them back: they are in no other file (git diff shows them only in a git tree).
func printLostComments(w io.Writer, pl *project.Plan) {
	if len(pl.LostComments) > 0 {
		fmt.Fprintf(w, "go.mod was merged by its meaning, which dropped your comments in it; add them back where they belong: %s\n", strings.Join(pl.LostComments, "  "))
	}
}

// printUnread names the settings .env keeps that nothing reads after the change: aegis does
// not delete lines of .env, which holds the user's values, and a left secret should not
// linger unnoticed.
func printUnread(w io.Writer, pl *project.Plan) {
	if n := len(pl.Unread); n > 0 {
		what := "setting " + pl.Unread[0]
		if n > 1 {
			what = "settings " + strings.Join(pl.Unread, ", ")
		}
		fmt.Fprintf(w, ".env still sets the %s, which the app no longer reads: delete those lines when you like (aegis never edits .env's values).\n", what)
	}
}

// printNext ends a change with how to check it; git diff is named only where it can show
// the change (update --force, add and remove also work on a project outside git).
func printNext(w io.Writer, dir, done string) {
	if project.InGitTree(dir) {
		fmt.Fprintf(w, "%sReview with git diff, then: go build ./... && go test ./...\n", done)
		return
	}
	fmt.Fprintf(w, "%sNext: go build ./... && go test ./...   (the project is not in git: commit it to see later changes with git diff)\n", done)
}

// confirm asks before changing the project. A command with --yes asks whether or not a person
// is at the terminal, as init does, so that a piped "n" cancels; one without (update) asks
// only at a terminal.
func confirm(ctx context.Context, env *Env, o growOpts, question string) (bool, error) {
	if o.yes {
		return true, nil
	}
	if !o.asks && !env.canAsk() {
		return true, nil
	}
	return env.prompter().Confirm(ctx, question, true)
}

// growNames runs add or remove (run) on the project at o.path for the names given or, with
// none, for those the user picks: among the parts the project has when has is set (remove),
// else among those it lacks (add).
func growNames(ctx context.Context, env *Env, o growOpts, verb string, has bool, names []string,
	run func(context.Context, *Env, *project.Project, []string, growOpts) error) error {
	p, err := load(env, o.path)
	if err != nil {
		return err
	}
	names = splitNames(names)
	if len(names) == 0 {
		names, err = askNames(ctx, env, p, has)
		if err != nil || len(names) == 0 {
			hint := fmt.Sprintf("nothing to %s: %s", verb, nothingTo(verb))
			if name, ok := examplePart(env.catalog(), p, has); ok {
				hint = fmt.Sprintf("name what to %s, for example: aegis %s %s; nothing was changed", verb, verb, name)
			}
			return onClosedInput(err, verb+"'s questions were", hint)
		}
	}
	err = run(ctx, env, p, names, o)
	return onClosedInput(err, verb+"'s confirmation was", "pass --yes to apply the changes without asking; nothing was changed")
}

// askNames asks which parts to add (those p lacks) or, with has, to remove (those it has,
// coming-soon entries aside); nil with nothing chosen, which it says.
func askNames(ctx context.Context, env *Env, p *project.Project, has bool) ([]string, error) {
	present := append(slices.Clone(p.Manifest.Components), p.Manifest.Services...)
	offer := func(e catalog.Entry) bool { return slices.Contains(present, e.Name) == has && (!has || e.Available()) }
	later := "add"
	if has {
		later = "remove"
	}
	if _, ok := examplePart(env.catalog(), p, has); !ok {
		// A question whose every choice is taken (or coming soon) could only be answered
		// with nothing, and "Nothing chosen" would blame the user for it.
		fmt.Fprintf(env.Stdout, "Nothing to %s: %s; nothing was changed.\n", later, nothingTo(later))
		return nil, nil
	}
	comps, svcs, err := askAmong(ctx, env.prompter(), env.catalog(), offer, later, nil, nil)
	if err != nil {
		return nil, err
	}
	names := append(comps, svcs...)
	if len(names) == 0 {
		fmt.Fprintln(env.Stdout, "Nothing chosen; nothing was changed.")
	}
	return names, nil
}

// load opens the project at path with the generator of env.
func load(env *Env, path string) (*project.Project, error) {
	path = expandHome(path)
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	p, err := project.Load(abs, env.projectOpts())
	if errors.Is(err, project.ErrNoManifest) && path == "." {
		// Run in a folder of the project (internal/services, say), the command works on the
		// project around it, as git and go find theirs; a folder named with -p is taken as is.
		if root, ok := enclosingProject(abs); ok {
			fmt.Fprintf(env.Stdout, "Project: %s\n", root)
			return project.Load(root, env.projectOpts())
		}
	}
	if errors.Is(err, project.ErrNoManifest) {
		// The fix depends on whether a folder was named: the flag's default is ".".
		if path == "." {
			return nil, fmt.Errorf("%w: run this in a folder made by 'aegis init', or pass --project-path", err)
		}
		// A folder inside a project is taken as is, but its project is the likely meaning.
		if root, ok := enclosingProject(abs); ok {
			return nil, fmt.Errorf("%w: it is inside the project %s: pass --project-path %s", err, root, shellQuote(root))
		}
		return nil, fmt.Errorf("%w: pass --project-path the folder of a project made by 'aegis init' (the one holding .aegis/manifest.json)", err)
	}
	return p, err
}

// apply prints the plan, asks, and applies it; it reports whether anything was applied.
// notice, if not nil, writes what the user should know before deciding, between the plan and
// the question (and in a dry run, which stands for the question).
func apply(ctx context.Context, env *Env, p *project.Project, pl *project.Plan, o growOpts, verb string, notice func(io.Writer)) (bool, error) {
	out := env.Stdout
	if pl.Empty() {
		fmt.Fprintln(out, "Nothing to change.")
		return false, nil
	}
	printPlan(out, pl)
	if notice != nil {
		notice(out)
	}
	if o.dryRun {
		fmt.Fprintln(out, "Dry run: nothing was changed.")
		return false, nil
	}
	ok, err := confirm(ctx, env, o, strings.ToUpper(verb[:1])+verb[1:]+" these files?")
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
		// Permissions are the user's to fix, in the folder the error names: say so, since the
		// failed call alone does not.
		var we *project.WriteError
		if errors.As(err, &we) {
			return false, fmt.Errorf("%w: make %s writable and run again; the project was left as it was", err, we.Dir)
		}
		return false, fmt.Errorf("%w; the project was left as it was", err)
	}
	return true, nil
}

// enclosingProject finds the nearest folder above dir that holds an aegis manifest.
func enclosingProject(dir string) (string, bool) {
	for {
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false
		}
		dir = parent
		if isProject(dir) {
			return dir, true
		}
	}
}

// isProject tells whether dir holds an aegis manifest.
func isProject(dir string) bool {
	fi, err := os.Stat(filepath.Join(dir, filepath.FromSlash(generate.ManifestPath)))
	return err == nil && fi.Mode().IsRegular()
}

// ownerList names the parts a plan adds or removes; glueNote names the glue that comes and goes
// with them ("scheduler to app (with the glue code scheduler+database)"): a glue owner is no part
// the user can name, and listed among the parts it reads as one more thing that was asked for.
func ownerList(owners []string) string {
	return strings.Join(partsOf(owners), ", ")
}

// partsOf is owners without the glue ones: the parts a user names.
func partsOf(owners []string) []string {
	return slices.DeleteFunc(slices.Clone(owners), isGlue)
}

func glueNote(owners []string) string {
	var glue []string
	for _, o := range owners {
		if isGlue(o) {
			glue = append(glue, o)
		}
	}
	if len(glue) == 0 {
		return ""
	}
	return " (with the glue code " + strings.Join(glue, ", ") + ")"
}

// isGlue tells a glue owner, named by its owners joined with "+" (catalog.Glue.Name).
func isGlue(owner string) bool { return strings.Contains(owner, "+") }

// expandHome reads a leading ~ of a folder flag as the home folder, as the shell does for
// -o ~/src but not for --output-dir=~/src or a quoted "~/src": a folder named ~ is never what
// was meant. ~user and a path without a home are left as they are.
func expandHome(path string) string {
	if path != "~" && !strings.HasPrefix(path, "~/") && !strings.HasPrefix(path, "~"+string(filepath.Separator)) {
		return path
	}
	home, err := os.UserHomeDir()
	if err != nil || home == "" {
		return path
	}
	return filepath.Join(home, path[1:])
}
