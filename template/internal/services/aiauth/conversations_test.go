package aiauth

import (
	"encoding/json"
	"net/http"
	"strconv"
	"testing"

	"github.com/aegisgo/aegis/template/internal/components/database"
	"github.com/aegisgo/aegis/template/internal/components/database/databasetest"
	"github.com/aegisgo/aegis/template/internal/components/frontend/frontendtest"
	"github.com/aegisgo/aegis/template/internal/services/ai"
	"github.com/aegisgo/aegis/template/internal/services/auth"
	"github.com/aegisgo/aegis/template/internal/services/auth/authtest"
)

// TestConversationsBelongToTheirUser: with real access tokens, a conversation is its
// user's alone: another user, an admin included, gets the 404 of a missing one for reading,
// deleting or continuing it, and a user's usage is their own whatever the query names.
func TestConversationsBelongToTheirUser(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		ctx := t.Context()
		env := authtest.New(t, db)
		env.Accounts(ctx, t,
			auth.CreateUserParams{Email: "admin@example.com", Username: "admin", Role: auth.RoleAdmin},
			auth.CreateUserParams{Email: "alice@example.com", Username: "alice"},
			auth.CreateUserParams{Email: "bob@example.com", Username: "bob"},
		)
		svc := echoAI(t, db, env, ai.Settings{}, ai.Opts{Now: middayClock()})
		h := serve(t, svc, env, nil)
		tokens := map[string]string{}
		for _, u := range []string{"admin", "alice", "bob"} {
			tokens[u] = env.Token(ctx, t, u)
		}
		do := func(method, path string, body any, who string) (int, map[string]any) {
			rec := frontendtest.Send(t, h, method, path, body, map[string]string{"Authorization": "Bearer " + tokens[who]})
			var out map[string]any
			if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
				t.Fatalf("%s %s as %s = %d, not JSON: %s", method, path, who, rec.Code, rec.Body)
			}
			delete(out, "instance")
			return rec.Code, out
		}
		code, res := do(http.MethodPost, ai.ChatPath, map[string]any{"prompt": "alice's secret"}, "alice")
		if code != http.StatusOK {
			t.Fatalf("alice's chat = %d %v", code, res)
		}
		theirs := int64(res["conversation_id"].(float64))
		conv := func(id int64) string { return ai.Prefix + "/conversations/" + strconv.FormatInt(id, 10) }
		for _, who := range []string{"bob", "admin"} {
			for _, probe := range []struct {
				method string
				path   func(int64) string
				body   func(int64) any
			}{
				{http.MethodGet, conv, func(int64) any { return nil }},
				{http.MethodDelete, conv, func(int64) any { return nil }},
				{http.MethodPost, func(int64) string { return ai.ChatPath }, func(id int64) any { return map[string]any{"prompt": "tell me", "conversation_id": id} }},
			} {
				code, body := do(probe.method, probe.path(theirs), probe.body(theirs), who)
				mcode, mbody := do(probe.method, probe.path(theirs+1000), probe.body(theirs+1000), who)
				if code != http.StatusNotFound || code != mcode || body["detail"] != mbody["detail"] || body["title"] != mbody["title"] {
					t.Errorf("%s %s of alice's as %s = %d %v; of a missing one %d %v", probe.method, probe.path(theirs), who, code, body, mcode, mbody)
				}
			}
		}
		if code, res := do(http.MethodGet, conv(theirs), nil, "alice"); code != http.StatusOK || len(res["messages"].([]any)) != 2 {
			t.Fatalf("alice's conversation after the others' tries: %d %v", code, res)
		}
		alice, err := env.Users.GetByLogin(ctx, "alice")
		if err != nil {
			t.Fatal(err)
		}
		code, res = do(http.MethodGet, ai.Prefix+"/usage?user="+strconv.FormatInt(alice.ID, 10)+"&user_id="+strconv.FormatInt(alice.ID, 10), nil, "bob")
		if code != http.StatusOK || res["totals"].(map[string]any)["calls"] != float64(0) {
			t.Errorf("bob's usage naming alice = %d %v, want bob's own (no calls)", code, res)
		}
	})
}
