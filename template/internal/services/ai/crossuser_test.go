package ai

import (
	"encoding/json"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/aegisgo/aegis/template/internal/components/database"
	"github.com/aegisgo/aegis/template/internal/components/database/databasetest"
)

// TestNotYoursIsNotFound: another user's conversation answers exactly as a missing one, on
// every endpoint that takes a conversation (read, delete, continue as JSON or as a stream):
// the same 404 problem, so a probe learns nothing of which IDs exist, and it stays untouched.
func TestNotYoursIsNotFound(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		f := newFakeOpenAI(t, fakeOK)
		_, h := setup(t, db, f, Settings{}, &Opts{Identity: headerIdentity{}})
		alice, bob := map[string]string{"X-Test-User": "alice"}, map[string]string{"X-Test-User": "bob"}
		rec := send(t, h, http.MethodPost, ChatPath, map[string]any{"prompt": "alice's secret"}, alice)
		if rec.Code != http.StatusOK {
			t.Fatalf("alice's chat = %d %s", rec.Code, rec.Body)
		}
		theirs := decode[ChatResult](t, rec).ConversationID
		missing := theirs + 1000
		calls := f.count()
		// problem is the answer's status, content type and body without instance (the path,
		// which names the ID asked for).
		problem := func(rec *httpResponse) (int, string, map[string]any) {
			var body map[string]any
			if err := json.Unmarshal(rec.body, &body); err != nil {
				t.Fatalf("not JSON: %s", rec.body)
			}
			delete(body, "instance")
			return rec.code, rec.contentType, body
		}
		for _, tc := range []struct {
			name   string
			method string
			path   func(id int64) string
			body   func(id int64) any
		}{
			{"read", http.MethodGet, func(id int64) string { return Prefix + "/conversations/" + strconv.FormatInt(id, 10) }, nil},
			{"delete", http.MethodDelete, func(id int64) string { return Prefix + "/conversations/" + strconv.FormatInt(id, 10) }, nil},
			{"continue", http.MethodPost, func(int64) string { return ChatPath }, func(id int64) any {
				return map[string]any{"prompt": "tell me", "conversation_id": id}
			}},
			{"continue streamed", http.MethodPost, func(int64) string { return ChatPath }, func(id int64) any {
				return map[string]any{"prompt": "tell me", "conversation_id": id, "stream": true}
			}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				ask := func(id int64) *httpResponse {
					var body any
					if tc.body != nil {
						body = tc.body(id)
					}
					rec := send(t, h, tc.method, tc.path(id), body, bob)
					return &httpResponse{code: rec.Code, contentType: rec.Header().Get("Content-Type"), body: rec.Body.Bytes()}
				}
				code, ct, body := problem(ask(theirs))
				mcode, mct, mbody := problem(ask(missing))
				if code != http.StatusNotFound || ct != "application/problem+json" {
					t.Errorf("another's conversation: %d %s %v, want a 404 problem", code, ct, body)
				}
				if code != mcode || ct != mct || !reflect.DeepEqual(body, mbody) {
					t.Errorf("another's conversation answers %d %s %v; a missing one %d %s %v", code, ct, body, mcode, mct, mbody)
				}
			})
		}
		if f.count() != calls {
			t.Error("bob's prompt in alice's conversation reached the provider")
		}
		c := decode[ConversationWithMessages](t, send(t, h, http.MethodGet, Prefix+"/conversations/"+strconv.FormatInt(theirs, 10), nil, alice))
		if len(c.Messages) != 2 || c.Messages[0].Content != "alice's secret" {
			t.Fatalf("alice's conversation after bob's tries: %+v", c.Messages)
		}
		// Bob's list is his own, whatever the query names.
		list := decode[struct{ Conversations []Conversation }](t, send(t, h, http.MethodGet, Prefix+"/conversations?user_id=alice&user=alice", nil, bob))
		if len(list.Conversations) != 0 {
			t.Fatalf("bob lists %+v", list.Conversations)
		}
	})
}

type httpResponse struct {
	code        int
	contentType string
	body        []byte
}

// TestUsageScope: a user's usage is their own whatever the query names; everyone's is for
// admins only, and a repeated all is refused (the backend's rule for every query parameter
// read from one value), never read as whichever value suits.
func TestUsageScope(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		f := newFakeOpenAI(t, fakeOK)
		_, h := setup(t, db, f, Settings{}, &Opts{Identity: headerIdentity{}})
		for _, u := range []string{"alice", "alice", "bob"} {
			if rec := send(t, h, http.MethodPost, ChatPath, map[string]any{"prompt": "hi"}, map[string]string{"X-Test-User": u}); rec.Code != http.StatusOK {
				t.Fatalf("%s's chat = %d %s", u, rec.Code, rec.Body)
			}
		}
		for _, tc := range []struct {
			user, query string
			want        int
			calls       int64
		}{
			{"bob", "", http.StatusOK, 1},
			{"bob", "?user=alice&user_id=alice", http.StatusOK, 1},
			{"bob", "?all=false", http.StatusOK, 1},
			{"bob", "?all=true", http.StatusForbidden, 0},
			{"bob", "?all=1", http.StatusForbidden, 0},
			{"bob", "?all=true&all=false", http.StatusUnprocessableEntity, 0},
			{"bob", "?all=false&all=true", http.StatusUnprocessableEntity, 0},
			{"bob", "?all=yes", http.StatusUnprocessableEntity, 0},
			{"alice", "", http.StatusOK, 2},
			{"admin", "", http.StatusOK, 0},
			{"admin", "?all=true", http.StatusOK, 3},
		} {
			rec := send(t, h, http.MethodGet, Prefix+"/usage"+tc.query, nil, map[string]string{"X-Test-User": tc.user})
			if rec.Code != tc.want {
				t.Errorf("%s %s = %d %s, want %d", tc.user, tc.query, rec.Code, rec.Body, tc.want)
				continue
			}
			if tc.want != http.StatusOK {
				if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
					t.Errorf("%s %s: Content-Type %q, want a problem", tc.user, tc.query, ct)
				}
				continue
			}
			if got := decode[UsageSummary](t, rec).Totals.Calls; got != tc.calls {
				t.Errorf("%s %s: %d calls, want %d", tc.user, tc.query, got, tc.calls)
			}
		}
	})
}

// TestMalformedInput: IDs that are not positive int64s and page sizes out of range are 422
// problems naming the parameter, never a 500 nor a lookup.
func TestMalformedInput(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		_, h := setup(t, db, newFakeOpenAI(t, fakeOK), Settings{}, &Opts{Identity: headerIdentity{}})
		bob := map[string]string{"X-Test-User": "bob"}
		for _, tc := range []struct {
			method, path string
			body         any
			in           string
		}{
			{http.MethodGet, "/conversations/abc", nil, "path.id"},
			{http.MethodGet, "/conversations/550e8400-e29b-41d4-a716-446655440000", nil, "path.id"},
			{http.MethodGet, "/conversations/0", nil, "path.id"},
			{http.MethodGet, "/conversations/-1", nil, "path.id"},
			{http.MethodGet, "/conversations/1e3", nil, "path.id"},
			{http.MethodGet, "/conversations/99999999999999999999", nil, "path.id"},
			{http.MethodDelete, "/conversations/abc", nil, "path.id"},
			{http.MethodGet, "/conversations?limit=100000", nil, "query.limit"},
			{http.MethodGet, "/conversations?limit=0", nil, "query.limit"},
			{http.MethodGet, "/conversations?limit=-1", nil, "query.limit"},
			{http.MethodGet, "/conversations?limit=abc", nil, "query.limit"},
			{http.MethodGet, "/conversations?before=-5", nil, "query.before"},
			{http.MethodGet, "/conversations?before=99999999999999999999", nil, "query.before"},
			{http.MethodGet, "/usage?from=2026-02-30", nil, "query.from"},
			{http.MethodGet, "/usage?to=26-1-1", nil, "query.to"},
			{http.MethodPost, "/chat", map[string]any{"prompt": "hi", "conversation_id": -1}, "body.conversation_id"},
			{http.MethodPost, "/chat", map[string]any{"prompt": "hi", "conversation_id": "1"}, "body.conversation_id"},
			{http.MethodPost, "/chat", map[string]any{"prompt": "hi", "conversation_id": 1.5}, "body.conversation_id"},
			{http.MethodPost, "/chat", map[string]any{"prompt": "hi", "max_tokens": -1}, "body.max_tokens"},
		} {
			rec := send(t, h, tc.method, Prefix+tc.path, tc.body, bob)
			if rec.Code != http.StatusUnprocessableEntity || rec.Header().Get("Content-Type") != "application/problem+json" || !strings.Contains(rec.Body.String(), `"location":"`+tc.in+`"`) {
				t.Errorf("%s %s %v = %d %s %s, want a 422 problem at %s", tc.method, tc.path, tc.body, rec.Code, rec.Header().Get("Content-Type"), rec.Body, tc.in)
			}
		}
		// The largest ID is a well-formed one: not found.
		if rec := send(t, h, http.MethodGet, Prefix+"/conversations/9223372036854775807", nil, bob); rec.Code != http.StatusNotFound {
			t.Errorf("the largest ID = %d %s, want 404", rec.Code, rec.Body)
		}
	})
}
