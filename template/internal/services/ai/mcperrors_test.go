package ai

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/aegisgo/aegis/template/internal/components/database"
	"github.com/aegisgo/aegis/template/internal/components/database/databasetest"
)

// TestMCPRefusals: every request /mcp refuses is answered in a documented shape, never the
// go-sdk's plain text: an RFC 9457 problem for HTTP-level refusals (method, session,
// protocol version, content type, Accept, Last-Event-ID, body size), a JSON-RPC error
// response with the request's id (null when none can be read) for a body that is not one
// valid JSON-RPC message. Valid traffic the SDK serves (an old-version batch, a
// notification) still passes.
func TestMCPRefusals(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		_, h := setup(t, db, newFakeOpenAI(t, fakeOK), Settings{AccessToken: "mcp-token-0123456789"}, &Opts{Tools: testTools()})
		const (
			list    = `{"jsonrpc":"2.0","id":7,"method":"tools/list","params":{}}`
			both    = "application/json, text/event-stream"
			problem = "application/problem+json"
			rpc     = "application/json"
		)
		type header = map[string]string
		for _, tc := range []struct {
			name, method, contentType, accept string
			body                              io.Reader
			header                            header
			status                            int
			wantType                          string // problem or rpc
			want                              string // in the problem's detail or the error's message
			code                              int    // the JSON-RPC error code
			id                                string // the JSON-RPC error's id, as JSON
		}{
			{name: "GET (no stream on a stateless server)", method: "GET", accept: "text/event-stream", status: 405, wantType: problem, want: "POST only"},
			{name: "PUT", method: "PUT", contentType: rpc, accept: both, body: strings.NewReader(list), status: 405, wantType: problem, want: "POST only"},
			{name: "DELETE a session", method: "DELETE", header: header{"Mcp-Session-Id": "abc"}, status: 405, wantType: problem, want: "POST only"},
			{name: "unknown Mcp-Session-Id", contentType: rpc, accept: both, body: strings.NewReader(list), header: header{"Mcp-Session-Id": "nope"}, status: 404, wantType: problem, want: "Unknown Mcp-Session-Id"},
			{name: "unsupported protocol version", contentType: rpc, accept: both, body: strings.NewReader(list), header: header{"Mcp-Protocol-Version": "1999-01-01"}, status: 400, wantType: problem, want: "send one of 2"},
			{name: "no Content-Type", accept: both, body: strings.NewReader(list), status: 415, wantType: problem, want: "Content-Type: application/json"},
			{name: "text/plain Content-Type", contentType: "text/plain", accept: both, body: strings.NewReader(list), status: 415, wantType: problem, want: "Content-Type: application/json"},
			{name: "no Accept", contentType: rpc, body: strings.NewReader(list), status: 406, wantType: problem, want: "Accept: application/json, text/event-stream"},
			{name: "Accept without event stream", contentType: rpc, accept: "application/json", body: strings.NewReader(list), status: 406, wantType: problem, want: "Accept: application/json, text/event-stream"},
			{name: "Last-Event-ID on a POST", contentType: rpc, accept: both, body: strings.NewReader(list), header: header{"Last-Event-ID": "1"}, status: 400, wantType: problem, want: "Last-Event-ID"},
			// No Content-Length: the size limit is met while reading.
			{name: "oversized streamed body", contentType: rpc, accept: both, body: io.MultiReader(strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"ping","params":{"x":"`), strings.NewReader(strings.Repeat("a", 5<<20)), strings.NewReader(`"}}`)), status: 413, wantType: problem, want: "bytes"},
			{name: "empty body", contentType: rpc, accept: both, body: strings.NewReader(""), status: 400, wantType: rpc, code: -32700, id: "null", want: "body is empty"},
			{name: "JSON object, not JSON-RPC", contentType: rpc, accept: both, body: strings.NewReader(`{"a":1}`), status: 400, wantType: rpc, code: -32600, id: "null", want: "not a JSON-RPC 2.0 message"},
			{name: "JSON string", contentType: rpc, accept: both, body: strings.NewReader(`"x"`), status: 400, wantType: rpc, code: -32600, id: "null", want: "not a JSON-RPC 2.0 message"},
			{name: "wrong jsonrpc version", contentType: rpc, accept: both, body: strings.NewReader(`{"jsonrpc":"1.0","id":3,"method":"tools/list","params":{}}`), status: 400, wantType: rpc, code: -32600, id: "3", want: "not a JSON-RPC 2.0 message"},
			{name: "object id", contentType: rpc, accept: both, body: strings.NewReader(`{"jsonrpc":"2.0","id":{},"method":"tools/list"}`), status: 400, wantType: rpc, code: -32600, id: "null", want: "not a JSON-RPC 2.0 message"},
			{name: "batch on 2025-06-18", contentType: rpc, accept: both, body: strings.NewReader("[" + list + "]"), header: header{"Mcp-Protocol-Version": "2025-06-18"}, status: 400, wantType: rpc, code: -32600, id: "null", want: "batches are not supported"},
			{name: "empty batch", contentType: rpc, accept: both, body: strings.NewReader("[]"), status: 400, wantType: rpc, code: -32600, id: "null", want: "batch is empty"},
			{name: "unknown method", contentType: rpc, accept: both, body: strings.NewReader(`{"jsonrpc":"2.0","id":"a-4","method":"nope/x","params":{}}`), status: 400, wantType: rpc, code: -32601, id: `"a-4"`, want: `"nope/x" is not an MCP method`},
			{name: "request without id", contentType: rpc, accept: both, body: strings.NewReader(`{"jsonrpc":"2.0","method":"tools/list","params":{}}`), status: 400, wantType: rpc, code: -32600, id: "null", want: `needs an "id"`},
			{name: "notification with id", contentType: rpc, accept: both, body: strings.NewReader(`{"jsonrpc":"2.0","id":8,"method":"notifications/initialized","params":{}}`), status: 400, wantType: rpc, code: -32600, id: "8", want: `takes no "id"`},
			{name: "call without params", contentType: rpc, accept: both, body: strings.NewReader(`{"jsonrpc":"2.0","id":5,"method":"tools/call"}`), status: 400, wantType: rpc, code: -32600, id: "5", want: `needs "params"`},
		} {
			t.Run(tc.name, func(t *testing.T) {
				method := tc.method
				if method == "" {
					method = http.MethodPost
				}
				req := httptest.NewRequest(method, MCPPath, tc.body)
				for k, v := range map[string]string{"Content-Type": tc.contentType, "Accept": tc.accept, "Authorization": "Bearer mcp-token-0123456789"} {
					if v != "" {
						req.Header.Set(k, v)
					}
				}
				for k, v := range tc.header {
					req.Header.Set(k, v)
				}
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != tc.status || !strings.HasPrefix(rec.Header().Get("Content-Type"), tc.wantType) {
					t.Fatalf("%d %s %q, want %d %s", rec.Code, rec.Header().Get("Content-Type"), rec.Body, tc.status, tc.wantType)
				}
				if tc.status == http.StatusMethodNotAllowed && rec.Header().Get("Allow") != http.MethodPost {
					t.Errorf("Allow = %q, want POST", rec.Header().Get("Allow"))
				}
				var got struct {
					Status  int             `json:"status"`
					Detail  string          `json:"detail"`
					JSONRPC string          `json:"jsonrpc"`
					ID      json.RawMessage `json:"id"`
					Error   struct {
						Code    int    `json:"code"`
						Message string `json:"message"`
					} `json:"error"`
				}
				if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
					t.Fatalf("body %q: %v", rec.Body, err)
				}
				if tc.wantType == problem {
					if got.Status != tc.status || !strings.Contains(got.Detail, tc.want) || strings.Contains(got.Detail, "\n") {
						t.Errorf("problem %q, want status %d and a one-line detail with %q", rec.Body, tc.status, tc.want)
					}
					return
				}
				if got.JSONRPC != "2.0" || got.Error.Code != tc.code || string(got.ID) != tc.id || !strings.Contains(got.Error.Message, tc.want) {
					t.Errorf("JSON-RPC error %q, want code %d, id %s and a message with %q", rec.Body, tc.code, tc.id, tc.want)
				}
			})
		}
		// Valid traffic the go-sdk serves reaches it unchanged: a batch under a protocol
		// version that allows batches, and a message that needs no answer.
		for body, want := range map[string]int{"[" + list + "]": http.StatusOK, `{"jsonrpc":"2.0","method":"notifications/initialized","params":{}}`: http.StatusAccepted} {
			req := httptest.NewRequest(http.MethodPost, MCPPath, strings.NewReader(body))
			req.Header.Set("Content-Type", rpc)
			req.Header.Set("Accept", both)
			req.Header.Set("Authorization", "Bearer mcp-token-0123456789")
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != want {
				t.Errorf("valid %s: %d %q, want %d", body, rec.Code, rec.Body, want)
			}
		}
		// The guard still answers first, with its problem.
		req := httptest.NewRequest(http.MethodGet, MCPPath, nil)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusUnauthorized || !strings.HasPrefix(rec.Header().Get("Content-Type"), problem) {
			t.Errorf("GET without the token: %d %s, want a 401 problem", rec.Code, rec.Header().Get("Content-Type"))
		}
	})
}

// TestMCPToolCallErrors: a tools/call with params of the wrong type, no or an unknown tool
// name, or arguments that are not an object is a JSON-RPC error (-32602), as the MCP spec
// says of a request that fails the CallToolRequest schema, whose message names the field and
// what it must be, with no Go type names (the go-sdk's quoted *mcp.CallToolParamsRaw and
// its decoder), in an event stream (up to 2025-06-18) and in a JSON body (2026-07-28) alike.
// Arguments that fail the tool's inputSchema are a tool execution error (isError) naming the
// argument. Valid calls pass.
func TestMCPToolCallErrors(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		_, h := setup(t, db, newFakeOpenAI(t, fakeOK), Settings{AccessToken: "mcp-token-0123456789"}, &Opts{Tools: testTools()})
		const meta2026 = `"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}`
		for _, tc := range []struct {
			name, params string
			code         int    // the JSON-RPC error code; 0: a result
			want         string // in the error's message or the result's text
		}{
			{name: "name a number", params: `{"name":5}`, code: -32602, want: "params.name must be a string (the tool's name), not a number; see tools/list."},
			{name: "name an object", params: `{"name":{},"arguments":{}}`, code: -32602, want: "params.name must be a string (the tool's name), not an object"},
			{name: "_meta a number", params: `{"name":"weather","_meta":5}`, code: -32602, want: "params._meta must be an object, not a number"},
			{name: "no name", params: `{"arguments":{}}`, code: -32602, want: "params.name is missing; name the tool to call"},
			{name: "requestState a number", params: `{"name":"weather","requestState":5}`, code: -32602, want: `params.requestState must be a string, not a number; see the MCP schema of "tools/call".`},
			{name: "params an array", params: `[1]`, code: -32602, want: `the params of "tools/call" must be an object, not an array`},
			{name: "unknown tool", params: `{"name":"nope","arguments":{}}`, code: -32602, want: `unknown tool "nope"; call one of weather, boom, slow (see tools/list).`},
			{name: "arguments a number", params: `{"name":"weather","arguments":5}`, code: -32602, want: "params.arguments must be an object of the tool's arguments, not a number"},
			{name: "arguments an array", params: `{"name":"weather","arguments":["Paris"]}`, code: -32602, want: "not an array"},
			{name: "missing required argument", params: `{"name":"weather","arguments":{}}`, want: `"city" is required (a string)`},
			{name: "no arguments", params: `{"name":"weather"}`, want: `"city" is required (a string)`},
			{name: "argument of the wrong type", params: `{"name":"weather","arguments":{"city":3}}`, want: `"city" must be a string, not an integer`},
			{name: "extra argument", params: `{"name":"weather","arguments":{"city":"Paris","units":"C"}}`, want: `"units" is not an argument of this tool, which takes city`},
			{name: "valid", params: `{"name":"weather","arguments":{"city":"Paris"}}`, want: `{"city":"Paris","temp":21}`},
		} {
			for _, version := range []string{"", "2025-06-18", "2026-07-28"} {
				t.Run(tc.name+" "+version, func(t *testing.T) {
					params := tc.params
					if version == "2026-07-28" {
						if strings.Contains(params, "_meta") || !strings.HasPrefix(params, "{") || tc.name == "no name" {
							// The SDK's checks of _meta and of Mcp-Name against the body
							// answer first, in their own clear words.
							t.Skip("the SDK's own check")
						}
						params = `{` + meta2026 + `,` + strings.TrimPrefix(params, "{")
					}
					req := httptest.NewRequest(http.MethodPost, MCPPath, strings.NewReader(`{"jsonrpc":"2.0","id":"c-1","method":"tools/call","params":`+params+`}`))
					req.Header.Set("Content-Type", "application/json")
					req.Header.Set("Accept", "application/json, text/event-stream")
					req.Header.Set("Authorization", "Bearer mcp-token-0123456789")
					if version != "" {
						req.Header.Set("Mcp-Protocol-Version", version)
					}
					if version == "2026-07-28" {
						// The headers a 2026-07-28 request repeats from its body.
						req.Header.Set("Mcp-Method", "tools/call")
						var p struct {
							Name any `json:"name"`
						}
						_ = json.Unmarshal([]byte(tc.params), &p)
						// A client sends what it has; the SDK checks it against the body.
						name := "weather"
						if p.Name != nil {
							name = fmt.Sprint(p.Name)
						}
						req.Header.Set("Mcp-Name", name)
					}
					rec := httptest.NewRecorder()
					h.ServeHTTP(rec, req)
					body := rec.Body.String()
					if strings.HasPrefix(rec.Header().Get("Content-Type"), "text/event-stream") {
						events := readEvents(t, body)
						if len(events) != 1 {
							t.Fatalf("%d %q: want one event", rec.Code, body)
						}
						body = events[0].data
					}
					var got struct {
						ID     string `json:"id"`
						Result *struct {
							IsError bool `json:"isError"`
							Content []struct {
								Text string `json:"text"`
							} `json:"content"`
						} `json:"result"`
						Error *struct {
							Code    int    `json:"code"`
							Message string `json:"message"`
						} `json:"error"`
					}
					if err := json.Unmarshal([]byte(body), &got); err != nil || got.ID != "c-1" {
						t.Fatalf("%d %q: %v, want a JSON-RPC response to c-1", rec.Code, body, err)
					}
					if tc.code != 0 {
						if got.Error == nil || got.Error.Code != tc.code || !strings.Contains(got.Error.Message, tc.want) ||
							strings.Contains(got.Error.Message, "mcp.") || strings.Contains(got.Error.Message, "unmarshal") || strings.Contains(got.Error.Message, "\n") {
							t.Errorf("%d %q, want error %d with %q and no Go names", rec.Code, body, tc.code, tc.want)
						}
						return
					}
					if got.Result == nil || len(got.Result.Content) != 1 || !strings.Contains(got.Result.Content[0].Text, tc.want) ||
						got.Result.IsError == (tc.name == "valid") || strings.Contains(got.Result.Content[0].Text, "validating root") {
						t.Errorf("%d %q, want a result with %q", rec.Code, body, tc.want)
					}
				})
			}
		}
	})
}

// TestMCPToolCallErrorsClient: what the go-sdk's client sees: an unknown tool is an error
// whose text says where to look, arguments that fail the tool's schema an isError result
// naming the argument.
func TestMCPToolCallErrorsClient(t *testing.T) {
	databasetest.Parallel(t, func(t *testing.T, db *database.DB) {
		_, h := setup(t, db, newFakeOpenAI(t, fakeOK), Settings{AccessToken: "mcp-token-0123456789"}, &Opts{Tools: testTools()})
		srv := httptest.NewServer(h)
		defer srv.Close()
		hc := srv.Client()
		hc.Transport = bearer{token: "mcp-token-0123456789", next: hc.Transport}
		ctx := t.Context()
		session, err := mcp.NewClient(&mcp.Implementation{Name: "test", Version: "1"}, nil).
			Connect(ctx, &mcp.StreamableClientTransport{Endpoint: srv.URL + MCPPath, HTTPClient: hc}, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer session.Close()
		if _, err := session.CallTool(ctx, &mcp.CallToolParams{Name: "nope", Arguments: map[string]any{}}); err == nil ||
			!strings.Contains(err.Error(), `unknown tool "nope"; call one of weather, boom, slow (see tools/list)`) {
			t.Errorf("unknown tool: %v", err)
		}
		for args, want := range map[string]string{
			`{}`:                        `"city" is required (a string)`,
			`{"city":true}`:             `"city" must be a string, not a boolean`,
			`{"city":"Paris","days":3}`: `"days" is not an argument of this tool, which takes city`,
		} {
			res, err := session.CallTool(ctx, &mcp.CallToolParams{Name: "weather", Arguments: json.RawMessage(args)})
			if err != nil || !res.IsError || !strings.Contains(res.Content[0].(*mcp.TextContent).Text, want) {
				t.Errorf("weather(%s) = %+v, %v, want an isError result with %q", args, res, err, want)
			}
		}
	})
}
