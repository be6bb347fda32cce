package onboarding

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// pending is one row of onboarding_pending: an account whose steps are not all done. The
// row is written before the account is created (UserID 0 until then) and deleted once every
// step is done. LeaseMS says until when one caller (the creating call, or a retry) owns it.
type pending struct {
	bun.BaseModel `bun:"table:onboarding_pending"`

	ID            int64  `bun:"id,pk,autoincrement"`
	Email         string `bun:"email,notnull"`
	UserID        int64  `bun:"user_id,notnull"`
	ProfileCached bool   `bun:"profile_cached,notnull"`
	EventTracked  bool   `bun:"event_tracked,notnull"`
	WelcomeSent   bool   `bun:"welcome_sent,notnull"`
	WelcomeID     string `bun:"welcome_id,notnull"`
	Attempts      int    `bun:"attempts,notnull"`
	LastError     string `bun:"last_error,notnull"`
	CreatedMS     int64  `bun:"created_ms,notnull"`
	UpdatedMS     int64  `bun:"updated_ms,notnull"`
	NextMS        int64  `bun:"next_ms,notnull"`
	LeaseMS       int64  `bun:"lease_ms,notnull"`
}

// steps lists the steps of r that are not done, in the order they run.
func (r *pending) steps() []Step {
	var out []Step
	if !r.ProfileCached {
		out = append(out, StepProfile)
	}
	if !r.EventTracked {
		out = append(out, StepEvent)
	}
	if !r.WelcomeSent {
		out = append(out, StepWelcome)
	}
	return out
}

func ms(t time.Time) int64 { return t.UnixMilli() }

func (s *Service) insert(ctx context.Context, r *pending) error {
	if _, err := s.db.Bun().NewInsert().Model(r).Returning("id").Exec(ctx); err != nil {
		return fmt.Errorf("onboarding: record pending steps: %w", err)
	}
	return nil
}

func (s *Service) save(ctx context.Context, r *pending) error {
	if _, err := s.db.Bun().NewUpdate().Model(r).WherePK().Exec(ctx); err != nil {
		return fmt.Errorf("onboarding: record steps of user %d: %w", r.UserID, err)
	}
	return nil
}

func (s *Service) remove(ctx context.Context, id int64) error {
	if _, err := s.db.Bun().NewDelete().Model((*pending)(nil)).Where("id = ?", id).Exec(ctx); err != nil {
		return fmt.Errorf("onboarding: remove pending row %d: %w", id, err)
	}
	return nil
}

// claim takes the lease of row id until until, if no one holds it at now, and returns the
// row as it is then; ok is false when another caller holds it or it is gone.
func (s *Service) claim(ctx context.Context, id int64, now, until time.Time) (*pending, bool, error) {
	res, err := s.db.Bun().NewUpdate().Model((*pending)(nil)).Set("lease_ms = ?", ms(until)).
		Where("id = ?", id).Where("lease_ms < ?", ms(now)).Exec(ctx)
	if err != nil {
		return nil, false, fmt.Errorf("onboarding: claim pending row %d: %w", id, err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return nil, false, err
	}
	r := new(pending)
	switch err := s.db.Bun().NewSelect().Model(r).Where("id = ?", id).Scan(ctx); {
	case errors.Is(err, sql.ErrNoRows):
		return nil, false, nil
	case err != nil:
		return nil, false, fmt.Errorf("onboarding: load pending row %d: %w", id, err)
	}
	return r, true, nil
}

// candidates returns up to limit rows after id after that nobody holds at now; only the
// ones due by now unless all.
func (s *Service) candidates(ctx context.Context, now time.Time, after int64, all bool, limit int) ([]int64, error) {
	var ids []int64
	q := s.db.Bun().NewSelect().Model((*pending)(nil)).Column("id").
		Where("id > ?", after).Where("lease_ms < ?", ms(now)).OrderExpr("id ASC").Limit(int64(limit))
	if !all {
		q = q.Where("next_ms <= ?", ms(now))
	}
	if err := q.Scan(ctx, &ids); err != nil {
		return nil, fmt.Errorf("onboarding: list pending rows: %w", err)
	}
	return ids, nil
}
