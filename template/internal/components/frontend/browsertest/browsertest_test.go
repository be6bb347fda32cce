package browsertest

import (
	"fmt"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"testing"
)

// TestBrowseViewport: a page loaded at a phone's width is laid out at that width. Headless
// Chromium does not make a window narrower than 500 px, so with --window-size alone the tests
// that said 390 px measured a 500 px page and passed layouts that overflow a real phone.
func TestBrowseViewport(t *testing.T) {
	Chromium(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<!doctype html><html lang="en"><head><meta name="viewport" content="width=device-width, initial-scale=1"></head><body><p id="out"></p>
<script>document.getElementById("out").textContent = "inner=" + innerWidth + "x" + innerHeight + " media=" + matchMedia("(max-width: 400px)").matches;</script></body></html>`)
	}))
	defer srv.Close()
	for _, size := range [][2]int{{390, 844}, {320, 600}, {1280, 1000}} {
		dom := Browse(t, srv.URL, Opts{Width: size[0], Height: size[1]})
		m := regexp.MustCompile(`inner=(\d+)x(\d+) media=(\w+)`).FindStringSubmatch(dom)
		if m == nil {
			t.Fatalf("the page did not report its size:\n%s", dom)
		}
		if want := fmt.Sprintf("%dx%d", size[0], size[1]); m[1]+"x"+m[2] != want {
			t.Errorf("asked for %s, the page is laid out at %sx%s", want, m[1], m[2])
		}
		if phone := size[0] <= 400; m[3] != fmt.Sprint(phone) {
			t.Errorf("at %d px, (max-width: 400px) matches: %s", size[0], m[3])
		}
	}
	// The screenshot is of that viewport too.
	f, err := os.Open(Screenshot(t, srv.URL, Opts{Width: 390, Height: 844, Screenshot: "viewport.png"}))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.DecodeConfig(f)
	if err != nil {
		t.Fatalf("the screenshot is no PNG: %v", err)
	}
	if img.Width != 390 || img.Height != 844 {
		t.Errorf("the screenshot is %dx%d, want 390x844", img.Width, img.Height)
	}
}
