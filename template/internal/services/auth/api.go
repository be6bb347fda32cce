package auth

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/aegisgo/aegis/template/internal/components/backend"
	"github.com/aegisgo/aegis/template/internal/runtime/ratelimit"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
)

// API paths.
const (
	AuthPrefix  = "/api/v1/auth"
	UsersPrefix = "/api/v1/users"
)

// securityScheme is the name of the bearer scheme in /openapi.json.
const securityScheme = "bearerAuth"

// UserBody is a user as the API shows it (never the password hash).
type UserBody struct {
	ID        int64     `json:"id"`
	Email     string    `json:"email" format:"email"`
	Username  string    `json:"username"`
	FullName  string    `json:"full_name"`
	Role      string    `json:"role" enum:"user,admin"`
	Active    bool      `json:"active"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	// EmailVerifiedAt is absent while the email is not confirmed.
	EmailVerifiedAt *time.Time `json:"email_verified_at,omitempty" doc:"When the email address was confirmed; absent while it is not."`
}

func userBody(u *User) UserBody {
	return UserBody{ID: u.ID, Email: u.Email, Username: u.Username, FullName: u.FullName, Role: u.Role,
		Active: u.Active, CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt, EmailVerifiedAt: u.EmailVerifiedAt}
}

type userOutput struct {
	Body UserBody
}

// TokenBody is the answer to login and refresh.
type TokenBody struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	TokenType    string `json:"token_type" enum:"bearer"`
	ExpiresIn    int    `json:"expires_in" doc:"Seconds until the access token expires."`
}

type tokenOutput struct {
	CacheControl string `header:"Cache-Control"`
	Body         TokenBody
}

func tokens(p *TokenPair) *tokenOutput {
	return &tokenOutput{CacheControl: "no-store", Body: TokenBody{AccessToken: p.AccessToken, RefreshToken: p.RefreshToken,
		TokenType: p.TokenType, ExpiresIn: int(p.ExpiresIn / time.Second)}}
}

type registerInput struct {
	Body struct {
		Email    string `json:"email" maxLength:"254" doc:"Email address; unique, case-insensitive."`
		Username string `json:"username" maxLength:"32" doc:"3-32 ASCII letters (a-z, A-Z), digits, '.', '_' or '-', starting with a letter or digit; unique, case-insensitive."`
		Password string `json:"password" doc:"8-128 characters, not one of the most common passwords."`
		FullName string `json:"full_name,omitempty" maxLength:"100" doc:"Display name."`
	}
	ip string
}

// Resolve records the client's address for rate limiting.
func (in *registerInput) Resolve(ctx huma.Context) []error {
	in.ip = backend.ClientIP(ctx.RemoteAddr())
	return nil
}

type loginInput struct {
	Body struct {
		Login    string `json:"login,omitempty" maxLength:"254" doc:"Email or username (or send email or username instead)."`
		Email    string `json:"email,omitempty" maxLength:"254"`
		Username string `json:"username,omitempty" maxLength:"254"`
		Password string `json:"password" doc:"The account's password."`
	}
	ip string
}

// Resolve records the client's address for rate limiting.
func (in *loginInput) Resolve(ctx huma.Context) []error {
	in.ip = backend.ClientIP(ctx.RemoteAddr())
	return nil
}

func (in *loginInput) login() string {
	switch {
	case in.Body.Login != "":
		return in.Body.Login
	case in.Body.Email != "":
		return in.Body.Email
	default:
		return in.Body.Username
	}
}

type refreshInput struct {
	Body struct {
		RefreshToken string `json:"refresh_token" maxLength:"4096"`
	}
}

// logoutInput takes the refresh token in the body, or, without one, the
// access token in the Authorization header: a client that keeps only the
// access token at hand can still end its session.
type logoutInput struct {
	Body *struct {
		RefreshToken string `json:"refresh_token,omitempty" maxLength:"4096" doc:"The session's refresh token; without it, the session of the access token in Authorization: Bearer is revoked."`
	}
	authorization string
}

func (in *logoutInput) Resolve(ctx huma.Context) []error {
	in.authorization = ctx.Header("Authorization")
	return nil
}

type profileInput struct {
	Body struct {
		Email           *string `json:"email,omitempty" maxLength:"254" doc:"A new email address; needs current_password."`
		Username        *string `json:"username,omitempty" maxLength:"32"`
		FullName        *string `json:"full_name,omitempty" maxLength:"100"`
		CurrentPassword string  `json:"current_password,omitempty" doc:"The account's password; required to change the email."`
	}
	ip string
}

// Resolve records the client's address for rate limiting.
func (in *profileInput) Resolve(ctx huma.Context) []error {
	in.ip = backend.ClientIP(ctx.RemoteAddr())
	return nil
}

type changePasswordInput struct {
	Body struct {
		CurrentPassword string `json:"current_password"`
		NewPassword     string `json:"new_password"`
	}
	ip string
}

// Resolve records the client's address for rate limiting.
func (in *changePasswordInput) Resolve(ctx huma.Context) []error {
	in.ip = backend.ClientIP(ctx.RemoteAddr())
	return nil
}

type listUsersInput struct {
	Page    int    `query:"page" minimum:"1" maximum:"1000000" default:"1" doc:"Page number, from 1 to 1000000 (backend.MaxPage)."`
	PerPage int    `query:"per_page" minimum:"1" maximum:"100" default:"20" doc:"Users per page."`
	Q       string `query:"q" maxLength:"100" doc:"Substring of email, username or full name; case-insensitive. A query of 1 or 2 characters matches the start of the email or username."`
	Active  string `query:"active" enum:"true,false" doc:"Only active (true) or deactivated (false) users."`
	Role    string `query:"role" enum:"user,admin" doc:"Only users with this role."`
}

// UserPage is one page of the user list. Total is exact unless TotalCapped:
// counting stops 10,000 matches past the page's offset (a count of a million
// rows per page view costs more than the page), and then more than Total
// users match.
type UserPage struct {
	Items       []UserBody `json:"items"`
	Total       int        `json:"total" doc:"Users matching; a lower bound when total_capped is true."`
	TotalCapped bool       `json:"total_capped" doc:"True when counting stopped at total (10,000 past this page's start): more users match."`
	Page        int        `json:"page"`
	PerPage     int        `json:"per_page"`
}

type userPageOutput struct {
	Body UserPage
}

type userIDInput struct {
	ID int64 `path:"id" minimum:"1"`
}

type updateUserInput struct {
	ID   int64 `path:"id" minimum:"1"`
	Body struct {
		Email    *string `json:"email,omitempty" maxLength:"254"`
		Username *string `json:"username,omitempty" maxLength:"32"`
		FullName *string `json:"full_name,omitempty" maxLength:"100"`
		Role     *string `json:"role,omitempty" enum:"user,admin"`
		Active   *bool   `json:"active,omitempty"`
	}
}

// handlers are thin: decode, call a service, map errors.
type handlers struct {
	auth   *AuthService
	users  *UserService
	logger *slog.Logger
}

// mount registers every auth and user endpoint on r.
func mount(r *backend.Router) error {
	a, err := registry.Get[*AuthService](r.Container)
	if err != nil {
		return err
	}
	h := &handlers{auth: a, users: a.users, logger: r.Logger}
	oapi := r.API.OpenAPI()
	if oapi.Components.SecuritySchemes == nil {
		oapi.Components.SecuritySchemes = map[string]*huma.SecurityScheme{}
	}
	oapi.Components.SecuritySchemes[securityScheme] = &huma.SecurityScheme{
		Type: "http", Scheme: "bearer", BearerFormat: "JWT",
		Description: "Access token from POST " + AuthPrefix + "/login.",
	}
	secured := []map[string][]string{{securityScheme: {}}}
	user := huma.Middlewares{a.RequireUser()}
	admin := huma.Middlewares{a.RequireRole(RoleAdmin)}
	tags := []string{"auth"}
	adminTags := []string{"users"}

	huma.Register(r.API, huma.Operation{OperationID: "auth-register", Method: http.MethodPost, Path: AuthPrefix + "/register",
		Summary: "Create an account", DefaultStatus: http.StatusCreated, Tags: tags,
		Errors: []int{http.StatusConflict, http.StatusUnprocessableEntity, http.StatusTooManyRequests, http.StatusServiceUnavailable}}, h.register)
	huma.Register(r.API, huma.Operation{OperationID: "auth-login", Method: http.MethodPost, Path: AuthPrefix + "/login",
		Summary: "Log in with email or username and password", Tags: tags,
		Errors: []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusUnprocessableEntity, http.StatusTooManyRequests, http.StatusServiceUnavailable}}, h.login)
	huma.Register(r.API, huma.Operation{OperationID: "auth-refresh", Method: http.MethodPost, Path: AuthPrefix + "/refresh",
		Summary: "Exchange a refresh token for new tokens (each refresh token works once)", Tags: tags,
		Errors: []int{http.StatusUnauthorized}}, h.refresh)
	huma.Register(r.API, huma.Operation{OperationID: "auth-logout", Method: http.MethodPost, Path: AuthPrefix + "/logout",
		Summary: "Revoke a refresh token and its session (or the session of the access token in Authorization: Bearer)", DefaultStatus: http.StatusNoContent, Tags: tags,
		Errors: []int{http.StatusUnauthorized, http.StatusUnprocessableEntity}}, h.logout)
	huma.Register(r.API, huma.Operation{OperationID: "auth-me", Method: http.MethodGet, Path: AuthPrefix + "/me",
		Summary: "The signed-in user", Tags: tags, Security: secured, Middlewares: user,
		Errors: []int{http.StatusUnauthorized}}, h.me)
	huma.Register(r.API, huma.Operation{OperationID: "auth-update-me", Method: http.MethodPatch, Path: AuthPrefix + "/me",
		Summary: "Update the signed-in user's profile (a new email needs current_password)", Tags: tags, Security: secured, Middlewares: user,
		Errors: []int{http.StatusUnauthorized, http.StatusConflict, http.StatusUnprocessableEntity, http.StatusTooManyRequests, http.StatusServiceUnavailable}}, h.updateMe)
	huma.Register(r.API, huma.Operation{OperationID: "auth-change-password", Method: http.MethodPost, Path: AuthPrefix + "/change-password",
		Summary: "Change the password; other sessions are signed out", DefaultStatus: http.StatusNoContent, Tags: tags,
		Security: secured, Middlewares: user, Errors: []int{http.StatusUnauthorized, http.StatusUnprocessableEntity, http.StatusTooManyRequests, http.StatusServiceUnavailable}}, h.changePassword)

	adminErrs := []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound}
	huma.Register(r.API, huma.Operation{OperationID: "users-list", Method: http.MethodGet, Path: UsersPrefix,
		Summary: "List users (admin)", Tags: adminTags, Security: secured, Middlewares: admin,
		Errors: []int{http.StatusUnauthorized, http.StatusForbidden}}, h.listUsers)
	huma.Register(r.API, huma.Operation{OperationID: "users-get", Method: http.MethodGet, Path: UsersPrefix + "/{id}",
		Summary: "Get a user (admin)", Tags: adminTags, Security: secured, Middlewares: admin, Errors: adminErrs}, h.getUser)
	huma.Register(r.API, huma.Operation{OperationID: "users-update", Method: http.MethodPatch, Path: UsersPrefix + "/{id}",
		Summary: "Update a user (admin)", Tags: adminTags, Security: secured, Middlewares: admin,
		Errors: append(adminErrs, http.StatusConflict, http.StatusUnprocessableEntity)}, h.updateUser)
	huma.Register(r.API, huma.Operation{OperationID: "users-deactivate", Method: http.MethodPost, Path: UsersPrefix + "/{id}/deactivate",
		Summary: "Deactivate a user and revoke their sessions (admin)", Tags: adminTags, Security: secured, Middlewares: admin,
		Errors: append(adminErrs, http.StatusConflict)}, h.deactivateUser)
	huma.Register(r.API, huma.Operation{OperationID: "users-delete", Method: http.MethodDelete, Path: UsersPrefix + "/{id}",
		Summary: "Delete a user (admin)", DefaultStatus: http.StatusNoContent, Tags: adminTags, Security: secured, Middlewares: admin,
		Errors: append(adminErrs, http.StatusConflict)}, h.deleteUser)
	return nil
}

func (h *handlers) register(ctx context.Context, in *registerInput) (*userOutput, error) {
	u, err := h.auth.Register(ctx, RegisterParams{Email: in.Body.Email, Username: in.Body.Username, Password: in.Body.Password, FullName: in.Body.FullName, IP: in.ip})
	if err != nil {
		return nil, h.problem(ctx, err)
	}
	return &userOutput{Body: userBody(u)}, nil
}

func (h *handlers) login(ctx context.Context, in *loginInput) (*tokenOutput, error) {
	pair, err := h.auth.Login(ctx, LoginParams{Login: in.login(), Password: in.Body.Password, IP: in.ip})
	if err != nil {
		return nil, h.problem(ctx, err)
	}
	return tokens(pair), nil
}

func (h *handlers) refresh(ctx context.Context, in *refreshInput) (*tokenOutput, error) {
	pair, err := h.auth.Refresh(ctx, in.Body.RefreshToken)
	if err != nil {
		return nil, h.problem(ctx, err)
	}
	return tokens(pair), nil
}

func (h *handlers) logout(ctx context.Context, in *logoutInput) (*struct{}, error) {
	if in.Body != nil && in.Body.RefreshToken != "" {
		if err := h.auth.Logout(ctx, in.Body.RefreshToken); err != nil {
			return nil, h.problem(ctx, err)
		}
		return nil, nil
	}
	token, ok := bearerToken(in.authorization)
	if !ok {
		msg := "is required without an access token in Authorization: Bearer <token>"
		return nil, huma.Error422UnprocessableEntity(`validation failed: send {"refresh_token": "<refresh token>"}, or the access token as Authorization: Bearer <token>`,
			&huma.ErrorDetail{Location: "body.refresh_token", Message: msg})
	}
	_, claims, err := h.auth.Authenticate(ctx, token)
	switch {
	case errors.Is(err, ErrInvalidToken):
		// An expired access token may belong to a live session: saying 204 would
		// leave its refresh token working while the client believes it logged out.
		return nil, huma.Error401Unauthorized(`The access token is invalid or expired; to end its session send {"refresh_token": "<refresh token>"}.`)
	case err != nil:
		return nil, h.problem(ctx, err)
	case claims.SessionID == "":
		return nil, huma.Error422UnprocessableEntity(`validation failed: this access token has no session to end; send {"refresh_token": "<refresh token>"}`,
			&huma.ErrorDetail{Location: "body.refresh_token", Message: "is required for an access token without a session"})
	}
	if err := h.auth.LogoutSession(ctx, claims.SessionID); err != nil {
		return nil, h.problem(ctx, err)
	}
	return nil, nil
}

func (h *handlers) me(ctx context.Context, _ *struct{}) (*userOutput, error) {
	u, ok := UserFromContext(ctx)
	if !ok {
		return nil, h.problem(ctx, ErrUnauthenticated)
	}
	return &userOutput{Body: userBody(u)}, nil
}

func (h *handlers) updateMe(ctx context.Context, in *profileInput) (*userOutput, error) {
	u, ok := UserFromContext(ctx)
	if !ok {
		return nil, h.problem(ctx, ErrUnauthenticated)
	}
	u, err := h.auth.UpdateProfile(ctx, u.ID, UpdateProfileParams{Email: in.Body.Email, Username: in.Body.Username, FullName: in.Body.FullName,
		CurrentPassword: in.Body.CurrentPassword, IP: in.ip})
	if err != nil {
		return nil, h.problem(ctx, err)
	}
	return &userOutput{Body: userBody(u)}, nil
}

func (h *handlers) changePassword(ctx context.Context, in *changePasswordInput) (*struct{}, error) {
	u, ok := UserFromContext(ctx)
	if !ok {
		return nil, h.problem(ctx, ErrUnauthenticated)
	}
	var sid string
	if c := claimsFromContext(ctx); c != nil {
		sid = c.SessionID
	}
	if err := h.auth.ChangePasswordWith(ctx, ChangePasswordParams{UserID: u.ID, KeepSession: sid,
		Current: in.Body.CurrentPassword, New: in.Body.NewPassword, IP: in.ip}); err != nil {
		return nil, h.problem(ctx, err)
	}
	return nil, nil
}

func (h *handlers) listUsers(ctx context.Context, in *listUsersInput) (*userPageOutput, error) {
	p := ListUsersParams{Query: in.Q, Role: in.Role, Page: in.Page, PerPage: in.PerPage}
	if in.Active != "" {
		active := in.Active == "true"
		p.Active = &active
	}
	res, err := h.users.List(ctx, p)
	if err != nil {
		return nil, h.problem(ctx, err)
	}
	out := &userPageOutput{Body: UserPage{Items: make([]UserBody, 0, len(res.Users)), Total: res.Total, TotalCapped: res.TotalCapped, Page: res.Page, PerPage: res.PerPage}}
	for _, u := range res.Users {
		out.Body.Items = append(out.Body.Items, userBody(u))
	}
	return out, nil
}

func (h *handlers) getUser(ctx context.Context, in *userIDInput) (*userOutput, error) {
	u, err := h.users.Get(ctx, in.ID)
	if err != nil {
		return nil, h.problem(ctx, err)
	}
	return &userOutput{Body: userBody(u)}, nil
}

// actor is the ID of the signed-in caller, for the admin rules of
// UserService (0 when nobody is signed in, which the middleware prevents).
func actor(ctx context.Context) int64 {
	if me, ok := UserFromContext(ctx); ok {
		return me.ID
	}
	return 0
}

func (h *handlers) updateUser(ctx context.Context, in *updateUserInput) (*userOutput, error) {
	b := in.Body
	u, err := h.auth.UpdateUser(ctx, in.ID, UpdateUserParams{Email: b.Email, Username: b.Username, FullName: b.FullName, Role: b.Role, Active: b.Active,
		Actor: actor(ctx)})
	if err != nil {
		return nil, h.problem(ctx, err)
	}
	return &userOutput{Body: userBody(u)}, nil
}

func (h *handlers) deactivateUser(ctx context.Context, in *userIDInput) (*userOutput, error) {
	f := false
	u, err := h.users.Update(ctx, in.ID, UpdateUserParams{Active: &f, Actor: actor(ctx)})
	if err != nil {
		return nil, h.problem(ctx, err)
	}
	return &userOutput{Body: userBody(u)}, nil
}

func (h *handlers) deleteUser(ctx context.Context, in *userIDInput) (*struct{}, error) {
	if err := h.users.DeleteBy(ctx, actor(ctx), in.ID); err != nil {
		return nil, h.problem(ctx, err)
	}
	return nil, nil
}

// problem maps a service error to an RFC 9457 problem. Unexpected errors
// are logged and answered with a 500 that names nothing internal.
func (h *handlers) problem(ctx context.Context, err error) error {
	var (
		ve     *ValidationError
		rl     *RateLimitError
		busy   *BusyError
		denied *LoginDeniedError
	)
	unauthorized := func(msg string) error {
		return huma.ErrorWithHeaders(huma.Error401Unauthorized(msg), http.Header{"WWW-Authenticate": {`Bearer realm="api"`}})
	}
	switch {
	case errors.As(err, &ve):
		all := invalidFields(err)
		details := make([]error, len(all))
		for i, v := range all {
			loc := "body." + v.Field
			if v.Field == "q" { // the users search is the one field in the query string
				loc = "query.q"
			}
			details[i] = &huma.ErrorDetail{Location: loc, Message: v.Reason}
		}
		return huma.Error422UnprocessableEntity("validation failed: "+strings.TrimPrefix(ValidationErrors(all).Error(), "auth: "), details...)
	case errors.As(err, &rl):
		secs := ratelimit.Seconds(rl.RetryAfter)
		msg := "Too many password attempts; retry after " + backend.Seconds(secs) + "."
		if rl.Registration {
			msg = "Too many registrations from this address; retry after " + backend.Seconds(secs) + "."
		}
		return huma.ErrorWithHeaders(huma.NewError(http.StatusTooManyRequests, msg), http.Header{"Retry-After": {strconv.Itoa(secs)}})
	case errors.As(err, &busy):
		secs := ratelimit.Seconds(busy.RetryAfter)
		return huma.ErrorWithHeaders(huma.Error503ServiceUnavailable("Too many password checks are in progress; retry after "+backend.Seconds(secs)+"."),
			http.Header{"Retry-After": {strconv.Itoa(secs)}})
	case errors.As(err, &denied):
		return huma.Error403Forbidden(denied.Detail)
	case errors.Is(err, ErrEmailTaken):
		return huma.Error409Conflict("This email is already registered.")
	case errors.Is(err, ErrUsernameTaken):
		return huma.Error409Conflict("This username is already taken.")
	case errors.Is(err, ErrSelf):
		return huma.Error409Conflict("You cannot deactivate, demote or delete your own account.")
	case errors.Is(err, ErrLastAdmin):
		return huma.Error409Conflict("This is the last active admin: make another account an admin first.")
	case errors.Is(err, ErrInvalidCredentials):
		return unauthorized("Invalid login or password.")
	case errors.Is(err, ErrTokenReused):
		return unauthorized("This refresh token was already used; the session has been revoked. Log in again.")
	case errors.Is(err, ErrInvalidToken):
		return unauthorized("The token is invalid, expired or revoked; log in again (POST " + AuthPrefix + "/login).")
	case errors.Is(err, ErrUnauthenticated):
		return unauthorized("Authentication required.")
	case errors.Is(err, ErrNotFound):
		return huma.Error404NotFound("No such user.")
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return huma.Error503ServiceUnavailable("The request was cancelled or timed out.")
	default:
		h.logger.ErrorContext(ctx, "auth: request failed", "error", err, "request_id", backend.RequestID(ctx))
		return huma.Error500InternalServerError("The server hit an unexpected error. Quote the X-Request-ID header when reporting it.")
	}
}
