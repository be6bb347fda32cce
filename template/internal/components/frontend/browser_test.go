package frontend

import (
	"context"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// These tests drive a real Chromium through its command line (headless,
// --dump-dom and --screenshot with virtual time), so they need no Go
// dependency. They skip when no Chromium is installed; on Debian:
// apt-get install -y chromium. Screenshots go to the test's artifact
// directory (go test -artifacts -outputdir DIR keeps them).

func chromiumPath(t *testing.T) string {
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

// browse loads url in headless Chromium, lets budget of virtual time pass
// (timers, htmx polling and requests run meanwhile), and returns the DOM as
// it is then. With a screenshot name it also saves a PNG of that state.
func browse(t *testing.T, url string, budget time.Duration, width, height int, screenshot string) string {
	t.Helper()
	bin := chromiumPath(t)
	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()
	args := []string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
		"--disable-component-update", "--no-first-run", "--disable-dev-shm-usage",
		"--hide-scrollbars", "--user-data-dir=" + t.TempDir(),
		"--window-size=" + strconv.Itoa(width) + "," + strconv.Itoa(height),
		"--virtual-time-budget=" + strconv.Itoa(int(budget/time.Millisecond)),
	}
	cmd := exec.CommandContext(ctx, bin, append(args, "--dump-dom", url)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium --dump-dom: %v\n%s", err, stderr.String())
	}
	if screenshot != "" {
		// A second load: the DOM above is from the first one, which is what
		// tests of one-off effects (an action) look at.
		dir := t.ArtifactDir()
		path := filepath.Join(dir, screenshot)
		shot := exec.CommandContext(ctx, bin, append(args, "--screenshot="+path, url)...)
		shot.Dir = dir
		if out, err := shot.CombinedOutput(); err != nil {
			t.Fatalf("chromium --screenshot: %v\n%s", err, out)
		}
		if fi, err := os.Stat(path); err != nil || fi.Size() == 0 {
			t.Errorf("no screenshot at %s: %v", path, err)
		}
	}
	return string(out)
}

// TestBrowserLiveHealth loads the overview in Chromium: the users card is
// healthy when the page is served and must turn unhealthy through htmx
// polling alone, with no reload. That also proves htmx loads from the
// binary under the page's Content-Security-Policy.
func TestBrowserLiveHealth(t *testing.T) {
	chromiumPath(t)
	e := setup(t, setupOpts{flipAfter: 1})
	srv := httptest.NewServer(e.h)
	defer srv.Close()

	dom := browse(t, srv.URL+"/", 5*time.Second, 1280, 1000, "overview.png")
	card := regexp.MustCompile(`(?s)<li class="card card-(\w+)" id="card-users">`).FindStringSubmatch(dom)
	if card == nil {
		t.Fatalf("no users card in the DOM:\n%s", dom)
	}
	if card[1] != "unhealthy" || !strings.Contains(dom, "connection refused") {
		t.Errorf("users card is %s after polling, want unhealthy (the page was served healthy)", card[1])
	}
	if !strings.Contains(dom, `id="live"`) {
		t.Error("the live region is gone after swaps")
	}
	// The phone layout and the other pages, for the screenshots.
	browse(t, srv.URL+"/", time.Second, 390, 1400, "overview-phone.png")
	for name, path := range map[string]string{"graph.png": "/dashboard/graph", "routes.png": "/dashboard/routes"} {
		dom := browse(t, srv.URL+path, time.Second, 1280, 1000, name)
		if !strings.Contains(dom, "</main>") {
			t.Errorf("%s did not render in the browser", path)
		}
	}
}

// TestBrowserAction lets htmx in Chromium post a panel action: the CSRF
// cookie (Secure, HttpOnly, SameSite=Strict on 127.0.0.1) and the token the
// layout puts in hx-headers must get it through.
func TestBrowserAction(t *testing.T) {
	chromiumPath(t)
	e := setup(t, setupOpts{})
	srv := httptest.NewServer(e.h)
	defer srv.Close()

	dom := browse(t, srv.URL+"/dashboard/panels/auto", 3*time.Second, 1280, 800, "panel-action.png")
	if got := e.retries.Load(); got < 1 {
		t.Fatalf("the action ran %d times from the browser, want at least 1; DOM:\n%s", got, dom)
	}
	if !strings.Contains(dom, "Done: retry.") || !strings.Contains(dom, "retries: 1") {
		t.Errorf("the panel was not swapped with the action's outcome:\n%s", dom)
	}
}
