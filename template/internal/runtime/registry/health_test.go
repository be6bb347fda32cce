package registry_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aegisgo/aegis/template/internal/runtime/registry"
)

// checker is a HealthChecker returning a fixed Health, or hanging until released.
type checker struct {
	h    registry.Health
	hang chan struct{}
}

func (c *checker) CheckHealth(context.Context) registry.Health {
	if c.hang != nil {
		<-c.hang // ignores ctx on purpose: CheckHealth must not wait for it
	}
	return c.h
}

func TestCheckHealth(t *testing.T) {
	t.Parallel()
	healthy := registry.Health{Status: registry.StatusHealthy, Message: "ok"}
	unhealthy := registry.Health{Status: registry.StatusUnhealthy, Message: "down"}
	degraded := registry.Health{Status: registry.StatusDegraded, Message: "slow"}
	type svc struct {
		name     string
		h        registry.Health
		hang     bool
		optional bool
		fail     bool // constructor fails, so the service is not started
		panics   bool
	}
	tests := []struct {
		name   string
		svcs   []svc
		want   registry.Status
		checks map[string]registry.Status
	}{
		{name: "no services", want: registry.StatusHealthy},
		{name: "all healthy", svcs: []svc{{name: "a", h: healthy}, {name: "b", h: healthy}}, want: registry.StatusHealthy},
		{name: "one degraded", svcs: []svc{{name: "a", h: healthy}, {name: "b", h: degraded}}, want: registry.StatusDegraded},
		{name: "one unhealthy", svcs: []svc{{name: "a", h: degraded}, {name: "b", h: unhealthy}}, want: registry.StatusUnhealthy},
		{
			name: "optional unhealthy is capped at degraded",
			svcs: []svc{{name: "a", h: healthy}, {name: "b", h: unhealthy, optional: true}},
			want: registry.StatusDegraded, checks: map[string]registry.Status{"b": registry.StatusUnhealthy},
		},
		{
			name: "hung check times out",
			svcs: []svc{{name: "a", h: healthy}, {name: "b", hang: true}},
			want: registry.StatusUnhealthy, checks: map[string]registry.Status{"a": registry.StatusHealthy, "b": registry.StatusUnhealthy},
		},
		{
			name: "empty status is unhealthy",
			svcs: []svc{{name: "a", h: registry.Health{Message: "forgot"}}},
			want: registry.StatusUnhealthy,
		},
		{
			name: "panicking check is unhealthy",
			svcs: []svc{{name: "a", panics: true}},
			want: registry.StatusUnhealthy,
		},
		{
			name: "failed service without checker",
			svcs: []svc{{name: "a", fail: true}, {name: "b", h: healthy}},
			want: registry.StatusUnhealthy, checks: map[string]registry.Status{"a": registry.StatusUnhealthy, "b": registry.StatusUnhealthy},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			release := make(chan struct{})
			defer close(release)
			r := registry.New()
			// Registered in reverse to check that results are sorted by name.
			for i := len(tt.svcs) - 1; i >= 0; i-- {
				s := tt.svcs[i]
				opts := []registry.Option{registry.Name(s.name)}
				if s.optional {
					opts = append(opts, registry.Optional())
				}
				if s.panics {
					opts = append(opts, registry.Hooks(registry.Lifecycle[*checker]{
						Health: func(context.Context, *checker) registry.Health { panic("check") },
					}))
				}
				must(t, registry.Provide(r, func(context.Context) (*checker, error) {
					if s.fail {
						return nil, errBoom
					}
					c := &checker{h: s.h}
					if s.hang {
						c.hang = release
					}
					return c, nil
				}, opts...))
			}
			c, err := r.Build()
			must(t, err)
			_ = c.Start(t.Context())
			begin := time.Now()
			// Long enough for healthy checks on a loaded CI machine; only the hung one waits.
			rep := c.CheckHealth(t.Context(), 300*time.Millisecond)
			if d := time.Since(begin); d > 3*time.Second {
				t.Errorf("CheckHealth took %s", d)
			}
			if rep.Status != tt.want {
				t.Errorf("status %s, want %s: %+v", rep.Status, tt.want, rep.Checks)
			}
			if len(rep.Checks) != len(tt.svcs) {
				t.Fatalf("%d checks, want %d", len(rep.Checks), len(tt.svcs))
			}
			for i, ch := range rep.Checks {
				if i > 0 && rep.Checks[i-1].Name >= ch.Name {
					t.Errorf("checks not sorted: %s before %s", rep.Checks[i-1].Name, ch.Name)
				}
				if want, ok := tt.checks[ch.Name]; ok && ch.Status != want {
					t.Errorf("%s: %s, want %s", ch.Name, ch.Status, want)
				}
				if ch.Kind != registry.KindService {
					t.Errorf("%s: kind %q", ch.Name, ch.Kind)
				}
			}
			for _, ch := range rep.Checks {
				for _, s := range tt.svcs {
					if s.name == ch.Name && s.hang && (!ch.TimedOut || !strings.Contains(ch.Message, "did not finish within 300ms")) {
						t.Errorf("hung check: %+v", ch)
					}
				}
			}
		})
	}
}

func TestCheckHealthStates(t *testing.T) {
	t.Parallel()
	r := registry.New()
	must(t, registry.Provide(r, newDB, registry.Kind(registry.KindComponent)))
	c, err := r.Build()
	must(t, err)
	for _, step := range []struct {
		do     func()
		status registry.Status
		msg    string
	}{
		{func() {}, registry.StatusUnhealthy, "not started"},
		{func() { must(t, c.Start(t.Context())) }, registry.StatusHealthy, "started"},
		{func() { must(t, c.Stop(t.Context())) }, registry.StatusUnhealthy, "stopped"},
	} {
		step.do()
		rep := c.CheckHealth(t.Context(), 0)
		if rep.Status != step.status || rep.Checks[0].Message != step.msg || rep.Checks[0].Kind != "component" {
			t.Errorf("got %+v, want %s %q", rep, step.status, step.msg)
		}
	}
	var nilC *registry.Container
	if rep := nilC.CheckHealth(t.Context(), 0); rep.Status != registry.StatusUnhealthy {
		t.Errorf("nil container: %+v", rep)
	}
}

func TestReportJSON(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	rep := registry.Report{
		Status:    registry.StatusDegraded,
		CheckedAt: at,
		Duration:  1500 * time.Microsecond,
		Checks: []registry.CheckResult{{
			Name: "db", Kind: "component", Status: registry.StatusDegraded, Message: "slow",
			Latency: 250 * time.Microsecond, Details: map[string]any{"open": 3.0},
		}},
	}
	b, err := json.Marshal(rep)
	must(t, err)
	want := `{"status":"degraded","checks":[{"name":"db","kind":"component","status":"degraded","message":"slow","latency_ms":0.25,"timed_out":false,"details":{"open":3},"optional":false}],"checked_at":"2026-01-02T03:04:05Z","duration_ms":1.5}`
	if string(b) != want {
		t.Errorf("got  %s\nwant %s", b, want)
	}
	var back registry.Report
	must(t, json.Unmarshal(b, &back))
	if back.Duration != rep.Duration || back.Checks[0].Latency != rep.Checks[0].Latency || !back.CheckedAt.Equal(at) || back.Checks[0].Details["open"] != 3.0 {
		t.Errorf("round trip: %+v", back)
	}
	b, err = json.Marshal(registry.Report{})
	must(t, err)
	if !strings.Contains(string(b), `"checks":[]`) {
		t.Errorf("empty report: %s", b)
	}
}
