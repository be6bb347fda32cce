package ai

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// Behaviours of the fake providers.
const (
	fakeOK      = "ok"
	fakeTool    = "tool"
	fakeCut     = "cut"     // the stream closes mid-answer
	fake401     = "401"     // the key is refused
	fake429     = "429"     // rate limited
	fake500     = "500"     // the provider fails
	fakeFlaky   = "flaky"   // 500 once, then ok
	fakeNoModel = "nomodel" // 404 for the model
	fakeSlow    = "slow"    // a long stream, a word every 20ms, until the client goes
	fakeHang    = "hang"    // no answer at all (JSON or stream) until the client goes
	// fakeOverloaded: Anthropic's stream sends an error event (overloaded_error) mid-answer,
	// as its API does when it runs out of capacity after the 200 went out.
	fakeOverloaded = "overloaded"
	// fake529: Anthropic answers 529 (overloaded_error) before any answer.
	fake529 = "529"
	// fakeTooLong: the prompt and its history exceed the model's context window (400).
	fakeTooLong = "toolong"
	// fakeNoStop: the stream ends after the whole answer and its stop reason (OpenAI's
	// finish_reason and usage, Anthropic's message_delta) without the last event (OpenAI's
	// [DONE], Anthropic's message_stop).
	fakeNoStop = "nostop"
	// fakeNotAPI: 200 with an HTML page, JSON or stream, as a web UI or proxy at a wrong base
	// URL answers any path.
	fakeNotAPI = "notapi"
	// fakeNotJSON and fakeTruncatedJSON: 200 labelled application/json (JSON or stream
	// request) whose body is not JSON: a proxy's error page mislabelled, or an answer cut off.
	fakeNotJSON       = "notjson"
	fakeTruncatedJSON = "truncatedjson"
)

// fakeProvider is an httptest server speaking OpenAI's chat completions API (and so
// Ollama's, llama.cpp's and vLLM's OpenAI-compatible endpoints) or Anthropic's Messages API,
// in their documented wire formats, JSON and SSE.
type fakeProvider struct {
	t    testing.TB
	srv  *httptest.Server
	mode string
	// words are the answer, one SSE delta each.
	words []string

	// retryAfter is the Retry-After of a 429 ("0" when empty, none when "none");
	// retryAfterMs, when set, is its retry-after-ms header.
	retryAfter, retryAfterMs string

	// cacheUsage, when set, is the provider's prompt-cache counts added to its usage:
	// Anthropic's `"cache_read_input_tokens":N,` (in the answer and in message_start),
	// OpenAI's `,"prompt_tokens_details":{"cached_tokens":N}` (in the answer and the last chunk).
	cacheUsage string

	// gone is closed when a slow stream's client went away.
	gone     chan struct{}
	mu       sync.Mutex
	requests []map[string]any
	headers  []http.Header
	calls    int
}

func newFakeOpenAI(t testing.TB, mode string) *fakeProvider {
	f := &fakeProvider{t: t, mode: mode, words: []string{"Hello", ", ", "world"}, gone: make(chan struct{})}
	f.srv = httptest.NewServer(http.HandlerFunc(f.openAI))
	t.Cleanup(f.srv.Close)
	return f
}

func newFakeAnthropic(t testing.TB, mode string) *fakeProvider {
	f := &fakeProvider{t: t, mode: mode, words: []string{"Hello", ", ", "world"}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.anthropic))
	t.Cleanup(f.srv.Close)
	return f
}

// record keeps the request and returns its body and the call's number (1 for the first).
func (f *fakeProvider) record(r *http.Request) (map[string]any, int) {
	b, _ := io.ReadAll(r.Body)
	var body map[string]any
	_ = json.Unmarshal(b, &body)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	f.requests = append(f.requests, body)
	f.headers = append(f.headers, r.Header.Clone())
	return body, f.calls
}

func (f *fakeProvider) last() (map[string]any, http.Header) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.requests) == 0 {
		f.t.Fatal("the fake provider got no request")
	}
	return f.requests[len(f.requests)-1], f.headers[len(f.headers)-1]
}

func (f *fakeProvider) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

// fail answers the error modes in OpenAI's error shape (Anthropic's when anthropic), and
// reports whether it did.
func (f *fakeProvider) fail(w http.ResponseWriter, n int, anthropic bool) bool {
	status := 0
	switch f.mode {
	case fake401:
		status = 401
	case fake429:
		status = 429
	case fake500:
		status = 500
	case fakeNoModel:
		status = 404
	case fake529:
		status = 529
	case fakeTooLong:
		status = 400
	case fakeFlaky:
		if n == 1 {
			status = 500
		}
	}
	if f.mode == fakeNotAPI {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, "<!doctype html><html><body>Open WebUI</body></html>\n")
		return true
	}
	if f.mode == fakeNotJSON || f.mode == fakeTruncatedJSON {
		w.Header().Set("Content-Type", "application/json")
		if f.mode == fakeNotJSON {
			fmt.Fprint(w, "<html><body>502 Bad Gateway</body></html>\n")
		} else {
			fmt.Fprint(w, `{"id":"chatcmpl-1","type":"message","content":[{"type":"te`)
		}
		return true
	}
	if status == 0 {
		return false
	}
	w.Header().Set("Content-Type", "application/json")
	if status == 429 {
		switch f.retryAfter {
		case "":
			w.Header().Set("Retry-After", "0")
		case "none":
		default:
			w.Header().Set("Retry-After", f.retryAfter)
		}
		if f.retryAfterMs != "" {
			w.Header().Set("Retry-After-Ms", f.retryAfterMs)
		}
	}
	w.WriteHeader(status)
	if f.mode == fakeTooLong && anthropic {
		fmt.Fprint(w, `{"type":"error","error":{"type":"invalid_request_error","message":"prompt is too long: 250000 tokens > 200000 maximum"}}`)
	} else if f.mode == fakeTooLong {
		fmt.Fprint(w, `{"error":{"message":"This model's maximum context length is 128000 tokens.","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}}`)
	} else if anthropic && status == 529 {
		fmt.Fprint(w, `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`)
	} else if anthropic {
		fmt.Fprintf(w, `{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key sk-ant-secret"}}`)
	} else {
		fmt.Fprintf(w, `{"error":{"message":"Incorrect API key provided: sk-secret","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}`)
	}
	return true
}

func (f *fakeProvider) openAI(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/models") {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"object":"list","data":[{"id":"gpt-4o-mini","object":"model","created":1,"owned_by":"openai"},{"id":"gpt-4.1","object":"model","created":1,"owned_by":"openai"}]}`)
		return
	}
	if !strings.HasSuffix(r.URL.Path, "/chat/completions") {
		http.NotFound(w, r)
		return
	}
	body, n := f.record(r)
	if f.fail(w, n, false) {
		return
	}
	if f.mode == fakeHang {
		<-r.Context().Done()
		close(f.gone)
		return
	}
	model, _ := body["model"].(string)
	if stream, _ := body["stream"].(bool); !stream {
		w.Header().Set("Content-Type", "application/json")
		msg := fmt.Sprintf(`{"role":"assistant","content":%q}`, strings.Join(f.words, ""))
		finish := "stop"
		if f.mode == fakeTool && !hasToolResult(body) {
			msg = `{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"weather","arguments":"{\"city\":\"Paris\"}"}}]}`
			finish = "tool_calls"
		}
		fmt.Fprintf(w, `{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":%q,"choices":[{"index":0,"message":%s,"finish_reason":%q,"logprobs":null}],"usage":{"prompt_tokens":12,"completion_tokens":3,"total_tokens":15%s}}`, model, msg, finish, f.cacheUsage)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	fl := w.(http.Flusher)
	chunk := func(delta, finish string) {
		fin := "null"
		if finish != "" {
			fin = fmt.Sprintf("%q", finish)
		}
		fmt.Fprintf(w, "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":%q,\"choices\":[{\"index\":0,\"delta\":%s,\"finish_reason\":%s}]}\n\n", model, delta, fin)
		fl.Flush()
	}
	chunk(`{"role":"assistant","content":""}`, "")
	if f.mode == fakeSlow {
		for range 500 {
			select {
			case <-r.Context().Done():
				close(f.gone)
				return
			case <-time.After(20 * time.Millisecond):
			}
			chunk(`{"content":"word "}`, "")
		}
		return
	}
	if f.mode == fakeTool {
		chunk(`{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"weather","arguments":""}}]}`, "")
		chunk(`{"tool_calls":[{"index":0,"function":{"arguments":"{\"city\":"}}]}`, "")
		chunk(`{"tool_calls":[{"index":0,"function":{"arguments":"\"Paris\"}"}}]}`, "tool_calls")
	} else {
		for i, word := range f.words {
			chunk(fmt.Sprintf(`{"content":%q}`, word), "")
			if f.mode == fakeCut && i == 1 {
				return // the connection closes mid-answer
			}
			if f.mode == fakeOverloaded && i == 1 {
				// An error instead of the next chunk, as OpenAI-compatible servers send one.
				fmt.Fprint(w, "data: {\"error\":{\"message\":\"The server is overloaded (key sk-secret)\",\"type\":\"server_error\",\"code\":null}}\n\n")
				fl.Flush()
				return
			}
		}
		chunk(`{}`, "stop")
	}
	fmt.Fprintf(w, "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":%q,\"choices\":[],\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":3,\"total_tokens\":15%s}}\n\n", model, f.cacheUsage)
	if f.mode == fakeNoStop {
		fl.Flush()
		return
	}
	fmt.Fprint(w, "data: [DONE]\n\n")
	fl.Flush()
}

func hasToolResult(body map[string]any) bool {
	msgs, _ := body["messages"].([]any)
	for _, m := range msgs {
		mm, _ := m.(map[string]any)
		if mm["role"] == "tool" {
			return true
		}
		if content, ok := mm["content"].([]any); ok {
			for _, c := range content {
				if cm, _ := c.(map[string]any); cm["type"] == "tool_result" {
					return true
				}
			}
		}
	}
	return false
}

func (f *fakeProvider) anthropic(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/v1/models") {
		w.Header().Set("Content-Type", "application/json")
		// Two pages, as the API pages its list (20 a page by default): the second after the first's last_id.
		if r.URL.Query().Get("after_id") == "claude-sonnet-4-5" {
			fmt.Fprint(w, `{"data":[{"type":"model","id":"claude-haiku-4-5","display_name":"Claude Haiku 4.5","created_at":"2025-10-01T00:00:00Z"}],"has_more":false,"first_id":"claude-haiku-4-5","last_id":"claude-haiku-4-5"}`)
			return
		}
		fmt.Fprint(w, `{"data":[{"type":"model","id":"claude-sonnet-4-5","display_name":"Claude Sonnet 4.5","created_at":"2025-09-29T00:00:00Z"}],"has_more":true,"first_id":"claude-sonnet-4-5","last_id":"claude-sonnet-4-5"}`)
		return
	}
	if r.URL.Path != "/v1/messages" {
		http.NotFound(w, r)
		return
	}
	body, n := f.record(r)
	if f.fail(w, n, true) {
		return
	}
	model, _ := body["model"].(string)
	if stream, _ := body["stream"].(bool); !stream {
		w.Header().Set("Content-Type", "application/json")
		content := fmt.Sprintf(`[{"type":"text","text":%q}]`, strings.Join(f.words, ""))
		stop := "end_turn"
		if f.mode == fakeTool && !hasToolResult(body) {
			content = `[{"type":"text","text":"Let me look."},{"type":"tool_use","id":"toolu_1","name":"weather","input":{"city":"Paris"}}]`
			stop = "tool_use"
		}
		fmt.Fprintf(w, `{"id":"msg_1","type":"message","role":"assistant","model":%q,"content":%s,"stop_reason":%q,"stop_sequence":null,"usage":{"input_tokens":12,%s"output_tokens":3}}`, model, content, stop, f.cacheUsage)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	fl := w.(http.Flusher)
	event := func(name, data string) {
		fmt.Fprintf(w, "event: %s\ndata: %s\n\n", name, data)
		fl.Flush()
	}
	event("message_start", fmt.Sprintf(`{"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":%q,"content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":12,%s"output_tokens":1}}}`, model, f.cacheUsage))
	event("ping", `{"type":"ping"}`)
	stop := "end_turn"
	if f.mode == fakeTool {
		event("content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"toolu_1","name":"weather","input":{}}}`)
		event("content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"{\"city\":"}}`)
		event("content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"\"Paris\"}"}}`)
		stop = "tool_use"
	} else {
		event("content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`)
		for i, word := range f.words {
			event("content_block_delta", fmt.Sprintf(`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":%q}}`, word))
			if f.mode == fakeCut && i == 1 {
				return
			}
			if f.mode == fakeOverloaded && i == 1 {
				event("error", `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`)
				return
			}
		}
	}
	event("content_block_stop", `{"type":"content_block_stop","index":0}`)
	event("message_delta", fmt.Sprintf(`{"type":"message_delta","delta":{"stop_reason":%q,"stop_sequence":null},"usage":{"output_tokens":3}}`, stop))
	if f.mode == fakeNoStop {
		return
	}
	event("message_stop", `{"type":"message_stop"}`)
}
