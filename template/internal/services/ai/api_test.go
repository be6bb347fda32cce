package ai

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/uptrace/bun"

	"github.com/aegisgo/aegis/template/internal/components/backend"
	"github.com/aegisgo/aegis/template/internal/components/database"
	"github.com/aegisgo/aegis/template/internal/components/database/databasetest"
	"github.com/aegisgo/aegis/template/internal/components/frontend/frontendtest"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
	"github.com/aegisgo/aegis/template/internal/runtime/tracing/tracingtest"
	"github.com/aegisgo/aegis/template/internal/services/httpclient"
)

// headerIdentity is an Identity for tests: the user is the X-Test-User header, checked by
// RequireUser; "admin" is an admin.
type headerIdentity struct{}

type testUserKey struct{}

func (headerIdentity) UserID(ctx context.Context) (string, bool) {
	u, ok := ctx.Value(testUserKey{}).(string)
	return u, ok
}

func (headerIdentity) IsAdmin(ctx context.Context) bool {
	u, _ := ctx.Value(testUserKey{}).(string)
	return u == "admin"
}

func (headerIdentity) RequireUser() func(huma.Context, func(huma.Context)) {
	return func(ctx huma.Context, next func(huma.Context)) {
		u := ctx.Header("X-Test-User")
		if u == "" {
			ctx.SetStatus(http.StatusUnauthorized)
			return
		}
		next(huma.WithValue(ctx, testUserKey{}, u))
	}
}

func (headerIdentity) RequireUserHTTP() func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			u := r.Header.Get("X-Test-User")
			if u == "" {
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), testUserKey{}, u)))
		})
	}
}

// setup is a service on db whose profiles use the fake provider f, and the app's handler.
func setup(t *testing.T, db *database.DB, f *fakeProvider, s Settings, opts *Opts) (*Service, http.Handler) {
	t.Helper()
	if opts == nil {
		opts = &Opts{}
	}
	if opts.Clients == nil {
		opts.Clients = testClients(t, 1)
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if f != nil {
		if s.Provider == "" {
			s.Provider, s.Model = ProviderOpenAI, "gpt-4o-mini"
		}
		s.OpenAIKey, s.OpenAIBaseURL = "sk-secret", f.srv.URL+"/v1"
		s.AnthropicKey, s.AnthropicBaseURL = "sk-ant-secret", f.srv.URL
		s.LocalBaseURL = f.srv.URL + "/v1"
	}
	svc, err := New(db, s, opts)
	if err != nil {
		t.Fatal(err)
	}
	h := frontendtest.Handler(t, nil, func(r *registry.Registry) error { return registry.Value(r, svc) })
	return svc, h
}

func send(t *testing.T, h http.Handler, method, path string, body any, header map[string]string) *httptest.ResponseRecorder {
	t.Helper()
	return frontendtest.Send(t, h, method, path, body, header)
}

func decode[T any](t *testing.T, rec *httptest.ResponseRecorder) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
		t.Fatalf("decode %s: %v", rec.Body.String(), err)
	}
	return v
}

// sseEvent is one Server-Sent Event.
type sseEvent struct {
	name string
	data string
}

func readEvents(t *testing.T, body string) []sseEvent {
	t.Helper()
	var out []sseEvent
	var cur sseEvent
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "event: "):
			cur.name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			cur.data = strings.TrimPrefix(line, "data: ")
		case line == "" && cur.name != "":
			out = append(out, cur)
			cur = sseEvent{}
		}
	}
	return out
}

func countRows(t *testing.T, db *database.DB, q string) int64 {
	t.Helper()
	var n int64
	if err := db.SQL().QueryRowContext(context.Background(), q).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestChatAPI: an answer as JSON and as SSE, stored in its conversation and recorded in the
// ledger with its cost; the conversation continues with its history.
func TestChatAPI(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		f := newFakeOpenAI(t, fakeOK)
		svc, h := setup(t, db, f, Settings{}, nil)

		rec := send(t, h, http.MethodPost, ChatPath, map[string]any{"prompt": "hi there"}, nil)
		if rec.Code != http.StatusOK {
			t.Fatalf("chat = %d %s", rec.Code, rec.Body)
		}
		res := decode[ChatResult](t, rec)
		if res.Content != "Hello, world" || res.ConversationID == 0 || res.Usage != (Usage{InputTokens: 12, OutputTokens: 3}) || res.CostUSD <= 0 || res.Profile != DefaultProfile {
			t.Fatalf("result = %+v", res)
		}

		// The same conversation, streamed: the history goes with the prompt.
		rec = send(t, h, http.MethodPost, ChatPath, map[string]any{"prompt": "again", "conversation_id": res.ConversationID, "stream": true}, nil)
		if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/event-stream") {
			t.Fatalf("stream = %d %s %s", rec.Code, rec.Header(), rec.Body)
		}
		events := readEvents(t, rec.Body.String())
		var text strings.Builder
		for _, e := range events[:len(events)-1] {
			if e.name != "delta" {
				t.Fatalf("event %q before the end", e.name)
			}
			var d DeltaEvent
			_ = json.Unmarshal([]byte(e.data), &d)
			text.WriteString(d.Text)
		}
		last := events[len(events)-1]
		var done ChatResult
		_ = json.Unmarshal([]byte(last.data), &done)
		if len(events) != 4 || text.String() != "Hello, world" || last.name != "done" || done.Usage != (Usage{InputTokens: 12, OutputTokens: 3}) || done.ConversationID != res.ConversationID {
			t.Fatalf("events = %+v", events)
		}
		body, _ := f.last()
		if msgs, _ := body["messages"].([]any); len(msgs) != 3 {
			t.Fatalf("sent %d messages, want the history (2) and the prompt", len(msgs))
		}

		rec = send(t, h, http.MethodGet, Prefix+"/conversations/"+jsonNumber(res.ConversationID), nil, nil)
		conv := decode[ConversationWithMessages](t, rec)
		if rec.Code != http.StatusOK || len(conv.Messages) != 4 || conv.Title != "hi there" || conv.Messages[3].Status != StatusComplete {
			t.Fatalf("conversation = %d %+v", rec.Code, conv)
		}
		if n := countRows(t, db, "SELECT COUNT(*) FROM ai_usage WHERE status = 'ok' AND input_tokens = 12 AND cost_usd > 0"); n != 2 {
			t.Fatalf("%d usage rows, want 2", n)
		}

		rec = send(t, h, http.MethodGet, Prefix+"/usage", nil, nil)
		usage := decode[UsageSummary](t, rec)
		if rec.Code != http.StatusOK || usage.Totals.Calls != 2 || usage.Totals.InputTokens != 24 {
			t.Fatalf("usage = %d %s", rec.Code, rec.Body)
		}
		_ = svc
	})
}

func jsonNumber(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// TestConversationsAPI: create, list, get and delete; another's or a missing one is 404.
func TestConversationsAPI(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		f := newFakeOpenAI(t, fakeOK)
		_, h := setup(t, db, f, Settings{}, &Opts{Identity: headerIdentity{}})
		alice, bob := map[string]string{"X-Test-User": "alice"}, map[string]string{"X-Test-User": "bob"}
		rec := send(t, h, http.MethodPost, Prefix+"/conversations", map[string]any{"title": "plans"}, alice)
		if rec.Code != http.StatusCreated {
			t.Fatalf("create = %d %s", rec.Code, rec.Body)
		}
		c := decode[Conversation](t, rec)
		if rec := send(t, h, http.MethodPost, ChatPath, map[string]any{"prompt": "hi", "conversation_id": c.ID}, alice); rec.Code != http.StatusOK {
			t.Fatalf("chat = %d %s", rec.Code, rec.Body)
		}
		list := decode[struct{ Conversations []Conversation }](t, send(t, h, http.MethodGet, Prefix+"/conversations", nil, alice))
		if len(list.Conversations) != 1 || list.Conversations[0].ID != c.ID {
			t.Fatalf("alice's list = %+v", list)
		}
		if list := decode[struct{ Conversations []Conversation }](t, send(t, h, http.MethodGet, Prefix+"/conversations", nil, bob)); len(list.Conversations) != 0 {
			t.Fatalf("bob sees %+v", list)
		}
		path := Prefix + "/conversations/" + jsonNumber(c.ID)
		for _, probe := range []struct {
			method string
			header map[string]string
			want   int
		}{
			{http.MethodGet, bob, http.StatusNotFound},
			{http.MethodDelete, bob, http.StatusNotFound},
			{http.MethodGet, nil, http.StatusUnauthorized},
			{http.MethodGet, alice, http.StatusOK},
			{http.MethodDelete, alice, http.StatusNoContent},
			{http.MethodGet, alice, http.StatusNotFound},
		} {
			if rec := send(t, h, probe.method, path, nil, probe.header); rec.Code != probe.want {
				t.Fatalf("%s %v = %d, want %d: %s", probe.method, probe.header, rec.Code, probe.want, rec.Body)
			}
		}
		if n := countRows(t, db, "SELECT COUNT(*) FROM ai_messages"); n != 0 {
			t.Fatalf("%d messages left after the delete", n)
		}
		// Bob may not continue Alice's conversation (nor a missing one).
		if rec := send(t, h, http.MethodPost, ChatPath, map[string]any{"prompt": "hi", "conversation_id": c.ID}, bob); rec.Code != http.StatusNotFound {
			t.Fatalf("chat in another's conversation = %d", rec.Code)
		}
	})
}

// TestBadInput: each mistake is an RFC 9457 problem that names no key, before anything is
// sent or stored.
func TestBadInput(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		f := newFakeOpenAI(t, fakeOK)
		_, h := setup(t, db, f, Settings{MaxPromptBytes: 100}, nil)
		for _, tc := range []struct {
			name string
			body any
			want int
			in   string
		}{
			{"empty", map[string]any{"prompt": "  "}, 422, "body.prompt"},
			{"oversized", map[string]any{"prompt": strings.Repeat("x", 101)}, 422, `"location":"body.prompt"`},
			// Bytes, not characters: 50 é and an x are 101 bytes.
			{"oversized by a byte", map[string]any{"prompt": strings.Repeat("é", 50) + "x"}, 422, `"message":"is 101 bytes; send at most 100 (AI_MAX_PROMPT_BYTES)","location":"body.prompt"`},
			// The system prompt over the limit used to be reported at body.prompt.
			{"oversized system", map[string]any{"prompt": "hi", "system": strings.Repeat("x", 101)}, 422, `"errors":[{"message":"is 101 bytes; send at most 100 (AI_MAX_PROMPT_BYTES)","location":"body.system"`},
			{"unknown model", map[string]any{"prompt": "hi", "model": "gpt-9"}, 422, "body.model"},
			{"not JSON", "{", 400, ""},
			// encoding/json made bytes that are not UTF-8 U+FFFD: a Latin-1 prompt was answered
			// and stored as other text than the client sent.
			{"prompt not UTF-8", "{\"prompt\":\"caf\xe9\"}", 400, `"message":"must be valid UTF-8; send the text encoded as UTF-8","location":"body.prompt"`},
			{"system not UTF-8", "{\"prompt\":\"hi\",\"system\":\"\xff\"}", 400, `"location":"body.system"`},
			// Neither database stores a NUL: it failed as a 500 once the prompt was stored.
			{"NUL in prompt", map[string]any{"prompt": "h\x00i"}, 422, `"message":"must not contain NUL characters (U+0000); remove them","location":"body.prompt"`},
			{"NUL in system", map[string]any{"prompt": "hi", "system": "a\x00"}, 422, `"location":"body.system"`},
		} {
			rec := send(t, h, http.MethodPost, ChatPath, tc.body, nil)
			if rec.Code != tc.want || !strings.Contains(rec.Header().Get("Content-Type"), "problem+json") || !strings.Contains(rec.Body.String(), tc.in) {
				t.Errorf("%s: %d %s %s", tc.name, rec.Code, rec.Header().Get("Content-Type"), rec.Body)
			}
		}
		if rec := send(t, h, http.MethodPost, Prefix+"/conversations", map[string]any{"title": "a\x00b"}, nil); rec.Code != http.StatusUnprocessableEntity || !strings.Contains(rec.Body.String(), `"location":"body.title"`) {
			t.Errorf("NUL in title: %d %s", rec.Code, rec.Body)
		}
		if f.count() != 0 || countRows(t, db, "SELECT COUNT(*) FROM ai_messages") != 0 || countRows(t, db, "SELECT COUNT(*) FROM ai_conversations") != 0 {
			t.Fatal("a refused request reached the provider or the database")
		}
		// At the limit exactly, prompt and system prompt are answered.
		at := strings.Repeat("é", 50)
		if rec := send(t, h, http.MethodPost, ChatPath, map[string]any{"prompt": at, "system": at}, nil); rec.Code != http.StatusOK {
			t.Errorf("at the limit: %d %s", rec.Code, rec.Body)
		}
	})
}

// TestUsageDates: a bad date or range of GET /usage is a 422 whose detail and errors
// entry say how to write it.
func TestUsageDates(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		_, h := setup(t, db, newFakeOpenAI(t, fakeOK), Settings{}, nil)
		for _, tc := range []struct{ query, at, msg string }{
			{"?from=2026-13-01", "query.from", usageDateMessage},
			{"?to=2026-02-30", "query.to", usageDateMessage},
			// Not even the shape of a date: the schema's pattern refuses it before the
			// handler, and said only "must match the pattern ^\\d{4}-...".
			{"?from=yesterday", "query.from", usageDateMessage},
			{"?to=2026-12-07T00:00:00Z", "query.to", usageDateMessage},
			{"?from=2026-12-09&to=2026-12-01", "query.from", "must be on or before to"},
			{"?from=2024-01-01&to=2026-01-01", "query.from", "at most 366 days"},
		} {
			rec := send(t, h, http.MethodGet, Prefix+"/usage"+tc.query, nil, nil)
			var p struct {
				Detail string
				Errors []struct{ Message, Location string }
			}
			_ = json.Unmarshal(rec.Body.Bytes(), &p)
			if rec.Code != http.StatusUnprocessableEntity || len(p.Errors) != 1 || p.Errors[0].Location != tc.at ||
				!strings.Contains(p.Errors[0].Message, tc.msg) || !strings.Contains(p.Detail, tc.at+": ") || !strings.Contains(p.Detail, tc.msg) {
				t.Errorf("%s: %d %s; want a 422 at %s saying %q", tc.query, rec.Code, rec.Body, tc.at, tc.msg)
			}
		}
	})
}

// TestProviderFailures: a provider's refusal is a problem without its body or the key; a
// stream cut short ends with an error event, its partial answer stored as such and its
// usage recorded.
func TestProviderFailures(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		for _, tc := range []struct {
			mode string
			want int
		}{{fake401, 502}, {fake429, 503}, {fake500, 502}, {fakeNoModel, 422}} {
			f := newFakeOpenAI(t, tc.mode)
			_, h := setup(t, db, f, Settings{}, nil)
			rec := send(t, h, http.MethodPost, ChatPath, map[string]any{"prompt": "hi"}, nil)
			if rec.Code != tc.want || strings.Contains(rec.Body.String(), "secret") || strings.Contains(rec.Body.String(), f.srv.URL) {
				t.Fatalf("%s: %d %s", tc.mode, rec.Code, rec.Body)
			}
			// The problem names the conversation the prompt was kept in, and it holds it.
			var p struct {
				ConversationID int64 `json:"conversation_id"`
			}
			_ = json.Unmarshal(rec.Body.Bytes(), &p)
			// Written after huma's transformers, it still has what the API's other problems have.
			if !strings.Contains(rec.Body.String(), `"instance":"`+ChatPath+`"`) || rec.Header().Get("X-Content-Type-Options") != "nosniff" ||
				rec.Header().Get("Content-Type") != "application/problem+json" {
				t.Fatalf("%s: problem without instance or nosniff: %v %s", tc.mode, rec.Header(), rec.Body)
			}
			if tc.mode == fake429 && rec.Header().Get("Retry-After") == "" {
				t.Fatalf("%s: the problem lost its Retry-After header", tc.mode)
			}
			// A model the provider does not know is the operator's to fix: the problem says
			// where (it said only "does not know the model of this profile").
			if tc.mode == fakeNoModel && (!strings.Contains(rec.Body.String(), "AI_MODEL or AI_PROFILES") || !strings.Contains(rec.Body.String(), "_BASE_URL")) {
				t.Fatalf("%s: the problem does not say which settings to check: %s", tc.mode, rec.Body)
			}
			conv := send(t, h, http.MethodGet, Prefix+"/conversations/"+strconv.FormatInt(p.ConversationID, 10), nil, nil)
			if p.ConversationID == 0 || conv.Code != http.StatusOK || !strings.Contains(conv.Body.String(), `"content":"hi"`) {
				t.Fatalf("%s: conversation %d: %d %s", tc.mode, p.ConversationID, conv.Code, conv.Body)
			}
			rec = send(t, h, http.MethodPost, ChatPath, map[string]any{"prompt": "hi", "stream": true}, nil)
			events := readEvents(t, rec.Body.String())
			if len(events) != 1 || events[0].name != "error" || !strings.Contains(events[0].data, `"status":`+jsonNumber(int64(tc.want))) ||
				!strings.Contains(events[0].data, `"instance":"`+ChatPath+`"`) {
				t.Fatalf("%s stream: %+v", tc.mode, events)
			}
		}
		if n := countRows(t, db, "SELECT COUNT(*) FROM ai_usage WHERE status = 'error' AND error <> ''"); n != 8 {
			t.Fatalf("%d failed calls recorded, want 8", n)
		}

		f := newFakeOpenAI(t, fakeCut)
		_, h := setup(t, db, f, Settings{}, nil)
		rec := send(t, h, http.MethodPost, ChatPath, map[string]any{"prompt": "tell me", "stream": true}, nil)
		events := readEvents(t, rec.Body.String())
		last := events[len(events)-1]
		var ev ErrorEvent
		_ = json.Unmarshal([]byte(last.data), &ev)
		if last.name != "error" || !ev.Partial || ev.ConversationID == 0 || ev.Status != 502 {
			t.Fatalf("events = %+v", events)
		}
		if n := countRows(t, db, "SELECT COUNT(*) FROM ai_messages WHERE status = 'partial' AND content = 'Hello, '"); n != 1 {
			t.Fatal("the partial answer was not stored as partial")
		}
		if n := countRows(t, db, "SELECT COUNT(*) FROM ai_usage WHERE status = 'error' AND output_tokens > 0"); n != 1 {
			t.Fatal("the usage of the partial answer was not recorded")
		}
	})
}

// TestStreamErrorEvent: Anthropic's error event mid-stream (overloaded_error after some text)
// reaches the client as an error event naming the reason, temporary (503 with retry_after, as
// a rate limit: the API is out of capacity, not failing), the partial answer is kept in its
// conversation with status partial, and the call is in the ledger.
func TestStreamErrorEvent(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		f := newFakeAnthropic(t, fakeOverloaded)
		svc, h := setup(t, db, f, Settings{Provider: ProviderAnthropic, Model: "claude-sonnet-4-5"}, nil)
		rec := send(t, h, http.MethodPost, ChatPath, map[string]any{"prompt": "tell me", "stream": true}, nil)
		events := readEvents(t, rec.Body.String())
		if len(events) != 3 || events[0].name != "delta" || events[1].name != "delta" {
			t.Fatalf("events = %+v, want two deltas then an error", events)
		}
		last := events[len(events)-1]
		var ev ErrorEvent
		if err := json.Unmarshal([]byte(last.data), &ev); err != nil {
			t.Fatal(err)
		}
		if last.name != "error" || !ev.Partial || ev.ConversationID == 0 || ev.Status != http.StatusServiceUnavailable || ev.RetryAfter != int64(DefaultRetryAfter/time.Second) || !strings.Contains(ev.Detail, "overloaded") {
			t.Fatalf("error event = %s %+v", last.name, ev)
		}
		_, msgs, err := svc.Conversation(t.Context(), ev.ConversationID)
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) != 2 || msgs[1].Role != RoleAssistant || msgs[1].Content != "Hello, " || msgs[1].Status != StatusPartial {
			t.Fatalf("conversation messages = %+v, want the prompt and the partial answer", msgs)
		}
		if n := countRows(t, db, "SELECT COUNT(*) FROM ai_usage WHERE provider = 'anthropic' AND status = 'error' AND error LIKE '%overloaded%'"); n != 1 {
			t.Fatalf("%d ledger rows for the overloaded call, want 1", n)
		}
	})
}

// TestAnthropicOverloaded: Anthropic's 529 before any answer is temporary, like a rate limit:
// 503 with Retry-After (JSON) or retry_after (stream), not a 502 the client would not retry.
func TestAnthropicOverloaded(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		f := newFakeAnthropic(t, fake529)
		_, h := setup(t, db, f, Settings{Provider: ProviderAnthropic, Model: "claude-sonnet-4-5"}, nil)
		for _, stream := range []bool{false, true} {
			rec := send(t, h, http.MethodPost, ChatPath, map[string]any{"prompt": "hi", "stream": stream}, nil)
			status, detail, retry := rec.Code, rec.Body.String(), rec.Header().Get("Retry-After")
			if stream {
				events := readEvents(t, rec.Body.String())
				var ev ErrorEvent
				if len(events) != 1 || events[0].name != "error" || json.Unmarshal([]byte(events[0].data), &ev) != nil {
					t.Fatalf("stream: events = %+v", events)
				}
				status, detail, retry = ev.Status, ev.Detail, strconv.FormatInt(ev.RetryAfter, 10)
			}
			if status != http.StatusServiceUnavailable || retry != "30" || !strings.Contains(detail, "overloaded") {
				t.Fatalf("stream=%v: %d, Retry-After %q, %s", stream, status, retry, detail)
			}
		}
	})
}

// TestContextTooLong: a prompt longer, with its history, than the model's context window is
// told as such (shorten it or start a new conversation), not as any invalid request, and is
// the caller's to fix: 422 like an oversized prompt, not 502.
func TestContextTooLong(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		for _, tc := range []struct {
			name string
			f    *fakeProvider
			s    Settings
		}{
			{"anthropic", newFakeAnthropic(t, fakeTooLong), Settings{Provider: ProviderAnthropic, Model: "claude-sonnet-4-5"}},
			{"openai", newFakeOpenAI(t, fakeTooLong), Settings{}},
		} {
			_, h := setup(t, db, tc.f, tc.s, nil)
			rec := send(t, h, http.MethodPost, ChatPath, map[string]any{"prompt": "hi"}, nil)
			if rec.Code != http.StatusUnprocessableEntity || !strings.Contains(rec.Body.String(), "longer than the model's context window; shorten the prompt or start a new conversation") {
				t.Errorf("%s: %d %s", tc.name, rec.Code, rec.Body)
			}
		}
	})
}

// TestUsageCostRounded: the usage API's costs are sums of floats; they come out as the cents
// they are (0.6), not 0.6000000000000001, per row and in the totals.
func TestUsageCostRounded(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		svc, h := setup(t, db, newFakeOpenAI(t, fakeOK), Settings{}, nil)
		day := time.Now().UTC().Format(time.DateOnly)
		for _, c := range []float64{0.1, 0.2, 0.1, 0.2} {
			if err := svc.store.recordUsage(t.Context(), &UsageRecord{At: time.Now(), Day: day, Kind: "chat", Profile: "default", Provider: ProviderOpenAI, Model: "gpt-4o-mini", CostUSD: c, Priced: true, Status: "ok"}); err != nil {
				t.Fatal(err)
			}
		}
		rec := send(t, h, http.MethodGet, Prefix+"/usage", nil, nil)
		if body := rec.Body.String(); rec.Code != http.StatusOK || !strings.Contains(body, `"cost_usd":0.6,`) || strings.Contains(body, "00000") || strings.Contains(body, "99999") {
			t.Fatalf("usage = %d %s", rec.Code, body)
		}
	})
}

// TestConversationKeepsProfile: a conversation created with a profile goes on with it when a
// prompt names no model (it went to the default profile); a prompt naming one still wins.
func TestConversationKeepsProfile(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		f := newFakeAnthropic(t, fakeOK)
		_, h := setup(t, db, f, Settings{Provider: ProviderAnthropic, Model: "claude-sonnet-4-5", Profiles: "cheap=anthropic/claude-haiku-4-5"}, nil)
		conv := decode[Conversation](t, send(t, h, http.MethodPost, Prefix+"/conversations", map[string]any{"title": "t", "model": "cheap"}, nil))
		for _, tc := range []struct{ model, want string }{{"", "claude-haiku-4-5"}, {"default", "claude-sonnet-4-5"}} {
			rec := send(t, h, http.MethodPost, ChatPath, map[string]any{"prompt": "hi", "conversation_id": conv.ID, "model": tc.model}, nil)
			body, _ := f.last()
			if rec.Code != http.StatusOK || body["model"] != tc.want {
				t.Errorf("model %q: %d, sent to %v, want %s", tc.model, rec.Code, body["model"], tc.want)
			}
		}
	})
}

// TestStreamCancelled: a client that goes away mid-stream cancels the provider call; what
// arrived is stored as partial and the call recorded as cancelled.
func TestStreamCancelled(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		f := newFakeOpenAI(t, fakeSlow)
		_, h := setup(t, db, f, Settings{}, nil)
		srv := httptest.NewServer(h)
		defer srv.Close()
		ctx, cancel := context.WithCancel(t.Context())
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+ChatPath, strings.NewReader(`{"prompt":"go on","stream":true}`))
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		rd := bufio.NewReader(resp.Body)
		for {
			line, err := rd.ReadString('\n')
			if err != nil {
				t.Fatal(err)
			}
			if strings.HasPrefix(line, "event: delta") {
				break
			}
		}
		cancel()
		resp.Body.Close()
		select {
		case <-f.gone:
		case <-time.After(5 * time.Second):
			t.Fatal("the provider call went on after the client left")
		}
		// The handler records both after the client left, in its own time.
		for what, q := range map[string]string{
			"the cancelled call was not recorded": "SELECT COUNT(*) FROM ai_usage WHERE status = 'cancelled'",
			"the partial answer was not stored":   "SELECT COUNT(*) FROM ai_messages WHERE status = 'partial'",
		} {
			deadline := time.Now().Add(5 * time.Second)
			for countRows(t, db, q) != 1 {
				if time.Now().After(deadline) {
					t.Fatal(what)
				}
				time.Sleep(10 * time.Millisecond)
			}
		}
	})
}

// TestStreamOutlivesBodyDeadline: a stream runs past huma's 5 s body-read deadline. Left on
// the connection, net/http's background read would fail when it passes and cancel the
// request's context, cutting every answer longer than 5 s; the backend keeps it off once the
// body is read (backend's TestLongHandlers).
// Over real TCP (a recorder has no deadlines) on SQLite only: it takes 6 s by nature.
func TestStreamOutlivesBodyDeadline(t *testing.T) {
	if testing.Short() {
		t.Skip("takes 6 s")
	}
	t.Parallel()
	db := databasetest.New(t, database.SQLite)
	f := newFakeOpenAI(t, fakeSlow) // a word every 20 ms for 10 s
	_, h := setup(t, db, f, Settings{}, nil)
	srv := httptest.NewServer(h)
	defer srv.Close()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+ChatPath, strings.NewReader(`{"prompt":"go on","stream":true}`))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	rd := bufio.NewReader(resp.Body)
	for until := time.Now().Add(6 * time.Second); time.Now().Before(until); {
		line, err := rd.ReadString('\n')
		if err != nil || strings.HasPrefix(line, "event: error") {
			t.Fatalf("the stream ended before 6 s: %q, %v", line, err)
		}
	}
}

// TestQuota: a user past AI_DAILY_TOKEN_QUOTA gets 429 with Retry-After, before the provider
// is called; others are not affected, and an admin may read everyone's usage.
func TestQuota(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		f := newFakeOpenAI(t, fakeOK)
		_, h := setup(t, db, f, Settings{DailyTokenQuota: 15}, &Opts{Identity: headerIdentity{}, Now: middayClock()})
		alice := map[string]string{"X-Test-User": "alice"}
		if rec := send(t, h, http.MethodPost, ChatPath, map[string]any{"prompt": "hi"}, alice); rec.Code != http.StatusOK {
			t.Fatalf("first = %d %s", rec.Code, rec.Body)
		}
		rec := send(t, h, http.MethodPost, ChatPath, map[string]any{"prompt": "hi", "stream": true}, alice)
		if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") == "" || !strings.Contains(rec.Body.String(), "quota") {
			t.Fatalf("over quota = %d %s", rec.Code, rec.Body)
		}
		if f.count() != 1 {
			t.Fatalf("%d provider calls, want 1", f.count())
		}
		if rec := send(t, h, http.MethodPost, ChatPath, map[string]any{"prompt": "hi"}, map[string]string{"X-Test-User": "bob"}); rec.Code != http.StatusOK {
			t.Fatalf("bob = %d", rec.Code)
		}
		if rec := send(t, h, http.MethodGet, Prefix+"/usage?all=true", nil, alice); rec.Code != http.StatusForbidden {
			t.Fatalf("alice reads everyone's usage: %d", rec.Code)
		}
		u := decode[UsageSummary](t, send(t, h, http.MethodGet, Prefix+"/usage?all=true", nil, map[string]string{"X-Test-User": "admin"}))
		if u.Totals.Calls != 2 {
			t.Fatalf("everyone's usage = %+v", u)
		}
		u = decode[UsageSummary](t, send(t, h, http.MethodGet, Prefix+"/usage", nil, alice))
		if u.Totals.Calls != 1 {
			t.Fatalf("alice's usage = %+v", u)
		}
	})
}

// middayClock is a clock that runs from noon UTC of today: a test whose calls count against a
// daily quota would see the quota renewed between them if they straddled midnight.
func middayClock() func() time.Time {
	start := time.Now()
	noon := start.UTC().Truncate(24 * time.Hour).Add(12 * time.Hour)
	return func() time.Time { return noon.Add(time.Since(start)) }
}

// TestNotConfigured: without a provider the service starts, its health says how to fix it,
// and the endpoints answer 503 with the same hint.
func TestNotConfigured(t *testing.T) {
	db := databasetest.New(t, database.SQLite)
	svc, h := setup(t, db, nil, Settings{}, nil)
	hl := svc.CheckHealth(t.Context())
	if hl.Status != registry.StatusDegraded || !strings.Contains(hl.Message, "not configured") || !strings.Contains(hl.Message, "AI_PROVIDER") {
		t.Fatalf("health = %+v", hl)
	}
	for _, path := range []string{ChatPath, Prefix + "/conversations"} {
		rec := send(t, h, http.MethodPost, path, map[string]any{"prompt": "hi"}, nil)
		if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), "AI_PROVIDER") {
			t.Fatalf("%s = %d %s", path, rec.Code, rec.Body)
		}
	}
	if rec := send(t, h, http.MethodGet, Prefix+"/profiles", nil, nil); rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("profiles = %d %s", rec.Code, rec.Body)
	}
	// What the app itself keeps stays readable while no provider is configured.
	for _, path := range []string{Prefix + "/conversations", Prefix + "/usage"} {
		if rec := send(t, h, http.MethodGet, path, nil, nil); rec.Code != http.StatusOK {
			t.Fatalf("GET %s = %d %s", path, rec.Code, rec.Body)
		}
	}
	if rec := send(t, h, http.MethodGet, Prefix+"/conversations/7", nil, nil); rec.Code != http.StatusNotFound {
		t.Fatalf("GET a missing conversation = %d %s", rec.Code, rec.Body)
	}
}

// TestAccessToken: without the auth service, AI_ACCESS_TOKEN guards the endpoints; in
// production an empty one refuses them.
func TestAccessToken(t *testing.T) {
	db := databasetest.New(t, database.SQLite)
	f := newFakeOpenAI(t, fakeOK)
	_, h := setup(t, db, f, Settings{AccessToken: "tok-0123456789"}, nil)
	if rec := send(t, h, http.MethodGet, Prefix+"/profiles", nil, nil); rec.Code != http.StatusUnauthorized {
		t.Fatalf("no token = %d", rec.Code)
	}
	rec := send(t, h, http.MethodGet, Prefix+"/profiles", nil, map[string]string{"Authorization": "Bearer tok-0123456789"})
	if rec.Code != http.StatusOK || strings.Contains(rec.Body.String(), "secret") {
		t.Fatalf("token = %d %s", rec.Code, rec.Body)
	}
	_, h = setup(t, db, newFakeOpenAI(t, fakeOK), Settings{}, &Opts{Production: true})
	if rec := send(t, h, http.MethodGet, Prefix+"/profiles", nil, nil); rec.Code != http.StatusForbidden {
		t.Fatalf("production without a token = %d", rec.Code)
	}
}

// TestOpenAPI: the chat endpoint documents both answers.
func TestOpenAPI(t *testing.T) {
	db := databasetest.New(t, database.SQLite)
	_, h := setup(t, db, newFakeOpenAI(t, fakeOK), Settings{}, nil)
	rec := send(t, h, http.MethodGet, "/openapi.json", nil, nil)
	var doc struct {
		Paths map[string]map[string]struct {
			Responses map[string]struct {
				Content map[string]any `json:"content"`
			} `json:"responses"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	content := doc.Paths[ChatPath]["post"].Responses["200"].Content
	if content["application/json"] == nil || content["text/event-stream"] == nil {
		t.Fatalf("POST %s documents %v", ChatPath, content)
	}
	for _, p := range []string{Prefix + "/conversations", Prefix + "/conversations/{id}", Prefix + "/usage"} {
		if doc.Paths[p] == nil {
			t.Errorf("%s is not documented", p)
		}
	}
}

// TestCallSpan: with a tracer provider installed, a provider call is a client span named
// after the model, with the tokens it used. It sets OpenTelemetry's global: not parallel.
func TestCallSpan(t *testing.T) {
	rec := tracingtest.Install(t)
	db := databasetest.New(t, database.SQLite)
	f := newFakeOpenAI(t, fakeOK)
	_, h := setup(t, db, f, Settings{}, nil)
	if r := send(t, h, http.MethodPost, ChatPath, map[string]any{"prompt": "hi"}, nil); r.Code != http.StatusOK {
		t.Fatalf("chat: %d %s", r.Code, r.Body)
	}
	var span tracingtest.Span
	for _, s := range rec.Spans() {
		if strings.HasPrefix(s.Name, "chat ") {
			span = s
		}
	}
	if !span.Ended || span.Attrs["gen_ai.usage.input_tokens"].AsInt64() != 12 || span.Attrs["gen_ai.usage.output_tokens"].AsInt64() != 3 ||
		span.Attrs["gen_ai.system"].AsString() == "" {
		t.Errorf("the call's span: %+v", span)
	}
}

// panicProvider panics in the middle of an answer.
type panicProvider struct{ Provider }

func (panicProvider) Kind() string { return ProviderOpenAI }

func (panicProvider) Stream(context.Context, Request, func(string) error) (*Response, error) {
	panic("provider bug")
}

// TestStreamPanicReachesRecoverer: the answer is read on a goroutine of its own
// (chatApart); a panic there must reach the handler's recoverer, which cuts the response
// short (its headers are out), rather than end the process.
func TestStreamPanicReachesRecoverer(t *testing.T) {
	db := databasetest.New(t, database.SQLite)
	_, h := setup(t, db, nil, Settings{Provider: ProviderOpenAI, Model: "gpt-4o-mini", OpenAIKey: "sk-secret"},
		&Opts{Providers: map[string]Provider{ProviderOpenAI: panicProvider{}}})
	req := httptest.NewRequest(http.MethodPost, ChatPath, strings.NewReader(`{"prompt":"hi","stream":true}`))
	req.Header.Set("Content-Type", "application/json")
	got := func() (v any) {
		defer func() { v = recover() }()
		h.ServeHTTP(httptest.NewRecorder(), req)
		return nil
	}()
	if got != http.ErrAbortHandler {
		t.Fatalf("recovered %v, want http.ErrAbortHandler from the recoverer", got)
	}
}

// TestStreamErrorPartial: a stream's error event says partial only when part of an answer
// arrived and was stored; a refusal before any text (the key refused, a 5xx) used to say
// partial: true with nothing stored.
func TestStreamErrorPartial(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		for _, tc := range []struct {
			mode    string
			partial bool
		}{{fake401, false}, {fake500, false}, {fakeNoModel, false}, {fakeCut, true}} {
			f := newFakeOpenAI(t, tc.mode)
			_, h := setup(t, db, f, Settings{}, nil)
			rec := send(t, h, http.MethodPost, ChatPath, map[string]any{"prompt": "hi", "stream": true}, nil)
			events := readEvents(t, rec.Body.String())
			last := events[len(events)-1]
			var ev ErrorEvent
			_ = json.Unmarshal([]byte(last.data), &ev)
			if last.name != "error" || ev.Partial != tc.partial || ev.ConversationID == 0 {
				t.Errorf("%s: last event %s %s, want an error with partial %v", tc.mode, last.name, last.data, tc.partial)
			}
			var msgs []StoredMessage
			if err := db.Bun().NewSelect().Model(&msgs).Where("conversation_id = ?", ev.ConversationID).Where("role = ?", RoleAssistant).Scan(t.Context()); err != nil {
				t.Fatal(err)
			}
			if stored := len(msgs) == 1 && msgs[0].Status == StatusPartial; stored != tc.partial {
				t.Errorf("%s: stored answers %+v, want a partial one: %v", tc.mode, msgs, tc.partial)
			}
		}
	})
}

// TestRetryAfter: a provider's rate limit is a 503 whose Retry-After, detail and stream error
// event carry the provider's Retry-After (bounded to 1 s .. 1 h, 30 s when it sent none;
// always 30 before), also after the outbound client retried. A Retry-After longer than the
// client's HTTP_CLIENT_MAX_DELAY is passed on at once, not waited for (the user waited for
// retries bound to be refused before getting the 503).
func TestRetryAfter(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		for _, tc := range []struct {
			name         string
			anthropic    bool
			retryAfter   string
			retryAfterMs string
			attempts     int
			calls        int // the provider's, when not 1
			want         string
		}{
			{name: "openai 7", retryAfter: "7", want: "7"},
			{name: "anthropic 7", anthropic: true, retryAfter: "7", want: "7"},
			{name: "retried first", retryAfter: "0", attempts: 2, calls: 2, want: "1"},
			// 7 s is more than the client's MaxDelay (10 ms here): no retry.
			{name: "longer than the client waits", retryAfter: "7", attempts: 3, want: "7"},
			{name: "none", retryAfter: "none", want: "30"},
			{name: "zero", retryAfter: "0", want: "1"},
			{name: "a day", retryAfter: "86400", want: "3600"},
			{name: "garbage", retryAfter: "soon", want: "30"},
			{name: "milliseconds", retryAfter: "none", retryAfterMs: "2500", want: "3"},
			{name: "http date", retryAfter: time.Now().Add(time.Hour + time.Minute).UTC().Format(http.TimeFormat), want: "3600"},
		} {
			f, s := newFakeOpenAI(t, fake429), Settings{}
			if tc.anthropic {
				f, s = newFakeAnthropic(t, fake429), Settings{Provider: ProviderAnthropic, Model: "claude-sonnet-4-5"}
			}
			f.retryAfter, f.retryAfterMs = tc.retryAfter, tc.retryAfterMs
			_, h := setup(t, db, f, s, &Opts{Clients: testClients(t, max(tc.attempts, 1))})
			rec := send(t, h, http.MethodPost, ChatPath, map[string]any{"prompt": "hi"}, nil)
			p := decode[ErrorEvent](t, rec)
			if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") != tc.want || !strings.Contains(p.Detail, "retry in "+tc.want+" second") {
				t.Errorf("%s: %d Retry-After %q %+v, want 503 and %s", tc.name, rec.Code, rec.Header().Get("Retry-After"), p, tc.want)
			}
			if want := max(tc.calls, 1); f.count() != want {
				t.Errorf("%s: %d calls, want %d", tc.name, f.count(), want)
			}
			rec = send(t, h, http.MethodPost, ChatPath, map[string]any{"prompt": "hi", "stream": true}, nil)
			events := readEvents(t, rec.Body.String())
			var ev ErrorEvent
			if len(events) == 1 {
				_ = json.Unmarshal([]byte(events[0].data), &ev)
			}
			if len(events) != 1 || events[0].name != "error" || ev.Status != http.StatusServiceUnavailable || strconv.FormatInt(ev.RetryAfter, 10) != tc.want {
				t.Errorf("%s stream: %+v", tc.name, events)
			}
		}
	})
}

// TestBreakerOpen: a call refused by the provider's open circuit breaker is a 503 saying it
// is temporary, with the time before the breaker lets a call through in Retry-After (it was a
// 502 without Retry-After); nothing reaches the provider.
func TestBreakerOpen(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		// The breaker opens after one failure and stays open 42 s.
		f := newFakeOpenAI(t, fake500)
		hc, err := httpclient.NewClients(httpclient.Settings{MaxAttempts: 1, BreakerFailures: 1, BreakerCooldown: 42 * time.Second}, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, h := setup(t, db, f, Settings{}, &Opts{Clients: hc})
		if rec := send(t, h, http.MethodPost, ChatPath, map[string]any{"prompt": "hi"}, nil); rec.Code != http.StatusBadGateway {
			t.Fatalf("the failure that opens the breaker: %d %s", rec.Code, rec.Body)
		}
		rec := send(t, h, http.MethodPost, ChatPath, map[string]any{"prompt": "hi"}, nil)
		p := decode[ErrorEvent](t, rec)
		if ra, _ := strconv.Atoi(rec.Header().Get("Retry-After")); rec.Code != http.StatusServiceUnavailable || ra < 40 || ra > 42 ||
			!strings.Contains(p.Detail, "circuit breaker open") || !strings.Contains(p.Detail, "temporary") || p.ConversationID == 0 {
			t.Fatalf("breaker open: %d Retry-After %q %+v", rec.Code, rec.Header().Get("Retry-After"), p)
		}
		if f.count() != 1 {
			t.Fatalf("%d calls reached the provider, want 1", f.count())
		}
		rec = send(t, h, http.MethodPost, ChatPath, map[string]any{"prompt": "hi", "stream": true}, nil)
		events := readEvents(t, rec.Body.String())
		var ev ErrorEvent
		if len(events) == 1 {
			_ = json.Unmarshal([]byte(events[0].data), &ev)
		}
		if len(events) != 1 || ev.Status != http.StatusServiceUnavailable || ev.RetryAfter < 40 || ev.RetryAfter > 42 {
			t.Fatalf("breaker open, stream: %+v", events)
		}
	})
}

// TestCancelledBeforeAnswer: a chat whose client goes away before any answer, JSON or
// stream, is recorded as cancelled with the prompt's estimated input tokens (the prompt was
// sent; a JSON chat recorded 0 tokens), so the quota counts it; no output is estimated.
func TestCancelledBeforeAnswer(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		prompt := strings.Repeat("a long prompt ", 40) // 560 bytes: about 141 tokens
		for i, stream := range []bool{false, true} {
			f := newFakeOpenAI(t, fakeHang)
			_, h := setup(t, db, f, Settings{}, nil)
			srv := httptest.NewServer(h)
			ctx, cancel := context.WithCancel(t.Context())
			body, _ := json.Marshal(map[string]any{"prompt": prompt, "stream": stream})
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+ChatPath, strings.NewReader(string(body)))
			req.Header.Set("Content-Type", "application/json")
			done := make(chan struct{})
			go func() {
				defer close(done)
				if resp, err := http.DefaultClient.Do(req); err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			}()
			for f.count() == 0 {
				time.Sleep(5 * time.Millisecond)
			}
			cancel()
			<-done
			select {
			case <-f.gone:
			case <-time.After(5 * time.Second):
				t.Fatalf("stream %v: the provider call went on after the client left", stream)
			}
			q := "SELECT COUNT(*) FROM ai_usage WHERE status = 'cancelled' AND input_tokens = 141 AND output_tokens = 0 AND provider = 'openai'"
			deadline := time.Now().Add(5 * time.Second)
			for countRows(t, db, q) != int64(i+1) {
				if time.Now().After(deadline) {
					t.Fatalf("stream %v: the cancelled call was not recorded with its input tokens (%d cancelled rows)", stream,
						countRows(t, db, "SELECT COUNT(*) FROM ai_usage WHERE status = 'cancelled'"))
				}
				time.Sleep(10 * time.Millisecond)
			}
			srv.Close()
		}
	})
}

// TestTimedOutBeforeAnswer: a call that reaches AI_TIMEOUT before any answer sent its prompt
// all the same: it is recorded with the prompt's estimated input tokens (it was 0), so the
// quota counts it.
func TestTimedOutBeforeAnswer(t *testing.T) {
	db := databasetest.New(t, database.SQLite)
	f := newFakeOpenAI(t, fakeHang)
	_, h := setup(t, db, f, Settings{Timeout: 200 * time.Millisecond}, nil)
	prompt := strings.Repeat("a long prompt ", 40) // 560 bytes: about 141 tokens
	if rec := send(t, h, http.MethodPost, ChatPath, map[string]any{"prompt": prompt}, nil); rec.Code != http.StatusGatewayTimeout {
		t.Fatalf("chat = %d %s, want 504", rec.Code, rec.Body)
	}
	if n := countRows(t, db, "SELECT COUNT(*) FROM ai_usage WHERE status = 'error' AND input_tokens = 141 AND output_tokens = 0"); n != 1 {
		t.Fatalf("the timed-out call was not recorded with its input tokens: %d rows", n)
	}
}

// TestQuotaCapsAnswer: the answer's bound sent to the provider is what is left of the user's
// daily quota when that is less than the request's bound (or AI_MAX_OUTPUT_TOKENS), so a
// user overshoots the quota by the prompt at most (it was the whole answer's bound).
func TestQuotaCapsAnswer(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		for _, tc := range []struct {
			name      string
			anthropic bool
			quota     int64
			maxTokens int64
			user      string
			calls     int   // chats before the one checked; each uses 15 tokens
			want      int64 // the bound sent
		}{
			{name: "quota below the default", quota: 100, user: "alice", want: 100},
			{name: "quota above the default", quota: 5000, user: "alice", want: DefaultMaxOutputTokens},
			{name: "request asks fewer", quota: 100, maxTokens: 50, user: "alice", want: 50},
			{name: "request asks more", quota: 100, maxTokens: 500, user: "alice", want: 100},
			{name: "after a chat", quota: 100, user: "alice", calls: 1, want: 85},
			{name: "no quota", user: "alice", want: DefaultMaxOutputTokens},
			{name: "no user", quota: 100, want: DefaultMaxOutputTokens},
			{name: "anthropic", anthropic: true, quota: 100, user: "alice", calls: 2, want: 70},
		} {
			f, s, field := newFakeOpenAI(t, fakeOK), Settings{DailyTokenQuota: tc.quota}, "max_completion_tokens"
			if tc.anthropic {
				f, s, field = newFakeAnthropic(t, fakeOK), Settings{Provider: ProviderAnthropic, Model: "claude-sonnet-4-5", DailyTokenQuota: tc.quota}, "max_tokens"
			}
			opts := &Opts{Now: middayClock()}
			ctx := t.Context()
			if tc.user != "" {
				// A user of its own per case: the ledger is the database's.
				opts.Identity, ctx = headerIdentity{}, context.WithValue(ctx, testUserKey{}, tc.name)
			}
			svc, _ := setup(t, db, f, s, opts)
			for range tc.calls + 1 {
				if _, err := svc.Chat(ctx, ChatParams{Prompt: "hi", MaxTokens: tc.maxTokens}); err != nil {
					t.Fatalf("%s: %v", tc.name, err)
				}
			}
			body, _ := f.last()
			if got, _ := body[field].(float64); int64(got) != tc.want {
				t.Errorf("%s: %s = %v, want %d", tc.name, field, body[field], tc.want)
			}
		}
	})
}

// quotaReads counts the queries that sum a user's tokens of the day made in a context of
// user's.
type quotaReads struct {
	user string
	n    atomic.Int64
}

func (q *quotaReads) BeforeQuery(ctx context.Context, e *bun.QueryEvent) context.Context {
	if u, _ := ctx.Value(testUserKey{}).(string); u == q.user && strings.Contains(e.Query, "SUM(input_tokens + output_tokens)") {
		q.n.Add(1)
	}
	return ctx
}

func (*quotaReads) AfterQuery(context.Context, *bun.QueryEvent) {}

// TestQuotaReadOnce: a chat reads the tokens its user spent today once, whether it comes
// through the API (plain or streamed) or Chat (it read them three times: the API's check,
// Chat's, and the cap on the answer).
func TestQuotaReadOnce(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		reads := &quotaReads{user: "reader-" + string(db.Engine())}
		// A fresh database of this test's own, before the service uses it; WithQueryHook would
		// give a copy the service is not built on.
		//lint:ignore SA1019 the hook must be on the DB the service is built on
		db.Bun().AddQueryHook(reads)
		f := newFakeOpenAI(t, fakeOK)
		svc, h := setup(t, db, f, Settings{DailyTokenQuota: 1000}, &Opts{Identity: headerIdentity{}})
		for _, tc := range []struct {
			name string
			run  func() error
		}{
			{"api", func() error {
				if rec := send(t, h, http.MethodPost, ChatPath, map[string]any{"prompt": "hi"}, map[string]string{"X-Test-User": reads.user}); rec.Code != http.StatusOK {
					return fmt.Errorf("%d %s", rec.Code, rec.Body)
				}
				return nil
			}},
			{"api stream", func() error {
				if rec := send(t, h, http.MethodPost, ChatPath, map[string]any{"prompt": "hi", "stream": true}, map[string]string{"X-Test-User": reads.user}); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "event: done") {
					return fmt.Errorf("%d %s", rec.Code, rec.Body)
				}
				return nil
			}},
			{"Chat", func() error {
				_, err := svc.Chat(context.WithValue(t.Context(), testUserKey{}, reads.user), ChatParams{Prompt: "hi"})
				return err
			}},
		} {
			reads.n.Store(0)
			if err := tc.run(); err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			if n := reads.n.Load(); n != 1 {
				t.Errorf("%s: the day's tokens read %d times, want 1", tc.name, n)
			}
		}
	})
}

// TestMaxTokensBound: a request's max_tokens above AI_MAX_OUTPUT_TOKENS is sent as
// AI_MAX_OUTPUT_TOKENS (it was sent as asked, although the setting is the most an answer may
// take); fewer is sent as asked.
func TestMaxTokensBound(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		for _, tc := range []struct {
			asked, want int64
		}{{0, 200}, {50, 50}, {200, 200}, {100000, 200}} {
			f := newFakeOpenAI(t, fakeOK)
			_, h := setup(t, db, f, Settings{MaxOutputTokens: 200}, nil)
			if rec := send(t, h, http.MethodPost, ChatPath, map[string]any{"prompt": "hi", "max_tokens": tc.asked}, nil); rec.Code != http.StatusOK {
				t.Fatalf("max_tokens %d: %d %s", tc.asked, rec.Code, rec.Body)
			}
			if body, _ := f.last(); body["max_completion_tokens"] != float64(tc.want) {
				t.Errorf("max_tokens %d: sent %v, want %d", tc.asked, body["max_completion_tokens"], tc.want)
			}
		}
	})
}

// streamingProviders are the hosted providers, each with its fake, for the tests that hold
// for every stream format.
var streamingProviders = []struct {
	provider, model string
	fake            func(testing.TB, string) *fakeProvider
}{
	{ProviderOpenAI, "gpt-4o-mini", newFakeOpenAI},
	{ProviderAnthropic, "claude-sonnet-4-5", newFakeAnthropic},
}

// TestCutStreamCountsAnswer: an answer cut short counts its text's tokens in the ledger (so
// the quota sees them) for every provider. Anthropic's stream reports its input tokens and a
// first output token in message_start, and the real output count only in message_delta at
// the end: a stream cut before it recorded one output token however long the answer was.
func TestCutStreamCountsAnswer(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		for _, tc := range streamingProviders {
			f := tc.fake(t, fakeCut)
			f.words = []string{"Hello", strings.Repeat("word ", 40), "world"}
			_, h := setup(t, db, f, Settings{Provider: tc.provider, Model: tc.model}, &Opts{Identity: headerIdentity{}})
			rec := send(t, h, http.MethodPost, ChatPath, map[string]any{"prompt": "tell me", "stream": true}, map[string]string{"X-Test-User": "cut-" + tc.provider})
			events := readEvents(t, rec.Body.String())
			if last := events[len(events)-1]; last.name != "error" {
				t.Fatalf("%s: last event %s %s, want an error", tc.provider, last.name, last.data)
			}
			want := estimateTokens(len(f.words[0]) + len(f.words[1]))
			var out int64
			if err := db.Bun().NewSelect().Model((*UsageRecord)(nil)).ColumnExpr("output_tokens").Where("user_id = ?", "cut-"+tc.provider).Scan(t.Context(), &out); err != nil {
				t.Fatal(err)
			}
			if out < want {
				t.Errorf("%s: the ledger counts %d output tokens for a cut answer of %d estimated", tc.provider, out, want)
			}
		}
	})
}

// TestStreamWithoutLastEvent: a stream that ends after the whole answer and its stop reason,
// without the provider's last event, is a complete answer for every provider, as it is for
// OpenAI without [DONE]: Anthropic's message_delta carries the stop reason and the usage,
// and an answer missing only message_stop was a 502 with the answer stored as partial.
func TestStreamWithoutLastEvent(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		for _, tc := range streamingProviders {
			f := tc.fake(t, fakeNoStop)
			svc, h := setup(t, db, f, Settings{Provider: tc.provider, Model: tc.model}, nil)
			rec := send(t, h, http.MethodPost, ChatPath, map[string]any{"prompt": "tell me", "stream": true}, nil)
			events := readEvents(t, rec.Body.String())
			last := events[len(events)-1]
			var res ChatResult
			if last.name != "done" || json.Unmarshal([]byte(last.data), &res) != nil {
				t.Fatalf("%s: last event %s %s, want done", tc.provider, last.name, last.data)
			}
			_, msgs, err := svc.Conversation(t.Context(), res.ConversationID)
			if err != nil {
				t.Fatal(err)
			}
			if len(msgs) != 2 || msgs[1].Content != "Hello, world" || msgs[1].Status != StatusComplete {
				t.Errorf("%s: stored %+v, want the whole answer, complete", tc.provider, msgs)
			}
		}
	})
}

// TestStreamDetached: over HTTP/1.1 a streamed answer is detached from its handler
// (backend.Detach): the headers are the stream's and the server's (the request ID) and the
// answer is whole. Served by backend.Serve, the body is chunked and the connection carries
// the client's next stream; served otherwise (httptest), the connection closes after the done
// event (Connection: close, no chunking).
func TestStreamDetached(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		kept bool // served by backend.Serve
	}{{"backend.Serve", true}, {"another server", false}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			db := databasetest.New(t, database.SQLite)
			_, h := setup(t, db, newFakeOpenAI(t, fakeOK), Settings{}, nil)
			base := serveStreams(t, h, tc.kept)
			dials := new(atomic.Int32)
			var d net.Dialer
			tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				dials.Add(1)
				return d.DialContext(ctx, network, addr)
			}}
			defer tr.CloseIdleConnections()
			client := &http.Client{Transport: tr}
			for i := range 2 {
				req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, base+ChatPath, strings.NewReader(`{"prompt":"hi","stream":true}`))
				req.Header.Set("Content-Type", "application/json")
				resp, err := client.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				body, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil {
					t.Fatalf("reading stream %d: %v", i, err)
				}
				chunked := len(resp.TransferEncoding) == 1 && resp.TransferEncoding[0] == "chunked"
				if resp.StatusCode != http.StatusOK || resp.Close == tc.kept || chunked != tc.kept ||
					resp.Header.Get("Content-Type") != "text/event-stream" || resp.Header.Get("Cache-Control") != "no-store" ||
					resp.Header.Get("X-Accel-Buffering") != "no" || resp.Header.Get("X-Request-ID") == "" {
					t.Fatalf("status %d, close %v, transfer encoding %v, headers %v; want a detached event stream, chunked %v",
						resp.StatusCode, resp.Close, resp.TransferEncoding, resp.Header, tc.kept)
				}
				if !strings.Contains(string(body), "event: delta") || !strings.HasSuffix(string(body), "\n\n") ||
					!strings.Contains(string(body), "event: done") {
					t.Errorf("body %q, want deltas, then done, then the end", body)
				}
			}
			want := int32(2)
			if tc.kept {
				want = 1
			}
			if n := dials.Load(); n != want {
				t.Errorf("two streams over %d connections, want %d", n, want)
			}
		})
	}
}

// serveStreams serves h, by backend.Serve as the app does (kept, with the default settings)
// or by httptest, until the test ends, and returns its base URL.
func serveStreams(t testing.TB, h http.Handler, kept bool) string {
	t.Helper()
	if !kept {
		srv := httptest.NewServer(h)
		t.Cleanup(srv.Close)
		return srv.URL
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- backend.NewServer(backend.Settings{}.WithDefaults()).Serve(ctx, ln, h) }()
	t.Cleanup(func() {
		cancel()
		<-served
	})
	return "http://" + ln.Addr().String()
}
