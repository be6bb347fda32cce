package backend

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/danielgtaylor/huma/v2"
)

// WriteProblem writes an RFC 9457 problem+json response with status and
// detail, for handlers outside huma (the dashboard's refusals).
func WriteProblem(w http.ResponseWriter, r *http.Request, status int, detail string) {
	writeProblem(w, r, status, detail)
}

// writeProblem writes an RFC 9457 problem+json response with the fields huma's
// own problems have (title, status, detail, instance: humaProblems adds the
// instance to huma's), so clients read one error format whichever layer
// answered. Only huma's carry a $schema link (to the ErrorModel schema of its
// operations) and errors[].
func writeProblem(w http.ResponseWriter, r *http.Request, status int, detail string) {
	body, err := json.Marshal(&huma.ErrorModel{
		Title:    http.StatusText(status),
		Status:   status,
		Detail:   detail,
		Instance: clip(r.URL.Path),
	})
	if err != nil {
		// ErrorModel holds only strings and ints here; Marshal cannot fail.
		body = []byte(`{"status":500}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/problem+json")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Del("Content-Length")
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}

// maxShown bounds what problems and the access log repeat of the request line
// (path, method): a client can send a URL of a megabyte, and repeating it in
// detail and instance, and again in every log line, multiplies what it costs
// the server and the log store.
const maxShown = 200

// clip returns s, or when it is longer than maxShown its first bytes (cut
// where a character starts) and its full length.
func clip(s string) string {
	if len(s) <= maxShown {
		return s
	}
	cut := maxShown
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…(" + strconv.Itoa(len(s)) + " bytes)"
}

// maxEchoedValue bounds a query or path value echoed in a problem's errors[]:
// enough to show a mistyped number or date, too little to reflect a blob.
const maxEchoedValue = 64

// humaProblems makes the first of the huma API's transformers; huma runs every
// response through them. For answers of 400 and above it sets nosniff, which
// writeProblem sets on the router's, and it makes huma's problems safe to send
// (problemToSend). A successful response costs the status check only.
func humaProblems(logger *slog.Logger, maxBody int64) huma.Transformer {
	return func(ctx huma.Context, status string, v any) (any, error) {
		// huma passes the status as its decimal text; 4xx and 5xx start at '4'.
		if len(status) != 3 || status[0] < '4' {
			return v, nil
		}
		ctx.SetHeader("X-Content-Type-Options", "nosniff")
		m, ok := v.(*huma.ErrorModel)
		if !ok {
			return v, nil
		}
		u := ctx.URL()
		if m.Status == http.StatusInternalServerError && m.Detail == humaUnexpected {
			return unexpected(ctx, logger, m, u.Path), nil
		}
		return problemToSend(m, u.Path, maxBody), nil
	}
}

// unexpectedDetail is what a client is told of an unexpected error (a panic, an
// operation's plain error): where to look, not what happened.
const unexpectedDetail = "The server hit an unexpected error. Quote the X-Request-ID header when reporting it."

// humaUnexpected is the detail of the 500 huma writes when an operation returns
// an error that is not a huma.StatusError: its errors[] then holds that error's
// text, which may name a table, a file or a host.
const humaUnexpected = "unexpected error occurred"

// unexpected logs the error behind huma's 500 (the operation's plain error) and
// returns the problem the recoverer sends for a panic: the cause goes to the
// log, with the request ID that the client is asked to quote, never to the
// client.
func unexpected(ctx huma.Context, logger *slog.Logger, m *huma.ErrorModel, path string) *huma.ErrorModel {
	msgs := make([]string, 0, len(m.Errors))
	for _, d := range m.Errors {
		if d != nil {
			msgs = append(msgs, d.Message)
		}
	}
	rctx := ctx.Context()
	logger.LogAttrs(rctx, slog.LevelError, "request failed",
		slog.String("error", strings.Join(msgs, "; ")),
		slog.String("method", clip(ctx.Method())),
		slog.String("path", clip(path)),
		slog.String("request_id", RequestID(rctx)))
	return &huma.ErrorModel{Title: m.Title, Status: m.Status, Detail: unexpectedDetail, Instance: clip(path)}
}

// humaBodyRequired is the detail of huma's 400 for an empty body on an
// operation that requires one.
const humaBodyRequired = "request body is required"

// humaValidationFailed is the detail huma gives every problem of request
// validation (a malformed or unknown body, a bad parameter), the reasons being
// in errors[] only.
const humaValidationFailed = "validation failed"

// problemToSend returns the problem m as it goes to the client: with the
// instance (the request's path, clipped) when m has none, huma's validation
// errors and its 413 reworded to say what to send (teach, tooLargeDetail;
// maxBody is MAX_BODY_BYTES), a validation failure's detail naming its first
// error, and no error echoing what the
// client sent unless it is a short query or path value (errorValue). huma
// echoes the whole request body in a body error (a login's password
// included), and an app's error may be a package-level value returned on
// every request, so m and its details are copied, never changed.
func problemToSend(m *huma.ErrorModel, path string, maxBody int64) *huma.ErrorModel {
	out := *m
	if out.Instance == "" {
		out.Instance = clip(path)
	}
	if out.Status == http.StatusBadRequest && out.Detail == humaBodyRequired {
		out.Detail = "The request body is required; send it as JSON with Content-Type: application/json."
	}
	if out.Status == http.StatusRequestEntityTooLarge {
		out.Detail, _ = tooLargeDetail(out.Detail, maxBody)
	}
	if len(m.Errors) == 0 {
		return &out
	}
	out.Errors = make([]*huma.ErrorDetail, 0, len(m.Errors))
	for _, d := range m.Errors {
		if d == nil {
			continue // huma's NewError leaves a nil error as a nil detail
		}
		c := *d
		c.Value = errorValue(c.Location, c.Value)
		if at, msg, ok := splitBodyError(c.Message); ok && c.Location == "body" {
			// unmarshalBody's errors name the field inside the body.
			c.Location, c.Message = at, msg
		} else {
			c.Location, c.Message = teach(d)
		}
		if out.Status == http.StatusUnsupportedMediaType && strings.HasPrefix(c.Message, huma.ErrUnknownContentType.Error()) {
			// huma says what it got; say what to send.
			c.Message += "; send the body as JSON with Content-Type: application/json"
		}
		out.Errors = append(out.Errors, &c)
	}
	if out.Detail == humaValidationFailed && len(out.Errors) > 0 {
		out.Detail = summary(out.Detail, out.Errors)
	}
	return &out
}

// errorValue is the value an error at location may echo: a query or path
// parameter's when it is short and a plain value, nothing else. Body values
// may be passwords or whole batches; headers and cookies carry tokens.
func errorValue(location string, v any) any {
	if !strings.HasPrefix(location, "query") && !strings.HasPrefix(location, "path") {
		return nil
	}
	switch x := v.(type) {
	case string:
		if len(x) <= maxEchoedValue {
			return x
		}
	case bool, int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, float32, float64:
		return x
	}
	return nil
}

// summary puts the first error into a validation problem's detail, on one
// line, so that a client (or a person reading a log) that shows only the
// detail still sees what was wrong.
func summary(detail string, errs []*huma.ErrorDetail) string {
	var b strings.Builder
	b.WriteString(detail)
	b.WriteString(": ")
	if loc := errs[0].Location; loc != "" {
		b.WriteString(loc)
		b.WriteString(": ")
	}
	b.WriteString(strings.ReplaceAll(errs[0].Message, "\n", " "))
	if n := len(errs) - 1; n > 0 {
		b.WriteString("; and ")
		b.WriteString(strconv.Itoa(n))
		b.WriteString(" more")
	}
	return b.String()
}

// Seconds is a wait as the problems say it: "1 second", "30 seconds".
func Seconds(n int) string {
	if n == 1 {
		return "1 second"
	}
	return strconv.Itoa(n) + " seconds"
}
