package ai

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"slices"
	"strconv"
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
	next = mcpRefusals(next)
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

// mcpRefusals answers every request the go-sdk would refuse with a plain-text http.Error
// (whose text quotes its decoder) in a documented shape instead, one line saying what is
// wrong and how to fix it:
//
//   - HTTP-level refusals, which no JSON-RPC message is behind, are RFC 9457 problems: 405
//     with Allow: POST (the server is stateless: no GET stream, no DELETE), 404 for any
//     Mcp-Session-Id (the server issues none, so every one is unknown; the transport says
//     404, and a client then starts over without it), 400 for an unsupported
//     MCP-Protocol-Version (the transport says 400) or a Last-Event-ID on a POST, 415 for a
//     Content-Type other than application/json, 406 for an Accept without both
//     application/json and text/event-stream, 413 for a body over the size limit.
//   - A body that is not one valid JSON-RPC message is a JSON-RPC error response, as the
//     MCP streamable HTTP transport says a refused input may be, with 400: -32700 for a body
//     that is empty or not JSON, -32600 for JSON that is not a JSON-RPC message or for a
//     batch (refused from 2025-06-18), with the request's id when one can be read, else null.
//     MCP clients (the go-sdk's among them) decode that body; a problem would be a shape
//     they do not know.
//
// The checks mirror the go-sdk's own conditions (plus the session header, which the SDK
// ignores when stateless, though a client sending one holds a session the server never
// issued), so valid traffic reaches it unchanged. What remains is the SDK's check of a
// decoded request against its method table (unknown method, id or params missing), which it
// keeps unexported: sdkErrors turns that refusal into a JSON-RPC error with the request's id.
func mcpRefusals(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			backend.WriteProblem(w, r, http.StatusMethodNotAllowed, "/mcp takes POST only (a stateless server: no GET stream, no DELETE); POST each JSON-RPC message.")
			return
		}
		if r.Header.Get("Mcp-Session-Id") != "" {
			backend.WriteProblem(w, r, http.StatusNotFound, "Unknown Mcp-Session-Id: this server is stateless and issues none; send requests without the header.")
			return
		}
		if v := r.Header.Get("Mcp-Protocol-Version"); v != "" && !slices.Contains(mcp.SupportedProtocolVersions(), v) && v < newestProtocolVersion {
			backend.WriteProblem(w, r, http.StatusBadRequest, "Unsupported MCP-Protocol-Version "+strconv.Quote(clip(v))+"; send one of "+strings.Join(mcp.SupportedProtocolVersions(), ", ")+".")
			return
		}
		if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
			backend.WriteProblem(w, r, http.StatusUnsupportedMediaType, "Send the JSON-RPC message with Content-Type: application/json.")
			return
		}
		if !acceptsMCP(r.Header.Values("Accept")) {
			backend.WriteProblem(w, r, http.StatusNotAcceptable, "Send Accept: application/json, text/event-stream; the server may answer with either.")
			return
		}
		if len(r.Header.Values("Last-Event-ID")) > 0 {
			backend.WriteProblem(w, r, http.StatusBadRequest, "Last-Event-ID resumes a GET stream, which this server has none of; send the POST without it.")
			return
		}
		var body []byte
		if r.Body != nil {
			var err error
			if body, err = io.ReadAll(r.Body); err != nil {
				if mbe, ok := errors.AsType[*http.MaxBytesError](err); ok {
					backend.WriteProblem(w, r, http.StatusRequestEntityTooLarge, "The request body is over "+strconv.FormatInt(mbe.Limit, 10)+" bytes; send a smaller message.")
					return
				}
				backend.WriteProblem(w, r, http.StatusBadRequest, "The request body could not be read; send it again.")
				return
			}
		}
		if len(bytes.TrimSpace(body)) == 0 {
			writeRPCError(w, http.StatusBadRequest, nil, jsonrpc.CodeParseError, "Parse error: the body is empty; send one JSON-RPC message as a JSON object.")
			return
		}
		if !json.Valid(body) {
			writeRPCError(w, http.StatusBadRequest, nil, jsonrpc.CodeParseError, "Parse error: the body is not valid JSON; send one JSON-RPC message as a JSON object.")
			return
		}
		var msg jsonrpc.Message
		if body = bytes.TrimSpace(body); body[0] == '[' {
			if v := r.Header.Get("Mcp-Protocol-Version"); v >= batchlessProtocolVersion {
				writeRPCError(w, http.StatusBadRequest, nil, jsonrpc.CodeInvalidRequest, "Invalid Request: batches are not supported from MCP 2025-06-18; send one JSON-RPC message per POST.")
				return
			}
			var batch []json.RawMessage
			if err := json.Unmarshal(body, &batch); err != nil || len(batch) == 0 {
				writeRPCError(w, http.StatusBadRequest, nil, jsonrpc.CodeInvalidRequest, "Invalid Request: the batch is empty; send at least one JSON-RPC message.")
				return
			}
			for _, raw := range batch {
				if _, err := jsonrpc.DecodeMessage(raw); err != nil {
					writeRPCError(w, http.StatusBadRequest, nil, jsonrpc.CodeInvalidRequest, notAMessage)
					return
				}
			}
		} else {
			var err error
			if msg, err = jsonrpc.DecodeMessage(body); err != nil {
				writeRPCError(w, http.StatusBadRequest, readableID(body), jsonrpc.CodeInvalidRequest, notAMessage)
				return
			}
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		req, _ := msg.(*jsonrpc.Request)
		sw := &sdkErrors{ResponseWriter: w, req: req, id: readableID(body)}
		next.ServeHTTP(sw, r)
		sw.finish()
	})
}

const (
	// newestProtocolVersion is the version from which the go-sdk accepts any
	// MCP-Protocol-Version header (later versions are negotiated per request).
	newestProtocolVersion = "2026-07-28"
	// batchlessProtocolVersion is the version from which JSON-RPC batches are refused.
	batchlessProtocolVersion = "2025-06-18"
	notAMessage              = `Invalid Request: the body is JSON but not a JSON-RPC 2.0 message; send {"jsonrpc":"2.0","id":1,"method":"...","params":{...}}.`
)

// acceptsMCP is the go-sdk's test of a POST's Accept header: JSON and an event stream both
// acceptable, wildcards included.
func acceptsMCP(values []string) bool {
	var jsonOK, streamOK bool
	for _, value := range values {
		for token := range strings.SplitSeq(value, ",") {
			base, _, _ := strings.Cut(token, ";")
			switch strings.ToLower(strings.TrimSpace(base)) {
			case "application/json", "application/*":
				jsonOK = true
			case "text/event-stream", "text/*":
				streamOK = true
			case "*/*":
				jsonOK, streamOK = true, true
			}
		}
	}
	return jsonOK && streamOK
}

// readableID is the "id" of a JSON object when it is a string or a number, the only ids
// JSON-RPC allows, else nil (answered as null).
func readableID(body []byte) json.RawMessage {
	var m struct {
		ID json.RawMessage `json:"id"`
	}
	if json.Unmarshal(body, &m) != nil || len(m.ID) == 0 {
		return nil
	}
	var v any
	if json.Unmarshal(m.ID, &v) != nil {
		return nil
	}
	switch v.(type) {
	case string, float64:
		return m.ID
	}
	return nil
}

// rpcError is a JSON-RPC error response; ID is null when the request's id is unknown.
type rpcError struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Error   rpcErrorObject  `json:"error"`
}

type rpcErrorObject struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// writeRPCError writes a JSON-RPC error response; a nil id is written as null.
func writeRPCError(w http.ResponseWriter, status int, id json.RawMessage, code int, message string) {
	if id == nil {
		id = json.RawMessage("null")
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Del("Content-Length")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(rpcError{JSONRPC: "2.0", ID: id, Error: rpcErrorObject{Code: code, Message: message}})
}

// sdkErrors passes the go-sdk's answers through, except a plain-text error (http.Error's
// Content-Type), which it holds back and finish replaces with a JSON-RPC error carrying the
// request's id. It is a ResponseWriter wrapper because the check behind those refusals, the
// request against the server's method table, is unexported in the SDK: copying the table
// here would refuse a method a later SDK adds.
type sdkErrors struct {
	http.ResponseWriter
	req     *jsonrpc.Request
	id      json.RawMessage
	status  int // the held-back error's status, 0 when passing through
	text    bytes.Buffer
	written bool
}

func (s *sdkErrors) WriteHeader(code int) {
	if s.written || s.status != 0 {
		return
	}
	if code >= 400 && strings.HasPrefix(s.Header().Get("Content-Type"), "text/plain") {
		s.status = code
		return
	}
	s.written = true
	s.ResponseWriter.WriteHeader(code)
}

func (s *sdkErrors) Write(b []byte) (int, error) {
	if !s.written && s.status == 0 {
		s.WriteHeader(http.StatusOK)
	}
	if s.status != 0 {
		return s.text.Write(b)
	}
	return s.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController (the SDK flushes the event stream through it) reach
// the connection.
func (s *sdkErrors) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// Flush is http.Flusher for callers that assert it; nothing is flushed while an error is
// held back.
func (s *sdkErrors) Flush() {
	if s.status == 0 {
		s.written = true // a flush sends the status line: no error can be held back after it
		_ = http.NewResponseController(s.ResponseWriter).Flush()
	}
}

// finish writes the held-back error, if any, as a JSON-RPC error: -32601 when the SDK does
// not handle the method (its text starts with its jsonrpc2.ErrNotHandled), else -32600 for a
// request missing its id or params, -32603 for the SDK's own failure (5xx).
func (s *sdkErrors) finish() {
	if s.status == 0 {
		return
	}
	h := s.Header()
	h.Del("X-Content-Type-Options")
	method := "the method"
	if s.req != nil {
		method = strconv.Quote(clip(s.req.Method))
	}
	code, msg := jsonrpc.CodeInvalidRequest, "Invalid Request: "+method+" was refused; check the message against the MCP schema (a request has an id and its params, a notification no id)."
	switch {
	case s.status >= 500:
		code, msg = jsonrpc.CodeInternalError, "Internal error: the MCP server could not take the message; try again."
	case strings.HasPrefix(s.text.String(), "JSON RPC not handled"):
		code, msg = jsonrpc.CodeMethodNotFound, "Method not found: "+method+" is not an MCP method this server handles; see tools/list and tools/call."
	case s.req != nil && !s.req.IsCall() && !strings.HasPrefix(s.req.Method, "notifications/"):
		msg = "Invalid Request: " + method + ` is a request and needs an "id"; add one.`
	case s.req != nil && s.req.IsCall() && strings.HasPrefix(s.req.Method, "notifications/"):
		msg = "Invalid Request: " + method + ` is a notification and takes no "id"; remove it.`
	case s.req != nil && len(s.req.Params) == 0:
		msg = "Invalid Request: " + method + ` needs "params" (an object, {} when empty); add them.`
	}
	status := s.status
	if status < 500 {
		status = http.StatusBadRequest
	}
	writeRPCError(s.ResponseWriter, status, s.id, code, msg)
}

// clip bounds a client's string quoted back in an answer.
func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}
