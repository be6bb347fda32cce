package ai

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/aegisgo/aegis/template/internal/components/backend"
)

// MCPPath is where the MCP server (streamable HTTP transport) serves the registered tools.
const MCPPath = "/mcp"

// MCPServer returns an MCP server offering the registered tools to external agents: the
// same tools, schemas and timeouts as RunTools, every call recorded in the ledger (kind
// "mcp"). A tool's failure is a tool result with isError, never a protocol error.
func (s *Service) MCPServer(name, version string) *mcp.Server {
	server := mcp.NewServer(&mcp.Implementation{Name: name, Version: version}, nil)
	for _, t := range s.tools {
		server.AddTool(&mcp.Tool{Name: t.name, Description: t.description, InputSchema: t.schema},
			func(ctx context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
				run := s.callTool(ctx, t.name, req.Params.Arguments, "mcp")
				if run.Error != "" {
					return &mcp.CallToolResult{IsError: true, Content: []mcp.Content{&mcp.TextContent{Text: run.Error}}}, nil
				}
				return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: run.Result}}}, nil
			})
	}
	return server
}

// mcpHandler is the MCP endpoint behind the same guard as the API: a user's token with the
// auth service, else AI_ACCESS_TOKEN (open outside production while it is empty).
func (h *handlers) mcpHandler() http.Handler {
	server := h.svc.MCPServer(strings.ToLower(strings.ReplaceAll(cmpOrString(h.r.Title, "app"), " ", "-")), cmpOrString(h.r.Revision, "dev"))
	// Stateless: each request is a session of its own, served in that request's context. A
	// stateful session would run every tool call in the context of the request that opened it
	// (the go-sdk keeps that context for the session's life): as the user of that first token
	// even when a later request carries another user's token, and in a registry scope that
	// was closed when that first request ended.
	var next http.Handler = mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return server },
		&mcp.StreamableHTTPOptions{Stateless: true})
	next = parseErrors(next)
	if h.svc.identity != nil {
		return h.svc.identity.RequireUserHTTP()(next)
	}
	token := h.svc.settings.AccessToken
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if token == "" {
			if h.svc.production {
				backend.WriteProblem(w, r, http.StatusForbidden, "In production /mcp needs the auth service or AI_ACCESS_TOKEN.")
				return
			}
			next.ServeHTTP(w, r)
			return
		}
		scheme, got, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		if !strings.EqualFold(scheme, "bearer") || !backend.EqualSecret(strings.TrimSpace(got), token) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="ai"`)
			backend.WriteProblem(w, r, http.StatusUnauthorized, "Send Authorization: Bearer <AI_ACCESS_TOKEN>.")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// parseErrors answers a POST whose JSON body does not parse with a JSON-RPC parse error
// (-32700, id null) and 400, rather than the go-sdk's plain text, which quotes its decoder's
// message. /mcp speaks JSON-RPC, not RFC 9457: the MCP streamable HTTP transport says a server
// that cannot accept the input returns an HTTP error status whose body MAY be a JSON-RPC error
// response without an id, and MCP clients (the go-sdk's among them) decode that body, where a
// problem document would be an unknown shape. Other bodies go to next as they were read; a
// body over the size limit, or another read error, is left to next, which answers it.
func parseErrors(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if r.Method != http.MethodPost || mt != "application/json" || r.Body == nil {
			next.ServeHTTP(w, r) // the go-sdk refuses a wrong method or content type itself
			return
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			r.Body = io.NopCloser(io.MultiReader(bytes.NewReader(body), errReader{err}))
			next.ServeHTTP(w, r)
			return
		}
		if len(body) > 0 && !json.Valid(body) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			_ = json.NewEncoder(w).Encode(map[string]any{"jsonrpc": "2.0", "id": nil, "error": map[string]any{
				"code": jsonrpc.CodeParseError, "message": "Parse error: the body is not valid JSON; send one JSON-RPC message as a JSON object.",
			}})
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		next.ServeHTTP(w, r)
	})
}

// errReader replays a read error after the bytes read before it.
type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }
