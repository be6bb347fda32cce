// Package browsertest drives a real Chromium for tests of dashboard pages, through its command
// DevTools protocol over a pipe (headless, with virtual time and an emulated viewport), so it
// needs no Go dependency. Tests skip when no Chromium is installed (on Debian: apt-get install -y
// chromium) and in -short mode. It imports nothing of the app, so the frontend's own tests
// and those of the parts that contribute panels share this one copy.
package browsertest

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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
	// Width and Height are the viewport's size in CSS pixels, any width: a phone's 390 is 390,
	// though headless Chromium's windows are never narrower than 500.
	Width, Height int
	// Screenshot, when set, also saves a PNG of the page under that name in the test's
	// artifact directory (go test -artifacts -outputdir DIR keeps them).
	Screenshot string
}

// size returns the viewport's width and height and the virtual time budget, defaults filled.
func (o Opts) size() (w, h int, budget time.Duration) {
	w, h, budget = o.Width, o.Height, o.Budget
	if w == 0 {
		w = 1280
	}
	if h == 0 {
		h = 1000
	}
	if budget == 0 {
		budget = time.Second
	}
	return w, h, budget
}

// Browse loads url in headless Chromium and returns the DOM as it is once o.Budget has
// passed (frames' documents are not part of it). With o.Screenshot it also saves a PNG of the
// page as it is then.
func Browse(t testing.TB, url string, o Opts) string {
	t.Helper()
	dom, _ := load(t, url, o, true)
	return dom
}

// Screenshot loads url and saves a PNG of the viewport, frames included, as o.Screenshot
// (default "page.png") in the test's artifact directory; it returns the file's path.
func Screenshot(t testing.TB, url string, o Opts) string {
	t.Helper()
	if o.Screenshot == "" {
		o.Screenshot = "page.png"
	}
	_, path := load(t, url, o, false)
	return path
}

// load drives one Chromium over the DevTools protocol (--remote-debugging-pipe: JSON messages
// ended by a NUL byte on file descriptors 3 and 4, so no Go dependency): it sets the viewport
// by device metrics emulation, since a headless window is never narrower than 500 px and a
// phone's 390 px asked of --window-size was 500; lets o.Budget of virtual time pass after the
// navigation (timers and polling run, network fetches pause the clock, as
// --virtual-time-budget does); then reads the DOM and takes the screenshot.
func load(t testing.TB, url string, o Opts, dom bool) (html, shot string) {
	t.Helper()
	bin := Chromium(t)
	w, h, budget := o.size()
	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()
	// Chromium reads commands from its fd 3 and writes answers to its fd 4.
	cmdR, cmdW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, bin,
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
		"--disable-component-update", "--no-first-run", "--disable-dev-shm-usage",
		"--hide-scrollbars", "--user-data-dir="+t.TempDir(),
		"--window-size="+strconv.Itoa(max(w, 500))+","+strconv.Itoa(h),
		"--remote-debugging-pipe", "about:blank")
	cmd.ExtraFiles = []*os.File{cmdR, outW}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	cmdR.Close()
	outW.Close()
	c := &cdp{w: cmdW, r: bufio.NewReader(outR), seen: map[string]bool{}}
	defer func() {
		// Browser.close ends the process; the pipes closing and the context end it otherwise.
		_ = c.send("", "Browser.close", nil)
		cmdW.Close()
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cancel()
			<-done
		}
		outR.Close()
	}()
	fail := func(err error) {
		t.Helper()
		t.Fatalf("chromium %s: %v\n%s", url, err, stderr.String())
	}

	var created struct{ TargetID string }
	if err := c.call("", "Target.createTarget", map[string]any{"url": "about:blank"}, &created); err != nil {
		fail(err)
	}
	var attached struct{ SessionID string }
	if err := c.call("", "Target.attachToTarget", map[string]any{"targetId": created.TargetID, "flatten": true}, &attached); err != nil {
		fail(err)
	}
	s := attached.SessionID
	var nav struct{ ErrorText string }
	for _, step := range []struct {
		method string
		params map[string]any
		result any
	}{
		{"Page.enable", nil, nil},
		{"Emulation.setDeviceMetricsOverride", map[string]any{"width": w, "height": h, "deviceScaleFactor": 1, "mobile": false}, nil},
		// Paused while the navigation starts (the clock ran out before the page came, else),
		// then running whenever no fetch is pending, until the budget is spent.
		{"Emulation.setVirtualTimePolicy", map[string]any{"policy": "pause"}, nil},
		{"Page.navigate", map[string]any{"url": url}, &nav},
		{"Emulation.setVirtualTimePolicy", map[string]any{"policy": "pauseIfNetworkFetchesPending", "budget": budget.Milliseconds()}, nil},
	} {
		if err := c.call(s, step.method, step.params, step.result); err != nil {
			fail(err)
		}
	}
	if nav.ErrorText != "" {
		fail(errors.New(nav.ErrorText))
	}
	if err := c.wait("Emulation.virtualTimeBudgetExpired"); err != nil {
		fail(err)
	}
	if dom {
		var ev struct{ Result struct{ Value string } }
		if err := c.call(s, "Runtime.evaluate", map[string]any{"expression": "document.documentElement.outerHTML", "returnByValue": true}, &ev); err != nil {
			fail(err)
		}
		html = ev.Result.Value
	}
	if o.Screenshot != "" {
		// Time runs again for the screenshot: with the clock paused at the end of the budget,
		// Chromium drew no frame of some pages and the capture never answered.
		if err := c.call(s, "Emulation.setVirtualTimePolicy", map[string]any{"policy": "advance"}, nil); err != nil {
			fail(err)
		}
		var png struct{ Data []byte }
		if err := c.call(s, "Page.captureScreenshot", map[string]any{"format": "png"}, &png); err != nil {
			fail(err)
		}
		if len(png.Data) == 0 {
			fail(errors.New("an empty screenshot"))
		}
		shot = filepath.Join(t.ArtifactDir(), o.Screenshot)
		if err := os.WriteFile(shot, png.Data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return html, shot
}

// cdp is one DevTools protocol connection over a pipe, used by one goroutine: a call reads
// messages until its answer comes, noting the events it passes for wait.
type cdp struct {
	w    io.Writer
	r    *bufio.Reader
	id   int
	seen map[string]bool
}

func (c *cdp) send(session, method string, params any) error {
	c.id++
	msg, err := json.Marshal(struct {
		ID        int    `json:"id"`
		SessionID string `json:"sessionId,omitempty"`
		Method    string `json:"method"`
		Params    any    `json:"params"`
	}{c.id, session, method, params})
	if err == nil {
		_, err = c.w.Write(append(msg, 0))
	}
	if err != nil {
		return fmt.Errorf("%s: %w", method, err)
	}
	return nil
}

type message struct {
	ID     int
	Method string
	Result json.RawMessage
	Error  *struct {
		Code    int
		Message string
	}
}

func (c *cdp) next() (message, error) {
	b, err := c.r.ReadBytes(0)
	if err != nil {
		return message{}, fmt.Errorf("read from chromium: %w", err)
	}
	var m message
	if err := json.Unmarshal(b[:len(b)-1], &m); err != nil {
		return message{}, fmt.Errorf("read from chromium: %w", err)
	}
	if m.Method != "" {
		c.seen[m.Method] = true
	}
	return m, nil
}

// call sends a command and decodes its result into result (unless nil).
func (c *cdp) call(session, method string, params, result any) error {
	if params == nil {
		params = map[string]any{}
	}
	if err := c.send(session, method, params); err != nil {
		return err
	}
	for {
		m, err := c.next()
		if err != nil {
			return fmt.Errorf("%s: %w", method, err)
		}
		if m.ID != c.id {
			continue
		}
		if m.Error != nil {
			return fmt.Errorf("%s: %s (%d)", method, m.Error.Message, m.Error.Code)
		}
		if result == nil {
			return nil
		}
		if err := json.Unmarshal(m.Result, result); err != nil {
			return fmt.Errorf("%s: %w", method, err)
		}
		return nil
	}
}

// wait reads messages until the event named method has come (or had already).
func (c *cdp) wait(method string) error {
	for !c.seen[method] {
		if _, err := c.next(); err != nil {
			return fmt.Errorf("wait for %s: %w", method, err)
		}
	}
	return nil
}
