package registry

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"sync"
	"time"
)

// Status is the health of a service or of the whole app.
type Status string

const (
	StatusHealthy   Status = "healthy"
	StatusDegraded  Status = "degraded"
	StatusUnhealthy Status = "unhealthy"
)

// rank orders statuses from best to worst; anything unknown is worst.
func (s Status) rank() int {
	switch s {
	case StatusHealthy:
		return 0
	case StatusDegraded:
		return 1
	}
	return 2
}

// CheckTimeoutDefault bounds each health check when CheckHealth is given no timeout.
const CheckTimeoutDefault = 5 * time.Second

// Health is what a HealthChecker reports. Status must be one of the Status constants; any
// other value (the empty one included) is reported as unhealthy, so a forgotten field never
// looks healthy.
type Health struct {
	Status  Status         `json:"status"`
	Message string         `json:"message,omitempty"`
	Details map[string]any `json:"details,omitempty"`
}

// CheckResult is the health of one service in a Report.
type CheckResult struct {
	Name     string
	Kind     string
	Status   Status
	Message  string
	Latency  time.Duration
	TimedOut bool // the check was still running at the deadline; it was not waited for
	Details  map[string]any
	Optional bool // registered with Optional: unhealthy counts as degraded in Report.Status
}

type checkResultJSON struct {
	Name      string         `json:"name"`
	Kind      string         `json:"kind"`
	Status    Status         `json:"status"`
	Message   string         `json:"message"`
	LatencyMS float64        `json:"latency_ms"`
	TimedOut  bool           `json:"timed_out"`
	Details   map[string]any `json:"details,omitempty"`
	Optional  bool           `json:"optional"`
}

// MarshalJSON writes snake_case fields with the latency as fractional milliseconds.
func (r CheckResult) MarshalJSON() ([]byte, error) {
	return json.Marshal(checkResultJSON{
		Name: r.Name, Kind: r.Kind, Optional: r.Optional, Status: r.Status, Message: r.Message,
		LatencyMS: millis(r.Latency), TimedOut: r.TimedOut, Details: r.Details,
	})
}

// UnmarshalJSON reads what MarshalJSON writes, for clients such as `app health status`.
func (r *CheckResult) UnmarshalJSON(b []byte) error {
	var j checkResultJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*r = CheckResult{
		Name: j.Name, Kind: j.Kind, Optional: j.Optional, Status: j.Status, Message: j.Message,
		Latency: fromMillis(j.LatencyMS), TimedOut: j.TimedOut, Details: j.Details,
	}
	return nil
}

// Report is the health of every singleton, as served by /health/ready and /health/detailed.
type Report struct {
	Status    Status // the worst check, with Optional services counting at most as degraded
	Checks    []CheckResult
	CheckedAt time.Time
	Duration  time.Duration
}

type reportJSON struct {
	Status     Status        `json:"status"`
	Checks     []CheckResult `json:"checks"`
	CheckedAt  time.Time     `json:"checked_at"`
	DurationMS float64       `json:"duration_ms"`
}

// MarshalJSON writes snake_case fields with the duration as fractional milliseconds.
func (r Report) MarshalJSON() ([]byte, error) {
	checks := r.Checks
	if checks == nil {
		checks = []CheckResult{} // [] rather than null for clients
	}
	return json.Marshal(reportJSON{Status: r.Status, Checks: checks, CheckedAt: r.CheckedAt, DurationMS: millis(r.Duration)})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (r *Report) UnmarshalJSON(b []byte) error {
	var j reportJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*r = Report{Status: j.Status, Checks: j.Checks, CheckedAt: j.CheckedAt, Duration: fromMillis(j.DurationMS)}
	return nil
}

func millis(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func fromMillis(ms float64) time.Duration { return time.Duration(ms * float64(time.Millisecond)) }

// CheckHealth checks every singleton concurrently, each bounded by timeout (zero means
// CheckTimeoutDefault). A check still running at the deadline is reported unhealthy with
// TimedOut set and is not waited for. A started singleton without a checker is healthy; one
// that failed, is not started or is stopped is unhealthy. Scoped and transient services have
// no instance to check and are not listed. Checks are sorted by name.
func (c *Container) CheckHealth(ctx context.Context, timeout time.Duration) Report {
	return c.check(ctx, timeout, stateHealth)
}

// ReadinessChecker is implemented by singletons that can tell cheaply, in about the same time
// whatever their data, whether they can serve now: a database that answers a ping, a worker
// whose loop runs. Readiness probes poll it often, so it must not count or scan anything;
// HealthChecker is for the full report.
type ReadinessChecker interface {
	Ready(ctx context.Context) error
}

// CheckReady is CheckHealth for readiness: it runs the Ready method of each started singleton
// that is a ReadinessChecker (an error makes it unhealthy, with the error as message) and
// judges every other singleton by its state alone (started: healthy), so it never runs
// CheckHealth. Timeouts, optional services and the overall status are as in CheckHealth.
func (c *Container) CheckReady(ctx context.Context, timeout time.Duration) Report {
	return c.check(ctx, timeout, stateReady)
}

// SharedReportMaxAgeDefault is how old a report SharedHealth hands out at most when given no
// maximum age.
const SharedReportMaxAgeDefault = time.Second

// sharedHealth is the state of SharedHealth: the last report and the computation under way.
type sharedHealth struct {
	mu     sync.Mutex
	last   Report
	lastAt time.Time     // when last was finished; zero: none yet
	run    chan struct{} // closed when the computation under way ends; nil: none
}

// SharedHealth returns CheckHealth's report, shared by every caller: one finished less than
// maxAge ago (zero means SharedReportMaxAgeDefault; a negative maxAge reuses none) if there is
// one, else the one being computed, else a new one, so that any number of viewers polling the health cost one check
// every maxAge at most. The computation runs with ctx's values but not its cancellation (it is
// bounded by timeout, and other callers may wait for it); a caller whose ctx ends first gets
// an unhealthy report with no checks. The report is shared: callers must not modify it.
func (c *Container) SharedHealth(ctx context.Context, timeout, maxAge time.Duration) Report {
	if c == nil {
		return c.CheckHealth(ctx, timeout)
	}
	if maxAge == 0 {
		maxAge = SharedReportMaxAgeDefault
	}
	sh := &c.shared
	sh.mu.Lock()
	if !sh.lastAt.IsZero() && time.Since(sh.lastAt) < maxAge {
		rep := sh.last
		sh.mu.Unlock()
		return rep
	}
	if run := sh.run; run != nil {
		sh.mu.Unlock()
		select {
		case <-run:
			sh.mu.Lock()
			defer sh.mu.Unlock()
			return sh.last
		case <-orBackground(ctx).Done():
			return Report{Status: StatusUnhealthy, CheckedAt: time.Now(), Checks: []CheckResult{}}
		}
	}
	run := make(chan struct{})
	sh.run = run
	sh.mu.Unlock()

	rep := c.CheckHealth(context.WithoutCancel(orBackground(ctx)), timeout)
	sh.mu.Lock()
	sh.last, sh.lastAt, sh.run = rep, time.Now(), nil
	sh.mu.Unlock()
	close(run)
	return rep
}

// check runs the check pick returns for each singleton (nil: its state is the answer).
func (c *Container) check(ctx context.Context, timeout time.Duration, pick func(*node) func(context.Context) Health) Report {
	begin := time.Now()
	if timeout <= 0 {
		timeout = CheckTimeoutDefault
	}
	report := Report{Status: StatusHealthy, CheckedAt: begin, Checks: []CheckResult{}}
	if c == nil {
		report.Status = StatusUnhealthy
		return report
	}
	ctx, cancel := context.WithTimeout(orBackground(ctx), timeout)
	defer cancel()

	type done struct {
		i int
		r CheckResult
	}
	results := make([]CheckResult, len(c.singletons))
	finished := make([]bool, len(c.singletons))
	ch := make(chan done, len(c.singletons)) // buffered: abandoned checks must not block
	pending := 0
	for i, n := range c.singletons {
		results[i] = CheckResult{Name: n.name(), Kind: n.e.kind, Optional: n.e.optional}
		check := pick(n)
		if check == nil {
			finished[i] = true
			results[i].Status, results[i].Message = stateStatus(n)
			continue
		}
		pending++
		r := results[i] // the goroutine fills a copy: results is ours once the deadline passes
		go func() {
			start := time.Now()
			var h Health
			err := safely(func() error { h = check(ctx); return nil })
			r.Latency = time.Since(start)
			switch {
			case err != nil:
				r.Status, r.Message = StatusUnhealthy, bare(err)
			case h.Status.rank() == 2 && h.Status != StatusUnhealthy:
				r.Status, r.Message = StatusUnhealthy, fmt.Sprintf("invalid health status %q: %s", h.Status, h.Message)
			default:
				r.Status, r.Message, r.Details = h.Status, h.Message, h.Details
			}
			ch <- done{i, r}
		}()
	}
	for pending > 0 {
		select {
		case d := <-ch:
			results[d.i], finished[d.i] = d.r, true
			pending--
			continue
		case <-ctx.Done():
		}
		break
	}
	for i := range results {
		if !finished[i] {
			results[i].Status = StatusUnhealthy
			results[i].TimedOut = true
			results[i].Latency = time.Since(begin)
			results[i].Message = fmt.Sprintf("health check did not finish within %s", timeout)
		}
		st := results[i].Status
		if results[i].Optional && st == StatusUnhealthy {
			st = StatusDegraded
		}
		if st.rank() > report.Status.rank() {
			report.Status = st
		}
	}
	visible := results[:0]
	for i, r := range results {
		if !c.singletons[i].e.hidden {
			visible = append(visible, r)
		}
	}
	results = visible
	sort.Slice(results, func(i, j int) bool { return results[i].Name < results[j].Name })
	report.Checks = results
	report.Duration = time.Since(begin)
	return report
}

// stateHealth returns the health check of a started singleton, or nil when its state is all
// there is to report.
func stateHealth(n *node) func(context.Context) Health {
	if n.state.Load() != stateStarted {
		return nil
	}
	return n.e.checker(n.value)
}

// stateReady returns the readiness check of a started singleton that is a ReadinessChecker, as
// a health check, or nil when its state is all there is to report.
func stateReady(n *node) func(context.Context) Health {
	if n.state.Load() != stateStarted || n.e.derived {
		return nil
	}
	r, ok := n.value.(ReadinessChecker)
	if !ok {
		return nil
	}
	return func(ctx context.Context) Health {
		if err := r.Ready(ctx); err != nil {
			return Health{Status: StatusUnhealthy, Message: err.Error()}
		}
		return Health{Status: StatusHealthy, Message: "ready"}
	}
}

func stateStatus(n *node) (Status, string) {
	switch n.state.Load() {
	case stateStarted:
		return StatusHealthy, "started"
	case stateFailed:
		return StatusUnhealthy, "failed: " + bare(n.err)
	case stateStarting:
		return StatusUnhealthy, "starting"
	case stateStopping, stateStopped:
		return StatusUnhealthy, "stopped"
	}
	return StatusUnhealthy, "not started"
}
