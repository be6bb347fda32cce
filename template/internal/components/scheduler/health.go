package scheduler

import (
	"context"

	"github.com/aegisgo/aegis/template/internal/runtime/registry"
)

// CheckHealth reports whether the scheduler ticks, its jobs, and where runs go and are kept.
// A scheduler that should tick but still waits for a plugin is degraded.
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
	return registry.Health{Status: registry.StatusHealthy, Message: msg, Details: details}
}

var _ registry.HealthChecker = (*Scheduler)(nil)
