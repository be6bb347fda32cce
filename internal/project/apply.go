package project

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/sync/errgroup"
)

// Test hooks: stageHook runs as each change is staged, applyHook before each change is moved
// into place; an error from either aborts the apply.
var (
	stageHook func(i int, c Change) error
	applyHook func(i int, c Change) error
)

// WriteError is a folder Apply could not write in: the user's permissions or a read-only file
// system refuse it. It names the folder to fix rather than the file that failed, which may be
// one of Apply's staging files the user never sees.
type WriteError struct {
	// Dir is the folder that must be writable.
	Dir string
	// Err is the failed file-system call.
	Err error
}

func (e *WriteError) Error() string {
	reason := "permission denied"
	if errors.Is(e.Err, syscall.EROFS) {
		reason = "read-only file system"
	}
	return fmt.Sprintf("cannot write in %s (%s)", e.Dir, reason)
}

func (e *WriteError) Unwrap() error { return e.Err }

// LockedError is a file or folder Apply must change that chattr's immutable or append-only
// attribute locks. That refuses even root, with the EPERM permissions give, but the folder is
// writable: the attribute is what the user must clear.
type LockedError struct {
	// Path is the locked file or, with Dir, the folder whose entries Apply must change.
	Path string
	Dir  bool
	// Attr is chattr's letter for the attribute: 'i' (immutable) or 'a' (append-only).
	Attr byte
	// Err is the failed file-system call.
	Err error
}

func (e *LockedError) Error() string {
	what, kind := "immutable", "file"
	if e.Attr == 'a' {
		what = "append-only"
	}
	if e.Dir {
		kind = "folder"
	}
	verb := "change"
	if e.Dir {
		verb = "write in"
	}
	return fmt.Sprintf("cannot %s %s: the %s is %s (chattr +%c): run chattr -%c %s and retry",
		verb, e.Path, kind, what, e.Attr, e.Attr, quotePath(e.Path))
}

func (e *LockedError) Unwrap() error { return e.Err }

// locked is the LockedError for a call on path that failed with err, when path or its folder
// has a lock attribute; nil otherwise. Only EPERM can come of one (permissions give EACCES).
func locked(err error, path string) error {
	if !errors.Is(err, syscall.EPERM) {
		return nil
	}
	if a := lockAttr(path); a != 0 {
		return &LockedError{Path: path, Attr: a, Err: err}
	}
	if a := lockAttr(filepath.Dir(path)); a != 0 {
		return &LockedError{Path: filepath.Dir(path), Dir: true, Attr: a, Err: err}
	}
	return nil
}

// quotePath quotes path for a shell where it needs it.
func quotePath(path string) string {
	if path != "" && strings.IndexFunc(path, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:@+=,~", r))
	}) < 0 {
		return path
	}
	return "'" + strings.ReplaceAll(path, "'", `'\''`) + "'"
}

// fsError wraps a failed file-system call of Apply: a *LockedError when a lock attribute
// refused it, a *WriteError when permissions did, "project: ..." otherwise. stage is Apply's staging folder, which Apply made and can write in:
// of a rename's two paths, the folder at fault is that of the one outside it.
func fsError(err error, stage string) error {
	if !errors.Is(err, fs.ErrPermission) && !errors.Is(err, syscall.EROFS) {
		return fmt.Errorf("project: %w", err)
	}
	var path string
	var pe *fs.PathError
	var le *os.LinkError
	switch {
	case errors.As(err, &le):
		path = le.New
		if stage != "" && strings.HasPrefix(path, stage+string(filepath.Separator)) {
			path = le.Old
		}
	case errors.As(err, &pe):
		path = pe.Path
	default:
		return fmt.Errorf("project: %w", err)
	}
	if le := locked(err, path); le != nil {
		return le
	}
	// Creating, removing or renaming an entry needs write permission on its folder, and Apply
	// never writes an existing file in place: the folder is what the user must fix.
	return &WriteError{Dir: filepath.Dir(path), Err: err}
}

// Apply carries out a plan, atomically: new contents are first written to a staging folder, and
// only then moved into place. If anything fails or ctx is cancelled, nothing is left behind: a
// project being created does not appear at all, and an existing one is left as it was (every
// change already made is undone).
//
// A project created into a missing or empty folder is staged beside it, as a whole tree, and
// renamed into place in one step: creating files is most of what init costs, and one rename
// saves moving each of them. Any other plan is staged in a folder inside the project (so the
// moves never cross a file-system boundary, even when the project is a mount point), and each
// file is moved into place with the one it replaces kept aside until the end.
//
// Once applied, p describes the project on disk: plan again from it for the next change.
func (p *Project) Apply(ctx context.Context, pl *Plan) error {
	if pl.Empty() {
		return nil
	}
	create := !slices.ContainsFunc(pl.Changes, func(c Change) bool { return c.Action != Create })
	if create {
		empty, err := emptyDir(p.Dir)
		if err != nil {
			return err
		}
		create = empty
	}
	apply := p.replace
	if create {
		apply = p.create
	}
	if err := apply(ctx, pl); err != nil {
		return err
	}
	p.Manifest, p.fresh, p.baseFiles = pl.Manifest, false, nil
	return nil
}

// create writes a whole new project: staged beside p.Dir, then renamed to it.
func (p *Project) create(ctx context.Context, pl *Plan) (err error) {
	parent := filepath.Dir(p.Dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return fsError(err, "")
	}
	stage, err := os.MkdirTemp(parent, "."+filepath.Base(p.Dir)+".aegis-*")
	if err != nil {
		return fsError(err, "")
	}
	defer func() {
		if rmErr := os.RemoveAll(stage); rmErr != nil && err == nil {
			err = fmt.Errorf("project: clean up %s: %w", stage, rmErr)
		}
	}()
	if err := os.Chmod(stage, 0o755); err != nil { // MkdirTemp makes it private
		return fmt.Errorf("project: %w", err)
	}
	dirs := map[string]bool{}
	for _, c := range pl.Changes {
		dirs[filepath.Dir(filepath.Join(stage, filepath.FromSlash(c.Path)))] = true
	}
	for d := range dirs {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("project: %w", err)
		}
	}
	if err := stageFiles(ctx, pl.Changes, func(_ int, c Change) string {
		return filepath.Join(stage, filepath.FromSlash(c.Path))
	}); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("project: interrupted: %w", err)
	}
	// os.Rename refuses to replace a folder, even an empty one: remove it first (Remove fails,
	// harmlessly, if a file appeared in it meanwhile).
	if err := os.Remove(p.Dir); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fsError(err, stage)
	}
	if err := os.Rename(stage, p.Dir); err != nil {
		return fsError(err, stage)
	}
	return nil
}

// step is one change replace made, with what undoing it takes.
type step struct {
	dst, backup string
	placed      bool
	dirs        []string // folders created for dst, outermost first
	// target is the file a symbolic link at dst points to, written in place (the link
	// stays); old is its content before, written back if a later step fails.
	target string
	old    []byte
}

// replace changes an existing project file by file, undoing every step if one fails.
func (p *Project) replace(ctx context.Context, pl *Plan) (err error) {
	stage, err := os.MkdirTemp(p.Dir, ".aegis-stage-*")
	if err != nil {
		return fsError(err, "")
	}
	defer func() {
		if rmErr := os.RemoveAll(stage); rmErr != nil && err == nil {
			err = fmt.Errorf("project: clean up %s: %w", stage, rmErr)
		}
	}()
	for _, sub := range []string{"new", "old"} {
		if err := os.Mkdir(filepath.Join(stage, sub), 0o700); err != nil {
			return fmt.Errorf("project: %w", err)
		}
	}
	var writes []Change
	var names []string
	for i, c := range pl.Changes {
		if c.Action != Delete {
			writes = append(writes, c)
			names = append(names, filepath.Join(stage, "new", strconv.Itoa(i)))
		}
	}
	if err := stageFiles(ctx, writes, func(i int, _ Change) string { return names[i] }); err != nil {
		return err
	}

	var done []step
	defer func() {
		if err == nil {
			return
		}
		for _, s := range slices.Backward(done) {
			if s.target != "" {
				os.WriteFile(s.target, s.old, 0)
				continue
			}
			if s.placed {
				os.Remove(s.dst)
			}
			if s.backup != "" {
				os.Rename(s.backup, s.dst)
			}
			for _, d := range slices.Backward(s.dirs) {
				os.Remove(d) // only succeeds when empty
			}
		}
	}()
	for i, c := range pl.Changes {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("project: interrupted: %w", err)
		}
		if applyHook != nil {
			if err := applyHook(i, c); err != nil {
				return err
			}
		}
		s := step{dst: filepath.Join(p.Dir, filepath.FromSlash(c.Path))}
		fi, statErr := os.Lstat(s.dst)
		if statErr == nil && fi.Mode()&fs.ModeSymlink != 0 && c.Action != Delete {
			// A link the user made (.env pointing into a secrets folder) stays a link: moving a
			// file into its place would silently cut the project off from the file it shares.
			if err := writeThrough(&s, c); err != nil {
				return err
			}
			done = append(done, s)
			continue
		}
		if statErr == nil {
			s.backup = filepath.Join(stage, "old", strconv.Itoa(i))
			if err := os.Rename(s.dst, s.backup); err != nil {
				return fsError(err, stage)
			}
		} else if !errors.Is(statErr, fs.ErrNotExist) {
			return fmt.Errorf("project: %w", statErr)
		}
		if c.Action != Delete {
			for d := filepath.Dir(s.dst); ; d = filepath.Dir(d) {
				if _, err := os.Stat(d); err == nil || d == p.Dir || d == filepath.Dir(d) {
					break
				}
				s.dirs = append([]string{d}, s.dirs...)
			}
			if err := os.MkdirAll(filepath.Dir(s.dst), 0o755); err != nil {
				done = append(done, s)
				return fsError(err, stage)
			}
			if err := os.Rename(filepath.Join(stage, "new", strconv.Itoa(i)), s.dst); err != nil {
				done = append(done, s)
				return fsError(err, stage)
			}
			s.placed = true
		}
		done = append(done, s)
	}
	// Folders left empty by deletions go too, as if they had never been generated.
	for _, c := range pl.Changes {
		if c.Action != Delete {
			continue
		}
		root := filepath.Clean(p.Dir)
		for d := filepath.Dir(filepath.Join(p.Dir, filepath.FromSlash(c.Path))); d != root && len(d) > len(root); d = filepath.Dir(d) {
			if os.Remove(d) != nil {
				break
			}
		}
	}
	return nil
}

// writeThrough writes c's data to the file the symbolic link s.dst points to, recording in s
// what to write back if a later step fails.
func writeThrough(s *step, c Change) error {
	target, err := filepath.EvalSymlinks(s.dst)
	if err != nil {
		return fmt.Errorf("%s is a symbolic link aegis cannot follow (%w): point it at an existing file, or replace it with a file, and retry", c.Path, err)
	}
	old, err := os.ReadFile(target)
	if err != nil {
		return fmt.Errorf("cannot read %s, which %s links to (%w): make it readable and retry", target, c.Path, err)
	}
	if err := os.WriteFile(target, c.Data, c.Mode.Perm()); err != nil {
		os.WriteFile(target, old, 0) // WriteFile may have truncated it before failing
		if le := locked(err, target); le != nil {
			return le
		}
		return fmt.Errorf("cannot write %s, which %s links to (%w): make it writable and retry", target, c.Path, err)
	}
	s.target, s.old = target, old
	return nil
}

// stageFiles writes each change's data to name(i, c), whose folder exists. Creating a file costs
// a round trip to the file system, which dominates init, so several are written at once.
func stageFiles(ctx context.Context, changes []Change, name func(i int, c Change) string) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	var mu sync.Mutex // stageHook is not safe for concurrent use
	for i, c := range changes {
		g.Go(func() error {
			if err := gctx.Err(); err != nil {
				return fmt.Errorf("project: interrupted: %w", err)
			}
			if stageHook != nil {
				mu.Lock()
				err := stageHook(i, c)
				mu.Unlock()
				if err != nil {
					return err
				}
			}
			if err := os.WriteFile(name(i, c), c.Data, c.Mode.Perm()); err != nil {
				return fmt.Errorf("project: stage %s: %w", c.Path, err)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	// errgroup cancels gctx once a goroutine fails; report an interrupt only when ctx itself ended.
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("project: interrupted: %w", err)
	}
	return nil
}
