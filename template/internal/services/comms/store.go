package comms

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"
)

// Channel is how a message travels.
type Channel string

const (
	ChannelEmail Channel = "email"
	ChannelSMS   Channel = "sms"
)

// Status is where a message is in its life: queued when recorded, then sent or failed after
// each delivery attempt (a failed message may be attempted again and become sent).
type Status string

const (
	StatusQueued Status = "queued"
	StatusSent   Status = "sent"
	StatusFailed Status = "failed"
)

// Statuses lists every status, in life order.
var Statuses = []Status{StatusQueued, StatusSent, StatusFailed}

// Record is one message as the store keeps it: what was asked for and what became of it.
type Record struct {
	ID      ID
	Channel Channel
	Status  Status
	// Provider is the provider of the last attempt ("outbox", "smtp", "resend", "postmark",
	// "twilio"); ProviderID what it called the message (SMTP Message-ID, API id, Twilio sid).
	Provider   string
	ProviderID string
	Error      string // the last attempt's error; empty once sent
	Attempts   int
	CreatedAt  time.Time
	UpdatedAt  time.Time
	SentAt     time.Time // zero until sent
	Email      *Message  // set for ChannelEmail
	SMS        *SMS      // set for ChannelSMS
}

// Recipients is the record's recipients as one line, for listings.
func (r Record) Recipients() string {
	switch {
	case r.Email != nil:
		all := append(append(append([]string{}, r.Email.To...), r.Email.Cc...), r.Email.Bcc...)
		return strings.Join(all, ", ")
	case r.SMS != nil:
		return r.SMS.To
	}
	return ""
}

// Summary is the subject of an email, or the start of an SMS (what it held, once its body
// was removed).
func (r Record) Summary() string {
	switch {
	case r.Email != nil:
		return r.Email.Subject
	case r.SMS != nil && r.SMS.Redacted:
		return "(SMS holding " + r.SMS.Sensitive + ", body removed)"
	case r.SMS != nil:
		if b := []rune(r.SMS.Body); len(b) > 80 {
			return string(b[:79]) + "…"
		}
		return r.SMS.Body
	}
	return ""
}

// Update is a status transition: the outcome of a delivery attempt, or a message queued
// again.
type Update struct {
	Status     Status
	Provider   string
	ProviderID string
	Error      string
	Attempt    bool // count one more delivery attempt
	At         time.Time
	// Email, when not nil, replaces the stored email in the same write as the status: the
	// redacted copy of a sensitive message (Message.Redact) with its "sent" update, so the
	// record is never sent with its secret still in it. Ignored for an SMS.
	Email *Message
	// SMS is the same for an SMS (SMS.Redact); ignored for an email.
	SMS *SMS
}

// ListParams select messages for List; the zero value is the 50 newest of any status.
type ListParams struct {
	Status Status // empty: every status
	Limit  int    // 0: 50
}

// Counts is how many messages are in each status, among those created since Since.
type Counts struct {
	Since    time.Time
	ByStatus map[Status]int
}

// Store keeps messages and their status. The service uses the in-memory ring (NewMemoryStore)
// unless one is registered: the database glue (commsdb) provides one that survives restarts
// and is shared by every instance. Implementations are safe for concurrent use and pass
// commstest.StoreSuite.
type Store interface {
	// Add records a new message; r.ID is set and unique.
	Add(ctx context.Context, r Record) error
	// Update applies u to the message id, or returns ErrNotFound. The status and the
	// replaced email or SMS (u.Email, u.SMS) are written together: a reader sees both or
	// neither.
	Update(ctx context.Context, id ID, u Update) error
	// Get returns the message id, or ErrNotFound.
	Get(ctx context.Context, id ID) (Record, error)
	// List returns messages newest first.
	List(ctx context.Context, p ListParams) ([]Record, error)
	// Count counts the messages created since since by status.
	Count(ctx context.Context, since time.Time) (Counts, error)
}

// Apply applies u to r: for stores that keep whole records.
func (u Update) Apply(r *Record) {
	r.Status, r.UpdatedAt = u.Status, u.At
	if u.Provider != "" {
		r.Provider = u.Provider
	}
	if u.ProviderID != "" {
		r.ProviderID = u.ProviderID
	}
	r.Error = u.Error
	if u.Attempt {
		r.Attempts++
	}
	if u.Status == StatusSent {
		r.SentAt = u.At
	}
	if u.Email != nil && r.Email != nil {
		r.Email = u.Email
	}
	if u.SMS != nil && r.SMS != nil {
		r.SMS = u.SMS
	}
}

// MemoryStore keeps the latest messages in memory, in a ring: the store of the development
// outbox when the app has no database. The oldest message goes when a new one would exceed
// its capacity.
type MemoryStore struct {
	mu    sync.Mutex
	size  int
	ring  []Record // oldest first
	index map[ID]int
	first int // ring position of the oldest record once the ring is full
}

// NewMemoryStore returns a store keeping the size latest messages (at least 1).
func NewMemoryStore(size int) *MemoryStore {
	return &MemoryStore{size: max(size, 1), index: map[ID]int{}}
}

// Add implements Store.
func (s *MemoryStore) Add(_ context.Context, r Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.index[r.ID]; dup {
		return fmt.Errorf("comms: message %s is already stored", r.ID)
	}
	if len(s.ring) < s.size {
		s.index[r.ID] = len(s.ring)
		s.ring = append(s.ring, r)
		return nil
	}
	delete(s.index, s.ring[s.first].ID)
	s.ring[s.first] = r
	s.index[r.ID] = s.first
	s.first = (s.first + 1) % s.size
	return nil
}

// Update implements Store.
func (s *MemoryStore) Update(_ context.Context, id ID, u Update) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := s.index[id]
	if !ok {
		return fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	u.Apply(&s.ring[i])
	return nil
}

// Get implements Store.
func (s *MemoryStore) Get(_ context.Context, id ID) (Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := s.index[id]
	if !ok {
		return Record{}, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	return s.ring[i], nil
}

// List implements Store.
func (s *MemoryStore) List(_ context.Context, p ListParams) ([]Record, error) {
	limit := p.Limit
	if limit <= 0 {
		limit = 50
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Record
	for k := range len(s.ring) {
		// Newest first: walk back from the newest position.
		r := s.ring[(s.first+len(s.ring)-1-k)%len(s.ring)]
		if p.Status != "" && r.Status != p.Status {
			continue
		}
		out = append(out, r)
		if len(out) == limit {
			break
		}
	}
	return out, nil
}

// Count implements Store.
func (s *MemoryStore) Count(_ context.Context, since time.Time) (Counts, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := Counts{Since: since, ByStatus: map[Status]int{}}
	for _, r := range s.ring {
		if !r.CreatedAt.Before(since) {
			c.ByStatus[r.Status]++
		}
	}
	return c, nil
}

var _ Store = (*MemoryStore)(nil)
