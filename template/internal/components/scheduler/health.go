package scheduler

import (
	"context"
	"fmt"
	"time"

	"github.com/aegisgo/aegis/template/internal/runtime/registry"
)

// CheckHealth reports whether the scheduler ticks, its jobs, and where runs go and are kept.
// A scheduler whose latest claims of a tick failed is degraded: its jobs do not run.
func (s *Scheduler) CheckHealth(ctx context.Context) registry.Health {
	s.mu.Lock()
	h := s.checkHealthLocked()
	ticking, store := s.gs != nil, s.store
	s.mu.Unlock()
	if ticking || h.Details["history"] != "database" {
		return h
	}
	// Not ticking here (serve with SCHEDULER_IN_PROCESS=false): say when a tick last ran on
	// any instance, from the shared history, so the check tells separate scheduler processes
	// that run from none at all.
	last, err := store.Last(ctx)
	if err != nil {
		s.logger.DebugContext(ctx, "scheduler: health check cannot read the history", "err", err)
		return h
	}
	var latest Run
	for _, r := range last {
		if r.Started.After(latest.Started) {
			latest = r
		}
	}
	if latest.Job == "" {
		h.Message += "; no run recorded by any instance yet"
		return h
	}
	h.Details["last_run_job"] = latest.Job
	h.Details["last_run_started"] = latest.Started.UTC().Format(time.RFC3339)
	h.Message += fmt.Sprintf("; the latest run on any instance (%s) started %s ago", latest.Job, time.Since(latest.Started).Round(time.Second))
	return h
}

// checkHealthLocked is CheckHealth's report from this process's state; s.mu is held.
func (s *Scheduler) checkHealthLocked() registry.Health {
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
