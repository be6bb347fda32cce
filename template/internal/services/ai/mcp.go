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
	"github.com/aegisgo/aegis/template/internal/runtime/jsonkind"
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
	server.AddReceivingMiddleware(s.checkToolCall)
	return server
}

// checkToolCall answers a tools/call the CallToolRequest schema refuses as a protocol error
// (-32602), as the MCP spec says: no tool name, a name no tool has (the SDK's own text,
// `unknown tool "x"`, does not say where to look), or arguments that are not an object (the
// SDK passes any JSON on). Arguments that fail the tool's inputSchema reach the tool and are
// a tool execution error (isError), which the spec keeps for input the model can correct.
func (s *Service) checkToolCall(next mcp.MethodHandler) mcp.MethodHandler {
	return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
		call, ok := req.(*mcp.CallToolRequest)
		if !ok || call.Params == nil {
			return next(ctx, method, req)
		}
		p := call.Params
		if p.Name == "" {
			return nil, &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: `Invalid params: params.name is missing; name the tool to call, one of ` + s.toolNames() + ` (see tools/list).`}
		}
		if _, known := s.tool(p.Name); !known {
			return nil, &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: "Invalid params: unknown tool " + strconv.Quote(clip(p.Name)) + "; call one of " + s.toolNames() + " (see tools/list)."}
		}
		if args := bytes.TrimSpace(p.Arguments); len(args) > 0 && args[0] != '{' && string(args) != "null" {
			return nil, &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: "Invalid params: params.arguments must be an object of the tool's arguments, not " + jsonKindOf(args) + "; see the tool's inputSchema in tools/list."}
		}
		return next(ctx, method, req)
	}
}

// toolNames lists the registered tools for an error message, the first few of many.
func (s *Service) toolNames() string {
	var names []string
	for i, t := range s.tools {
		if i == 8 {
			names = append(names, "...")
			break
		}
		names = append(names, t.name)
	}
	if len(names) == 0 {
		return "none (this server has no tools)"
	}
	return strings.Join(names, ", ")
}

// jsonKindOf names the kind of a JSON value, with its article: "a number", "an array".
func jsonKindOf(v []byte) string {
	v = bytes.TrimSpace(v)
	if len(v) == 0 {
		return "nothing"
	}
	switch v[0] {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
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
		var (
			msg   jsonrpc.Message
			batch []json.RawMessage
		)
		if body = bytes.TrimSpace(body); body[0] == '[' {
			if v := r.Header.Get("Mcp-Protocol-Version"); v >= batchlessProtocolVersion {
				writeRPCError(w, http.StatusBadRequest, nil, jsonrpc.CodeInvalidRequest, "Invalid Request: batches are not supported from MCP 2025-06-18; send one JSON-RPC message per POST.")
				return
			}
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
		sw := &sdkErrors{ResponseWriter: w, req: req, id: readableID(body), calls: map[string]*jsonrpc.Request{}}
		if req != nil {
			sw.calls[string(sw.id)] = req
		}
		for _, raw := range batch {
			if m, err := jsonrpc.DecodeMessage(raw); err == nil {
				if q, ok := m.(*jsonrpc.Request); ok {
					sw.calls[string(readableID(raw))] = q
				}
			}
		}
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
//
// It also rewrites the SDK's JSON-RPC error for params it could not decode (-32602 whose
// message quotes its decoder: `unmarshaling "{\"name\":5}" into a *mcp.CallToolParamsRaw:
// json: cannot unmarshal ...`) into one line naming the field and the type it must have, in
// an event stream and in a JSON body alike. The SDK writes each message (each event) in one
// Write; a write that does not parse as one passes through unchanged.
type sdkErrors struct {
	http.ResponseWriter
	req     *jsonrpc.Request
	calls   map[string]*jsonrpc.Request // the requests by their id as JSON, for clarify
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
	if out, ok := s.clarify(b); ok {
		if _, err := s.ResponseWriter.Write(out); err != nil {
			return 0, err
		}
		return len(b), nil
	}
	return s.ResponseWriter.Write(b)
}

// clarify rewrites the SDK's params-decoding errors in one write: an SSE event whose data is
// the message, or a JSON body that is the message or a batch of them.
func (s *sdkErrors) clarify(b []byte) ([]byte, bool) {
	if !bytes.Contains(b, []byte("unmarshaling")) && !bytes.Contains(b, []byte("missing required")) && !bytes.Contains(b, []byte("failed to extract")) {
		return nil, false
	}
	if strings.HasPrefix(s.Header().Get("Content-Type"), "text/event-stream") {
		var out bytes.Buffer
		changed := false
		for line := range bytes.Lines(b) {
			if data, ok := bytes.CutPrefix(line, []byte("data: ")); ok {
				if msg, ok := s.clarifyMessage(bytes.TrimRight(data, "\r\n")); ok {
					out.WriteString("data: ")
					out.Write(msg)
					out.Write(line[len(bytes.TrimRight(line, "\r\n")):])
					changed = true
					continue
				}
			}
			out.Write(line)
		}
		return out.Bytes(), changed
	}
	trimmed := bytes.TrimSpace(b)
	if len(trimmed) > 0 && trimmed[0] == '[' {
		var msgs []json.RawMessage
		if json.Unmarshal(trimmed, &msgs) != nil {
			return nil, false
		}
		changed := false
		for i, m := range msgs {
			if c, ok := s.clarifyMessage(m); ok {
				msgs[i], changed = c, true
			}
		}
		if !changed {
			return nil, false
		}
		out, err := json.Marshal(msgs)
		return out, err == nil
	}
	return s.clarifyMessage(trimmed)
}

// clarifyMessage rewrites one JSON-RPC response when it is the SDK's params-decoding error.
func (s *sdkErrors) clarifyMessage(b []byte) ([]byte, bool) {
	var resp struct {
		ID    json.RawMessage `json:"id"`
		Error *struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(b, &resp) != nil || resp.Error == nil {
		return nil, false
	}
	var method string
	var params json.RawMessage
	if req := s.calls[string(resp.ID)]; req != nil {
		method, params = req.Method, req.Params
	}
	e := rpcErrorObject{Code: resp.Error.Code}
	switch {
	case e.Code == jsonrpc.CodeInvalidParams && strings.Contains(resp.Error.Message, "invalid params: unmarshaling"):
		e.Message = explainParams(method, params)
	case strings.HasPrefix(resp.Error.Message, "failed to extract name from parameters"):
		// From 2026-07-28 the SDK checks the name against the Mcp-Name header before
		// decoding, and calls params it cannot decode a header mismatch (-32020): its text
		// says neither which field is wrong nor what it must be, and the headers are fine.
		e.Code = jsonrpc.CodeInvalidParams
		var p map[string]json.RawMessage
		if json.Unmarshal(params, &p) == nil && p["name"] == nil && method == "tools/call" {
			e.Message = "Invalid params: params.name is missing; name the tool to call (see tools/list)."
		} else {
			e.Message = explainParams(method, params)
		}
	case e.Code == jsonrpc.CodeInvalidRequest && strings.Contains(resp.Error.Message, `missing required "params"`):
		// "params": null, which the SDK checks after decoding.
		m := "the method"
		if method != "" {
			m = strconv.Quote(clip(method))
		}
		e.Message = "Invalid Request: " + m + ` needs "params" (an object, {} when empty), not null; send them.`
	default:
		return nil, false
	}
	out, err := json.Marshal(rpcError{JSONRPC: "2.0", ID: resp.ID, Error: e})
	return out, err == nil
}

// paramsTypes are the SDK's params of the methods a client sends, used only to explain a
// decoding failure the SDK already answered; a method missing here gets a general message.
var paramsTypes = map[string]func() any{
	"initialize":               func() any { return new(mcp.InitializeParams) },
	"ping":                     func() any { return new(mcp.PingParams) },
	"tools/list":               func() any { return new(mcp.ListToolsParams) },
	"tools/call":               func() any { return new(mcp.CallToolParamsRaw) },
	"prompts/list":             func() any { return new(mcp.ListPromptsParams) },
	"prompts/get":              func() any { return new(mcp.GetPromptParams) },
	"resources/list":           func() any { return new(mcp.ListResourcesParams) },
	"resources/templates/list": func() any { return new(mcp.ListResourceTemplatesParams) },
	"resources/read":           func() any { return new(mcp.ReadResourceParams) },
	"resources/subscribe":      func() any { return new(mcp.SubscribeParams) },
	"resources/unsubscribe":    func() any { return new(mcp.UnsubscribeParams) },
	"completion/complete":      func() any { return new(mcp.CompleteParams) },
}

// explainParams is one line saying which field of a request's params has the wrong type and
// what it must be, in JSON's words (no Go type names).
func explainParams(method string, params json.RawMessage) string {
	m := "the method"
	if method != "" {
		m = strconv.Quote(clip(method))
	}
	if t := bytes.TrimSpace(params); len(t) > 0 && t[0] != '{' {
		return "Invalid params: the params of " + m + " must be an object, not " + jsonKindOf(t) + "; see the MCP schema."
	}
	if newParams, ok := paramsTypes[method]; ok {
		var ute *json.UnmarshalTypeError
		if err := json.Unmarshal(params, newParams()); errors.As(err, &ute) && ute.Field != "" {
			what, hint := "", "; see the MCP schema of "+m+"."
			if method == "tools/call" && ute.Field == "name" {
				what, hint = " (the tool's name)", "; see tools/list."
			}
			return "Invalid params: params." + ute.Field + " must be " + jsonkind.Want(ute.Type) + what + ", not " + jsonkind.Got(ute.Value) + hint
		}
	}
	return "Invalid params: a field of the params of " + m + " has the wrong type; check them against the MCP schema."
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
