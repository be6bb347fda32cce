package httpclient

import (
	"net/http"
	"strings"
	"testing"

	"github.com/aegisgo/aegis/template/internal/components/frontend/frontendtest"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
	"github.com/aegisgo/aegis/template/internal/runtime/registry/registrytest"
)

// TestPanel renders the dashboard panel with a host whose breaker is open and a healthy one.
func TestPanel(t *testing.T) {
	t.Parallel()
	s := fastSettings()
	s.BreakerFailures = 1
	f := setup(t, s)
	bad := newServer(t, func(_ int, w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) })
	good := newServer(t, func(_ int, w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	c := f.client(t, "vendor", Options{BaseURL: "https://user:pw@api.example.com/v1?key=abc", MaxAttempts: 1})
	for _, u := range []string{bad.URL + "/fail?token=t0ps3cret", good.URL} {
		resp, err := c.Do(mustRequest(t, http.MethodGet, u))
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
	}

	h := frontendtest.Handler(t, nil, func(r *registry.Registry) error { return registry.Value(r, f.cs) })
	body := frontendtest.NewBrowser(t, h).Get("/dashboard/panels/" + PanelName)
	for _, want := range []string{
		"<code>" + bad.host() + "</code>", `<span class="badge badge-unhealthy">open</span>`, "(opened 1×)",
		"GET /fail?token=REDACTED: 503 Service Unavailable",
		"<code>" + good.host() + "</code>", `<span class="badge badge-healthy">closed</span>`,
		"<th scope=\"row\">vendor</th>", "<code>https://api.example.com/v1?key=REDACTED</code>",
		// The breaker counts attempts while the columns count calls: the note says which.
		"opens after 1 consecutive failed attempts", "Retries, the attempts after the first",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("panel lacks %q", want)
		}
	}
	for _, secret := range []string{"t0ps3cret", "pw@", "key=abc"} {
		if strings.Contains(body, secret) {
			t.Errorf("panel shows %q", secret)
		}
	}
	if empty := frontendtest.NewBrowser(t, frontendtest.Handler(t, nil, func(r *registry.Registry) error {
		return registry.Value(r, setup(t, s).cs)
	})).Get("/dashboard/panels/" + PanelName); !strings.Contains(empty, "No outbound calls yet.") {
		t.Error("an empty panel does not say there were no calls")
	}
}

// TestRegister builds the service's registration on a fresh registry with its settings from
// the environment.
func TestRegister(t *testing.T) {
	t.Setenv("HTTP_CLIENT_MAX_ATTEMPTS", "4")
	c := registrytest.Start(t, registry.New(), Register)
	cs, err := registry.Get[*Clients](c)
	if err != nil {
		t.Fatal(err)
	}
	if cs.Settings().MaxAttempts != 4 || cs.Settings().MaxConnsPerHost != MaxConnsPerHostDefault {
		t.Errorf("settings %+v", cs.Settings())
	}
}

func TestSettingsValidate(t *testing.T) {
	t.Parallel()
	bad := Settings{}.WithDefaults()
	bad.MaxAttempts, bad.MaxIdleConnsPerHost, bad.BreakerCooldown = 0, 1000, -1
	err := bad.Validate()
	for _, name := range []string{"HTTP_CLIENT_MAX_ATTEMPTS", "HTTP_CLIENT_MAX_IDLE_CONNS_PER_HOST", "HTTP_CLIENT_BREAKER_COOLDOWN"} {
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("error %v does not name %s", err, name)
		}
	}
	if err := (Settings{}).WithDefaults().Validate(); err != nil {
		t.Errorf("defaults: %v", err)
	}
	if _, err := NewClients(bad, nil); err == nil {
		t.Error("NewClients with bad settings: no error")
	}
}
