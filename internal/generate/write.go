package generate

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"golang.org/x/sync/errgroup"
)

// ErrExists is returned by Write when the target holds files and Force is not set.
var ErrExists = errors.New("directory exists and is not empty")

// WriteOpts tune Write. The zero value refuses to touch an existing non-empty directory.
type WriteOpts struct {
	// Force writes into an existing directory: generated files replace files of the same path,
	// every other file is kept.
	Force bool
	// Progress, when set, is called once per file written.
	Progress func(f File)
}

// Write creates the project at dir. Files are written into a temporary folder beside dir and
// renamed into place, so a failure or a cancelled ctx leaves nothing behind.
func Write(ctx context.Context, dir string, files []File, opts WriteOpts) (err error) {
	exists, err := nonEmpty(dir)
	if err != nil {
		return err
	}
	if exists && !opts.Force {
		return fmt.Errorf("generate: %s: %w", dir, ErrExists)
	}
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return fmt.Errorf("generate: %w", err)
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(dir)+".aegis-*")
	if err != nil {
		return fmt.Errorf("generate: %w", err)
	}
	defer func() {
		if rmErr := os.RemoveAll(tmp); rmErr != nil && err == nil {
			err = fmt.Errorf("generate: clean up %s: %w", tmp, rmErr)
		}
	}()
	if err := os.Chmod(tmp, 0o755); err != nil {
		return fmt.Errorf("generate: %w", err)
	}

	if err := writeFiles(ctx, tmp, files, opts.Progress); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("generate: interrupted: %w", err)
	}
	if !exists {
		// os.Rename refuses to replace a directory, even an empty one: remove it first (Remove
		// fails, harmlessly, if a file appeared in it meanwhile).
		if err := os.Remove(dir); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("generate: %w", err)
		}
		if err := os.Rename(tmp, dir); err != nil {
			return fmt.Errorf("generate: %w", err)
		}
		return nil
	}
	for _, f := range files {
		dst := filepath.Join(dir, filepath.FromSlash(f.Path))
		if _, err := os.Lstat(dst); err == nil && f.KeepExisting {
			continue
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return fmt.Errorf("generate: %w", err)
		}
		if err := os.Rename(filepath.Join(tmp, filepath.FromSlash(f.Path)), dst); err != nil {
			return fmt.Errorf("generate: %w", err)
		}
	}
	return nil
}

// nonEmpty reports whether dir exists with entries; a regular file there is an error.
func nonEmpty(dir string) (bool, error) {
	fi, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("generate: %w", err)
	}
	if !fi.IsDir() {
		return false, fmt.Errorf("generate: %s exists and is not a directory", dir)
	}
	f, err := os.Open(dir)
	if err != nil {
		return false, fmt.Errorf("generate: %w", err)
	}
	defer f.Close()
	names, err := f.Readdirnames(1)
	if err != nil && !errors.Is(err, io.EOF) {
		return false, fmt.Errorf("generate: %w", err)
	}
	return len(names) > 0, nil
}

// writeFiles writes files under root. Creating a file costs a round trip to the file system,
// which dominates init time, so several files are written at once.
func writeFiles(ctx context.Context, root string, files []File, progress func(File)) error {
	dirs := map[string]bool{}
	for _, f := range files {
		dirs[filepath.Dir(filepath.Join(root, filepath.FromSlash(f.Path)))] = true
	}
	for d := range dirs {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("generate: %w", err)
		}
	}
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	var mu sync.Mutex
	for _, f := range files {
		g.Go(func() error {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("generate: interrupted: %w", err)
			}
			if err := os.WriteFile(filepath.Join(root, filepath.FromSlash(f.Path)), f.Data, f.Mode.Perm()); err != nil {
				return fmt.Errorf("generate: %w", err)
			}
			if progress != nil {
				mu.Lock()
				progress(f)
				mu.Unlock()
			}
			return nil
		})
	}
	return g.Wait()
}
