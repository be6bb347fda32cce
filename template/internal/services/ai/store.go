package ai

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// Message statuses.
const (
	StatusComplete = "complete"
	// StatusPartial marks an answer cut short (a provider failure, a client gone): its content
	// is what arrived.
	StatusPartial = "partial"
)

// ErrNotFound is returned for a conversation that does not exist or is not the caller's.
var ErrNotFound = errors.New("ai: conversation not found")

// Conversation is a stored conversation.
type Conversation struct {
	bun.BaseModel `bun:"table:ai_conversations"`

	ID        int64     `bun:"id,pk,autoincrement" json:"id"`
	UserID    string    `bun:"user_id,notnull" json:"user_id,omitempty"`
	Title     string    `bun:"title,notnull" json:"title"`
	Profile   string    `bun:"profile,notnull" json:"profile"`
	CreatedAt time.Time `bun:"created_at,notnull" json:"created_at"`
	UpdatedAt time.Time `bun:"updated_at,notnull" json:"updated_at"`
	// AnsweringUntil is the lease of the instance answering one of its prompts (see
	// claimConversation): nil or past, it takes a prompt.
	AnsweringUntil *time.Time `bun:"answering_until" json:"-"`
}

// StoredMessage is a stored message of a conversation.
type StoredMessage struct {
	bun.BaseModel `bun:"table:ai_messages"`

	ID             int64      `bun:"id,pk,autoincrement" json:"id"`
	ConversationID int64      `bun:"conversation_id,notnull" json:"conversation_id"`
	Role           Role       `bun:"role,notnull" json:"role"`
	Content        string     `bun:"content,notnull" json:"content"`
	Status         string     `bun:"status,notnull" json:"status" enum:"complete,partial"`
	ToolCalls      []ToolCall `bun:"tool_calls,type:text,nullzero" json:"tool_calls,omitempty"`
	ToolCallID     string     `bun:"tool_call_id,notnull" json:"tool_call_id,omitempty"`
	CreatedAt      time.Time  `bun:"created_at,notnull" json:"created_at"`
}

// UsageRecord is one row of the usage ledger.
type UsageRecord struct {
	bun.BaseModel `bun:"table:ai_usage"`

	ID             int64     `bun:"id,pk,autoincrement" json:"id"`
	At             time.Time `bun:"at,notnull" json:"at"`
	Day            string    `bun:"day,notnull" json:"day"`
	UserID         string    `bun:"user_id,notnull" json:"user_id,omitempty"`
	ConversationID *int64    `bun:"conversation_id" json:"conversation_id,omitempty"`
	Kind           string    `bun:"kind,notnull" json:"kind"`
	Profile        string    `bun:"profile,notnull" json:"profile"`
	Provider       string    `bun:"provider,notnull" json:"provider"`
	Model          string    `bun:"model,notnull" json:"model"`
	InputTokens    int64     `bun:"input_tokens,notnull" json:"input_tokens"`
	OutputTokens   int64     `bun:"output_tokens,notnull" json:"output_tokens"`
	LatencyMS      int64     `bun:"latency_ms,notnull" json:"latency_ms"`
	CostUSD        float64   `bun:"cost_usd,notnull" json:"cost_usd"`
	Priced         bool      `bun:"priced,notnull" json:"priced"`
	Status         string    `bun:"status,notnull" json:"status"`
	Error          string    `bun:"error,notnull" json:"error,omitempty"`
}

// store reads and writes the service's tables.
type store struct {
	db  *bun.DB
	now func() time.Time
}

// createConversation creates a conversation of userID's, with its first message when first
// is not nil; a non-nil lease creates it claimed until then (see claimConversation), for the
// prompt that starts it. Conversation and message go in one transaction: a new
// conversation's prompt is stored before the model is called, so each commit is on the way
// to the first token (bench/RESULTS.md, "Detached streams keep their connection").
func (s *store) createConversation(ctx context.Context, userID, title, profile string, lease *time.Time, first *StoredMessage) (*Conversation, error) {
	now := s.now().UTC()
	c := &Conversation{UserID: userID, Title: title, Profile: profile, CreatedAt: now, UpdatedAt: now, AnsweringUntil: lease}
	insert := func(ctx context.Context, db bun.IDB) error {
		if _, err := db.NewInsert().Model(c).Returning("id").Exec(ctx); err != nil {
			return fmt.Errorf("ai: create conversation: %w", err)
		}
		return nil
	}
	if first == nil {
		if err := insert(ctx, s.db); err != nil {
			return nil, err
		}
		return c, nil
	}
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if err := insert(ctx, tx); err != nil {
			return err
		}
		stamp(c.ID, now, first)
		if _, err := tx.NewInsert().Model(first).Exec(ctx); err != nil {
			return fmt.Errorf("ai: store messages: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// conversation returns conversation id if it is userID's.
func (s *store) conversation(ctx context.Context, id int64, userID string) (*Conversation, error) {
	c := new(Conversation)
	err := s.db.NewSelect().Model(c).Where("id = ?", id).Where("user_id = ?", userID).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("ai: get conversation: %w", err)
	}
	return c, nil
}

// claimConversation takes conversation id's answering lease until until, unless another
// holds it: one conditional UPDATE, which the database runs for one writer at a time, so of
// two instances sharing it that claim at once only one changes the row. A lease that ended
// before now is free: its holder died mid-answer (or stopped renewing it). false when another
// holds it; ErrNotFound when the conversation is gone (deleted since the caller read it).
func (s *store) claimConversation(ctx context.Context, id int64, now, until time.Time) (bool, error) {
	res, err := s.db.NewUpdate().Model((*Conversation)(nil)).Set("answering_until = ?", until.UTC()).
		Where("id = ?", id).
		WhereGroup(" AND ", func(q *bun.UpdateQuery) *bun.UpdateQuery {
			return q.Where("answering_until IS NULL").WhereOr("answering_until < ?", now.UTC())
		}).Exec(ctx)
	if err != nil {
		return false, fmt.Errorf("ai: claim conversation: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("ai: claim conversation: %w", err)
	}
	if n == 1 {
		return true, nil
	}
	// No row changed: held by another, or deleted between the caller's read and this UPDATE,
	// which a retry would find missing (404) after being told the conversation is busy (409).
	// The second query is on the busy path only.
	if err := s.conversationExists(ctx, id); err != nil {
		return false, fmt.Errorf("ai: claim conversation: %w", err)
	}
	return false, nil
}

// conversationExists returns ErrNotFound when conversation id does not exist.
func (s *store) conversationExists(ctx context.Context, id int64) error {
	ok, err := s.db.NewSelect().Model((*Conversation)(nil)).Where("id = ?", id).Exists(ctx)
	if err != nil {
		return err
	}
	if !ok {
		return ErrNotFound
	}
	return nil
}

// renewConversation moves the end of conversation id's lease to next, if it is still this
// answer's lease (the release's rule): its end is one of held, the last end known and the
// ends of renewals whose outcome is unknown (see keepLease). False when another instance took
// the conversation since, ErrNotFound when it is gone.
func (s *store) renewConversation(ctx context.Context, id int64, held []time.Time, next time.Time) (bool, error) {
	res, err := s.db.NewUpdate().Model((*Conversation)(nil)).Set("answering_until = ?", next.UTC()).
		Where("id = ?", id).Where("answering_until IN (?)", bun.List(utcTimes(held))).Exec(ctx)
	if err != nil {
		return false, fmt.Errorf("ai: renew conversation lease: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("ai: renew conversation lease: %w", err)
	}
	if n == 1 {
		return true, nil
	}
	if err := s.conversationExists(ctx, id); err != nil {
		return false, fmt.Errorf("ai: renew conversation lease: %w", err)
	}
	return false, nil
}

// utcTimes returns ts in UTC, as the lease's times are written.
func utcTimes(ts []time.Time) []time.Time {
	out := make([]time.Time, len(ts))
	for i, t := range ts {
		out[i] = t.UTC()
	}
	return out
}

// releaseConversation ends the lease claimConversation (or createConversation) took, whose
// end is one of held (see renewConversation). Only that lease: should it have expired and
// another instance claimed the conversation since, that one's lease (a later time) stays.
// Both engines keep the time as written (microseconds, as bun writes it), so the equality
// holds.
func (s *store) releaseConversation(ctx context.Context, id int64, held []time.Time) error {
	_, err := s.db.NewUpdate().Model((*Conversation)(nil)).Set("answering_until = NULL").
		Where("id = ?", id).Where("answering_until IN (?)", bun.List(utcTimes(held))).Exec(ctx)
	if err != nil {
		return fmt.Errorf("ai: release conversation: %w", err)
	}
	return nil
}

// conversations lists userID's conversations, newest first, at most limit, before the ID
// before (0 for the newest).
func (s *store) conversations(ctx context.Context, userID string, limit int, before int64) ([]Conversation, error) {
	var out []Conversation
	q := s.db.NewSelect().Model(&out).Where("user_id = ?", userID).Order("id DESC").Limit(int64(limit))
	if before > 0 {
		q = q.Where("id < ?", before)
	}
	if err := q.Scan(ctx); err != nil {
		return nil, fmt.Errorf("ai: list conversations: %w", err)
	}
	return out, nil
}

// messages returns the last limit messages of a conversation, oldest first (limit <= 0: all).
func (s *store) messages(ctx context.Context, conversationID int64, limit int) ([]StoredMessage, error) {
	var out []StoredMessage
	q := s.db.NewSelect().Model(&out).Where("conversation_id = ?", conversationID).Order("id DESC")
	if limit > 0 {
		q = q.Limit(int64(limit))
	}
	if err := q.Scan(ctx); err != nil {
		return nil, fmt.Errorf("ai: list messages: %w", err)
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, nil
}

// addMessages stores messages at the end of their conversation and touches it; ErrNotFound
// when the conversation is gone (its user deleted it while an answer was on the way).
func (s *store) addMessages(ctx context.Context, conversationID int64, msgs ...*StoredMessage) error {
	if len(msgs) == 0 {
		return nil
	}
	now := s.now().UTC()
	stamp(conversationID, now, msgs...)
	return s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		// The touch comes first: it finds a deleted conversation gone (rather than the
		// insert failing on the foreign key, an error like any other), and on PostgreSQL it
		// locks the row, so a delete that comes after waits and takes these messages along.
		res, err := tx.NewUpdate().Model((*Conversation)(nil)).Set("updated_at = ?", now).Where("id = ?", conversationID).Exec(ctx)
		if err != nil {
			return fmt.Errorf("ai: touch conversation: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		if _, err := tx.NewInsert().Model(&msgs).Exec(ctx); err != nil {
			return fmt.Errorf("ai: store messages: %w", err)
		}
		return nil
	})
}

// stamp files msgs under conversationID at now; a message without a status is complete.
func stamp(conversationID int64, now time.Time, msgs ...*StoredMessage) {
	for _, m := range msgs {
		m.ConversationID, m.CreatedAt = conversationID, now
		if m.Status == "" {
			m.Status = StatusComplete
		}
	}
}

// deleteConversation deletes a conversation of userID's and its messages; the usage ledger
// keeps its rows (the spending happened).
func (s *store) deleteConversation(ctx context.Context, id int64, userID string) error {
	return s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		res, err := tx.NewDelete().Model((*Conversation)(nil)).Where("id = ?", id).Where("user_id = ?", userID).Exec(ctx)
		if err != nil {
			return fmt.Errorf("ai: delete conversation: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		// SQLite enforces ON DELETE CASCADE only with foreign keys on; say it here too.
		if _, err := tx.NewDelete().Model((*StoredMessage)(nil)).Where("conversation_id = ?", id).Exec(ctx); err != nil {
			return fmt.Errorf("ai: delete messages: %w", err)
		}
		return nil
	})
}

func (s *store) recordUsage(ctx context.Context, r *UsageRecord) error {
	if _, err := s.db.NewInsert().Model(r).Returning("id").Exec(ctx); err != nil {
		return fmt.Errorf("ai: record usage: %w", err)
	}
	return nil
}

// tokensOn is what userID spent on day (input and output tokens).
func (s *store) tokensOn(ctx context.Context, userID, day string) (int64, error) {
	var n sql.NullInt64
	err := s.db.NewSelect().Model((*UsageRecord)(nil)).ColumnExpr("SUM(input_tokens + output_tokens)").
		Where("user_id = ?", userID).Where("day = ?", day).Scan(ctx, &n)
	if err != nil {
		return 0, fmt.Errorf("ai: sum usage: %w", err)
	}
	return n.Int64, nil
}

// UsageRow is usage summed per day and model.
type UsageRow struct {
	Day          string  `json:"day"`
	Model        string  `json:"model"`
	Calls        int64   `json:"calls"`
	InputTokens  int64   `json:"input_tokens"`
	OutputTokens int64   `json:"output_tokens"`
	CostUSD      float64 `json:"cost_usd"`
	Errors       int64   `json:"errors"`
}

// usage sums the ledger per day and model from day from to day to (inclusive), for one
// user ("" and all=true for everyone).
func (s *store) usage(ctx context.Context, from, to string, userID string, all bool) ([]UsageRow, error) {
	var out []UsageRow
	q := s.db.NewSelect().Model((*UsageRecord)(nil)).
		ColumnExpr("day, model, COUNT(*) AS calls, SUM(input_tokens) AS input_tokens, SUM(output_tokens) AS output_tokens, SUM(cost_usd) AS cost_usd").
		ColumnExpr("SUM(CASE WHEN status = 'ok' THEN 0 ELSE 1 END) AS errors").
		Where("day >= ?", from).Where("day <= ?", to).
		GroupExpr("day, model").OrderExpr("day, model")
	if !all {
		q = q.Where("user_id = ?", userID)
	}
	if err := q.Scan(ctx, &out); err != nil {
		return nil, fmt.Errorf("ai: usage: %w", err)
	}
	return out, nil
}

// lastErrors returns the newest failed calls of the ledger.
func (s *store) lastErrors(ctx context.Context, limit int) ([]UsageRecord, error) {
	var out []UsageRecord
	if err := s.db.NewSelect().Model(&out).Where("status <> 'ok'").Order("id DESC").Limit(int64(limit)).Scan(ctx); err != nil {
		return nil, fmt.Errorf("ai: last errors: %w", err)
	}
	return out, nil
}

// recentConversations lists everyone's latest conversations, for the dashboard.
func (s *store) recentConversations(ctx context.Context, limit int) ([]Conversation, error) {
	var out []Conversation
	if err := s.db.NewSelect().Model(&out).Order("id DESC").Limit(int64(limit)).Scan(ctx); err != nil {
		return nil, fmt.Errorf("ai: recent conversations: %w", err)
	}
	return out, nil
}
