package project

import (
	"bytes"
	"cmp"
	"fmt"
	"io/fs"
	"slices"
	"strings"

	"github.com/aegisgo/aegis/internal/catalog"
	"github.com/aegisgo/aegis/internal/generate"
)

// Action is what a plan does to one file.
type Action string

const (
	Create   Action = "create"
	Update   Action = "update"
	Merge    Action = "merge"    // the user's changes and aegis's merged cleanly
	Conflict Action = "conflict" // written with conflict markers (update only)
	Delete   Action = "delete"
)

// Change is one file a plan writes or deletes.
type Change struct {
	Path   string
	Action Action
	Data   []byte
	Mode   fs.FileMode
	// Internal changes (the manifest, .aegis/base.tar, .env) are not listed to the user.
	Internal bool
}

// Plan is everything a command changes, computed before anything is written.
type Plan struct {
	Selection catalog.Selection
	// Manifest is the project's manifest once the plan is applied.
	Manifest generate.Manifest
	// Added lists the components added to satisfy requirements.
	Added []catalog.Addition
	// NewOwners and GoneOwners are the owners whose files appear or disappear.
	NewOwners, GoneOwners []string
	Changes               []Change
	// Conflicts lists the files written with conflict markers.
	Conflicts []string
	// Tables lists the migration owners of the removed parts, by name: their tables are kept
	// (never dropped), and so are their version tables.
	Tables []MigrationOwner
	// Secrets lists the settings appended to .env.
	Secrets []string
	// Unread lists the settings .env sets that only the removed parts read (aegis never
	// deletes a line of .env: it holds the user's values).
	Unread []string
	// Migrations lists the migration owners of the added parts, by name.
	Migrations []MigrationOwner
	// Tidy reports that go.mod or go.sum was merged where the user's changes and aegis's touch
	// the same requirements (mergeModule's settled): the result builds but may not be tidy, so
	// the user should run go mod tidy. Changes to different modules merge into what go mod
	// tidy writes, and need no hint.
	Tidy bool
	// LostComments lists the comments the user wrote in go.mod that its merge could not keep
	// (a line merge would have overlapped or meant something else): the user puts them back.
	LostComments []string
	// Replaced lists the files init --force overwrites with different content (in path
	// order): their old content is gone, so init names them.
	Replaced []string
	// KeptDeleted lists the files the user deleted that aegis's new rendering changed (update
	// only): they stay deleted, and their new version is in the base archive.
	KeptDeleted []string
	// Renamed is the module path go.mod declares when the user changed it from the one the
	// manifest records: the plan renders under it, and the manifest records it from now on.
	Renamed string
	// Outdated counts the files add or remove changes only because this aegis renders the
	// recorded selection differently from the aegis that made the project: running update
	// first keeps those changes apart from the part's.
	Outdated int
}

// Visible returns the changes a user is told about, in path order.
func (pl *Plan) Visible() []Change {
	var out []Change
	for _, c := range pl.Changes {
		if !c.Internal {
			out = append(out, c)
		}
	}
	return out
}

// Empty reports whether the plan changes nothing.
func (pl *Plan) Empty() bool { return len(pl.Changes) == 0 }

// ModifiedError stops add or remove when a file the user changed would have to be overwritten or
// deleted and no clean merge applies.
type ModifiedError struct {
	Files []Blocked
	// Update marks a project made by another aegis where some of Files stop the command
	// because this aegis renders them differently, not because of the parts added or removed:
	// update, which writes conflicts with markers instead of stopping, moves past them.
	Update bool
	// NoArchive marks a project without .aegis/base.tar where some of Files have no pristine
	// copy for that reason: restoring the archive fixes them all.
	NoArchive bool
}

// Blocked is one file that stops a plan, and why.
type Blocked struct {
	Path   string
	Reason Reason
}

// Reason is why a file stops a plan; each has its own fix.
type Reason int

const (
	// Overlap: the user's changes and aegis's touch the same lines.
	Overlap Reason = iota
	// Deleted: the user deleted a file aegis must change.
	Deleted
	// DeletedNoBase: as Deleted, and the base archive has no copy to restore it from.
	DeletedNoBase
	// NoBase: the user changed a file aegis must change, and there is no pristine copy to merge
	// with.
	NoBase
	// NotOurs: a file aegis would create exists, and aegis did not write it.
	NotOurs
	// WouldDelete: the user changed a file aegis would delete.
	WouldDelete
)

// fix says what is wrong with b and how to get past it. The pristine copies in the base archive
// are what the manifest's hashes record, so a file restored from it counts as unchanged; commits
// do not matter (the check is against the manifest, not git), and git checkout cannot restore a
// file the last commit deleted.
func (b Blocked) fix() string {
	restore := "tar -xOf " + generate.BasePath + " " + b.Path + " > " + b.Path
	switch b.Reason {
	case Overlap:
		return b.Path + ": your changes overlap aegis's: move your version aside, restore aegis's copy (" + restore + "), retry, then re-apply your change"
	case Deleted:
		return b.Path + ": you deleted it and aegis must change it: restore it (" + restore + ") and retry"
	case DeletedNoBase:
		return b.Path + ": you deleted it and aegis must change it: restore it from your git history (git checkout COMMIT -- " + b.Path + ", with a commit that has it) and retry"
	case NoBase:
		return b.Path + ": you changed it and " + generate.BasePath + " has no pristine copy to merge with: move your version aside, restore the version aegis wrote from your git history, retry, then re-apply your change"
	case NotOurs:
		return b.Path + ": exists and aegis did not write it: move it away and retry"
	default: // WouldDelete
		return b.Path + ": you changed it and aegis would delete it: move it away (or undo your changes) and retry"
	}
}

func (e *ModifiedError) Error() string {
	fixes := make([]string, len(e.Files))
	for i, b := range e.Files {
		fixes[i] = b.fix()
	}
	msg := "files you changed stand in the way (nothing was changed); from the project folder: " + strings.Join(fixes, "; ")
	if e.NoArchive {
		msg += "; " + generate.BasePath + " is missing: restore it from your git history (git checkout COMMIT -- " + generate.BasePath + ", with a commit that has it) and retry"
	}
	if e.Update {
		msg += "; or, as this aegis renders some of them differently from the aegis that made the project: run 'aegis update' first, resolve and commit, then retry"
	}
	return msg
}

type mode int

const (
	modeAdd mode = iota
	modeRemove
	modeUpdate
	modeInit
)

// reconcile plans the move from the recorded selection to sel (for init, from nothing).
func (p *Project) reconcile(sel catalog.Selection, m mode) (*Plan, error) {
	var renamed string
	if m != modeInit {
		if err := p.checkMarkers(); err != nil {
			return nil, err
		}
		// A module path the user changed in go.mod (and in their imports) is the project's
		// now: rendering the recorded one would put it back in go.mod and write new files
		// that import packages under a path no longer there. The rendering of the recorded
		// selection stays under the recorded path, the one the base archive holds.
		var err error
		if renamed, err = p.diskModule(); err != nil {
			return nil, err
		}
	}
	proj, err := p.renderAs(cmp.Or(renamed, p.Manifest.Module), sel)
	if err != nil {
		return nil, err
	}
	files := proj.Files
	var old map[string][]byte // rendering of the recorded selection, only when a base copy is missing
	oldRender := func() map[string][]byte {
		if old == nil {
			old = map[string][]byte{}
			if prev, err := p.render(p.Selection()); err == nil {
				for _, f := range prev.Files {
					old[f.Path] = f.Data
				}
			}
		}
		return old
	}
	baseOf := func(rel string) ([]byte, bool, error) { return p.base(rel, oldRender) }

	pl := &Plan{Selection: sel, Manifest: proj.Manifest, Renamed: renamed}
	var blocked []Blocked
	block := func(rel string, r Reason) { blocked = append(blocked, Blocked{Path: rel, Reason: r}) }
	newPaths := map[string]bool{}
	add := func(c Change) { pl.Changes = append(pl.Changes, c) }

	for _, f := range files {
		newPaths[f.Path] = true
		disk, exists, err := p.read(f.Path)
		if err != nil {
			return nil, err
		}
		if f.Path == generate.ManifestPath || f.Path == generate.BasePath {
			// aegis's own records always follow the rendering.
			switch {
			case !exists:
				add(Change{Path: f.Path, Action: Create, Data: f.Data, Mode: f.Mode, Internal: true})
			case !equal(disk, f.Data):
				add(Change{Path: f.Path, Action: Update, Data: f.Data, Mode: f.Mode, Internal: true})
			}
			continue
		}
		rec, recorded := p.Manifest.Files[f.Path]
		switch {
		case m == modeInit && exists:
			// init --force: generated files replace the files of the same path, even identical
			// ones, so that their mode is the generated one too.
			add(Change{Path: f.Path, Action: Update, Data: f.Data, Mode: f.Mode})
			if !equal(disk, f.Data) {
				pl.Replaced = append(pl.Replaced, f.Path)
			}
		case exists && equal(disk, f.Data):
			// already what aegis would write
		case !recorded && !exists:
			add(Change{Path: f.Path, Action: Create, Data: f.Data, Mode: f.Mode})
		case !recorded:
			block(f.Path, NotOurs)
		case exists && hash(disk) == rec.SHA256:
			add(Change{Path: f.Path, Action: Update, Data: f.Data, Mode: f.Mode})
		default: // the user changed or deleted it
			base, hasBase, err := baseOf(f.Path)
			if err != nil {
				return nil, err
			}
			if hasBase && (equal(base, f.Data) || renamed != "" && equal(p.asRenamed(base, renamed), f.Data)) {
				// aegis has nothing new for it (but the module path the user renamed, as
				// their copy has it or they deleted it): the user's version stays
				continue
			}
			if !exists {
				if m == modeUpdate {
					// update keeps the user's deletion. The manifest still records the file
					// with the new rendering's hash and the base archive holds that rendering,
					// as for any generated file the user deleted: the next add, remove or
					// update then finds it deleted with nothing new for it and leaves it alone,
					// and stops only if it changes the file again. Dropping it from the
					// manifest instead would make the next command create it anew.
					pl.KeptDeleted = append(pl.KeptDeleted, f.Path)
					continue
				}
				if _, inArchive := p.baseFiles[f.Path]; inArchive {
					block(f.Path, Deleted)
				} else {
					block(f.Path, DeletedNoBase)
				}
				continue
			}
			if !hasBase {
				block(f.Path, NoBase)
				continue
			}
			if renamed != "" {
				// The user's copy has the module path they renamed to, as aegis's new version
				// does: merged against the base under the recorded path, the rename would count
				// as the user's change to every line naming the module, and an import aegis
				// drops (wire_gen.go's of a removed part) would stay as if the user had added it.
				base = p.asRenamed(base, renamed)
				if equal(disk, base) {
					// The rename was the user's only change, and the new version has it
					// too: nothing of theirs to merge.
					add(Change{Path: f.Path, Action: Update, Data: f.Data, Mode: f.Mode})
					continue
				}
			}
			if slices.Contains(generate.WireFiles, f.Path) {
				// The wire_gen.go import files are merged by their imports (mergeWire).
				if merged, ok := mergeWire(f.Path, disk, base, f.Data); ok {
					add(Change{Path: f.Path, Action: Merge, Data: merged, Mode: f.Mode})
					continue
				}
			}
			if merged, settled, ok := mergeModule(f.Path, disk, base, f.Data); ok {
				if f.Path == "go.mod" {
					// The merge by meaning writes go.mod afresh, without the user's comments.
					merged, pl.LostComments = keepModComments(disk, base, f.Data, merged)
				}
				add(Change{Path: f.Path, Action: Merge, Data: merged, Mode: f.Mode})
				if !settled {
					pl.Tidy = true
				}
				continue
			}
			if tail, ok := bytes.CutPrefix(disk, base); ok && len(base) > 0 && endsLine(base) && endsLine(f.Data) {
				// The user only appended (notes at the end of the README): their lines follow
				// aegis's new version. A line merge would call it an overlap whenever aegis
				// changed the last lines, as git does for neighbouring changes.
				add(Change{Path: f.Path, Action: Merge, Data: append(slices.Clip(f.Data), tail...), Mode: f.Mode})
				continue
			}
			if head, tail, ok := appendedTail(disk, base); ok && endsLine(f.Data) {
				// The user appended and changed lines above too (a README's notes and its
				// title): merge the rest and keep their lines at the end, for the same reason.
				merged, conflicts, err := merge3(head, base, f.Data)
				if err != nil {
					return nil, err
				}
				if !conflicts {
					add(Change{Path: f.Path, Action: Merge, Data: append(merged, tail...), Mode: f.Mode})
					continue
				}
			}
			merged, conflicts, err := merge3(disk, base, f.Data)
			if err != nil {
				return nil, err
			}
			switch {
			case !conflicts:
				add(Change{Path: f.Path, Action: Merge, Data: merged, Mode: f.Mode})
			case m == modeUpdate:
				add(Change{Path: f.Path, Action: Conflict, Data: merged, Mode: f.Mode})
				pl.Conflicts = append(pl.Conflicts, f.Path)
			default:
				block(f.Path, Overlap)
			}
		}
	}

	var gone []string
	for rel := range p.Manifest.Files {
		if !newPaths[rel] {
			gone = append(gone, rel)
		}
	}
	slices.Sort(gone)
	for _, rel := range gone {
		disk, exists, err := p.read(rel)
		switch {
		case err != nil:
			return nil, err
		case !exists:
		case hash(disk) == p.Manifest.Files[rel].SHA256:
			add(Change{Path: rel, Action: Delete})
		case renamed != "" && p.pristineRenamed(rel, disk, renamed):
			add(Change{Path: rel, Action: Delete}) // the user's only change was the module rename
		default:
			block(rel, WouldDelete)
		}
	}
	if len(blocked) > 0 {
		e := &ModifiedError{Files: blocked}
		e.NoArchive = !p.hasArchive && slices.ContainsFunc(blocked, func(b Blocked) bool { return b.Reason == NoBase || b.Reason == DeletedNoBase })
		if m == modeAdd || m == modeRemove {
			e.Update = slices.ContainsFunc(blocked, func(b Blocked) bool { return p.newerRendering(b, oldRender) })
		}
		return nil, e
	}

	var oldOwners []string // a new project has none, not even core
	if !p.fresh {
		oldOwners = p.opts.Catalog.Owners(p.Selection())
	}
	newOwners := p.opts.Catalog.Owners(sel)
	for _, o := range newOwners {
		if !slices.Contains(oldOwners, o) {
			pl.NewOwners = append(pl.NewOwners, o)
			pl.Migrations = append(pl.Migrations, MigrationOwners(p.opts.Catalog, files, o)...)
		}
	}
	if len(oldOwners) > 0 {
		var prev []generate.File
		for _, o := range oldOwners {
			if !slices.Contains(newOwners, o) {
				pl.GoneOwners = append(pl.GoneOwners, o)
				if prev == nil {
					before, err := p.render(p.Selection())
					if err != nil {
						return nil, err
					}
					prev = before.Files
				}
				pl.Tables = append(pl.Tables, p.removedOwners(prev, o)...)
			}
		}
	}
	// By name, as the app migrates them: the user drops them in reverse.
	byName := func(a, b MigrationOwner) int { return strings.Compare(a.Name, b.Name) }
	slices.SortFunc(pl.Migrations, byName)
	slices.SortFunc(pl.Tables, byName)

	if m == modeAdd || m == modeRemove {
		if err := p.loadBase(); err != nil {
			return nil, err
		}
		for rel, data := range oldRender() {
			if base, ok := p.baseFiles[rel]; ok && !equal(base, data) {
				pl.Outdated++
			}
		}
	}
	if err := p.planDotEnv(pl, proj, baseOf); err != nil {
		return nil, err
	}
	slices.SortFunc(pl.Changes, func(a, b Change) int { return strings.Compare(a.Path, b.Path) })
	return pl, nil
}

// pristineRenamed reports whether disk is aegis's copy of rel in the base archive with the
// recorded module path replaced by renamed, as the user's search and replace of a module rename
// leaves a file they did not otherwise change.
func (p *Project) pristineRenamed(rel string, disk []byte, renamed string) bool {
	if err := p.loadBase(); err != nil {
		return false
	}
	base, ok := p.baseFiles[rel]
	return ok && equal(disk, p.asRenamed(base, renamed))
}

// asRenamed is data with the recorded module path replaced by renamed.
func (p *Project) asRenamed(data []byte, renamed string) []byte {
	return bytes.ReplaceAll(data, []byte(p.Manifest.Module), []byte(renamed))
}

// checkMarkers refuses a project whose generated files still hold the conflict markers an
// update wrote: the next merge would take them for the user's lines, and the project does not
// build until they are resolved.
func (p *Project) checkMarkers() error {
	var marked []string
	for rel := range p.Manifest.Files {
		data, exists, err := p.read(rel)
		if err != nil {
			return err
		}
		if exists && hasMarkers(data) {
			marked = append(marked, rel)
		}
	}
	if len(marked) == 0 {
		return nil
	}
	slices.Sort(marked)
	files := "1 file still holds"
	if len(marked) > 1 {
		files = fmt.Sprintf("%d files still hold", len(marked))
	}
	return fmt.Errorf("%s the conflict markers of an earlier update (<<<<<<< yours / >>>>>>> aegis): %s; resolve them (keep the lines you want, delete the markers), commit, then retry",
		files, strings.Join(marked, ", "))
}

// hasMarkers reports whether data holds the opening and closing lines of a conflict merge3
// writes.
func hasMarkers(data []byte) bool {
	line := func(s string) bool {
		return bytes.HasPrefix(data, []byte(s)) || bytes.Contains(data, []byte("\n"+s))
	}
	return line("<<<<<<< yours\n") && line(">>>>>>> aegis\n")
}

// newerRendering reports whether b stops add or remove because this aegis renders the recorded
// selection differently from the aegis that made the project (old is this aegis's rendering of
// the recorded selection), rather than because of the parts added or removed.
func (p *Project) newerRendering(b Blocked, old func() map[string][]byte) bool {
	cur, ok := old()[b.Path]
	switch b.Reason {
	case Overlap, Deleted:
		base, hasBase := p.baseFiles[b.Path]
		return hasBase && (!ok || !equal(cur, base))
	case NotOurs:
		return ok // this aegis writes it for the selection the project has
	case WouldDelete:
		return !ok // this aegis no longer writes it for that selection
	default: // NoBase, DeletedNoBase: no pristine copy to compare with
		return false
	}
}

// planDotEnv appends to .env (creating it if need be) a random value for each secret of the new
// .env.example that .env does not set yet. Values already there are never touched; those only
// the removed parts read are listed in pl.Unread.
func (p *Project) planDotEnv(pl *Plan, proj *generate.Project, baseOf func(string) ([]byte, bool, error)) error {
	cur, exists, err := p.read(".env")
	if err != nil {
		return err
	}
	if exists && !p.fresh {
		old, ok, err := baseOf(".env.example")
		if err != nil {
			return err
		}
		if ok {
			pl.Unread = proj.Unread(cur, old)
		}
	}
	data, added, err := proj.DotEnv(cur, exists)
	if err != nil || len(added) == 0 {
		return err
	}
	act := Update
	if !exists {
		act = Create
	}
	pl.Changes = append(pl.Changes, Change{Path: ".env", Action: act, Data: data, Mode: 0o600, Internal: true})
	pl.Secrets = added
	return nil
}

// endsLine reports whether data is empty or ends with a newline, so that lines appended to it
// start a line of their own.
func endsLine(data []byte) bool { return len(data) == 0 || data[len(data)-1] == '\n' }

// appendedTail splits the user's file disk after the last line of base, when that line starts a
// line of disk and more follows it: head is the user's version of base, tail the lines they
// appended after it.
func appendedTail(disk, base []byte) (head, tail []byte, ok bool) {
	if len(base) == 0 || !endsLine(base) {
		return nil, nil, false
	}
	last := base[bytes.LastIndexByte(base[:len(base)-1], '\n')+1:]
	i := bytes.LastIndex(disk, last)
	if i < 0 || i > 0 && disk[i-1] != '\n' || i+len(last) == len(disk) {
		return nil, nil, false
	}
	return disk[:i+len(last)], disk[i+len(last):], true
}
