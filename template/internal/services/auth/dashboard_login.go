package auth

import (
	"context"
	"errors"
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
// token is the login's refresh token alone: opaque, stored only as a hash,
// and revocable. Session reads it without rotating it (SessionUser), because
// the dashboard presents the same cookie on every htmx poll, often
// concurrently, and rotation would trip reuse detection. Checking the
// stored token and the user on each request is what makes logout,
// deactivation and a role change take effect at once, and what lets the
// session outlive the short access token (which the dashboard drops).
type dashboardAuth struct{ a *AuthService }

func (d dashboardAuth) Login(ctx context.Context, login, password, ip string) (string, time.Duration, frontend.Identity, error) {
	pair, err := d.a.Login(ctx, LoginParams{Login: login, Password: password, IP: ip})
	var verr *ValidationError
	if errors.Is(err, ErrInvalidCredentials) || errors.As(err, &verr) {
		return "", 0, frontend.Identity{}, frontend.ErrBadLogin
	}
	var rl *RateLimitError
	if errors.As(err, &rl) {
		return "", 0, frontend.Identity{}, frontend.ErrLoginLimited
	}
	if err != nil {
		return "", 0, frontend.Identity{}, err
	}
	return pair.RefreshToken, d.a.refreshTTL, identity(pair.User), nil
}

func (d dashboardAuth) Session(ctx context.Context, token string) (frontend.Identity, bool, error) {
	u, err := d.a.SessionUser(ctx, token)
	if err != nil {
		if errors.Is(err, ErrInvalidToken) {
			return frontend.Identity{}, false, nil
		}
		return frontend.Identity{}, false, err
	}
	return identity(u), true, nil
}

func (d dashboardAuth) Logout(ctx context.Context, token string) error {
	return d.a.Logout(ctx, token)
}

func identity(u *User) frontend.Identity {
	if u == nil {
		return frontend.Identity{}
	}
	return frontend.Identity{User: u.Email, Admin: u.Role == RoleAdmin}
}
