package ai

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/aegisgo/aegis/template/internal/services/httpclient"
)

// Role says who wrote a message.
type Role string

const (
	RoleSystem    Role = "system"
	RoleUser      Role = "user"
	RoleAssistant Role = "assistant"
	// RoleTool is the answer of a tool the model called; ToolCallID names the call.
	RoleTool Role = "tool"
)

// Message is one turn of a conversation, in the providers' common shape.
type Message struct {
	Role    Role   `json:"role"`
	Content string `json:"content"`
	// ToolCalls are the calls an assistant message asks for.
	ToolCalls []ToolCall `json:"tool_calls,omitempty"`
	// ToolCallID is the call a tool message answers.
	ToolCallID string `json:"tool_call_id,omitempty"`
	// IsError marks a tool message whose tool failed: Content is the error. Anthropic takes
	// the flag (is_error); OpenAI has none and reads the error from the content.
	IsError bool `json:"is_error,omitempty"`
}

// ToolCall is the model asking for a tool to run with arguments (a JSON object).
type ToolCall struct {
	ID        string          `json:"id"`
	Name      string          `json:"name"`
	Arguments json.RawMessage `json:"arguments"`
}

// ToolSpec offers a tool to the model: its name, what it does and its arguments' JSON schema.
type ToolSpec struct {
	Name        string
	Description string
	Schema      map[string]any
}

// OutputSchema constrains the answer to JSON matching Schema (structured output).
type OutputSchema struct {
	// Name identifies the schema to the provider: letters, digits, '_' and '-'.
	Name   string
	Schema map[string]any
}

// Request is one call to a model.
type Request struct {
	// Model is the provider's model name; empty means the profile's.
	Model string
	// System is the system prompt, empty for none.
	System   string
	Messages []Message
	Tools    []ToolSpec
	// MaxTokens bounds the answer; zero means AI_MAX_OUTPUT_TOKENS.
	MaxTokens int64
	// Output, when set, asks for a JSON answer matching its schema.
	Output *OutputSchema
}

// Usage is what a call consumed.
type Usage struct {
	InputTokens  int64 `json:"input_tokens"`
	OutputTokens int64 `json:"output_tokens"`
	// CacheReadTokens and CacheWriteTokens are the part of InputTokens the provider read from
	// or wrote to its prompt cache, which it prices apart (Anthropic: reads a tenth of the
	// input price, writes a quarter more; OpenAI: reads at a discount, writes free).
	CacheReadTokens  int64 `json:"cache_read_tokens,omitempty"`
	CacheWriteTokens int64 `json:"cache_write_tokens,omitempty"`
}

// add sums o into u.
func (u *Usage) add(o Usage) {
	u.InputTokens += o.InputTokens
	u.OutputTokens += o.OutputTokens
	u.CacheReadTokens += o.CacheReadTokens
	u.CacheWriteTokens += o.CacheWriteTokens
}

// Total is input and output tokens together.
func (u Usage) Total() int64 { return u.InputTokens + u.OutputTokens }

// Response is a model's answer, complete or, alongside an error from Stream, as far as it got.
type Response struct {
	Model     string     `json:"model"`
	Content   string     `json:"content"`
	ToolCalls []ToolCall `json:"tool_calls,omitempty"`
	Usage     Usage      `json:"usage"`
	// StopReason is the provider's word for why the answer ended ("stop", "end_turn",
	// "tool_calls", "length", ...).
	StopReason string `json:"stop_reason,omitempty"`
}

// Provider is one way to reach models: OpenAI, Anthropic, or an OpenAI-compatible server.
// Implementations are safe for concurrent use and never put their API key in an error.
type Provider interface {
	// Kind is the provider's kind: ProviderOpenAI, ProviderAnthropic or ProviderLocal.
	Kind() string
	// Chat sends req and returns the whole answer.
	Chat(ctx context.Context, req Request) (*Response, error)
	// Stream sends req and calls onDelta with each piece of text as it arrives, then returns
	// the whole answer. On an error (the provider's, a stream cut short, ctx cancelled, or
	// onDelta's, which stops the stream) it returns what arrived so far with the error, so
	// the caller can keep a partial answer and count its tokens.
	Stream(ctx context.Context, req Request, onDelta func(text string) error) (*Response, error)
	// Models lists the models the provider offers to this key.
	Models(ctx context.Context) ([]string, error)
}

// ErrNotConfigured is returned when no provider is set up; its message says how to set one.
var ErrNotConfigured = errors.New("ai: no provider is configured; set AI_PROVIDER (openai, anthropic or local), AI_MODEL and the provider's key (AI_OPENAI_API_KEY or AI_ANTHROPIC_API_KEY); for a local server AI_PROVIDER=local and AI_MODEL (and AI_LOCAL_BASE_URL if it is not at the default)")

// ProviderError is a provider's refusal or failure, with what a caller may show: the status
// and a short reason, never the key, the request or the provider's raw body.
type ProviderError struct {
	Provider string
	// Status is the provider's HTTP status; 0 for a transport failure or a broken stream.
	Status int
	// Reason is a short explanation safe to show to clients.
	Reason string
	// Err is the underlying error, for logs and errors.Is (it may hold the provider's
	// message; do not show it to clients).
	Err error
	// RetryAfter is how long the provider asked to wait (its Retry-After, bounded to
	// MinRetryAfter..MaxRetryAfter), or, while the app's circuit breaker for the provider is
	// open, how long before it lets a call through; 0 when neither is known.
	RetryAfter time.Duration
}

// The bounds of a ProviderError's RetryAfter, and the wait a client is told when the provider
// gave none.
const (
	MinRetryAfter     = time.Second
	MaxRetryAfter     = time.Hour
	DefaultRetryAfter = 30 * time.Second
)

// boundRetryAfter keeps a wait within MinRetryAfter..MaxRetryAfter.
func boundRetryAfter(d time.Duration) time.Duration {
	return min(max(d, MinRetryAfter), MaxRetryAfter)
}

// withRetryAfter sets err's RetryAfter from the provider's response: Retry-After (seconds or
// an HTTP date), else retry-after-ms, which OpenAI and Anthropic send and their SDKs honour.
// The httpclient service may have waited and retried first: resp is the last attempt's.
func withRetryAfter(err error, resp *http.Response) error {
	var pe *ProviderError
	if resp == nil || !errors.As(err, &pe) {
		return err
	}
	if d, ok := httpclient.RetryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
		pe.RetryAfter = boundRetryAfter(d)
	} else if ms, perr := strconv.ParseFloat(strings.TrimSpace(resp.Header.Get("Retry-After-Ms")), 64); perr == nil && ms >= 0 && ms < float64(MaxRetryAfter/time.Millisecond) {
		pe.RetryAfter = boundRetryAfter(time.Duration(ms * float64(time.Millisecond)))
	}
	return err
}

func (e *ProviderError) Error() string {
	if e.Status != 0 {
		return fmt.Sprintf("ai: %s answered %d: %s", e.Provider, e.Status, e.Reason)
	}
	return fmt.Sprintf("ai: %s: %s", e.Provider, e.Reason)
}

func (e *ProviderError) Unwrap() error { return e.Err }

// providerError wraps an SDK's error: status (0 when none) and the cause.
// statusOverloaded is Anthropic's status for "overloaded_error": the API is out of capacity,
// not failing; a retry later usually succeeds.
const statusOverloaded = 529

func providerError(provider string, status int, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("ai: %s: %w", provider, err)
	}
	reason := "the call failed before an answer arrived"
	switch {
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		reason = "the API key was refused; check " + keySetting(provider)
	case status == http.StatusNotFound:
		// The operator's to fix: a misspelt model, or a base URL missing its /v1.
		reason = "the model or endpoint is unknown to the provider; check the profile's model (AI_MODEL or AI_PROFILES) and " + baseURLSetting(provider)
	case status == http.StatusTooManyRequests:
		reason = "rate limited or out of quota at the provider; retry later"
	case status == http.StatusBadRequest || status == http.StatusUnprocessableEntity:
		reason = "the provider refused the request as invalid"
	case status == http.StatusRequestEntityTooLarge:
		// Anthropic's request_too_large: an answer came, so not "failed before an answer".
		reason = "the request is too large for the provider; shorten the prompt or start a new conversation"
	case status == statusOverloaded:
		reason = "the provider is overloaded; retry later"
	case status >= 500:
		reason = "the provider failed; retry later"
	case errors.Is(err, errNotAPI):
		reason = "the answer is an HTML page, not the API's; check that " + baseURLSetting(provider) + " is the root of the provider's API"
	case errors.Is(err, errNotJSON):
		reason = "the provider's answer could not be read: it is not valid JSON; check that " + baseURLSetting(provider) + " is the root of the provider's API"
	case status == 0:
		reason = "the connection failed or the answer was cut short"
		if r, ok := httpclient.Reason(err, baseURLSetting(provider)); ok {
			reason = r
		}
	}
	pe := &ProviderError{Provider: provider, Status: status, Reason: reason, Err: err}
	if wait, ok := httpclient.BreakerWait(err); ok {
		// Refused by the provider's open circuit breaker: retry once it lets a call through.
		pe.RetryAfter = boundRetryAfter(wait)
	}
	return pe
}

// reasonContextTooLong is the reason of a provider's refusal of a prompt that, with the
// conversation's history, is longer than the model's context window: the one 400 a user can
// fix, so it is told apart from "refused the request as invalid".
const reasonContextTooLong = "the prompt and the conversation's history are longer than the model's context window; shorten the prompt or start a new conversation"

// refusalError is providerError for a provider's error answer (status >= 400, or an error
// event): tooLong says the provider called the prompt longer than the model's context window
// (OpenAI's error code context_length_exceeded, Anthropic's message "prompt is too long: N
// tokens > M maximum", its only sign), which a 400 then says instead of "invalid".
func refusalError(provider string, status int, err error, tooLong bool) error {
	perr := providerError(provider, status, err)
	if pe, ok := perr.(*ProviderError); ok && tooLong && status == http.StatusBadRequest {
		pe.Reason = reasonContextTooLong
	}
	return perr
}

// keySetting names the setting of a provider kind's key, for the reason of a refused key.
func keySetting(provider string) string {
	switch provider {
	case ProviderOpenAI:
		return "AI_OPENAI_API_KEY"
	case ProviderAnthropic:
		return "AI_ANTHROPIC_API_KEY"
	case ProviderLocal:
		return "AI_LOCAL_API_KEY"
	}
	return "the provider's key setting"
}

// baseURLSetting names the setting of a provider kind's base URL, for the reason of a host
// that did not resolve or refused the connection.
func baseURLSetting(provider string) string {
	switch provider {
	case ProviderOpenAI:
		return "AI_OPENAI_BASE_URL"
	case ProviderAnthropic:
		return "AI_ANTHROPIC_BASE_URL"
	case ProviderLocal:
		return "AI_LOCAL_BASE_URL"
	}
	return "the base URL setting"
}

// idempotencyKey is a fresh key per call: the httpclient service retries a POST (on 429,
// 5xx or a transport error before the answer) only when it carries one, and a retried
// generation is worth its cost where a failed one is not.
func idempotencyKey() string { return "ai-" + rand.Text() }

// errNotAPI is a successful answer that is an HTML page: the base URL reaches a web UI, a
// proxy's login page or a site answering any path, not the provider's API. The SDKs' own
// errors for it said the connection failed or the answer was cut short.
var errNotAPI = errors.New("ai: the answer is an HTML page, not the API's")

// errNotJSON is a successful answer labelled JSON whose body is not JSON: a proxy's error page
// sent as application/json, or an answer cut off by something in between. The SDKs' own
// errors for it (a decoding error with no status) read as "the connection failed".
var errNotJSON = errors.New("ai: the answer is labelled JSON but is not valid JSON")

// notAPI is the SDKs' middleware's check of an answer: a 2xx HTML page is errNotAPI, and a 2xx
// JSON answer (not a stream) whose body is not JSON is errNotJSON, the body closed either way.
// The SDKs read a JSON answer whole before decoding it, so reading it here first costs a
// json.Valid pass over its bytes (a few KB for a chat answer) and no more memory; streams
// (text/event-stream) are not read here.
func notAPI(resp *http.Response, err error) (*http.Response, error) {
	if err != nil || resp.StatusCode/100 != 2 {
		return resp, err
	}
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	switch {
	case mt == "text/html":
		_ = resp.Body.Close()
		return nil, errNotAPI
	case mt == "application/json" && resp.Body != nil && resp.Body != http.NoBody:
		b, rerr := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if rerr != nil {
			// Cut off on the way: the transport's error, classified as such.
			return nil, fmt.Errorf("ai: reading the answer: %w", rerr)
		}
		if !json.Valid(b) {
			return nil, errNotJSON
		}
		resp.Body = io.NopCloser(bytes.NewReader(b))
	}
	return resp, nil
}
