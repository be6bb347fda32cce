package ai

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/google/jsonschema-go/jsonschema"

	"github.com/aegisgo/aegis/template/internal/runtime/jsonkind"
)

// Defaults of the tool loop.
const (
	DefaultToolTimeout  = 30 * time.Second
	DefaultToolMaxSteps = 8
)

// Errors of tools; a tool's failure is told to the model (which may try again), and recorded.
var (
	ErrUnknownTool   = errors.New("ai: the model asked for an unknown tool")
	ErrToolArgs      = errors.New("ai: the tool's arguments do not match its schema")
	ErrToolFailed    = errors.New("ai: the tool failed")
	ErrToolTimeout   = errors.New("ai: the tool ran past its timeout")
	ErrTooManySteps  = errors.New("ai: the tool-call loop reached its step limit")
	ErrInvalidOutput = errors.New("ai: the model's answer does not match the requested type")
)

var toolName = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)

// ToolOpts tune one tool; nil means the defaults.
type ToolOpts struct {
	// Timeout bounds one call; zero means DefaultToolTimeout.
	Timeout time.Duration
}

// Tool is a Go function the model may call, with typed arguments whose JSON schema is
// derived from their type. It is a contribution kind named by the tool's name; contribute
// one from init(), next to the function:
//
//	type WeatherArgs struct {
//		City string `json:"city" jsonschema:"the city, such as Paris"`
//	}
//
//	func init() {
//		registry.Contribute(registry.Default, "weather", ai.NewTool("weather", "Current weather of a city", weather, nil))
//	}
//
//	func weather(ctx context.Context, args WeatherArgs) (Forecast, error) {
//		res, _ := registry.FromContext(ctx) // the request's or job's scope
//		...
//	}
//
// The same tools are offered to models by Service.RunTools and to external agents by the
// MCP server at /mcp. A call runs with the caller's context (and so its registry scope),
// bounded by its timeout; a panic is recovered and reported as a failure.
type Tool struct {
	name        string
	description string
	schema      map[string]any
	timeout     time.Duration
	run         func(ctx context.Context, args json.RawMessage) (any, error)
	err         error
}

// NewTool returns the tool name that runs fn with arguments decoded into an A; opts may be
// nil. A is a struct: its fields, their json names and jsonschema tags make the schema.
func NewTool[A, R any](name, description string, fn func(ctx context.Context, args A) (R, error), opts *ToolOpts) Tool {
	t := Tool{name: name, description: description, timeout: DefaultToolTimeout}
	if opts != nil && opts.Timeout > 0 {
		t.timeout = opts.Timeout
	}
	t.schema, t.err = SchemaFor[A]()
	if fn == nil {
		t.err = errors.Join(t.err, fmt.Errorf("ai: tool %q: nil function", name))
		return t
	}
	// The decoding below is strict about unknown fields and types, but a missing required
	// argument would decode as its zero value: the arguments are validated against the
	// schema first.
	var resolved *jsonschema.Resolved
	if s, err := jsonschema.For[A](nil); err == nil {
		resolved, _ = s.Resolve(nil)
	}
	t.run = func(ctx context.Context, raw json.RawMessage) (any, error) {
		if err := validateArgs(resolved, t.schema, raw); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrToolArgs, err)
		}
		var args A
		if err := decodeStrict(raw, &args); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrToolArgs, err)
		}
		return fn(ctx, args)
	}
	return t
}

// Name is the tool's name.
func (t Tool) Name() string { return t.name }

// Spec is how the tool is offered to a model.
func (t Tool) Spec() ToolSpec {
	return ToolSpec{Name: t.name, Description: t.description, Schema: t.schema}
}

// ValidateContribution checks the tool's name, function and schema.
func (t Tool) ValidateContribution(name string) error {
	switch {
	case t.err != nil:
		return t.err
	case t.run == nil:
		return errors.New("ai: a Tool must be made with NewTool")
	case !toolName.MatchString(t.name):
		return fmt.Errorf("ai: tool name %q: use 1 to 64 letters, digits, '_' or '-'", t.name)
	case name != t.name:
		return fmt.Errorf("ai: tool %q contributed as %q; contribute it under its name", t.name, name)
	}
	return nil
}

// Call runs the tool with raw JSON arguments and returns its result as JSON. It never
// panics: a panic of the function is ErrToolFailed, a call past the timeout ErrToolTimeout.
func (t Tool) Call(ctx context.Context, args json.RawMessage) (string, error) {
	if t.run == nil {
		return "", ErrToolFailed
	}
	ctx, cancel := context.WithTimeout(ctx, t.timeout)
	defer cancel()
	type outcome struct {
		v   any
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				done <- outcome{err: fmt.Errorf("%w: it panicked", ErrToolFailed)}
			}
		}()
		v, err := t.run(ctx, args)
		done <- outcome{v, err}
	}()
	select {
	case o := <-done:
		if o.err != nil {
			if errors.Is(o.err, ErrToolArgs) || errors.Is(o.err, ErrToolFailed) {
				return "", o.err
			}
			if ctx.Err() != nil {
				return "", ErrToolTimeout
			}
			return "", fmt.Errorf("%w: %w", ErrToolFailed, o.err)
		}
		b, err := json.Marshal(o.v)
		if err != nil {
			return "", fmt.Errorf("%w: its result is not JSON: %w", ErrToolFailed, err)
		}
		return string(b), nil
	case <-ctx.Done():
		// The function goes on in its goroutine until it looks at ctx; its result is dropped.
		return "", ErrToolTimeout
	}
}

// SchemaFor is the JSON schema of T, as tools and Generate send it.
func SchemaFor[T any]() (map[string]any, error) {
	s, err := jsonschema.For[T](nil)
	if err != nil {
		return nil, fmt.Errorf("ai: schema: %w", err)
	}
	b, err := json.Marshal(s)
	if err != nil {
		return nil, fmt.Errorf("ai: schema: %w", err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("ai: schema: %w", err)
	}
	return m, nil
}

// validateArgs checks a call's arguments against its tool's schema (nil: no check); what is
// not JSON is left to decodeStrict to report.
// The failure is said in the arguments' words (`"city" is required (a string)`), for the
// model or MCP client to correct, rather than the validator's (`validating root: required:
// missing properties: ["city"]`), which stays for what argsProblem does not name.
func validateArgs(rs *jsonschema.Resolved, schema map[string]any, raw json.RawMessage) error {
	if rs == nil {
		return nil
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		raw = json.RawMessage("{}")
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil
	}
	err := rs.Validate(v)
	if err == nil {
		return nil
	}
	if p := argsProblem(schema, v); p != "" {
		return errors.New(p)
	}
	return errors.New(strings.TrimPrefix(err.Error(), "validating root: "))
}

// argsProblem names the first top-level problem of arguments against an object schema: not
// an object, a required argument missing, one the tool does not take, one of the wrong JSON
// type; "" when it finds none of these.
func argsProblem(schema map[string]any, v any) string {
	props, _ := schema["properties"].(map[string]any)
	obj, ok := v.(map[string]any)
	if !ok {
		return "the arguments must be an object, not " + jsonValueKind(v)
	}
	typeOf := func(name string) string {
		p, _ := props[name].(map[string]any)
		t, _ := p["type"].(string)
		return t
	}
	required, _ := schema["required"].([]any)
	for _, r := range required {
		if name, _ := r.(string); name != "" {
			if _, ok := obj[name]; !ok {
				if t := typeOf(name); t != "" {
					return fmt.Sprintf("%q is required (%s)", name, jsonkind.Got(t))
				}
				return fmt.Sprintf("%q is required", name)
			}
		}
	}
	names := slices.Sorted(maps.Keys(obj))
	if extra, _ := schema["additionalProperties"].(bool); !extra && schema["additionalProperties"] != nil {
		for _, name := range names {
			if _, ok := props[name]; !ok {
				takes := strings.Join(slices.Sorted(maps.Keys(props)), ", ")
				if takes == "" {
					return fmt.Sprintf("%q is not an argument of this tool, which takes none", name)
				}
				return fmt.Sprintf("%q is not an argument of this tool, which takes %s", name, takes)
			}
		}
	}
	for _, name := range names {
		want := typeOf(name)
		got := jsonValueKind(obj[name])
		if want != "" && !strings.HasSuffix(got, " "+want) && !(want == "number" && got == "an integer") {
			return fmt.Sprintf("%q must be %s, not %s", name, jsonkind.Got(want), got)
		}
	}
	return ""
}

// jsonValueKind names the JSON type of a decoded value, with its article.
func jsonValueKind(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case float64:
		if x == float64(int64(x)) {
			return "an integer"
		}
		return "a number"
	case string:
		return "a string"
	case []any:
		return "an array"
	}
	return "an object"
}

// decodeStrict decodes one JSON value into v: unknown fields and trailing data are errors.
func decodeStrict(raw json.RawMessage, v any) error {
	if len(bytes.TrimSpace(raw)) == 0 {
		raw = json.RawMessage("{}")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("data after the JSON value")
	}
	return nil
}

// ToolRun is one tool call of a loop, as recorded.
type ToolRun struct {
	Name      string          `json:"name"`
	Arguments json.RawMessage `json:"arguments"`
	Result    string          `json:"result,omitempty"`
	Error     string          `json:"error,omitempty"`
	LatencyMS int64           `json:"latency_ms"`
}

// ToolLoopParams is a prompt answered with tools.
type ToolLoopParams struct {
	Prompt, System string
	// Model is a profile name or a configured model; "" means the default profile.
	Model string
	// Tools names the tools offered; empty offers every registered one.
	Tools []string
	// MaxSteps bounds the model's turns; zero means DefaultToolMaxSteps.
	MaxSteps int
	// Timeout bounds the whole loop; zero means AI_TIMEOUT.
	Timeout time.Duration
}

// ToolLoopResult is the model's final answer and what the tools did on the way.
type ToolLoopResult struct {
	Content string    `json:"content"`
	Steps   int       `json:"steps"`
	Calls   []ToolRun `json:"calls"`
	Usage   Usage     `json:"usage"`
	CostUSD float64   `json:"cost_usd"`
}

// Tools returns the registered tools, by name.
func (s *Service) Tools() []Tool { return slices.Clone(s.tools) }

func (s *Service) tool(name string) (Tool, bool) {
	i := slices.IndexFunc(s.tools, func(t Tool) bool { return t.name == name })
	if i < 0 {
		return Tool{}, false
	}
	return s.tools[i], true
}

// callTool runs a tool and records the call in the ledger (provider "tool", model the
// tool's name, no tokens).
func (s *Service) callTool(ctx context.Context, name string, args json.RawMessage, via string) ToolRun {
	run := ToolRun{Name: name, Arguments: args}
	start := s.now()
	t, ok := s.tool(name)
	var out string
	var err error
	if !ok {
		err = fmt.Errorf("%w %q", ErrUnknownTool, name)
	} else {
		out, err = t.Call(ctx, args)
	}
	run.LatencyMS = s.now().Sub(start).Milliseconds()
	rec := &UsageRecord{At: start.UTC(), Day: start.UTC().Format(time.DateOnly), UserID: s.userID(ctx), Kind: via,
		Provider: "tool", Model: name, LatencyMS: run.LatencyMS, Status: "ok", Priced: true}
	if err != nil {
		run.Error = strings.TrimPrefix(err.Error(), "ai: ")
		rec.Status, rec.Error = "error", run.Error
	} else {
		run.Result = out
	}
	recCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if rerr := s.store.recordUsage(recCtx, rec); rerr != nil {
		s.logger.ErrorContext(ctx, "ai: record tool call failed", "error", rerr)
	}
	return run
}

// RunTools answers a prompt with the registered tools: the model is offered them, each call
// it asks for runs (in ctx, so in the request's or job's registry scope) and its result goes
// back, until the model answers in text, MaxSteps turns pass or Timeout runs out. An unknown
// tool, arguments that do not match, a failure, a panic or a timeout of a tool is told to the
// model as an error result. Every model call and every tool call is recorded in the ledger.
func (s *Service) RunTools(ctx context.Context, p ToolLoopParams) (*ToolLoopResult, error) {
	cp := ChatParams{Prompt: p.Prompt, System: p.System, Model: p.Model}
	prep, err := s.prepare(ctx, cp)
	if err != nil {
		return nil, err
	}
	profile, prov, _ := s.Provider(p.Model)
	var specs []ToolSpec
	for _, t := range s.tools {
		if len(p.Tools) == 0 || slices.Contains(p.Tools, t.name) {
			specs = append(specs, t.Spec())
		}
	}
	for _, name := range p.Tools {
		if _, ok := s.tool(name); !ok {
			return nil, fmt.Errorf("%w %q", ErrUnknownTool, name)
		}
	}
	steps := cmpOrInt(p.MaxSteps, DefaultToolMaxSteps)
	timeout := p.Timeout
	if timeout <= 0 {
		timeout = s.settings.Timeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req := Request{Model: profile.Model, System: p.System, Tools: specs, Messages: []Message{{Role: RoleUser, Content: p.Prompt}}}
	res := &ToolLoopResult{Calls: []ToolRun{}}
	ci := callInfo{kind: "tools", profile: profile, prov: prov, user: s.userID(ctx), prep: prep}
	for res.Steps < steps {
		res.Steps++
		resp, err := s.call(ctx, &ci, &req, nil)
		if resp != nil {
			res.Usage.add(resp.Usage)
		}
		if err != nil {
			return res, err
		}
		if len(resp.ToolCalls) == 0 {
			res.Content = resp.Content
			res.CostUSD, _ = s.cost(profile.Model, res.Usage)
			return res, nil
		}
		req.Messages = append(req.Messages, Message{Role: RoleAssistant, Content: resp.Content, ToolCalls: resp.ToolCalls})
		for _, c := range resp.ToolCalls {
			run := s.callTool(ctx, c.Name, c.Arguments, "tool")
			res.Calls = append(res.Calls, run)
			content := run.Result
			if run.Error != "" {
				content = `{"error":` + quote(run.Error) + `}`
			}
			req.Messages = append(req.Messages, Message{Role: RoleTool, ToolCallID: c.ID, Content: content, IsError: run.Error != ""})
		}
	}
	res.CostUSD, _ = s.cost(profile.Model, res.Usage)
	return res, fmt.Errorf("%w (%d)", ErrTooManySteps, steps)
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func cmpOrInt(a, b int) int {
	if a > 0 {
		return a
	}
	return b
}

// GenerateParams is a prompt whose answer is a Go value.
type GenerateParams struct {
	Prompt, System string
	// Model is a profile name or a configured model; "" means the default profile.
	Model     string
	MaxTokens int64
}

// Generate asks the model for a T: the answer is constrained to T's JSON schema (OpenAI's
// response_format json_schema, Anthropic's output_config.format) and decoded strictly. The
// call is recorded in the ledger (kind "generate"); an answer that does not decode is
// ErrInvalidOutput.
func Generate[T any](ctx context.Context, s *Service, p GenerateParams) (T, error) {
	var zero T
	prep, err := s.prepare(ctx, ChatParams{Prompt: p.Prompt, System: p.System, Model: p.Model})
	if err != nil {
		return zero, err
	}
	schema, err := SchemaFor[T]()
	if err != nil {
		return zero, err
	}
	profile, prov, _ := s.Provider(p.Model)
	req := Request{Model: profile.Model, System: p.System, MaxTokens: p.MaxTokens,
		Messages: []Message{{Role: RoleUser, Content: p.Prompt}}, Output: &OutputSchema{Name: "result", Schema: schema}}
	resp, err := s.call(ctx, &callInfo{kind: "generate", profile: profile, prov: prov, user: s.userID(ctx), prep: prep}, &req, nil)
	if err != nil {
		return zero, err
	}
	var v T
	if err := decodeStrict(json.RawMessage(resp.Content), &v); err != nil {
		return zero, fmt.Errorf("%w: %v", ErrInvalidOutput, err)
	}
	return v, nil
}
