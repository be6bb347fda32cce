// Package frontend is the app's control-plane dashboard at /: every
// registered component and service with its live health, the service graph
// drawn as SVG, the HTTP routes, and panels that other components contribute
// (Panel). Pages are rendered on the server with html/template; htmx (embedded,
// about 17 KB gzipped) refreshes the live parts. Nothing is loaded from other
// hosts and there is no JavaScript build step.
//
// In development without credentials the dashboard is open to this machine
// (loopback peers) only, addressed as localhost, 127.0.0.1, [::1] or a host of
// ALLOWED_HOSTS (so DNS rebinding gets nothing); in production it requires an admin login through the app's
// Authenticator (the auth service, when present; see AuthenticatorFunc),
// otherwise DASHBOARD_USERNAME and DASHBOARD_PASSWORD (HTTP basic auth), and
// answers 401 until they are set.
// Every POST action carries a CSRF token and passes net/http's
// CrossOriginProtection.
package frontend

import (
	"bytes"
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/aegisgo/aegis/template/internal/components/backend"
	"github.com/aegisgo/aegis/template/internal/config"
	"github.com/aegisgo/aegis/template/internal/runtime/ratelimit"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
)

// Name is the frontend's name as a component and as a config owner.
const Name = "frontend"

// Paths of the dashboard. Everything but the overview lives under Prefix.
const (
	OverviewPath  = "/"
	Prefix        = "/dashboard"
	GraphPath     = Prefix + "/graph"
	RoutesPath    = Prefix + "/routes"
	PanelsPath    = Prefix + "/panels"               // + "/{name}"
	FragmentsPath = Prefix + "/fragments"            // + "/overview"
	AssetsPath    = Prefix + "/assets"               // + "/{name}"
	overviewFrag  = FragmentsPath + "/overview"      // the live part of the overview
	graphFrag     = FragmentsPath + "/graph"         // the live part of the graph page
	panelFrag     = FragmentsPath + "/panels"        // + "/{name}"
	actionsPath   = PanelsPath + "/{name}/actions"   // + "/{action}"
	resourcesPath = PanelsPath + "/{name}/resources" // + "/{resource}"
)

// Settings configure access to the dashboard. The zero value leaves it open
// in development and closed (401) in production.
type Settings struct {
	Username string `env:"DASHBOARD_USERNAME" doc:"User name for the dashboard (HTTP basic auth); required with DASHBOARD_PASSWORD in production, where the dashboard answers 401 until both are set. Without them in development it answers only on localhost. With the auth service the dashboard asks for an admin account's login instead (in production, and in development once DASHBOARD_USERNAME is set)."`
	Password string `env:"DASHBOARD_PASSWORD" doc:"Password for the dashboard; when both are set they are required in development too. Production refuses one shorter than 12 characters or a common one. Failed sign-ins are limited per address and per user name (429), counted across instances with the cache component on Redis, else by each instance on its own."`
	Secret   string `env:"DASHBOARD_SECRET" doc:"Key that signs the dashboard's CSRF tokens, at least 32 characters; set the same value on every instance behind one load balancer, or a form loaded from one instance is refused by another. Empty: a random key per process."`
	// AllowedHosts is read by hostAllowed.
	AllowedHosts string `env:"ALLOWED_HOSTS" doc:"Host names, comma-separated, under which the development dashboard answers without credentials besides localhost, 127.0.0.1 and [::1] (a request for any other Host, such as a DNS-rebinding page, gets 403). Ports are ignored."`
}

// Validate reports a user name without a password and the other way round.
func (s Settings) Validate() error {
	if (s.Username == "") != (s.Password == "") {
		return config.Invalid("DASHBOARD_USERNAME", s.Username, "and DASHBOARD_PASSWORD must be set together", "set both, or neither to leave the dashboard open in development")
	}
	if s.Secret != "" && len(s.Secret) < 32 {
		return config.Invalid("DASHBOARD_SECRET", "(hidden)", "is shorter than 32 characters", "generate one with: openssl rand -hex 32")
	}
	if _, err := parseAllowedHosts(s.AllowedHosts); err != nil {
		return err
	}
	return nil
}

func init() {
	// The registry keeps registration errors and returns them from Build.
	_ = Register(registry.Default)
}

// Register adds the frontend component, its settings and its routes to r. init() does it for
// registry.Default; tests call it on a fresh registry, or register a value built with New.
// The dashboard needs config.Core, which the app's commands provide.
func Register(r *registry.Registry) error {
	registry.Contribute(r, Name, backend.Routes(mount))
	registry.Contribute(r, Name, backend.HealthAccess(healthAccess))
	return errors.Join(
		config.Provide[Settings](r, Name),
		registry.Provide6(r, newFromEnv,
			registry.Component(Name),
			registry.Describe("Dashboard at /: live health, service graph, routes and component panels"),
		),
	)
}

func newFromEnv(_ context.Context, core config.Core, s Settings, panels registry.All[Panel], auth registry.Maybe[AuthenticatorFunc],
	limits registry.Maybe[ratelimit.Shared], wording registry.Maybe[ErrorWording]) (*Dashboard, error) {
	return New(&Opts{Production: core.Production(), Settings: s, Panels: panels, Authenticator: auth.Value, Limits: limits.Value.Store,
		Wording: wording.Value})
}

// Opts configure New. A nil *Opts is a development dashboard without
// credentials or panels.
type Opts struct {
	// Production closes the dashboard unless credentials are set.
	Production bool
	// Settings hold the credentials.
	Settings Settings
	// Panels are the panels to show (the contributed ones, in the app).
	Panels registry.All[Panel]
	// Authenticator finds the app's Authenticator (the one contributed, in the app); nil
	// means basic auth only.
	Authenticator AuthenticatorFunc
	// Limits, when not nil, is the store the failed basic-auth sign-ins count
	// in, so that their limits hold across instances (the cache component's on
	// Redis); nil counts them in this process only.
	Limits ratelimit.Store
	// Wording words the panels' failed queries (PanelContext.Problem): the one contributed, in
	// the app (the database component's); nil shows none of their text.
	Wording ErrorWording
}

// Dashboard is the frontend component: parsed templates, embedded assets,
// access rules and the panels to show.
type Dashboard struct {
	opts   Opts
	panels panelList
	// pages are parsed on first use, not at start: a start that serves no dashboard page
	// (most, in production) parses no template (nor hashes an asset: see urls).
	pages  func() (map[string]*template.Template, error)
	assets map[string]*backend.EmbeddedFile
	secret []byte // signs CSRF tokens; new per process
	// allowedHosts are ALLOWED_HOSTS, parsed (hostAllowed).
	allowedHosts []string
	// failedByIP and failedByUser count failed basic-auth sign-ins.
	failedByIP, failedByUser *ratelimit.Limiter
	started                  time.Time
	sessions                 sessionMemo    // logins confirmed lately, for when the Authenticator fails
	unseen                   unseenOutcomes // htmx actions' outcomes whose answer the browser dropped
	// reportMaxAge is how old a health report the overview and the graph may show
	// (registry.Container.SharedHealth): zero, the default of a second; tests set -1.
	reportMaxAge time.Duration
}

// New parses the embedded templates and loads the assets.
func New(opts *Opts) (*Dashboard, error) {
	d := &Dashboard{started: time.Now(), secret: make([]byte, 32)}
	if opts != nil {
		d.opts = *opts
	}
	d.failedByIP = ratelimit.New(basicAuthIPLimit, basicAuthWindow,
		&ratelimit.Opts{Shared: d.opts.Limits, Name: "dashboard:basic-ip"})
	d.failedByUser = ratelimit.New(basicAuthUserLimit, basicAuthWindow,
		&ratelimit.Opts{Shared: d.opts.Limits, Name: "dashboard:basic-user"})
	if err := d.opts.Settings.Validate(); err != nil {
		return nil, fmt.Errorf("frontend: %w", err)
	}
	if d.opts.Production {
		if err := checkProductionPassword(d.opts.Settings); err != nil {
			return nil, fmt.Errorf("frontend: %w", err)
		}
	}
	panels, err := newPanelList(d.opts.Panels)
	if err != nil {
		return nil, err
	}
	d.panels = panels
	if d.allowedHosts, err = parseAllowedHosts(d.opts.Settings.AllowedHosts); err != nil {
		return nil, err
	}
	if key := d.opts.Settings.Secret; key != "" {
		// A key of its own for CSRF, derived, so DASHBOARD_SECRET signs nothing else.
		m := hmac.New(sha256.New, []byte(key))
		m.Write([]byte("aegis dashboard csrf"))
		d.secret = m.Sum(nil)
	} else {
		_, _ = rand.Read(d.secret) // never fails (crypto/rand panics instead)
	}
	if d.assets, err = loadAssets(); err != nil {
		return nil, err
	}
	d.pages = sync.OnceValues(parsePages)
	return d, nil
}

// site is what the handlers share: the router's facts plus the dashboard,
// resolved per request so the handler can be built before the container
// starts.
type site struct {
	c       *registry.Container
	r       *backend.Router
	title   string
	timeout time.Duration
}

func (s *site) dashboard() (*Dashboard, error) { return registry.Get[*Dashboard](s.c) }

func mount(r *backend.Router) error {
	s := &site{c: r.Container, r: r, title: r.Title, timeout: r.HealthTimeout}
	guard := s.guard
	r.Mux.Get(OverviewPath, guard(s.overview))
	// The dashboard's pages live under Prefix but its home is the overview
	// at "/": someone who types the prefix means the dashboard.
	r.Mux.Get(Prefix, guard(s.home))
	r.Mux.Get(Prefix+"/", guard(s.home))
	r.Mux.Get(overviewFrag, guard(s.overviewFragment))
	r.Mux.Get(GraphPath, guard(s.graph))
	r.Mux.Get(graphFrag, guard(s.graphFragment))
	r.Mux.Get(RoutesPath, guard(s.routes))
	r.Mux.Get(PanelsPath+"/{name}", guard(s.panel))
	r.Mux.Get(panelFrag+"/{name}", guard(s.panelFragment))
	r.Mux.Post(actionsPath+"/{action}", guard(s.action))
	r.Mux.Get(resourcesPath+"/{resource}", guard(s.resource))
	r.Mux.Get(AssetsPath+"/{name}", guard(s.asset))
	r.Mux.Get(LoginPath, s.login)
	r.Mux.Post(LoginPath, s.login)
	r.Mux.Post(LogoutPath, guard(s.logout))
	// Any other address under the prefix is a mistyped or stale dashboard link: answered like
	// an unknown panel (a page with the way home), not with the API's "see /docs".
	r.Mux.Handle(catchAll, guard(s.unknownPage))
	return nil
}

// catchAll is the pattern of the dashboard's page for unknown addresses.
const catchAll = Prefix + "/*"

// unknownPage answers an address under the prefix that no route took for its method. The
// catch-all takes every method, so chi never answers 405 under the prefix: a known address
// asked with another method (a GET of a form's action) lands here too, and gets the 405 and
// Allow header the API gives.
func (s *site) unknownPage(w http.ResponseWriter, req *http.Request, _ *Dashboard) {
	if allowed := backend.AllowedMethods(s.r.Mux, req, catchAll); len(allowed) > 0 {
		w.Header().Set("Allow", strings.Join(allowed, ", "))
		refusal(w, req, http.StatusMethodNotAllowed, "Wrong method for this dashboard address: it takes only "+strings.Join(allowed, ", ")+"; use the navigation.")
		return
	}
	notFound(w, req, "No such dashboard page: use the navigation.")
}

// home sends /dashboard and /dashboard/ to the overview, the dashboard's
// home; it is guarded like the pages so it answers nothing the overview
// would not.
func (s *site) home(w http.ResponseWriter, req *http.Request, _ *Dashboard) {
	http.Redirect(w, req, OverviewPath, http.StatusSeeOther)
}

// handlerFunc is a dashboard handler: it gets the dashboard resolved and
// the request authorised.
type handlerFunc func(w http.ResponseWriter, req *http.Request, d *Dashboard)

// guard resolves the dashboard, enforces access and, for unsafe methods,
// cross-origin protection and the CSRF token.
func (s *site) guard(h handlerFunc) http.HandlerFunc {
	cop := http.NewCrossOriginProtection()
	return func(w http.ResponseWriter, req *http.Request) {
		setSecurityHeaders(w)
		d, err := s.dashboard()
		if err != nil {
			http.Error(w, "The dashboard is not available yet: the app is starting.", http.StatusServiceUnavailable)
			return
		}
		if a := s.authenticator(d); a != nil {
			// The login page needs the stylesheet before anyone signs in.
			if !strings.HasPrefix(req.URL.Path, AssetsPath+"/") {
				var ok bool
				if req, ok = d.authorizeSession(w, req, a); !ok {
					return
				}
			}
		} else if !d.authorize(w, req, cmp.Or(s.r.Logger, slog.Default())) {
			return
		}
		if req.Method != http.MethodGet && req.Method != http.MethodHead {
			if err := cop.Check(req); err != nil {
				refusal(w, req, http.StatusForbidden, crossOriginDetail)
				return
			}
			if !d.validCSRF(req) {
				refusal(w, req, http.StatusForbidden, d.csrfDetail())
				return
			}
		}
		h(w, req, d)
	}
}

// What the dashboard's refusals of an unsafe request say; the login form's
// share them.
const (
	crossOriginDetail = "Cross-origin request refused: the dashboard accepts changes only from its own pages; open it at its own address and try again there."
	csrfDetail        = "Missing or invalid CSRF token: reload the page and try again."
	// Without DASHBOARD_SECRET each process signs with a random key: behind a load balancer a
	// form from one instance is refused by another, and reloading lands on any of them again.
	csrfNoSecretDetail = csrfDetail + " If the app runs as several instances, set the same DASHBOARD_SECRET on each: without it every instance signs its forms with a key of its own and refuses the others'."
)

// csrfDetail is what a CSRF refusal says: with the random per-process key, also how to make
// instances accept each other's forms.
func (d *Dashboard) csrfDetail() string {
	if d.opts.Settings.Secret == "" {
		return csrfNoSecretDetail
	}
	return csrfDetail
}

func setSecurityHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	// htmx needs no inline script, eval or inline style with the settings in
	// the layout (allowEval and includeIndicatorStyles off), and the pages
	// and the SVG style by class only.
	h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
}

// render executes template tmpl of page into a buffer first, so a template
// error becomes a clean 500 rather than half a page.
func (s *site) render(w http.ResponseWriter, req *http.Request, d *Dashboard, page, tmpl string, data any) {
	pages, err := d.pages()
	if err != nil {
		s.r.Logger.ErrorContext(req.Context(), "frontend: parse pages", "error", err)
		http.Error(w, "The page failed to render.", http.StatusInternalServerError)
		return
	}
	t, ok := pages[page]
	if !ok {
		s.r.Logger.ErrorContext(req.Context(), "frontend: no such page template", "page", page)
		http.Error(w, "The page failed to render.", http.StatusInternalServerError)
		return
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, tmpl, data); err != nil {
		s.r.Logger.ErrorContext(req.Context(), "frontend: render page", "page", page, "template", tmpl, "error", err)
		http.Error(w, "The page failed to render.", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	_, _ = w.Write(buf.Bytes())
}
