package ai

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aegisgo/aegis/template/internal/components/database"
	"github.com/aegisgo/aegis/template/internal/components/database/databasetest"
	"github.com/aegisgo/aegis/template/internal/components/frontend/frontendtest"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
)

// TestConversationOneAnswerAtATime: a prompt sent to a conversation while another of its
// prompts is being answered (two tabs, a double click) is refused with a 409 problem, JSON
// and stream alike, before anything is stored. Both used to be answered: the answers were
// stored after both prompts, the first prompt's answer after the second's, so the
// conversation read prompt, prompt, answer, answer, and neither call saw the other's turn.
// Once the answer is in, the conversation takes the next prompt, in order.
func TestConversationOneAnswerAtATime(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		entered, release := make(chan struct{}), make(chan struct{})
		var calls atomic.Int32
		prov := hookProvider{during: func(ctx context.Context) {
			if calls.Add(1) == 1 { // the first call waits; the rest answer at once
				close(entered)
				<-release
			}
		}}
		svc, err := New(db, Settings{Provider: ProviderLocal, Model: "m"},
			&Opts{Identity: headerIdentity{}, Providers: map[string]Provider{ProviderLocal: prov}, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		h := frontendtest.Handler(t, nil, func(r *registry.Registry) error { return registry.Value(r, svc) })
		ann := map[string]string{"X-Test-User": "ann"}
		conv := decode[Conversation](t, send(t, h, http.MethodPost, Prefix+"/conversations", map[string]any{}, ann))

		first := make(chan int)
		go func() {
			first <- send(t, h, http.MethodPost, ChatPath, map[string]any{"prompt": "first", "conversation_id": conv.ID}, ann).Code
		}()
		<-entered // the first prompt is with the provider
		for _, stream := range []bool{false, true} {
			rec := send(t, h, http.MethodPost, ChatPath, map[string]any{"prompt": "second", "conversation_id": conv.ID, "stream": stream}, ann)
			var p struct {
				Status int    `json:"status"`
				Detail string `json:"detail"`
			}
			if rec.Code != http.StatusConflict || rec.Header().Get("Content-Type") != "application/problem+json" ||
				json.Unmarshal(rec.Body.Bytes(), &p) != nil || !strings.Contains(p.Detail, "still answering another prompt; wait for that answer") {
				t.Errorf("stream %v while the conversation answers: %d %s %s, want a 409 problem", stream, rec.Code, rec.Header().Get("Content-Type"), rec.Body)
			}
		}
		close(release)
		select {
		case code := <-first:
			if code != http.StatusOK {
				t.Fatalf("the first prompt: %d", code)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("the first prompt was not answered")
		}
		// The conversation is free again: the next prompt is answered after the first.
		if rec := send(t, h, http.MethodPost, ChatPath, map[string]any{"prompt": "second", "conversation_id": conv.ID, "stream": true}, ann); rec.Code != http.StatusOK {
			t.Fatalf("the next prompt: %d %s", rec.Code, rec.Body)
		}
		got := decode[ConversationWithMessages](t, send(t, h, http.MethodGet, Prefix+"/conversations/"+jsonNumber(conv.ID), nil, ann))
		var order []string
		for _, m := range got.Messages {
			order = append(order, string(m.Role)+":"+m.Content)
		}
		if strings.Join(order, " ") != "user:first assistant:ok user:second assistant:ok" {
			t.Errorf("messages %v, want each answer after its prompt", order)
		}
		// Another user's prompt to it is still a 404, not a 409 that would tell it exists.
		if rec := send(t, h, http.MethodPost, ChatPath, map[string]any{"prompt": "x", "conversation_id": conv.ID}, map[string]string{"X-Test-User": "bob"}); rec.Code != http.StatusNotFound {
			t.Errorf("bob: %d %s, want 404", rec.Code, rec.Body)
		}
	})
}
