package observability

import (
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/aegisgo/aegis/template/internal/components/frontend/browsertest"
)

var (
	traceLink = regexp.MustCompile(`href="(/dashboard/panels/traces\?trace=[0-9a-f]{32})"`)
	spanGroup = regexp.MustCompile(`(?s)<g class="span">(.*?)</g>`)
)

// TestBrowserTraces opens the Traces panel in a real Chromium, follows a trace's link and
// finds the waterfall drawn: an SVG image with its title, one bar per span, each with a
// title and its name and duration as text. It checks what an accessibility audit of the
// page would look at in the SVG: the image is named, and every bar has a text alternative.
func TestBrowserTraces(t *testing.T) {
	browsertest.Chromium(t)
	h, _, id := panelSetup(t)
	srv := httptest.NewServer(h)
	defer srv.Close()

	list := browsertest.Browse(t, srv.URL+"/dashboard/panels/traces", browsertest.Opts{Screenshot: "traces-list.png"})
	for _, want := range []string{"GET /api/items/{id}", "GET /boom", "req-api-items-7", "work send_welcome"} {
		if !strings.Contains(list, want) {
			t.Errorf("the list in the browser lacks %q:\n%s", want, list)
		}
	}
	var link string
	for _, m := range traceLink.FindAllStringSubmatch(list, -1) {
		if strings.HasSuffix(m[1], id.String()) {
			link = m[1]
		}
	}
	if link == "" {
		t.Fatalf("no link to trace %s in the list:\n%s", id, list)
	}

	dom := browsertest.Browse(t, srv.URL+link, browsertest.Opts{Screenshot: "trace-waterfall.png"})
	svg := regexp.MustCompile(`(?s)<svg class="waterfall"[^>]*>.*?</svg>`).FindString(dom)
	if svg == "" {
		t.Fatalf("no waterfall SVG on the trace page:\n%s", dom)
	}
	if !strings.Contains(svg, `role="img"`) || !strings.Contains(svg, `aria-labelledby="waterfall-title"`) ||
		!strings.Contains(svg, `<title id="waterfall-title">Waterfall of trace `+id.String()) {
		t.Errorf("the waterfall is not a named image:\n%s", svg)
	}
	groups := spanGroup.FindAllStringSubmatch(svg, -1)
	if len(groups) != 4 {
		t.Fatalf("the waterfall draws %d spans, want 4:\n%s", len(groups), svg)
	}
	for _, g := range groups {
		if !strings.HasPrefix(g[1], "<title>") || strings.Count(g[1], "<rect") != 1 || strings.Count(g[1], "<text") != 2 {
			t.Errorf("a span's group lacks its title, bar or texts: %s", g[1])
		}
	}
	if !strings.Contains(dom, `id="spans-heading"`) {
		t.Error("the trace page lacks the spans' table, the waterfall's text alternative")
	}
}
