package backend

import (
	"iter"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humachi"
)

// limitedAdapter is the adapter of the backend's huma API: it applies the request rules
// every operation gets, whatever app contributed it, before huma reads the request and
// before the API's middlewares run (a refusal goes through them: below). huma calls Handle once per operation, hidden ones included (an AddOpFunc misses
// those), after the operation's parameters and body are known and before any request.
//
//   - Body limit: the operation's own MaxBodyBytes (1 MiB unless it sets one) lowered to
//     MAX_BODY_BYTES, so huma stops reading at it and answers 413 itself instead of tripping
//     over limitBody's MaxBytesReader. huma refuses a body whose length reaches MaxBodyBytes,
//     so a body of exactly the limit was refused as "larger than" it: MaxBodyBytes is set to
//     the limit plus one.
//   - A body whose Content-Length is past the limit gets a 413 saying its size and the limit
//     at once, as limitBody does for MAX_BODY_BYTES, rather than huma's once it has read that
//     far (which cannot say the size).
//   - A query parameter read from one value given more than once is a 422 (repeatedQuery).
//   - An integer or float32 parameter is refused out of its type's range, rather than
//     wrapped into it (paramRules; a list's items by paramChecks, at each request), a float
//     one given NaN or an infinity likewise, and a parameter huma cannot read (a []bool, a
//     net.IP) refuses the registration.
//   - The body of an operation that takes one is read before huma reads it (readBodyFirst).
//
// A request these rules refuse goes through the API's middlewares (huma.API.UseMiddleware,
// those the operation was registered after, as huma applies them) as one huma refuses does,
// the refusal written where the operation would have run: a middleware that records requests
// (analytics' ANALYTICS_TRACK_REQUESTS) sees the 413 or 422 as it sees huma's own, and one that
// answers first (an authentication) does so here too. An operation's own and its group's
// middlewares are not run, as their operation does not run.
//
// huma's own body read uses the operation huma.Register was given, while Handle may get a
// copy: a group made with huma.NewGroup and a prefix copies each operation for its prefix
// (huma.PrefixModifier) before the adapter sees it, so the limit plus one set here does not
// reach that read, and a body of exactly such an operation's limit would be refused. NewGroup
// raises the limit on huma.Register's own operation, before the copy (raiseBodyLimit).
type limitedAdapter struct {
	huma.Adapter
	api     huma.API       // set once the API is made from the adapter, before any operation but its own
	maxBody int64          // MAX_BODY_BYTES
	types   *typedRegistry // the API's schema registry, for its parameters' Go types
}

// Handle registers op with the rules in front of handler.
func (a *limitedAdapter) Handle(op *huma.Operation, handler func(huma.Context)) {
	limit := op.MaxBodyBytes
	if declared, ok := op.Metadata[declaredBodyKey].(int64); ok {
		limit = declared // raiseBodyLimit's: MaxBodyBytes is one more already
	}
	if limit <= 0 || limit > a.maxBody {
		limit = a.maxBody
	}
	op.MaxBodyBytes = limit + 1
	scalars := scalarQuery(op)
	readsQuery := slices.ContainsFunc(op.Parameters, func(p *huma.Param) bool { return p != nil && p.In == "query" })
	checks := paramRules(op, a.types)
	readsBody := op.RequestBody != nil
	// huma.Register took the API's middlewares just before calling Handle: the same ones.
	// huma.NewAPI's own operations (the OpenAPI documents) come before the API, and any
	// middleware.
	refuse := refuser{adapter: a}
	if a.api != nil {
		refuse.middlewares = a.api.Middlewares()
	}
	a.Adapter.Handle(op, func(ctx huma.Context) {
		r, _ := humachi.Unwrap(ctx)
		if r.ContentLength > limit {
			refuse.write(ctx, http.StatusRequestEntityTooLarge, tooLargeMessage(r.ContentLength, limit, a.maxBody))
			return
		}
		if readsQuery {
			if errs := malformedQuery(r.URL.RawQuery); errs != nil {
				refuse.write(ctx, http.StatusBadRequest, humaValidationFailed, errs...)
				return
			}
		}
		if len(scalars) > 0 {
			if errs := repeatedQuery(r.URL.RawQuery, scalars); errs != nil {
				refuse.write(ctx, http.StatusUnprocessableEntity, humaValidationFailed, errs...)
				return
			}
		}
		if len(checks) > 0 {
			if errs := paramChecks(ctx, r, checks); errs != nil {
				refuse.write(ctx, http.StatusUnprocessableEntity, humaValidationFailed, errs...)
				return
			}
		}
		if readsBody {
			var ok bool
			if ctx, ok = readBodyFirst(refuse, ctx, r, op.MaxBodyBytes, a.maxBody); !ok {
				return
			}
		}
		handler(ctx)
	})
}

// refuser writes the problem of a request limitedAdapter refuses, through the API's
// middlewares of the operation.
type refuser struct {
	adapter     *limitedAdapter // its api, set after huma.NewAPI's own operations
	middlewares huma.Middlewares
}

// write answers ctx with status, msg and errs, through the middlewares (none: directly).
func (f refuser) write(ctx huma.Context, status int, msg string, errs ...error) {
	api := f.adapter.api
	if len(f.middlewares) == 0 {
		_ = huma.WriteErr(api, ctx, status, msg, errs...)
		return
	}
	f.middlewares.Handler(func(ctx huma.Context) {
		_ = huma.WriteErr(api, ctx, status, msg, errs...)
	})(ctx)
}

// declaredBodyKey is the operation metadata where raiseBodyLimit keeps an operation's declared
// body limit, having raised its MaxBodyBytes by one.
const declaredBodyKey = "backend.declaredMaxBodyBytes"

// NewGroup is huma.NewGroup for the backend's API: a group whose operations' paths start with
// each of prefixes, whose operations take a body of exactly their limit as the API's others
// do. Use it rather than huma.NewGroup, whose copies of an operation keep huma's own body read
// at the declared limit, which refuses a body of exactly that size:
//
//	admin := backend.NewGroup(r.API, "/api/v1/admin")
//	huma.Post(admin, "/reports", createReport)
//
// Unlike huma.NewGroup's, an operation of the group needs a path of its own ("/" at least).
func NewGroup(api huma.API, prefixes ...string) *huma.Group {
	g := huma.NewGroup(api)
	// First, on the operation huma.Register reads the body with: the prefix modifier copies it.
	g.UseModifier(raiseBodyLimit)
	if len(prefixes) > 0 {
		g.UseModifier(huma.PrefixModifier(prefixes))
	}
	return g
}

// raiseBodyLimit raises the body limit of an operation that takes a body by one, as
// limitedAdapter does, keeping the declared one in the metadata for limitedAdapter, which may
// get a copy. A group modifies each operation twice (for the OpenAPI and for the adapter), and
// an operation of nested groups more: the first time counts. The metadata is copied first,
// as the app may share one map between operations.
func raiseBodyLimit(op *huma.Operation, next func(*huma.Operation)) {
	if _, done := op.Metadata[declaredBodyKey]; !done && op.MaxBodyBytes > 0 {
		meta := maps.Clone(op.Metadata)
		if meta == nil {
			meta = make(map[string]any, 1)
		}
		meta[declaredBodyKey] = op.MaxBodyBytes
		op.Metadata = meta
		op.MaxBodyBytes++
	}
	next(op)
}

// onceParam is a query parameter read from one value: a scalar, or an array written
// comma-separated (huma's default: ?tag=a,b), of which huma reads the first given.
type onceParam struct {
	name  string
	array bool
}

// scalarQuery lists op's query parameters read from one value. An array with explode
// (`query:"tag,explode"`) takes a value per repetition (?tag=a&tag=b) and is left out, as
// are deep objects (?filter[a]=1, other names).
func scalarQuery(op *huma.Operation) []onceParam {
	var params []onceParam
	for _, p := range op.Parameters {
		if p == nil || p.In != "query" || p.Style == "deepObject" {
			continue
		}
		array := p.Schema != nil && p.Schema.Type == huma.TypeArray
		if array && p.Explode != nil && *p.Explode {
			continue
		}
		params = append(params, onceParam{name: p.Name, array: array})
	}
	return params
}

// repeatedQuery refuses a query parameter read from one value (params) given more than once (from=A&from=B,
// as a client appending to a URL builds): huma reads the first and ignores the others, so
// the answer would be for a value the client may not have meant, without a word. The values
// are not echoed. A query without '&' (most requests) is not looked at further; otherwise the
// raw query is scanned once without allocating, keys being unescaped only when escaped.
func repeatedQuery(rawQuery string, params []onceParam) []error {
	if strings.IndexByte(rawQuery, '&') < 0 {
		return nil
	}
	// One pass over the query, counting each parameter's keys; an operation has a handful
	// of query parameters, and one with more than the array holds is counted on the heap.
	var small [16]int
	var counts []int
	if len(params) <= len(small) {
		counts = small[:len(params)]
	} else {
		counts = make([]int, len(params))
	}
	repeated := false
	for key := range queryPairs(rawQuery) {
		for i, p := range params {
			if key == p.name {
				counts[i]++
				repeated = repeated || counts[i] > 1
				break
			}
		}
	}
	if !repeated {
		return nil
	}
	var errs []error
	for i, p := range params {
		if n := counts[i]; n > 1 {
			msg := "is given " + strconv.Itoa(n) + " times, and only one value can count: give " + p.name + " once"
			if p.array {
				msg += ", its values separated by commas"
			}
			errs = append(errs, &huma.ErrorDetail{Location: "query." + p.name, Message: msg})
		}
	}
	return errs
}

// malformedQuery refuses a query pair url.ParseQuery drops without a word, so that the
// operation would answer as if the parameter were not given: one with a malformed
// percent-escape (?q=100%, a search for everything) or with a ';' (?q=a;b), which Go no
// longer reads as a separator. A query with neither '%' nor ';' is not looked at further.
func malformedQuery(rawQuery string) []error {
	if strings.IndexByte(rawQuery, '%') < 0 && strings.IndexByte(rawQuery, ';') < 0 {
		return nil
	}
	var errs []error
	for key, value := range rawQueryPairs(rawQuery) {
		at := "query"
		if k, err := url.QueryUnescape(key); err == nil && k != "" {
			at = "query." + clip(k)
		}
		switch {
		case strings.IndexByte(key, ';') >= 0 || strings.IndexByte(value, ';') >= 0:
			errs = append(errs, &huma.ErrorDetail{Location: at,
				Message: "has a ';', which does not separate parameters: separate them with '&', or write a ';' in a value as %3B"})
		case badEscape(key) != "" || badEscape(value) != "":
			bad := badEscape(key)
			if bad == "" {
				bad = badEscape(value)
			}
			errs = append(errs, &huma.ErrorDetail{Location: at,
				Message: "has a malformed percent-escape (" + strconv.Quote(bad) + "): write a literal % as %25"})
		}
	}
	return errs
}

// badEscape is s's first '%' not followed by two hexadecimal digits, with what follows it
// (up to two bytes); "" when every escape is whole.
func badEscape(s string) string {
	for i := strings.IndexByte(s, '%'); i >= 0; {
		rest := s[i+1:]
		if len(rest) < 2 || !isHex(rest[0]) || !isHex(rest[1]) {
			end := min(len(rest), 2)
			return "%" + strings.ToValidUTF8(rest[:end], "?")
		}
		j := strings.IndexByte(rest[2:], '%')
		if j < 0 {
			return ""
		}
		i += 3 + j
	}
	return ""
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// queryPairs yields rawQuery's keys, unescaped as huma reads them, with their raw values, in
// order: the request rules' one way through a query.
func queryPairs(rawQuery string) iter.Seq2[string, string] {
	return func(yield func(key, value string) bool) {
		for key, value := range rawQueryPairs(rawQuery) {
			if strings.ContainsAny(key, "%+") {
				key = unescapedKey(key)
			}
			if !yield(key, value) {
				return
			}
		}
	}
}

// rawQueryPairs yields rawQuery's keys and values as they are written.
func rawQueryPairs(rawQuery string) iter.Seq2[string, string] {
	return func(yield func(key, value string) bool) {
		for q := rawQuery; q != ""; {
			var pair string
			pair, q, _ = strings.Cut(q, "&")
			key, value, _ := strings.Cut(pair, "=")
			if !yield(key, value) {
				return
			}
		}
	}
}

// unescapedKey is a query key as huma reads it (url.ParseQuery's unescaping).
func unescapedKey(key string) string {
	k, err := url.QueryUnescape(key)
	if err != nil {
		return key
	}
	return k
}
