package analytics

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/aegisgo/aegis/template/internal/components/backend"
	"github.com/aegisgo/aegis/template/internal/runtime/ratelimit"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
)

// Prefix is the path of every analytics endpoint.
const Prefix = "/api/v1/analytics"

// EventsPath is the public endpoint that accepts batches of events.
const EventsPath = Prefix + "/events"

// maxEventsBody bounds a batch's body: MaxBatch events of MaxPropertyBytes and a name each,
// with room for JSON's spacing. MaxPropertyBytes is measured as the server encodes the
// properties (UTF-8, unescaped), while a client may escape every non-ASCII character
// (Python's json.dumps does by default): é is 2 bytes there and 6 as \u00e9, an emoji 4 and
// 12 as a surrogate pair, so a full batch of valid events takes up to 3 times MaxPropertyBytes
// for each event, about 630 KiB. At 256 KiB such a batch, every event within its bounds, was
// refused with 413.
const maxEventsBody = 768 << 10

// EventBody is one event as POST /api/v1/analytics/events takes it.
type EventBody struct {
	Name       string         `json:"name" pattern:"^[a-z][a-z0-9_.:-]{0,63}$" maxLength:"64" doc:"A lowercase letter, then lowercase letters, digits, '_', '.', ':' or '-'; at most 64 characters."`
	Properties map[string]any `json:"properties,omitempty" maxProperties:"20" doc:"At most 20 properties of string, number, boolean or null values, 2048 bytes as JSON; keys are letters, digits and '_'."`
	At         *time.Time     `json:"at,omitempty" doc:"When it happened (RFC 3339); at most a day ago and 5 minutes ahead. Default: when it arrives."`
}

type eventsInput struct {
	Body struct {
		Events []EventBody `json:"events" minItems:"1" maxItems:"100" doc:"1 to 100 events, stored all or none."`
	}
	ip string
}

// Resolve records the client's address for rate limiting.
func (in *eventsInput) Resolve(ctx huma.Context) []error {
	in.ip = ratelimit.IPKey(ctx.RemoteAddr())
	return nil
}

type eventsOutput struct {
	Body struct {
		Accepted int `json:"accepted" doc:"Events accepted; they are stored within ANALYTICS_FLUSH_INTERVAL."`
	}
}

// RangeQuery is the range of the GET endpoints' query (exported: huma reads the parameters
// of exported embedded structs only).
type RangeQuery struct {
	From time.Time `query:"from" doc:"Start of the range (RFC 3339, inclusive), before to; default: a day before to."`
	To   time.Time `query:"to" doc:"End of the range (RFC 3339, exclusive); default: now."`
}

// maxTo is the latest to of a range: widened to whole hours or days, it stays within year
// 9999, the last one JSON (RFC 3339) times can hold.
var maxTo = time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)

// rangeExample is the allowed form the range's refusals show.
const rangeExample = "from=2026-01-01T00:00:00Z&to=2026-01-02T00:00:00Z"

// Resolve refuses a from or to given as the zero time (0001-01-01T00:00:00Z). huma parses
// it into the zero time.Time, which span could not tell from an absent parameter: the
// query would silently answer for the default range instead of the one asked for. A
// value that does not parse is left to huma's own error (which the backend rewords). The order of the two is checked
// by span, which knows what to defaults to.
func (in *RangeQuery) Resolve(ctx huma.Context) []error {
	var errs []error
	for _, p := range []struct {
		name, what string
		t          time.Time
	}{{"from", "a day before to", in.From}, {"to", "now", in.To}} {
		raw := ctx.Query(p.name)
		if raw == "" || !p.t.IsZero() {
			continue
		}
		if t, err := time.Parse(time.RFC3339Nano, raw); err != nil || !t.IsZero() {
			continue
		}
		errs = append(errs, &huma.ErrorDetail{Location: "query." + p.name,
			Message: "is the zero time (0001-01-01T00:00:00Z), which bounds no range: give an RFC 3339 time such as 2026-01-02T15:04:05Z, or leave " + p.name + " out for " + p.what})
	}
	return errs
}

// span is the input's range with its defaults, or a 422 naming from when it does not
// start before to (given, or now by default): an empty or reversed range is the caller's
// mistake, never replaced by the default.
func (in RangeQuery) span(now time.Time) (Range, error) {
	r := Range(in)
	end := "to"
	if r.To.IsZero() {
		r.To, end = now, "to (default: now)"
	}
	if r.From.IsZero() {
		r.From = r.To.Add(-24 * time.Hour)
	}
	// A to in the last hour of year 9999 widens, in counts from the hourly roll-up, to year
	// 10000, which no JSON time can show: the answer failed to encode and the connection
	// was dropped without a response.
	if r.To.After(maxTo) {
		return Range{}, invalid("query.to", "must be at most "+maxTo.Format(time.RFC3339)+", the last whole hour an RFC 3339 time can show", nil)
	}
	if !r.To.After(r.From) {
		msg := "must be before " + end + ": give RFC 3339 times with from the earlier, such as " + rangeExample
		return Range{}, invalid("query.from", msg, nil)
	}
	return r, nil
}

type countsInput struct {
	RangeQuery
	Limit int `query:"limit" minimum:"0" maximum:"1000" default:"0" doc:"The most events listed, most frequent first; 0 lists every one."`
}

type countsOutput struct {
	Body struct {
		From   time.Time   `json:"from"`
		To     time.Time   `json:"to"`
		Source string      `json:"source" enum:"events,hourly" doc:"Raw events, or the hourly roll-up (for long ranges, the range widened to whole hours)."`
		Counts []NameCount `json:"counts"`
	}
}

type seriesInput struct {
	RangeQuery
	Bucket string `query:"bucket" enum:"hour,day" default:"hour" doc:"hour, or day: a UTC day (00:00Z to 24:00Z) whatever the offset of from and to; the range is widened to whole buckets."`
	Name   string `query:"name" maxLength:"64" pattern:"^[a-z][a-z0-9_.:-]{0,63}$" doc:"Only this event (an event name: a lowercase letter, then lowercase letters, digits, '_', '.', ':' or '-'); default: every event."`
}

type seriesOutput struct {
	Body struct {
		Bucket string  `json:"bucket"`
		Points []Point `json:"points"`
	}
}

type usersInput struct {
	RangeQuery
	Name string `query:"name" maxLength:"64" pattern:"^[a-z][a-z0-9_.:-]{0,63}$" doc:"Only users with this event (an event name: a lowercase letter, then lowercase letters, digits, '_', '.', ':' or '-'); default: any event."`
}

type usersOutput struct {
	Body struct {
		UniqueUsers int64 `json:"unique_users"`
	}
}

type funnelInput struct {
	RangeQuery
	Steps  string `query:"steps" required:"true" maxLength:"700" doc:"2 to 10 distinct event names, comma-separated, in order."`
	Window string `query:"window" maxLength:"20" doc:"How long after the first step the others count (a duration such as 24h); default: the whole range."`
}

type funnelOutput struct {
	Body struct {
		Steps []FunnelStep `json:"steps"`
	}
}

type userStatsInput struct {
	Days int `query:"days" minimum:"1" maximum:"366" default:"30" doc:"Users tracked in this many last days, or since the oldest raw event kept (ANALYTICS_RETENTION) when that is later: see tracked_since."`
}

type userStatsOutput struct {
	Body UserStats
}

type statsOutput struct {
	Body Stats
}

// mount registers the endpoints; the Service is resolved once, when the routes are mounted.
func mount(r *backend.Router) error {
	svc, err := registry.Get[*Service](r.Container)
	if err != nil {
		return err
	}
	h := &handlers{svc: svc, r: r, limiter: ratelimit.New(svc.settings.IngestIPLimit, svc.settings.IngestWindow,
		&ratelimit.Opts{Shared: svc.limits, Name: "analytics:ingest-ip", Logger: svc.logger})}
	if svc.settings.TrackRequests {
		// huma applies a middleware to the operations registered after it: those of the
		// contributors mounted after this one (in name order) and this service's own, which
		// trackRequests leaves out.
		r.API.UseMiddleware(svc.trackRequests)
	}
	// The backend refuses a body past MaxBodyBytes by its Content-Length, saying its size
	// and the limit, before the body is read.
	var ingest huma.Middlewares
	if svc.identity != nil {
		ingest = append(ingest, svc.identity.Authenticate())
	}
	huma.Register(r.API, huma.Operation{OperationID: "analytics-track", Method: http.MethodPost, Path: EventsPath,
		Summary: "Track a batch of events", Tags: []string{"analytics"}, DefaultStatus: http.StatusAccepted,
		Description:  "Accepts 1 to 100 events, stored all or none. Rate-limited per client address (ANALYTICS_INGEST_IP_LIMIT). With the auth service, a bearer token attributes the events to its user.",
		MaxBodyBytes: maxEventsBody, Middlewares: ingest}, h.track)

	// The backend refuses a parameter given twice, and says how to write a from or to
	// that is not an RFC 3339 time.
	read := huma.Middlewares{h.guard()}
	get := func(id, path, summary string) huma.Operation {
		return huma.Operation{OperationID: id, Method: http.MethodGet, Path: Prefix + path, Summary: summary,
			Tags: []string{"analytics"}, Middlewares: read,
			Description: "Admins only with the auth service; without it, send Authorization: Bearer $ANALYTICS_READ_TOKEN."}
	}
	huma.Register(r.API, get("analytics-counts", "/counts", "Event counts by name over a range"), h.counts)
	huma.Register(r.API, get("analytics-series", "/series", "Event counts per hour or day over a range"), h.series)
	huma.Register(r.API, get("analytics-users", "/users", "Unique users over a range"), h.users)
	huma.Register(r.API, get("analytics-funnel", "/funnel", "Users reaching each step of a funnel"), h.funnel)
	huma.Register(r.API, get("analytics-stats", "/stats", "Buffer and write counters of this process"), h.stats)
	if svc.identity != nil {
		huma.Register(r.API, get("analytics-user-stats", "/user-stats", "Accounts: total, active, inactive, activity rate"), h.userStats)
	}
	return nil
}

type handlers struct {
	svc     *Service
	r       *backend.Router
	limiter *ratelimit.Limiter
}

// guard admits the read endpoints' callers: admins with the auth service, else the holders
// of ANALYTICS_READ_TOKEN; nobody when neither is there.
func (h *handlers) guard() func(huma.Context, func(huma.Context)) {
	if h.svc.identity != nil {
		return h.svc.identity.RequireAdmin()
	}
	token := h.svc.settings.ReadToken
	return func(ctx huma.Context, next func(huma.Context)) {
		if token == "" {
			_ = huma.WriteErr(h.r.API, ctx, http.StatusForbidden, "Analytics can be read by admins when the auth service is selected, or with ANALYTICS_READ_TOKEN; neither is set up.")
			return
		}
		scheme, got, _ := strings.Cut(ctx.Header("Authorization"), " ")
		if !strings.EqualFold(scheme, "bearer") || !backend.EqualSecret(strings.TrimSpace(got), token) {
			ctx.SetHeader("WWW-Authenticate", `Bearer realm="analytics"`)
			_ = huma.WriteErr(h.r.API, ctx, http.StatusUnauthorized, "Send Authorization: Bearer <ANALYTICS_READ_TOKEN>.")
			return
		}
		next(ctx)
	}
}

// atBounds is the refusal of an event's at outside the accepted window. It gives the server's
// time and the fix: a client whose clock is off (by a time zone, say) had every event
// refused, and "within the last 24 hours" alone did not say against which clock.
func atBounds(now time.Time) string {
	return "must be within the last 24 hours and at most 5 minutes ahead of the server's clock (now " + now.UTC().Format(time.RFC3339) +
		"): correct the client's clock, or leave at out for the time of arrival"
}

func (h *handlers) track(ctx context.Context, in *eventsInput) (*eventsOutput, error) {
	if d := h.limiter.AllowContext(ctx, in.ip); d > 0 {
		secs := ratelimit.Seconds(d)
		return nil, huma.ErrorWithHeaders(huma.NewError(http.StatusTooManyRequests, "Too many event batches from this address; retry after "+backend.Seconds(secs)+"."),
			http.Header{"Retry-After": {strconv.Itoa(secs)}})
	}
	if len(in.Body.Events) == 0 {
		return nil, huma.Error422UnprocessableEntity("validation failed: give 1 to 100 events",
			&huma.ErrorDetail{Location: "body.events", Message: "expected 1 to 100 events"})
	}
	// A batch larger than the buffer can ever hold would get a 503 and its Retry-After
	// forever: say what fits instead.
	if limit := h.svc.settings.BufferLimit; len(in.Body.Events) > limit {
		msg := "this server holds at most " + strconv.Itoa(limit) + " events in memory (ANALYTICS_BUFFER_LIMIT): send at most " + strconv.Itoa(limit) + " per batch"
		return nil, huma.Error422UnprocessableEntity("validation failed: body.events: "+msg+"; nothing of the batch was stored",
			&huma.ErrorDetail{Location: "body.events", Message: msg})
	}
	now := h.svc.now()
	user := h.svc.userID(ctx)
	evs := make([]Event, 0, len(in.Body.Events))
	var problems []error
	for i, e := range in.Body.Events {
		where := "body.events[" + strconv.Itoa(i) + "]"
		if !ValidName(e.Name) {
			problems = append(problems, &huma.ErrorDetail{Location: where + ".name", Message: "does not match " + NamePattern, Value: e.Name})
		}
		if msg := checkProps(e.Properties); msg != "" {
			problems = append(problems, &huma.ErrorDetail{Location: where + ".properties", Message: msg})
		}
		at := now
		if e.At != nil {
			at = *e.At
			if at.Before(now.Add(-MaxEventAge)) || at.After(now.Add(MaxClockSkew)) {
				problems = append(problems, &huma.ErrorDetail{Location: where + ".at", Message: atBounds(now), Value: at})
			}
		}
		evs = append(evs, Event{Name: e.Name, UserID: user, Props: e.Properties, At: at.UTC()})
	}
	if len(problems) > 0 {
		// The detail names the first problem, as huma's own validation problems do, so a
		// client that shows only the detail still learns what to fix.
		first := problems[0].(*huma.ErrorDetail)
		detail := "validation failed: " + first.Location + ": " + first.Message
		if n := len(problems) - 1; n > 0 {
			detail += "; and " + strconv.Itoa(n) + " more"
		}
		return nil, huma.Error422UnprocessableEntity(detail+"; nothing of the batch was stored", problems...)
	}
	if !h.svc.addAll(evs) {
		secs := ratelimit.Seconds(h.svc.settings.FlushInterval)
		return nil, huma.ErrorWithHeaders(huma.Error503ServiceUnavailable("Analytics cannot take more events right now; nothing of the batch was stored. Retry after "+backend.Seconds(secs)+"."),
			http.Header{"Retry-After": {strconv.Itoa(secs)}})
	}
	out := &eventsOutput{}
	out.Body.Accepted = len(evs)
	return out, nil
}

func (h *handlers) counts(ctx context.Context, in *countsInput) (*countsOutput, error) {
	r, err := in.span(h.svc.now())
	if err != nil {
		return nil, err
	}
	counts, err := h.svc.Top(ctx, r, in.Limit)
	if err != nil {
		return nil, h.problem(ctx, err)
	}
	out := &countsOutput{}
	out.Body.Source = "events"
	if h.svc.rolledUp(r) {
		r = r.hours()
		out.Body.Source = "hourly"
	}
	out.Body.From, out.Body.To, out.Body.Counts = r.From.UTC(), r.To.UTC(), nonNil(counts)
	return out, nil
}

func (h *handlers) series(ctx context.Context, in *seriesInput) (*seriesOutput, error) {
	r, err := in.span(h.svc.now())
	if err != nil {
		return nil, err
	}
	points, err := h.svc.Series(ctx, r, Bucket(in.Bucket), in.Name)
	if err != nil {
		return nil, h.problem(ctx, err)
	}
	out := &seriesOutput{}
	out.Body.Bucket, out.Body.Points = in.Bucket, nonNil(points)
	return out, nil
}

func (h *handlers) users(ctx context.Context, in *usersInput) (*usersOutput, error) {
	r, err := in.span(h.svc.now())
	if err != nil {
		return nil, err
	}
	n, err := h.svc.UniqueUsers(ctx, r, in.Name)
	if err != nil {
		return nil, h.problem(ctx, err)
	}
	out := &usersOutput{}
	out.Body.UniqueUsers = n
	return out, nil
}

func (h *handlers) funnel(ctx context.Context, in *funnelInput) (*funnelOutput, error) {
	var window time.Duration
	if in.Window != "" {
		d, err := time.ParseDuration(in.Window)
		if err != nil || d <= 0 {
			msg := "must be a positive duration such as 24h or 30m"
			return nil, invalid("query.window", msg, in.Window)
		}
		window = d
	}
	r, err := in.span(h.svc.now())
	if err != nil {
		return nil, err
	}
	names := splitSteps(in.Steps)
	if err := checkSteps(names); err != nil {
		return nil, err
	}
	steps, err := h.svc.Funnel(ctx, FunnelParams{Steps: names, Range: r, Window: window})
	if err != nil {
		return nil, h.problem(ctx, err)
	}
	out := &funnelOutput{}
	out.Body.Steps = steps
	return out, nil
}

// retentionProblem is ErrBeforeRetention as a 422 naming query.from and the earliest from
// that works.
func (h *handlers) retentionProblem() error {
	kept := h.svc.KeptSince()
	msg := "is before the oldest raw events kept (ANALYTICS_RETENTION=" + h.svc.settings.Retention.String() +
		"), so users there are no longer known: give from=" + kept.UTC().Add(time.Minute).Truncate(time.Minute).Format(time.RFC3339) + " or later"
	return invalid("query.from", msg, nil)
}

func (h *handlers) userStats(ctx context.Context, in *userStatsInput) (*userStatsOutput, error) {
	st, err := h.svc.UserStats(ctx, in.Days)
	if err != nil {
		return nil, h.problem(ctx, err)
	}
	return &userStatsOutput{Body: st}, nil
}

func (h *handlers) stats(context.Context, *struct{}) (*statsOutput, error) {
	return &statsOutput{Body: h.svc.Stats()}, nil
}

// problem maps a query error to a problem: the caller's mistakes are 422, the rest is logged
// and answered with a 500 that names nothing internal.
func (h *handlers) problem(ctx context.Context, err error) error {
	switch {
	case errors.Is(err, ErrBeforeRetention):
		return h.retentionProblem()
	case errors.Is(err, ErrBadRange), errors.Is(err, ErrTooManyPoints), errors.Is(err, ErrBadFunnel), errors.Is(err, ErrBadBucket):
		return huma.Error422UnprocessableEntity(strings.TrimPrefix(err.Error(), "analytics: "))
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return huma.Error503ServiceUnavailable("The request was cancelled or timed out.")
	}
	h.r.Logger.ErrorContext(ctx, "analytics: request failed", "error_kind", errorKind(err), "request_id", backend.RequestID(ctx))
	return huma.Error500InternalServerError("The server hit an unexpected error. Quote the X-Request-ID header when reporting it.")
}

// checkSteps is a 422 naming query.steps and what is wrong with them (how many, which name
// is malformed or repeated), which Funnel's ErrBadFunnel does not say.
func checkSteps(names []string) error {
	if msg := stepsProblem(names); msg != "" {
		return invalid("query.steps", msg+stepsExample(names), nil)
	}
	return nil
}

// stepsExample completes stepsProblem's count message for the API.
func stepsExample(names []string) string {
	if len(names) < 2 || len(names) > MaxFunnelSteps {
		return ", comma-separated, such as steps=signup,activate (got " + strconv.Itoa(len(names)) + ")"
	}
	return ""
}

// splitSteps reads a comma-separated list of step names.
func splitSteps(s string) []string {
	var out []string
	for part := range strings.SplitSeq(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// trackRequests is the middleware of ANALYTICS_TRACK_REQUESTS: one api_request event per
// operation call, with its route pattern (never the path, which may hold IDs), method,
// status and duration. The analytics endpoints themselves are left out. The backend's own
// refusals (a body past the limit, a parameter given twice) go through it too, with their
// 413 or 422.
func (s *Service) trackRequests(ctx huma.Context, next func(huma.Context)) {
	start := time.Now()
	next(ctx)
	op := ctx.Operation()
	if op == nil || strings.HasPrefix(op.Path, Prefix) {
		return
	}
	status := ctx.Status()
	if status == 0 {
		status = http.StatusOK
	}
	s.Track(ctx.Context(), EventAPIRequest, map[string]any{
		"route": op.Path, "method": op.Method, "status": status,
		"duration_ms": float64(time.Since(start).Microseconds()) / 1000,
	})
}

// describe is the one-line summary of a range for commands and the panel.
func describe(r Range) string {
	return fmt.Sprintf("%s to %s", r.From.UTC().Format(time.RFC3339), r.To.UTC().Format(time.RFC3339))
}

// invalid is a 422 for one bad parameter at location. Its detail is huma's "validation
// failed", which the backend completes with the location and msg, as for huma's own checks.
func invalid(location, msg string, value any) error {
	return huma.Error422UnprocessableEntity("validation failed", &huma.ErrorDetail{Location: location, Message: msg, Value: value})
}
