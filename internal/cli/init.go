package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/mod/module"

	"github.com/aegisgo/aegis/internal/catalog"
	"github.com/aegisgo/aegis/internal/generate"
	"github.com/aegisgo/aegis/internal/project"
	"github.com/aegisgo/aegis/internal/prompt"
)

type initOpts struct {
	components    []string
	services      []string
	noInteractive bool
	// interactive asks even when --components or --services are given, with their values
	// marked: the form is then where a selection from a script or a doc gets adjusted.
	interactive bool
	outputDir   string
	module      string
	force       bool
	// nested records that the project goes inside another, which --force allowed: its
	// replay needs --force again, where a forced write into a non-empty folder's does not.
	nested bool
	yes    bool
	// componentsSet records that --components was given, even empty.
	componentsSet bool
	servicesSet   bool
}

func newInitCmd(env *Env) *cobra.Command {
	var o initOpts
	cmd := &cobra.Command{
		Use:   "init NAME",
		Short: "Create a new project",
		Long: `Create a new Go web application in a folder named NAME.

NAME is 1-50 ASCII letters, digits, '-' or '_', starting with a letter; aegis, vendor and
testdata are reserved (the go command would not build cmd/vendor or cmd/testdata), and so are
Windows device names such as con, aux or com1, which no Go import path may hold. The module
path (--module, default NAME) cannot be go or toolchain, which the go command reserves.
Init refuses to create a project inside another aegis project ('aegis add' extends that one);
--force nests it anyway.

Every project has the backend (HTTP API, OpenAPI docs, health) and the frontend (dashboard).
Add components with --components and services with --services. Without flags, init asks what
to include; a service's required components are added for you and init says so.

With --interactive init asks even when --components or --services are given, with their
values already marked.

With --no-interactive nothing is asked: if --components is given it must list every component
the chosen services need (init stops and prints the corrected command); if it is not given,
the required components are added and printed.`,
		Example: `  aegis init my-api
  aegis init my-api --interactive --services auth
  aegis init user-app --services auth
  aegis init user-app --services auth --components database --no-interactive
  aegis init task-processor --components worker,scheduler,cache -o ~/src --module github.com/acme/tasks`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 {
				return usagef("init takes one project name, got %d arguments: %s%s", len(args), strings.Join(args, " "), spacedList(env.catalog(), args, o))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.interactive && o.noInteractive {
				return usagef("--interactive and --no-interactive contradict each other: keep one")
			}
			o.componentsSet = cmd.Flags().Changed("components")
			o.servicesSet = cmd.Flags().Changed("services")
			// A quoted list with spaces ("cache worker") names two parts, not one unknown one.
			o.components, o.services = splitNames(o.components), splitNames(o.services)
			name := ""
			if len(args) == 1 {
				name = args[0]
			}
			err := runInit(cmd.Context(), env, name, o)
			return onClosedInput(err, "init's questions were", "pass the choices as flags with --no-interactive (see 'aegis init --help')")
		},
	}
	f := cmd.Flags()
	f.StringSliceVarP(&o.components, "components", "c", nil, "components to include, comma-separated (see 'aegis components')")
	f.StringSliceVarP(&o.services, "services", "s", nil, "services to include, comma-separated (see 'aegis services')")
	f.BoolVar(&o.noInteractive, "no-interactive", false, "ask nothing; fail when the selection is incomplete")
	f.BoolVar(&o.interactive, "interactive", false, "ask what to include even with --components or --services, their values marked (without them init asks anyway)")
	f.StringVarP(&o.outputDir, "output-dir", "o", ".", "folder in which to create the project folder")
	f.StringVar(&o.module, "module", "", "Go module path (default: the project name)")
	f.BoolVar(&o.force, "force", false, "write into an existing non-empty folder (never an aegis project), replacing files of the same path; also nest a project inside another")
	f.BoolVarP(&o.yes, "yes", "y", false, "do not ask for confirmation")
	return cmd
}

// spacedList explains the extra arguments of init when they are part names: a list written
// with spaces ("--components cache, worker") leaves all but its first name as arguments. It
// returns "; " and the flags as they were meant, or "" when the arguments are something else.
func spacedList(cat catalog.Catalog, args []string, o initOpts) string {
	comps, svcs := slices.Clone(o.components), slices.Clone(o.services)
	others := 0
	for _, a := range args {
		found := false
		for _, n := range splitNames([]string{a}) {
			e, ok := cat.Lookup(strings.ToLower(n))
			if !ok {
				found = false
				break
			}
			found = true
			if e.Kind == catalog.KindComponent {
				comps = append(comps, e.Name)
			} else {
				svcs = append(svcs, e.Name)
			}
		}
		if !found {
			others++
		}
	}
	// One argument is the name; the rest must all be part names for the hint to fit.
	if others != 1 || len(comps) == len(o.components) && len(svcs) == len(o.services) {
		return ""
	}
	var flags []string
	if len(comps) > 0 {
		flags = append(flags, "--components "+strings.Join(slices.DeleteFunc(comps, func(s string) bool { return strings.TrimSpace(s) == "" }), ","))
	}
	if len(svcs) > 0 {
		flags = append(flags, "--services "+strings.Join(slices.DeleteFunc(svcs, func(s string) bool { return strings.TrimSpace(s) == "" }), ","))
	}
	return "; a list is comma-separated, without spaces: write " + strings.Join(flags, " ")
}

var nameRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]*$`)

const maxNameLen = 50

// validateName enforces the project-name rule; the message states the rule so the user can fix
// the name without looking it up.
func validateName(name string) error {
	const rule = "use 1-50 ASCII letters, digits, '-' or '_', starting with a letter (for example my-api)"
	switch {
	case name == "":
		return usagef("missing project name: %s", rule)
	case len(name) > maxNameLen:
		return usagef("project name is %d characters long: %s", len(name), rule)
	case !nameRE.MatchString(name):
		if filepath.Clean(name) == "." {
			// "mkdir shop && cd shop && aegis init ." means this folder: init names its
			// project and creates the folder of that name, which here is the one above.
			if cwd, err := os.Getwd(); err == nil && nameRE.MatchString(filepath.Base(cwd)) && len(filepath.Base(cwd)) <= maxNameLen {
				return usagef("invalid project name %q: init takes the name of the folder to create; to create the project in this folder, run: aegis init %s -o ..", name, filepath.Base(cwd))
			}
		}
		if first, _, ok := strings.Cut(name, "/"); ok && strings.Contains(first, ".") && !strings.HasPrefix(first, ".") &&
			module.CheckImportPath(name) == nil && nameRE.MatchString(path.Base(name)) && len(path.Base(name)) <= maxNameLen {
			// github.com/acme/shop is a module path given for the name, as 'go mod init' takes it.
			return usagef("invalid project name %q: that is a module path; run: aegis init %s --module %s", name, path.Base(name), name)
		}
		if dir, base := filepath.Split(filepath.Clean(name)); dir != "" && nameRE.MatchString(base) && len(base) <= maxNameLen {
			// A path names where the project goes as well as its name: init takes the two apart.
			return usagef("invalid project name %q: the name is not a path; to create %s in %s, run: aegis init %s -o %s",
				name, base, filepath.Clean(dir), base, shellQuote(filepath.Clean(dir)))
		}
		fixed := nameFrom(name)
		if clean := filepath.Clean(name); nameRE.MatchString(clean) && len(clean) <= maxNameLen && !windowsDevice(clean) {
			fixed = clean // ./my-api, my-api/: the folder meant is the name
		}
		if fixed != "" {
			return usagef("invalid project name %q: %s; %s would do", name, strings.TrimSuffix(rule, " (for example my-api)"), fixed)
		}
		return usagef("invalid project name %q: %s", name, rule)
	case slices.ContainsFunc(reservedNames, func(r string) bool { return strings.EqualFold(name, r) }):
		return usagef("project name %q is reserved: choose another name", name)
	case windowsDevice(name):
		return usagef("project name %q is a device name on Windows, which no Go import path may hold (cmd/%s would not build): choose another name, such as %s-app", name, name, name)
	}
	return nil
}

// windowsDevice tells whether a valid name is one of the Windows device names (con, aux, com1,
// ...) that the go command refuses as an element of any import path, on every system: the
// module path would not matter, cmd/NAME could not be built. For a name of letters, digits, '-'
// and '_' nothing else makes an element invalid.
func windowsDevice(name string) bool {
	return module.CheckImportPath("example.com/"+name) != nil
}

// nameFrom makes a valid name of an ASCII name that starts with a letter and holds spaces, dots
// or other punctuation ("My App", "my.app" give My-App, my-app); "" when that cannot be done.
func nameFrom(name string) string {
	if name == "" || !(name[0] >= 'a' && name[0] <= 'z' || name[0] >= 'A' && name[0] <= 'Z') {
		return ""
	}
	var b strings.Builder
	dash := false
	for _, r := range name {
		switch {
		case r > 0x7f:
			return ""
		case r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-':
			b.WriteRune(r)
			dash = false
		case !dash:
			b.WriteByte('-')
			dash = true
		}
	}
	fixed := strings.TrimRight(b.String(), "-")
	if !nameRE.MatchString(fixed) || len(fixed) > maxNameLen || slices.Contains(reservedNames, strings.ToLower(fixed)) || windowsDevice(fixed) {
		return ""
	}
	return fixed
}

// reservedNames cannot name a project: aegis itself, and the names the go command treats
// specially in a path, which would hide cmd/NAME from the build (cmd/vendor is read as a
// vendor folder, cmd/testdata is ignored).
var reservedNames = []string{"aegis", "vendor", "testdata"}

// validateModule checks the module path. given tells whether it came from --module or from the
// project name. The example it suggests is the user's text with a URL's scheme, a git remote's
// user@host: or a trailing slash taken away when that makes a valid path, else built from the
// project name, which is already valid, so it never repeats the bad text.
func validateModule(path, name string, given bool) error {
	if reservedModules[path] {
		// CheckImportPath lets them through, yet the go command refuses to read a go.mod that
		// declares them: the project would be written and then fail its first build.
		if !given {
			return usagef("project name %q cannot be the module path, which the go command reserves: pass --module, such as --module github.com/you/%s", path, strings.ToLower(name))
		}
		return usagef("module path %q is reserved by the go command: use a path such as github.com/you/%s", path, strings.ToLower(name))
	}
	if err := module.CheckImportPath(path); err != nil {
		example := "github.com/you/" + strings.ToLower(name)
		if fixed, ok := fixModule(path); ok {
			example = fixed
		}
		return usagef("invalid module path %q: use a Go import path such as %s", path, example)
	}
	if _, _, ok := module.SplitPathVersion(path); !ok {
		// The go command builds such a module, but 'go mod init' refuses its path and no one
		// can require it: the version suffix rule is the module's, for its users.
		if strings.HasPrefix(path, "gopkg.in/") {
			return usagef("invalid module path %q: a gopkg.in path ends in its major version (gopkg.in/NAME.v1): add it, or use a path such as github.com/you/%s", path, strings.ToLower(name))
		}
		prefix := path[:strings.LastIndex(path, "/v")]
		return usagef("invalid module path %q: a major version suffix is /v2 or later, and versions 0 and 1 have none: use %s (or %s/v2 for version 2)", path, prefix, prefix)
	}
	return nil
}

// reservedModules are the module paths the go command will not read in a go.mod (its
// gover.IsToolchain): "go" and "toolchain" name the toolchain in the module graph.
var reservedModules = map[string]bool{"go": true, "toolchain": true}

// isVersionQuery tells whether the text after a module path's '@' is a version or one of the
// queries 'go get' takes (v1, v1.2.0, latest, upgrade, patch), not a git remote's host.
func isVersionQuery(q string) bool {
	switch q {
	case "latest", "upgrade", "patch":
		return true
	}
	return len(q) > 1 && q[0] == 'v' && q[1] >= '0' && q[1] <= '9'
}

// fixModule turns the forms of a repository's address people paste for a module path into the
// path: https://github.com/you/app, git@github.com:you/app.git, github.com/you/app/,
// github.com/you/app@v1.2.0.
func fixModule(path string) (string, bool) {
	p := strings.TrimSpace(path)
	if _, rest, ok := strings.Cut(p, "://"); ok {
		p = rest
	} else if at := strings.LastIndex(p, "@"); at > 0 && isVersionQuery(p[at+1:]) {
		// path@version, as 'go get' takes it: before the git remote's form, whose user@ would
		// otherwise leave the version alone for the path (shop@v1 gave v1).
		p = p[:at]
	} else if user, rest, ok := strings.Cut(p, "@"); ok && !strings.Contains(user, "/") {
		// user@host:owner/repo, the scp-like form of git remotes.
		p = strings.Replace(rest, ":", "/", 1)
	}
	if strings.Contains(path, "@") || strings.Contains(path, "://") {
		p = strings.TrimSuffix(p, ".git")
	}
	p = strings.Trim(p, "/")
	if p == path || module.CheckImportPath(p) != nil || reservedModules[p] {
		return "", false
	}
	return p, true
}

func runInit(ctx context.Context, env *Env, name string, o initOpts) error {
	out := env.Stdout
	interactive := !o.noInteractive
	var p prompt.Prompter
	if interactive {
		p = env.prompter()
	}

	o.outputDir = expandHome(o.outputDir)
	// Before the name is asked: no name can make up for an --output-dir that cannot be made.
	if err := checkOutputDir(o.outputDir); err != nil {
		return err
	}
	nested, err := checkNotNested(o.outputDir, o.force)
	if err != nil {
		return err
	}
	o.nested = nested
	if name == "" && interactive {
		var err error
		name, err = p.Text(ctx, "Project name", "", func(s string) error {
			if err := validateName(s); err != nil {
				return err
			}
			if o.module == "" {
				if err := validateModule(s, s, false); err != nil {
					return err
				}
			}
			// A name whose folder init would refuse is asked again, rather than ending init
			// with the answer typed.
			return checkTargetFolder(filepath.Join(o.outputDir, s), o.force)
		})
		if err != nil {
			return err
		}
	}
	if err := validateName(name); err != nil {
		return err
	}
	given := o.module != ""
	if !given {
		o.module = name
	}
	if err := validateModule(o.module, name, given); err != nil {
		return err
	}
	target := filepath.Join(o.outputDir, name)
	if err := checkTargetFolder(target, o.force); err != nil {
		return err
	}

	cat := env.catalog()
	if interactive && (o.interactive || !o.componentsSet && !o.servicesSet) {
		// A misspelt name is refused before the questions, not dropped from the marks.
		if _, err := cat.Resolve(catalog.Request{Components: o.components, Services: o.services}); err != nil {
			return err
		}
		var err error
		if o.components, o.services, err = ask(ctx, p, cat, o.components, o.services); err != nil {
			return err
		}
	}
	res, err := cat.Resolve(catalog.Request{
		Components: o.components,
		Services:   o.services,
		Strict:     o.noInteractive && o.componentsSet,
	})
	var missing *catalog.MissingError
	if errors.As(err, &missing) {
		fixed := o
		fixed.components, fixed.services = cat.Optional(missing.Fixed), cat.OptionalServices(missing.Fixed)
		return fmt.Errorf("%w; run: %s", err, replay(name, fixed))
	}
	if err != nil {
		return err
	}
	for _, a := range res.Added {
		fmt.Fprintf(out, "+ adding component '%s': %s '%s' requires it\n", a.Name, a.ByKind, a.RequiredBy)
	}
	sel := res.Selection
	o.components, o.services = cat.Optional(sel), cat.OptionalServices(sel)

	if interactive && !o.yes {
		summary(out, cat, name, o, sel, target)
		ok, err := p.Confirm(ctx, "Generate this project?", true)
		if err != nil {
			return err
		}
		if !ok {
			fmt.Fprintln(out, "Cancelled; nothing was written.")
			return nil
		}
	}

	start := time.Now()
	undo, err := makeOutputDir(o.outputDir)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "Generating %s in %s\n", name, target)
	proj := project.New(target, name, o.module, env.projectOpts())
	pl, err := proj.PlanInit(sel, o.force)
	if err != nil {
		undo()
		if errors.Is(err, project.ErrExists) {
			return existsError(target)
		}
		return err
	}
	if err := proj.Apply(ctx, pl); err != nil {
		// Apply leaves no project behind; the folders made for --output-dir go too.
		undo()
		if ctx.Err() != nil {
			return ctx.Err()
		}
		// The folder is the user's to fix or to change, which the file-system error alone
		// does not say.
		var we *project.WriteError
		if errors.As(err, &we) {
			return fmt.Errorf("%w: pick another --output-dir, or make %s writable; nothing was written", err, we.Dir)
		}
		// Any other refusal of the file system (no space left, paths past PATH_MAX, a folder
		// that takes no new entries as in /proc) names the folder, not the staging folder
		// beside the project that the failed call shows, which the user never sees.
		var errno syscall.Errno
		var le *project.LockedError
		if errors.As(err, &errno) && !errors.As(err, &le) {
			return explained{fmt.Sprintf("cannot write the project in %s (%s): pick another --output-dir; nothing was written", o.outputDir, errno.Error()), err}
		}
		return err
	}
	n := 0
	for _, c := range pl.Changes {
		if c.Path != generate.BasePath { // one archive, not files the user works with
			n++
		}
	}
	nextSteps(out, name, target, o, n, time.Since(start))
	if len(pl.Replaced) > 0 {
		// --force replaces them by design; their old content is gone, so say which they were.
		fmt.Fprintf(out, "--force replaced these files that were in %s: %s\n", target, strings.Join(pl.Replaced, ", "))
	}
	return nil
}

// checkTargetFolder refuses a project folder init cannot write: an aegis project, a file, or,
// without force, a folder that is not empty.
func checkTargetFolder(target string, force bool) error {
	if err := checkNotProject(target); err != nil {
		return err
	}
	// --force writes into a folder, never over a file: that is refused with or without it.
	if fi, err := os.Stat(target); err == nil && !fi.IsDir() {
		return fileTargetError(target)
	}
	if force {
		return nil
	}
	return checkTarget(target)
}

func fileTargetError(target string) error {
	return fmt.Errorf("%s exists and is a file: choose another name or --output-dir", target)
}

func existsError(target string) error {
	return fmt.Errorf("folder %s already exists and is not empty: choose another name or --output-dir, or pass --force to write into it", target)
}

// checkNotProject refuses a folder that already holds an aegis project, even with --force:
// init would write the new selection over it and leave the files of the old one behind, and
// the project would no longer build. add and remove change a project's selection cleanly.
func checkNotProject(target string) error {
	if _, err := os.Stat(filepath.Join(target, filepath.FromSlash(generate.ManifestPath))); err == nil {
		return fmt.Errorf("folder %s is already an aegis project: run 'aegis add' or 'aegis remove' inside it to change it, or remove the folder first", target)
	}
	return nil
}

// checkNotNested refuses to create a project inside another one (in its folder or any folder
// below it): the new project's files would read as the user's own to the enclosing project's
// add, remove and update, and its go.mod would cut its folder out of the enclosing module.
// Adding a part is what is usually meant; --force nests the project anyway, for one who means it.
// It reports whether outputDir is inside a project (then force was given).
func checkNotNested(outputDir string, force bool) (bool, error) {
	abs, err := filepath.Abs(outputDir)
	if err != nil {
		return false, fmt.Errorf("cannot resolve --output-dir %s: %w", outputDir, err)
	}
	root, ok := abs, isProject(abs)
	if !ok {
		root, ok = enclosingProject(abs)
	}
	if !ok || force {
		return ok, nil
	}
	return true, usagef("cannot create a project inside the aegis project %s: run 'aegis init' outside it (or pick another --output-dir), or 'aegis add' to extend it; --force nests one anyway", root)
}

// checkOutputDir rejects an --output-dir that exists and is not a folder, before the error
// would name the project folder inside it instead, and one that cannot be created.
func checkOutputDir(dir string) error {
	fi, err := os.Stat(dir)
	if err == nil && !fi.IsDir() || errors.Is(err, syscall.ENOTDIR) {
		return fmt.Errorf("--output-dir %s is not a folder: --output-dir must be a folder (it is created when missing)", dir)
	}
	// A folder that cannot be made (under /proc, a name too long, no permission) is found
	// now, before any question is asked; what the probe made goes again until init writes.
	undo, err := makeOutputDir(dir)
	if err != nil {
		return err
	}
	undo()
	return nil
}

// makeOutputDir creates dir and its missing parents. undo removes the folders it created,
// when they are still empty; on failure nothing it created is left, and the error says which
// folder could not be made and that another --output-dir is the way out.
func makeOutputDir(dir string) (undo func(), err error) {
	if dir == "" {
		dir = "."
	}
	// The missing folders, deepest first: the ones undo may remove.
	var made []string
	for d := filepath.Clean(dir); ; d = filepath.Dir(d) {
		if _, err := os.Lstat(d); err == nil || !errors.Is(err, fs.ErrNotExist) {
			break
		}
		made = append(made, d)
		if filepath.Dir(d) == d {
			break
		}
	}
	undo = func() {
		for _, d := range made {
			// Remove, not RemoveAll: a folder someone else has filled since is not ours to
			// delete. One that was never made (MkdirAll stopped above it) is passed over.
			if err := os.Remove(d); err != nil {
				if _, statErr := os.Lstat(d); statErr == nil {
					return
				}
			}
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		undo()
		return nil, outputDirError(dir, err)
	}
	return undo, nil
}

// outputDirError explains a failure to create --output-dir in one line: the folder at fault,
// the reason in the system's words, and the fix. The failed call stays the cause, for -v.
func outputDirError(dir string, err error) error {
	reason := err.Error()
	var errno syscall.Errno
	if errors.As(err, &errno) {
		reason = errno.Error()
	}
	if errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.EROFS) {
		// Creating a folder needs write permission on its parent: that is the one to fix.
		parent := filepath.Dir(dir)
		var pe *fs.PathError
		if errors.As(err, &pe) {
			parent = filepath.Dir(pe.Path)
		}
		return explained{fmt.Sprintf("cannot write in %s (%s): pick another --output-dir, or make %s writable; nothing was written", parent, reason, parent), err}
	}
	return explained{fmt.Sprintf("cannot create %s (%s): pick another --output-dir; nothing was written", dir, reason), err}
}

func checkTarget(target string) error {
	entries, err := os.ReadDir(target)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil
	case err != nil:
		if fi, statErr := os.Stat(target); statErr == nil && !fi.IsDir() {
			return fileTargetError(target)
		}
		if errors.Is(err, fs.ErrPermission) {
			return explained{fmt.Sprintf("cannot read %s (permission denied): choose another name or --output-dir, or make %s readable", target, target), err}
		}
		return fmt.Errorf("cannot read %s: %w", target, err)
	case len(entries) > 0:
		return existsError(target)
	}
	return nil
}

// ask lets the user pick optional components and available services; entries that are coming
// soon are listed too, as not selectable, so the form shows the whole catalog. The marked
// ones, given as flags with --interactive, start selected.
func ask(ctx context.Context, p prompt.Prompter, cat catalog.Catalog, markedComps, markedSvcs []string) (comps, svcs []string, err error) {
	return askAmong(ctx, p, cat, func(catalog.Entry) bool { return true }, "add", markedComps, markedSvcs)
}

// askAmong is ask about the entries offer accepts (add offers what the project lacks, remove
// what it has); a kind with nothing to choose is not asked about. later is the command that
// takes a part afterwards (add, or remove), named to one who types it at the wrong question.
func askAmong(ctx context.Context, p prompt.Prompter, cat catalog.Catalog, offer func(catalog.Entry) bool, later string, markedComps, markedSvcs []string) (comps, svcs []string, err error) {
	var compOpts, svcOpts []prompt.Option
	choosable := map[catalog.Kind]bool{}
	for _, e := range cat.Entries {
		if e.AlwaysOn || !offer(e) {
			continue
		}
		desc := e.Description
		if len(e.Requires) > 0 {
			desc += " (needs " + strings.Join(e.Requires, ", ") + ")"
		}
		opt := prompt.Option{Value: e.Name, Label: e.Name, Description: desc}
		if e.Available() {
			choosable[e.Kind] = true
		} else {
			opt.Unavailable = string(e.Status)
		}
		if e.Kind == catalog.KindComponent {
			compOpts = append(compOpts, opt)
		} else {
			svcOpts = append(svcOpts, opt)
		}
	}
	// A name typed at the wrong question is answered with what it is and where it is chosen,
	// not only with "not a choice". Components are asked first: a service typed there is
	// picked at the next question, a component typed at the services question afterwards.
	compOpts = append(compOpts, elsewhere(cat, offer, later, func(e catalog.Entry) string {
		switch {
		case e.Kind == catalog.KindComponent:
			return ""
		case !e.Available():
			return fmt.Sprintf("a service, not a component, and it is %s: it cannot be chosen yet", e.Status)
		case choosable[catalog.KindService]:
			return "a service, not a component; pick it at the services question, next"
		}
		return ""
	})...)
	if choosable[catalog.KindComponent] {
		if comps, err = p.MultiSelect(ctx, "Components (backend and frontend are always included):", compOpts, markedComps); err != nil {
			return nil, nil, err
		}
	}
	svcOpts = append(svcOpts, elsewhere(cat, offer, later, func(e catalog.Entry) string {
		switch {
		case e.Kind == catalog.KindService:
			return ""
		case slices.Contains(comps, e.Name):
			return "a component, not a service, and chosen already at the components question"
		}
		return fmt.Sprintf("a component, not a service; the components question is past: run 'aegis %s %s' afterwards", later, e.Name)
	})...)
	if choosable[catalog.KindService] {
		if svcs, err = p.MultiSelect(ctx, "Services:", svcOpts, markedSvcs); err != nil {
			return nil, nil, err
		}
	}
	return comps, svcs, nil
}

// elsewhere returns the names a question does not offer but may be typed at, with what to tell
// whoever types them: the always-on parts, and those offer accepts for which say has words.
func elsewhere(cat catalog.Catalog, offer func(catalog.Entry) bool, later string, say func(catalog.Entry) string) []prompt.Option {
	var opts []prompt.Option
	for _, e := range cat.Entries {
		text := "always included in every project: there is nothing to choose"
		if later == "remove" {
			text = "part of every project and cannot be removed"
		}
		if !e.AlwaysOn {
			if !offer(e) {
				continue
			}
			text = say(e)
		}
		if text != "" {
			opts = append(opts, prompt.Option{Value: e.Name, Label: e.Name, Elsewhere: text})
		}
	}
	return opts
}

func summary(w io.Writer, cat catalog.Catalog, name string, o initOpts, sel catalog.Selection, target string) {
	fmt.Fprintf(w, "\nProject     %s\nModule      %s\nFolder      %s\n", name, o.module, target)
	fmt.Fprintf(w, "Components  %s\n", strings.Join(sel.Components, ", "))
	svcs := "none"
	if len(sel.Services) > 0 {
		svcs = strings.Join(sel.Services, ", ")
	}
	fmt.Fprintf(w, "Services    %s\n\n", svcs)
}

func nextSteps(w io.Writer, name, target string, o initOpts, n int, took time.Duration) {
	fmt.Fprintf(w, "Created %s: %d files in %s\n\n", target, n, took.Round(time.Millisecond))
	fmt.Fprintf(w, "Next steps:\n  cd %s\n  go run ./cmd/%s serve    # then open http://127.0.0.1:8000 (API docs at /docs)\n  go test ./...\n\n", shellQuote(target), name)
	fmt.Fprintf(w, "Replay: %s\n", replay(name, o))
}

// replay spells out the command that regenerates the same project without questions.
func replay(name string, o initOpts) string {
	args := []string{"aegis", "init", shellQuote(name)}
	if len(o.components) > 0 {
		args = append(args, "--components", strings.Join(o.components, ","))
	}
	if len(o.services) > 0 {
		args = append(args, "--services", strings.Join(o.services, ","))
	}
	mod := o.module
	if mod == "" {
		mod = name
	}
	dir := o.outputDir
	if dir == "" {
		dir = "."
	}
	args = append(args, "--module", shellQuote(mod), "--output-dir", shellQuote(dir), "--no-interactive")
	// The replay makes the project again where the folder is gone (no command writes over a
	// project, --force or not), so --force matters only where it let init nest the project:
	// without it the replay would be refused there.
	if o.nested {
		args = append(args, "--force")
	}
	return strings.Join(args, " ")
}

func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:@+=,~", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
