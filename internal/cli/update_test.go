package cli

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/aegisgo/aegis/internal/generate"
	"github.com/aegisgo/aegis/template"
)

// TestGrowOutput: what update (and add) say after a merge: a deletion kept, conflicts counted in
// words that fit their number, a dry run that says what would happen, and the go mod tidy hint.
func TestGrowOutput(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Fatal("update merges with git, which is not installed: install git to run these tests")
	}
	const (
		body = "internal/components/backend/body.go"
		docs = "internal/components/backend/docs.go"
	)
	// firstLine puts a line before a file's first: on the generator's side and the user's, a
	// conflict.
	firstLine := func(text string) func(string) string {
		return func(s string) string { return text + "\n" + s }
	}
	userEdit := func(rel string, edit func(string) string) func(t *testing.T, dir string) {
		return func(t *testing.T, dir string) {
			data, err := os.ReadFile(filepath.Join(dir, rel))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, rel), []byte(edit(string(data))), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	tests := []struct {
		name     string
		setup    func(t *testing.T, dir string)
		gen      map[string]func(string) string // the new generator's edits of the reference app
		args     []string
		wantCode int
		wantOut  string
		wantErr  string
		// wantNot is text stdout must not hold.
		wantNot string
		// unchanged is a file the command must leave as setup made it.
		unchanged string
	}{
		{
			name:     "deleted file aegis changed",
			setup:    func(t *testing.T, dir string) { os.Remove(filepath.Join(dir, body)) },
			gen:      map[string]func(string) string{body: func(s string) string { return s + "// v2\n" }},
			args:     []string{"update", "--force"},
			wantOut:  "to this aegis's rendering (aegis " + generate.Version + ", the version that made it)\n  x keep deleted " + body + ": you deleted it; aegis changed it: its new version is written to .aegis/base.tar (read it with tar -xOf .aegis/base.tar " + body + ")",
			wantCode: 0,
		},
		{
			name:     "one conflict",
			setup:    userEdit(body, firstLine("// mine")),
			gen:      map[string]func(string) string{body: firstLine("// v2")},
			args:     []string{"update", "--force"},
			wantCode: 1,
			wantErr:  "1 file has conflicts, marked <<<<<<< yours / >>>>>>> aegis: " + body + "; resolve them, then commit",
		},
		{
			name: "two conflicts",
			setup: func(t *testing.T, dir string) {
				userEdit(body, firstLine("// mine"))(t, dir)
				userEdit(docs, firstLine("// mine"))(t, dir)
			},
			gen:      map[string]func(string) string{body: firstLine("// v2"), docs: firstLine("// v2")},
			args:     []string{"update", "--force"},
			wantCode: 1,
			wantErr:  "2 files have conflicts, marked <<<<<<< yours / >>>>>>> aegis: " + body + ", " + docs + "; resolve them, then commit",
		},
		{
			name:    "forced outside git",
			setup:   func(t *testing.T, dir string) {},
			gen:     map[string]func(string) string{body: firstLine("// v2")},
			args:    []string{"update", "--force"},
			wantOut: "Updated. Next: go build ./... && go test ./...   (the project is not in git: commit it to see later changes with git diff)",
		},
		{
			name: "in git",
			setup: func(t *testing.T, dir string) {
				for _, args := range [][]string{{"init", "-q"}, {"add", "-A"}, {"-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "init"}} {
					if out, err := exec.Command("git", append([]string{"-C", dir}, args...)...).CombinedOutput(); err != nil {
						t.Fatalf("git %v: %v\n%s", args, err, out)
					}
				}
			},
			gen:     map[string]func(string) string{body: firstLine("// v2")},
			args:    []string{"update"},
			wantOut: "Updated. Review with git diff, then: go build ./... && go test ./...",
		},
		{
			name:      "conflict, dry run",
			setup:     userEdit(body, firstLine("// mine")),
			gen:       map[string]func(string) string{body: firstLine("// v2")},
			args:      []string{"update", "--dry-run"},
			wantCode:  1,
			wantOut:   "Dry run: nothing was changed.",
			wantErr:   "1 file would have conflicts (" + body + "): aegis update would write them with <<<<<<< yours / >>>>>>> aegis markers for you to resolve, then commit; nothing was changed",
			unchanged: body,
		},
		{
			// The user's module and the part's are different ones: the merge is what go mod
			// tidy writes, so no hint (one after every add teaches users to ignore it).
			name: "go.mod kept the user's requirement",
			setup: userEdit("go.mod", func(s string) string {
				return strings.Replace(s, "\tgithub.com/joho/godotenv v1.5.1\n", "\tgithub.com/joho/godotenv v1.5.1\n\tgithub.com/robfig/cron/v3 v3.0.1\n", 1)
			}),
			args:    []string{"add", "cache", "--yes"},
			wantOut: "Added cache.",
			wantNot: "go mod tidy",
		},
		{
			// aegis's go.mod still requires what the user's go.mod dropped: it comes back, and
			// only go mod tidy can tell whether anything needs it.
			name: "go.mod kept a requirement the user removed",
			setup: userEdit("go.mod", func(s string) string {
				return strings.Replace(s, "\tgithub.com/joho/godotenv v1.5.1\n", "", 1)
			}),
			args:    []string{"add", "cache", "--yes"},
			wantOut: "go.mod and go.sum keep your changes beside aegis's: run 'go mod tidy' to settle them.",
		},
		{
			name:    "add on a project made by another aegis",
			setup:   func(t *testing.T, dir string) {},
			gen:     map[string]func(string) string{body: firstLine("// v2")},
			args:    []string{"add", "cache", "--dry-run"},
			wantOut: "Of these, 1 file changes only because this aegis renders it differently from the aegis that made the project: to keep those changes apart, cancel, run 'aegis update', commit, then retry.",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, _ := initFixture(t, Env{}, t.TempDir())
			tt.setup(t, dir)
			var before []byte
			if tt.unchanged != "" {
				before, _ = os.ReadFile(filepath.Join(dir, tt.unchanged))
			}
			env := Env{}
			if len(tt.gen) > 0 {
				top := fstest.MapFS{}
				for rel, edit := range tt.gen {
					data, err := fs.ReadFile(template.FS, rel)
					if err != nil {
						t.Fatal(err)
					}
					top[rel] = &fstest.MapFile{Data: []byte(edit(string(data))), Mode: 0o644}
				}
				env.Source = overlayFS(t, template.FS, top)
			}
			r := run(t, env, "", append(tt.args, "-p", dir)...)
			if r.code != tt.wantCode || !strings.Contains(r.stdout, tt.wantOut) || !strings.Contains(r.stderr, tt.wantErr) {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nwant it to hold %q\nstderr:\n%s\nwant it to hold %q",
					r.code, tt.wantCode, r.stdout, tt.wantOut, r.stderr, tt.wantErr)
			}
			if tt.wantNot != "" && strings.Contains(r.stdout, tt.wantNot) {
				t.Errorf("stdout holds %q:\n%s", tt.wantNot, r.stdout)
			}
			if strings.Count(strings.TrimSpace(r.stderr), "\n") > 0 {
				t.Errorf("error is more than one line:\n%s", r.stderr)
			}
			if tt.unchanged != "" {
				if after, _ := os.ReadFile(filepath.Join(dir, tt.unchanged)); string(after) != string(before) {
					t.Errorf("%s changed", tt.unchanged)
				}
			}
		})
	}
}
