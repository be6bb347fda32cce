package ai

import (
	"context"
	"errors"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/aegisgo/aegis/template/internal/components/database"
	"github.com/aegisgo/aegis/template/internal/components/database/databasetest"
	"github.com/aegisgo/aegis/template/internal/components/frontend/frontendtest"
)

// TestPanel: the panel shows the profiles and health, the usage chart and per-model table,
// the conversations and the last errors, with no key.
func TestPanel(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		f := newFakeOpenAI(t, fakeOK)
		_, h := setup(t, db, f, Settings{}, nil)
		if rec := send(t, h, http.MethodPost, ChatPath, map[string]any{"prompt": "plan my trip"}, nil); rec.Code != http.StatusOK {
			t.Fatalf("chat = %d", rec.Code)
		}
		f.mode = fake500
		send(t, h, http.MethodPost, ChatPath, map[string]any{"prompt": "again"}, nil)
		body := frontendtest.NewBrowser(t, h).Get("/dashboard/panels/" + PanelName)
		for _, want := range []string{"default", "gpt-4o-mini", "<svg", "plan my trip", "openai answered 500", "Tokens per day"} {
			if !strings.Contains(body, want) {
				t.Errorf("panel lacks %q:\n%s", want, body)
			}
		}
		if strings.Contains(body, "sk-secret") {
			t.Fatal("the panel shows the key")
		}
		if strings.Contains(body, "<h3") {
			t.Error("the panel has h3 headings straight under the page's h1: a skipped level")
		}
		// Every table scrolls sideways on its own: a model's name is one long word, and six
		// columns of them widened the whole page on a phone.
		if tables, scrolls := strings.Count(body, "<table>"), strings.Count(body, `<div class="scroll"`); tables == 0 || scrolls != tables {
			t.Errorf("the panel has %d tables, %d of them in a scrollable region: want all", tables, scrolls)
		}
		// The chart keeps a readable width and scrolls sideways on a phone (the stylesheet's
		// .chart rule, TestBrowserChartLabelsReadable).
		if !regexp.MustCompile(`<div class="scroll chart"[^>]*><svg class="ai-chart"`).MatchString(body) {
			t.Error("the tokens chart is not in a scrollable chart region")
		}
	})
}

// namingIdentity is headerIdentity that names user 7 (see UserNamer), or fails to.
type namingIdentity struct {
	headerIdentity
	fail bool
}

func (n namingIdentity) UserNames(_ context.Context, ids []string) (map[string]string, error) {
	if n.fail {
		return nil, errors.New("the accounts are down")
	}
	out := map[string]string{}
	for _, id := range ids {
		if id == "7" {
			out[id] = "ada@example.com"
		}
	}
	return out, nil
}

// TestPanelUserNames: the latest conversations show their user's name when the Identity can
// tell it, the ID when it does not know the user (deleted since) or cannot say.
func TestPanelUserNames(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		for _, fail := range []bool{false, true} {
			f := newFakeOpenAI(t, fakeOK)
			_, h := setup(t, db, f, Settings{}, &Opts{Identity: namingIdentity{fail: fail}})
			for _, user := range []string{"7", "9"} {
				if rec := send(t, h, http.MethodPost, ChatPath, map[string]any{"prompt": "hello from " + user}, map[string]string{"X-Test-User": user}); rec.Code != http.StatusOK {
					t.Fatalf("chat as %s = %d", user, rec.Code)
				}
			}
			body := frontendtest.NewBrowser(t, h).Get("/dashboard/panels/" + PanelName)
			want := []string{`<span title="user 7">ada@example.com</span>`, "<td>9</td>"}
			if fail {
				want = []string{"<td>7</td>", "<td>9</td>"}
			}
			for _, w := range want {
				if !strings.Contains(body, w) {
					t.Errorf("fail=%v: panel lacks %q:\n%s", fail, w, body)
				}
			}
		}
	})
}

// TestTokensChartAxis: an empty fortnight's y axis shows one "0", not a peak of 0 above a 0
// (which reads as a broken scale); a peak is labelled above it. The last day says UTC, since
// the ledger's days are UTC days.
func TestTokensChartAxis(t *testing.T) {
	for _, tc := range []struct {
		name   string
		days   []dayTokens
		labels []string // the y axis's, top first
	}{
		{"empty", []dayTokens{{"2026-12-05", 0}, {"2026-12-06", 0}}, []string{"0"}},
		{"peak", []dayTokens{{"2026-12-05", 40}, {"2026-12-06", 12}}, []string{"40", "0"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			svg := string(tokensChart(tc.days))
			var labels []string
			for _, m := range regexp.MustCompile(`<text x="(\d+)" [^>]*>([^<]*)</text>`).FindAllStringSubmatch(svg, -1) {
				if m[1] == strconv.Itoa(padL-4) {
					labels = append(labels, m[2])
				}
			}
			if strings.Join(labels, ",") != strings.Join(tc.labels, ",") {
				t.Errorf("y axis labels %q, want %q", labels, tc.labels)
			}
			if !strings.Contains(svg, ">2026-12-06 UTC</text>") {
				t.Errorf("the last day is not labelled as a UTC day:\n%s", svg)
			}
		})
	}
}
