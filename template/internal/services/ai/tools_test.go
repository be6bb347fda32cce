package ai

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/aegisgo/aegis/template/internal/components/database"
	"github.com/aegisgo/aegis/template/internal/components/database/databasetest"
)

type weatherArgs struct {
	City string `json:"city" jsonschema:"the city, such as Paris"`
}

type forecast struct {
	City string `json:"city"`
	Temp int    `json:"temp"`
}

func weather(_ context.Context, a weatherArgs) (forecast, error) {
	if a.City == "" {
		return forecast{}, errors.New("no city")
	}
	return forecast{City: a.City, Temp: 21}, nil
}

func testTools() []Tool {
	return []Tool{
		NewTool("weather", "Current weather of a city", weather, nil),
		NewTool("boom", "Panics", func(context.Context, struct{}) (string, error) { panic("boom") }, nil),
		NewTool("slow", "Runs past its timeout", func(ctx context.Context, _ struct{}) (string, error) {
			<-ctx.Done()
			time.Sleep(10 * time.Millisecond)
			return "late", nil
		}, &ToolOpts{Timeout: 50 * time.Millisecond}),
	}
}

// TestTool: typed arguments with a derived schema; bad arguments, panics and timeouts are
// errors, never crashes; a contribution must be named by its tool.
func TestTool(t *testing.T) {
	t.Parallel()
	tools := testTools()
	w := tools[0]
	if props, _ := w.Spec().Schema["properties"].(map[string]any); props["city"] == nil {
		t.Fatalf("schema = %v", w.Spec().Schema)
	}
	if out, err := w.Call(t.Context(), []byte(`{"city":"Paris"}`)); err != nil || out != `{"city":"Paris","temp":21}` {
		t.Fatalf("call = %s, %v", out, err)
	}
	for _, tc := range []struct {
		tool Tool
		args string
		want error
	}{
		{w, `{"town":"Paris"}`, ErrToolArgs},
		{w, `{"city":3}`, ErrToolArgs},
		// A required argument left out used to reach the function as its zero value.
		{w, `{}`, ErrToolArgs},
		{w, ``, ErrToolArgs},
		{w, `null`, ErrToolArgs},
		{w, `{"city":""}`, ErrToolFailed},
		{tools[1], `{}`, ErrToolFailed},
		{tools[2], `{}`, ErrToolTimeout},
	} {
		if _, err := tc.tool.Call(t.Context(), []byte(tc.args)); !errors.Is(err, tc.want) {
			t.Errorf("%s(%s) = %v, want %v", tc.tool.Name(), tc.args, err, tc.want)
		}
	}
	if err := w.ValidateContribution("weather"); err != nil {
		t.Fatal(err)
	}
	if err := w.ValidateContribution("other"); err == nil {
		t.Fatal("a tool contributed under another name passed")
	}
	if err := NewTool("bad name!", "", weather, nil).ValidateContribution("bad name!"); err == nil {
		t.Fatal("a bad tool name passed")
	}
	var nilFn func(context.Context, weatherArgs) (forecast, error)
	if err := NewTool("x", "", nilFn, nil).ValidateContribution("x"); err == nil {
		t.Fatal("a nil function passed")
	}
}

// TestRunTools: the loop runs the tool the model asks for, sends its result back and returns
// the final answer; the step limit holds; every call is in the ledger.
func TestRunTools(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		for _, pc := range []struct {
			name string
			fake func(testing.TB, string) *fakeProvider
			s    Settings
		}{
			{"openai", newFakeOpenAI, Settings{}},
			{"anthropic", newFakeAnthropic, Settings{Provider: ProviderAnthropic, Model: "claude-sonnet-4-5"}},
		} {
			f := pc.fake(t, fakeTool)
			svc, _ := setup(t, db, f, pc.s, &Opts{Tools: testTools()})
			res, err := svc.RunTools(t.Context(), ToolLoopParams{Prompt: "weather in Paris?"})
			if err != nil {
				t.Fatalf("%s: %v", pc.name, err)
			}
			if res.Content != "Hello, world" || res.Steps != 2 || len(res.Calls) != 1 || res.Calls[0].Result != `{"city":"Paris","temp":21}` || res.Usage.InputTokens != 24 {
				t.Fatalf("%s: %+v", pc.name, res)
			}
			body, _ := f.last()
			if tools, _ := body["tools"].([]any); len(tools) != 3 {
				t.Fatalf("%s: offered %v", pc.name, body["tools"])
			}
			if _, err := svc.RunTools(t.Context(), ToolLoopParams{Prompt: "weather?", MaxSteps: 1}); !errors.Is(err, ErrTooManySteps) {
				t.Fatalf("%s: one step: %v", pc.name, err)
			}
			if _, err := svc.RunTools(t.Context(), ToolLoopParams{Prompt: "x", Tools: []string{"nope"}}); !errors.Is(err, ErrUnknownTool) {
				t.Fatalf("%s: unknown tool offered: %v", pc.name, err)
			}
		}
		if n := countRows(t, db, "SELECT COUNT(*) FROM ai_usage WHERE kind = 'tool' AND model = 'weather' AND status = 'ok'"); n != 4 {
			t.Fatalf("%d tool calls recorded, want 4 (two a provider: the loop, and the step of the one-step loop)", n)
		}
		svc, _ := setup(t, db, newFakeOpenAI(t, fakeOK), Settings{}, &Opts{Tools: testTools()})
		if run := svc.callTool(t.Context(), "nope", []byte(`{}`), "tool"); !strings.Contains(run.Error, "unknown tool") {
			t.Fatalf("unknown tool: %+v", run)
		}
	})
}

// TestToolErrorFlagged: a failed tool's result goes back to Anthropic with is_error set, so
// the model knows the call failed rather than reading the error as the tool's answer.
func TestToolErrorFlagged(t *testing.T) {
	db := databasetest.New(t, database.SQLite)
	failing := NewTool("weather", "Current weather of a city", func(context.Context, weatherArgs) (forecast, error) {
		return forecast{}, errors.New("the weather station is down")
	}, nil)
	for _, tc := range []struct {
		name string
		tool Tool
		want bool
	}{{"fails", failing, true}, {"answers", testTools()[0], false}} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeAnthropic(t, fakeTool)
			svc, _ := setup(t, db, f, Settings{Provider: ProviderAnthropic, Model: "claude-sonnet-4-5"}, &Opts{Tools: []Tool{tc.tool}})
			if _, err := svc.RunTools(t.Context(), ToolLoopParams{Prompt: "weather in Paris?"}); err != nil {
				t.Fatal(err)
			}
			body, _ := f.last()
			var results []map[string]any
			msgs, _ := body["messages"].([]any)
			for _, m := range msgs {
				content, _ := m.(map[string]any)["content"].([]any)
				for _, c := range content {
					if cm, _ := c.(map[string]any); cm["type"] == "tool_result" {
						results = append(results, cm)
					}
				}
			}
			if len(results) != 1 {
				t.Fatalf("tool results sent: %v", msgs)
			}
			if got, _ := results[0]["is_error"].(bool); got != tc.want {
				t.Errorf("is_error = %v, want %v: %v", results[0]["is_error"], tc.want, results[0])
			}
		})
	}
}

// TestGenerate: the answer is constrained by T's schema and decoded; one that does not
// decode is ErrInvalidOutput.
func TestGenerate(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		f := newFakeOpenAI(t, fakeOK)
		f.words = []string{`{"city":"Paris",`, `"temp":21}`}
		svc, _ := setup(t, db, f, Settings{}, nil)
		got, err := Generate[forecast](t.Context(), svc, GenerateParams{Prompt: "weather in Paris as JSON"})
		if err != nil || got != (forecast{City: "Paris", Temp: 21}) {
			t.Fatalf("generate = %+v, %v", got, err)
		}
		body, _ := f.last()
		rf, _ := body["response_format"].(map[string]any)
		js, _ := rf["json_schema"].(map[string]any)
		if schema, _ := js["schema"].(map[string]any); schema["type"] != "object" {
			t.Fatalf("response_format = %v", body["response_format"])
		}
		f.words = []string{"not JSON"}
		if _, err := Generate[forecast](t.Context(), svc, GenerateParams{Prompt: "x"}); !errors.Is(err, ErrInvalidOutput) {
			t.Fatalf("invalid answer: %v", err)
		}
		if n := countRows(t, db, "SELECT COUNT(*) FROM ai_usage WHERE kind = 'generate'"); n != 2 {
			t.Fatalf("%d generate calls recorded", n)
		}
	})
}

// TestMCP: the go-sdk's client lists and calls the registered tools at /mcp; a tool's
// failure is an error result; without the token the endpoint refuses.
func TestMCP(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		_, h := setup(t, db, newFakeOpenAI(t, fakeOK), Settings{AccessToken: "mcp-token-0123456789"}, &Opts{Tools: testTools()})
		srv := httptest.NewServer(h)
		defer srv.Close()
		ctx := t.Context()
		client := mcp.NewClient(&mcp.Implementation{Name: "test", Version: "1"}, nil)
		if _, err := client.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: srv.URL + MCPPath}, nil); err == nil {
			t.Fatal("connected without the token")
		}
		hc := srv.Client()
		hc.Transport = bearer{token: "mcp-token-0123456789", next: hc.Transport}
		session, err := client.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: srv.URL + MCPPath, HTTPClient: hc}, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer session.Close()
		list, err := session.ListTools(ctx, nil)
		if err != nil || len(list.Tools) != 3 {
			t.Fatalf("tools = %+v, %v", list, err)
		}
		res, err := session.CallTool(ctx, &mcp.CallToolParams{Name: "weather", Arguments: map[string]any{"city": "Paris"}})
		if err != nil || res.IsError || res.Content[0].(*mcp.TextContent).Text != `{"city":"Paris","temp":21}` {
			t.Fatalf("weather = %+v, %v", res, err)
		}
		res, err = session.CallTool(ctx, &mcp.CallToolParams{Name: "boom", Arguments: map[string]any{}})
		if err != nil || !res.IsError {
			t.Fatalf("boom = %+v, %v", res, err)
		}
		if n := countRows(t, db, "SELECT COUNT(*) FROM ai_usage WHERE kind = 'mcp'"); n != 2 {
			t.Fatalf("%d MCP calls recorded", n)
		}
	})
}

// TestMCPMalformedJSON: a body that is not JSON is answered as the MCP streamable HTTP
// transport says a refused input may be, 400 with a JSON-RPC error response without an id:
// here -32700, parse error, which MCP clients (the go-sdk's among them) decode, rather than
// the go-sdk's plain text.
func TestMCPMalformedJSON(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		_, h := setup(t, db, newFakeOpenAI(t, fakeOK), Settings{AccessToken: "mcp-token-0123456789"}, &Opts{Tools: testTools()})
		for _, body := range []string{`{"jsonrpc":"2.0","id":1,"method":`, "not json", `{"a":1}garbage`} {
			req := httptest.NewRequest(http.MethodPost, MCPPath, strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Accept", "application/json, text/event-stream")
			req.Header.Set("Authorization", "Bearer mcp-token-0123456789")
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			var got struct {
				JSONRPC string           `json:"jsonrpc"`
				ID      *json.RawMessage `json:"id"`
				Error   struct {
					Code    int    `json:"code"`
					Message string `json:"message"`
				} `json:"error"`
			}
			err := json.Unmarshal(rec.Body.Bytes(), &got)
			if rec.Code != http.StatusBadRequest || !strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") || err != nil ||
				got.JSONRPC != "2.0" || got.Error.Code != -32700 || got.Error.Message == "" || (got.ID != nil && string(*got.ID) != "null") {
				t.Errorf("body %q: %d %s %q (%v), want 400 with a JSON-RPC parse error", body, rec.Code, rec.Header().Get("Content-Type"), rec.Body, err)
			}
		}
		// Without the token the guard still answers first, with its problem.
		req := httptest.NewRequest(http.MethodPost, MCPPath, strings.NewReader("not json"))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusUnauthorized || !strings.HasPrefix(rec.Header().Get("Content-Type"), "application/problem+json") {
			t.Errorf("malformed body without the token: %d %s, want a 401 problem", rec.Code, rec.Header().Get("Content-Type"))
		}
	})
}

type bearer struct {
	token string
	next  interface {
		RoundTrip(*http.Request) (*http.Response, error)
	}
}

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return b.next.RoundTrip(r)
}

// TestChatAPIWithTools: tools: true on POST /api/v1/ai/chat runs the loop (the fake model
// asks for weather, then answers) and answers with the final text and the calls; streaming or
// a conversation with tools is refused before the model is called.
func TestChatAPIWithTools(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		f := newFakeOpenAI(t, fakeTool)
		_, h := setup(t, db, f, Settings{}, &Opts{Tools: testTools()})
		for _, tc := range []struct {
			name string
			body map[string]any
			want int
		}{
			{"tools", map[string]any{"prompt": "weather in Paris?", "tools": true}, http.StatusOK},
			{"streamed", map[string]any{"prompt": "weather in Paris?", "tools": true, "stream": true}, http.StatusUnprocessableEntity},
			{"in a conversation", map[string]any{"prompt": "weather in Paris?", "tools": true, "conversation_id": 1}, http.StatusUnprocessableEntity},
		} {
			rec := send(t, h, http.MethodPost, ChatPath, tc.body, nil)
			if rec.Code != tc.want {
				t.Fatalf("%s: %d %s, want %d", tc.name, rec.Code, rec.Body, tc.want)
			}
			if tc.want != http.StatusOK {
				continue
			}
			res := decode[ToolLoopResult](t, rec)
			if res.Content != "Hello, world" || res.Steps != 2 || len(res.Calls) != 1 || res.Calls[0].Name != "weather" || res.Calls[0].Result != `{"city":"Paris","temp":21}` {
				t.Fatalf("%s: %+v", tc.name, res)
			}
		}
		if n := f.count(); n != 2 {
			t.Fatalf("the model was called %d times, want 2 (the refusals call it never)", n)
		}
		if n := countRows(t, db, "SELECT COUNT(*) FROM ai_usage WHERE (kind = 'tools' AND provider = 'openai') OR (kind = 'tool' AND model = 'weather')"); n != 3 {
			t.Fatalf("%d ledger rows, want 3 (two model calls, one tool call)", n)
		}
	})
}
