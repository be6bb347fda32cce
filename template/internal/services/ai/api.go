package ai

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humachi"

	"github.com/aegisgo/aegis/template/internal/components/backend"
	"github.com/aegisgo/aegis/template/internal/runtime/ratelimit"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
	"github.com/aegisgo/aegis/template/internal/services/httpclient"
)

// Prefix is the path of every ai endpoint.
const Prefix = "/api/v1/ai"

// ChatPath answers a prompt, as JSON or as Server-Sent Events.
const ChatPath = Prefix + "/chat"

// maxChatBody bounds a chat request's body: AI_MAX_PROMPT_BYTES is at most 1 MiB for each
// of the prompt and the system prompt, with room for JSON's escapes.
const maxChatBody = 4 << 20

// ChatBody is what POST /api/v1/ai/chat takes.
type ChatBody struct {
	Prompt         string `json:"prompt" doc:"The user's message; not empty, at most AI_MAX_PROMPT_BYTES bytes."`
	System         string `json:"system,omitempty" doc:"An optional system prompt, bounded like the prompt."`
	Model          string `json:"model,omitempty" maxLength:"200" doc:"A profile name (default, or one of AI_PROFILES) or a configured model; default: the conversation's profile, else the default profile."`
	ConversationID int64  `json:"conversation_id,omitempty" minimum:"0" doc:"Continue this conversation of yours; default: start a new one."`
	MaxTokens      int64  `json:"max_tokens,omitempty" minimum:"0" maximum:"1048576" doc:"Most tokens of the answer, up to AI_MAX_OUTPUT_TOKENS (the default)."`
	Stream         bool   `json:"stream,omitempty" doc:"Answer as Server-Sent Events: 'delta' events with {text}, then 'done' with the result and usage, or 'error' with a problem."`
	Tools          bool   `json:"tools,omitempty" doc:"Offer the app's registered tools and run the calls the model asks for until it answers in text; the answer is a ToolLoopResult. Not with stream or conversation_id."`
}

type chatInput struct {
	Body ChatBody
}

type chatOutput struct {
	Body func(huma.Context)
}

// DeltaEvent is the data of an SSE 'delta' event.
type DeltaEvent struct {
	Text string `json:"text"`
}

// ErrorEvent is the data of an SSE 'error' event: an RFC 9457 problem with what was kept.
type ErrorEvent struct {
	Status         int    `json:"status"`
	Title          string `json:"title"`
	Detail         string `json:"detail"`
	ConversationID int64  `json:"conversation_id,omitempty"`
	// Partial is true when part of an answer arrived; it is stored with status partial.
	Partial bool `json:"partial,omitempty"`
	// RetryAfter is, for a temporary failure (the provider rate limiting, its circuit breaker
	// open), the seconds to wait before retrying: the plain problem's Retry-After header.
	RetryAfter int64 `json:"retry_after,omitempty"`
	// Instance is the request's path, as in every other problem of the API.
	Instance string `json:"instance,omitempty"`
}

type conversationsInput struct {
	Limit  int   `query:"limit" minimum:"1" maximum:"200" default:"50"`
	Before int64 `query:"before" minimum:"0" doc:"Only conversations with a smaller ID (the next page)."`
}

type conversationsOutput struct {
	Body struct {
		Conversations []Conversation `json:"conversations"`
	}
}

type createConversationInput struct {
	Body struct {
		Title string `json:"title,omitempty" maxLength:"200"`
		Model string `json:"model,omitempty" maxLength:"200" doc:"Profile or model the conversation starts with."`
	}
}

type conversationOutput struct {
	Body *Conversation
}

type idInput struct {
	ID int64 `path:"id" minimum:"1"`
}

// ConversationWithMessages is a conversation and its messages, oldest first.
type ConversationWithMessages struct {
	Conversation
	Messages []StoredMessage `json:"messages"`
}

type conversationMessagesOutput struct {
	Body ConversationWithMessages
}

// usageInput's patternDescription is usageDateMessage without its "must be " (a tag cannot
// name a constant): a value not shaped like a date is refused by the schema before the
// handler, and its problem said only "must match the pattern ^\d{4}-...".
type usageInput struct {
	From string `query:"from" pattern:"^\\d{4}-\\d{2}-\\d{2}$" patternDescription:"a date such as 2026-12-07 (YYYY-MM-DD, a real day)" doc:"First UTC day (2006-01-02); default: 29 days before to."`
	To   string `query:"to" pattern:"^\\d{4}-\\d{2}-\\d{2}$" patternDescription:"a date such as 2026-12-07 (YYYY-MM-DD, a real day)" doc:"Last UTC day; default: today."`
	All  bool   `query:"all" doc:"Everyone's usage (admins only); default: your own."`
}

// UsageSummary is the ledger summed per day and model over a range of days, with totals.
type UsageSummary struct {
	From   string     `json:"from"`
	To     string     `json:"to"`
	Rows   []UsageRow `json:"rows"`
	Totals UsageRow   `json:"totals"`
}

type usageOutput struct {
	Body UsageSummary
}

type profilesOutput struct {
	Body struct {
		Profiles []Profile `json:"profiles"`
	}
}

type handlers struct {
	svc  *Service
	jobs *Jobs
	r    *backend.Router
}

type jobInput struct {
	Body struct {
		Prompt string `json:"prompt" doc:"The prompt; not empty, at most AI_MAX_PROMPT_BYTES bytes."`
		System string `json:"system,omitempty"`
		Model  string `json:"model,omitempty" maxLength:"200"`
	}
}

type jobOutput struct {
	Body *Job
}

func (h *handlers) submitJob(ctx context.Context, in *jobInput) (*jobOutput, error) {
	job, err := h.jobs.Submit(ctx, GenerateParams{Prompt: in.Body.Prompt, System: in.Body.System, Model: in.Body.Model})
	if err != nil {
		return nil, h.problem(ctx, err)
	}
	return &jobOutput{Body: job}, nil
}

func (h *handlers) job(ctx context.Context, in *idInput) (*jobOutput, error) {
	job, err := h.jobs.Get(ctx, in.ID)
	if errors.Is(err, ErrJobNotFound) {
		return nil, huma.Error404NotFound("No such job of yours.")
	}
	if err != nil {
		return nil, h.problem(ctx, err)
	}
	return &jobOutput{Body: job}, nil
}

// mount registers the endpoints; the Service is resolved once, when the routes are mounted.
func mount(r *backend.Router) error {
	svc, err := registry.Get[*Service](r.Container)
	if err != nil {
		return err
	}
	h := &handlers{svc: svc, r: r}
	// What calls or names a provider answers 503 while none is configured; what reads the
	// app's own records (conversations, jobs, the ledger) keeps working, so that the history
	// stays readable while a key is being replaced.
	mw, readMW := huma.Middlewares{h.guard(true)}, huma.Middlewares{h.guard(false)}
	desc := "With the auth service, send a user's access token; without it, Authorization: Bearer $AI_ACCESS_TOKEN (when set)."
	op := func(id, method, path, summary string) huma.Operation {
		return huma.Operation{OperationID: id, Method: method, Path: path, Summary: summary, Tags: []string{"ai"},
			Middlewares: mw, Description: desc + " 503 while no provider is configured."}
	}
	readOp := func(id, method, path, summary string) huma.Operation {
		o := op(id, method, path, summary)
		o.Middlewares, o.Description = readMW, desc
		return o
	}

	chat := op("ai-chat", http.MethodPost, ChatPath, "Answer a prompt (JSON, or Server-Sent Events with stream: true)")
	chat.MaxBodyBytes = maxChatBody
	chat.Description += " With stream: true the answer is a text/event-stream: 'delta' events ({text}), then 'done' (the JSON result) or 'error' (a problem; a partial answer is stored as such). Closing the connection cancels the provider call."
	result := r.API.OpenAPI().Components.Schemas.Schema(reflect.TypeFor[ChatResult](), true, "ChatResult")
	toolResult := r.API.OpenAPI().Components.Schemas.Schema(reflect.TypeFor[ToolLoopResult](), true, "ToolLoopResult")
	chat.Responses = map[string]*huma.Response{"200": {Description: "The answer, stored in its conversation (a ToolLoopResult, not stored, with tools: true).", Content: map[string]*huma.MediaType{
		"application/json":  {Schema: &huma.Schema{OneOf: []*huma.Schema{result, toolResult}}},
		"text/event-stream": {Schema: &huma.Schema{Type: "string", Description: "event: delta|done|error, data: JSON"}},
	}}}
	huma.Register(r.API, chat, h.chat)

	huma.Register(r.API, op("ai-profiles", http.MethodGet, Prefix+"/profiles", "The configured profiles (provider and model)"), h.profiles)
	huma.Register(r.API, readOp("ai-conversations", http.MethodGet, Prefix+"/conversations", "Your conversations, newest first"), h.conversations)
	create := op("ai-create-conversation", http.MethodPost, Prefix+"/conversations", "Start an empty conversation")
	create.DefaultStatus = http.StatusCreated
	huma.Register(r.API, create, h.createConversation)
	huma.Register(r.API, readOp("ai-conversation", http.MethodGet, Prefix+"/conversations/{id}", "A conversation of yours with its messages"), h.conversation)
	del := readOp("ai-delete-conversation", http.MethodDelete, Prefix+"/conversations/{id}", "Delete a conversation of yours and its messages")
	del.DefaultStatus = http.StatusNoContent
	huma.Register(r.API, del, h.deleteConversation)
	r.Mux.Handle(MCPPath, h.mcpHandler())
	if jobs, err := registry.Get[*Jobs](r.Container); err == nil {
		h.jobs = jobs
		submit := op("ai-submit-job", http.MethodPost, Prefix+"/jobs", "Run a generation as a durable background job")
		submit.DefaultStatus, submit.MaxBodyBytes = http.StatusAccepted, maxChatBody
		huma.Register(r.API, submit, h.submitJob)
		huma.Register(r.API, readOp("ai-job", http.MethodGet, Prefix+"/jobs/{id}", "A job of yours: its status and, when done, its result"), h.job)
	}
	huma.Register(r.API, readOp("ai-usage", http.MethodGet, Prefix+"/usage", "Tokens and cost per day and model (yours; everyone's for admins with all=true)"), h.usage)
	return nil
}

// guard admits callers: the auth service's users, else the holders of AI_ACCESS_TOKEN (or
// anyone outside production while it is empty); with needsProvider, nobody while no provider
// is configured.
func (h *handlers) guard(needsProvider bool) func(huma.Context, func(huma.Context)) {
	configured := func(ctx huma.Context, next func(huma.Context)) {
		if needsProvider && !h.svc.Configured() {
			_ = huma.WriteErr(h.r.API, ctx, http.StatusServiceUnavailable, notConfiguredDetail())
			return
		}
		next(ctx)
	}
	if h.svc.identity != nil {
		user := h.svc.identity.RequireUser()
		return func(ctx huma.Context, next func(huma.Context)) {
			user(ctx, func(ctx huma.Context) { configured(ctx, next) })
		}
	}
	token := h.svc.settings.AccessToken
	return func(ctx huma.Context, next func(huma.Context)) {
		if token == "" {
			if h.svc.production {
				_ = huma.WriteErr(h.r.API, ctx, http.StatusForbidden, "In production the ai endpoints need the auth service or AI_ACCESS_TOKEN; neither is set up.")
				return
			}
			configured(ctx, next)
			return
		}
		scheme, got, _ := strings.Cut(ctx.Header("Authorization"), " ")
		if !strings.EqualFold(scheme, "bearer") || !backend.EqualSecret(strings.TrimSpace(got), token) {
			ctx.SetHeader("WWW-Authenticate", `Bearer realm="ai"`)
			_ = huma.WriteErr(h.r.API, ctx, http.StatusUnauthorized, "Send Authorization: Bearer <AI_ACCESS_TOKEN>.")
			return
		}
		configured(ctx, next)
	}
}

func notConfiguredDetail() string {
	return "The ai service is not configured: " + strings.TrimPrefix(ErrNotConfigured.Error(), "ai: no provider is configured; ") + "."
}

func (h *handlers) params(in *chatInput) ChatParams {
	b := in.Body
	return ChatParams{Prompt: b.Prompt, System: b.System, Model: b.Model, ConversationID: b.ConversationID, MaxTokens: b.MaxTokens}
}

func (h *handlers) chat(ctx context.Context, in *chatInput) (*chatOutput, error) {
	p := h.params(in)
	// Refusals come before the answer starts, as plain problems.
	if in.Body.Tools {
		if err := toolsRefusal(in.Body); err != nil {
			return nil, err
		}
	}
	prep, err := h.svc.prepare(ctx, p)
	if err != nil {
		return nil, h.problem(ctx, err)
	}
	if in.Body.Tools {
		return h.chatWithTools(in.Body), nil
	}
	if !in.Body.Stream {
		return &chatOutput{Body: func(hctx huma.Context) {
			extendWrite(hctx, h.svc.settings.Timeout)
			res, err := h.svc.chat(hctx.Context(), p, prep)
			if err != nil {
				h.writeProblem(hctx, withConversation(h.problem(hctx.Context(), err), res))
				return
			}
			hctx.SetHeader("Content-Type", "application/json")
			hctx.SetStatus(http.StatusOK)
			_ = json.NewEncoder(hctx.BodyWriter()).Encode(res)
		}}, nil
	}
	return &chatOutput{Body: func(hctx huma.Context) { h.stream(hctx, p, prep) }}, nil
}

// toolsRefusal refuses what tools: true cannot honour. The tool loop has no streaming and
// keeps no conversation (its intermediate turns are tool calls, not messages of a chat), so
// both are refused rather than silently ignored.
func toolsRefusal(b ChatBody) error {
	switch {
	case b.Stream:
		return huma.Error422UnprocessableEntity("validation failed: tools cannot be streamed",
			&huma.ErrorDetail{Location: "body.stream", Message: "send stream: false with tools: true"})
	case b.ConversationID != 0:
		return huma.Error422UnprocessableEntity("validation failed: tools do not continue a conversation",
			&huma.ErrorDetail{Location: "body.conversation_id", Message: "leave conversation_id out with tools: true"})
	}
	return nil
}

// chatWithTools answers with Service.RunTools: the model may call the registered tools, in
// the request's context (so its user and registry scope), for up to DefaultToolMaxSteps turns
// within AI_TIMEOUT.
func (h *handlers) chatWithTools(b ChatBody) *chatOutput {
	return &chatOutput{Body: func(hctx huma.Context) {
		extendWrite(hctx, h.svc.settings.Timeout)
		res, err := h.svc.RunTools(hctx.Context(), ToolLoopParams{Prompt: b.Prompt, System: b.System, Model: b.Model})
		if err != nil {
			h.writeProblem(hctx, h.problem(hctx.Context(), err))
			return
		}
		hctx.SetHeader("Content-Type", "application/json")
		hctx.SetStatus(http.StatusOK)
		_ = json.NewEncoder(hctx.BodyWriter()).Encode(res)
	}}
}

// stream answers as Server-Sent Events. The request's context is the provider call's: a
// client that closes the connection cancels it, and what arrived is stored as partial.
//
// Over HTTP/1.x the stream is detached (backend.Detach): the handler returns once the headers
// are out and the answer is written by the goroutine that reads the provider, so that
// net/http's goroutines, buffers and request objects do not stay for the minutes a stream
// lasts; the connection then serves the client's next request. Over HTTP/2 (nothing to
// detach) the handler waits (chatApart).
func (h *handlers) stream(hctx huma.Context, p ChatParams, prep *preparation) {
	hctx.SetHeader("Content-Type", "text/event-stream")
	hctx.SetHeader("Cache-Control", "no-store")
	hctx.SetHeader("X-Accel-Buffering", "no")
	path := hctx.URL().Path
	if r, rw := humachi.Unwrap(hctx); r != nil && rw != nil {
		if d, err := backend.Detach(rw, r, http.StatusOK); err == nil {
			_ = d.SetWriteDeadline(time.Now().Add(h.svc.settings.Timeout + 30*time.Second))
			go h.streamDetached(d, p, prep, path)
			return
		}
	}
	hctx.SetStatus(http.StatusOK)
	flush := extendWrite(hctx, h.svc.settings.Timeout)
	h.streamTo(hctx.Context(), hctx.BodyWriter(), flush, p, prep, path, func(ctx context.Context, p ChatParams, prep *preparation) (*ChatResult, error) {
		return chatApart(ctx, h.svc, p, prep)
	})
}

// streamDetached writes a detached stream's answer, on the goroutine of its own that reads
// the provider; Finish (deferred) writes the access line and reports a panic.
func (h *handlers) streamDetached(d *backend.Detached, p ChatParams, prep *preparation, path string) {
	defer d.Finish()
	h.streamTo(d.Context(), d, d.Flush, p, prep, path, h.svc.chat)
}

// streamTo writes the answer's events to w, flushing each; chat reads the answer.
func (h *handlers) streamTo(ctx context.Context, w io.Writer, flush func() error, p ChatParams, prep *preparation, path string,
	chat func(context.Context, ChatParams, *preparation) (*ChatResult, error)) {
	send := func(event string, v any) error {
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		if _, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", event, b); err != nil {
			return err
		}
		return flush()
	}
	p.OnDelta = func(text string) error { return send("delta", DeltaEvent{Text: text}) }
	res, err := chat(ctx, p, prep)
	if err != nil {
		if errors.Is(err, context.Canceled) || ctx.Err() != nil {
			return // nobody is listening
		}
		ev := ErrorEvent{Status: http.StatusInternalServerError, Title: http.StatusText(http.StatusInternalServerError), Instance: path}
		var se huma.StatusError
		pr := h.problem(ctx, err)
		if errors.As(pr, &se) {
			ev.Status, ev.Title = se.GetStatus(), http.StatusText(se.GetStatus())
			if m, ok := se.(*huma.ErrorModel); ok {
				ev.Detail = m.Detail
			}
		}
		if hs := huma.HeadersError(nil); errors.As(pr, &hs) {
			ev.RetryAfter, _ = strconv.ParseInt(hs.GetHeaders().Get("Retry-After"), 10, 64)
		}
		if res != nil {
			ev.ConversationID, ev.Partial = res.ConversationID, res.Partial
		}
		_ = send("error", ev)
		return
	}
	_ = send("done", res)
}

// chatApart runs svc.chat on a goroutine of its own and waits for it. A streamed answer lasts
// minutes, and at each GC Go halves a waiting goroutine's stack only while it uses under a
// quarter of it: the handler's stack holds net/http's, the middleware's and huma's frames
// (about 6 KB), and with the provider's reading on top it used just over 8 KB, so it kept
// 32 KB. Apart, the handler waits on 16 KB and the reader, with its short stack, on 8 KB
// (bench/RESULTS.md, "Concurrent open streams"). Only one of them runs at a time, so the
// reader may write the response. A panic in chat is raised again here, for the recoverer.
func chatApart(ctx context.Context, svc *Service, p ChatParams, prep *preparation) (*ChatResult, error) {
	type result struct {
		res      *ChatResult
		err      error
		panicked any
	}
	done := make(chan result, 1)
	go func() {
		var r result
		defer func() {
			r.panicked = recover()
			done <- r
		}()
		r.res, r.err = svc.chat(ctx, p, prep)
	}()
	r := <-done
	if r.panicked != nil {
		panic(r.panicked)
	}
	return r.res, r.err
}

// extendWrite lets a long answer outlive HTTP_WRITE_TIMEOUT (up to AI_TIMEOUT and a margin)
// and returns the function that pushes what was written to the client. (The backend keeps
// huma's body-read deadline off the connection once the body is read, so the request is not
// cancelled when it passes: see TestStreamOutlivesBodyDeadline.)
func extendWrite(hctx huma.Context, d time.Duration) func() error {
	rw, ok := hctx.BodyWriter().(http.ResponseWriter)
	if !ok {
		return func() error { return nil }
	}
	rc := http.NewResponseController(rw)
	deadline := time.Now().Add(d + 30*time.Second)
	_ = rc.SetWriteDeadline(deadline)
	return rc.Flush
}

// conversationProblem is a failed chat's problem with the conversation it went into (RFC
// 9457 extension members): the prompt is stored there, and so is a partial answer, so a
// client can show the conversation or continue it instead of starting another.
type conversationProblem struct {
	*huma.ErrorModel
	ConversationID int64 `json:"conversation_id"`
	Partial        bool  `json:"partial,omitempty"`
}

// withConversation adds res's conversation to err's problem, keeping its headers.
func withConversation(err error, res *ChatResult) error {
	var m *huma.ErrorModel
	if res == nil || res.ConversationID == 0 || !errors.As(err, &m) {
		return err
	}
	var cp huma.StatusError = &conversationProblem{ErrorModel: m, ConversationID: res.ConversationID, Partial: res.Partial}
	if hs, ok := err.(huma.HeadersError); ok {
		return huma.ErrorWithHeaders(cp, hs.GetHeaders())
	}
	return cp
}

// writeProblem writes err (a huma status error) as the response. It is written after huma's
// transformers ran (the body is the operation's streamed answer), so it adds what the backend's
// adds to every other problem: the instance and nosniff.
func (h *handlers) writeProblem(hctx huma.Context, err error) {
	var se huma.StatusError
	if !errors.As(err, &se) {
		se = huma.Error500InternalServerError("The server hit an unexpected error.")
	}
	// Copies: an error model may be a value shared by every request.
	switch p := se.(type) {
	case *huma.ErrorModel:
		m := *p
		m.Instance = cmp.Or(m.Instance, hctx.URL().Path)
		se = &m
	case *conversationProblem:
		m := *p.ErrorModel
		m.Instance = cmp.Or(m.Instance, hctx.URL().Path)
		se = &conversationProblem{ErrorModel: &m, ConversationID: p.ConversationID, Partial: p.Partial}
	}
	hctx.SetHeader("X-Content-Type-Options", "nosniff")
	if hs, ok := err.(huma.HeadersError); ok {
		for k, vs := range hs.GetHeaders() {
			for _, v := range vs {
				hctx.AppendHeader(k, v)
			}
		}
	}
	ct := "application/problem+json"
	hctx.SetHeader("Content-Type", ct)
	hctx.SetStatus(se.GetStatus())
	_ = json.NewEncoder(hctx.BodyWriter()).Encode(se)
}

// problem maps an error to an RFC 9457 problem that names no key, body or stack: bad input
// is 422, a spent quota 429, a missing conversation 404, the provider's failures 502 (or 503
// with Retry-After when it rate-limits or its circuit breaker is open, 504 on a timeout); the rest is logged and answered
// with a plain 500.
func (h *handlers) problem(ctx context.Context, err error) error {
	var qe *QuotaError
	var pe *ProviderError
	var ne *NULError
	switch {
	case errors.As(err, &ne):
		return huma.Error422UnprocessableEntity("validation failed: "+ne.Field+" must not contain NUL characters",
			&huma.ErrorDetail{Location: "body." + ne.Field, Message: "must not contain NUL characters (U+0000); remove them"})
	case errors.Is(err, ErrNotConfigured):
		return huma.Error503ServiceUnavailable(notConfiguredDetail())
	case errors.Is(err, ErrEmptyPrompt):
		return huma.Error422UnprocessableEntity("validation failed: the prompt is empty or not UTF-8",
			&huma.ErrorDetail{Location: "body.prompt", Message: "give a non-empty prompt"})
	case errors.Is(err, ErrPromptTooLarge):
		// The field that is too large, by its size: a system prompt over the limit used to
		// be reported at body.prompt, which a client would shorten in vain.
		pse := &PromptSizeError{Field: "prompt", Max: h.svc.settings.MaxPromptBytes}
		errors.As(err, &pse)
		what := map[string]string{"prompt": "prompt", "system": "system prompt"}[pse.Field]
		msg := fmt.Sprintf("is %d bytes; send at most %d (AI_MAX_PROMPT_BYTES)", pse.Size, pse.Max)
		if pse.Size == 0 {
			msg = fmt.Sprintf("send at most %d bytes (AI_MAX_PROMPT_BYTES)", pse.Max)
		}
		return huma.Error422UnprocessableEntity("validation failed: the "+what+" is too large", &huma.ErrorDetail{Location: "body." + pse.Field, Message: msg})
	case errors.Is(err, ErrConversationBusy):
		// A short wait, not the lease's end: see BusyRetryAfter.
		secs := ratelimit.Seconds(BusyRetryAfter)
		return huma.ErrorWithHeaders(huma.Error409Conflict(fmt.Sprintf(
			"This conversation is still answering another prompt; wait for that answer (or cancel it), then send this prompt again (retry in %s).", backend.Seconds(secs))),
			http.Header{"Retry-After": {strconv.Itoa(secs)}})
	case errors.Is(err, ErrUnknownModel):
		return huma.Error422UnprocessableEntity("validation failed: unknown model",
			&huma.ErrorDetail{Location: "body.model", Message: strings.TrimPrefix(err.Error(), "ai: ")})
	case errors.As(err, &qe) && qe.Held():
		// The user's calls under way give back what they do not use when they end.
		return retryLaterStatus(http.StatusTooManyRequests, fmt.Sprintf("Your other AI requests under way hold the rest of your daily token quota (%d of %d tokens spent)", qe.Spent(), qe.Quota), 0)
	case errors.As(err, &qe):
		secs := int(max(time.Until(qe.Reset), time.Second).Seconds())
		return huma.ErrorWithHeaders(huma.NewError(http.StatusTooManyRequests,
			fmt.Sprintf("Your daily AI token quota is spent (%d of %d tokens); it resets at %s.", qe.Used, qe.Quota, qe.Reset.UTC().Format(time.RFC3339))),
			http.Header{"Retry-After": {strconv.Itoa(secs)}})
	case errors.Is(err, ErrNotFound):
		return huma.Error404NotFound("No such conversation of yours.")
	case errors.As(err, &pe):
		switch {
		case pe.Status == http.StatusTooManyRequests:
			return retryLater("The AI provider is rate limiting the app", pe.RetryAfter)
		case pe.Status == statusOverloaded:
			// Anthropic's 529 (overloaded_error, also sent mid-stream) is out of capacity, not
			// a failure: as temporary as a rate limit, so a client is told when to retry.
			return retryLater("The AI provider is overloaded", pe.RetryAfter)
		case errors.Is(pe, httpclient.ErrBreakerOpen):
			// Temporary: the breaker lets a call through after its cooldown.
			return retryLater("The AI provider failed repeatedly, so calls to it are paused for now (circuit breaker open)", pe.RetryAfter)
		case pe.Status == http.StatusNotFound:
			return huma.Error422UnprocessableEntity("The AI provider refused the request: " + pe.Reason + ".")
		case pe.Reason == reasonContextTooLong, pe.Status == http.StatusRequestEntityTooLarge:
			// The caller's to fix, like an oversized prompt: not the provider failing (a 5xx
			// would invite a retry that cannot succeed).
			return huma.Error422UnprocessableEntity("The AI provider refused the request: " + pe.Reason + ".")
		}
		return huma.Error502BadGateway("The AI provider failed: " + pe.Reason + ".")
	case errors.Is(err, ErrTooManySteps):
		return huma.Error502BadGateway(fmt.Sprintf("The model did not answer within %d tool-call turns.", DefaultToolMaxSteps))
	case errors.Is(err, context.DeadlineExceeded):
		return huma.Error504GatewayTimeout("The AI provider did not answer within AI_TIMEOUT.")
	case errors.Is(err, context.Canceled):
		return huma.Error503ServiceUnavailable("The request was cancelled.")
	}
	h.r.Logger.ErrorContext(ctx, "ai: request failed", "error", err, "request_id", backend.RequestID(ctx))
	return huma.Error500InternalServerError("The server hit an unexpected error. Quote the X-Request-ID header when reporting it.")
}

// retryLater is a 503 problem for a temporary condition, with the wait in its Retry-After
// header and its detail: wait (a ProviderError's RetryAfter, bounded where it is set), or
// DefaultRetryAfter when zero (unknown).
func retryLater(what string, wait time.Duration) error {
	return retryLaterStatus(http.StatusServiceUnavailable, what, wait)
}

// retryLaterStatus is retryLater with another status.
func retryLaterStatus(status int, what string, wait time.Duration) error {
	if wait <= 0 {
		wait = DefaultRetryAfter
	}
	// Rounded up: a client that waits the whole seconds finds the condition over.
	secs := ratelimit.Seconds(wait)
	return huma.ErrorWithHeaders(huma.NewError(status, fmt.Sprintf("%s; this is temporary: retry in %s.", what, backend.Seconds(secs))),
		http.Header{"Retry-After": {strconv.Itoa(secs)}})
}

func (h *handlers) profiles(context.Context, *struct{}) (*profilesOutput, error) {
	out := &profilesOutput{}
	out.Body.Profiles = h.svc.Profiles()
	return out, nil
}

func (h *handlers) conversations(ctx context.Context, in *conversationsInput) (*conversationsOutput, error) {
	cs, err := h.svc.Conversations(ctx, in.Limit, in.Before)
	if err != nil {
		return nil, h.problem(ctx, err)
	}
	out := &conversationsOutput{}
	out.Body.Conversations = nonNil(cs)
	return out, nil
}

func (h *handlers) createConversation(ctx context.Context, in *createConversationInput) (*conversationOutput, error) {
	c, err := h.svc.CreateConversation(ctx, in.Body.Title, in.Body.Model)
	if err != nil {
		return nil, h.problem(ctx, err)
	}
	return &conversationOutput{Body: c}, nil
}

func (h *handlers) conversation(ctx context.Context, in *idInput) (*conversationMessagesOutput, error) {
	c, msgs, err := h.svc.Conversation(ctx, in.ID)
	if err != nil {
		return nil, h.problem(ctx, err)
	}
	return &conversationMessagesOutput{Body: ConversationWithMessages{Conversation: *c, Messages: nonNil(msgs)}}, nil
}

func (h *handlers) deleteConversation(ctx context.Context, in *idInput) (*struct{}, error) {
	if err := h.svc.DeleteConversation(ctx, in.ID); err != nil {
		return nil, h.problem(ctx, err)
	}
	return nil, nil
}

// usageDateMessage says how to write a date of GET /usage: the problem named the
// parameter without saying what a date is, and its errors entry had no message.
const usageDateMessage = "must be a date such as 2026-12-07 (YYYY-MM-DD, a real day)"

func (h *handlers) usage(ctx context.Context, in *usageInput) (*usageOutput, error) {
	now := h.svc.now().UTC()
	to, from := now, now.AddDate(0, 0, -29)
	var err error
	if in.To != "" {
		if to, err = time.Parse(time.DateOnly, in.To); err != nil {
			return nil, huma.Error422UnprocessableEntity("validation failed: query.to: "+usageDateMessage, &huma.ErrorDetail{Location: "query.to", Message: usageDateMessage, Value: in.To})
		}
		if in.From == "" {
			from = to.AddDate(0, 0, -29)
		}
	}
	if in.From != "" {
		if from, err = time.Parse(time.DateOnly, in.From); err != nil {
			return nil, huma.Error422UnprocessableEntity("validation failed: query.from: "+usageDateMessage, &huma.ErrorDetail{Location: "query.from", Message: usageDateMessage, Value: in.From})
		}
	}
	if from.After(to) || to.Sub(from) > 366*24*time.Hour {
		const msg = "must be on or before to, and at most 366 days before it; give dates such as from=2026-01-01&to=2026-01-31"
		return nil, huma.Error422UnprocessableEntity("validation failed: query.from: "+msg, &huma.ErrorDetail{Location: "query.from", Message: msg, Value: in.From})
	}
	if in.All && h.svc.identity != nil && !h.svc.identity.IsAdmin(ctx) {
		return nil, huma.Error403Forbidden("Only admins may read everyone's usage.")
	}
	rows, err := h.svc.Usage(ctx, UsageParams{From: from, To: to, All: in.All})
	if err != nil {
		return nil, h.problem(ctx, err)
	}
	return &usageOutput{Body: summarize(from, to, rows)}, nil
}

// summarize is the ledger's rows of from..to with their totals, costs rounded: GET /usage's
// answer and `ai usage --json`'s, one shape for both.
func summarize(from, to time.Time, rows []UsageRow) UsageSummary {
	out := UsageSummary{From: from.Format(time.DateOnly), To: to.Format(time.DateOnly), Rows: nonNil(rows)}
	t := &out.Totals
	for i, r := range rows {
		t.Calls += r.Calls
		t.InputTokens += r.InputTokens
		t.OutputTokens += r.OutputTokens
		t.CostUSD += r.CostUSD
		t.Errors += r.Errors
		rows[i].CostUSD = roundUSD(r.CostUSD)
	}
	t.CostUSD = roundUSD(t.CostUSD)
	return out
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
