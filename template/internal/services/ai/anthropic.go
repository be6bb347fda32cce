package ai

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/anthropics/anthropic-sdk-go/v2"
	"github.com/anthropics/anthropic-sdk-go/v2/option"
)

// anthropicProvider speaks Anthropic's Messages API through the official SDK.
type anthropicProvider struct {
	client    anthropic.Client
	maxTokens int64
}

// AnthropicParams configure the Anthropic provider.
type AnthropicParams struct {
	APIKey string
	// BaseURL is the API's root; empty means Anthropic's (https://api.anthropic.com).
	BaseURL string
	// HTTP is the client every call goes through; nil means http.DefaultClient.
	HTTP *http.Client
	// MaxTokens bounds an answer when a Request does not (Anthropic requires a bound).
	MaxTokens int64
}

// NewAnthropic returns a provider on the Anthropic SDK. It reads nothing from the
// environment itself (ANTHROPIC_API_KEY, profiles): the app's settings are the one source,
// and the SDK's retries are off so the httpclient service's policy is the only one.
func NewAnthropic(p AnthropicParams) Provider {
	hc := p.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	opts := []option.RequestOption{option.WithoutEnvironmentDefaults(), option.WithAPIKey(p.APIKey),
		option.WithHTTPClient(hc), option.WithMaxRetries(0),
		option.WithMiddleware(func(r *http.Request, next option.MiddlewareNext) (*http.Response, error) { return notAPI(next(r)) })}
	if p.BaseURL != "" {
		opts = append(opts, option.WithBaseURL(strings.TrimSuffix(p.BaseURL, "/")+"/"))
	}
	return &anthropicProvider{client: anthropic.NewClient(opts...), maxTokens: cmp.Or(p.MaxTokens, DefaultMaxOutputTokens)}
}

func (p *anthropicProvider) Kind() string { return ProviderAnthropic }

func (p *anthropicProvider) params(req Request) anthropic.MessageNewParams {
	out := anthropic.MessageNewParams{Model: anthropic.Model(req.Model), MaxTokens: cmp.Or(req.MaxTokens, p.maxTokens)}
	system := req.System
	for _, m := range req.Messages {
		switch m.Role {
		case RoleSystem:
			// Anthropic takes one system prompt beside the messages.
			system = strings.TrimSpace(system + "\n\n" + m.Content)
		case RoleAssistant:
			var blocks []anthropic.ContentBlockParamUnion
			if m.Content != "" {
				blocks = append(blocks, anthropic.NewTextBlock(m.Content))
			}
			for _, c := range m.ToolCalls {
				blocks = append(blocks, anthropic.NewToolUseBlock(c.ID, c.Arguments, c.Name))
			}
			if len(blocks) == 0 {
				// An empty answer in the history (a model may end its turn with no text): the
				// API refuses a message without content (400), so the whole conversation could
				// not go on; leaving it out only joins the user turns around it, as the API does.
				continue
			}
			out.Messages = append(out.Messages, anthropic.NewAssistantMessage(blocks...))
		case RoleTool:
			block := anthropic.NewToolResultBlock(m.ToolCallID, m.Content, m.IsError)
			// Consecutive tool results belong in one user message.
			if n := len(out.Messages); n > 0 && out.Messages[n-1].OfUser != nil && isToolResults(out.Messages[n-1]) {
				out.Messages[n-1].OfUser.Content = append(out.Messages[n-1].OfUser.Content, block)
				continue
			}
			out.Messages = append(out.Messages, anthropic.NewUserMessage(block))
		default:
			out.Messages = append(out.Messages, anthropic.NewUserMessage(anthropic.NewTextBlock(m.Content)))
		}
	}
	if system != "" {
		out.System = []anthropic.TextBlockParam{{Text: system}}
	}
	for _, t := range req.Tools {
		// Every other keyword ("required" among them, a []string written in Go or a []any
		// decoded from JSON) goes as it is.
		schema := anthropic.ToolInputSchemaParam{Properties: t.Schema["properties"]}
		extra := map[string]any{}
		for k, v := range t.Schema {
			if k != "properties" && k != "type" {
				extra[k] = v
			}
		}
		if len(extra) > 0 {
			schema.ExtraFields = extra
		}
		out.Tools = append(out.Tools, anthropic.ToolUnionParam{OfTool: &anthropic.ToolParam{
			Name: t.Name, Description: anthropic.String(t.Description), InputSchema: schema,
		}})
	}
	if req.Output != nil {
		out.OutputConfig.Format = anthropic.JSONOutputFormatParam{Schema: req.Output.Schema}
	}
	return out
}

func isToolResults(m anthropic.MessageParam) bool {
	for _, b := range m.OfUser.Content {
		if b.OfToolResult == nil {
			return false
		}
	}
	return true
}

func (p *anthropicProvider) Chat(ctx context.Context, req Request) (*Response, error) {
	msg, err := p.client.Messages.New(ctx, p.params(req), option.WithHeader("Idempotency-Key", idempotencyKey()))
	if err != nil {
		return nil, p.fail(err)
	}
	return fromMessage(msg), nil
}

func fromMessage(msg *anthropic.Message) *Response {
	// Anthropic's input_tokens leave out the prompt tokens written to or read from its cache;
	// they were consumed all the same, so the ledger and the quota count them as input.
	in := msg.Usage.InputTokens + msg.Usage.CacheCreationInputTokens + msg.Usage.CacheReadInputTokens
	out := &Response{Model: string(msg.Model), StopReason: string(msg.StopReason),
		Usage: Usage{InputTokens: in, OutputTokens: msg.Usage.OutputTokens,
			CacheReadTokens: msg.Usage.CacheReadInputTokens, CacheWriteTokens: msg.Usage.CacheCreationInputTokens}}
	var text strings.Builder
	for _, b := range msg.Content {
		switch b.Type {
		case "text":
			text.WriteString(b.Text)
		case "tool_use":
			args := json.RawMessage(b.Input)
			if len(args) == 0 {
				args = json.RawMessage("{}")
			}
			out.ToolCalls = append(out.ToolCalls, ToolCall{ID: b.ID, Name: b.Name, Arguments: args})
		}
	}
	out.Content = text.String()
	return out
}

func (p *anthropicProvider) Stream(ctx context.Context, req Request, onDelta func(string) error) (*Response, error) {
	stream := p.client.Messages.NewStreaming(ctx, p.params(req), option.WithHeader("Idempotency-Key", idempotencyKey()))
	defer stream.Close()
	var msg anthropic.Message
	stopped := false
	var cbErr error
	for stream.Next() {
		ev := stream.Current()
		if err := msg.Accumulate(ev); err != nil {
			cbErr = &ProviderError{Provider: ProviderAnthropic, Reason: "the stream was malformed", Err: err}
			break
		}
		// message_delta carries the stop reason and the final usage: the answer is whole even
		// if the stream ends before message_stop, as OpenAI's is with its finish_reason and
		// no [DONE].
		if ev.Type == "message_stop" || (ev.Type == "message_delta" && ev.Delta.StopReason != "") {
			stopped = true
		}
		if ev.Type == "content_block_delta" && ev.Delta.Type == "text_delta" && ev.Delta.Text != "" {
			if err := onDelta(ev.Delta.Text); err != nil {
				cbErr = err
				break
			}
		}
	}
	out := fromMessage(&msg)
	if out.Model == "" {
		out.Model = req.Model
	}
	if cbErr != nil {
		return out, cbErr
	}
	if err := stream.Err(); err != nil {
		return out, p.fail(err)
	}
	if !stopped {
		return out, &ProviderError{Provider: ProviderAnthropic, Reason: "the answer was cut short", Err: errors.New("stream ended before message_stop")}
	}
	return out, nil
}

func (p *anthropicProvider) Models(ctx context.Context) ([]string, error) {
	// The API pages its list (20 a page by default): every page, not the first only.
	pager := p.client.Models.ListAutoPaging(ctx, anthropic.ModelListParams{})
	var out []string
	for pager.Next() {
		out = append(out, pager.Current().ID)
	}
	if err := pager.Err(); err != nil {
		return nil, p.fail(err)
	}
	return out, nil
}

func (p *anthropicProvider) fail(err error) error {
	var apiErr *anthropic.Error
	if errors.As(err, &apiErr) {
		status := apiErr.StatusCode
		if status < 400 {
			// An error event in a stream whose 200 already went out: the event's type is the
			// failure, mapped to the status the API gives it on a plain request.
			status = streamErrorStatus(string(apiErr.Type()))
		}
		// The SDK's message quotes the request URL and the body; keep the status only.
		perr := refusalError(ProviderAnthropic, status, fmt.Errorf("anthropic error %d (%s)", status, apiErr.Type()),
			strings.HasPrefix(apiErr.Message, "prompt is too long"))
		return withRetryAfter(perr, apiErr.Response)
	}
	return providerError(ProviderAnthropic, 0, err)
}

// streamErrorStatus is the HTTP status Anthropic documents for an error type, for error
// events that arrive mid-stream; an unknown type is a provider failure (500).
func streamErrorStatus(errType string) int {
	switch errType {
	case "overloaded_error":
		return statusOverloaded
	case "rate_limit_error":
		return http.StatusTooManyRequests
	case "authentication_error":
		return http.StatusUnauthorized
	case "permission_error":
		return http.StatusForbidden
	case "not_found_error":
		return http.StatusNotFound
	case "invalid_request_error":
		return http.StatusBadRequest
	case "request_too_large":
		return http.StatusRequestEntityTooLarge
	case "timeout_error":
		return http.StatusGatewayTimeout
	}
	return http.StatusInternalServerError
}
