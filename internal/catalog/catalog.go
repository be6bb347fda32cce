// Package catalog is the single source of truth for what aegis can generate: every component and
// service, its category, status, requirements and the files of the reference app it owns.
//
// The catalog is data, not behaviour: the generator, the CLI listings, the dependency resolver and
// the go.mod computation all read it, so adding a component means adding one Entry here and its
// folder in the reference app.
package catalog

import (
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"
)

// Kind says whether an entry describes how an app works (component) or what it does (service).
type Kind string

const (
	KindComponent Kind = "component"
	KindService   Kind = "service"
)

// Status says whether an entry can be selected today.
type Status string

const (
	StatusAvailable  Status = "available"
	StatusComingSoon Status = "coming soon"
)

// Core is the owner of every reference-app file that no entry claims. It is always generated.
const Core = "core"

// Entry is one component or service.
type Entry struct {
	Name        string
	Kind        Kind
	Category    string
	Description string
	Status      Status
	// AlwaysOn entries (the backend and frontend components, the httpclient service) are part of
	// every project and cannot be removed.
	AlwaysOn bool
	// Requires lists the components this entry cannot work without. Resolution is transitive.
	Requires []string
	// Uses lists components this entry integrates with when they are present, without needing
	// them; the glue lives in files owned by the set of entries (see Glue).
	Uses []string
	// Paths are the folders (ending in "/") or files of the reference app this entry owns,
	// relative to the template root. A folder's _fragments/ sub-folder holds the entry's share
	// of the shared files (README, compose file, .env.example, ...); it is never copied.
	Paths []string
	// Migrations are the owner names the entry's code registers migrations under with the
	// database component (registry.Contribute(r, NAME, database.MigrationsFrom(...))): what the
	// app's 'migrate down --owner' takes and its goose version table is named after, which add
	// and remove tell the user. Each one's .sql files are in the migrations/ folder of the
	// entry's folder of the same name. A test in internal/project checks them against the
	// reference app's registrations.
	Migrations []string
}

// Available reports whether the entry can be selected.
func (e Entry) Available() bool { return e.Status == StatusAvailable }

// Glue is a set of files owned by a set of entries (two or more): generated only when all of
// them are selected, so no entry has to name another in its own files.
type Glue struct {
	Owners []string
	// Paths are owned like an entry's, _fragments/ included.
	Paths []string
	// Migrations are the owner names the glue's code registers migrations under, as an
	// entry's: the app knows the glue comms+database only as "commsdb".
	Migrations []string
}

// Name is the owner name of the glue, its owners joined with "+" ("scheduler+database"), used in
// manifests and module data.
func (g Glue) Name() string { return strings.Join(g.Owners, "+") }

// Selected reports whether every owner of the glue is in the selection.
func (g Glue) Selected(sel Selection) bool {
	for _, o := range g.Owners {
		if !sel.Has(o) {
			return false
		}
	}
	return len(g.Owners) > 0
}

// Catalog is the full list of entries and glue.
type Catalog struct {
	Entries []Entry
	Glue    []Glue
}

// Service categories, in the order listings show them.
const (
	CategoryAuth      = "Authentication"
	CategoryAI        = "AI & Machine Learning"
	CategoryComms     = "Communications"
	CategoryAnalytics = "Analytics"
	CategoryPayment   = "Payment"
)

// Component categories, in the order listings show them.
const (
	CategoryCore           = "Core"
	CategoryInfrastructure = "Infrastructure"
)

// Default is the catalog aegis ships.
var Default = Catalog{
	Entries: []Entry{
		{
			Name: "backend", Kind: KindComponent, Category: CategoryCore, AlwaysOn: true,
			Status:      StatusAvailable,
			Description: "HTTP API on chi + huma with OpenAPI 3.1, /docs and health endpoints",
			Paths:       []string{"internal/components/backend/"},
		},
		{
			Name: "frontend", Kind: KindComponent, Category: CategoryCore, AlwaysOn: true,
			Status:      StatusAvailable,
			Description: "Web dashboard at / showing the app's components and their health",
			Paths:       []string{"internal/components/frontend/"},
		},
		{
			Name: "database", Kind: KindComponent, Category: CategoryInfrastructure,
			Status:      StatusAvailable,
			Description: "Embedded SQLite by default, PostgreSQL to scale, with migrations",
			Paths:       []string{"internal/components/database/"},
		},
		{
			Name: "worker", Kind: KindComponent, Category: CategoryInfrastructure,
			Status:      StatusAvailable,
			Description: "Background jobs on River, stored in the app's database",
			Requires:    []string{"database"},
			Paths:       []string{"internal/components/worker/"},
			Migrations:  []string{"worker"},
		},
		{
			Name: "scheduler", Kind: KindComponent, Category: CategoryInfrastructure,
			Status:      StatusAvailable,
			Description: "Cron jobs with gocron, fired exactly once across instances",
			Uses:        []string{"database", "worker"},
			Paths:       []string{"internal/components/scheduler/"},
		},
		{
			Name: "cache", Kind: KindComponent, Category: CategoryInfrastructure,
			Status:      StatusAvailable,
			Description: "Key-value cache, in memory by default, Redis to scale",
			Paths:       []string{"internal/components/cache/"},
		},
		{
			Name: "observability", Kind: KindComponent, Category: CategoryInfrastructure,
			Status:      StatusAvailable,
			Description: "OpenTelemetry traces and metrics: a span and RED metrics per request, OTLP export, /metrics for Prometheus",
			Paths:       []string{"internal/components/observability/"},
		},
		{
			Name: "httpclient", Kind: KindService, Category: CategoryCore, AlwaysOn: true,
			Status:      StatusAvailable,
			Description: "Outbound HTTP client: retries with backoff, a circuit breaker per host, request IDs, redacted logs",
			Paths:       []string{"internal/services/httpclient/"},
		},
		{
			Name: "auth", Kind: KindService, Category: CategoryAuth,
			Status:      StatusAvailable,
			Description: "JWT authentication and user management: registration, login, profiles, roles",
			Requires:    []string{"database"},
			Paths:       []string{"internal/services/auth/"},
			Migrations:  []string{"auth"},
		},
		{
			Name: "oauth", Kind: KindService, Category: CategoryAuth,
			Status:      StatusComingSoon,
			Description: "Sign in with Google, GitHub and other OAuth 2.0 / OIDC providers",
			Requires:    []string{"database"},
			Paths:       []string{"internal/services/oauth/"},
		},
		{
			Name: "saml", Kind: KindService, Category: CategoryAuth,
			Status:      StatusComingSoon,
			Description: "Enterprise single sign-on with SAML 2.0",
			Requires:    []string{"database"},
			Paths:       []string{"internal/services/saml/"},
		},
		{
			Name: "ai", Kind: KindService, Category: CategoryAI,
			Status:      StatusAvailable,
			Description: "Chat with OpenAI, Anthropic and local models behind one interface: streaming, conversations, usage ledger",
			Requires:    []string{"worker"},
			Paths:       []string{"internal/services/ai/"},
			Migrations:  []string{"ai"},
		},
		{
			Name: "comms", Kind: KindService, Category: CategoryComms,
			Status:      StatusAvailable,
			Description: "Email (SMTP, Resend, Postmark) and SMS (Twilio) with templates, and a development outbox in the dashboard",
			Uses:        []string{"database", "worker"},
			Paths:       []string{"internal/services/comms/"},
		},
		{
			Name: "analytics", Kind: KindService, Category: CategoryAnalytics,
			Status:      StatusAvailable,
			Description: "Event tracking and usage metrics stored in the app's database",
			Requires:    []string{"database"},
			Uses:        []string{"cache", "scheduler"},
			Paths:       []string{"internal/services/analytics/"},
			Migrations:  []string{"analytics"},
		},
		{
			Name: "payment", Kind: KindService, Category: CategoryPayment,
			Status:      StatusComingSoon,
			Description: "Payments and subscriptions",
			Requires:    []string{"database"},
			Paths:       []string{"internal/services/payment/"},
		},
	},
	// Glue folders are immediate children of internal/components (or internal/services, when a
	// service owns them), so that folder's import file picks them up when all owners are
	// selected and nothing else has to name them.
	Glue: []Glue{
		{Owners: []string{"scheduler", "database"}, Paths: []string{"internal/components/schedulerdb/"}, Migrations: []string{"schedulerdb"}},
		{Owners: []string{"scheduler", "worker"}, Paths: []string{"internal/components/schedulerworker/"}},
		{Owners: []string{"observability", "database"}, Paths: []string{"internal/components/observabilitydatabase/"}},
		{Owners: []string{"observability", "worker"}, Paths: []string{"internal/components/observabilityworker/"}},
		{Owners: []string{"observability", "cache"}, Paths: []string{"internal/components/observabilitycache/"}},
		{Owners: []string{"comms", "database"}, Paths: []string{"internal/services/commsdb/"}, Migrations: []string{"commsdb"}},
		// Service glue lives beside the services, so the services' import file picks it up.
		{Owners: []string{"analytics", "auth"}, Paths: []string{"internal/services/analyticsauth/"}},
		{Owners: []string{"analytics", "cache"}, Paths: []string{"internal/services/analyticscache/"}},
		{Owners: []string{"analytics", "scheduler"}, Paths: []string{"internal/services/analyticsscheduler/"}},
		{Owners: []string{"auth", "comms"}, Paths: []string{"internal/services/authcomms/"}, Migrations: []string{"authcomms"}},
		{Owners: []string{"comms", "worker"}, Paths: []string{"internal/services/commsworker/"}},
		// The composite service: one call creates the account, caches its profile, tracks
		// user_created and sends the welcome email.
		{Owners: []string{"auth", "comms", "analytics", "cache"}, Paths: []string{"internal/services/onboarding/"}, Migrations: []string{"onboarding"}},
		{Owners: []string{"ai", "auth"}, Paths: []string{"internal/services/aiauth/"}},
		// auth's test of its limits counted in Redis across instances needs the cache.
		{Owners: []string{"auth", "cache"}, Paths: []string{"internal/services/auth/sharedlimits_cache_test.go"}},
	},
}

// ServiceCategories is the listing order of service categories; CategoryCore holds the
// always-on services.
var ServiceCategories = []string{CategoryCore, CategoryAuth, CategoryAI, CategoryComms, CategoryAnalytics, CategoryPayment}

// ComponentCategories is the listing order of component categories.
var ComponentCategories = []string{CategoryCore, CategoryInfrastructure}

// Lookup returns the entry with the given name.
func (c Catalog) Lookup(name string) (Entry, bool) {
	for _, e := range c.Entries {
		if e.Name == name {
			return e, true
		}
	}
	return Entry{}, false
}

// Names returns the names of the entries of one kind, in catalog order.
func (c Catalog) Names(kind Kind) []string {
	var names []string
	for _, e := range c.Entries {
		if e.Kind == kind {
			names = append(names, e.Name)
		}
	}
	return names
}

// OfKind returns the entries of one kind, in catalog order.
func (c Catalog) OfKind(kind Kind) []Entry {
	var out []Entry
	for _, e := range c.Entries {
		if e.Kind == kind {
			out = append(out, e)
		}
	}
	return out
}

// OwnerOf returns the owner of a reference-app file: the entry or glue whose path is the longest
// prefix of path, or Core when none claims it.
func (c Catalog) OwnerOf(path string) string {
	owner, best := Core, 0
	claim := func(name string, paths []string) {
		for _, p := range paths {
			if len(p) > best && (path == p || strings.HasSuffix(p, "/") && strings.HasPrefix(path, p)) {
				owner, best = name, len(p)
			}
		}
	}
	for _, e := range c.Entries {
		claim(e.Name, e.Paths)
	}
	for _, g := range c.Glue {
		claim(g.Name(), g.Paths)
	}
	return owner
}

// Owners returns the owners generated for a selection: Core, every selected entry, and the glue
// whose owners are all selected, in catalog order. The selection must already be resolved.
func (c Catalog) Owners(sel Selection) []string {
	owners := []string{Core}
	for _, e := range c.Entries {
		if sel.Has(e.Name) {
			owners = append(owners, e.Name)
		}
	}
	for _, g := range c.Glue {
		if g.Selected(sel) {
			owners = append(owners, g.Name())
		}
	}
	return owners
}

// PathsOf returns the paths of an entry or glue, by owner name; nil for Core and unknown names.
func (c Catalog) PathsOf(owner string) []string {
	for _, e := range c.Entries {
		if e.Name == owner {
			return e.Paths
		}
	}
	for _, g := range c.Glue {
		if g.Name() == owner {
			return g.Paths
		}
	}
	return nil
}

// MigrationsOf returns the migration owner names an entry or glue registers, by owner name; nil
// for Core, unknown names and parts without migrations.
func (c Catalog) MigrationsOf(owner string) []string {
	for _, e := range c.Entries {
		if e.Name == owner {
			return e.Migrations
		}
	}
	for _, g := range c.Glue {
		if g.Name() == owner {
			return g.Migrations
		}
	}
	return nil
}

// MigrationsDir returns the folder, relative to the template root and ending in "/", that holds
// the .sql files of the migration owner name of the entry or glue owner: the migrations/ folder
// of its folder of that name. ok is false when the owner has no such folder.
func (c Catalog) MigrationsDir(owner, name string) (dir string, ok bool) {
	for _, p := range c.PathsOf(owner) {
		if strings.HasSuffix(p, "/") && path.Base(p) == name {
			return p + "migrations/", true
		}
	}
	return "", false
}

// Check reports the mistakes in the catalog's shape that no resolution would notice: duplicate
// or reserved owner names, glue that is not owned by two or more distinct entries, and migration
// owner names that are empty, taken twice (two parts would share one goose version table) or
// name none of their part's folders (their tables could not be found).
func (c Catalog) Check() error {
	var errs []error
	migrations := map[string]string{} // migration owner name -> the part that registers it
	for _, owner := range c.AllOwners() {
		for _, name := range c.MigrationsOf(owner) {
			prev, taken := migrations[name]
			migrations[name] = owner
			switch _, ok := c.MigrationsDir(owner, name); {
			case name == "":
				errs = append(errs, fmt.Errorf("catalog: %q has an empty migration owner name", owner))
			case taken:
				errs = append(errs, fmt.Errorf("catalog: %q and %q both register migrations as %q, which would share one version table", prev, owner, name))
			case !ok:
				errs = append(errs, fmt.Errorf("catalog: %q registers migrations as %q, but none of its folders is named so", owner, name))
			}
		}
	}
	seen := map[string]bool{Core: true}
	for _, e := range c.Entries {
		if seen[e.Name] || e.Name == "" || strings.Contains(e.Name, "+") {
			errs = append(errs, fmt.Errorf("catalog: entry name %q is empty, reserved, duplicate or holds a '+'", e.Name))
		}
		seen[e.Name] = true
	}
	for _, g := range c.Glue {
		if len(g.Owners) < 2 {
			errs = append(errs, fmt.Errorf("catalog: glue %q needs two or more owners", g.Name()))
		}
		for i, o := range g.Owners {
			if _, ok := c.Lookup(o); !ok {
				errs = append(errs, fmt.Errorf("catalog: glue %q names %q, which is not an entry", g.Name(), o))
			}
			if slices.Contains(g.Owners[:i], o) {
				errs = append(errs, fmt.Errorf("catalog: glue %q names %q twice", g.Name(), o))
			}
		}
		if seen[g.Name()] {
			errs = append(errs, fmt.Errorf("catalog: glue %q is declared twice", g.Name()))
		}
		seen[g.Name()] = true
	}
	return errors.Join(errs...)
}

// AllOwners returns every owner the catalog knows: Core, every entry and every glue.
func (c Catalog) AllOwners() []string {
	owners := []string{Core}
	for _, e := range c.Entries {
		owners = append(owners, e.Name)
	}
	for _, g := range c.Glue {
		owners = append(owners, g.Name())
	}
	return owners
}

// Selection is a resolved set of components and services; both lists are sorted and include the
// always-on components.
type Selection struct {
	Components []string
	Services   []string
}

// Has reports whether name is selected, as a component or a service.
func (s Selection) Has(name string) bool {
	return slices.Contains(s.Components, name) || slices.Contains(s.Services, name)
}

// Equal reports whether two selections hold the same names.
func (s Selection) Equal(o Selection) bool {
	return slices.Equal(s.Components, o.Components) && slices.Equal(s.Services, o.Services)
}

// Optional returns the selected components that are not always on, in sorted order: what a user
// passes to --components.
func (c Catalog) Optional(s Selection) []string { return c.optional(s.Components) }

// OptionalServices returns the selected services that are not always on, in sorted order: what
// a user passes to --services.
func (c Catalog) OptionalServices(s Selection) []string { return c.optional(s.Services) }

func (c Catalog) optional(names []string) []string {
	var out []string
	for _, name := range names {
		if e, ok := c.Lookup(name); ok && !e.AlwaysOn {
			out = append(out, name)
		}
	}
	return out
}
