package authcomms

import (
	"context"
	"errors"
	"html/template"
	"net/http"
	"strconv"

	"github.com/aegisgo/aegis/template/internal/components/backend"
	"github.com/aegisgo/aegis/template/internal/runtime/ratelimit"
	"github.com/aegisgo/aegis/template/internal/services/auth"
)

// The emails link to BASE_URL + /verify-email and /reset-password unless
// AUTH_VERIFY_EMAIL_URL and AUTH_RESET_PASSWORD_URL name pages of a front end. Without such
// a front end the links opened a JSON 404, so the app serves these small pages itself
// whenever a link points at it. Opening a link changes nothing: a mail scanner that fetches
// every link must not spend the token, so the page asks for a click (a POST) first.

// pageFormBytes bounds a page's form: a token and a password.
const pageFormBytes = 8 << 10

// pageData fills pageTemplate.
type pageData struct {
	Title    string
	Message  string
	Error    string
	Token    string
	Action   string
	Button   string
	Password bool
	// retryAfter, in seconds, is sent as the Retry-After header of a 429 or 503.
	retryAfter int
}

var pageTemplate = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<link rel="icon" href="data:,">
<style>
body{margin:0;padding:32px 16px;background:#f4f4f5;font-family:-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;color:#18181b}
main{max-width:420px;margin:0 auto;background:#fff;border-radius:8px;padding:24px 32px}
h1{font-size:20px}label{display:block;margin:16px 0 4px}input[type=password]{width:100%;box-sizing:border-box;padding:8px;font-size:16px}
button{margin-top:16px;background:#2563eb;color:#fff;border:0;border-radius:6px;padding:12px 20px;font-size:16px;font-weight:600;cursor:pointer}
.error{color:#b91c1c}
</style>
</head>
<body>
<main>
<h1>{{.Title}}</h1>
{{if .Error}}<p class="error" role="alert">{{.Error}}</p>{{end}}
{{if .Message}}<p>{{.Message}}</p>{{end}}
{{if .Action}}<form method="post" action="{{.Action}}">
<input type="hidden" name="token" value="{{.Token}}">
{{if .Password}}<label for="new_password">New password</label>
<input type="password" id="new_password" name="new_password" autocomplete="new-password" minlength="8" maxlength="128" required>{{end}}
<button type="submit">{{.Button}}</button>
</form>{{end}}
</main>
</body>
</html>
`))

// mountPages serves the pages the emails link to by default; a page named by
// AUTH_VERIFY_EMAIL_URL or AUTH_RESET_PASSWORD_URL belongs to the front end instead.
func (h *handlers) mountPages(r *backend.Router) {
	if h.svc.settings.VerifyURL == "" {
		r.Mux.Get(DefaultVerifyPath, h.verifyPage)
		r.Mux.Post(DefaultVerifyPath, h.verifyPage)
	}
	if h.svc.settings.ResetURL == "" {
		r.Mux.Get(DefaultResetPath, h.resetPage)
		r.Mux.Post(DefaultResetPath, h.resetPage)
	}
}

// verifyPage asks for a click on GET and confirms the address on POST.
func (h *handlers) verifyPage(w http.ResponseWriter, r *http.Request) {
	d := pageData{Title: "Confirm your email address", Action: DefaultVerifyPath, Button: "Confirm my email"}
	if h.offer(w, r, PurposeVerify, d, "Press the button to confirm your email address.") {
		return
	}
	token, _, ok := h.form(w, r)
	if !ok {
		return
	}
	u, err := h.svc.VerifyEmail(r.Context(), backend.ClientIP(r.RemoteAddr), token)
	if err != nil {
		status, pd := h.pageProblem(r.Context(), PurposeVerify, err, pageData{Title: d.Title})
		h.page(w, status, pd)
		return
	}
	h.page(w, http.StatusOK, pageData{Title: "Email address confirmed", Message: u.Email + " is confirmed. You can close this page."})
}

// resetPage shows the new-password form on GET and sets the password on POST; a password
// the rules refuse shows the form again, the link still usable.
func (h *handlers) resetPage(w http.ResponseWriter, r *http.Request) {
	d := pageData{Title: "Choose a new password", Action: DefaultResetPath, Button: "Set my password", Password: true}
	if h.offer(w, r, PurposeReset, d, "8 to 128 characters; every device signed in to your account is signed out.") {
		return
	}
	token, password, ok := h.form(w, r)
	if !ok {
		return
	}
	err := h.svc.ResetPassword(r.Context(), h.auth, backend.ClientIP(r.RemoteAddr), token, password)
	var ve *auth.ValidationError
	switch {
	case errors.As(err, &ve):
		d.Token = token
		d.Error = "The new password " + ve.Reason + "."
		h.page(w, http.StatusUnprocessableEntity, d)
	case err != nil:
		status, pd := h.pageProblem(r.Context(), PurposeReset, err, pageData{Title: d.Title})
		h.page(w, status, pd)
	default:
		h.page(w, http.StatusOK, pageData{Title: "Password changed", Message: "Your password was changed. Sign in with the new one."})
	}
}

// offer answers the GET of a link: the page's form d with the link's token and message, or
// why the link cannot be used (no token, altered, expired, used), checked without spending
// it. It reports whether the request was a GET, now answered.
func (h *handlers) offer(w http.ResponseWriter, r *http.Request, purpose string, d pageData, message string) bool {
	if r.Method != http.MethodGet {
		return false
	}
	d.Token = r.URL.Query().Get("token")
	if d.Token == "" {
		h.page(w, http.StatusBadRequest, pageData{Title: d.Title, Error: "This link has no token: open the whole link from the email."})
		return true
	}
	if err := h.svc.CheckLink(r.Context(), backend.ClientIP(r.RemoteAddr), purpose, d.Token); err != nil {
		status, pd := h.pageProblem(r.Context(), purpose, err, pageData{Title: d.Title})
		h.page(w, status, pd)
		return true
	}
	d.Message = message
	h.page(w, http.StatusOK, d)
	return true
}

// form reads the token and new_password fields of a page's POST; on failure it has answered.
func (h *handlers) form(w http.ResponseWriter, r *http.Request) (token, password string, ok bool) {
	r.Body = http.MaxBytesReader(w, r.Body, pageFormBytes)
	if err := r.ParseForm(); err != nil {
		h.page(w, http.StatusBadRequest, pageData{Title: "Bad request", Error: "The form could not be read; open the link from the email again."})
		return "", "", false
	}
	return r.PostForm.Get("token"), r.PostForm.Get("new_password"), true
}

// pageProblem is problem for a person at a page: the status, and d with one sentence (and,
// for a 429 or 503, the wait) added.
func (h *handlers) pageProblem(ctx context.Context, purpose string, err error, d pageData) (int, pageData) {
	again := "Ask the app for a new confirmation email."
	if purpose == PurposeReset {
		again = "Ask the app for a new password reset email (forgot password)."
	}
	var (
		rl   *auth.RateLimitError
		busy *auth.BusyError
	)
	switch {
	case errors.As(err, &rl):
		d.retryAfter = ratelimit.Seconds(rl.RetryAfter)
		d.Error = "Too many attempts. Try again in " + backend.Seconds(d.retryAfter) + "."
		return http.StatusTooManyRequests, d
	case errors.As(err, &busy), errors.Is(err, ErrBusy), errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		// The same waits as the API's answers (problem).
		d.retryAfter, d.Error = 1, "The app is busy. Try again in a moment."
		if busy != nil {
			d.retryAfter = ratelimit.Seconds(busy.RetryAfter)
		} else if errors.Is(err, ErrBusy) {
			d.retryAfter = ratelimit.Seconds(busyRetry)
		}
		return http.StatusServiceUnavailable, d
	case errors.Is(err, ErrTokenExpired):
		d.Error = "This link has expired. " + again
		return http.StatusGone, d
	case errors.Is(err, ErrTokenUsed):
		d.Error = "This link was already used; it works once. " + again
		return http.StatusGone, d
	case errors.Is(err, ErrTokenInvalid):
		d.Error = "This link is not valid: it expired some time ago, is incomplete or altered, or the account's address changed since it was sent. " + again
		return http.StatusBadRequest, d
	default:
		h.logger.ErrorContext(ctx, "authcomms: page request failed", "error", err, "request_id", backend.RequestID(ctx))
		d.Error = "The server hit an unexpected error. Try again later."
		return http.StatusInternalServerError, d
	}
}

// page writes d. The URL of a GET carries a token: no cache keeps the page and no Referer
// takes the URL elsewhere.
func (h *handlers) page(w http.ResponseWriter, status int, d pageData) {
	hd := w.Header()
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("Cache-Control", "no-store")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	if d.retryAfter > 0 {
		hd.Set("Retry-After", strconv.Itoa(d.retryAfter))
	}
	w.WriteHeader(status)
	if err := pageTemplate.Execute(w, d); err != nil {
		h.logger.Warn("authcomms: write page", "error", err)
	}
}
