package ai

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/shared"
)

// openAIProvider speaks OpenAI's chat completions API through the official SDK: OpenAI
// itself, or any OpenAI-compatible server (Ollama, llama.cpp's server, vLLM, LM Studio) by
// base URL, which is the "local" kind.
type openAIProvider struct {
	kind      string
	client    openai.Client
	maxTokens int64
}

// OpenAIParams configure an OpenAI or OpenAI-compatible provider.
type OpenAIParams struct {
	// Kind is ProviderOpenAI or ProviderLocal; it names the provider in errors and the ledger.
	Kind string
	// APIKey is sent as a bearer token; a local server may need none.
	APIKey string
	// BaseURL is the API's root, such as https://api.openai.com/v1 or
	// http://localhost:11434/v1; empty means OpenAI's.
	BaseURL string
	// HTTP is the client every call goes through (the httpclient service's, with its retries
	// and circuit breaker); nil means http.DefaultClient.
	HTTP *http.Client
	// MaxTokens bounds an answer when a Request does not.
	MaxTokens int64
}

// NewOpenAI returns a provider on the OpenAI SDK. The SDK's own retries are off: the
// httpclient service's policy is the one retry policy of the app.
func NewOpenAI(p OpenAIParams) Provider {
	if p.Kind == "" {
		p.Kind = ProviderOpenAI
	}
	hc := p.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	key := p.APIKey
	if key == "" {
		// The SDK wants a key; local servers ignore the header.
		key = "none"
	}
	opts := []option.RequestOption{option.WithAPIKey(key), option.WithHTTPClient(hc), option.WithMaxRetries(0),
		option.WithMiddleware(func(r *http.Request, next option.MiddlewareNext) (*http.Response, error) { return notAPI(next(r)) })}
	if p.BaseURL != "" {
		opts = append(opts, option.WithBaseURL(strings.TrimSuffix(p.BaseURL, "/")+"/"))
	}
	return &openAIProvider{kind: p.Kind, client: openai.NewClient(opts...), maxTokens: p.MaxTokens}
}

func (p *openAIProvider) Kind() string { return p.kind }

func (p *openAIProvider) params(req Request) openai.ChatCompletionNewParams {
	var msgs []openai.ChatCompletionMessageParamUnion
	if req.System != "" {
		msgs = append(msgs, openai.SystemMessage(req.System))
	}
	for _, m := range req.Messages {
		switch m.Role {
		case RoleSystem:
			msgs = append(msgs, openai.SystemMessage(m.Content))
		case RoleAssistant:
			a := openai.ChatCompletionAssistantMessageParam{}
			if m.Content != "" {
				a.Content.OfString = openai.String(m.Content)
			}
			for _, c := range m.ToolCalls {
				a.ToolCalls = append(a.ToolCalls, openai.ChatCompletionMessageToolCallUnionParam{
					OfFunction: &openai.ChatCompletionMessageFunctionToolCallParam{ID: c.ID,
						Function: openai.ChatCompletionMessageFunctionToolCallFunctionParam{Name: c.Name, Arguments: string(c.Arguments)}},
				})
			}
			msgs = append(msgs, openai.ChatCompletionMessageParamUnion{OfAssistant: &a})
		case RoleTool:
			msgs = append(msgs, openai.ToolMessage(m.Content, m.ToolCallID))
		default:
			msgs = append(msgs, openai.UserMessage(m.Content))
		}
	}
	out := openai.ChatCompletionNewParams{Model: shared.ChatModel(req.Model), Messages: msgs}
	if n := cmp.Or(req.MaxTokens, p.maxTokens); n > 0 {
		out.MaxCompletionTokens = openai.Int(n)
	}
	for _, t := range req.Tools {
		out.Tools = append(out.Tools, openai.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{
			Name: t.Name, Description: openai.String(t.Description), Parameters: shared.FunctionParameters(t.Schema),
		}))
	}
	if req.Output != nil {
		out.ResponseFormat.OfJSONSchema = &shared.ResponseFormatJSONSchemaParam{JSONSchema: shared.ResponseFormatJSONSchemaJSONSchemaParam{
			Name: req.Output.Name, Schema: req.Output.Schema, Strict: openai.Bool(true),
		}}
	}
	return out
}

func (p *openAIProvider) Chat(ctx context.Context, req Request) (*Response, error) {
	c, err := p.client.Chat.Completions.New(ctx, p.params(req), option.WithHeader("Idempotency-Key", idempotencyKey()))
	if err != nil {
		return nil, p.fail(err)
	}
	out := &Response{Model: c.Model, Usage: Usage{InputTokens: c.Usage.PromptTokens, OutputTokens: c.Usage.CompletionTokens,
		CacheReadTokens: c.Usage.PromptTokensDetails.CachedTokens}}
	if len(c.Choices) == 0 {
		return out, &ProviderError{Provider: p.kind, Reason: "the answer has no choices"}
	}
	ch := c.Choices[0]
	out.Content, out.StopReason = ch.Message.Content, ch.FinishReason
	for _, tc := range ch.Message.ToolCalls {
		out.ToolCalls = append(out.ToolCalls, ToolCall{ID: tc.ID, Name: tc.Function.Name, Arguments: rawArgs(tc.Function.Arguments)})
	}
	return out, nil
}

// Stream posts the request through the SDK (its request building, auth and error statuses)
// but reads the event stream itself, into chatChunk: the SDK's decoder keeps the last chunk
// with the gjson maps of its metadata (about 11 KB) for as long as the stream waits for the
// next one, and decoding its 1.4 KB chunk type by value through reflection grows the
// goroutine's stack, which a handler holding a stream for minutes then keeps. See "Concurrent
// open streams" in bench/RESULTS.md.
func (p *openAIProvider) Stream(ctx context.Context, req Request, onDelta func(string) error) (*Response, error) {
	raw, err := p.post(ctx, req)
	if raw != nil && raw.Body != nil {
		defer raw.Body.Close()
	}
	out := &Response{Model: req.Model}
	if err != nil {
		return out, p.fail(err)
	}
	dec := newEventReader(raw.Body)
	acc := new(streamAcc)
	var cbErr error
	for dec.next() {
		done, err := acc.add(dec.data, out, onDelta)
		if err != nil {
			if errors.Is(err, errStreamErrorEvent) {
				// The 200 went out, then the server sent an error instead of the next chunk
				// (its body can quote the request, so it stays in Err, for errors.Is only).
				return acc.finish(out), &ProviderError{Provider: p.kind, Reason: "the provider reported an error in the middle of the answer; retry later", Err: err}
			}
			if errors.Is(err, errBadStream) {
				return acc.finish(out), p.fail(err)
			}
			cbErr = err
			break
		}
		if done {
			break
		}
	}
	acc.finish(out)
	if cbErr != nil {
		return out, cbErr
	}
	if err := dec.err; err != nil {
		return out, p.fail(err)
	}
	if out.StopReason == "" {
		// The server closed the stream without finishing the answer.
		return out, &ProviderError{Provider: p.kind, Reason: "the answer was cut short", Err: errors.New("stream ended without a finish reason")}
	}
	return out, nil
}

// post sends a streamed chat request. The SDK's request parameters are a 2.8 KB value: built
// here, they stay off Stream's frame, which is on the stack for the whole answer.
func (p *openAIProvider) post(ctx context.Context, req Request) (*http.Response, error) {
	params := p.params(req)
	params.StreamOptions.IncludeUsage = openai.Bool(true)
	var raw *http.Response
	err := p.client.Post(ctx, "chat/completions", params, &raw,
		option.WithHeader("Idempotency-Key", idempotencyKey()), option.WithJSONSet("stream", true))
	return raw, err
}

// eventReader reads the data of a text/event-stream's events, as the SDK's decoder does
// (event names and comments are skipped, data lines are joined with newlines), on a smaller
// buffer: the SDK's bufio.Scanner takes 4 KB per stream where a chunk is a few hundred bytes.
// A longer line is gathered in data, up to maxEventBytes.
type eventReader struct {
	r    *bufio.Reader
	data []byte
	err  error
}

// eventBufferBytes is the read buffer of a stream; maxEventBytes bounds one event (the SDK's
// bound).
const (
	eventBufferBytes = 512
	maxEventBytes    = 32 << 20
)

func newEventReader(body io.Reader) *eventReader {
	return &eventReader{r: bufio.NewReaderSize(body, eventBufferBytes)}
}

// next reads up to the end of the next event with data; false at the end of the stream or
// on an error (err, nil at a clean end).
func (e *eventReader) next() bool {
	e.data = e.data[:0]
	var line []byte
	for {
		chunk, err := e.r.ReadSlice('\n')
		if err == bufio.ErrBufferFull || (err == nil && line != nil) {
			// A line longer than the buffer, or the end of one.
			if len(line)+len(chunk) > maxEventBytes {
				e.err = errors.New("an event is larger than 32 MB")
				return false
			}
			line = append(line, chunk...)
			if err == bufio.ErrBufferFull {
				continue
			}
			chunk = line
		}
		if err != nil && err != bufio.ErrBufferFull {
			if err != io.EOF {
				e.err = err
			}
			// A last event without its blank line is dropped, as the SDK drops it.
			return false
		}
		line = nil
		chunk = bytes.TrimSuffix(bytes.TrimSuffix(chunk, []byte("\n")), []byte("\r"))
		if len(chunk) == 0 {
			if len(e.data) > 0 {
				return true
			}
			continue
		}
		name, value, _ := bytes.Cut(chunk, []byte(":"))
		if string(name) != "data" {
			continue // a comment, an event name, an ID or a retry
		}
		value = bytes.TrimPrefix(value, []byte(" "))
		if len(e.data)+len(value) > maxEventBytes {
			e.err = errors.New("an event is larger than 32 MB")
			return false
		}
		e.data = append(e.data, value...)
		e.data = append(e.data, '\n')
	}
}

// chatChunk is what Stream reads of a chat completion chunk.
type chatChunk struct {
	Model   string `json:"model"`
	Choices []struct {
		Delta struct {
			Content   string `json:"content"`
			ToolCalls []struct {
				Index    int64  `json:"index"`
				ID       string `json:"id"`
				Function struct {
					Name      string `json:"name"`
					Arguments string `json:"arguments"`
				} `json:"function"`
			} `json:"tool_calls"`
		} `json:"delta"`
		FinishReason string `json:"finish_reason"`
	} `json:"choices"`
	Usage struct {
		PromptTokens        int64 `json:"prompt_tokens"`
		CompletionTokens    int64 `json:"completion_tokens"`
		TotalTokens         int64 `json:"total_tokens"`
		PromptTokensDetails struct {
			CachedTokens int64 `json:"cached_tokens"`
		} `json:"prompt_tokens_details"`
	} `json:"usage"`
	// Error is an error the server sends in the stream instead of a chunk.
	Error json.RawMessage `json:"error"`
}

// errBadStream marks a stream that failed on the server's side: an error it sent as an
// event, or a chunk that is not JSON.
var errBadStream = errors.New("openai stream")

// errStreamErrorEvent marks the error event of errBadStream.
var errStreamErrorEvent = errors.New("error event")

// streamAcc gathers a streamed answer: its text, and its tool calls, which arrive in pieces
// keyed by index (the first carries the ID and the name, the next ones more of the
// arguments).
type streamAcc struct {
	text  strings.Builder
	calls []ToolCall
	args  []strings.Builder
}

// add decodes one event's data into out and acc, and hands its text to onDelta; done is the
// end of the stream ([DONE]). It is a function of its own so that the decoding's frames are
// off the stack while Stream waits for the next event.
func (acc *streamAcc) add(data []byte, out *Response, onDelta func(string) error) (done bool, err error) {
	if bytes.HasPrefix(data, []byte("[DONE]")) {
		return true, nil
	}
	var chunk chatChunk
	if err := json.Unmarshal(data, &chunk); err != nil {
		return false, fmt.Errorf("%w: decode chunk: %w", errBadStream, err)
	}
	if len(chunk.Error) > 0 {
		return false, fmt.Errorf("%w: %w: %s", errBadStream, errStreamErrorEvent, chunk.Error)
	}
	if chunk.Model != "" {
		out.Model = chunk.Model
	}
	if u := chunk.Usage; u.TotalTokens > 0 || u.PromptTokens > 0 {
		out.Usage = Usage{InputTokens: u.PromptTokens, OutputTokens: u.CompletionTokens, CacheReadTokens: u.PromptTokensDetails.CachedTokens}
	}
	if len(chunk.Choices) == 0 {
		return false, nil
	}
	ch := &chunk.Choices[0]
	if ch.FinishReason != "" {
		out.StopReason = ch.FinishReason
	}
	for _, tc := range ch.Delta.ToolCalls {
		i := int(tc.Index)
		if i < 0 || i > 127 {
			continue
		}
		for len(acc.calls) <= i {
			acc.calls = append(acc.calls, ToolCall{})
			acc.args = append(acc.args, strings.Builder{})
		}
		if tc.ID != "" {
			acc.calls[i].ID = tc.ID
		}
		if tc.Function.Name != "" {
			acc.calls[i].Name = tc.Function.Name
		}
		acc.args[i].WriteString(tc.Function.Arguments)
	}
	if d := ch.Delta.Content; d != "" {
		acc.text.WriteString(d)
		return false, onDelta(d)
	}
	return false, nil
}

// finish puts the answer as far as it got into out.
func (acc *streamAcc) finish(out *Response) *Response {
	out.Content = acc.text.String()
	for i := range acc.calls {
		acc.calls[i].Arguments = rawArgs(acc.args[i].String())
	}
	out.ToolCalls = acc.calls
	return out
}

func (p *openAIProvider) Models(ctx context.Context) ([]string, error) {
	page, err := p.client.Models.List(ctx)
	if err != nil {
		return nil, p.fail(err)
	}
	out := make([]string, 0, len(page.Data))
	for _, m := range page.Data {
		out = append(out, m.ID)
	}
	return out, nil
}

func (p *openAIProvider) fail(err error) error {
	var apiErr *openai.Error
	if errors.As(err, &apiErr) {
		// The SDK's message quotes the request URL and the body; keep only the status and
		// the provider's error code in the chain.
		perr := refusalError(p.kind, apiErr.StatusCode, fmt.Errorf("openai error %d %s", apiErr.StatusCode, apiErr.Code),
			apiErr.Code == "context_length_exceeded")
		return withRetryAfter(perr, apiErr.Response)
	}
	return providerError(p.kind, 0, err)
}

// rawArgs makes a model's argument string a JSON value; what is not JSON is kept as a JSON
// string so the tool loop can report it as invalid.
func rawArgs(s string) json.RawMessage {
	if s == "" {
		return json.RawMessage("{}")
	}
	if json.Valid([]byte(s)) {
		return json.RawMessage(s)
	}
	b, _ := json.Marshal(s)
	return b
}
