package auth

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/aegisgo/aegis/template/internal/components/frontend"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
)

// The dashboard signs operators in with the app's accounts when this
// service is part of the app: only admins get in. It lives in this folder
// so it leaves with the service.
func init() {
	registry.Contribute(registry.Default, Name, frontend.AuthenticatorFunc(func(c *registry.Container) frontend.Authenticator {
		a, err := registry.Get[*AuthService](c)
		if err != nil || a == nil {
			return nil
		}
		return dashboardAuth{a}
	}))
}

// dashboardAuth adapts AuthService to frontend.Authenticator. The session
// token is a dashboard session's (DashboardLogin), not an API refresh token:
// opaque, stored only as a hash, revocable, ending after
// AUTH_DASHBOARD_IDLE_TIMEOUT without activity and AUTH_DASHBOARD_SESSION_TTL
// after sign-in. Session reads it without rotating it, because the
// dashboard presents the same cookie on every htmx poll, often
// concurrently. Checking the stored session and the user on each request is
// what makes logout, deactivation and a role change take effect at once.
type dashboardAuth struct{ a *AuthService }

func (d dashboardAuth) Login(ctx context.Context, login, password, ip string) (string, time.Duration, frontend.Identity, error) {
	token, u, err := d.a.DashboardLogin(ctx, LoginParams{Login: login, Password: password, IP: ip})
	var verr *ValidationError
	if errors.Is(err, ErrInvalidCredentials) || errors.As(err, &verr) {
		return "", 0, frontend.Identity{}, frontend.ErrBadLogin
	}
	var rl *RateLimitError
	if errors.As(err, &rl) {
		return "", 0, frontend.Identity{}, &frontend.RetryAfterError{Err: frontend.ErrLoginLimited, After: rl.RetryAfter}
	}
	var busy *BusyError
	if errors.As(err, &busy) {
		return "", 0, frontend.Identity{}, &frontend.RetryAfterError{Err: frontend.ErrLoginBusy, After: busy.RetryAfter}
	}
	if err != nil {
		return "", 0, frontend.Identity{}, err
	}
	return token, d.a.dashTTL, identity(u), nil
}

func (d dashboardAuth) Session(ctx context.Context, token string, activity bool) (frontend.Identity, bool, error) {
	u, err := d.a.DashboardSessionUser(ctx, token, activity)
	if err != nil {
		if errors.Is(err, ErrInvalidToken) {
			return frontend.Identity{}, false, nil
		}
		return frontend.Identity{}, false, err
	}
	return identity(u), true, nil
}

func (d dashboardAuth) Logout(ctx context.Context, token string) error {
	return d.a.DashboardLogout(ctx, token)
}

func identity(u *User) frontend.Identity {
	if u == nil {
		return frontend.Identity{}
	}
	return frontend.Identity{ID: strconv.FormatInt(u.ID, 10), User: u.Email, Admin: u.Role == RoleAdmin}
}
