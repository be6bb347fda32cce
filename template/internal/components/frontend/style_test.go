package frontend

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestStyleContrast computes, from style.css, the contrast of the dashboard's colours in the
// light and the dark scheme: text at least 4.5:1 against what it is drawn on (WCAG 1.4.3),
// and the border that shows where a text field, a select or a button is at least 3:1 against
// the backgrounds on either side of it (WCAG 1.4.11). The fields' border was --line, about
// 1.4:1 in both schemes: the login form's fields were barely visible boxes, and so were the
// buttons (Retry, Cancel, Sign out) until they drew it in --field too. The same holds while
// the page is stale (refreshes fail, dashboard.js sets .is-stale): the content was dimmed to
// opacity .55, which took grey text on grey to 2.3:1.
func TestStyleContrast(t *testing.T) {
	t.Parallel()
	css, err := assetFS.ReadFile("style.css")
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile(`(?s):root \{(.*?)\}`).FindAllStringSubmatch(string(css), -1)
	if len(blocks) != 2 {
		t.Fatalf("want a light and a dark :root block in style.css, found %d", len(blocks))
	}
	vars := func(block string) map[string]string {
		out := map[string]string{}
		for _, m := range regexp.MustCompile(`--([\w-]+):\s*(#[0-9a-fA-F]{6})`).FindAllStringSubmatch(block, -1) {
			out[m[1]] = m[2]
		}
		return out
	}
	light := vars(blocks[0][1])
	dark := map[string]string{}
	for k, v := range light {
		dark[k] = v
	}
	for k, v := range vars(blocks[1][1]) {
		dark[k] = v
	}
	// The stale state: the variables its rules set, composited at their opacity over the page.
	stale := map[string]string{}
	opacity := 1.0
	for _, m := range regexp.MustCompile(`(?s)([^{}]*\.is-stale[^{}]*)\{([^}]*)\}`).FindAllStringSubmatch(string(css), -1) {
		for _, d := range regexp.MustCompile(`--([\w-]+):\s*([^;]+)`).FindAllStringSubmatch(m[2], -1) {
			stale[d[1]] = strings.TrimSpace(d[2])
		}
		if o := regexp.MustCompile(`(?:^|[;\s])opacity:\s*([\d.]+)`).FindStringSubmatch(m[2]); o != nil {
			f, err := strconv.ParseFloat(o[1], 64)
			if err != nil {
				t.Fatalf("%s: opacity %q: %v", strings.TrimSpace(m[1]), o[1], err)
			}
			opacity = min(opacity, f)
		}
		if strings.Contains(m[2], "filter:") {
			t.Errorf("%s: a filter changes the colours in a way this test does not compute", strings.TrimSpace(m[1]))
		}
	}
	staleVars := func(v map[string]string) map[string]string {
		out := map[string]string{}
		for k, c := range v {
			out[k] = c
		}
		for k, c := range stale {
			if ref := regexp.MustCompile(`^var\(--([\w-]+)\)$`).FindStringSubmatch(c); ref != nil {
				c = v[ref[1]]
			}
			out[k] = c
		}
		for k, c := range out {
			out[k] = blend(c, v["bg"], opacity)
		}
		return out
	}
	for _, c := range []struct {
		fg, bg string
		min    float64
	}{
		{"fg", "bg", 4.5}, {"fg", "card", 4.5}, {"muted", "bg", 4.5}, {"muted", "card", 4.5},
		{"accent", "bg", 4.5}, {"accent", "card", 4.5}, {"card", "accent", 4.5}, // the login button
		{"ok", "ok-bg", 4.5}, {"warn", "warn-bg", 4.5}, {"bad", "bad-bg", 4.5}, {"muted", "none-bg", 4.5},
		{"ok", "card", 4.5}, {"warn", "card", 4.5}, {"bad", "card", 4.5}, {"fg", "bad-bg", 4.5},
		{"field", "bg", 3}, {"field", "card", 3},
	} {
		for scheme, v := range map[string]map[string]string{
			"light": light, "dark": dark, "light, stale": staleVars(light), "dark, stale": staleVars(dark),
		} {
			fg, bg := v[c.fg], v[c.bg]
			if fg == "" || bg == "" {
				t.Errorf("%s: --%s or --%s is not a colour in style.css", scheme, c.fg, c.bg)
				continue
			}
			if r := contrast(fg, bg); r < c.min {
				t.Errorf("%s: --%s (%s) on --%s (%s) is %.2f:1, want at least %.1f:1", scheme, c.fg, fg, c.bg, bg, r, c.min)
			}
		}
	}
	// Every rule that draws a text field's, a select's or a button's border draws it in --field.
	for _, m := range regexp.MustCompile(`(?s)([^{}]*(?:input|select|button)[^{}]*)\{([^}]*)\}`).FindAllStringSubmatch(string(css), -1) {
		if strings.Contains(m[1], ":focus") || !strings.Contains(m[2], "border:") {
			continue
		}
		if !strings.Contains(m[2], "var(--field)") {
			t.Errorf("the rule for %s draws its border without var(--field)", strings.TrimSpace(m[1]))
		}
	}
}

// blend is the #rrggbb colour fg drawn at opacity a over bg, as a browser composites it.
func blend(fg, bg string, a float64) string {
	if a >= 1 || len(fg) != 7 || len(bg) != 7 {
		return fg
	}
	out := "#"
	for i := range 3 {
		f, _ := strconv.ParseUint(fg[1+2*i:3+2*i], 16, 8)
		b, _ := strconv.ParseUint(bg[1+2*i:3+2*i], 16, 8)
		out += fmt.Sprintf("%02x", int(math.Round(a*float64(f)+(1-a)*float64(b))))
	}
	return out
}

// contrast is the WCAG contrast ratio of two #rrggbb colours.
func contrast(a, b string) float64 {
	lum := func(hex string) float64 {
		var c [3]float64
		for i := range c {
			v, _ := strconv.ParseUint(hex[1+2*i:3+2*i], 16, 8)
			x := float64(v) / 255
			if x <= 0.04045 {
				c[i] = x / 12.92
			} else {
				c[i] = math.Pow((x+0.055)/1.055, 2.4)
			}
		}
		return 0.2126*c[0] + 0.7152*c[1] + 0.0722*c[2]
	}
	la, lb := lum(a), lum(b)
	return (max(la, lb) + 0.05) / (min(la, lb) + 0.05)
}
