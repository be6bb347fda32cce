package ai

import (
	"context"
	"errors"
	"net/http"
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
