package auth

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/aegisgo/aegis/template/internal/components/frontend"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
)

// The dashboard signs operators in with the app's accounts when this
// service is part of the app: only admins get in. It lives in this folder
// so it leaves with the service.
func init() {
	frontend.UseAuthenticator(func(c *registry.Container) frontend.Authenticator {
		a, err := registry.Get[*AuthService](c)
		if err != nil || a == nil {
			return nil
		}
		return dashboardAuth{a}
	})
}

// dashboardAuth adapts AuthService to frontend.Authenticator. A session
// token is "<access token>~<refresh token>": the access token (short-lived,
// signed) authenticates, the refresh token lets logout revoke the session.
// Neither contains "~".
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
	return pair.AccessToken + "~" + pair.RefreshToken, pair.ExpiresIn, identity(pair.User), nil
}

func (d dashboardAuth) Session(ctx context.Context, token string) (frontend.Identity, bool, error) {
	access, _, _ := strings.Cut(token, "~")
	u, _, err := d.a.Authenticate(ctx, access)
	if err != nil {
		if errors.Is(err, ErrInvalidToken) {
			return frontend.Identity{}, false, nil
		}
		return frontend.Identity{}, false, err
	}
	return identity(u), true, nil
}

func (d dashboardAuth) Logout(ctx context.Context, token string) error {
	_, refresh, _ := strings.Cut(token, "~")
	return d.a.Logout(ctx, refresh)
}

func identity(u *User) frontend.Identity {
	if u == nil {
		return frontend.Identity{}
	}
	return frontend.Identity{User: u.Email, Admin: u.Role == RoleAdmin}
}
