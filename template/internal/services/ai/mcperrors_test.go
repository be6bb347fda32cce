package ai

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

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
