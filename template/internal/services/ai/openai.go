package ai

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
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
	opts := []option.RequestOption{option.WithAPIKey(key), option.WithHTTPClient(hc), option.WithMaxRetries(0)}
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
	out := &Response{Model: c.Model, Usage: Usage{InputTokens: c.Usage.PromptTokens, OutputTokens: c.Usage.CompletionTokens}}
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

func (p *openAIProvider) Stream(ctx context.Context, req Request, onDelta func(string) error) (*Response, error) {
	params := p.params(req)
	params.StreamOptions.IncludeUsage = openai.Bool(true)
	stream := p.client.Chat.Completions.NewStreaming(ctx, params, option.WithHeader("Idempotency-Key", idempotencyKey()))
	defer stream.Close()
	out := &Response{Model: req.Model}
	var text strings.Builder
	// Tool calls arrive in pieces, keyed by index: the first carries the ID and the name,
	// the next ones more of the arguments.
	var calls []ToolCall
	var args []strings.Builder
	var cbErr error
	for stream.Next() {
		chunk := stream.Current()
		if chunk.Model != "" {
			out.Model = chunk.Model
		}
		if chunk.Usage.TotalTokens > 0 || chunk.Usage.PromptTokens > 0 {
			out.Usage = Usage{InputTokens: chunk.Usage.PromptTokens, OutputTokens: chunk.Usage.CompletionTokens}
		}
		if len(chunk.Choices) == 0 {
			continue
		}
		ch := chunk.Choices[0]
		if ch.FinishReason != "" {
			out.StopReason = ch.FinishReason
		}
		for _, tc := range ch.Delta.ToolCalls {
			i := int(tc.Index)
			if i < 0 || i > 127 {
				continue
			}
			for len(calls) <= i {
				calls = append(calls, ToolCall{})
				args = append(args, strings.Builder{})
			}
			if tc.ID != "" {
				calls[i].ID = tc.ID
			}
			if tc.Function.Name != "" {
				calls[i].Name = tc.Function.Name
			}
			args[i].WriteString(tc.Function.Arguments)
		}
		if d := ch.Delta.Content; d != "" {
			text.WriteString(d)
			if err := onDelta(d); err != nil {
				cbErr = err
				break
			}
		}
	}
	out.Content = text.String()
	for i := range calls {
		calls[i].Arguments = rawArgs(args[i].String())
	}
	out.ToolCalls = calls
	if cbErr != nil {
		return out, cbErr
	}
	if err := stream.Err(); err != nil {
		return out, p.fail(err)
	}
	if out.StopReason == "" {
		// The server closed the stream without finishing the answer.
		return out, &ProviderError{Provider: p.kind, Reason: "the answer was cut short", Err: errors.New("stream ended without a finish reason")}
	}
	return out, nil
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
		return providerError(p.kind, apiErr.StatusCode, fmt.Errorf("openai error %d %s", apiErr.StatusCode, apiErr.Code))
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
