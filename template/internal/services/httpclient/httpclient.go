// Package httpclient is the app's outbound HTTP client: one client per integration (an email
// provider, an AI API, a webhook target), built from the registry's *Clients with its own base
// URL, timeout, attempts and default headers, all on one shared connection pool bounded per host.
//
// Every call goes through failsafe-go policies composed around the shared transport: retries
// with exponential backoff and full jitter on transport errors, 5xx, 408 and 429 (honouring
// Retry-After, both forms, and returning at once when it asks for more than MaxDelay), POST and PATCH retried only with an Idempotency-Key header, and a
// circuit breaker per host, shared by every client, visible in /health/detailed and in the
// dashboard's "Outbound HTTP" panel. A service asks for *Clients in its constructor:
//
//	func NewMailer(_ context.Context, hc *httpclient.Clients, s Settings) (*Mailer, error) {
//		c, err := hc.New("resend", httpclient.Options{
//			BaseURL: "https://api.resend.com",
//			Headers: http.Header{"Authorization": {"Bearer " + s.APIKey}},
//		})
//		if err != nil {
//			return nil, err
//		}
//		return &Mailer{c: c}, nil
//	}
//
//	sent, err := httpclient.Do[sendResult](ctx, m.c, http.MethodPost, "/emails", msg,
//		httpclient.WithIdempotencyKey(msg.ID))
//
// Client.HTTP is a standard *http.Client with the same policies, for SDKs that take one
// (openai-go, anthropic-sdk-go). The request ID of the incoming request or job
// (backend.RequestID) goes out as X-Request-ID; each call is one debug log line, without
// credentials (see SecretHeader and SecretParam).
package httpclient

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aegisgo/aegis/template/internal/components/frontend"
	"github.com/aegisgo/aegis/template/internal/config"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
)

// Name is the service's name in the catalog, in config and in the registry.
const Name = "httpclient"

// PanelName is the dashboard panel's URL name (/dashboard/panels/http).
const PanelName = "http"

func init() {
	// Registration errors are kept by the registry and reported by Build.
	_ = Register(registry.Default)
}

// Register adds the Clients to r with the HTTP_CLIENT_* settings and the dashboard panel.
// init() does it for registry.Default; tests use a fresh registry.
func Register(r *registry.Registry) error {
	registry.Contribute(r, PanelName, frontend.Panel{Title: "Outbound HTTP", Render: renderPanel,
		PanelOpts: frontend.PanelOpts{Order: 50, Refresh: 5}})
	return errors.Join(
		config.Provide[Settings](r, Name),
		registry.Provide1(r, newClients,
			registry.Describe("outbound HTTP clients: shared pool, retries, circuit breaker per host")),
	)
}

func newClients(_ context.Context, s Settings) (*Clients, error) { return NewClients(s, nil) }

// ClientsOpts adjust NewClients. A nil *ClientsOpts means the defaults.
type ClientsOpts struct {
	// Logger receives a debug line per call and the breakers' changes of state; nil means
	// slog.Default() at the moment of logging.
	Logger *slog.Logger
	// TLS, when set, is the shared transport's TLS configuration: a private certificate
	// authority (RootCAs) or a client certificate for mutual TLS. Nil means the system's
	// roots. HTTPS hosts that offer HTTP/2 get it either way, so concurrent calls to one
	// provider share a few connections (a streamed answer then holds a stream, not a
	// connection with its goroutines and buffers).
	TLS *tls.Config
}

// Clients is the registry of outbound clients: the shared transport, the circuit breaker and
// the counts of every host called, and the clients built with New. It is safe for concurrent
// use.
type Clients struct {
	s         Settings
	logger    *slog.Logger
	transport *http.Transport
	// send makes one attempt: the transport's RoundTrip; the overhead benchmark swaps in a
	// stub to time the client's own work alone.
	send func(*http.Request) (*http.Response, error)

	mu      sync.Mutex
	clients []*Client
	hosts   sync.Map // host name -> *host
}

// NewClients returns the registry of clients for settings s (zero fields mean the defaults).
func NewClients(s Settings, opts *ClientsOpts) (*Clients, error) {
	s = s.WithDefaults()
	if err := s.Validate(); err != nil {
		return nil, fmt.Errorf("httpclient: %w", err)
	}
	c := &Clients{s: s}
	var tc *tls.Config
	if opts != nil {
		c.logger, tc = opts.Logger, opts.TLS
	}
	c.transport = newTransport(s, tc)
	c.send = c.transport.RoundTrip
	return c, nil
}

// newTransport is the one pool every client shares: the standard transport's dialing, proxy,
// TLS and HTTP/2 behaviour, bounded per host, with HTTP_CLIENT_BUFFER_BYTES buffers per
// connection; tc (nil: the system's roots) is its TLS configuration.
func newTransport(s Settings, tc *tls.Config) *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DialContext = (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	t.MaxConnsPerHost = s.MaxConnsPerHost
	t.MaxIdleConnsPerHost = s.MaxIdleConnsPerHost
	t.MaxIdleConns = max(t.MaxIdleConns, 4*s.MaxIdleConnsPerHost)
	t.ReadBufferSize, t.WriteBufferSize = s.BufferBytes, s.BufferBytes
	if tc != nil {
		t.TLSClientConfig = tc.Clone()
	}
	return t
}

func (c *Clients) log() *slog.Logger {
	if c.logger != nil {
		return c.logger
	}
	return slog.Default()
}

// Settings returns the settings the clients were built with, defaults filled in.
func (c *Clients) Settings() Settings { return c.s }

// host returns the shared state of a host, created on first use.
func (c *Clients) host(name string) *host {
	if h, ok := c.hosts.Load(name); ok {
		return h.(*host)
	}
	h, _ := c.hosts.LoadOrStore(name, newHost(name, c.s.BreakerFailures, c.s.BreakerCooldown, c.log))
	return h.(*host)
}

// New returns a client for one integration. name identifies it in logs, errors and the
// dashboard, and must be unique among the clients: a second New with the same name fails.
func (c *Clients) New(name string, o Options) (*Client, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return nil, errors.New("httpclient: new client: empty name")
	}
	cl, err := newClient(c, name, o)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if slices.ContainsFunc(c.clients, func(x *Client) bool { return x.name == name }) {
		return nil, fmt.Errorf("httpclient: new client: %q exists already; give each integration its own name", name)
	}
	c.clients = append(c.clients, cl)
	return cl, nil
}

// Clients returns the clients built with New, in the order they were.
func (c *Clients) Clients() []*Client {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.clients)
}

// Hosts returns what is known of every host called so far, sorted by name.
func (c *Clients) Hosts() []HostStats {
	var out []HostStats
	c.hosts.Range(func(_, v any) bool {
		out = append(out, v.(*host).stats())
		return true
	})
	slices.SortFunc(out, func(a, b HostStats) int { return strings.Compare(a.Host, b.Host) })
	return out
}

// CheckHealth reports degraded while a host's circuit breaker is not closed, naming the hosts,
// and the counts of every host in its details. An outage of a third party degrades the app
// without making it unready: the rest of it still works.
func (c *Clients) CheckHealth(context.Context) registry.Health {
	hosts := c.Hosts()
	details := map[string]any{}
	var open []string
	for _, h := range hosts {
		d := map[string]any{"breaker": h.Breaker, "calls": h.Calls, "failures": h.Failures, "retries": h.Retries}
		if h.LastError != "" {
			d["last_error"] = h.LastError
		}
		details[h.Host] = d
		switch h.Breaker {
		case BreakerOpen:
			open = append(open, fmt.Sprintf("%s (probe in %s)", h.Host, h.Reopen.Round(time.Second)))
		case BreakerHalfOpen:
			open = append(open, h.Host+" (probing)")
		}
	}
	out := registry.Health{Status: registry.StatusHealthy, Details: map[string]any{"hosts": details}}
	switch {
	case len(open) > 0:
		out.Status = registry.StatusDegraded
		out.Message = "circuit breaker open for " + strings.Join(open, ", ")
	case len(hosts) == 0:
		out.Message = "no calls yet"
	default:
		noun := "hosts"
		if len(hosts) == 1 {
			noun = "host"
		}
		out.Message = fmt.Sprintf("%d %s, every circuit breaker closed", len(hosts), noun)
	}
	return out
}

// Stop closes the pool's idle connections; calls still running finish on theirs.
func (c *Clients) Stop(context.Context) error {
	c.transport.CloseIdleConnections()
	return nil
}

var (
	_ registry.HealthChecker = (*Clients)(nil)
	_ registry.Stopper       = (*Clients)(nil)
)
