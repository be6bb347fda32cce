package ai

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/aegisgo/aegis/template/internal/runtime/testserver"
	"github.com/aegisgo/aegis/template/internal/services/httpclient"
)

// testClients returns outbound clients that do not retry (unless attempts > 1) and wait
// little between attempts.
func testClients(t testing.TB, attempts int) *httpclient.Clients {
	t.Helper()
	hc, err := httpclient.NewClients(httpclient.Settings{MaxAttempts: attempts, Backoff: 1e6, MaxDelay: 1e7}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return hc
}

// providerCase builds one kind of provider against its fake server.
type providerCase struct {
	kind  string
	model string
	fake  func(testing.TB, string) *fakeProvider
	build func(t testing.TB, f *fakeProvider, attempts int) Provider
}

var providerCases = []providerCase{
	{kind: ProviderOpenAI, model: "gpt-4o-mini", fake: newFakeOpenAI, build: func(t testing.TB, f *fakeProvider, attempts int) Provider {
		c, _ := testClients(t, attempts).New("ai-openai", httpclient.Options{})
		return NewOpenAI(OpenAIParams{APIKey: "sk-secret", BaseURL: f.srv.URL + "/v1", HTTP: c.HTTP(), MaxTokens: 100})
	}},
	// Ollama, llama.cpp and vLLM serve the same API under /v1; the local kind has no key.
	{kind: ProviderLocal, model: "llama3.2", fake: newFakeOpenAI, build: func(t testing.TB, f *fakeProvider, attempts int) Provider {
		c, _ := testClients(t, attempts).New("ai-local", httpclient.Options{})
		return NewOpenAI(OpenAIParams{Kind: ProviderLocal, BaseURL: f.srv.URL + "/v1", HTTP: c.HTTP()})
	}},
	{kind: ProviderAnthropic, model: "claude-sonnet-4-5", fake: newFakeAnthropic, build: func(t testing.TB, f *fakeProvider, attempts int) Provider {
		c, _ := testClients(t, attempts).New("ai-anthropic", httpclient.Options{})
		return NewAnthropic(AnthropicParams{APIKey: "sk-ant-secret", BaseURL: f.srv.URL, HTTP: c.HTTP(), MaxTokens: 100})
	}},
}

func userPrompt(text string) Request {
	return Request{Messages: []Message{{Role: RoleUser, Content: text}}}
}

// TestProviders drives each provider through its official SDK against a server speaking
// its wire format: answers, streams, tool calls, structured output, models and errors.
func TestProviders(t *testing.T) {
	for _, pc := range providerCases {
		t.Run(pc.kind, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			req := userPrompt("hi")
			req.Model, req.System = pc.model, "be brief"

			t.Run("chat", func(t *testing.T) {
				f := pc.fake(t, fakeOK)
				resp, err := pc.build(t, f, 1).Chat(ctx, req)
				if err != nil {
					t.Fatal(err)
				}
				if resp.Content != "Hello, world" || resp.Usage != (Usage{InputTokens: 12, OutputTokens: 3}) || resp.Model != pc.model {
					t.Fatalf("response = %+v", resp)
				}
				body, h := f.last()
				if body["model"] != pc.model {
					t.Errorf("model sent = %v", body["model"])
				}
				if h.Get("Idempotency-Key") == "" {
					t.Error("no Idempotency-Key: the httpclient service would not retry the call")
				}
				switch pc.kind {
				case ProviderOpenAI:
					if h.Get("Authorization") != "Bearer sk-secret" {
						t.Errorf("Authorization = %q", h.Get("Authorization"))
					}
				case ProviderAnthropic:
					// SDK v2 sends the key as a bearer token.
					if h.Get("Authorization") != "Bearer sk-ant-secret" || body["max_tokens"] != float64(100) {
						t.Errorf("Authorization = %q, max_tokens = %v", h.Get("Authorization"), body["max_tokens"])
					}
				}
			})

			t.Run("stream", func(t *testing.T) {
				f := pc.fake(t, fakeOK)
				var deltas []string
				resp, err := pc.build(t, f, 1).Stream(ctx, req, func(s string) error { deltas = append(deltas, s); return nil })
				if err != nil {
					t.Fatal(err)
				}
				if strings.Join(deltas, "|") != "Hello|, |world" || resp.Content != "Hello, world" || resp.Usage != (Usage{InputTokens: 12, OutputTokens: 3}) {
					t.Fatalf("deltas %q, response %+v", deltas, resp)
				}
			})

			t.Run("stream cut short", func(t *testing.T) {
				f := pc.fake(t, fakeCut)
				resp, err := pc.build(t, f, 1).Stream(ctx, req, func(string) error { return nil })
				var pe *ProviderError
				if !errors.As(err, &pe) {
					t.Fatalf("err = %v, want a ProviderError", err)
				}
				if resp == nil || resp.Content != "Hello, " {
					t.Fatalf("partial response = %+v", resp)
				}
			})

			// Anthropic reports some failures (overloaded_error) as an error event after the
			// 200 and some text, and OpenAI-compatible servers a data line with an error: the
			// error, named as such (it used to read as a failed connection for OpenAI), and
			// what arrived both come back.
			t.Run("error event mid-stream", func(t *testing.T) {
				want := map[string]struct {
					status int
					reason string
				}{
					ProviderAnthropic: {529, "the provider is overloaded; retry later"},
					ProviderOpenAI:    {0, "the provider reported an error in the middle of the answer; retry later"},
					ProviderLocal:     {0, "the provider reported an error in the middle of the answer; retry later"},
				}[pc.kind]
				f := pc.fake(t, fakeOverloaded)
				resp, err := pc.build(t, f, 1).Stream(ctx, req, func(string) error { return nil })
				var pe *ProviderError
				if !errors.As(err, &pe) {
					t.Fatalf("err = %v, want a ProviderError", err)
				}
				if pe.Reason != want.reason || pe.Status != want.status || strings.Contains(pe.Error(), "secret") {
					t.Errorf("status %d, reason %q: want %d, %q", pe.Status, pe.Reason, want.status, want.reason)
				}
				if resp == nil || resp.Content != "Hello, " {
					t.Fatalf("partial response = %+v", resp)
				}
			})

			t.Run("tool calls", func(t *testing.T) {
				f := pc.fake(t, fakeTool)
				p := pc.build(t, f, 1)
				treq := req
				treq.Tools = []ToolSpec{{Name: "weather", Description: "Weather of a city",
					Schema: map[string]any{"type": "object", "properties": map[string]any{"city": map[string]any{"type": "string"}}, "required": []string{"city"}}}}
				for _, stream := range []bool{false, true} {
					var resp *Response
					var err error
					if stream {
						resp, err = p.Stream(ctx, treq, func(string) error { return nil })
					} else {
						resp, err = p.Chat(ctx, treq)
					}
					if err != nil {
						t.Fatal(err)
					}
					if len(resp.ToolCalls) != 1 || resp.ToolCalls[0].Name != "weather" || string(resp.ToolCalls[0].Arguments) != `{"city":"Paris"}` {
						t.Fatalf("stream=%v: tool calls = %+v", stream, resp.ToolCalls)
					}
					body, _ := f.last()
					tools, _ := body["tools"].([]any)
					if len(tools) != 1 {
						t.Fatalf("tools sent = %v", body["tools"])
					}
				}
				// The tool's answer goes back and the model answers in text.
				call := ToolCall{ID: "call_1", Name: "weather", Arguments: []byte(`{"city":"Paris"}`)}
				treq.Messages = append(treq.Messages, Message{Role: RoleAssistant, ToolCalls: []ToolCall{call}},
					Message{Role: RoleTool, ToolCallID: "call_1", Content: `{"temp":21}`})
				resp, err := p.Chat(ctx, treq)
				if err != nil || resp.Content != "Hello, world" {
					t.Fatalf("after the tool: %+v, %v", resp, err)
				}
			})

			t.Run("structured output", func(t *testing.T) {
				f := pc.fake(t, fakeOK)
				sreq := req
				sreq.Output = &OutputSchema{Name: "answer", Schema: map[string]any{"type": "object", "properties": map[string]any{"x": map[string]any{"type": "integer"}}}}
				if _, err := pc.build(t, f, 1).Chat(ctx, sreq); err != nil {
					t.Fatal(err)
				}
				body, _ := f.last()
				var got any
				if pc.kind == ProviderAnthropic {
					oc, _ := body["output_config"].(map[string]any)
					got = oc["format"]
				} else {
					got = body["response_format"]
				}
				if m, _ := got.(map[string]any); m["type"] != "json_schema" {
					t.Fatalf("format sent = %v", got)
				}
			})

			t.Run("models", func(t *testing.T) {
				f := pc.fake(t, fakeOK)
				models, err := pc.build(t, f, 1).Models(ctx)
				if err != nil || len(models) == 0 {
					t.Fatalf("models = %v, %v", models, err)
				}
			})

			for _, mode := range []string{fake401, fake429, fake500, fakeNoModel} {
				t.Run("error "+mode, func(t *testing.T) {
					f := pc.fake(t, mode)
					p := pc.build(t, f, 1)
					_, err := p.Chat(ctx, req)
					_, serr := p.Stream(ctx, req, func(string) error { return nil })
					for _, err := range []error{err, serr} {
						var pe *ProviderError
						if !errors.As(err, &pe) || pe.Status == 0 || !strings.Contains(err.Error(), mode[:3]) && mode != fakeNoModel {
							t.Fatalf("err = %v, want a ProviderError with status %s", err, mode)
						}
						if strings.Contains(err.Error(), "secret") || strings.Contains(err.Error(), f.srv.URL) {
							t.Fatalf("the error quotes the key, the provider's body or the URL: %v", err)
						}
					}
				})
			}

			t.Run("not the API", func(t *testing.T) {
				// A 200 that is not the API's JSON or event stream is a wrong base URL, not a
				// connection that failed or an answer cut short, which sent users to the network.
				f := pc.fake(t, fakeNotAPI)
				p := pc.build(t, f, 1)
				_, err := p.Chat(ctx, req)
				_, serr := p.Stream(ctx, req, func(string) error { return nil })
				for _, err := range []error{err, serr} {
					var pe *ProviderError
					if !errors.As(err, &pe) || !strings.Contains(pe.Reason, "not the API's") || !strings.Contains(pe.Reason, baseURLSetting(pc.kind)) {
						t.Fatalf("err = %v, want a ProviderError saying to check %s", err, baseURLSetting(pc.kind))
					}
				}
			})

			for _, mode := range []string{fakeNotJSON, fakeTruncatedJSON} {
				t.Run("not JSON "+mode, func(t *testing.T) {
					// A 200 labelled JSON whose body is not JSON got through to the network's
					// reason ("the connection failed"): the answer arrived, it is unreadable.
					f := pc.fake(t, mode)
					p := pc.build(t, f, 1)
					_, err := p.Chat(ctx, req)
					_, serr := p.Stream(ctx, req, func(string) error { return nil })
					for i, err := range []error{err, serr} {
						var pe *ProviderError
						if !errors.As(err, &pe) || !strings.Contains(pe.Reason, "not valid JSON") || !strings.Contains(pe.Reason, baseURLSetting(pc.kind)) {
							t.Fatalf("call %d: err = %v, want a ProviderError saying the answer is not valid JSON and to check %s", i, err, baseURLSetting(pc.kind))
						}
						if strings.Contains(err.Error(), f.srv.URL) || strings.Contains(err.Error(), "Bad Gateway") {
							t.Fatalf("the error quotes the URL or the body: %v", err)
						}
					}
				})
			}

			t.Run("one retry policy", func(t *testing.T) {
				// The SDK does not retry; the httpclient service does, once, on a 500.
				f := pc.fake(t, fakeFlaky)
				if _, err := pc.build(t, f, 2).Chat(ctx, req); err != nil {
					t.Fatal(err)
				}
				if n := f.count(); n != 2 {
					t.Fatalf("%d requests, want 2", n)
				}
				f = pc.fake(t, fake500)
				if _, err := pc.build(t, f, 1).Chat(ctx, req); err == nil || f.count() != 1 {
					t.Fatalf("with one attempt: %d requests, err %v", f.count(), err)
				}
			})

			t.Run("stopped by the caller", func(t *testing.T) {
				f := pc.fake(t, fakeOK)
				stop := errors.New("client gone")
				resp, err := pc.build(t, f, 1).Stream(ctx, req, func(string) error { return stop })
				if !errors.Is(err, stop) || resp == nil || resp.Content != "Hello" {
					t.Fatalf("response %+v, err %v", resp, err)
				}
			})
		})
	}
}

// TestTransportReason: a call that got no status names what the user can act on, for the
// problem, the ledger and the log; a real refused connection is classified as such.
func TestTransportReason(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"breaker", fmt.Errorf("httpclient ai: host: %w", httpclient.ErrBreakerOpen), "circuit breaker open"},
		{"dns", &url.Error{Op: "Post", URL: "http://nowhere.invalid", Err: &net.OpError{Op: "dial", Err: &net.DNSError{Name: "nowhere.invalid", IsNotFound: true}}}, "did not resolve"},
		{"refused", &url.Error{Op: "Post", Err: &net.OpError{Op: "dial", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}}, "refused the connection"},
		{"certificate", &url.Error{Op: "Post", Err: &tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}}, "certificate was not trusted"},
		{"hostname", &url.Error{Op: "Post", Err: x509.HostnameError{Certificate: &x509.Certificate{}, Host: "a"}}, "certificate was not trusted"},
		{"closed", fmt.Errorf("read body: %w", io.ErrUnexpectedEOF), "closed the connection"},
		{"reset", &net.OpError{Op: "read", Err: os.NewSyscallError("read", syscall.ECONNRESET)}, "closed the connection"},
		{"timeout", &url.Error{Op: "Post", Err: &net.OpError{Op: "dial", Err: timeoutError{}}}, "timed out"},
		{"expired certificate", &url.Error{Op: "Post", Err: x509.CertificateInvalidError{Reason: x509.Expired}}, "certificate was not trusted"},
		{"unreachable", &url.Error{Op: "Post", Err: &net.OpError{Op: "dial", Err: os.NewSyscallError("connect", syscall.EHOSTUNREACH)}}, "no network route to the provider's host; check AI_LOCAL_BASE_URL"},
		{"not TLS", &url.Error{Op: "Post", Err: tls.RecordHeaderError{Msg: "first record does not look like a TLS handshake"}}, "did not answer in TLS; check that AI_LOCAL_BASE_URL starts with http://"},
		{"dns timeout", &url.Error{Op: "Post", Err: &net.OpError{Op: "dial", Err: &net.DNSError{Name: "gpu-box", IsTimeout: true}}}, "did not resolve"},
		{"other", errors.New("something"), "the connection failed or the answer was cut short"},
	} {
		var pe *ProviderError
		if err := providerError(ProviderLocal, 0, tc.err); !errors.As(err, &pe) || !strings.Contains(pe.Reason, tc.want) {
			t.Errorf("%s: %v, want a reason with %q", tc.name, err, tc.want)
		}
	}

	// The reason names the provider's own base URL setting, not "the base URL setting": with
	// profiles on several providers, the user must know which one to fix.
	refused := &url.Error{Op: "Post", Err: &net.OpError{Op: "dial", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}}
	dns := &url.Error{Op: "Post", Err: &net.OpError{Op: "dial", Err: &net.DNSError{Name: "nowhere.invalid", IsNotFound: true}}}
	for _, tc := range []struct {
		provider string
		err      error
		want     string
	}{
		{ProviderOpenAI, refused, "check that it runs at AI_OPENAI_BASE_URL"},
		{ProviderAnthropic, refused, "check that it runs at AI_ANTHROPIC_BASE_URL"},
		{ProviderLocal, refused, "check that it runs at AI_LOCAL_BASE_URL"},
		{ProviderAnthropic, dns, "did not resolve; check AI_ANTHROPIC_BASE_URL"},
	} {
		var pe *ProviderError
		if err := providerError(tc.provider, 0, tc.err); !errors.As(err, &pe) || !strings.HasSuffix(pe.Reason, tc.want) {
			t.Errorf("%s: %v, want a reason ending %q", tc.provider, err, tc.want)
		}
	}

	addr := "127.0.0.1:" + strconv.Itoa(testserver.FreePort(t))
	c, _ := testClients(t, 1).New("ai-local", httpclient.Options{})
	p := NewOpenAI(OpenAIParams{Kind: ProviderLocal, BaseURL: "http://" + addr + "/v1", HTTP: c.HTTP()})
	_, err := p.Chat(t.Context(), Request{Model: "llama3.2", Messages: []Message{{Role: RoleUser, Content: "hi"}}})
	var pe *ProviderError
	if !errors.As(err, &pe) || !strings.Contains(pe.Reason, "refused the connection") {
		t.Fatalf("a closed port: %v", err)
	}
}

type timeoutError struct{}

func (timeoutError) Error() string   { return "i/o timeout" }
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Temporary() bool { return true }

// TestProviderClientBaseURL: each provider's HTTP client is told its provider's base URL,
// so the Outbound HTTP panel shows where ai-local calls (AI_LOCAL_BASE_URL), not none.
func TestProviderClientBaseURL(t *testing.T) {
	t.Parallel()
	hc := testClients(t, 1)
	s := Settings{LocalBaseURL: "http://gpu-box:8080/v1", AnthropicKey: "sk-ant"}.WithDefaults()
	for _, kind := range []string{ProviderLocal, ProviderAnthropic} {
		if _, err := newProvider(hc, s, kind); err != nil {
			t.Fatal(err)
		}
	}
	got := map[string]string{}
	for _, c := range hc.Clients() {
		got[c.Name()] = c.Options().BaseURL
	}
	if got["ai-local"] != "http://gpu-box:8080/v1" || got["ai-anthropic"] != DefaultAnthropicBaseURL {
		t.Errorf("the clients' base URLs are %v", got)
	}
}

// TestKeyRefusedReason: a refused key's reason names the setting to fix (it said "the
// provider's key setting", leaving the user to find which of three it is).
func TestKeyRefusedReason(t *testing.T) {
	for _, tc := range []struct {
		provider string
		status   int
		want     string
	}{
		{ProviderOpenAI, http.StatusUnauthorized, "the API key was refused; check AI_OPENAI_API_KEY"},
		{ProviderAnthropic, http.StatusUnauthorized, "the API key was refused; check AI_ANTHROPIC_API_KEY"},
		{ProviderLocal, http.StatusForbidden, "the API key was refused; check AI_LOCAL_API_KEY"},
		// Anthropic's request_too_large (413) read as "the call failed before an answer arrived".
		{ProviderAnthropic, http.StatusRequestEntityTooLarge, "the request is too large for the provider; shorten the prompt or start a new conversation"},
	} {
		var pe *ProviderError
		if err := providerError(tc.provider, tc.status, errors.New("refused")); !errors.As(err, &pe) || pe.Reason != tc.want {
			t.Errorf("%s %d: %v, want the reason %q", tc.provider, tc.status, err, tc.want)
		}
	}
}

// TestAnthropicToolInputSchema: a tool's schema as NewTool derives it (SchemaFor: decoded
// JSON, so "required" is a []any) reaches Anthropic whole as input_schema; its required
// properties used to be dropped, so the model was free to leave out an argument.
func TestAnthropicToolInputSchema(t *testing.T) {
	type args struct {
		City string `json:"city"`
		Days int    `json:"days,omitempty"`
	}
	schema, err := SchemaFor[args]()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		schema map[string]any
	}{
		{"derived", schema},
		{"hand-written", map[string]any{"type": "object", "properties": map[string]any{"city": map[string]any{"type": "string"}}, "required": []string{"city"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeAnthropic(t, fakeTool)
			c, _ := testClients(t, 1).New("ai-anthropic", httpclient.Options{})
			p := NewAnthropic(AnthropicParams{APIKey: "k", BaseURL: f.srv.URL, HTTP: c.HTTP()})
			req := userPrompt("weather?")
			req.Model = "claude-sonnet-4-5"
			req.Tools = []ToolSpec{{Name: "weather", Description: "Weather of a city", Schema: tc.schema}}
			if _, err := p.Chat(t.Context(), req); err != nil {
				t.Fatal(err)
			}
			body, _ := f.last()
			tools, _ := body["tools"].([]any)
			tool, _ := tools[0].(map[string]any)
			in, _ := tool["input_schema"].(map[string]any)
			if in["type"] != "object" || fmt.Sprint(in["required"]) != "[city]" || in["properties"] == nil {
				t.Fatalf("input_schema sent = %v", in)
			}
		})
	}
}

// TestCacheTokens: the prompt tokens a provider wrote to or read from its cache are kept
// apart, since they are priced apart. Anthropic's input_tokens leave them out
// (cache_creation_input_tokens, cache_read_input_tokens): they were consumed all the same, so
// the ledger and the quota count them as input. OpenAI counts its cached tokens inside
// prompt_tokens and names them in prompt_tokens_details.cached_tokens.
func TestCacheTokens(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fake  func(testing.TB, string) *fakeProvider
		cache string
		build func(url string, c *httpclient.Client) Provider
		model string
		want  Usage
	}{
		{"anthropic", newFakeAnthropic, `"cache_creation_input_tokens":100,"cache_read_input_tokens":2000,`,
			func(url string, c *httpclient.Client) Provider {
				return NewAnthropic(AnthropicParams{APIKey: "k", BaseURL: url, HTTP: c.HTTP()})
			}, "claude-sonnet-4-5", Usage{InputTokens: 2112, OutputTokens: 3, CacheReadTokens: 2000, CacheWriteTokens: 100}},
		{"openai", newFakeOpenAI, `,"prompt_tokens_details":{"cached_tokens":8}`,
			func(url string, c *httpclient.Client) Provider {
				return NewOpenAI(OpenAIParams{APIKey: "k", BaseURL: url, HTTP: c.HTTP()})
			}, "gpt-4o-mini", Usage{InputTokens: 12, OutputTokens: 3, CacheReadTokens: 8}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := tc.fake(t, fakeOK)
			f.cacheUsage = tc.cache
			c, _ := testClients(t, 1).New("ai-"+tc.name, httpclient.Options{})
			p := tc.build(f.srv.URL, c)
			req := userPrompt("hi")
			req.Model = tc.model
			resp, err := p.Chat(t.Context(), req)
			if err != nil {
				t.Fatal(err)
			}
			sresp, serr := p.Stream(t.Context(), req, func(string) error { return nil })
			if serr != nil {
				t.Fatal(serr)
			}
			for name, got := range map[string]Usage{"chat": resp.Usage, "stream": sresp.Usage} {
				if got != tc.want {
					t.Errorf("%s usage = %+v, want %+v", name, got, tc.want)
				}
			}
		})
	}
}

// TestAnthropicEmptyAnswerInHistory: a stored empty answer (a model may end its turn with
// no text) was sent as an assistant message without content, which Anthropic refuses (400),
// so the conversation could not go on; it is left out.
func TestAnthropicEmptyAnswerInHistory(t *testing.T) {
	f := newFakeAnthropic(t, fakeOK)
	c, _ := testClients(t, 1).New("ai-anthropic", httpclient.Options{})
	p := NewAnthropic(AnthropicParams{APIKey: "k", BaseURL: f.srv.URL, HTTP: c.HTTP()})
	req := Request{Model: "claude-sonnet-4-5", Messages: []Message{
		{Role: RoleUser, Content: "hi"}, {Role: RoleAssistant}, {Role: RoleUser, Content: "still there?"}}}
	if _, err := p.Chat(t.Context(), req); err != nil {
		t.Fatal(err)
	}
	body, _ := f.last()
	msgs, _ := body["messages"].([]any)
	for i, m := range msgs {
		if content, _ := m.(map[string]any)["content"].([]any); len(content) == 0 {
			t.Fatalf("message %d has no content: %v", i, msgs)
		}
	}
	if len(msgs) != 2 {
		t.Fatalf("messages sent = %v", msgs)
	}
}

// TestAnthropicModelsPages: Anthropic pages its model list; `ai models --remote` showed the
// first page only.
func TestAnthropicModelsPages(t *testing.T) {
	f := newFakeAnthropic(t, fakeOK)
	c, _ := testClients(t, 1).New("ai-anthropic", httpclient.Options{})
	models, err := NewAnthropic(AnthropicParams{APIKey: "k", BaseURL: f.srv.URL, HTTP: c.HTTP()}).Models(t.Context())
	if err != nil || strings.Join(models, ",") != "claude-sonnet-4-5,claude-haiku-4-5" {
		t.Fatalf("models = %v, %v", models, err)
	}
}
