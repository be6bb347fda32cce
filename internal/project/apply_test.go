package project

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestFsError: a write that permissions or a read-only file system refuse becomes a
// WriteError naming the folder the user must fix, never Apply's staging folder; other failures
// keep their "project:" error.
func TestFsError(t *testing.T) {
	stage := filepath.FromSlash("/p/.aegis-stage-1")
	tests := []struct {
		name    string
		err     error
		wantDir string // "" means not a WriteError
		wantMsg string
	}{
		{"mkdir refused", &fs.PathError{Op: "mkdir", Path: filepath.FromSlash("/ro/.x.aegis-1"), Err: syscall.EACCES},
			filepath.FromSlash("/ro"), "cannot write in " + filepath.FromSlash("/ro") + " (permission denied)"},
		{"read-only file system", &fs.PathError{Op: "mkdir", Path: filepath.FromSlash("/mnt/x"), Err: syscall.EROFS},
			filepath.FromSlash("/mnt"), "(read-only file system)"},
		{"rename into place", &os.LinkError{Op: "rename", Old: filepath.Join(stage, "new", "0"), New: filepath.FromSlash("/p/internal/a.go"), Err: syscall.EACCES},
			filepath.FromSlash("/p/internal"), "cannot write in " + filepath.FromSlash("/p/internal")},
		{"rename aside", &os.LinkError{Op: "rename", Old: filepath.FromSlash("/p/cmd/main.go"), New: filepath.Join(stage, "old", "3"), Err: syscall.EPERM},
			filepath.FromSlash("/p/cmd"), "cannot write in " + filepath.FromSlash("/p/cmd")},
		{"disk full", &fs.PathError{Op: "mkdir", Path: filepath.FromSlash("/p/x"), Err: syscall.ENOSPC},
			"", "project: mkdir"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := fsError(tt.err, stage)
			var we *WriteError
			if errors.As(got, &we) != (tt.wantDir != "") || we != nil && we.Dir != tt.wantDir {
				t.Fatalf("fsError = %#v, want a WriteError in %q", got, tt.wantDir)
			}
			if !errors.Is(got, tt.err) {
				t.Errorf("fsError(%v) does not wrap it", tt.err)
			}
			if msg := got.Error(); !strings.Contains(msg, tt.wantMsg) {
				t.Errorf("message %q lacks %q", msg, tt.wantMsg)
			}
		})
	}
}

// TestApplyIntoReadOnlyFolder: init into a folder the user cannot write in fails with a
// WriteError naming that folder, and leaves nothing behind.
func TestApplyIntoReadOnlyFolder(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root writes in a read-only folder")
	}
	ro := t.TempDir()
	if err := os.Chmod(ro, 0o555); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(ro, 0o755) })
	for _, target := range []string{filepath.Join(ro, "app"), filepath.Join(ro, "sub", "app")} {
		p := New(target, "app", testModule, Opts{})
		pl, err := p.PlanInit(resolve(t), false)
		if err != nil {
			t.Fatal(err)
		}
		err = p.Apply(t.Context(), pl)
		var we *WriteError
		if !errors.As(err, &we) || we.Dir != ro {
			t.Errorf("%s: Apply = %v, want a WriteError in %s", target, err, ro)
		}
		if entries, _ := os.ReadDir(ro); len(entries) != 0 {
			t.Errorf("%s: Apply left %v", target, entries)
		}
	}
}
