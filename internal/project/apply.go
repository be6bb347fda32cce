package project

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
)

// applyHook, when set (tests), runs before each change is applied; an error aborts the apply.
var applyHook func(i int, c Change) error

// Apply carries out a plan. New contents are first written to a staging folder inside the
// project; then each file is moved into place, the one it replaces kept aside. If anything
// fails, every change already made is undone, so the project is left as it was.
func (p *Project) Apply(pl *Plan) (err error) {
	if pl.Empty() {
		return nil
	}
	stage, err := os.MkdirTemp(p.Dir, ".aegis-stage-*")
	if err != nil {
		return fmt.Errorf("project: %w", err)
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
	for i, c := range pl.Changes {
		if c.Action == Delete {
			continue
		}
		if err := os.WriteFile(filepath.Join(stage, "new", strconv.Itoa(i)), c.Data, c.Mode.Perm()); err != nil {
			return fmt.Errorf("project: stage %s: %w", c.Path, err)
		}
	}

	type step struct {
		dst, backup string
		placed      bool
		dirs        []string // folders created for dst, outermost first
	}
	var done []step
	defer func() {
		if err == nil {
			return
		}
		for _, s := range slices.Backward(done) {
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
		if applyHook != nil {
			if err := applyHook(i, c); err != nil {
				return err
			}
		}
		s := step{dst: filepath.Join(p.Dir, filepath.FromSlash(c.Path))}
		if _, statErr := os.Lstat(s.dst); statErr == nil {
			s.backup = filepath.Join(stage, "old", strconv.Itoa(i))
			if err := os.Rename(s.dst, s.backup); err != nil {
				return fmt.Errorf("project: %w", err)
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
				return fmt.Errorf("project: %w", err)
			}
			if err := os.Rename(filepath.Join(stage, "new", strconv.Itoa(i)), s.dst); err != nil {
				done = append(done, s)
				return fmt.Errorf("project: %w", err)
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
