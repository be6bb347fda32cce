package onboarding

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	"github.com/danielgtaylor/huma/v2"

	"github.com/aegisgo/aegis/template/internal/components/backend"
	"github.com/aegisgo/aegis/template/internal/runtime/ratelimit"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
	"github.com/aegisgo/aegis/template/internal/services/auth"
	"github.com/aegisgo/aegis/template/internal/services/comms"
)

// UsersPath is where admins create onboarded accounts. It is not auth's POST /api/v1/users
// (auth has none, and may add one): this route exists only with the four owners.
const UsersPath = "/api/v1/onboarding/users"

type createInput struct {
	Body struct {
		Email    string `json:"email" maxLength:"254" doc:"Email address; unique, case-insensitive. The welcome email goes there."`
		Username string `json:"username" maxLength:"32" doc:"3-32 letters, digits, '.', '_' or '-'; unique, case-insensitive."`
		Password string `json:"password" doc:"8-128 characters, not one of the most common passwords."`
		FullName string `json:"full_name,omitempty" maxLength:"100" doc:"Display name; the welcome email greets it."`
		Role     string `json:"role,omitempty" enum:"user,admin" doc:"user (the default) or admin."`
	}
}

// CreatedBody is the answer: the account, and the steps that failed and will be retried.
type CreatedBody struct {
	User      auth.UserBody `json:"user"`
	Pending   []Step        `json:"pending" doc:"Steps that failed and are retried: profile, event, welcome. Empty when all are done."`
	WelcomeID comms.ID      `json:"welcome_id,omitempty" doc:"The welcome email's ID in comms (the Comms panel shows its status)."`
}

type createOutput struct {
	Body CreatedBody
}

// mount registers POST /api/v1/onboarding/users for admins; both services are resolved once.
func mount(r *backend.Router) error {
	svc, err := registry.Get[*Service](r.Container)
	if err != nil {
		return err
	}
	a, err := registry.Get[*auth.AuthService](r.Container)
	if err != nil {
		return err
	}
	huma.Register(r.API, huma.Operation{OperationID: "onboarding-create-user", Method: http.MethodPost, Path: UsersPath,
		Summary:     "Create an account with its welcome email (admin)",
		Description: "Creates the account, caches its profile, tracks user_created and sends the welcome email. Steps after the creation never fail the request: they are listed in pending and retried.",
		Tags:        []string{"users"}, DefaultStatus: http.StatusCreated,
		Security: []map[string][]string{{"bearerAuth": {}}}, Middlewares: huma.Middlewares{a.RequireRole(auth.RoleAdmin)},
		Errors: []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusConflict, http.StatusUnprocessableEntity, http.StatusServiceUnavailable}},
		func(ctx context.Context, in *createInput) (*createOutput, error) {
			res, err := svc.CreateUserWithWelcome(ctx, NewUser{Email: in.Body.Email, Username: in.Body.Username,
				Password: in.Body.Password, FullName: in.Body.FullName, Role: in.Body.Role})
			if err != nil {
				return nil, problem(ctx, r, err)
			}
			pending := res.Pending
			if pending == nil {
				pending = []Step{}
			}
			return &createOutput{Body: CreatedBody{User: userBody(res.User), Pending: pending, WelcomeID: res.WelcomeID}}, nil
		})
	return nil
}

func userBody(u *auth.User) auth.UserBody {
	return auth.UserBody{ID: u.ID, Email: u.Email, Username: u.Username, FullName: u.FullName, Role: u.Role,
		Active: u.Active, CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt}
}

// problem answers auth's errors as auth's own endpoints do; anything else is logged and
// answered with a 500 that names nothing internal.
func problem(ctx context.Context, r *backend.Router, err error) error {
	var (
		ve   *auth.ValidationError
		busy *auth.BusyError
	)
	switch {
	case errors.As(err, &ve):
		return huma.Error422UnprocessableEntity("validation failed: "+ve.Field+" "+ve.Reason,
			&huma.ErrorDetail{Location: "body." + ve.Field, Message: ve.Reason})
	case errors.Is(err, auth.ErrEmailTaken):
		return huma.Error409Conflict("This email is already registered.")
	case errors.Is(err, auth.ErrUsernameTaken):
		return huma.Error409Conflict("This username is already taken.")
	case errors.As(err, &busy):
		secs := ratelimit.Seconds(busy.RetryAfter)
		return huma.ErrorWithHeaders(huma.Error503ServiceUnavailable("Too many password checks are in progress; retry after "+backend.Seconds(secs)+"."),
			http.Header{"Retry-After": {strconv.Itoa(secs)}})
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return huma.Error503ServiceUnavailable("The request was cancelled or timed out.")
	}
	r.Logger.ErrorContext(ctx, "onboarding: request failed", "error", err, "request_id", backend.RequestID(ctx))
	return huma.Error500InternalServerError("The server hit an unexpected error. Quote the X-Request-ID header when reporting it.")
}
