package ai

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/aegisgo/aegis/template/internal/components/database"
	"github.com/aegisgo/aegis/template/internal/config"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
	"github.com/aegisgo/aegis/template/internal/runtime/tracing"
	"github.com/aegisgo/aegis/template/internal/services/httpclient"
)

// Errors of bad input; the API answers them with 422 (quota: 429).
var (
	ErrEmptyPrompt    = errors.New("ai: the prompt is empty")
	ErrPromptTooLarge = errors.New("ai: the prompt is larger than AI_MAX_PROMPT_BYTES")
	ErrUnknownModel   = errors.New("ai: unknown model or profile")
	// ErrConversationBusy is a prompt sent to a conversation while another prompt of it is
	// being answered, by this instance or another sharing the database (409): answered
	// together, the two answers would be stored after both prompts, each out of its place,
	// and neither call would see the other's turn.
	ErrConversationBusy = errors.New("ai: the conversation is answering another prompt")
)

// BusyRetryAfter is the wait told to a prompt refused with ErrConversationBusy (the 409's
// Retry-After): a few seconds, about what an answer takes, so a client that retries then
// mostly finds the conversation free, and one that does not is refused again at the cost of
// a read and an UPDATE. The lease's end would be the wrong wait: the answer renews it as long
// as it runs, and it is only reached when the instance answering died, up to a minute a
// client would wait for nothing.
const BusyRetryAfter = 5 * time.Second

// PromptSizeError is a prompt or system prompt over AI_MAX_PROMPT_BYTES; it is
// ErrPromptTooLarge.
type PromptSizeError struct {
	// Field is "prompt" or "system".
	Field     string
	Size, Max int
}

func (e *PromptSizeError) Error() string {
	return fmt.Sprintf("ai: the %s is %d bytes, over AI_MAX_PROMPT_BYTES (%d)", e.Field, e.Size, e.Max)
}

func (e *PromptSizeError) Is(target error) bool { return target == ErrPromptTooLarge }

// QuotaError is returned when a user spent their daily tokens.
type QuotaError struct {
	Used, Quota int64
	// Reset is when the quota starts again (the next UTC midnight).
	Reset time.Time
	// Reserved is the part of Used that the user's calls under way hold until they end
	// (their answers' bounds): once they end, what they did not spend is free again.
	Reserved int64
}

// Held reports whether the quota is not spent but held by calls under way (Used counts
// their reservations): it frees up as they end, long before Reset.
func (e *QuotaError) Held() bool { return e.Reserved > 0 && e.Spent() < e.Quota }

// Spent is what the user's ended calls spent today.
func (e *QuotaError) Spent() int64 { return e.Used - e.Reserved }

func (e *QuotaError) Error() string {
	if e.Held() {
		return fmt.Sprintf("ai: daily token quota held by calls under way (%d of %d spent, %d reserved)", e.Spent(), e.Quota, e.Reserved)
	}
	return fmt.Sprintf("ai: daily token quota spent (%d of %d); it resets at %s", e.Used, e.Quota, e.Reset.UTC().Format(time.RFC3339))
}

// Opts adjust New. A nil *Opts means the defaults.
type Opts struct {
	// Identity attributes calls to users (the ai+auth glue provides it); nil means anonymous.
	Identity Identity
	// Clients builds the HTTP clients of the providers; nil means a fresh set with the
	// default HTTP_CLIENT_* settings.
	Clients *httpclient.Clients
	// Providers replaces the provider of a kind (tests); nil means the SDKs'.
	Providers map[string]Provider
	// Tools are offered by RunTools and served at /mcp; NewService passes the registered ones.
	Tools []Tool
	// Logger receives failures (never keys, prompts or answers); nil means slog.Default().
	Logger *slog.Logger
	// Production refuses the endpoints without the auth service and AI_ACCESS_TOKEN.
	Production bool
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Service is the ai service: profiles of providers and models, conversations, the usage
// ledger and quotas. It is safe for concurrent use.
type Service struct {
	settings   Settings
	profiles   []Profile
	providers  map[string]Provider // by profile name
	prices     Prices
	store      *store
	identity   Identity
	tools      []Tool
	logger     *slog.Logger
	production bool
	now        func() time.Time
	// leaseTerm and leaseRenew are leaseTerm and leaseRenewEvery (shorter in tests).
	leaseTerm, leaseRenew time.Duration

	mu      sync.Mutex
	calls   int64
	fails   int64
	lastErr string
	lastAt  time.Time

	// quotaMu guards inFlight, the tokens reserved per user by this process's calls under way
	// (their prompt's estimate and their answer's bound), so that parallel calls near the
	// quota do not each get what is left of it, and ended, the count of calls whose usage was
	// recorded since: a quota read taken before one ended misses its tokens, which its
	// reservation no longer stands for.
	quotaMu  sync.Mutex
	inFlight map[string]int64
	ended    int64
}

// leaseTerm is how long a conversation's answering lease (answering_until) runs from its
// claim or its latest renewal, and leaseRenewEvery how often the instance answering renews
// it (see keepLease). Short, so that an instance that dies mid-answer (and neither renews nor
// releases its lease) holds its conversation for a minute at most, not for the longest an
// answer can take (AI_TIMEOUT, minutes); renewed, so that a long answer keeps its
// conversation however long it takes. Three renewals per term: one that fails (the database
// briefly away; each try is bounded at 10 s) leaves the lease running until the next, and
// instances whose clocks differ by up to about 20 s (each compares the lease with its own)
// still see a renewed lease running.
const (
	leaseTerm       = time.Minute
	leaseRenewEvery = leaseTerm / 3
)

// claim takes conversation id's answering lease in the database, so that instances sharing
// it (replicas behind a load balancer, `serve` and `ai chat`) answer one of its prompts at a
// time; ErrConversationBusy when another prompt holds it, ErrNotFound when the conversation
// was deleted since prepare read it (a 404 at once, not a 409 whose retry finds it gone). It
// returns the lease's end, which unclaim needs.
func (s *Service) claim(ctx context.Context, id int64) (time.Time, error) {
	now := s.now()
	until := now.Add(s.leaseTerm)
	ok, err := s.store.claimConversation(ctx, id, now, until)
	if err != nil {
		return time.Time{}, err
	}
	if !ok {
		return time.Time{}, fmt.Errorf("%w (conversation %d)", ErrConversationBusy, id)
	}
	return until, nil
}

// unclaim ends the lease prep holds, if any, whatever way the answer ended: with a context
// of its own, since a caller gone away (which cancels ctx) is one of those ways. Should it
// fail, the lease still ends when its time is up.
func (s *Service) unclaim(ctx context.Context, prep *preparation) {
	if prep == nil || prep.claimed == 0 {
		return
	}
	if prep.stopRenewing != nil {
		// Stopped first: a renewal under way would otherwise change the lease's end after
		// the release read it, and so outlive it.
		prep.stopRenewing()
		prep.stopRenewing = nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	held := prep.leaseHeld
	if held == nil {
		held = []time.Time{prep.leaseUntil}
	}
	if err := s.store.releaseConversation(ctx, prep.claimed, held); err != nil {
		s.logger.WarnContext(ctx, "ai: freeing a conversation failed; it takes prompts again once its lease is up", "conversation", prep.claimed, "error", err)
	}
	prep.claimed = 0
}

// keepLease renews the lease prep holds every leaseRenew while its answer is under way,
// each time to leaseTerm from then, until unclaim stops it (which waits for it, so no
// renewal outlives the answer) or ctx ends (the answer ends with it, and unclaim follows).
// A renewal that fails (the database away) is logged and tried again at the next tick: the
// lease still runs until its last end. One that finds the lease no longer this answer's
// stops the renewals and lets the answer go on, as it is already being produced: the
// conversation was deleted (the answer then finds it missing when it stores itself, a 404),
// or the lease ran out before a renewal (the database away for a whole term, or this
// process stalled) and another instance claimed it (a warning: the two answers may be stored
// out of their places).
func (s *Service) keepLease(ctx context.Context, prep *preparation) {
	if prep == nil || prep.claimed == 0 || prep.stopRenewing != nil {
		return
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	id := prep.claimed
	// held are the ends the lease may have: the last one known, and those of the renewals
	// since whose outcome is unknown (an error may come after the database applied the
	// UPDATE, a connection lost before its answer). Matching any of them keeps such a lease
	// this answer's, for the next renewal and for the release.
	held := []time.Time{prep.leaseUntil}
	go func() {
		defer close(done)
		tick := time.NewTicker(s.leaseRenew)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			next, ok, err := s.renewLease(ctx, id, held)
			switch {
			case err != nil:
				s.logger.WarnContext(ctx, "ai: renewing a conversation's answering lease failed; trying again", "conversation", id, "lease_until", held[0], "error", err)
				if len(held) < maxUncertainRenewals {
					held = append(held, next)
				}
			case !ok:
				return
			default:
				held = append(held[:0], next)
			}
		}
	}()
	prep.stopRenewing = func() {
		cancel()
		<-done
		prep.leaseHeld = held
	}
}

// maxUncertainRenewals bounds the lease ends keepLease keeps for renewals whose outcome is
// unknown: at one renewal every leaseRenew, the lease has run out well before.
const maxUncertainRenewals = 8

// renewLease extends conversation id's lease, which ends at one of held (see keepLease), to
// leaseTerm from now, which it returns whatever the outcome. ok is false when the lease is
// no longer this answer's: deleted, or taken.
func (s *Service) renewLease(ctx context.Context, id int64, held []time.Time) (next time.Time, ok bool, err error) {
	// Not cut short by ctx: a renewal the database made but whose answer was cancelled would
	// leave a lease that the release, knowing only until, could not end.
	dbCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	next = s.now().Add(s.leaseTerm)
	ok, err = s.store.renewConversation(dbCtx, id, held, next)
	switch {
	case errors.Is(err, ErrNotFound):
		s.logger.DebugContext(ctx, "ai: the conversation being answered was deleted", "conversation", id)
		return next, false, nil
	case err != nil:
		return next, false, err
	case !ok:
		s.logger.WarnContext(ctx, "ai: a conversation's answering lease ran out before its renewal and another prompt took it; both answers go on", "conversation", id, "lease_until", held[0])
	}
	return next, ok, nil
}

// NewService is the registry constructor.
func NewService(_ context.Context, db *database.DB, hc *httpclient.Clients, s Settings, core config.Core, id registry.Maybe[Identity], tools registry.All[Tool]) (*Service, error) {
	opts := &Opts{Identity: id.Value, Clients: hc, Production: core.Production()}
	for _, t := range tools {
		opts.Tools = append(opts.Tools, t.Value)
	}
	return New(db, s, opts)
}

// New returns the service on db with settings s (zero fields mean the defaults).
func New(db *database.DB, s Settings, opts *Opts) (*Service, error) {
	if db == nil {
		return nil, errors.New("ai: new service: nil database")
	}
	if opts == nil {
		opts = &Opts{}
	}
	s = s.WithDefaults()
	if err := s.Validate(); err != nil {
		return nil, fmt.Errorf("ai: %w", err)
	}
	profiles, _ := s.ProfileList()
	prices, _ := newPrices(s.Prices)
	svc := &Service{settings: s, profiles: profiles, providers: map[string]Provider{}, prices: prices, inFlight: map[string]int64{},
		identity: opts.Identity, tools: slices.Clone(opts.Tools), logger: opts.Logger, production: opts.Production, now: opts.Now,
		leaseTerm: leaseTerm, leaseRenew: leaseRenewEvery}
	if svc.logger == nil {
		svc.logger = slog.Default()
	}
	if svc.now == nil {
		svc.now = time.Now
	}
	svc.store = &store{db: db.Bun(), now: svc.now}
	hc := opts.Clients
	byKind := map[string]Provider{}
	for _, p := range profiles {
		prov, ok := opts.Providers[p.Provider]
		if !ok {
			prov, ok = byKind[p.Provider]
		}
		if !ok {
			if hc == nil {
				var err error
				if hc, err = httpclient.NewClients(httpclient.Settings{}, nil); err != nil {
					return nil, fmt.Errorf("ai: %w", err)
				}
			}
			var err error
			if prov, err = newProvider(hc, s, p.Provider); err != nil {
				return nil, err
			}
		}
		byKind[p.Provider] = prov
		svc.providers[p.Name] = prov
	}
	return svc, nil
}

// newProvider builds the provider of a kind on its own HTTP client ("ai-openai", ...). The
// SDKs send absolute URLs, so the client needs no BaseURL to work; it gets the provider's
// all the same so the dashboard's Outbound HTTP panel shows where the client calls (an
// AI_LOCAL_BASE_URL set, say), instead of none.
func newProvider(hc *httpclient.Clients, s Settings, kind string) (Provider, error) {
	c, err := hc.New("ai-"+kind, httpclient.Options{BaseURL: s.baseURL(kind), Timeout: s.Timeout})
	if err != nil {
		return nil, fmt.Errorf("ai: provider %s: %w", kind, err)
	}
	switch kind {
	case ProviderAnthropic:
		return NewAnthropic(AnthropicParams{APIKey: s.key(kind), BaseURL: s.baseURL(kind), HTTP: c.HTTP(), MaxTokens: s.MaxOutputTokens}), nil
	default:
		return NewOpenAI(OpenAIParams{Kind: kind, APIKey: s.key(kind), BaseURL: s.baseURL(kind), HTTP: c.HTTP(), MaxTokens: s.MaxOutputTokens}), nil
	}
}

// Settings returns the settings, defaults filled in. They hold the API keys: never log or
// return them.
func (s *Service) Settings() Settings { return s.settings }

// Configured reports whether at least one profile is set up.
func (s *Service) Configured() bool { return len(s.profiles) > 0 }

// Profiles returns the configured profiles, the default first.
func (s *Service) Profiles() []Profile { return slices.Clone(s.profiles) }

// Provider returns the provider of a profile (or model) name; "" means the default profile.
func (s *Service) Provider(name string) (Profile, Provider, error) {
	if !s.Configured() {
		return Profile{}, nil, ErrNotConfigured
	}
	if name == "" {
		return s.profiles[0], s.providers[s.profiles[0].Name], nil
	}
	for _, p := range s.profiles {
		if p.Name == name || p.Model == name {
			return p, s.providers[p.Name], nil
		}
	}
	return Profile{}, nil, fmt.Errorf("%w %q; use one of %s", ErrUnknownModel, name, strings.Join(s.profileNames(), ", "))
}

func (s *Service) profileNames() []string {
	var out []string
	for _, p := range s.profiles {
		out = append(out, p.Name+" ("+p.Model+")")
	}
	return out
}

// userID is the user of ctx, "" for none.
func (s *Service) userID(ctx context.Context) string {
	if s.identity == nil {
		return ""
	}
	id, _ := s.identity.UserID(ctx)
	return id
}

// ChatParams is one prompt to send.
type ChatParams struct {
	// Prompt is the user's message: not empty, at most AI_MAX_PROMPT_BYTES.
	Prompt string
	// System is an optional system prompt, bounded like Prompt.
	System string
	// Model is a profile name or a configured model; "" means the default profile.
	Model string
	// ConversationID continues a stored conversation of the caller's; 0 starts a new one.
	ConversationID int64
	// MaxTokens bounds the answer; 0 means AI_MAX_OUTPUT_TOKENS.
	MaxTokens int64
	// OnDelta, when set, streams the answer: it gets each piece of text as it arrives. An
	// error from it stops the stream (the answer so far is kept as partial).
	OnDelta func(text string) error
}

// ChatResult is the answer to a prompt, stored in its conversation.
type ChatResult struct {
	ConversationID int64   `json:"conversation_id"`
	MessageID      int64   `json:"message_id,omitempty"`
	Profile        string  `json:"profile"`
	Model          string  `json:"model"`
	Content        string  `json:"content"`
	Usage          Usage   `json:"usage"`
	CostUSD        float64 `json:"cost_usd"`
	// Partial is true when the answer was cut short; Content is what arrived.
	Partial bool `json:"partial,omitempty"`
}

// checkPrompt validates the text a caller sends.
func (s *Service) checkPrompt(p ChatParams) error {
	if strings.TrimSpace(p.Prompt) == "" {
		return ErrEmptyPrompt
	}
	if len(p.Prompt) > s.settings.MaxPromptBytes {
		return &PromptSizeError{Field: "prompt", Size: len(p.Prompt), Max: s.settings.MaxPromptBytes}
	}
	if len(p.System) > s.settings.MaxPromptBytes {
		return &PromptSizeError{Field: "system", Size: len(p.System), Max: s.settings.MaxPromptBytes}
	}
	if !utf8.ValidString(p.Prompt) || !utf8.ValidString(p.System) {
		return fmt.Errorf("%w: it is not valid UTF-8", ErrEmptyPrompt)
	}
	if strings.IndexByte(p.Prompt, 0) >= 0 {
		return &NULError{Field: "prompt"}
	}
	if strings.IndexByte(p.System, 0) >= 0 {
		return &NULError{Field: "system"}
	}
	return nil
}

// NULError is a text of the caller's with a NUL character (U+0000), which neither
// database stores: PostgreSQL refuses it in text, and SQLite ends the statement at it, so
// a prompt or title with one would fail as a 500 after the quota was checked. Field is the
// body field ("prompt", "system", "title").
type NULError struct{ Field string }

func (e *NULError) Error() string { return "ai: the " + e.Field + " contains a NUL character" }

// checkQuota refuses a user who spent AI_DAILY_TOKEN_QUOTA today, counting what this
// process's calls under way reserved; otherwise it returns what they spent (-1 when no quota
// applies) and the count of their ended calls when it read it.
func (s *Service) checkQuota(ctx context.Context, user string) (used, ended int64, err error) {
	q := s.settings.DailyTokenQuota
	if q <= 0 || user == "" {
		return -1, 0, nil
	}
	// The count is taken before the read: a call that ends after it is seen as new then.
	ended, _ = s.quotaBook(user)
	now := s.now().UTC()
	if used, err = s.store.tokensOn(ctx, user, now.Format(time.DateOnly)); err != nil {
		return 0, 0, err
	}
	if _, reserved := s.quotaBook(user); used+reserved >= q {
		return 0, 0, s.quotaError(used, reserved, now)
	}
	return used, ended, nil
}

func (s *Service) quotaError(used, reserved int64, now time.Time) *QuotaError {
	now = now.UTC()
	return &QuotaError{Used: used + reserved, Reserved: reserved, Quota: s.settings.DailyTokenQuota, Reset: now.Truncate(24 * time.Hour).Add(24 * time.Hour)}
}

// quotaBook returns the count of ended calls and the tokens user's calls under way reserved.
func (s *Service) quotaBook(user string) (ended, reserved int64) {
	s.quotaMu.Lock()
	defer s.quotaMu.Unlock()
	return s.ended, s.inFlight[user]
}

// release returns a call's reservation once its usage is in the ledger.
func (s *Service) release(ci *callInfo) {
	if ci.reserved == 0 {
		return
	}
	s.quotaMu.Lock()
	defer s.quotaMu.Unlock()
	s.inFlight[ci.user] -= ci.reserved
	s.ended++
	ci.reserved = 0
	if s.inFlight[ci.user] <= 0 {
		delete(s.inFlight, ci.user)
	}
}

// Prepare checks a prompt before anything is sent or stored: configuration, the prompt,
// the model and the caller's quota. Chat runs it too; the API calls it first so that a
// streamed answer's refusals are plain problems, not stream events.
func (s *Service) Prepare(ctx context.Context, p ChatParams) error {
	prep, err := s.prepare(ctx, p)
	s.unclaim(ctx, prep)
	return err
}

// preparation is what prepare read, so that the call after it does not read it again: the
// conversation continued (nil for a new one) and the tokens the caller spent today (-1: no
// quota applies).
type preparation struct {
	conv       *Conversation
	quotaUsed  int64
	quotaEnded int64
	// claimed is the conversation prepare (or, for a new one, startChat) claimed until
	// leaseUntil (see claim), which chat gives up when it ends; 0 for none.
	claimed    int64
	leaseUntil time.Time
	// stopRenewing stops keepLease's renewals of the lease and sets leaseHeld; nil when none
	// run.
	stopRenewing func()
	// leaseHeld are the ends the lease may have once renewals stopped (see keepLease); nil:
	// leaseUntil.
	leaseHeld []time.Time
}

func (s *Service) prepare(ctx context.Context, p ChatParams) (*preparation, error) {
	if _, _, err := s.Provider(p.Model); err != nil {
		return nil, err
	}
	if err := s.checkPrompt(p); err != nil {
		return nil, err
	}
	prep := &preparation{}
	user := s.userID(ctx)
	var err error
	if p.ConversationID > 0 {
		if prep.conv, err = s.store.conversation(ctx, p.ConversationID, user); err != nil {
			return nil, err
		}
	}
	if prep.quotaUsed, prep.quotaEnded, err = s.checkQuota(ctx, user); err != nil {
		return nil, err
	}
	// Claimed last, so that no refusal above leaves it claimed.
	if prep.conv != nil {
		if prep.leaseUntil, err = s.claim(ctx, prep.conv.ID); err != nil {
			return nil, err
		}
		prep.claimed = prep.conv.ID
	}
	return prep, nil
}

// Chat sends a prompt in a conversation (a new one when p.ConversationID is 0), stores the
// prompt and the answer, and records the call in the usage ledger. On a provider failure it
// returns the result as far as it got (Partial, the partial answer stored as such) with the
// error.
func (s *Service) Chat(ctx context.Context, p ChatParams) (*ChatResult, error) {
	prep, err := s.prepare(ctx, p)
	if err != nil {
		return nil, err
	}
	return s.chat(ctx, p, prep)
}

// chat is Chat after prepare, which the API runs before it starts its answer.
func (s *Service) chat(ctx context.Context, p ChatParams, prep *preparation) (*ChatResult, error) {
	// Deferred: however the answer ends (an error, the caller gone, a provider that panics),
	// its conversation takes the next prompt.
	defer s.unclaim(ctx, prep)
	ci, req, err := s.startChat(ctx, &p, prep)
	if err != nil {
		return nil, err
	}
	// Renewed while the provider answers; unclaim stops it.
	s.keepLease(ctx, prep)
	resp, callErr := s.call(ctx, ci, req, p.OnDelta)
	return s.keepAnswer(ctx, ci, resp, callErr)
}

// startChat finds or creates the conversation, stores the prompt and returns the call with
// the conversation's history. (Chat's steps are functions of their own, and pass pointers, so
// that their locals are not on the stack while a streamed answer arrives.)
func (s *Service) startChat(ctx context.Context, p *ChatParams, prep *preparation) (*callInfo, *Request, error) {
	profile, prov, _ := s.Provider(p.Model)
	user := s.userID(ctx)
	conv := prep.conv
	var history []StoredMessage
	var err error
	if conv != nil {
		if history, err = s.store.messages(ctx, conv.ID, s.settings.HistoryMessages); err != nil {
			return nil, nil, err
		}
		// A prompt that names no model goes on with the conversation's profile (the one it was
		// created with, such as a cheaper model), not the default; a profile since removed
		// from AI_PROFILES falls back to the default.
		if p.Model == "" && conv.Profile != "" {
			if cp, cprov, cerr := s.Provider(conv.Profile); cerr == nil {
				profile, prov = cp, cprov
			}
		}
	}
	// The prompt is stored before the call, so it is kept whatever happens to the answer.
	prompt := &StoredMessage{Role: RoleUser, Content: p.Prompt}
	if conv == nil {
		// Created claimed, for a client that finds it (in its list) while it is answered.
		until := s.now().Add(s.leaseTerm)
		if conv, err = s.store.createConversation(ctx, user, titleOf(p.Prompt), profile.Name, &until, prompt); err != nil {
			return nil, nil, err
		}
		prep.claimed, prep.leaseUntil = conv.ID, until
	} else if err := s.store.addMessages(ctx, conv.ID, prompt); err != nil {
		return nil, nil, err
	}
	req := &Request{Model: profile.Model, System: p.System, MaxTokens: p.MaxTokens}
	for _, m := range history {
		req.Messages = append(req.Messages, Message{Role: m.Role, Content: m.Content, ToolCalls: m.ToolCalls, ToolCallID: m.ToolCallID})
	}
	req.Messages = append(req.Messages, Message{Role: RoleUser, Content: p.Prompt})
	return &callInfo{kind: "chat", profile: profile, prov: prov, user: user, conversation: conv.ID, prep: prep}, req, nil
}

// keepAnswer stores a call's answer in its conversation and returns the result.
func (s *Service) keepAnswer(ctx context.Context, ci *callInfo, resp *Response, callErr error) (*ChatResult, error) {
	profile, convID := ci.profile, ci.conversation
	res := &ChatResult{ConversationID: convID, Profile: profile.Name, Model: profile.Model}
	if resp == nil {
		return res, callErr
	}
	res.Model, res.Content, res.Usage = cmpOrString(resp.Model, profile.Model), resp.Content, resp.Usage
	res.CostUSD, _ = s.cost(res.Model, resp.Usage)
	// Partial only when part of an answer arrived (and is stored below): a refusal before any
	// text leaves nothing to keep.
	res.Partial = callErr != nil && resp.Content != ""
	if resp.Content == "" && callErr != nil {
		return res, callErr
	}
	m := &StoredMessage{Role: RoleAssistant, Content: resp.Content, Status: StatusComplete}
	if res.Partial {
		m.Status = StatusPartial
	}
	// The answer is stored even when the caller went away mid-stream.
	storeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := s.store.addMessages(storeCtx, convID, m); err != nil {
		if errors.Is(err, ErrNotFound) {
			// Deleted while the answer was on the way: nothing was kept, so the result names
			// no conversation to show or continue.
			res.ConversationID, res.Partial = 0, false
		}
		return res, errors.Join(callErr, err)
	}
	res.MessageID = m.ID
	return res, callErr
}

func cmpOrString(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// titleOf is a conversation's title from its first prompt: its first line, shortened.
func titleOf(prompt string) string {
	t, _, _ := strings.Cut(strings.TrimSpace(prompt), "\n")
	if utf8.RuneCountInString(t) > 80 {
		r := []rune(t)
		t = string(r[:79]) + "…"
	}
	return t
}

// instrumentationScope names the tracer of the provider calls.
const instrumentationScope = "github.com/aegisgo/aegis/template/internal/services/ai"

// callInfo is what the ledger records of a call besides its usage.
type callInfo struct {
	kind         string
	profile      Profile
	prov         Provider
	user         string
	conversation int64
	// prep is what prepare read before the call, for the first call only: a tool loop's
	// later turns read the quota spent again.
	prep *preparation
	// reserved is what the call holds of its user's quota while under way (see capToQuota).
	reserved int64
}

// call sends req (streaming when onDelta is set), and records it in the ledger whatever
// happened: tokens as the provider reported them, or estimated for an answer cut short.
func (s *Service) call(ctx context.Context, ci *callInfo, req *Request, onDelta func(string) error) (*Response, error) {
	// AI_MAX_OUTPUT_TOKENS is the most an answer may take: a request may ask for fewer only.
	req.MaxTokens = min(cmp.Or(req.MaxTokens, s.settings.MaxOutputTokens), s.settings.MaxOutputTokens)
	if err := s.capToQuota(ctx, ci, req); err != nil {
		return nil, err
	}
	// After record put the usage in the ledger; deferred, so that a provider that panics
	// does not keep its reservation for the life of the process.
	defer s.release(ci)
	start := s.now()
	ctx, span := startCallSpan(ctx, ci)
	var resp *Response
	var err error
	if onDelta != nil {
		resp, err = ci.prov.Stream(ctx, *req, onDelta)
	} else {
		resp, err = ci.prov.Chat(ctx, *req)
	}
	s.record(ctx, ci, req, start, span, resp, err)
	return resp, err
}

// capToQuota bounds req's answer to what is left of its user's AI_DAILY_TOKEN_QUOTA today,
// when that is less than the answer's bound (the request's, else AI_MAX_OUTPUT_TOKENS): the
// quota is checked before a call, and without the cap one answer could overshoot it by up to
// its whole bound; with it, only by the prompt's tokens. What is left takes away what this
// process's other calls under way reserved, and the call reserves its own bound and prompt
// until it is recorded: parallel calls do not each get the whole rest. A request's first
// call (a chat, the tool loop's first turn, a job's attempt) that finds nothing left so is
// refused (a *QuotaError); later calls (the tool loop's next turns) keep their usual bound.
func (s *Service) capToQuota(ctx context.Context, ci *callInfo, req *Request) error {
	q := s.settings.DailyTokenQuota
	prep := ci.prep
	ci.prep = nil
	if q <= 0 || ci.user == "" {
		return nil
	}
	var used, ended int64 = 0, -1
	if prep != nil {
		used, ended = prep.quotaUsed, prep.quotaEnded
	}
	s.quotaMu.Lock()
	defer s.quotaMu.Unlock()
	// A call that ended after the ledger was read is in neither the read nor the
	// reservations: read again (a few times at most, then go with the last read).
	for range 3 {
		if ended == s.ended {
			break
		}
		ended = s.ended
		s.quotaMu.Unlock()
		var err error
		used, err = s.store.tokensOn(ctx, ci.user, s.now().UTC().Format(time.DateOnly))
		s.quotaMu.Lock()
		if err != nil {
			s.logger.WarnContext(ctx, "ai: reading the quota used failed; the answer is not capped to it", "error", err)
			return nil
		}
	}
	left := q - used - s.inFlight[ci.user]
	if left <= 0 && prep != nil {
		return s.quotaError(used, s.inFlight[ci.user], s.now())
	}
	if left > 0 && left < cmp.Or(req.MaxTokens, s.settings.MaxOutputTokens) {
		req.MaxTokens = left
	}
	ci.reserved = cmp.Or(req.MaxTokens, s.settings.MaxOutputTokens) + estimateTokens(requestBytes(*req))
	s.inFlight[ci.user] += ci.reserved
	return nil
}

// startCallSpan starts a client span for a provider call, with OpenTelemetry's generative-AI
// attribute names (the outbound HTTP call under it is the httpclient service's span); nil
// without a tracer. It and record are apart from call so that their locals are not on the
// stack while a streamed answer arrives.
func startCallSpan(ctx context.Context, ci *callInfo) (context.Context, trace.Span) {
	t := tracing.Tracer(instrumentationScope)
	if t == nil {
		return ctx, nil
	}
	return t.Start(ctx, "chat "+ci.profile.Model, trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(attribute.String("gen_ai.operation.name", "chat"),
			attribute.String("gen_ai.system", ci.prov.Kind()), attribute.String("gen_ai.request.model", ci.profile.Model),
			attribute.String("ai.profile", ci.profile.Name), attribute.String("ai.kind", ci.kind)))
}

// record ends a provider call: its span, its line in the ledger (tokens as the provider
// reported them, or estimated for an answer cut short, which also go into resp) and its log.
func (s *Service) record(ctx context.Context, ci *callInfo, req *Request, start time.Time, span trace.Span, resp *Response, err error) {
	latency := s.now().Sub(start)
	rec := &UsageRecord{At: start.UTC(), Day: start.UTC().Format(time.DateOnly), UserID: ci.user, Kind: ci.kind,
		Profile: ci.profile.Name, Provider: ci.prov.Kind(), Model: ci.profile.Model, LatencyMS: latency.Milliseconds(), Status: "ok"}
	if ci.conversation > 0 {
		rec.ConversationID = &ci.conversation
	}
	var u Usage
	if resp != nil {
		if resp.Model != "" {
			rec.Model = resp.Model
		}
		u = resp.Usage
		if resp.Content != "" && (u.Total() == 0 || err != nil) {
			// A stream cut short never got its final usage: estimate, so a quota still sees
			// what was consumed. Anthropic's message_start already said the input tokens and
			// one output token; the output's real count comes only at the end, so the text
			// that arrived is counted instead of that first token.
			if u.InputTokens == 0 {
				u.InputTokens = estimateTokens(requestBytes(*req))
			}
			u.OutputTokens = max(u.OutputTokens, estimateTokens(len(resp.Content)))
			resp.Usage = u
		}
	}
	if u.Total() == 0 && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
		// Cancelled or timed out before any answer, JSON or stream: the prompt was sent and
		// the provider counts it; estimate it, so a quota sees it too.
		u.InputTokens = estimateTokens(requestBytes(*req))
	}
	rec.InputTokens, rec.OutputTokens = u.InputTokens, u.OutputTokens
	rec.CostUSD, rec.Priced = s.cost(rec.Model, u)
	if ci.prov.Kind() == ProviderLocal {
		rec.Priced = true
	}
	if err != nil {
		rec.Status, rec.Error = "error", safeReason(err)
		if errors.Is(err, context.Canceled) {
			rec.Status = "cancelled"
		}
	}
	if span != nil {
		span.SetAttributes(attribute.String("gen_ai.response.model", rec.Model),
			attribute.Int64("gen_ai.usage.input_tokens", rec.InputTokens), attribute.Int64("gen_ai.usage.output_tokens", rec.OutputTokens),
			attribute.Float64("ai.cost_usd", rec.CostUSD))
		if err != nil {
			span.SetStatus(codes.Error, rec.Error) // the safe reason: never the provider's body
		}
		span.End()
	}
	s.note(err, rec.Error)
	recCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if rerr := s.store.recordUsage(recCtx, rec); rerr != nil {
		s.logger.ErrorContext(ctx, "ai: record usage failed", "error", rerr)
	}
	if err != nil && !errors.Is(err, context.Canceled) {
		s.logger.WarnContext(ctx, "ai: provider call failed", "provider", rec.Provider, "model", rec.Model, "reason", rec.Error)
	}
}

// cost prices usage; local models are free and unknown models cost 0 (priced=false).
func (s *Service) cost(model string, u Usage) (float64, bool) {
	p, ok := s.prices.Lookup(model)
	if !ok {
		return 0, false
	}
	return p.Cost(u), true
}

// estimateTokens is the tokens of n bytes of text when the provider did not say: about four
// bytes a token.
func estimateTokens(n int) int64 { return int64(n/4 + 1) }

func requestBytes(r Request) int {
	n := len(r.System)
	for _, m := range r.Messages {
		n += len(m.Content)
	}
	return n
}

// safeReason is an error's text fit for the ledger and the dashboard: a provider's reason,
// or the kind of failure, never a provider's raw body.
func safeReason(err error) string {
	var pe *ProviderError
	var qe *QuotaError
	switch {
	case errors.As(err, &pe):
		return pe.Error()
	case errors.As(err, &qe):
		return qe.Error() // numbers and a time: nothing of a provider's
	case errors.Is(err, context.Canceled):
		return "cancelled: the caller went away"
	case errors.Is(err, context.DeadlineExceeded):
		return "timed out (AI_TIMEOUT)"
	}
	return "failed"
}

// note keeps the counters the health check reports.
func (s *Service) note(err error, reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	s.lastAt = s.now()
	if err != nil && !errors.Is(err, context.Canceled) {
		s.fails++
		s.lastErr = reason
	} else if err == nil {
		s.lastErr = ""
	}
}

// CheckHealth reports "not configured" (degraded: the endpoints answer 503) with how to fix
// it, or the profiles and the outcome of the last call. It never calls a provider: that
// would spend the app's quota on every probe.
func (s *Service) CheckHealth(context.Context) registry.Health {
	if !s.Configured() {
		return registry.Health{Status: registry.StatusDegraded, Message: "not configured: " + strings.TrimPrefix(ErrNotConfigured.Error(), "ai: no provider is configured; ")}
	}
	s.mu.Lock()
	calls, fails, lastErr := s.calls, s.fails, s.lastErr
	s.mu.Unlock()
	var names []string
	for _, p := range s.profiles {
		names = append(names, p.Name+"="+p.Provider+"/"+p.Model)
	}
	h := registry.Health{Status: registry.StatusHealthy, Message: strings.Join(names, ", "),
		Details: map[string]any{"profiles": names, "calls": calls, "failures": fails}}
	if lastErr != "" {
		h.Status = registry.StatusDegraded
		h.Message += "; the last call failed: " + lastErr
	}
	return h
}

// Conversations lists the caller's conversations, newest first.
func (s *Service) Conversations(ctx context.Context, limit int, before int64) ([]Conversation, error) {
	return s.store.conversations(ctx, s.userID(ctx), limit, before)
}

// CreateConversation starts an empty conversation of the caller's.
func (s *Service) CreateConversation(ctx context.Context, title, model string) (*Conversation, error) {
	if strings.IndexByte(title, 0) >= 0 {
		return nil, &NULError{Field: "title"}
	}
	profile, _, err := s.Provider(model)
	if err != nil && !errors.Is(err, ErrNotConfigured) {
		return nil, err
	}
	return s.store.createConversation(ctx, s.userID(ctx), title, profile.Name, nil, nil)
}

// Conversation returns a conversation of the caller's with its messages.
func (s *Service) Conversation(ctx context.Context, id int64) (*Conversation, []StoredMessage, error) {
	c, err := s.store.conversation(ctx, id, s.userID(ctx))
	if err != nil {
		return nil, nil, err
	}
	msgs, err := s.store.messages(ctx, id, 0)
	return c, msgs, err
}

// DeleteConversation deletes a conversation of the caller's with its messages.
func (s *Service) DeleteConversation(ctx context.Context, id int64) error {
	return s.store.deleteConversation(ctx, id, s.userID(ctx))
}

// UsageParams select a part of the ledger.
type UsageParams struct {
	// From and To are UTC days (inclusive).
	From, To time.Time
	// All sums everyone's usage; else the caller's (or, without users, everything).
	All bool
}

// Usage sums the ledger per day and model.
func (s *Service) Usage(ctx context.Context, p UsageParams) ([]UsageRow, error) {
	all := p.All || s.identity == nil
	return s.store.usage(ctx, p.From.UTC().Format(time.DateOnly), p.To.UTC().Format(time.DateOnly), s.userID(ctx), all)
}

// LastErrors returns the newest failed calls.
func (s *Service) LastErrors(ctx context.Context, limit int) ([]UsageRecord, error) {
	return s.store.lastErrors(ctx, limit)
}

var _ registry.HealthChecker = (*Service)(nil)
