package frontend

import (
	"fmt"
	"log/slog"
	"net/http"

	"github.com/aegisgo/aegis/template/internal/runtime/registry"
)

// healthAccess is the dashboard's backend.HealthAccess: in production, an
// operator who can use the dashboard also sees the details of
// /health/detailed and /health/services, without HEALTH_DETAILS_TOKEN. The
// backend resolves it once, when it builds its handler, on the started
// container; the check it returns works on the Dashboard built there, so it
// shares the dashboard's credentials, failed sign-in limits and session
// memo.
func healthAccess(c *registry.Container) (func(*http.Request) bool, error) {
	d, err := registry.Get[*Dashboard](c)
	if err != nil {
		return nil, fmt.Errorf("frontend: health access: %w", err)
	}
	// slog.Default is the app's logger once the commands have set it up.
	return d.healthAccess(d.authenticatorIn(c), slog.Default()), nil
}

// healthAccess returns the check that admits a request carrying
//   - the dashboard's basic-auth credentials, DASHBOARD_USERNAME and
//     DASHBOARD_PASSWORD, when both are set: compared in constant time, a
//     failure counted by the limits of the dashboard's own basic auth and
//     logged like one there, and nothing admitted while the client's address
//     or the name typed is limited (so the health endpoints are no way around
//     the throttle);
//   - a session cookie of a as the dashboard's login sets it, of an admin,
//     when the app has an Authenticator (a nil a: none). The session is
//     looked up with activity false (reading the health is no sign the
//     operator is at work, like the dashboard's polling), and while the
//     Authenticator fails, a session it confirmed lately counts, as on the
//     dashboard.
//
// Both are accepted when both are configured: with an Authenticator the
// credentials remain the dashboard's fallback while the Authenticator cannot
// be found. It returns nil when there is nothing to admit with.
func (d *Dashboard) healthAccess(a Authenticator, logger *slog.Logger) func(*http.Request) bool {
	s := d.opts.Settings
	basic := s.Username != "" && s.Password != ""
	if !basic && a == nil {
		return nil
	}
	return func(req *http.Request) bool {
		if basic {
			if user, pass, ok := req.BasicAuth(); ok {
				if ok, _ := d.checkBasic(req, logger, user, pass); ok {
					return true
				}
			}
		}
		if a == nil {
			return false
		}
		token := sessionOf(req)
		if token == "" {
			return false
		}
		id, ok, err := d.checkSession(req.Context(), a, token, false)
		return err == nil && ok && id.Admin
	}
}
