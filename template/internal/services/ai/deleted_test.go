package ai

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/aegisgo/aegis/template/internal/components/database"
	"github.com/aegisgo/aegis/template/internal/components/database/databasetest"
	"github.com/aegisgo/aegis/template/internal/components/frontend/frontendtest"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
)

// hookProvider answers "ok" after running during: what the app does while the provider is
// still answering.
type hookProvider struct {
	during func(ctx context.Context)
}

func (hookProvider) Kind() string { return ProviderLocal }

func (p hookProvider) Chat(ctx context.Context, req Request) (*Response, error) {
	p.during(ctx)
	return &Response{Model: req.Model, Content: "ok", Usage: Usage{InputTokens: 3, OutputTokens: 2}, StopReason: "stop"}, nil
}

func (p hookProvider) Stream(ctx context.Context, req Request, onDelta func(string) error) (*Response, error) {
	resp, _ := p.Chat(ctx, req)
	return resp, onDelta(resp.Content)
}

func (hookProvider) Models(context.Context) ([]string, error) { return []string{"m"}, nil }

// TestConversationDeletedMidAnswer: a conversation its user deletes while its answer is
// on the way (another tab, another client) is gone, a 404 like any missing conversation:
// not a 500 from the database refusing messages of a conversation that no longer exists,
// and no message is left behind without its conversation. The call is still in the ledger.
func TestConversationDeletedMidAnswer(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		var svc *Service
		prov := hookProvider{during: func(ctx context.Context) {
			cs, err := svc.Conversations(ctx, 1, 0)
			if err != nil || len(cs) != 1 {
				t.Errorf("the conversation under way: %v, %v", cs, err)
				return
			}
			if err := svc.DeleteConversation(ctx, cs[0].ID); err != nil {
				t.Errorf("delete the conversation under way: %v", err)
			}
		}}
		var err error
		svc, err = New(db, Settings{Provider: ProviderLocal, Model: "m"},
			&Opts{Identity: headerIdentity{}, Providers: map[string]Provider{ProviderLocal: prov}, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		h := frontendtest.Handler(t, nil, func(r *registry.Registry) error { return registry.Value(r, svc) })
		alice := map[string]string{"X-Test-User": "alice"}
		for _, stream := range []bool{false, true} {
			c := decode[Conversation](t, send(t, h, http.MethodPost, Prefix+"/conversations", map[string]any{"title": "t"}, alice))
			rec := send(t, h, http.MethodPost, ChatPath, map[string]any{"prompt": "hi", "conversation_id": c.ID, "stream": stream}, alice)
			status, body := rec.Code, rec.Body.String()
			if stream {
				evs := readEvents(t, body)
				if len(evs) == 0 || evs[len(evs)-1].name != "error" {
					t.Fatalf("stream: events %+v, want an error last", evs)
				}
				var ev ErrorEvent
				if err := json.Unmarshal([]byte(evs[len(evs)-1].data), &ev); err != nil {
					t.Fatal(err)
				}
				status, body = ev.Status, ev.Detail
				if ev.ConversationID != 0 || ev.Partial {
					t.Errorf("stream: the error names conversation %d (partial %v), which is gone", ev.ConversationID, ev.Partial)
				}
			} else if strings.Contains(body, "conversation_id") {
				t.Errorf("the problem names the conversation that is gone: %s", body)
			} else if ct := rec.Header().Get("Content-Type"); !strings.Contains(ct, "problem+json") {
				t.Errorf("Content-Type %q, want a problem", ct)
			}
			if status != http.StatusNotFound || !strings.Contains(body, "No such conversation of yours.") {
				t.Errorf("stream=%v: %d %s, want 404 No such conversation of yours.", stream, status, body)
			}
		}
		if n := countRows(t, db, "SELECT COUNT(*) FROM ai_messages WHERE conversation_id NOT IN (SELECT id FROM ai_conversations)"); n != 0 {
			t.Errorf("%d messages left without their conversation", n)
		}
		if n := countRows(t, db, "SELECT COUNT(*) FROM ai_usage WHERE user_id = 'alice'"); n != 2 {
			t.Errorf("%d calls in the ledger, want 2", n)
		}
	})
}
