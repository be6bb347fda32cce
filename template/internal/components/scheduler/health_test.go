package scheduler

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aegisgo/aegis/template/internal/runtime/logtest"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
)

// claimFailStore fails every claim while fail is set, as a store whose table was rolled back
// ('migrate down --owner schedulerdb' while instances run) or whose database refuses writes.
type claimFailStore struct {
	*memoryStore
	fail atomic.Bool
}

func (s *claimFailStore) Claim(ctx context.Context, r Run) (bool, error) {
	if s.fail.Load() {
		return false, errors.New(`relation "scheduler_runs" does not exist`)
	}
	return s.memoryStore.Claim(ctx, r)
}

// TestHealthReportsFailingClaims: while claiming ticks fails no scheduled job runs on any
// instance, so the health check says so (degraded) instead of "ticking"; once a claim
// succeeds again it is healthy.
func TestHealthReportsFailingClaims(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		fails []bool // whether each claim in turn fails
		want  registry.Status
	}{
		{"claims succeed", []bool{false, false}, registry.StatusHealthy},
		{"claims fail", []bool{true, true}, registry.StatusDegraded},
		{"claims fail, then one succeeds", []bool{true, true, false}, registry.StatusHealthy},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := runClaims(t, slog.New(slog.DiscardHandler), tt.fails)
			h := s.CheckHealth(t.Context())
			if h.Status != tt.want {
				t.Errorf("health %s (%q), want %s", h.Status, h.Message, tt.want)
			}
			if h.Status == registry.StatusDegraded && h.Message == "ticking" {
				t.Errorf("degraded health says only %q", h.Message)
			}
		})
	}
}

// TestFailingClaimsLogOncePerOutage: every tick whose claim failed logged an ERROR, so an
// unreachable database flooded the log (a line per job per tick per instance). The first
// failure in a row logs one ERROR, the rest are at debug level, and the first claim that
// succeeds again logs one INFO line with the count of skipped ticks.
func TestFailingClaimsLogOncePerOutage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		fails      []bool // whether each claim in turn fails
		wantErrors int
		wantAgain  int
	}{
		{"claims succeed", []bool{false, false}, 0, 0},
		{"an outage of four ticks", []bool{true, true, true, true, false, false}, 1, 1},
		{"two outages", []bool{true, true, false, true, true, false}, 2, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var logs logtest.Buffer
			runClaims(t, slog.New(slog.NewJSONHandler(&logs, nil)), tt.fails)
			var errs, again int
			for line := range strings.Lines(logs.String()) {
				if strings.Contains(line, `"level":"ERROR"`) && strings.Contains(line, "claim") {
					errs++
				}
				if strings.Contains(line, `"msg":"scheduler: claiming ticks again"`) {
					again++
				}
			}
			if errs != tt.wantErrors || again != tt.wantAgain {
				t.Errorf("%d claim errors and %d 'claiming again' lines, want %d and %d; logs:\n%s", errs, again, tt.wantErrors, tt.wantAgain, logs.String())
			}
		})
	}
}

// historyStore is a shared (non-memory) history, as schedulerdb's.
type historyStore struct{ *memoryStore }

// TestHealthNotTickingSaysLatestRun: a serve with SCHEDULER_IN_PROCESS=false said only "not
// ticking in this process", the same whether separate scheduler processes ran every tick or
// none ran at all. With a shared history it now says when the latest run on any instance
// started.
func TestHealthNotTickingSaysLatestRun(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		ran     bool
		wantMsg string
	}{
		{"no run yet", false, "no run recorded by any instance yet"},
		{"a run by another instance", true, "the latest run on any instance (test_fail) started"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			store := historyStore{newMemoryStore()}
			if tt.ran {
				run := Run{Job: "test_fail", Tick: time.Now().UTC().Truncate(time.Second), Instance: "other", Started: time.Now().UTC(), Outcome: OutcomeOK}
				if _, err := store.Claim(t.Context(), run); err != nil {
					t.Fatal(err)
				}
				if err := store.Finish(t.Context(), run); err != nil {
					t.Fatal(err)
				}
			}
			s, err := New(Settings{}, &Opts{Tick: false, Store: store, Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				t.Fatal(err)
			}
			h := s.CheckHealth(t.Context())
			if h.Status != registry.StatusHealthy || !strings.Contains(h.Message, tt.wantMsg) {
				t.Errorf("health %s %q, want healthy and %q", h.Status, h.Message, tt.wantMsg)
			}
			if _, ok := h.Details["last_run_started"]; ok != tt.ran {
				t.Errorf("details %v: last_run_started present = %v, want %v", h.Details, ok, tt.ran)
			}
		})
	}
}

// runClaims starts a ticking scheduler whose store fails each claim in turn as fails says,
// and runs test_fail's ticks, an hour apart, one per claim.
func runClaims(t *testing.T, logger *slog.Logger, fails []bool) *Scheduler {
	t.Helper()
	store := &claimFailStore{memoryStore: newMemoryStore()}
	s, err := New(Settings{}, &Opts{Tick: true, Store: store, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Stop(context.Background()) })
	j := s.byName["test_fail"]
	tick := time.Now().UTC().Add(24 * time.Hour).Truncate(time.Hour)
	for i, fail := range fails {
		store.fail.Store(fail)
		s.runTick(j, tick.Add(time.Duration(i)*time.Hour), false)
	}
	return s
}
