package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aegisgo/aegis/internal/catalog"
)

// TestEndToEndTerminalScreen runs init's form in tmux terminals of 80x24 and 120x40 and reads
// the screen a user reads: every option is visible at once with its description, coming-soon
// entries are listed as such, the description names the help line's key, and what is picked
// with that key is what gets generated. Ctrl-C still interrupts.
func TestEndToEndTerminalScreen(t *testing.T) {
	comps, svcs := offered(catalog.KindComponent), offered(catalog.KindService)
	if len(comps) == 0 || len(svcs) == 0 || !comps[0].Available() || !svcs[0].Available() {
		t.Fatal("the catalog no longer offers an available component and service first; pick others here")
	}
	for _, size := range []struct{ cols, rows int }{{80, 24}, {120, 40}} {
		t.Run(fmt.Sprintf("%dx%d", size.cols, size.rows), func(t *testing.T) {
			dir := t.TempDir()
			p := startTmux(t, size.cols, size.rows, aegisShell("init", "ttyapp", "-o", dir))

			screen := p.waitScreen("every component", func(s string) bool { return len(hidden(s, comps)) == 0 })
			for _, w := range []string{"space to toggle, enter to confirm", "space toggle", "enter confirm"} {
				if !strings.Contains(screen, w) {
					t.Errorf("components screen lacks %q:\n%s", w, screen)
				}
			}
			p.press("Space", comps[0].Name+" checked", func(s string) bool { return strings.Contains(s, "✓ "+comps[0].Name) })
			p.press("Enter", "every service", func(s string) bool {
				return strings.Contains(s, "Services:") && len(hidden(s, svcs)) == 0
			})
			p.press("Space", svcs[0].Name+" checked", func(s string) bool { return strings.Contains(s, "✓ "+svcs[0].Name) })
			p.press("Enter", "the confirmation", func(s string) bool { return strings.Contains(s, "Generate this project?") })
			screen = p.press("Enter", "aegis to exit", func(s string) bool { return strings.Contains(s, "aegis-exit=") })
			if !strings.Contains(screen, "aegis-exit=0") {
				t.Fatalf("init failed:\n%s", screen)
			}

			var m struct{ Components, Services []string }
			data, err := os.ReadFile(filepath.Join(dir, "ttyapp", ".aegis", "manifest.json"))
			if err == nil {
				err = json.Unmarshal(data, &m)
			}
			if err != nil || !slices.Contains(m.Components, comps[0].Name) || !slices.Contains(m.Services, svcs[0].Name) {
				t.Errorf("generated components %v and services %v (%v), want %s and %s", m.Components, m.Services, err, comps[0].Name, svcs[0].Name)
			}
		})
	}

	t.Run("ctrl-c", func(t *testing.T) {
		dir := t.TempDir()
		p := startTmux(t, 80, 24, aegisShell("init", "ttyapp", "-o", dir))
		p.waitScreen("every component", func(s string) bool { return len(hidden(s, comps)) == 0 })
		p.send("C-c")
		screen := p.waitScreen("aegis to exit", func(s string) bool { return strings.Contains(s, "aegis-exit=") })
		if !strings.Contains(screen, "aegis: interrupted; nothing was written") || !strings.Contains(screen, "aegis-exit=130") {
			t.Errorf("Ctrl-C did not interrupt with status 130:\n%s", screen)
		}
		assertEmpty(t, dir)
	})
}

// offered returns the entries of kind that init asks about, in catalog order.
func offered(kind catalog.Kind) []catalog.Entry {
	var out []catalog.Entry
	for _, e := range catalog.Default.OfKind(kind) {
		if !e.AlwaysOn {
			out = append(out, e)
		}
	}
	return out
}

// hidden returns the entries screen does not show: an available one must show its name followed
// by its whole description (wrapped lines joined), a coming-soon one its name on a line that says
// so.
func hidden(screen string, entries []catalog.Entry) []string {
	flat := strings.Join(strings.Fields(strings.ReplaceAll(screen, "┃", " ")), " ")
	var missing []string
	for _, e := range entries {
		if e.Available() {
			if !strings.Contains(flat, e.Name+" "+e.Description) {
				missing = append(missing, e.Name)
			}
			continue
		}
		if !slices.ContainsFunc(strings.Split(screen, "\n"), func(line string) bool {
			f := strings.Fields(line)
			return len(f) > 0 && f[0] == e.Name && strings.Contains(line, string(e.Status))
		}) {
			missing = append(missing, e.Name)
		}
	}
	return missing
}

func assertEmpty(t *testing.T, dir string) {
	t.Helper()
	if entries, _ := os.ReadDir(dir); len(entries) > 0 {
		t.Errorf("%s is not empty: %v", dir, entries)
	}
}

// aegisShell is a shell command running aegis with args, then printing its exit status and
// staying open so the screen can still be read.
func aegisShell(args ...string) string {
	quoted := []string{"AEGIS_TEST_MAIN=1", shQuote(os.Args[0])}
	for _, a := range args {
		quoted = append(quoted, shQuote(a))
	}
	return strings.Join(quoted, " ") + "; echo aegis-exit=$?; sleep 600"
}

func shQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// tmuxPane is one command running in a detached tmux session of a given size, so a test sees
// what the terminal shows rather than the bytes written to it.
type tmuxPane struct {
	t    *testing.T
	sock string
}

func startTmux(t *testing.T, cols, rows int, command string) *tmuxPane {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("tmux is not on PATH; the terminal screen test needs it: apt-get install -y tmux")
	}
	p := &tmuxPane{t: t, sock: filepath.Join(t.TempDir(), "tmux.sock")}
	p.tmux("-f", "/dev/null", "new-session", "-d", "-s", "aegis", "-x", strconv.Itoa(cols), "-y", strconv.Itoa(rows), command)
	t.Cleanup(func() { _ = exec.Command("tmux", "-S", p.sock, "kill-server").Run() })
	return p
}

func (p *tmuxPane) tmux(args ...string) string {
	p.t.Helper()
	out, err := exec.Command("tmux", append([]string{"-S", p.sock}, args...)...).CombinedOutput()
	if err != nil {
		p.t.Fatalf("tmux %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// screen is what the pane shows now, without scrollback.
func (p *tmuxPane) screen() string { return p.tmux("capture-pane", "-p", "-t", "aegis") }

// send presses keys, named as tmux names them (Enter, Space, C-c).
func (p *tmuxPane) send(keys ...string) {
	p.tmux(append([]string{"send-keys", "-t", "aegis"}, keys...)...)
}

// press sends key once and waits until the screen satisfies ok, and returns that screen. Once:
// every form, including one that starts right after another, must act on its first key.
func (p *tmuxPane) press(key, what string, ok func(screen string) bool) string {
	p.t.Helper()
	p.send(key)
	return p.waitScreen(what+" after one "+key, ok)
}

// waitScreen waits until the screen satisfies ok and returns it.
func (p *tmuxPane) waitScreen(what string, ok func(screen string) bool) string {
	p.t.Helper()
	var s string
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if s = p.screen(); ok(s) {
			return s
		}
	}
	p.t.Fatalf("timed out waiting for %s; screen:\n%s", what, s)
	return ""
}

// TestEndToEndEndOfInput: interactive init with stdin at its end asks, then says in one line how
// to run without questions, exits 2 and leaves nothing behind; an interrupt while it waits for an
// answer is still an interrupt (130).
func TestEndToEndEndOfInput(t *testing.T) {
	dir := t.TempDir()
	code, out, stderr := runAegis(t, "init", "x", "-o", dir) // stdin is /dev/null
	want := "aegis: stdin closed before init's questions were answered: pass the choices as flags with --no-interactive (see 'aegis init --help')\n"
	if code != 2 || stderr != want {
		t.Errorf("exit %d, stderr %q; want exit 2, %q", code, stderr, want)
	}
	if !strings.Contains(out, "Components (backend") {
		t.Errorf("init did not ask before stdin ended:\n%s", out)
	}
	assertEmpty(t, dir)

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := aegis(ctx, "init", "x", "-o", dir)
	stdin, err := cmd.StdinPipe() // open, and nobody answers
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	screen, errb := &syncBuffer{}, &syncBuffer{}
	cmd.Stdout, cmd.Stderr = screen, errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, screen, "Enter names or numbers")
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	err = cmd.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 130 || errb.String() != "aegis: interrupted; nothing was written\n" {
		t.Errorf("interrupt: %v, stderr %q; want exit status 130 and the interrupted line", err, errb.String())
	}
	assertEmpty(t, dir)
}
