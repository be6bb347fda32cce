package project

import (
	"errors"
	"io/fs"
	"os"
	"os/exec"
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

// TestApplyLockedFile: a file (or folder) add or remove must change that chattr locks refuses
// even root with EPERM, though its folder is writable: Apply names the locked path and the
// chattr that unlocks it, not a folder to make writable, and leaves the project as it was
// (the changes made before it are undone).
func TestApplyLockedFile(t *testing.T) {
	tests := []struct {
		name   string
		remove bool   // the plan removes cache (the locked file is deleted) rather than adds auth
		attr   string // chattr's letter
		folder bool   // the locked path is the folder of the file, not the file
	}{
		{"immutable file", false, "i", false},
		{"append-only file", false, "a", false},
		{"immutable folder", false, "i", true},
		{"immutable file removed", true, "i", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := initProject(t, t.TempDir(), resolve(t, "cache"), nil)
			p := load(t, dir, nil)
			var pl *Plan
			var err error
			want := Update
			if tt.remove {
				pl, err = p.PlanRemove([]string{"cache"})
				want = Delete
			} else {
				pl, err = p.PlanAdd([]string{"auth"})
			}
			if err != nil {
				t.Fatal(err)
			}
			// The last such file the plan changes: every change before it must be undone.
			var rel string
			for _, c := range pl.Changes {
				if c.Action == want {
					rel = c.Path
				}
			}
			if rel == "" {
				t.Fatalf("the plan has no %s", want)
			}
			path := filepath.Join(dir, filepath.FromSlash(rel))
			if tt.folder {
				path = filepath.Dir(path)
			}
			before := tree(t, dir)
			if out, err := exec.Command("chattr", "+"+tt.attr, path).CombinedOutput(); err != nil {
				t.Skipf("chattr +%s is not available here (it needs root and ext4, xfs or btrfs; not tmpfs or overlayfs): %v: %s", tt.attr, err, out)
			}
			t.Cleanup(func() { exec.Command("chattr", "-"+tt.attr, path).Run() })

			err = p.Apply(t.Context(), pl)
			var le *LockedError
			if !errors.As(err, &le) || le.Path != path || le.Dir != tt.folder || string(le.Attr) != tt.attr {
				t.Fatalf("Apply = %v, want a LockedError on %s", err, path)
			}
			if fix := "run chattr -" + tt.attr + " " + path + " and retry"; !strings.HasSuffix(err.Error(), fix) {
				t.Errorf("message %q does not end with %q", err, fix)
			}
			if strings.Contains(err.Error(), "writable") {
				t.Errorf("message %q blames permissions", err)
			}
			if err := exec.Command("chattr", "-"+tt.attr, path).Run(); err != nil {
				t.Fatal(err)
			}
			after := tree(t, dir)
			for p, v := range before {
				if after[p] != v {
					t.Errorf("%s changed or is gone", p)
				}
			}
			for p := range after {
				if _, ok := before[p]; !ok {
					t.Errorf("Apply left %s", p)
				}
			}
		})
	}
}

// TestApplyKeepsSymlinks: a generated file or .env the user replaced with a symbolic link (a
// .env shared from a secrets folder) stays a link: add writes through it, and a failure later
// in the apply puts the linked file's old content back.
func TestApplyKeepsSymlinks(t *testing.T) {
	tests := []struct {
		name     string
		fail     bool
		wantEnv  string // prefix of the linked .env afterwards
		wantAuth bool   // the linked README.md names auth afterwards
	}{
		{"applied", false, "MINE=1\nAUTH_SECRET=", true},
		{"rolled back", true, "MINE=1\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := initProject(t, t.TempDir(), resolve(t), nil)
			shared := t.TempDir()
			readme, _ := os.ReadFile(filepath.Join(dir, "README.md"))
			targets := map[string][]byte{".env": []byte("MINE=1\n"), "README.md": readme}
			for name, data := range targets {
				if err := os.WriteFile(filepath.Join(shared, name), data, 0o600); err != nil {
					t.Fatal(err)
				}
				os.Remove(filepath.Join(dir, name))
				if err := os.Symlink(filepath.Join(shared, name), filepath.Join(dir, name)); err != nil {
					t.Skipf("no symbolic links here: %v", err)
				}
			}
			p := load(t, dir, nil)
			pl, err := p.PlanAdd([]string{"auth"})
			if err != nil {
				t.Fatal(err)
			}
			boom := errors.New("boom")
			if tt.fail {
				applyHook = func(i int, c Change) error {
					if i == len(pl.Changes)-1 {
						return boom
					}
					return nil
				}
				defer func() { applyHook = nil }()
			}
			if err := p.Apply(t.Context(), pl); (err != nil) != tt.fail || tt.fail && !errors.Is(err, boom) {
				t.Fatalf("Apply = %v, want failure %v", err, tt.fail)
			}
			for name := range targets {
				if fi, err := os.Lstat(filepath.Join(dir, name)); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
					t.Errorf("%s is no longer a symbolic link (%v)", name, err)
				}
			}
			env, _ := os.ReadFile(filepath.Join(shared, ".env"))
			if !strings.HasPrefix(string(env), tt.wantEnv) || tt.fail && string(env) != tt.wantEnv {
				t.Errorf("linked .env = %q, want it to start with %q", env, tt.wantEnv)
			}
			got, _ := os.ReadFile(filepath.Join(shared, "README.md"))
			if strings.Contains(string(got), "AUTH_SECRET") != tt.wantAuth {
				t.Errorf("linked README.md names AUTH_SECRET: %v, want %v", !tt.wantAuth, tt.wantAuth)
			}
		})
	}
}
