package app

import (
	"io"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/aegisgo/aegis/template/internal/runtime/logtest"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"

	// The commands every component and service contributes, as in the binary.
	_ "github.com/aegisgo/aegis/template/internal/components"
	_ "github.com/aegisgo/aegis/template/internal/services"
)

// shippedGroups are the command groups the app's parts bring; groups of your own are yours to
// document as you like, and this test leaves them alone.
var shippedGroups = map[string]bool{"health": true, "migrate": true, "services": true, "users": true, "jobs": true,
	"schedule": true, "ai": true, "analytics": true, "comms": true, "onboarding": true}

// Every command that groups others (users, jobs, migrate...) says in its --help what the
// group is for and how it is used: without Long, help repeats the one-line Short, and without
// Example a reader has to open each subcommand's help to see a command line.
func TestGroupHelp(t *testing.T) {
	root, err := (&cli{name: "app", stdout: io.Discard, stderr: io.Discard, reg: registry.Default}).rootCmd()
	if err != nil {
		t.Fatal(err)
	}
	var groups []*cobra.Command
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		if c.HasSubCommands() && (c == root || shippedGroups[c.Name()]) {
			groups = append(groups, c)
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	// health is built in: the walk reaching it shows it works whatever the app's parts are.
	if len(groups) < 2 {
		t.Fatalf("found %d commands with subcommands, want the root, health and the contributed groups", len(groups))
	}
	for _, g := range groups {
		path := g.CommandPath()
		t.Run(path, func(t *testing.T) {
			if strings.TrimSpace(g.Long) == "" {
				t.Errorf("%s has no Long: say what the group is for", path)
			}
			if strings.TrimSpace(g.Example) == "" {
				t.Errorf("%s has no Example: show a command line or two", path)
			}
			if g.Long == "" {
				return
			}
			// What --help prints, through the binary's own root.
			var out logtest.Buffer
			a := &cli{name: "app", stdout: &out, stderr: io.Discard, reg: registry.Default}
			args := append(strings.Fields(strings.TrimPrefix(path, "app")), "--help")
			if code := run(t.Context(), a, args); code != ExitOK {
				t.Fatalf("%s --help: exit %d", path, code)
			}
			first, _, _ := strings.Cut(g.Long, "\n")
			if !strings.Contains(out.String(), first) {
				t.Errorf("%s --help lacks its Long's first line %q:\n%s", path, first, out.String())
			}
		})
	}
}

// shippedLeaves are the commands without subcommands the app itself brings at the top level;
// the leaves of shippedGroups are the parts'.
var shippedLeaves = map[string]bool{"serve": true, "worker": true, "scheduler": true, "version": true}

// Every shipped leaf command ("users list", "jobs show ID", serve) shows a command line or two
// in its --help, with the flags that make it useful ("users list --page 2"), spelled with the
// binary's name (Env.Name, "app" here) so they run when copied: the Use line and the flags
// list say what may be passed, not what a real call looks like.
func TestLeafCommandsHaveExamples(t *testing.T) {
	root, err := (&cli{name: "app", stdout: io.Discard, stderr: io.Discard, reg: registry.Default}).rootCmd()
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, c := range leaves(root) {
		top := c
		for top.Parent() != root {
			top = top.Parent()
		}
		if !shippedLeaves[top.Name()] && !shippedGroups[top.Name()] {
			continue // a command of your own: yours to document
		}
		checked++
		switch {
		case strings.TrimSpace(c.Example) == "":
			t.Errorf("%s has no Example: show a command line", c.CommandPath())
		case !strings.Contains(c.Example, "  "+c.CommandPath()):
			t.Errorf("%s: its Example never runs it as %q (use Env.Name for the binary):\n%s", c.CommandPath(), c.CommandPath(), c.Example)
		}
	}
	// The built-in serve and version, and health's: the walk reaching them shows it works.
	if checked < 4 {
		t.Fatalf("found %d shipped leaf commands, want serve, version, health's and the parts'", checked)
	}
}

// A shipped leaf given an argument it does not take says so and exits 2, rather than calling
// the argument an unknown command as cobra does (the reader then looks for a subcommand that
// was never meant); a group still answers with "unknown command" and the subcommand meant.
func TestLeafStrayArgument(t *testing.T) {
	cleanEnv(t)
	tests := []struct {
		args []string
		want string // all of stderr
	}{
		// The app's own commands, in every project.
		{[]string{"version", "extra"}, `app: version takes no arguments, got "extra" (see 'app version --help')` + "\n"},
		{[]string{"health", "status", "extra"}, `app: health status takes no arguments, got "extra" (see 'app health status --help')` + "\n"},
		{[]string{"services", "graph", "extra"}, `app: services graph takes no arguments, got "extra" (see 'app services graph --help')` + "\n"},
		{[]string{"health", "stauts"}, `app: unknown command "stauts" for "app health"; did you mean "status"? (see 'app health --help')` + "\n"},
		// The parts' commands, where the project has the part.
		{[]string{"users", "list", "extra"}, `app: users list takes no arguments, got "extra" (see 'app users list --help')` + "\n"},
		{[]string{"migrate", "status", "extra"}, `app: migrate status takes no arguments, got "extra" (see 'app migrate status --help')` + "\n"},
		{[]string{"jobs", "list", "--state", "failed", "extra"}, `app: jobs list takes no arguments, got "extra" (see 'app jobs list --help')` + "\n"},
		{[]string{"schedule", "list", "a", "b"}, `app: schedule list takes no arguments, got "a" "b" (see 'app schedule list --help')` + "\n"},
		{[]string{"analytics", "stats", "extra"}, `app: analytics stats takes no arguments, got "extra" (see 'app analytics stats --help')` + "\n"},
		{[]string{"onboarding", "pending", "extra"}, `app: onboarding pending takes no arguments, got "extra" (see 'app onboarding pending --help')` + "\n"},
		{[]string{"users", "lsit"}, `app: unknown command "lsit" for "app users"; did you mean "list"? (see 'app users --help')` + "\n"},
	}
	root, err := (&cli{name: "app", stdout: io.Discard, stderr: io.Discard, reg: registry.Default}).rootCmd()
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			// A generated project holds the parts of its selection: a part's commands may be absent.
			if c, _, err := root.Find(tt.args[:1]); err != nil || c == root {
				t.Skipf("this app has no %q command (its part is not selected)", tt.args[0])
			}
			var out, errb logtest.Buffer
			code := run(t.Context(), &cli{name: "app", stdout: &out, stderr: &errb, reg: registry.Default}, tt.args)
			if code != ExitUsage || errb.String() != tt.want {
				t.Errorf("exit %d, stderr %q; want exit %d, stderr %q", code, errb.String(), ExitUsage, tt.want)
			}
		})
	}
	// Whatever the leaf, too many arguments are never "unknown command".
	many := strings.Fields(strings.Repeat("x ", 100))
	for _, c := range leaves(root) {
		if err := c.Args(c, many); err != nil && strings.Contains(err.Error(), "unknown command") {
			t.Errorf("%s given arguments: %v; want it to say it takes none", c.CommandPath(), err)
		}
	}
}

// leaves are the commands under root with no subcommands.
func leaves(root *cobra.Command) []*cobra.Command {
	var out []*cobra.Command
	for _, c := range root.Commands() {
		if c.HasSubCommands() {
			out = append(out, leaves(c)...)
		} else {
			out = append(out, c)
		}
	}
	return out
}

// The examples of every command run as written: each command line in an Example ("app users
// list --page 2", after any VAR=value) names a command that exists and flags it takes. An
// example that names a renamed flag is worse than none: it fails when copied.
func TestExamplesParse(t *testing.T) {
	root, err := (&cli{name: "app", stdout: io.Discard, stderr: io.Discard, reg: registry.Default}).rootCmd()
	if err != nil {
		t.Fatal(err)
	}
	var all []*cobra.Command
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		all = append(all, c)
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	lines := 0
	for _, c := range all {
		for line := range strings.Lines(c.Example) {
			words := strings.Fields(line)
			for len(words) > 0 && strings.Contains(words[0], "=") && !strings.HasPrefix(words[0], "-") {
				words = words[1:] // VAR=value before the command
			}
			if len(words) == 0 || words[0] != "app" {
				continue // a comment, a Dockerfile line, a pipe's other end
			}
			// Up to the end of this command: a pipe or && starts another.
			for i, w := range words {
				if w == "|" || w == "&&" || w == ";" {
					words = words[:i]
					break
				}
			}
			lines++
			cmd, rest, err := root.Find(words[1:])
			if err != nil {
				t.Errorf("%s: example %q: %v", c.CommandPath(), strings.TrimSpace(line), err)
				continue
			}
			// cobra adds --help and --version when it executes.
			cmd.InitDefaultHelpFlag()
			cmd.InitDefaultVersionFlag()
			if err := cmd.ParseFlags(rest); err != nil {
				t.Errorf("%s: example %q: %v", c.CommandPath(), strings.TrimSpace(line), err)
			}
		}
	}
	if lines == 0 {
		t.Fatal("found no example command lines")
	}
}
