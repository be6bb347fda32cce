package authcomms

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
	"github.com/aegisgo/aegis/template/internal/services/auth"
)

// API paths.
const (
	VerifyPath = auth.AuthPrefix + "/email/verify"
	ResendPath = auth.AuthPrefix + "/email/verify/resend"
	ForgotPath = auth.AuthPrefix + "/password/forgot"
	ResetPath  = auth.AuthPrefix + "/password/reset"
)

// AcceptedMessage is the body of every 202: the same whether or not an account has the
// address.
const AcceptedMessage = "If an account uses this address and may get this email, it is on its way."

// AcceptedBody answers a request for an email.
type AcceptedBody struct {
	Message string `json:"message"`
}

type acceptedOutput struct {
	CacheControl string `header:"Cache-Control"`
	Body         AcceptedBody
}

func accepted() *acceptedOutput {
	return &acceptedOutput{CacheControl: "no-store", Body: AcceptedBody{Message: AcceptedMessage}}
}

type tokenInput struct {
	Body struct {
		Token string `json:"token" maxLength:"256" doc:"The token of the link the email carried (its token query parameter)."`
	}
	ip string
}

// Resolve records the client's address for rate limiting.
func (in *tokenInput) Resolve(ctx huma.Context) []error {
	in.ip = backend.ClientIP(ctx.RemoteAddr())
	return nil
}

// VerifiedBody answers a verification.
type VerifiedBody struct {
	Email           string    `json:"email" format:"email"`
	EmailVerifiedAt time.Time `json:"email_verified_at"`
}

type verifiedOutput struct {
	Body VerifiedBody
}

type emailInput struct {
	Body struct {
		Email string `json:"email" maxLength:"254" doc:"The account's email address."`
	}
	ip string
}

// Resolve records the client's address for rate limiting.
func (in *emailInput) Resolve(ctx huma.Context) []error {
	in.ip = backend.ClientIP(ctx.RemoteAddr())
	return nil
}

type resendInput struct {
	Authorization string `header:"Authorization" doc:"Bearer access token: sends the link to the signed-in user's address (then no body is needed)."`
	Body          *struct {
		Email string `json:"email,omitempty" maxLength:"254" doc:"Without an access token: the address to send a new link to."`
	}
	ip string
}

// Resolve records the client's address for rate limiting.
func (in *resendInput) Resolve(ctx huma.Context) []error {
	in.ip = backend.ClientIP(ctx.RemoteAddr())
	return nil
}

type resetInput struct {
	Body struct {
		Token       string `json:"token" maxLength:"256" doc:"The token of the link the reset email carried."`
		NewPassword string `json:"new_password" doc:"8-128 characters, not one of the most common passwords."`
	}
	ip string
}

// Resolve records the client's address for rate limiting.
func (in *resetInput) Resolve(ctx huma.Context) []error {
	in.ip = backend.ClientIP(ctx.RemoteAddr())
	return nil
}

type handlers struct {
	svc    *Service
	auth   *auth.AuthService
	logger *slog.Logger
}

// mount registers the endpoints; the services are resolved once, here.
func mount(r *backend.Router) error {
	svc, err := registry.Get[*Service](r.Container)
	if err != nil {
		return err
	}
	a, err := registry.Get[*auth.AuthService](r.Container)
	if err != nil {
		return err
	}
	h := &handlers{svc: svc, auth: a, logger: r.Logger}
	tags := []string{"auth"}
	limited := []int{http.StatusUnprocessableEntity, http.StatusTooManyRequests, http.StatusServiceUnavailable}

	huma.Register(r.API, huma.Operation{OperationID: "auth-email-verify", Method: http.MethodPost, Path: VerifyPath,
		Summary:     "Confirm the email address with the token of a verification link",
		Description: "The token works once, within AUTH_VERIFY_TOKEN_TTL, and only while the account still has the address it was sent to.",
		Tags:        tags, Errors: append([]int{http.StatusBadRequest, http.StatusGone}, limited...)}, h.verify)
	huma.Register(r.API, huma.Operation{OperationID: "auth-email-verify-resend", Method: http.MethodPost, Path: ResendPath,
		Summary: "Send a new verification link",
		Description: "With an access token, to the signed-in user's address (409 when it is confirmed already). Without one, to the " +
			"address in the body: the answer is 202 whether or not an account has it.",
		DefaultStatus: http.StatusAccepted, Tags: tags,
		Security: []map[string][]string{{"bearerAuth": {}}, {}},
		Errors:   append([]int{http.StatusUnauthorized, http.StatusConflict}, limited...)}, h.resend)
	huma.Register(r.API, huma.Operation{OperationID: "auth-password-forgot", Method: http.MethodPost, Path: ForgotPath,
		Summary:       "Ask for a password reset link",
		Description:   "Always 202 with the same body, whether or not an account has the address; the email goes out in the background.",
		DefaultStatus: http.StatusAccepted, Tags: tags, Errors: limited}, h.forgot)
	huma.Register(r.API, huma.Operation{OperationID: "auth-password-reset", Method: http.MethodPost, Path: ResetPath,
		Summary:       "Set a new password with the token of a reset link; every session is signed out",
		Description:   "The token works once, within AUTH_RESET_TOKEN_TTL. The password-changed email follows.",
		DefaultStatus: http.StatusNoContent, Tags: tags, Errors: append([]int{http.StatusBadRequest, http.StatusGone}, limited...)}, h.reset)
	h.mountPages(r)
	return nil
}

func (h *handlers) verify(ctx context.Context, in *tokenInput) (*verifiedOutput, error) {
	u, err := h.svc.VerifyEmail(ctx, in.ip, in.Body.Token)
	if err != nil {
		return nil, h.problem(ctx, PurposeVerify, err)
	}
	return &verifiedOutput{Body: VerifiedBody{Email: u.Email, EmailVerifiedAt: *u.EmailVerifiedAt}}, nil
}

func (h *handlers) resend(ctx context.Context, in *resendInput) (*acceptedOutput, error) {
	if in.Authorization != "" {
		token, ok := bearer(in.Authorization)
		if !ok {
			return nil, h.problem(ctx, PurposeVerify, auth.ErrUnauthenticated)
		}
		u, _, err := h.auth.Authenticate(ctx, token)
		if err != nil {
			return nil, h.problem(ctx, PurposeVerify, err)
		}
		if err := h.svc.ResendVerification(ctx, in.ip, u); err != nil {
			return nil, h.problem(ctx, PurposeVerify, err)
		}
		return accepted(), nil
	}
	if in.Body == nil || in.Body.Email == "" {
		return nil, huma.Error422UnprocessableEntity("validation failed: email is required without an access token",
			&huma.ErrorDetail{Location: "body.email", Message: "is required without an access token"})
	}
	if err := h.svc.RequestVerification(ctx, in.ip, in.Body.Email); err != nil {
		return nil, h.problem(ctx, PurposeVerify, err)
	}
	return accepted(), nil
}

func (h *handlers) forgot(ctx context.Context, in *emailInput) (*acceptedOutput, error) {
	if err := h.svc.ForgotPassword(ctx, in.ip, in.Body.Email); err != nil {
		return nil, h.problem(ctx, PurposeReset, err)
	}
	return accepted(), nil
}

func (h *handlers) reset(ctx context.Context, in *resetInput) (*struct{}, error) {
	if err := h.svc.ResetPassword(ctx, h.auth, in.ip, in.Body.Token, in.Body.NewPassword); err != nil {
		return nil, h.problem(ctx, PurposeReset, err)
	}
	return nil, nil
}

// bearer extracts the token of an "Authorization: Bearer <token>" header; the scheme is
// case-insensitive.
func bearer(header string) (string, bool) {
	scheme, token, ok := strings.Cut(strings.TrimSpace(header), " ")
	token = strings.TrimSpace(token)
	return token, ok && strings.EqualFold(scheme, "bearer") && token != ""
}

// newLink says how to get a new link of purpose.
func newLink(purpose string) string {
	if purpose == PurposeReset {
		return "Ask for a new one with POST " + ForgotPath + "."
	}
	return "Ask for a new one with POST " + ResendPath + "."
}

// problem maps an error to an RFC 9457 problem. Unexpected errors are logged (never with a
// token) and answered with a plain 500.
func (h *handlers) problem(ctx context.Context, purpose string, err error) error {
	var (
		ve   *auth.ValidationError
		rl   *auth.RateLimitError
		busy *auth.BusyError
	)
	tokenDetail := func(msg string) *huma.ErrorDetail { return &huma.ErrorDetail{Location: "body.token", Message: msg} }
	retry := func(status int, msg string, d time.Duration) error {
		secs := ratelimit.Seconds(d)
		return huma.ErrorWithHeaders(huma.NewError(status, msg+" Retry after "+backend.Seconds(secs)+"."),
			http.Header{"Retry-After": {strconv.Itoa(secs)}})
	}
	switch {
	case errors.As(err, &ve):
		return huma.Error422UnprocessableEntity("validation failed: "+ve.Field+" "+ve.Reason,
			&huma.ErrorDetail{Location: "body." + ve.Field, Message: ve.Reason})
	case errors.As(err, &rl):
		return retry(http.StatusTooManyRequests, "Too many requests.", rl.RetryAfter)
	case errors.As(err, &busy):
		return retry(http.StatusServiceUnavailable, "Too many password checks are in progress.", busy.RetryAfter)
	case errors.Is(err, ErrBusy):
		return retry(http.StatusServiceUnavailable, "Too many account emails are in progress.", busyRetry)
	case errors.Is(err, ErrTokenExpired):
		return huma.NewError(http.StatusGone, "This link has expired. "+newLink(purpose), tokenDetail("has expired"))
	case errors.Is(err, ErrTokenUsed):
		return huma.NewError(http.StatusGone, "This link was already used; it works once. "+newLink(purpose), tokenDetail("was already used"))
	case errors.Is(err, ErrTokenInvalid):
		return huma.Error400BadRequest("This link is not valid: it expired some time ago, is incomplete or altered, or the account's address changed since it was sent. "+newLink(purpose),
			tokenDetail("is not valid"))
	case errors.Is(err, ErrAlreadyVerified):
		return huma.Error409Conflict("Your email address is already confirmed.")
	case errors.Is(err, auth.ErrInvalidToken), errors.Is(err, auth.ErrUnauthenticated):
		return huma.ErrorWithHeaders(huma.Error401Unauthorized("The access token is invalid or expired; send none to ask by email address."),
			http.Header{"WWW-Authenticate": {`Bearer realm="api"`}})
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return huma.Error503ServiceUnavailable("The request was cancelled or timed out.")
	default:
		h.logger.ErrorContext(ctx, "authcomms: request failed", "error", err, "request_id", backend.RequestID(ctx))
		return huma.Error500InternalServerError("The server hit an unexpected error. Quote the X-Request-ID header when reporting it.")
	}
}
