package project

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// ErrNoGit is returned when a three-way merge is needed and git is not installed.
var ErrNoGit = errors.New("git is not installed")

// merge3 merges the user's version (ours) and aegis's new rendering (theirs) of a file against
// the version aegis generated before (base), with git merge-file. It reports whether conflicts
// remain; the returned data then holds conflict markers.
func merge3(ours, base, theirs []byte) ([]byte, bool, error) {
	git, err := exec.LookPath("git")
	if err != nil {
		return nil, false, fmt.Errorf("a file you changed must be merged with aegis's new version, which needs git: install git and retry: %w", ErrNoGit)
	}
	dir, err := os.MkdirTemp("", "aegis-merge-*")
	if err != nil {
		return nil, false, fmt.Errorf("project: merge: %w", err)
	}
	defer os.RemoveAll(dir)
	names := []string{"yours", "base", "aegis"}
	for i, data := range [][]byte{ours, base, theirs} {
		if err := os.WriteFile(filepath.Join(dir, names[i]), data, 0o600); err != nil {
			return nil, false, fmt.Errorf("project: merge: %w", err)
		}
	}
	cmd := exec.Command(git, "merge-file", "-p", "-L", "yours", "-L", "base", "-L", "aegis", "yours", "base", "aegis")
	cmd.Dir = dir
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	err = cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return out.Bytes(), false, nil
	case errors.As(err, &exit) && exit.ExitCode() > 0 && exit.ExitCode() < 128:
		return out.Bytes(), true, nil // exit status = number of conflicts
	default:
		return nil, false, fmt.Errorf("project: git merge-file: %w: %s", err, bytes.TrimSpace(stderr.Bytes()))
	}
}
