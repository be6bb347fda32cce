package frontend

import (
	"bytes"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aegisgo/aegis/template/internal/components/frontend/browsertest"
)

// These tests drive a real Chromium (browsertest); they skip when none is installed. On
// Debian: apt-get install -y chromium.

// browse loads url in headless Chromium (see browsertest.Browse).
func browse(t *testing.T, url string, budget time.Duration, width, height int, screenshot string) string {
	t.Helper()
	return browsertest.Browse(t, url, browsertest.Opts{Budget: budget, Width: width, Height: height, Screenshot: screenshot})
}

func chromiumPath(t *testing.T) string { t.Helper(); return browsertest.Chromium(t) }

// TestBrowserLiveHealth loads the overview in Chromium: the users card is
// healthy when the page is served and must turn unhealthy through htmx
// polling alone, with no reload. That also proves htmx loads from the
// binary under the page's Content-Security-Policy.
func TestBrowserLiveHealth(t *testing.T) {
	chromiumPath(t)
	e := setup(t, setupOpts{flipAfter: 1})
	// The browser asks for /favicon.ico unless the page names an icon: a 404 in the access
	// log at every page load.
	var favicons atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/favicon.ico" {
			favicons.Add(1)
		}
		e.h.ServeHTTP(w, r)
	}))
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
	if n := favicons.Load(); n > 0 {
		t.Errorf("the browser asked for /favicon.ico %d times", n)
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

// TestBrowserHiddenTabDoesNotPoll loads the dashboard's own htmx and dashboard.js in a page
// whose document says it is hidden (a background tab): its polling must send nothing, since
// every refresh runs the health checks and a forgotten tab would load the app for nobody. The
// same page left visible must poll, so the test cannot pass on a page that never polls.
func TestBrowserHiddenTabDoesNotPoll(t *testing.T) {
	chromiumPath(t)
	e := setup(t, setupOpts{})
	htmx, dashboardJS := layoutScripts(t, e)
	var polls atomic.Int32
	mux := http.NewServeMux()
	mux.Handle("/", e.h)
	mux.HandleFunc("/test/poll", func(w http.ResponseWriter, r *http.Request) {
		polls.Add(1)
		fmt.Fprint(w, `<div id="live" hx-get="/test/poll" hx-trigger="every 1s" hx-swap="outerHTML">polled</div>`)
	})
	mux.HandleFunc("/test/page", func(w http.ResponseWriter, r *http.Request) {
		hide := ""
		if r.URL.Query().Get("hidden") == "1" {
			hide = `<script>Object.defineProperty(document, "hidden", {value: true}); Object.defineProperty(document, "visibilityState", {value: "hidden"});</script>`
		}
		fmt.Fprintf(w, `<!doctype html><html lang="en"><head>%s<script src="%s" defer></script><script src="%s" defer></script></head>
<body><div id="stale" hidden></div><div id="live" hx-get="/test/poll" hx-trigger="every 1s" hx-swap="outerHTML">first</div></body></html>`,
			hide, htmx, dashboardJS)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	for _, tc := range []struct {
		query  string
		polled bool
	}{{"?hidden=1", false}, {"", true}} {
		polls.Store(0)
		browse(t, srv.URL+"/test/page"+tc.query, 5*time.Second, 800, 600, "")
		if got := polls.Load(); (got > 0) != tc.polled {
			t.Errorf("page%s: %d polls in 5 s, want polling %v", tc.query, got, tc.polled)
		}
	}
}

// TestBrowserFormControlsMatchText: the dashboard's stylesheet gives a <select> (the
// analytics panel's range) the page's font, as it does buttons and text inputs; left to
// Chromium's default it is 13.33px beside 16px text and looks broken.
func TestBrowserFormControlsMatchText(t *testing.T) {
	chromiumPath(t)
	page := styledPage(t, `<label>Range <select id="s"><option>last 24h</option></select></label><input id="i" type="text"><p id="out"></p>
<script>addEventListener("load", function () {
  var f = function (id) { return getComputedStyle(document.getElementById(id)).fontSize; };
  document.getElementById("out").textContent = "select=" + f("s") + " input=" + f("i");
});</script>`)
	dom := browse(t, page, time.Second, 800, 600, "")
	m := regexp.MustCompile(`select=([\d.]+px) input=([\d.]+px)`).FindStringSubmatch(dom)
	if m == nil {
		t.Fatalf("the page did not report its font sizes:\n%s", dom)
	}
	if m[1] != m[2] {
		t.Errorf("a select's font is %s, a text input's %s: want the same", m[1], m[2])
	}
}

// TestBrowserCurrentNavLinkKeepsItsWidth: the current page's link in the navigation is as
// wide as when it is not current. A bolder current link was wider, so a navigation that just
// fitted on one line wrapped on some pages (Analytics) and not others: the header jumped as
// the operator moved between panels.
func TestBrowserCurrentNavLinkKeepsItsWidth(t *testing.T) {
	chromiumPath(t)
	page := styledPage(t, `<header class="top"><nav aria-label="Dashboard"><a id="a" href="/x">Analytics</a> <a id="b" href="/y" aria-current="page">Analytics</a></nav></header><p id="out"></p>
<script>addEventListener("load", function () {
  var w = function (id) { return document.getElementById(id).getBoundingClientRect().width.toFixed(1); };
  document.getElementById("out").textContent = "plain=" + w("a") + " current=" + w("b");
});</script>`)
	dom := browse(t, page, time.Second, 800, 600, "")
	m := regexp.MustCompile(`plain=([\d.]+) current=([\d.]+)`).FindStringSubmatch(dom)
	if m == nil {
		t.Fatalf("the page did not report the links' widths:\n%s", dom)
	}
	if m[1] != m[2] {
		t.Errorf("the current link is %spx wide, the same link not current %spx: want the same", m[2], m[1])
	}
}

// TestBrowserCurrentPanelLinkStandsOut: a panel's own navigation (the traces panel's Recent /
// Slowest / Failed) shows which list is open; only the header's did, so the three links
// looked alike whichever was current.
func TestBrowserCurrentPanelLinkStandsOut(t *testing.T) {
	chromiumPath(t)
	page := styledPage(t, `<main><nav aria-label="Trace lists"><p><a id="a" href="/x">Recent</a> · <a id="b" href="/y" aria-current="page">Slowest</a></p></nav></main><p id="out"></p>
<script>addEventListener("load", function () {
  var s = function (id) { var c = getComputedStyle(document.getElementById(id)); return c.color + "|" + c.textDecorationLine + "|" + c.borderBottomWidth; };
  document.getElementById("out").textContent = "plain=" + s("a") + " current=" + s("b") + " end";
});</script>`)
	dom := browse(t, page, time.Second, 800, 600, "")
	m := regexp.MustCompile(`plain=(.+?) current=(.+?) end`).FindStringSubmatch(dom)
	if m == nil {
		t.Fatalf("the page did not report the links' styles:\n%s", dom)
	}
	if m[1] == m[2] {
		t.Errorf("the current link looks like the others: %s", m[1])
	}
}

// TestBrowserChartLabelsReadable: a panel's chart (an SVG drawn to its viewBox, as the
// analytics and AI panels draw theirs) keeps its labels readable on a phone: it scrolls
// sideways rather than shrinking them to about 5 px.
func TestBrowserChartLabelsReadable(t *testing.T) {
	chromiumPath(t)
	page := styledPage(t, `<div class="scroll chart" tabindex="0" role="group" aria-label="Chart, scrollable"><svg id="chart" viewBox="0 0 720 200" width="100%" role="img" aria-label="chart" preserveAspectRatio="none" xmlns="http://www.w3.org/2000/svg"><text x="44" y="18" font-size="11" text-anchor="end" fill="currentColor">1234</text></svg></div><p id="out"></p>
<script>addEventListener("load", function () {
  // The labels' 11 units of the 720-unit viewBox, in CSS pixels.
  document.getElementById("out").textContent = "size=" + (11 * document.getElementById("chart").getBoundingClientRect().width / 720).toFixed(1);
});</script>`)
	dom := browse(t, page, time.Second, 390, 900, "chart-phone.png")
	m := regexp.MustCompile(`size=([\d.]+)`).FindStringSubmatch(dom)
	if m == nil {
		t.Fatalf("the page did not report the labels' size:\n%s", dom)
	}
	if px, _ := strconv.ParseFloat(m[1], 64); px < 9 {
		t.Errorf("a chart's labels are %.1f px at 390 px, want 9 or more", px)
	}
}

// styledPage serves body in a page that links the dashboard's stylesheet, and returns its URL:
// for measuring what the stylesheet does to markup the panels use.
func styledPage(t *testing.T, body string) string {
	t.Helper()
	e := setup(t, setupOpts{})
	css := regexp.MustCompile(`<link rel="stylesheet" href="([^"]+)"`).FindStringSubmatch(get(t, e.h, "/").Body.String())
	if css == nil {
		t.Fatal("no stylesheet in the layout")
	}
	mux := http.NewServeMux()
	mux.Handle("/", e.h)
	mux.HandleFunc("/test/page", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `<!doctype html><html lang="en"><head><link rel="stylesheet" href="%s"></head><body>%s</body></html>`, css[1], body)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL + "/test/page"
}

// TestBrowserTableCodeKeepsWholeWords: at a phone's 390 px, a code name in a scrollable table
// (a job's kind, a queue, a route) stays on one line and the table scrolls sideways instead.
// With code's overflow-wrap: anywhere the table shrank to fit by breaking such names at any
// letter (send_wel / come), which reads as two names.
func TestBrowserTableCodeKeepsWholeWords(t *testing.T) {
	chromiumPath(t)
	row := `<tr><th scope="row">12345</th><td><code id="kind">send_welcome_email</code></td><td>default</td><td>completed</td><td>1/25</td><td>2026-12-06 10:00:00 UTC</td><td><span class="muted">none</span></td></tr>`
	page := styledPage(t, `<div class="scroll" tabindex="0"><table><thead><tr><th>ID</th><th>Kind</th><th>Queue</th><th>State</th><th>Attempt</th><th>Created</th><th>Last error</th></tr></thead><tbody>`+row+`</tbody></table></div><p id="out"></p>
<script>addEventListener("load", function () {
  document.getElementById("out").textContent = "lines=" + document.getElementById("kind").getClientRects().length;
});</script>`)
	dom := browse(t, page, time.Second, 390, 900, "table-code-phone.png")
	m := regexp.MustCompile(`lines=(\d+)`).FindStringSubmatch(dom)
	if m == nil {
		t.Fatalf("the page did not report the kind's lines:\n%s", dom)
	}
	if m[1] != "1" {
		t.Errorf("the job kind in a scrollable table takes %s lines at 390 px, want 1 (the table scrolls instead)", m[1])
	}
}

// TestBrowserLongWordsWrapOnPhone: at a phone's 375 px, text the operator or the data put on
// a panel without a space in it (a search typed or pasted into ?q=, echoed as "0 accounts
// matching ..."; an id edited by hand in ?id=, named in the error notice; an email's text part
// with its one-time link, a <pre>) wraps inside the page. Each widened the whole page to
// 1100-1170 px, so the page scrolled sideways and the panel's other content with it.
func TestBrowserLongWordsWrapOnPhone(t *testing.T) {
	chromiumPath(t)
	long := strings.Repeat("a", 160)
	link := "http://localhost:8000/reset-password?token=" + strings.Repeat("kmtcY6LJNmiitjoQm0Dt", 4)
	cases := []struct{ name, body string }{
		{"search echo", `<div class="panel"><p class="muted">0 accounts matching “` + long + `”.</p></div>`},
		{"error notice", `<div class="panel"><p class="notice notice-error" role="alert">This panel failed to render: comms: message not found: ` + long + `</p></div>`},
		{"email text", `<div class="panel"><h3>Text</h3><pre class="mail-text">Hello,

To choose a new password, open this link:

` + link + `
</pre></div>`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			page := styledPage(t, `<main id="main">`+c.body+`</main><p id="out"></p>
<script>addEventListener("load", function () {
  document.getElementById("out").textContent = "width=" + document.documentElement.scrollWidth;
});</script>`)
			dom := browse(t, page, time.Second, 375, 800, "")
			m := regexp.MustCompile(`width=(\d+)`).FindStringSubmatch(dom)
			if m == nil {
				t.Fatalf("the page did not report its width:\n%s", dom)
			}
			if w, _ := strconv.Atoi(m[1]); w > 375 {
				t.Errorf("the page is %d px wide at 375 px: it scrolls sideways, want the text wrapped", w)
			}
		})
	}
}

// TestBrowserJobRowsStayShortOnPhone: at a phone's 390 px, a row of the jobs panel (its
// markup here) is one line tall: its creation time stays on one line and its Retry and Cancel
// buttons side by side, the table scrolling sideways instead. The time broke at every hyphen
// and space and the buttons stacked, so each row was four lines (100 px) tall.
func TestBrowserJobRowsStayShortOnPhone(t *testing.T) {
	chromiumPath(t)
	form := func(action string) string {
		return `<form method="post" action="/a"><input type="hidden" name="id" value="7"><button type="submit">` + action + `<span class="visually-hidden"> job 7</span></button></form>`
	}
	row := `<tr id="row"><th scope="row">7</th><td><code>scheduler_tick</code></td><td>system</td><td>retryable</td><td>2/25</td><td><time id="time" datetime="2026-12-06T16:11:47Z">2026-12-06 16:11:47 UTC</time></td><td><span class="muted">none</span></td><td class="actions">` + form("Retry") + `
      ` + form("Cancel") + `</td></tr>`
	page := styledPage(t, `<div class="scroll" tabindex="0"><table><thead><tr><th>ID</th><th>Kind</th><th>Queue</th><th>State</th><th>Attempt</th><th>Created</th><th>Last error</th><th><span class="visually-hidden">Actions</span></th></tr></thead><tbody>`+row+`</tbody></table></div><p id="out"></p>
<script>addEventListener("load", function () {
  var b = document.querySelectorAll("#row button");
  document.getElementById("out").textContent = "time=" + document.getElementById("time").getClientRects().length +
    " buttons=" + (b[0].getBoundingClientRect().top === b[1].getBoundingClientRect().top ? "beside" : "stacked") +
    " row=" + Math.round(document.getElementById("row").getBoundingClientRect().height);
});</script>`)
	dom := browse(t, page, time.Second, 390, 900, "job-row-phone.png")
	m := regexp.MustCompile(`time=(\d+) buttons=(\w+) row=(\d+)`).FindStringSubmatch(dom)
	if m == nil {
		t.Fatalf("the page did not report the row's layout:\n%s", dom)
	}
	if m[1] != "1" || m[2] != "beside" {
		t.Errorf("at 390 px a job's time takes %s lines and its buttons are %s: want 1 line, side by side", m[1], m[2])
	}
	if h, _ := strconv.Atoi(m[3]); h > 50 {
		t.Errorf("a job's row is %d px tall at 390 px, want one line (at most 50 px)", h)
	}
}

// TestBrowserRefreshKeepsFocusAndScroll: a panel's refresh (htmx polling, outerHTML) and an
// action replace the panel's markup, and with it the element that had the keyboard focus and
// the boxes scrolled sideways. With the dashboard's own htmx and dashboard.js, a refresh must
// leave the focus on the same button (the next Tab went past the panel) and the table
// scrolled where it was (it jumped back every 5 s on a phone); an action must put the focus on
// its outcome, the notice, so it is seen and read out.
func TestBrowserRefreshKeepsFocusAndScroll(t *testing.T) {
	chromiumPath(t)
	e := setup(t, setupOpts{})
	htmx, dashboardJS := layoutScripts(t, e)
	var polls, actions atomic.Int32
	panel := func(every, notice string) string {
		form := func(id string) string {
			return `<form method="post" action="/test/act" hx-post="/test/act" hx-target="closest .panel" hx-swap="outerHTML"><input type="hidden" name="id" value="` + id + `"><button type="submit">Retry<span class="visually-hidden"> job ` + id + `</span></button></form>`
		}
		return `<div id="panel-test" class="panel" hx-get="/test/poll?every=` + every + `" hx-trigger="every ` + every + `" hx-swap="outerHTML">` + notice +
			`<div class="scroll" style="overflow-x:auto;width:300px" tabindex="0" role="group" aria-label="Jobs"><table style="width:3000px"><tr><td>wide</td></tr></table></div>` +
			form("7") + form("8") + `</div>`
	}
	mux := http.NewServeMux()
	mux.Handle("/", e.h)
	mux.HandleFunc("/test/poll", func(w http.ResponseWriter, r *http.Request) {
		polls.Add(1)
		fmt.Fprint(w, panel(r.URL.Query().Get("every"), ""))
	})
	mux.HandleFunc("/test/act", func(w http.ResponseWriter, r *http.Request) {
		actions.Add(1)
		fmt.Fprint(w, panel("60s", `<p class="notice" role="status">Job `+r.PostFormValue("id")+` will run again.</p>`))
	})
	mux.HandleFunc("/test/page", func(w http.ResponseWriter, r *http.Request) {
		every, act := "1s", ""
		if r.URL.Query().Has("act") {
			every, act = "60s", `b.click();`
		}
		fmt.Fprintf(w, `<!doctype html><html lang="en"><head><script src="%s" defer></script><script src="%s" defer></script></head>
<body><main>%s</main><p id="out"></p>
<script>addEventListener("load", function () {
  var b = document.querySelectorAll("#panel-test button")[1];
  b.focus();
  document.querySelector("#panel-test .scroll").scrollLeft = 500;
  %s
  setTimeout(function () {
    var a = document.activeElement;
    document.getElementById("out").textContent = "focus=" + a.tagName + ":" + (a === document.body ? "" : a.textContent.trim()) +
      " scroll=" + document.querySelector("#panel-test .scroll").scrollLeft + " end";
  }, 2500);
});</script></body></html>`, htmx, dashboardJS, panel(every, ""), act)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	for _, tc := range []struct {
		name, query, focus string
		count              *atomic.Int32
	}{
		{"refresh", "", "BUTTON:Retry job 8", &polls},
		{"action", "?act=1", "P:Job 8 will run again.", &actions},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.count.Store(0)
			dom := browse(t, srv.URL+"/test/page"+tc.query, 4*time.Second, 800, 600, "")
			if tc.count.Load() == 0 {
				t.Fatalf("the panel was not swapped (no %s):\n%s", tc.name, dom)
			}
			m := regexp.MustCompile(`focus=(.*?) scroll=(\d+) end`).FindStringSubmatch(dom)
			if m == nil {
				t.Fatalf("the page did not report its focus:\n%s", dom)
			}
			if m[1] != tc.focus {
				t.Errorf("after the %s the focus is on %q, want %q", tc.name, m[1], tc.focus)
			}
			if m[2] != "500" {
				t.Errorf("after the %s the table is scrolled to %s px, want where it was (500)", tc.name, m[2])
			}
		})
	}
}

// TestBrowserStaleBannerSpeaksOnce: while refreshes keep failing, the stale banner (an alert,
// read out by a screen reader at every change of its text) says so once, and again only when
// the reason changes. It was rewritten with the time at every failed refresh, every 2 s on the
// overview, so a screen reader repeated it for as long as the app was down.
func TestBrowserStaleBannerSpeaksOnce(t *testing.T) {
	chromiumPath(t)
	e := setup(t, setupOpts{})
	htmx, dashboardJS := layoutScripts(t, e)
	var polls atomic.Int32
	mux := http.NewServeMux()
	mux.Handle("/", e.h)
	mux.HandleFunc("/test/poll", func(w http.ResponseWriter, r *http.Request) {
		// Three failures with one reason, then three with another.
		if polls.Add(1) <= 3 {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		http.Error(w, "broken", http.StatusInternalServerError)
	})
	mux.HandleFunc("/test/page", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `<!doctype html><html lang="en"><head><script src="%s" defer></script><script src="%s" defer></script></head>
<body><p id="stale" role="alert" hidden></p><div id="live" hx-get="/test/poll" hx-trigger="every 1s" hx-swap="outerHTML">live</div><p id="out"></p>
<script>
var texts = 0;
new MutationObserver(function () { texts++; }).observe(document.getElementById("stale"), {childList: true, characterData: true, subtree: true});
addEventListener("load", function () {
  setTimeout(function () { document.getElementById("out").textContent = "changes=" + texts + " end"; }, 6500);
});</script></body></html>`, htmx, dashboardJS)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	dom := browse(t, srv.URL+"/test/page", 7*time.Second, 800, 600, "")
	if n := polls.Load(); n < 5 {
		t.Fatalf("%d refreshes in 7 s, want at least 5", n)
	}
	m := regexp.MustCompile(`changes=(\d+) end`).FindStringSubmatch(dom)
	if m == nil {
		t.Fatalf("the page did not report the banner's changes:\n%s", dom)
	}
	if m[1] != "2" {
		t.Errorf("the banner's text changed %s times over 6 failed refreshes with 2 reasons, want 2:\n%s", m[1], dom)
	}
}

// TestBrowserPageDoesNotScrollSideways: on a phone, a wide table scrolls in its own
// box and the page itself does not. The visually hidden texts in such a table (a column's
// "Actions", a button's "job 7") are absolutely positioned: the box did not contain them, so
// they made the whole page (header, text) pan sideways on the routes, jobs and scheduler pages.
func TestBrowserPageDoesNotScrollSideways(t *testing.T) {
	chromiumPath(t)
	var rows strings.Builder
	for i := range 5 {
		fmt.Fprintf(&rows, `<tr><td>GET</td><th scope="row"><code>/api/some/long/path/%d/{id}/with/more/segments</code></th><td>A summary of what the route does</td><td><a href="/docs#%d">docs<span class="visually-hidden"> for GET /api/some/long/path/%d</span></a></td></tr>`, i, i, i)
	}
	page := styledPage(t, `<main><div class="scroll" tabindex="0" role="group" aria-label="Routes table, scrollable"><table><thead><tr><th scope="col">Method</th><th scope="col">Path</th><th scope="col">Summary</th><th scope="col"><span class="visually-hidden">Docs</span></th></tr></thead><tbody>`+rows.String()+`</tbody></table></div></main><p id="out"></p>
<script>addEventListener("load", function () {
  document.getElementById("out").textContent = "page=" + document.documentElement.scrollWidth + " window=" + window.innerWidth + " table=" + document.querySelector(".scroll").scrollWidth;
});</script>`)
	dom := browse(t, page, time.Second, 390, 900, "wide-table-phone.png")
	m := regexp.MustCompile(`page=(\d+) window=(\d+) table=(\d+)`).FindStringSubmatch(dom)
	if m == nil {
		t.Fatalf("the page did not report its widths:\n%s", dom)
	}
	pageW, _ := strconv.Atoi(m[1])
	winW, _ := strconv.Atoi(m[2])
	tableW, _ := strconv.Atoi(m[3])
	if tableW <= winW {
		t.Fatalf("the table is %d px wide in a %d px window: the test needs one wider than the window", tableW, winW)
	}
	if pageW > winW {
		t.Errorf("the page is %d px wide in a %d px window: it scrolls sideways, not only the table", pageW, winW)
	}
}

// TestBrowserRegionsTakeFocusWithoutRing: main (where the skip link sends the focus) and a
// refreshed region that took the focus (dashboard.js) are no controls and get no focus ring;
// the links and buttons in them do. main:focus lost to [tabindex]:focus-visible, which is
// more specific, so following the skip link drew a ring round the whole page's content.
func TestBrowserRegionsTakeFocusWithoutRing(t *testing.T) {
	chromiumPath(t)
	page := styledPage(t, `<main id="main" tabindex="-1"><div id="live" tabindex="-1">x</div><div id="panel-x" class="panel" tabindex="-1"><button id="b">Retry</button></div></main><p id="out"></p>
<script>addEventListener("load", function () {
  var out = [];
  ["main", "live", "panel-x", "b"].forEach(function (id) {
    var el = document.getElementById(id);
    el.focus();
    out.push(id + ":" + (el.matches(":focus-visible") ? "visible" : "hidden") + ":" + getComputedStyle(el).outlineStyle);
  });
  document.getElementById("out").textContent = out.join(" ") + " end";
});</script>`)
	dom := browse(t, page, time.Second, 800, 600, "")
	m := regexp.MustCompile(`main:(\w+):(\w+) live:\w+:(\w+) panel-x:\w+:(\w+) b:\w+:(\w+) end`).FindStringSubmatch(dom)
	if m == nil {
		t.Fatalf("the page did not report the outlines:\n%s", dom)
	}
	if m[1] != "visible" {
		t.Fatalf("main does not match :focus-visible (%s), so the test proves nothing", m[1])
	}
	for i, name := range []string{"main", "#live", ".panel"} {
		if got := m[2+i]; got != "none" {
			t.Errorf("%s draws a %s focus ring, want none", name, got)
		}
	}
	if m[5] == "none" {
		t.Error("a button in a region draws no focus ring")
	}
}

// layoutScripts returns the addresses of the two scripts the dashboard's layout loads (htmx,
// then dashboard.js), for a test page that runs them on markup of its own.
func layoutScripts(t *testing.T, e env) (htmx, dashboardJS string) {
	t.Helper()
	scripts := regexp.MustCompile(`<script src="([^"]+)" defer></script>`).FindAllStringSubmatch(get(t, e.h, "/").Body.String(), -1)
	if len(scripts) != 2 {
		t.Fatalf("want htmx and dashboard.js in the layout, got %q", scripts)
	}
	return scripts[0][1], scripts[1][1]
}

// TestBrowserNoticeOutlivesRefresh: an action's outcome ("Done: retry.") stays on a panel that
// refreshes itself until the operator dismisses it: the next refresh (every few seconds)
// replaced the panel with content that has none, so the notice was gone before it could be
// read. The kept notice is no live region any more (it was read out when it came, and is no
// news at each refresh), and dismissing it gives the focus to the panel.
func TestBrowserNoticeOutlivesRefresh(t *testing.T) {
	chromiumPath(t)
	e := setup(t, setupOpts{autoRefresh: 1})
	var refreshes atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/dashboard/fragments/panels/auto" && e.retries.Load() > 0 {
			refreshes.Add(1)
		}
		e.h.ServeHTTP(w, r)
	}))
	defer srv.Close()

	// The auto panel posts its action at load; the panel then refreshes every 2 s (the least).
	dom := browse(t, srv.URL+"/dashboard/panels/auto", 5*time.Second, 800, 600, "notice-kept.png")
	if e.retries.Load() != 1 || refreshes.Load() < 2 {
		t.Fatalf("the action ran %d times and the panel refreshed %d times after it, want 1 and at least 2:\n%s", e.retries.Load(), refreshes.Load(), dom)
	}
	outcome := regexp.MustCompile(`<div class="outcome"><p class="notice"([^>]*)>Done: retry\.</p><button type="button" class="dismiss">Dismiss<span class="visually-hidden"> this message</span></button></div>`).FindAllStringSubmatch(dom, -1)
	if len(outcome) != 1 {
		t.Fatalf("after %d refreshes the panel shows the action's outcome %d times, want once with its Dismiss button:\n%s", refreshes.Load(), len(outcome), dom)
	}
	if strings.Contains(outcome[0][1], "role") {
		t.Errorf("the kept notice is still a live region (%s): read out again at every refresh", outcome[0][1])
	}
}

// TestBrowserNoticeDismiss: the Dismiss button that dashboard.js gives an action's outcome
// removes it for good (the next refresh does not bring it back) and leaves the focus in the
// panel, so the next Tab does not start again at the top of the page.
func TestBrowserNoticeDismiss(t *testing.T) {
	chromiumPath(t)
	e := setup(t, setupOpts{})
	htmx, dashboardJS := layoutScripts(t, e)
	var polls atomic.Int32
	panel := func(outcome string) string {
		return `<div id="panel-test" class="panel" hx-get="/test/poll" hx-trigger="every 1s" hx-swap="outerHTML">` + outcome + `<p>rows</p></div>`
	}
	mux := http.NewServeMux()
	mux.Handle("/", e.h)
	mux.HandleFunc("/test/poll", func(w http.ResponseWriter, r *http.Request) {
		polls.Add(1)
		fmt.Fprint(w, panel(""))
	})
	mux.HandleFunc("/test/page", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `<!doctype html><html lang="en"><head><script src="%s" defer></script><script src="%s" defer></script></head>
<body><main>%s</main><p id="out"></p>
<script>addEventListener("load", function () {
  setTimeout(function () {
    var b = document.querySelector("#panel-test .dismiss");
    if (!b) { document.getElementById("out").textContent = "no button end"; return; }
    b.focus();
    b.click();
    var a = document.activeElement;
    var focus = a.id || a.tagName;
    setTimeout(function () {
      document.getElementById("out").textContent = "focus=" + focus + " outcomes=" + document.querySelectorAll(".outcome").length + " end";
    }, 2500);
  }, 1500);
});</script></body></html>`, htmx, dashboardJS, panel(`<div class="outcome"><p class="notice" role="status">Job 7 will run again.</p></div>`))
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	dom := browse(t, srv.URL+"/test/page", 5*time.Second, 800, 600, "")
	if polls.Load() < 2 {
		t.Fatalf("%d refreshes, want at least 2", polls.Load())
	}
	m := regexp.MustCompile(`focus=(\S*) outcomes=(\d+) end`).FindStringSubmatch(dom)
	if m == nil {
		t.Fatalf("the page did not report the outcome after Dismiss:\n%s", dom)
	}
	if m[1] != "panel-test" || m[2] != "0" {
		t.Errorf("after Dismiss and refreshes the focus is on %q and %s outcomes show, want the panel and none", m[1], m[2])
	}
}

// TestBrowserFailedActionSaysSo: an action refused before its panel could render the outcome
// (a 403 for a form loaded before the app restarted with another key) shows what the refusal
// says in the panel, with the focus on it. htmx swaps nothing on an error status, so the
// button seemed to do nothing at all.
func TestBrowserFailedActionSaysSo(t *testing.T) {
	chromiumPath(t)
	e := setup(t, setupOpts{})
	htmx, dashboardJS := layoutScripts(t, e)
	mux := http.NewServeMux()
	mux.Handle("/", e.h)
	mux.HandleFunc("/test/act", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprint(w, `{"title":"Forbidden","status":403,"detail":"The form's security token is missing or wrong: reload the page and try again."}`)
	})
	mux.HandleFunc("/test/page", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `<!doctype html><html lang="en"><head><script src="%s" defer></script><script src="%s" defer></script></head>
<body><main><div id="panel-test" class="panel"><form method="post" action="/test/act" hx-post="/test/act" hx-target="closest .panel" hx-swap="outerHTML"><button type="submit">Retry</button></form></div></main><p id="out"></p>
<script>addEventListener("load", function () {
  var b = document.querySelector("#panel-test button");
  b.focus();
  b.click();
  setTimeout(function () {
    var a = document.activeElement, n = document.querySelector("#panel-test .notice");
    document.getElementById("out").textContent = "notice=" + (n ? n.getAttribute("role") + ":" + n.textContent : "none") + " focus=" + (a === n) + " end";
  }, 1000);
});</script></body></html>`, htmx, dashboardJS)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	dom := browse(t, srv.URL+"/test/page", 2*time.Second, 800, 600, "")
	m := regexp.MustCompile(`notice=(.*?) focus=(\w+) end`).FindStringSubmatch(dom)
	if m == nil {
		t.Fatalf("the page did not report the panel's notice:\n%s", dom)
	}
	if want := "alert:Failed: The form's security token is missing or wrong: reload the page and try again."; m[1] != want || m[2] != "true" {
		t.Errorf("after a refused action the panel shows %q (focused: %s), want %q, focused", m[1], m[2], want)
	}
}

// TestBrowserStaleRegionKeepsFrameWithFocus: a stale region (refreshes fail, dashboard.js sets
// .is-stale on the body) keeps its dashed frame while it has the focus, which a refresh gives
// it when what had the focus is gone; a button in it still draws its focus ring. The rule
// that takes the ring off a focused region (.panel[tabindex="-1"]:focus, #live[...]:focus) is
// more specific than the stale frame's, so a focused stale region looked current.
func TestBrowserStaleRegionKeepsFrameWithFocus(t *testing.T) {
	chromiumPath(t)
	page := styledPage(t, `<main id="main" tabindex="-1"><div id="live" tabindex="-1">x</div><div id="panel-x" class="panel" tabindex="-1"><button id="b">Retry</button></div><div id="panel-y" class="panel">y</div></main><p id="out"></p>
<script>addEventListener("load", function () {
  document.body.classList.add("is-stale");
  var out = [];
  ["panel-y", "live", "panel-x", "b"].forEach(function (id) {
    var el = document.getElementById(id);
    el.focus();
    var s = getComputedStyle(el);
    out.push(id + "=" + (document.activeElement === el) + ":" + s.outlineStyle + ":" + s.outlineWidth);
  });
  document.getElementById("out").textContent = out.join(" ") + " end";
});</script>`)
	dom := browse(t, page, time.Second, 800, 600, "")
	m := regexp.MustCompile(`panel-y=\w+:(\w+):\S+ live=(\w+):(\w+):\S+ panel-x=(\w+):(\w+):\S+ b=(\w+):(\w+):(\S+) end`).FindStringSubmatch(dom)
	if m == nil {
		t.Fatalf("the page did not report the outlines:\n%s", dom)
	}
	if m[1] != "dashed" {
		t.Fatalf("a stale panel without the focus draws a %s outline, want dashed: the test proves nothing", m[1])
	}
	for _, r := range []struct{ name, focused, style, want string }{
		{"#live", m[2], m[3], "dashed"}, {".panel", m[4], m[5], "dashed"}, {"a button in a stale panel", m[6], m[7], "solid"},
	} {
		if r.focused != "true" {
			t.Errorf("%s did not take the focus", r.name)
		}
		if r.style != r.want {
			t.Errorf("%s with the focus draws a %s outline on a stale page, want %s", r.name, r.style, r.want)
		}
	}
	if m[8] != "3px" {
		t.Errorf("a button in a stale panel draws a %s focus ring, want 3px", m[8])
	}
}

// TestBrowserFailedSearchSaysSo: a search (a panel's form that fetches its results with htmx,
// as the analytics panel's does) that fails says so in one line under its form, read out as an
// alert, once however often it is retried. It showed the banner meant for refreshes that fail
// ("what you see may be out of date") and framed the page as stale, though only the search had
// failed, and said nothing near the form.
func TestBrowserFailedSearchSaysSo(t *testing.T) {
	chromiumPath(t)
	e := setup(t, setupOpts{})
	htmx, dashboardJS := layoutScripts(t, e)
	mux := http.NewServeMux()
	mux.Handle("/", e.h)
	mux.HandleFunc("/test/search", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("q") == "down" {
			// The app went away: the connection closes with no answer.
			conn, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				conn.Close()
			}
			return
		}
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"title":"Bad Request","status":400,"detail":"The funnel has too many steps: give at most 10."}`)
	})
	mux.HandleFunc("/test/page", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `<!doctype html><html lang="en"><head><script src="%s" defer></script><script src="%s" defer></script></head>
<body><main><p id="stale" role="alert" hidden></p><div id="panel-test" class="panel"><form method="get" action="/test/page" class="search" hx-get="/test/search" hx-target="closest .panel" hx-swap="outerHTML"><label for="q">Search</label><input id="q" type="search" name="q" value="%s"><button type="submit">Search</button></form><p>results</p></div></main><p id="out"></p>
<script>addEventListener("load", function () {
  var f = document.querySelector("#panel-test form");
  document.getElementById("q").focus();
  f.requestSubmit();
  setTimeout(function () { f.requestSubmit(); }, 500);
  setTimeout(function () {
    var lines = document.querySelectorAll("#panel-test .notice"), n = lines[0], a = document.activeElement;
    document.getElementById("out").textContent = "banner=" + !document.getElementById("stale").hidden +
      " stale=" + document.body.classList.contains("is-stale") + " lines=" + lines.length +
      " after=" + (n ? n.previousElementSibling === f : false) + " focus=" + a.id +
      " notice=" + (n ? n.getAttribute("role") + ":" + n.textContent : "none") + " end";
  }, 1500);
});</script></body></html>`, htmx, dashboardJS, r.URL.Query().Get("q"))
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	for _, tc := range []struct{ name, q, want string }{
		{"refused", "a,b", "alert:Search failed: The funnel has too many steps: give at most 10."},
		{"no answer", "down", "alert:Search failed: no answer from the app. Try again."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dom := browse(t, srv.URL+"/test/page?q="+tc.q, 2*time.Second, 800, 600, "")
			m := regexp.MustCompile(`banner=(\w+) stale=(\w+) lines=(\d+) after=(\w+) focus=(\S*) notice=(.*?) end`).FindStringSubmatch(dom)
			if m == nil {
				t.Fatalf("the page did not report the search's failure:\n%s", dom)
			}
			if m[1] != "false" || m[2] != "false" {
				t.Errorf("a failed search shows the stale banner (%s) or marks the page stale (%s), want neither", m[1], m[2])
			}
			if m[3] != "1" || m[4] != "true" || m[6] != tc.want {
				t.Errorf("after two failed searches the panel shows %s line(s), first %q (right under the form: %s), want one, %q, under the form", m[3], m[6], m[4], tc.want)
			}
			if m[5] != "q" {
				t.Errorf("after a failed search the focus is on %q, want still in the search box", m[5])
			}
		})
	}
}

// TestBrowserFocusedNodeScrollsIntoView: on a phone, a node of the service graph (a link in a
// box that scrolls sideways) that takes the keyboard focus is scrolled wholly into view.
// Chromium scrolls a focused element into view only when none of it shows: the graph's second
// column starts at the box's right edge at 390 px, so Tab put the focus ring on a node of which
// 36 of 234 px showed.
func TestBrowserFocusedNodeScrollsIntoView(t *testing.T) {
	chromiumPath(t)
	e := setup(t, setupOpts{})
	htmx, dashboardJS := layoutScripts(t, e)
	page := get(t, e.h, "/dashboard/graph").Body.String()
	css := regexp.MustCompile(`<link rel="stylesheet" href="([^"]+)"`).FindStringSubmatch(page)
	graph := regexp.MustCompile(`(?s)<div class="scroll"[^>]*>\s*<svg.*?</svg></div>`).FindString(page)
	if css == nil || graph == "" || !strings.Contains(graph, `<a href="/#card-signup"`) {
		t.Fatalf("no stylesheet or graph with a signup node on the graph page:\n%s", page)
	}
	mux := http.NewServeMux()
	mux.Handle("/", e.h)
	mux.HandleFunc("/test/page", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `<!doctype html><html lang="en"><head><meta name="viewport" content="width=device-width, initial-scale=1"><link rel="stylesheet" href="%s"><script src="%s" defer></script><script src="%s" defer></script></head>
<body><main><figure class="graph-wrap">%s</figure></main><p id="out"></p>
<script>addEventListener("load", function () {
  var a = document.querySelector('svg a[href="/#card-signup"]'), box = a.closest(".scroll");
  a.focus();
  setTimeout(function () {
    var r = a.getBoundingClientRect(), b = box.getBoundingClientRect();
    document.getElementById("out").textContent = "focused=" + (document.activeElement === a) +
      " node=" + Math.round(r.left) + "-" + Math.round(r.right) + " box=" + Math.round(b.left) + "-" + Math.round(b.right) + " end";
  }, 300);
});</script></body></html>`, css[1], htmx, dashboardJS, graph)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	dom := browse(t, srv.URL+"/test/page", time.Second, 390, 800, "graph-focus-phone.png")
	m := regexp.MustCompile(`focused=(\w+) node=(-?\d+)-(-?\d+) box=(-?\d+)-(-?\d+) end`).FindStringSubmatch(dom)
	if m == nil {
		t.Fatalf("the page did not report the node's place:\n%s", dom)
	}
	n := make([]int, 4)
	for i := range n {
		n[i], _ = strconv.Atoi(m[2+i])
	}
	if m[1] != "true" {
		t.Fatal("the graph's node did not take the focus")
	}
	if n[0] < n[2] || n[1] > n[3] {
		t.Errorf("the focused node spans %d-%d px in a box showing %d-%d px at 390 px, want all of it in view", n[0], n[1], n[2], n[3])
	}
}

// TestBrowserSearchKeepsItsQueryOnReload: a search that htmx swaps in place (a panel's GET
// form, as the analytics panel's range and funnel) puts its query in the page's address, as
// the form does without JavaScript, so a reload (or a copied link) shows the same results.
// The address stayed as it was: a reload showed the panel unsearched, the box emptied.
func TestBrowserSearchKeepsItsQueryOnReload(t *testing.T) {
	chromiumPath(t)
	e := setup(t, setupOpts{})
	htmx, dashboardJS := layoutScripts(t, e)
	panel := func(q url.Values) string {
		return `<div id="panel-test" class="panel"><form method="get" action="/test/page" class="search" hx-get="/test/results" hx-target="closest .panel" hx-swap="outerHTML"><select name="range"><option>1d</option><option` +
			map[bool]string{true: " selected"}[q.Get("range") == "7d"] + `>7d</option></select><input type="text" name="steps" value="` + html.EscapeString(q.Get("steps")) + `"><button type="submit">Show</button></form><p id="shown">` +
			html.EscapeString(q.Encode()) + `</p></div>`
	}
	mux := http.NewServeMux()
	mux.Handle("/", e.h)
	mux.HandleFunc("/test/results", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, panel(r.URL.Query())) })
	mux.HandleFunc("/test/page", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `<!doctype html><html lang="en"><head><script src="%s" defer></script><script src="%s" defer></script></head>
<body><main>%s</main><p id="out"></p>
<script>addEventListener("load", function () {
  document.querySelector("#panel-test select").value = "7d";
  document.querySelector("#panel-test input").value = "signup, buy";
  document.querySelector("#panel-test form").requestSubmit();
  setTimeout(function () {
    document.getElementById("out").textContent = "address=" + location.pathname + location.search + " shown=" + document.getElementById("shown").textContent + " end";
  }, 1000);
});</script></body></html>`, htmx, dashboardJS, panel(r.URL.Query()))
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	dom := browse(t, srv.URL+"/test/page", 2*time.Second, 800, 600, "")
	m := regexp.MustCompile(`address=(\S*) shown=(\S*) end`).FindStringSubmatch(dom)
	if m == nil {
		t.Fatalf("the page did not report its address:\n%s", dom)
	}
	want := "range=7d&amp;steps=signup%2C+buy"
	if m[2] != want {
		t.Fatalf("the search showed %q, want %q: the test proves nothing", m[2], want)
	}
	if got := html.UnescapeString(m[1]); got != "/test/page?"+html.UnescapeString(want) {
		t.Errorf("after the search the address is %s, want /test/page?%s (a reload shows the same results)", got, html.UnescapeString(want))
	}
}

// TestBrowserActionOutcomeSurvivesReload: an operator starts a slow action with htmx and
// reloads the page before the answer comes. The browser drops the answer, but the action ran:
// the next load of the panel shows its outcome, once, and the load after does not. An answer
// that came (the action not interrupted) shows in the panel and not again on the next load.
func TestBrowserActionOutcomeSurvivesReload(t *testing.T) {
	chromiumPath(t)
	e := setup(t, setupOpts{})
	htmx, dashboardJS := layoutScripts(t, e)
	done := make(chan struct{})
	var slowPosts atomic.Int32
	mux := http.NewServeMux()
	mux.Handle("/", e.h)
	// The slow action: it reaches the dashboard only once the browser has left (the reload
	// closed the connection), as an action does that outlasts the operator's patience. The
	// body is read first, as the dashboard reads the form: only then does the server notice
	// a client that goes away.
	mux.HandleFunc("POST /dashboard/panels/jobs/actions/retry", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		if q, _ := url.ParseQuery(string(body)); q.Get("id") != "slow" {
			e.h.ServeHTTP(w, r)
			return
		}
		slowPosts.Add(1)
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
		e.h.ServeHTTP(w, r)
		close(done)
	})
	mux.HandleFunc("/test/wait", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-done:
			fmt.Fprint(w, "ok")
		case <-time.After(15 * time.Second):
			fmt.Fprint(w, "timeout")
		}
	})
	mux.HandleFunc("/test/page", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `<!doctype html><html lang="en"><head><script src="%s" defer></script><script src="%s" defer></script></head>
<body><main id="main"></main><p id="out"></p>
<script>
function outcomes(html) { return (html.match(/class="outcome"/g) || []).length; }
function panel(token, id) {
  document.getElementById("main").innerHTML = '<div id="panel-jobs" class="panel"><form method="post" action="/dashboard/panels/jobs/actions/retry" hx-post="/dashboard/panels/jobs/actions/retry" hx-target="closest .panel" hx-swap="outerHTML">' +
    '<input type="hidden" name="csrf_token" value="' + token + '"><input type="hidden" name="id" value="' + id + '"><button>Retry</button></form></div>';
  htmx.process(document.getElementById("main"));
  return document.querySelector("#panel-jobs button");
}
function page() { return fetch("/dashboard/panels/jobs").then(function (r) { return r.text(); }); }
addEventListener("load", function () {
  var out = document.getElementById("out");
  if (!sessionStorage.getItem("reloaded")) {
    page().then(function (html) {
      var token = html.match(/name="csrf_token" value="([^"]+)"/)[1];
      sessionStorage.setItem("token", token);
      document.addEventListener("htmx:beforeSend", function () {
        sessionStorage.setItem("reloaded", "1");
        // Once the request is sent: the reload drops it mid-flight.
        Promise.resolve().then(function () { location.reload(); });
      });
      panel(token, "slow").click();
    });
    return;
  }
  var res = "";
  fetch("/test/wait").then(function (r) { return r.text(); }).then(function (w) {
    res += "wait=" + w;
    return page();
  }).then(function (html) {
    res += " lost=" + outcomes(html);
    return page();
  }).then(function (html) {
    res += " again=" + outcomes(html);
    document.addEventListener("htmx:afterSwap", function () {
      res += " shown=" + document.querySelectorAll("#panel-jobs .outcome").length;
      page().then(function (html) { out.textContent = res + " after=" + outcomes(html) + " end"; });
    });
    panel(sessionStorage.getItem("token"), "7").click();
  });
});
</script></body></html>`, htmx, dashboardJS)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	dom := browse(t, srv.URL+"/test/page", 3*time.Second, 800, 600, "")
	m := regexp.MustCompile(`wait=(\w+) lost=(\d+) again=(\d+) shown=(\d+) after=(\d+) end`).FindStringSubmatch(dom)
	if m == nil {
		t.Fatalf("the page did not report (slow posts: %d, retries: %d):\n%s", slowPosts.Load(), e.retries.Load(), dom)
	}
	if m[1] != "ok" || slowPosts.Load() != 1 {
		t.Fatalf("the slow action did not finish after the reload (%s, %d posts)", m[1], slowPosts.Load())
	}
	if got, want := strings.Join(m[2:], " "), "1 0 1 0"; got != want {
		t.Errorf("outcomes shown (after the reload, on the next load, after a delivered action, on the load after it) = %s, want %s", got, want)
	}
	if e.retries.Load() != 2 {
		t.Errorf("the action ran %d times, want 2", e.retries.Load())
	}
}
