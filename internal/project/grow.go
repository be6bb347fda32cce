package project

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"slices"
	"strings"

	"github.com/aegisgo/aegis/internal/catalog"
)

// ErrInvalid is wrapped by the errors that reject what the user asked for.
var ErrInvalid = errors.New("invalid request")

func invalidf(format string, args ...any) error {
	return &invalidError{fmt.Sprintf(format, args...)}
}

type invalidError struct{ msg string }

func (e *invalidError) Error() string { return e.msg }
func (e *invalidError) Unwrap() error { return ErrInvalid }

// ErrUnknown is wrapped, with ErrInvalid, by the error naming parts the catalog does not have:
// a mistake in how the command was called, whatever the project, where the other refusals
// (already there, not there, needed by another part) depend on the project.
var ErrUnknown = errors.New("unknown component or service")

type unknownError struct{ msg string }

func (e *unknownError) Error() string   { return e.msg }
func (e *unknownError) Unwrap() []error { return []error{ErrInvalid, ErrUnknown} }

// entries looks names up, case-insensitively and without duplicates, and rejects unknown ones.
// A name may list several, comma-separated ("worker,comms"), as init's flags take them.
func (p *Project) entries(names []string) ([]catalog.Entry, error) {
	var out []catalog.Entry
	var unknown []string
	var split []string
	for _, n := range names {
		split = append(split, strings.Split(n, ",")...)
	}
	for _, raw := range split {
		name := strings.ToLower(strings.TrimSpace(raw))
		if name == "" || slices.ContainsFunc(out, func(e catalog.Entry) bool { return e.Name == name }) {
			continue
		}
		e, ok := p.opts.Catalog.Lookup(name)
		if !ok {
			unknown = append(unknown, name)
			continue
		}
		out = append(out, e)
	}
	if len(unknown) > 0 {
		var valid []string
		for _, e := range p.opts.Catalog.Entries {
			if e.Available() && !e.AlwaysOn {
				valid = append(valid, e.Name)
			}
		}
		msg := fmt.Sprintf("unknown component or service '%s'; choose from: %s ('aegis components' and 'aegis services' describe them)",
			strings.Join(unknown, "', '"), strings.Join(valid, ", "))
		if mean := p.opts.Catalog.DidYouMean(unknown, func(e catalog.Entry) bool { return e.Available() && !e.AlwaysOn },
			func(catalog.Entry) string { return "" }); mean != "" {
			msg += "; " + mean
		}
		return nil, &unknownError{msg}
	}
	if len(out) == 0 {
		return nil, invalidf("name at least one component or service")
	}
	return out, nil
}

func (p *Project) request(sel catalog.Selection) catalog.Request {
	return catalog.Request{Components: p.opts.Catalog.Optional(sel), Services: p.opts.Catalog.OptionalServices(sel)}
}

// ErrExists is returned by PlanInit when the folder holds files and force is not set.
var ErrExists = errors.New("folder exists and is not empty")

// PlanInit plans creating the project (from New) for sel, a resolved selection: the same
// planning as add, remove and update, against a folder with no manifest. The folder may be
// missing or empty. With force it may hold files: generated files then replace the files of the
// same path, every other file stays, and an existing .env only gets the secrets it lacks.
func (p *Project) PlanInit(sel catalog.Selection, force bool) (*Plan, error) {
	if !p.fresh {
		return nil, fmt.Errorf("project: %s already has a manifest: plan add, remove or update instead", p.Dir)
	}
	empty, err := emptyDir(p.Dir)
	if err != nil {
		return nil, err
	}
	if !empty && !force {
		return nil, fmt.Errorf("project: %s: %w", p.Dir, ErrExists)
	}
	p.empty = empty
	defer func() { p.empty = false }()
	return p.reconcile(sel, modeInit)
}

// emptyDir reports whether dir is missing or an empty folder; a file there is an error.
func emptyDir(dir string) (bool, error) {
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return true, nil
	case err != nil:
		if fi, statErr := os.Stat(dir); statErr == nil && !fi.IsDir() {
			return false, fmt.Errorf("project: %s exists and is not a folder", dir)
		}
		return false, fmt.Errorf("project: %w", err)
	}
	return len(entries) == 0, nil
}

// PlanAdd plans adding components and services, with what they require.
func (p *Project) PlanAdd(names []string) (*Plan, error) {
	es, err := p.entries(names)
	if err != nil {
		return nil, err
	}
	cur := p.Selection()
	req := p.request(cur)
	for _, e := range es {
		if cur.Has(e.Name) {
			// With other names beside it, "nothing to add" would be wrong: say how to add those.
			if rest := otherNames(es, cur.Has, true); len(rest) > 0 {
				return nil, invalidf("%s '%s' is already in this project: add only the others with 'aegis add %s'", e.Kind, e.Name, strings.Join(rest, " "))
			}
			return nil, invalidf("%s '%s' is already in this project: nothing to add ('aegis update' refreshes its files)", e.Kind, e.Name)
		}
		if e.Kind == catalog.KindComponent {
			req.Components = append(req.Components, e.Name)
		} else {
			req.Services = append(req.Services, e.Name)
		}
	}
	res, err := p.opts.Catalog.Resolve(req)
	if err != nil {
		return nil, err
	}
	pl, err := p.reconcile(res.Selection, modeAdd)
	if err != nil {
		return nil, err
	}
	pl.Added = res.Added
	return pl, nil
}

// otherNames are the names of es that has does not accept (add: those the project lacks), or,
// with lacking unset, those it accepts (remove: those the project has).
func otherNames(es []catalog.Entry, has func(string) bool, lacking bool) []string {
	var names []string
	for _, e := range es {
		if has(e.Name) != lacking && !e.AlwaysOn {
			names = append(names, e.Name)
		}
	}
	return names
}

// PlanRemove plans removing components and services. It refuses the always-on components and
// anything another selected entry requires.
func (p *Project) PlanRemove(names []string) (*Plan, error) {
	es, err := p.entries(names)
	if err != nil {
		return nil, err
	}
	cur := p.Selection()
	gone := map[string]bool{}
	for _, e := range es {
		switch {
		case e.AlwaysOn:
			// Say what can be removed instead: the others named, or what the project has.
			if rest := otherNames(es, cur.Has, false); len(rest) > 0 {
				return nil, invalidf("%s '%s' is part of every project and cannot be removed: remove only the others with 'aegis remove %s'", e.Kind, e.Name, strings.Join(rest, " "))
			}
			if have := slices.Concat(p.opts.Catalog.Optional(cur), p.opts.Catalog.OptionalServices(cur)); len(have) > 0 {
				return nil, invalidf("%s '%s' is part of every project and cannot be removed; what this project can lose: %s", e.Kind, e.Name, strings.Join(have, ", "))
			}
			return nil, invalidf("%s '%s' is part of every project and cannot be removed; this project has nothing optional to remove", e.Kind, e.Name)
		case !cur.Has(e.Name):
			have := slices.Concat(p.opts.Catalog.Optional(cur), p.opts.Catalog.OptionalServices(cur))
			list := "nothing optional"
			if len(have) > 0 {
				list = strings.Join(have, ", ")
			}
			if rest := otherNames(es, cur.Has, false); len(rest) > 0 {
				return nil, invalidf("%s '%s' is not in this project (it has %s): remove only the others with 'aegis remove %s'", e.Kind, e.Name, list, strings.Join(rest, " "))
			}
			return nil, invalidf("%s '%s' is not in this project (it has %s): nothing to remove", e.Kind, e.Name, list)
		}
		gone[e.Name] = true
	}
	if err := p.dependents(cur, es, gone); err != nil {
		return nil, err
	}
	var req catalog.Request
	for _, name := range slices.Concat(p.opts.Catalog.Optional(cur), p.opts.Catalog.OptionalServices(cur)) {
		if gone[name] {
			continue
		}
		if e, _ := p.opts.Catalog.Lookup(name); e.Kind == catalog.KindComponent {
			req.Components = append(req.Components, name)
		} else {
			req.Services = append(req.Services, name)
		}
	}
	res, err := p.opts.Catalog.Resolve(req)
	if err != nil {
		return nil, err
	}
	return p.reconcile(res.Selection, modeRemove)
}

// dependents refuses removing what a selected entry that stays still requires. The command it
// suggests names every dependent, transitively (ai requires worker, which requires database),
// so that it succeeds when run: dependents first, outermost first, then the names asked for.
func (p *Project) dependents(cur catalog.Selection, asked []catalog.Entry, gone map[string]bool) error {
	closure := map[string]bool{}
	for n := range gone {
		closure[n] = true
	}
	var why []string   // "component 'worker' requires it", then "service 'ai' requires 'worker'"
	var added []string // dependents in the order found
	for changed := true; changed; {
		changed = false
		for _, e := range p.opts.Catalog.Entries {
			if !cur.Has(e.Name) || closure[e.Name] {
				continue
			}
			for _, r := range e.Requires {
				if !closure[r] {
					continue
				}
				if len(why) == 0 {
					why = append(why, fmt.Sprintf("cannot remove component '%s': %s '%s' requires it", r, e.Kind, e.Name))
				} else {
					why = append(why, fmt.Sprintf("%s '%s' requires '%s'", e.Kind, e.Name, r))
				}
				closure[e.Name] = true
				added = append(added, e.Name)
				changed = true
				break
			}
		}
	}
	if len(added) == 0 {
		return nil
	}
	slices.Reverse(added)
	for _, e := range asked {
		added = append(added, e.Name)
	}
	return invalidf("%s; remove them together (aegis remove %s) or keep it", strings.Join(why, ", and "), strings.Join(added, " "))
}

// PlanUpdate plans re-rendering the project with this generator: unchanged files are replaced,
// changed ones merged three-way (conflicts are written with markers and listed in the plan).
// Entries that became always on since the project was generated (the httpclient service) join
// the selection.
func (p *Project) PlanUpdate() (*Plan, error) {
	sel := p.Selection()
	if res, err := p.opts.Catalog.Resolve(p.request(sel)); err == nil {
		sel = res.Selection
	}
	return p.reconcile(sel, modeUpdate)
}

// CleanTree returns an error unless dir is inside a git work tree with no uncommitted change,
// so that `git diff` afterwards shows exactly what a command changed.
func CleanTree(dir string) error {
	git, err := exec.LookPath("git")
	if err != nil {
		return fmt.Errorf("aegis update needs git to merge your changes: install git, or pass --force: %w", ErrNoGit)
	}
	cmd := exec.Command(git, "status", "--porcelain", "--untracked-files=normal", ".")
	cmd.Dir = dir
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		return invalidf("%s is not in a git repository: commit the project first (git init && git add -A && git commit -m init), or pass --force", dir)
	}
	if out.Len() > 0 {
		return invalidf("the git tree has uncommitted changes (%s): commit or stash them first so git diff shows what update changed, or pass --force", dirtySummary(out.String()))
	}
	return nil
}

// InGitTree reports whether dir is inside a git work tree, where `git diff` shows what a
// command changed.
func InGitTree(dir string) bool {
	git, err := exec.LookPath("git")
	if err != nil {
		return false
	}
	cmd := exec.Command(git, "rev-parse", "--is-inside-work-tree")
	cmd.Dir = dir
	out, err := cmd.Output()
	return err == nil && strings.TrimSpace(string(out)) == "true"
}

// dirtySummary shows the first line of git status --porcelain and how many more there are, so
// the message neither hides files nor suggests more when there is one.
func dirtySummary(status string) string {
	lines := strings.Split(strings.Trim(status, "\n"), "\n")
	first := strings.TrimSpace(lines[0])
	switch n := len(lines) - 1; n {
	case 0:
		return first
	case 1:
		return first + " and 1 more file"
	default:
		return fmt.Sprintf("%s and %d more files", first, n)
	}
}
