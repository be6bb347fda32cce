package auth

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/danielgtaylor/huma/v2"
)

type userKey struct{}

// UserFromContext returns the user RequireRole (or RequireRoleHTTP)
// authenticated for this request.
func UserFromContext(ctx context.Context) (*User, bool) {
	u, ok := ctx.Value(userKey{}).(*User)
	return u, ok && u != nil
}

// ContextWithUser returns ctx carrying u, as the middleware does; for tests
// of handlers that call UserFromContext.
func ContextWithUser(ctx context.Context, u *User) context.Context {
	return context.WithValue(ctx, userKey{}, u)
}

type claimsKey struct{}

// claimsFromContext returns the access token's claims stored by the
// middleware.
func claimsFromContext(ctx context.Context) *Claims {
	c, _ := ctx.Value(claimsKey{}).(*Claims)
	return c
}

// bearerToken extracts the token of an "Authorization: Bearer <token>"
// header; the scheme is case-insensitive.
func bearerToken(header string) (string, bool) {
	scheme, token, ok := strings.Cut(strings.TrimSpace(header), " ")
	if !ok || !strings.EqualFold(scheme, "bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

// authorize authenticates the bearer token in header and checks role; it
// returns the context to continue with, or the HTTP status and message of the
// refusal.
//
// headers is how many Authorization headers the request has: with more than one, which
// counts is up to each reader (huma and net/http take the first, a proxy may take the
// last or join them), so the request is refused rather than authorized by a guess.
func (svc *AuthService) authorize(ctx context.Context, header string, headers int, role string) (context.Context, int, string) {
	if headers > 1 {
		return nil, http.StatusBadRequest, "The request has " + strconv.Itoa(headers) + " Authorization headers; send one: Authorization: Bearer <token>."
	}
	token, ok := bearerToken(header)
	if !ok {
		return nil, http.StatusUnauthorized, "Send an access token: Authorization: Bearer <token>."
	}
	u, claims, err := svc.Authenticate(ctx, token)
	switch {
	case errors.Is(err, ErrInvalidToken):
		return nil, http.StatusUnauthorized, "The access token is invalid or expired; get a new one from POST " + AuthPrefix + "/refresh, or log in again."
	case err != nil:
		svc.logger.ErrorContext(ctx, "auth: authenticate", "error", err)
		return nil, http.StatusServiceUnavailable, "Authentication is unavailable right now; try again."
	case !u.HasRole(role):
		return nil, http.StatusForbidden, "This needs the " + role + " role."
	}
	ctx = context.WithValue(ContextWithUser(ctx, u), claimsKey{}, claims)
	return ctx, 0, ""
}

// RequireRole returns a huma operation middleware that admits requests with
// a valid access token of an active user holding role (admins hold every
// role; "" admits any user) and puts the user in the context for
// UserFromContext. Others get a problem response: 401 without a valid token,
// 403 without the role. Use it in huma.Operation.Middlewares, with the
// AuthService resolved once when the routes are mounted:
//
//	a, err := registry.Get[*auth.AuthService](r.Container)
//	...
//	huma.Register(r.API, huma.Operation{..., Middlewares: huma.Middlewares{a.RequireRole(auth.RoleAdmin)}}, h)
func (svc *AuthService) RequireRole(role string) func(huma.Context, func(huma.Context)) {
	return func(hctx huma.Context, next func(huma.Context)) {
		headers := 0
		hctx.EachHeader(func(name, _ string) {
			if strings.EqualFold(name, "Authorization") {
				headers++
			}
		})
		ctx, status, msg := svc.authorize(hctx.Context(), hctx.Header("Authorization"), headers, role)
		if status != 0 {
			writeProblem(hctx.SetHeader, hctx.SetStatus, hctx.BodyWriter(), hctx.URL().Path, status, msg)
			return
		}
		next(huma.WithContext(hctx, ctx))
	}
}

// RequireUser is RequireRole(""): any authenticated, active user.
func (svc *AuthService) RequireUser() func(huma.Context, func(huma.Context)) {
	return svc.RequireRole("")
}

// RequireRoleHTTP is RequireRole for plain net/http and chi handlers:
// r.Mux.With(a.RequireRoleHTTP(auth.RoleAdmin)).Get(...).
func (svc *AuthService) RequireRoleHTTP(role string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx, status, msg := svc.authorize(r.Context(), r.Header.Get("Authorization"), len(r.Header.Values("Authorization")), role)
			if status != 0 {
				writeProblem(w.Header().Set, w.WriteHeader, w, r.URL.Path, status, msg)
				return
			}
			next.ServeHTTP(w, r.WithContext(ctx))
		})
	}
}

// writeProblem writes an RFC 9457 problem in huma's shape.
func writeProblem(setHeader func(string, string), setStatus func(int), w interface{ Write([]byte) (int, error) }, path string, status int, detail string) {
	body, _ := json.Marshal(&huma.ErrorModel{Title: http.StatusText(status), Status: status, Detail: detail, Instance: path})
	setHeader("Content-Type", "application/problem+json")
	setHeader("Cache-Control", "no-store")
	if status == http.StatusUnauthorized {
		setHeader("WWW-Authenticate", `Bearer realm="api"`)
	}
	setStatus(status)
	_, _ = w.Write(append(body, '\n'))
}
