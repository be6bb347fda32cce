// Package browsertest drives a real Chromium for tests of dashboard pages, through its command
// line (headless, --dump-dom and --screenshot with virtual time), so it needs no Go
// dependency. Tests skip when no Chromium is installed (on Debian: apt-get install -y
// chromium) and in -short mode. It imports nothing of the app, so the frontend's own tests
// and those of the parts that contribute panels share this one copy.
package browsertest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Chromium returns the path of Chromium, or skips t (also in -short mode).
func Chromium(t testing.TB) string {
	t.Helper()
	if testing.Short() {
		t.Skip("browser tests are skipped in -short mode")
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("no Chromium found (chromium, chromium-browser or google-chrome on PATH); install it with: apt-get install -y chromium")
	return ""
}

// Opts are how a page is loaded; zero fields mean 1280×1000 and a second of virtual time.
type Opts struct {
	// Budget is the virtual time that passes after the load: timers, htmx polling and
	// requests run meanwhile.
	Budget time.Duration
	// Width and Height are the window's size.
	Width, Height int
	// Screenshot, when set, also saves a PNG of the page under that name in the test's
	// artifact directory (go test -artifacts -outputdir DIR keeps them).
	Screenshot string
}

func (o Opts) args(t testing.TB) []string {
	w, h, budget := o.Width, o.Height, o.Budget
	if w == 0 {
		w = 1280
	}
	if h == 0 {
		h = 1000
	}
	if budget == 0 {
		budget = time.Second
	}
	return []string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
		"--disable-component-update", "--no-first-run", "--disable-dev-shm-usage",
		"--hide-scrollbars", "--user-data-dir=" + t.TempDir(),
		"--window-size=" + strconv.Itoa(w) + "," + strconv.Itoa(h),
		"--virtual-time-budget=" + strconv.Itoa(int(budget/time.Millisecond)),
	}
}

// Browse loads url in headless Chromium and returns the DOM as it is once o.Budget has
// passed (frames' documents are not part of it). With o.Screenshot it also saves a PNG, from a
// second load: the DOM is from the first one, which is what tests of one-off effects (an
// action) look at.
func Browse(t testing.TB, url string, o Opts) string {
	t.Helper()
	bin := Chromium(t)
	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append(o.args(t), "--dump-dom", url)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium --dump-dom: %v\n%s", err, stderr.String())
	}
	if o.Screenshot != "" {
		Screenshot(t, url, o)
	}
	return string(out)
}

// Screenshot loads url and saves a PNG of the window, frames included, as o.Screenshot
// (default "page.png") in the test's artifact directory; it returns the file's path.
func Screenshot(t testing.TB, url string, o Opts) string {
	t.Helper()
	bin := Chromium(t)
	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()
	name := o.Screenshot
	if name == "" {
		name = "page.png"
	}
	dir := t.ArtifactDir()
	path := filepath.Join(dir, name)
	shot := exec.CommandContext(ctx, bin, append(o.args(t), "--screenshot="+path, url)...)
	shot.Dir = dir
	if out, err := shot.CombinedOutput(); err != nil {
		t.Fatalf("chromium --screenshot: %v\n%s", err, out)
	}
	if fi, err := os.Stat(path); err != nil || fi.Size() == 0 {
		t.Fatalf("no screenshot at %s: %v", path, err)
	}
	return path
}
