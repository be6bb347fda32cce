package scheduler

import (
	"context"
	"fmt"

	"github.com/aegisgo/aegis/template/internal/runtime/registry"
)

// CheckHealth reports whether the scheduler ticks, its jobs, and where runs go and are kept.
// A scheduler whose latest claims of a tick failed is degraded: its jobs do not run.
func (s *Scheduler) CheckHealth(ctx context.Context) registry.Health {
	s.mu.Lock()
	defer s.mu.Unlock()
	details := map[string]any{
		"ticking":  s.gs != nil,
		"jobs":     len(s.jobs),
		"instance": s.instance,
		"history":  "database",
		"runs_in":  "worker",
	}
	if _, ok := s.store.(*memoryStore); ok {
		details["history"] = "memory"
	}
	if s.dispatcher == nil {
		details["runs_in"] = "this process"
	}
	msg := "not ticking in this process"
	if s.gs != nil {
		msg = "ticking"
	}
	if s.gs != nil && s.claimFailures > 0 {
		// The error's text, which may name hosts or tables, is in the log only.
		details["claim_failures"] = s.claimFailures
		return registry.Health{Status: registry.StatusDegraded, Details: details,
			Message: fmt.Sprintf("ticking, but claiming a tick in the store failed %d time(s) in a row: scheduled jobs do not run (see the log)", s.claimFailures)}
	}
	return registry.Health{Status: registry.StatusHealthy, Message: msg, Details: details}
}

var _ registry.HealthChecker = (*Scheduler)(nil)
