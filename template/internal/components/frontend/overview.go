package frontend

import (
	"fmt"
	"net/http"
	"runtime"
	"runtime/metrics"
	"slices"
	"strings"
	"time"

	"github.com/aegisgo/aegis/template/internal/runtime/registry"
)

// Card is one component or service on the overview.
type Card struct {
	Name        string
	Kind        string
	Lifetime    string
	State       string
	Description string
	Deps        []string
	Optional    bool
	Health      string // healthy, degraded, unhealthy, or "" when it has no check
	Message     string
	Latency     time.Duration
	TimedOut    bool
	Error       string // why it failed to start
	// UnhealthyDeps are the dependencies whose own check fails: a service can pass its own
	// check (it has none that reaches the database, say) and still not work.
	UnhealthyDeps []string
	AliasOf       string // a binding's target, whose health the card shows
}

// Section is one group of cards.
type Section struct {
	ID      string
	Heading string
	Cards   []Card
}

// Stats are the process facts at the top of the overview.
type Stats struct {
	Version    string
	Revision   string
	GoVersion  string
	Uptime     time.Duration
	Goroutines int
	HeapBytes  uint64 // live heap objects
	TotalBytes uint64 // all memory mapped by the Go runtime
}

// Overview is the live part of the overview page.
type Overview struct {
	Status    string
	CheckedAt time.Time
	Stats     Stats
	Sections  []Section // components, then services
}

func checksByName(rep registry.Report) map[string]registry.CheckResult {
	checks := make(map[string]registry.CheckResult, len(rep.Checks))
	for _, c := range rep.Checks {
		checks[c.Name] = c
	}
	return checks
}

// checkOf returns the health check of n; a binding has none of its own but
// is its target's instance, so it gets the target's.
func checkOf(checks map[string]registry.CheckResult, n registry.Node) (registry.CheckResult, bool) {
	c, ok := checks[n.Name]
	if !ok && n.AliasOf != "" {
		c, ok = checks[n.AliasOf]
	}
	return c, ok
}

// overviewOf joins the graph (what exists) with the health report (how it is).
func overviewOf(g registry.Graph, rep registry.Report, st Stats) Overview {
	checks := checksByName(rep)
	var components, services []Card
	for _, n := range g.Nodes {
		card := Card{
			Name: n.Name, Kind: n.Kind, Lifetime: n.Lifetime, State: n.State,
			Description: n.Description, Deps: n.Deps, Optional: n.Optional, Error: n.Error, AliasOf: n.AliasOf,
		}
		if c, ok := checkOf(checks, n); ok {
			card.Health = string(c.Status)
			card.Message = c.Message
			card.Latency = c.Latency
			card.TimedOut = c.TimedOut
		}
		if n.Kind == registry.KindComponent {
			components = append(components, card)
		} else {
			services = append(services, card)
		}
	}
	health := map[string]string{}
	for _, list := range [][]Card{components, services} {
		for _, c := range list {
			health[c.Name] = c.Health
		}
	}
	for _, list := range [][]Card{components, services} {
		for i := range list {
			if list[i].AliasOf != "" {
				continue // its health is the target's already
			}
			for _, dep := range list[i].Deps {
				if health[dep] == string(registry.StatusUnhealthy) {
					list[i].UnhealthyDeps = append(list[i].UnhealthyDeps, dep)
				}
			}
		}
	}
	byName := func(a, b Card) int { return strings.Compare(a.Name, b.Name) }
	slices.SortFunc(components, byName)
	slices.SortFunc(services, byName)
	return Overview{
		Status:    string(rep.Status),
		CheckedAt: rep.CheckedAt,
		Stats:     st,
		Sections: []Section{
			{ID: "components", Heading: "Components", Cards: components},
			{ID: "services", Heading: "Services", Cards: services},
		},
	}
}

var memSamples = []string{"/memory/classes/heap/objects:bytes", "/memory/classes/total:bytes"}

// stats reads the process facts; runtime/metrics does not stop the world.
func (s *site) stats(d *Dashboard) Stats {
	samples := make([]metrics.Sample, len(memSamples))
	for i, name := range memSamples {
		samples[i].Name = name
	}
	metrics.Read(samples)
	val := func(i int) uint64 {
		if samples[i].Value.Kind() == metrics.KindUint64 {
			return samples[i].Value.Uint64()
		}
		return 0
	}
	return Stats{
		Version:    s.r.API.OpenAPI().Info.Version,
		Revision:   s.r.Revision,
		GoVersion:  runtime.Version(),
		Uptime:     time.Since(d.started),
		Goroutines: runtime.NumGoroutine(),
		HeapBytes:  val(0),
		TotalBytes: val(1),
	}
}

func (s *site) overviewData(req *http.Request, d *Dashboard) Overview {
	return overviewOf(s.c.Graph(), s.c.SharedHealth(req.Context(), s.timeout, d.reportMaxAge), s.stats(d))
}

func (s *site) overview(w http.ResponseWriter, req *http.Request, d *Dashboard) {
	s.render(w, req, d, "overview", "layout", s.page(w, req, d, "overview", "Overview", s.overviewData(req, d)))
}

func (s *site) overviewFragment(w http.ResponseWriter, req *http.Request, d *Dashboard) {
	s.render(w, req, d, "overview", "live", s.overviewData(req, d))
}

// anchor turns a service name into an HTML id fragment: characters other
// than letters, digits, dot, dash and underscore become dashes.
func anchor(name string) string {
	return "card-" + strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-', r == '_':
			return r
		}
		return '-'
	}, name)
}

func formatLatency(d time.Duration) string {
	switch {
	case d <= 0:
		return ""
	case d < 500*time.Nanosecond:
		return "<1µs"
	case d < time.Millisecond:
		return d.Round(time.Microsecond).String()
	default:
		return d.Round(100 * time.Microsecond).String()
	}
}

// formatUptime is 3d 4h, 4h 5m, 5m 6s or 6s.
func formatUptime(d time.Duration) string {
	d = d.Round(time.Second)
	days, h, m, sec := int(d/(24*time.Hour)), int(d/time.Hour)%24, int(d/time.Minute)%60, int(d/time.Second)%60
	switch {
	case days > 0:
		return fmt.Sprintf("%dd %dh", days, h)
	case h > 0:
		return fmt.Sprintf("%dh %dm", h, m)
	case m > 0:
		return fmt.Sprintf("%dm %ds", m, sec)
	default:
		return fmt.Sprintf("%ds", sec)
	}
}

// formatBytes is 512 B, 1.5 KiB, 12.3 MiB, 1.2 GiB.
func formatBytes(n uint64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := uint64(unit), 0
	for m := n / unit; m >= unit && exp < 3; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGT"[exp])
}
