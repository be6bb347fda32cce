package auth

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aegisgo/aegis/template/internal/components/database"
	"github.com/aegisgo/aegis/template/internal/components/database/databasetest"
)

// TestBrowserDeactivate presses Deactivate in the users panel from a real
// headless Chromium (driven through its command line, as in the frontend's
// browser tests) and checks the account in the database. It skips without
// Chromium and in -short mode. The screenshot goes to the artifact
// directory: go test -run Browser -artifacts -outputdir DIR.
func TestBrowserDeactivate(t *testing.T) {
	if testing.Short() {
		t.Skip("browser tests are skipped in -short mode")
	}
	bin := ""
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			bin = p
			break
		}
	}
	if bin == "" {
		t.Skip("no Chromium found; install it with: apt-get install -y chromium")
	}
	databasetest.Engines(t, func(t *testing.T, db *database.DB) {
		h, users, _ := dashboardApp(t, db, nil) // development: open
		tag := strings.ToLower(strings.NewReplacer("/", "-", "_", "-").Replace(t.Name()))
		ada, err := users.Create(t.Context(), CreateUserParams{Email: "ada-" + tag + "@example.com", Username: "ada" + fmt.Sprint(len(tag)) + "b", Password: "correct horse battery staple", FullName: "Ada Lovelace"})
		if err != nil {
			t.Fatal(err)
		}
		// The browser presses the button the way a user would, except that
		// htmx does it on load: the served panel page gets hx-trigger="load"
		// on its (only) Deactivate form. Everything else is the real page,
		// cookie, CSRF header and Content-Security-Policy.
		const form = `hx-post="/dashboard/panels/users/actions/deactivate"`
		var pressed atomic.Bool
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			if req.Method != http.MethodGet || req.URL.Path != "/dashboard/panels/users" || pressed.Load() {
				h.ServeHTTP(w, req)
				return
			}
			pressed.Store(true) // only the first load: the screenshot load must not press again
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			w.Header().Del("Content-Length")
			w.WriteHeader(rec.Code)
			_, _ = w.Write([]byte(strings.Replace(rec.Body.String(), form, form+` hx-trigger="load"`, 1)))
		}))
		defer srv.Close()

		url := srv.URL + "/dashboard/panels/users?q=" + ada.Username
		ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
		defer cancel()
		args := []string{
			"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
			"--disable-component-update", "--no-first-run", "--disable-dev-shm-usage",
			"--hide-scrollbars", "--user-data-dir=" + t.TempDir(), "--window-size=1280,800",
			"--virtual-time-budget=" + strconv.Itoa(3000),
		}
		var stderr strings.Builder
		cmd := exec.CommandContext(ctx, bin, append(args, "--dump-dom", url)...)
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("chromium --dump-dom: %v\n%s", err, stderr.String())
		}
		dom := string(out)
		if !pressed.Load() {
			t.Fatal("the browser never loaded the panel")
		}
		u, err := users.Get(t.Context(), ada.ID)
		if err != nil {
			t.Fatal(err)
		}
		if u.Active {
			t.Fatalf("Ada is still active after Deactivate in the browser; DOM:\n%s", dom)
		}
		if !strings.Contains(dom, "is deactivated") {
			t.Errorf("the panel was not swapped with the outcome:\n%s", dom)
		}
		// The screenshot: the panel as it is now, Ada inactive.
		dir := t.ArtifactDir()
		path := filepath.Join(dir, "users-deactivated.png")
		shot := exec.CommandContext(ctx, bin, append(args, "--screenshot="+path, url)...)
		shot.Dir = dir
		if out, err := shot.CombinedOutput(); err != nil {
			t.Fatalf("chromium --screenshot: %v\n%s", err, out)
		}
		if fi, err := os.Stat(path); err != nil || fi.Size() == 0 {
			t.Errorf("no screenshot at %s: %v", path, err)
		}
	})
}
