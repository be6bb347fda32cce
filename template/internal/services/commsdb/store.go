package commsdb

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/aegisgo/aegis/template/internal/components/database"
	"github.com/aegisgo/aegis/template/internal/services/comms"
)

// Store is comms.Store on the database. It is safe for concurrent use, also by several
// processes.
type Store struct {
	db *database.DB
}

// NewStore returns a store on db, whose migrations must be applied.
func NewStore(db *database.DB) *Store { return &Store{db: db} }

// payload is the message as the payload column holds it.
type payload struct {
	Email *comms.Message `json:"email,omitempty"`
	SMS   *comms.SMS     `json:"sms,omitempty"`
}

func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromMS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v).UTC()
}

// Add implements comms.Store.
func (s *Store) Add(ctx context.Context, r comms.Record) error { return s.AddTx(ctx, s.db.Bun(), r) }

// AddTx is Add in a transaction of the caller's (or through any other bun handle): the message
// exists only if tx commits, so it can be stored together with the job that delivers it.
func (s *Store) AddTx(ctx context.Context, tx bun.IDB, r comms.Record) error {
	body, err := json.Marshal(payload{Email: r.Email, SMS: r.SMS})
	if err != nil {
		return fmt.Errorf("commsdb: encode message %s: %w", r.ID, err)
	}
	_, err = tx.NewRaw(`INSERT INTO comms_messages
(id, channel, status, provider, provider_id, error, attempts, created_ms, updated_ms, sent_ms, payload)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		string(r.ID), string(r.Channel), string(r.Status), r.Provider, r.ProviderID, r.Error, r.Attempts,
		ms(r.CreatedAt), ms(r.UpdatedAt), ms(r.SentAt), string(body)).Exec(ctx)
	if err != nil {
		return fmt.Errorf("commsdb: add message %s: %w", r.ID, err)
	}
	return nil
}

// Update implements comms.Store: one statement, so concurrent attempts count exactly, and a
// replaced email or SMS (u.Email, u.SMS: the redacted copy of a sensitive message) is written with its
// status: no reader, and no crash, ever sees the message sent with its secret still stored.
func (s *Store) Update(ctx context.Context, id comms.ID, u comms.Update) error {
	attempt := 0
	if u.Attempt {
		attempt = 1
	}
	sent := int64(0)
	if u.Status == comms.StatusSent {
		sent = ms(u.At)
	}
	// The payload is replaced by the redacted copy of the message's own channel (u.Email
	// for an email, u.SMS for an SMS); an empty parameter keeps the stored payload.
	replace, channel := "", ""
	if u.Email != nil || u.SMS != nil {
		p, ch := payload{Email: u.Email}, comms.ChannelEmail
		if u.Email == nil {
			p, ch = payload{SMS: u.SMS}, comms.ChannelSMS
		}
		b, err := json.Marshal(p)
		if err != nil {
			return fmt.Errorf("commsdb: encode message %s: %w", id, err)
		}
		replace, channel = string(b), string(ch)
	}
	res, err := s.db.Bun().NewRaw(`UPDATE comms_messages SET status = ?,
provider = CASE WHEN ? = '' THEN provider ELSE ? END,
provider_id = CASE WHEN ? = '' THEN provider_id ELSE ? END,
error = ?, attempts = attempts + ?, updated_ms = ?,
sent_ms = CASE WHEN ? = 0 THEN sent_ms ELSE ? END,
payload = CASE WHEN ? = '' OR channel <> ? THEN payload ELSE ? END
WHERE id = ?`,
		string(u.Status), u.Provider, u.Provider, u.ProviderID, u.ProviderID, u.Error, attempt, ms(u.At), sent, sent,
		replace, channel, replace, string(id)).Exec(ctx)
	if err != nil {
		return fmt.Errorf("commsdb: update message %s: %w", id, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("commsdb: update message %s: %w", id, err)
	} else if n == 0 {
		return fmt.Errorf("%w: %s", comms.ErrNotFound, id)
	}
	return nil
}

const columns = `id, channel, status, provider, provider_id, error, attempts, created_ms, updated_ms, sent_ms, payload`

type scanner interface{ Scan(dest ...any) error }

func scan(row scanner) (comms.Record, error) {
	var (
		r                    comms.Record
		id, channel, status  string
		created, upd, sentAt int64
		body                 string
	)
	if err := row.Scan(&id, &channel, &status, &r.Provider, &r.ProviderID, &r.Error, &r.Attempts, &created, &upd, &sentAt, &body); err != nil {
		return comms.Record{}, err
	}
	r.ID, r.Channel, r.Status = comms.ID(id), comms.Channel(channel), comms.Status(status)
	r.CreatedAt, r.UpdatedAt, r.SentAt = fromMS(created), fromMS(upd), fromMS(sentAt)
	var p payload
	if err := json.Unmarshal([]byte(body), &p); err != nil {
		return comms.Record{}, fmt.Errorf("decode message %s: %w", id, err)
	}
	r.Email, r.SMS = p.Email, p.SMS
	return r, nil
}

// Get implements comms.Store.
func (s *Store) Get(ctx context.Context, id comms.ID) (comms.Record, error) {
	rows, err := s.db.Bun().QueryContext(ctx, `SELECT `+columns+` FROM comms_messages WHERE id = ?`, string(id))
	if err != nil {
		return comms.Record{}, fmt.Errorf("commsdb: get message %s: %w", id, err)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return comms.Record{}, fmt.Errorf("commsdb: get message %s: %w", id, err)
		}
		return comms.Record{}, fmt.Errorf("%w: %s", comms.ErrNotFound, id)
	}
	r, err := scan(rows)
	if err != nil {
		return comms.Record{}, fmt.Errorf("commsdb: get message %s: %w", id, err)
	}
	return r, nil
}

// List implements comms.Store, newest first, from an index.
func (s *Store) List(ctx context.Context, p comms.ListParams) ([]comms.Record, error) {
	limit := p.Limit
	if limit <= 0 {
		limit = 50
	}
	q, args := `SELECT `+columns+` FROM comms_messages ORDER BY created_ms DESC, id DESC LIMIT ?`, []any{limit}
	if p.Status != "" {
		q, args = `SELECT `+columns+` FROM comms_messages WHERE status = ? ORDER BY created_ms DESC, id DESC LIMIT ?`, []any{string(p.Status), limit}
	}
	rows, err := s.db.Bun().QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("commsdb: list messages: %w", err)
	}
	defer rows.Close()
	var out []comms.Record
	for rows.Next() {
		r, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("commsdb: list messages: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("commsdb: list messages: %w", err)
	}
	return out, nil
}

// Count implements comms.Store: per status, from the (status, created_ms) index.
func (s *Store) Count(ctx context.Context, since time.Time) (comms.Counts, error) {
	c := comms.Counts{Since: since, ByStatus: map[comms.Status]int{}}
	for _, st := range comms.Statuses {
		var n int
		err := s.db.Bun().QueryRowContext(ctx, `SELECT count(*) FROM comms_messages WHERE status = ? AND created_ms >= ?`, string(st), since.UnixMilli()).Scan(&n)
		if err != nil {
			return comms.Counts{}, fmt.Errorf("commsdb: count messages: %w", err)
		}
		c.ByStatus[st] = n
	}
	return c, nil
}

var _ comms.Store = (*Store)(nil)
