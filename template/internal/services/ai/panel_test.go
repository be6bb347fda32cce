package ai

import (
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
