package catalog

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// allAvailable is the default catalog with every entry available, so resolution rules can be
// tested independently of what has shipped.
func allAvailable() Catalog {
	c := Catalog{Entries: slices.Clone(Default.Entries), Glue: Default.Glue}
	for i := range c.Entries {
		c.Entries[i].Status = StatusAvailable
	}
	return c
}

func TestCatalogIsConsistent(t *testing.T) {
	if err := Default.Check(); err != nil {
		t.Error(err)
	}
	seen := map[string]bool{}
	for _, e := range Default.Entries {
		if seen[e.Name] {
			t.Errorf("duplicate entry %q", e.Name)
		}
		seen[e.Name] = true
		if e.Description == "" || e.Category == "" || len(e.Paths) == 0 {
			t.Errorf("%s: description, category and paths are required", e.Name)
		}
		if e.Kind == KindService && !slices.Contains(ServiceCategories, e.Category) ||
			e.Kind == KindComponent && !slices.Contains(ComponentCategories, e.Category) {
			t.Errorf("%s: category %q is not listed for %ss", e.Name, e.Category, e.Kind)
		}
		for _, r := range append(slices.Clone(e.Requires), e.Uses...) {
			dep, ok := Default.Lookup(r)
			if !ok || dep.Kind != KindComponent {
				t.Errorf("%s: requirement %q is not a component", e.Name, r)
			}
			// An available entry must never require one users cannot select.
			if ok && e.Available() && !dep.Available() {
				t.Errorf("%s is available but requires %s, which is not", e.Name, r)
			}
		}
	}
	for _, name := range []string{"backend", "frontend"} {
		if e, _ := Default.Lookup(name); !e.AlwaysOn || !e.Available() {
			t.Errorf("%s must be always on and available", name)
		}
	}
	wantReq := map[string][]string{"auth": {"database"}, "worker": {"database"}, "ai": {"worker"}, "analytics": {"database"}, "comms": nil}
	for name, want := range wantReq {
		if e, _ := Default.Lookup(name); !slices.Equal(e.Requires, want) {
			t.Errorf("%s requires %v, want %v", name, e.Requires, want)
		}
	}
}

func TestOwnerOf(t *testing.T) {
	c := Default
	c.Glue = []Glue{{Owners: []string{"scheduler", "database"}, Paths: []string{"internal/components/scheduler/store/"}}}
	tests := []struct{ path, want string }{
		{"cmd/app/main.go", Core},
		{"internal/app/serve.go", Core},
		{"internal/components/backend/server.go", "backend"},
		{"internal/components/database/db.go", "database"},
		{"internal/components/databases.go", Core},
		{"internal/services/auth/service.go", "auth"},
		{"internal/services/authz.go", Core},
		{"internal/components/scheduler/cron.go", "scheduler"},
		{"internal/components/scheduler/store/pg.go", "scheduler+database"},
	}
	for _, tt := range tests {
		if got := c.OwnerOf(tt.path); got != tt.want {
			t.Errorf("OwnerOf(%q) = %q, want %q", tt.path, got, tt.want)
		}
	}
}

func TestResolve(t *testing.T) {
	c := allAvailable()
	tests := []struct {
		name      string
		req       Request
		wantComps []string
		wantSvcs  []string
		wantAdded []string
		wantErr   string
		notWant   string // a part wantErr's message must not have
	}{
		{name: "base", wantComps: []string{"backend", "frontend"}, wantSvcs: []string{"httpclient"}},
		{name: "auth adds database", req: Request{Services: []string{"auth"}},
			wantComps: []string{"backend", "database", "frontend"}, wantSvcs: []string{"auth", "httpclient"},
			wantAdded: []string{"service 'auth' requires component 'database'"}},
		{name: "transitive ai", req: Request{Services: []string{"ai"}},
			wantComps: []string{"backend", "database", "frontend", "worker"}, wantSvcs: []string{"ai", "httpclient"},
			wantAdded: []string{"service 'ai' requires component 'worker'", "component 'worker' requires component 'database'"}},
		{name: "explicit requirement satisfied", req: Request{Services: []string{"auth"}, Components: []string{"database"}, Strict: true},
			wantComps: []string{"backend", "database", "frontend"}, wantSvcs: []string{"auth", "httpclient"}},
		{name: "always-on names accepted", req: Request{Components: []string{"backend", " Frontend ", "backend"}, Services: []string{"httpclient"}},
			wantComps: []string{"backend", "frontend"}, wantSvcs: []string{"httpclient"}},
		{name: "strict missing", req: Request{Services: []string{"auth"}, Components: []string{"cache"}, Strict: true},
			wantErr: "service 'auth' requires component 'database'"},
		{name: "strict transitive", req: Request{Services: []string{"ai"}, Components: []string{"cache"}, Strict: true},
			wantErr: "service 'ai' requires component 'worker'; component 'worker' requires component 'database'"},
		{name: "unknown component", req: Request{Components: []string{"redis", "kafka"}},
			wantErr: "unknown components 'redis', 'kafka'; valid components: backend, cache, database, frontend, observability, scheduler, worker"},
		{name: "service as component", req: Request{Components: []string{"auth"}},
			wantErr: "'auth' is a service: use --services auth", notWant: "did you mean"},
		{name: "unknown service", req: Request{Services: []string{"billing"}},
			wantErr: "unknown service 'billing'; valid services: ai, analytics, auth, comms, httpclient, oauth, payment, saml"},
		{name: "misspelt service", req: Request{Services: []string{"auht"}},
			wantErr: "unknown service 'auht'; valid services: ai, analytics, auth, comms, httpclient, oauth, payment, saml; did you mean 'auth'?"},
		{name: "misspelt component as service", req: Request{Services: []string{"cahce"}},
			wantErr: "did you mean component 'cache'?"},
		{name: "several misspelt", req: Request{Components: []string{"wroker", "kafka", "schduler"}},
			wantErr: "; did you mean 'worker' (for 'wroker'), 'scheduler' (for 'schduler')?"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := c.Resolve(tt.req)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want it to contain %q", err, tt.wantErr)
				}
				if tt.notWant != "" && strings.Contains(err.Error(), tt.notWant) {
					t.Errorf("error = %v, want it without %q", err, tt.notWant)
				}
				if !errors.Is(err, ErrInvalid) {
					t.Errorf("error %v does not wrap ErrInvalid", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(res.Selection.Components, tt.wantComps) || !slices.Equal(res.Selection.Services, tt.wantSvcs) {
				t.Errorf("selection = %+v, want components %v services %v", res.Selection, tt.wantComps, tt.wantSvcs)
			}
			var added []string
			for _, a := range res.Added {
				added = append(added, a.String())
			}
			if !slices.Equal(added, tt.wantAdded) {
				t.Errorf("added = %q, want %q", added, tt.wantAdded)
			}
		})
	}
}

func TestResolveStrictGivesFix(t *testing.T) {
	_, err := allAvailable().Resolve(Request{Services: []string{"ai"}, Components: []string{"cache"}, Strict: true})
	var missing *MissingError
	if !errors.As(err, &missing) {
		t.Fatalf("error = %v, want *MissingError", err)
	}
	want := []string{"backend", "cache", "database", "frontend", "worker"}
	if !slices.Equal(missing.Fixed.Components, want) {
		t.Errorf("fixed components = %v, want %v", missing.Fixed.Components, want)
	}
}

func TestResolveComingSoon(t *testing.T) {
	c := allAvailable()
	for i := range c.Entries {
		if c.Entries[i].Name == "oauth" || c.Entries[i].Name == "worker" {
			c.Entries[i].Status = StatusComingSoon
		}
	}
	tests := []struct {
		req  Request
		want string
	}{
		{Request{Services: []string{"oauth"}}, "service 'oauth' is coming soon and cannot be generated yet; run 'aegis services' to see what is available"},
		{Request{Services: []string{"ai"}}, "service 'ai' needs component 'worker', which is coming soon"},
	}
	for _, tt := range tests {
		_, err := c.Resolve(tt.req)
		var cs *ComingSoonError
		if !errors.As(err, &cs) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Resolve(%+v) error = %v, want ComingSoonError containing %q", tt.req, err, tt.want)
		}
	}
}

func TestOwners(t *testing.T) {
	c := allAvailable()
	c.Glue = []Glue{{Owners: []string{"scheduler", "database"}, Paths: []string{"x/"}}}
	res, err := c.Resolve(Request{Components: []string{"scheduler", "database"}})
	if err != nil {
		t.Fatal(err)
	}
	got := c.Owners(res.Selection)
	want := []string{Core, "backend", "frontend", "database", "scheduler", "httpclient", "scheduler+database"}
	if !slices.Equal(got, want) {
		t.Errorf("Owners = %v, want %v", got, want)
	}
	if opt := c.Optional(res.Selection); !slices.Equal(opt, []string{"database", "scheduler"}) {
		t.Errorf("Optional = %v", opt)
	}
	if opt := c.OptionalServices(res.Selection); len(opt) != 0 {
		t.Errorf("OptionalServices = %v, want none: httpclient is always on", opt)
	}
}

// TestGlueOfAnySet checks glue owned by three entries next to today's pairs: it is generated only
// when every owner is selected, owns its paths, and keeps its place in catalog order.
func TestGlueOfAnySet(t *testing.T) {
	c := allAvailable()
	c.Glue = []Glue{
		{Owners: []string{"scheduler", "database"}, Paths: []string{"internal/components/schedulerdb/"}},
		{Owners: []string{"auth", "comms", "analytics"}, Paths: []string{"internal/services/welcomestats/"}},
	}
	if err := c.Check(); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		components []string
		services   []string
		wantGlue   []string
	}{
		{"none", nil, nil, nil},
		{"pair", []string{"scheduler", "database"}, nil, []string{"scheduler+database"}},
		{"two of three", nil, []string{"auth", "comms"}, nil},
		{"three", nil, []string{"auth", "comms", "analytics"}, []string{"auth+comms+analytics"}},
		{"pair and three", []string{"scheduler"}, []string{"analytics", "auth", "comms"}, []string{"scheduler+database", "auth+comms+analytics"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := c.Resolve(Request{Components: tt.components, Services: tt.services})
			if err != nil {
				t.Fatal(err)
			}
			var glue []string
			for _, o := range c.Owners(res.Selection) {
				if strings.Contains(o, "+") {
					glue = append(glue, o)
				}
			}
			if !slices.Equal(glue, tt.wantGlue) {
				t.Errorf("glue owners = %v, want %v", glue, tt.wantGlue)
			}
		})
	}
	if got := c.OwnerOf("internal/services/welcomestats/hook.go"); got != "auth+comms+analytics" {
		t.Errorf("OwnerOf = %q, want auth+comms+analytics", got)
	}
	if got := c.PathsOf("auth+comms+analytics"); !slices.Equal(got, []string{"internal/services/welcomestats/"}) {
		t.Errorf("PathsOf = %v", got)
	}
	if !slices.Contains(c.AllOwners(), "auth+comms+analytics") {
		t.Errorf("AllOwners = %v lacks the glue", c.AllOwners())
	}
}

func TestCheck(t *testing.T) {
	tests := []struct {
		name string
		glue Glue
		want string // "" means valid
	}{
		{"pair", Glue{Owners: []string{"scheduler", "worker"}}, ""},
		{"three", Glue{Owners: []string{"auth", "comms", "analytics"}}, ""},
		{"one owner", Glue{Owners: []string{"auth"}}, "two or more owners"},
		{"unknown owner", Glue{Owners: []string{"auth", "nope"}}, `names "nope", which is not an entry`},
		{"repeated owner", Glue{Owners: []string{"auth", "auth"}}, "twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := allAvailable()
			c.Glue = []Glue{tt.glue}
			err := c.Check()
			if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
				t.Errorf("Check() = %v, want %q", err, tt.want)
			}
		})
	}
	c := allAvailable()
	c.Glue = []Glue{{Owners: []string{"auth", "comms"}}, {Owners: []string{"auth", "comms"}}}
	if err := c.Check(); err == nil || !strings.Contains(err.Error(), "declared twice") {
		t.Errorf("duplicate glue: Check() = %v", err)
	}
}

// TestCheckMigrations: migration owner names are checked as the CLI relies on them: present,
// one part each (each names a goose version table), and each the name of a folder of its part,
// whose migrations/ folder holds its .sql files.
func TestCheckMigrations(t *testing.T) {
	tests := []struct {
		name       string
		migrations []string // of the glue auth+comms, folder internal/services/authcomms/
		want       string   // "" means valid
	}{
		{"none", nil, ""},
		{"its folder", []string{"authcomms"}, ""},
		{"empty", []string{""}, "empty migration owner name"},
		{"another part's", []string{"auth"}, `"auth" and "auth+comms" both register migrations as "auth"`},
		{"no such folder", []string{"welcome"}, `registers migrations as "welcome", but none of its folders`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := allAvailable()
			c.Glue = []Glue{{Owners: []string{"auth", "comms"}, Paths: []string{"internal/services/authcomms/"}, Migrations: tt.migrations}}
			err := c.Check()
			if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
				t.Errorf("Check() = %v, want %q", err, tt.want)
			}
		})
	}
}

// TestMigrationsDir: an owner's .sql files are in the migrations/ folder of its folder of the
// same name.
func TestMigrationsDir(t *testing.T) {
	tests := []struct {
		owner, name string
		want        string // "" means none
	}{
		{"auth", "auth", "internal/services/auth/migrations/"},
		{"comms+database", "commsdb", "internal/services/commsdb/migrations/"},
		{"comms+database", "comms", ""},
		{"nope", "nope", ""},
	}
	for _, tt := range tests {
		t.Run(tt.owner+"/"+tt.name, func(t *testing.T) {
			got, ok := Default.MigrationsDir(tt.owner, tt.name)
			if got != tt.want || ok != (tt.want != "") {
				t.Errorf("MigrationsDir = %q, %v; want %q", got, ok, tt.want)
			}
		})
	}
}

// TestGlueOfFour checks the real catalog's composite glue, owned by three services and a
// component: generated with all four and only then, its folder among the services.
func TestGlueOfFour(t *testing.T) {
	c := allAvailable()
	const owner = "auth+comms+analytics+cache"
	if !slices.Contains(c.AllOwners(), owner) {
		t.Fatalf("AllOwners = %v lacks %s", c.AllOwners(), owner)
	}
	if got := c.OwnerOf("internal/services/onboarding/service.go"); got != owner {
		t.Errorf("OwnerOf = %q, want %s", got, owner)
	}
	for _, tt := range []struct {
		name       string
		components []string
		services   []string
		want       bool
	}{
		{"all four", []string{"cache"}, []string{"auth", "comms", "analytics"}, true},
		{"without cache", nil, []string{"auth", "comms", "analytics"}, false},
		{"without comms", []string{"cache"}, []string{"auth", "analytics"}, false},
		{"everything", []string{"cache", "scheduler", "worker"}, []string{"auth", "comms", "analytics"}, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res, err := c.Resolve(Request{Components: tt.components, Services: tt.services})
			if err != nil {
				t.Fatal(err)
			}
			if got := slices.Contains(c.Owners(res.Selection), owner); got != tt.want {
				t.Errorf("glue generated = %v, want %v (owners %v)", got, tt.want, c.Owners(res.Selection))
			}
		})
	}
}

// A misspelt name finds the entry it was meant to be: a swap of neighbouring letters or a
// letter more, less or wrong counts as one edit, at most two, and no more than half the name.
func TestSuggest(t *testing.T) {
	c := Default
	for _, tt := range []struct{ name, want string }{
		{"cahce", "cache"}, {"chace", "cache"}, {"databse", "database"}, {"wroker", "worker"},
		{"ia", "ai"}, {"analytic", "analytics"}, {"observabilty", "observability"}, {"scheduller", "scheduler"},
		{"auht", "auth"}, {"oath", "oauth"},
		{"a", ""}, {"nope", ""}, {"redis", ""}, {"kafka", ""}, {"billing", ""}, {"x", ""},
	} {
		e, ok := c.Suggest(tt.name)
		if got := map[bool]string{true: e.Name}[ok]; got != tt.want {
			t.Errorf("Suggest(%q) = %q, want %q", tt.name, got, tt.want)
		}
	}
	for _, tt := range []struct {
		a, b string
		want int
	}{{"", "", 0}, {"", "abc", 3}, {"abc", "", 3}, {"cache", "cache", 0}, {"cahce", "cache", 1}, {"ca", "ac", 1},
		{"kitten", "sitting", 3}, {"abcd", "badc", 2}} {
		if got := editDistance(tt.a, tt.b); got != tt.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}
