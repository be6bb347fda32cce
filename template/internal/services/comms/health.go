package comms

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aegisgo/aegis/template/internal/runtime/registry"
)

// CountWindow is how far back the health check counts messages by status: failures an
// operator should act on are recent ones, and the count stays cheap however old the store.
const CountWindow = 24 * time.Hour

// checker is a provider that can tell cheaply whether it would work (the SMTP server
// answers, takes TLS and the credentials).
type checker interface {
	Check(ctx context.Context) error
}

// CheckHealth reports the providers, whether the SMTP server answers (checked at most every
// COMMS_HEALTH_INTERVAL), and the messages of the last day by status. An SMTP server that
// does not answer, email going to the outbox in production, or an SMS kept there in production
// (an app that sends none needs no SMS provider), is degraded: the app still serves, messages
// do not go out.
func (s *Service) CheckHealth(ctx context.Context) registry.Health {
	details := map[string]any{"email_provider": s.email.Name(), "sms_provider": s.sms.Name()}
	status, notes := registry.StatusHealthy, []string{}
	if c, ok := s.email.(checker); ok {
		at, err := s.checkProvider(ctx, c)
		details["smtp_checked_at"] = at.UTC().Format(time.RFC3339)
		if err != nil {
			status = registry.StatusDegraded
			notes = append(notes, err.Error())
			details["smtp"] = "unreachable"
		} else {
			details["smtp"] = "ok"
		}
	}
	if s.production && s.email.Name() == ProviderOutbox {
		status = registry.StatusDegraded
		notes = append(notes, "the outbox keeps email without delivering it; set COMMS_EMAIL_PROVIDER")
	}
	if n := s.smsKept.Load(); n > 0 {
		status = registry.StatusDegraded
		notes = append(notes, fmt.Sprintf("%d SMS kept in the outbox since start, not delivered; set COMMS_SMS_PROVIDER", n))
	}
	counts, err := s.store.Count(ctx, s.now().Add(-CountWindow))
	if err != nil {
		status = registry.StatusDegraded
		notes = append(notes, err.Error())
	} else {
		for _, st := range Statuses {
			details[string(st)+"_last_day"] = counts.ByStatus[st]
		}
		if n := counts.ByStatus[StatusFailed]; n > 0 {
			notes = append(notes, fmt.Sprintf("%d failed in the last day", n))
		}
	}
	msg := "sending with " + s.email.Name()
	if len(notes) > 0 {
		msg += "; " + strings.Join(notes, "; ")
	}
	return registry.Health{Status: status, Message: msg, Details: details}
}

// checkProvider runs c.Check when the last result is older than COMMS_HEALTH_INTERVAL (one
// at a time) and returns the latest result and when it was taken.
func (s *Service) checkProvider(ctx context.Context, c checker) (time.Time, error) {
	s.healthMu.Lock()
	now := s.now()
	if s.healthBusy || (!s.healthAt.IsZero() && now.Sub(s.healthAt) < s.settings.HealthInterval) {
		at, err := s.healthAt, s.healthErr
		s.healthMu.Unlock()
		return at, err
	}
	s.healthBusy = true
	s.healthMu.Unlock()

	err := c.Check(ctx)

	s.healthMu.Lock()
	defer s.healthMu.Unlock()
	s.healthBusy, s.healthErr, s.healthAt = false, err, s.now()
	return s.healthAt, err
}
