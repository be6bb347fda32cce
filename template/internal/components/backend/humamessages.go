package backend

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/validation"
)

// teach rewords one of huma's validation errors so that it says what to send:
// huma's are terse ("expected length <= 20") and some show Go internals (a
// time layout, a package's error). huma gives an error's location and value
// but not its kind, so the kind is recognised by huma's own message formats
// (the validation package's Msg variables, of the huma version in go.mod, and
// the few huma.go writes inline for parameters); a message that matches none
// (an app's own, or one a later huma adds) comes back as it was. It returns the
// error's location (a missing property's, where huma gives its object's) and
// message.
func teach(d *huma.ErrorDetail) (string, string) {
	loc, msg := d.Location, d.Message
	if m, ok := match(msg, validation.MsgExpectedRequiredProperty); ok {
		return loc + locationKey(m[0]), "is required; add it"
	}
	if m, ok := match(msg, validation.MsgExpectedDependentRequiredProperty); ok {
		return loc + locationKey(m[0]), "is required when " + m[1] + " is present; add it"
	}
	if msg == validation.MsgUnexpectedProperty {
		return loc, "unknown property " + strconv.Quote(loc[strings.LastIndexByte(loc, '.')+1:]) + "; remove it (or check its spelling)"
	}
	if strings.HasPrefix(msg, "required ") && strings.HasSuffix(msg, " parameter is missing") {
		return loc, "is required; add it"
	}
	if msg == humaInvalidInteger {
		return loc, integerMessage(d.Value)
	}
	if reason, ok := strings.CutPrefix(msg, humaInvalidValue); ok {
		return loc, textMessage(reason)
	}
	if t, ok := formatMessages[msg]; ok {
		return loc, t
	}
	for _, f := range formatsWithReason {
		if _, ok := match(msg, *f.format); ok {
			return loc, f.msg // the reason is Go's (net/mail's, url.Parse's) wording
		}
	}
	for _, r := range boundMessages {
		if m, ok := match(msg, *r.format); ok {
			return loc, r.say(m[0], d.Value, loc)
		}
	}
	if m, ok := match(msg, validation.MsgExpectedOneOf); ok {
		return loc, "must be one of: " + m[0]
	}
	if m, ok := match(msg, validation.MsgExpectedMatchPattern); ok {
		return loc, "must match the pattern " + m[0]
	}
	if layout, ok := strings.CutPrefix(msg, "invalid date/time for format "); ok {
		return loc, timeMessage(layout, loc, d.Value)
	}
	if m, ok := match(msg, validation.MsgExpectedBePattern); ok {
		return loc, "must be " + m[0] // the schema's patternDescription
	}
	return loc, msg
}

// formatMessages are huma's messages for a value of the wrong type or format,
// reworded with an example where one helps.
var formatMessages = map[string]string{
	validation.MsgExpectedRFC3339DateTime:            "must be an RFC 3339 date-time such as 2026-12-07T10:00:00Z",
	validation.MsgExpectedRFC1123DateTime:            "must be an HTTP date such as Mon, 07 Dec 2026 10:00:00 GMT",
	validation.MsgExpectedRFC3339Date:                "must be a date such as 2026-12-07",
	validation.MsgExpectedRFC3339Time:                "must be a time such as 10:00:00 or 10:00:00Z",
	validation.MsgExpectedRFC5890Hostname:            "must be a host name such as example.com",
	validation.MsgExpectedRFC2673IPv4:                "must be an IPv4 address such as 192.0.2.1",
	validation.MsgExpectedRFC2373IPv6:                "must be an IPv6 address such as 2001:db8::1",
	validation.MsgExpectedRFCIPAddr:                  "must be an IP address such as 192.0.2.1 or 2001:db8::1",
	validation.MsgExpectedRFC6570URITemplate:         "must be a URI template such as /items/{id}",
	validation.MsgExpectedRFC6901JSONPointer:         "must be a JSON pointer such as /items/0",
	validation.MsgExpectedRFC6901RelativeJSONPointer: "must be a relative JSON pointer such as 0/items",
	validation.MsgExpectedBase64String:               "must be base64-encoded",
	validation.MsgExpectedBoolean:                    "must be true or false",
	validation.MsgExpectedNumber:                     "must be a number",
	validation.MsgExpectedInteger:                    "must be a whole number",
	validation.MsgExpectedString:                     "must be a string",
	validation.MsgExpectedArray:                      "must be an array",
	validation.MsgExpectedObject:                     "must be an object",
	validation.MsgExpectedArrayItemsUnique:           "must not repeat an item; remove the duplicates",
	// huma.go's own, for a query, path, header or cookie parameter that does
	// not parse.
	humaInvalidInteger:       "must be a whole number such as 10",
	"invalid float":          "must be a number such as 1.5",
	"invalid floating value": "must be a number such as 1.5",
	"invalid boolean":        "must be true or false",
	"invalid url.URL value":  "must be a URL such as https://example.com/path",
}

// humaInvalidInteger is huma's message for an integer parameter (of any size, signed or not)
// that does not parse, and humaInvalidValue the start of its message for one of a type that
// parses itself (encoding.TextUnmarshaler), followed by the type's error.
const (
	humaInvalidInteger = "invalid integer"
	humaInvalidValue   = "invalid value: "
)

// integerLiteral is a whole number as strconv writes one.
var integerLiteral = regexp.MustCompile(`^[+-]?[0-9]+$`)

// integerMessage says what is wrong with raw, an integer parameter's value that huma could
// not parse: huma says "invalid integer" for a negative value of an unsigned parameter and
// for one out of range as for "ten". A time.Duration parameter is an integer to huma, of
// nanoseconds, so a duration such as 1h is refused as not a whole number: the message says
// how to write it.
func integerMessage(raw any) string {
	s, _ := raw.(string)
	if integerLiteral.MatchString(s) {
		n, err := strconv.ParseInt(s, 10, 64)
		switch {
		case err != nil && s[0] == '-':
			return "is too small a number; send a whole number such as 10"
		case err != nil:
			return "is too large a number; send a smaller whole number such as 10"
		case n < 0:
			// Only an unsigned parameter refuses what ParseInt takes.
			return "must be a whole number of 0 or more, such as 10"
		default:
			return "must be a whole number written without a sign, such as 10"
		}
	}
	if d, err := time.ParseDuration(s); err == nil && len(s) <= maxEchoedValue {
		return "must be a whole number such as 10; a duration is given in nanoseconds (" + s + " is " + strconv.FormatInt(int64(d), 10) + ")"
	}
	return formatMessages[humaInvalidInteger]
}

// textMessage rewords the reason a parameter's type gave for refusing its value (its
// UnmarshalText error): with an example for the net/netip types, whose errors read as Go
// ("ParseAddr(\"x\"): unable to parse IP"), and as the type said for others.
func textMessage(reason string) string {
	switch {
	case strings.HasPrefix(reason, "ParseAddr("):
		return formatMessages[validation.MsgExpectedRFCIPAddr]
	case strings.HasPrefix(reason, "netip.ParsePrefix("):
		return "must be an IP prefix such as 192.0.2.0/24 or 2001:db8::/32"
	case strings.HasPrefix(reason, "not an ip:port"), strings.HasPrefix(reason, "invalid port "):
		return "must be an IP address and port such as 192.0.2.1:8080 or [2001:db8::1]:8080"
	}
	return "is not valid: " + reason
}

// formatsWithReason are the format messages huma follows with the Go error
// that refused the value ("mail: missing '@' or angle-addr").
var formatsWithReason = []struct {
	format *string
	msg    string
}{
	{&validation.MsgExpectedRFC5322Email, "must be an email address such as name@example.com"},
	{&validation.MsgExpectedRFC3986URI, "must be a URI such as https://example.com/path"},
	{&validation.MsgExpectedRFC4122UUID, "must be a UUID such as 123e4567-e89b-12d3-a456-426614174000"},
	{&validation.MsgExpectedDuration, "must be a duration such as 1h30m or 90s"},
	{&validation.MsgExpectedRegexp, "must be a valid regular expression"},
}

// boundMessages are huma's messages for a value past a bound of its schema.
var boundMessages = []struct {
	format *string
	say    func(bound string, value any, loc string) string
}{
	{&validation.MsgExpectedMaxLength, func(n string, v any, loc string) string {
		return "must be at most " + count(n, "character") + has(v, loc) + "; send a shorter one"
	}},
	{&validation.MsgExpectedMinLength, func(n string, v any, loc string) string {
		return "must be at least " + count(n, "character") + has(v, loc)
	}},
	{&validation.MsgExpectedMaximumNumber, func(n string, _ any, _ string) string { return "must be at most " + number(n) }},
	{&validation.MsgExpectedMinimumNumber, func(n string, _ any, _ string) string { return "must be at least " + number(n) }},
	{&validation.MsgExpectedExclusiveMaximumNumber, func(n string, _ any, _ string) string { return "must be less than " + number(n) }},
	{&validation.MsgExpectedExclusiveMinimumNumber, func(n string, _ any, _ string) string { return "must be greater than " + number(n) }},
	{&validation.MsgExpectedNumberBeMultipleOf, func(n string, _ any, _ string) string { return "must be a multiple of " + number(n) }},
	{&validation.MsgExpectedMaxItems, func(n string, v any, _ string) string {
		return "must have at most " + count(n, "item") + items(v) + "; send fewer"
	}},
	{&validation.MsgExpectedMinItems, func(n string, v any, _ string) string {
		return "must have at least " + count(n, "item") + items(v)
	}},
	{&validation.MsgExpectedMaxProperties, func(n string, _ any, _ string) string { return "must have at most " + count(n, "property") }},
	{&validation.MsgExpectedMinProperties, func(n string, _ any, _ string) string { return "must have at least " + count(n, "property") }},
}

// count is "1 character", "20 characters".
func count(n, unit string) string {
	if n == "1" {
		return "1 " + unit
	}
	if u, ok := strings.CutSuffix(unit, "y"); ok {
		return n + " " + u + "ies"
	}
	return n + " " + unit + "s"
}

// has tells how many characters (runes, as huma counts them) a string value
// has. Never for a header or cookie: those carry tokens, whose length is
// nobody's business.
func has(v any, loc string) string {
	s, ok := v.(string)
	if !ok || strings.HasPrefix(loc, "header") || strings.HasPrefix(loc, "cookie") {
		return ""
	}
	return " (it has " + strconv.Itoa(utf8.RuneCountInString(s)) + ")"
}

// items tells how many items an array value has.
func items(v any) string {
	if a, ok := v.([]any); ok {
		return " (it has " + strconv.Itoa(len(a)) + ")"
	}
	return ""
}

// number writes a schema's bound as a person would: huma formats it with %v of
// a float64, which writes a million as 1e+06. A bound past what anyone writes out
// (float32's, 3.4e+38) keeps its exponent.
func number(s string) string {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return s
	}
	if math.Abs(f) >= 1e21 {
		return strconv.FormatFloat(f, 'g', -1, 64) // float32's range, 39 digits otherwise
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}

// timeMessage says how to write a time parameter whose layout (a Go time
// layout, meaningless to a client) is layout: by an example in it. raw is the
// value sent (huma gives it as the error's value); for an RFC 3339 layout it
// names the two usual mistakes, which a client would otherwise be left to
// guess: a date without a time, and an offset's + written raw in a URL's query,
// which reads it as a space. loc is the parameter's location ("query.from").
func timeMessage(layout, loc string, raw any) string {
	switch layout {
	case time.RFC3339, time.RFC3339Nano:
		if s, ok := raw.(string); ok {
			if hint := timeHint(layout, loc, s); hint != "" {
				return hint
			}
		}
		return formatMessages[validation.MsgExpectedRFC3339DateTime]
	case time.DateOnly:
		return formatMessages[validation.MsgExpectedRFC3339Date]
	}
	return "must be a time written like " + exampleTime.Format(layout)
}

// timeHint is the message for an RFC 3339 time parameter sent as s when s is one
// of the usual mistakes, else "". Only a valid date is echoed (10 characters).
func timeHint(layout, loc, s string) string {
	if _, err := time.Parse(time.DateOnly, s); err == nil {
		return "is a date without a time: give an RFC 3339 time such as " + s + "T00:00:00Z"
	}
	name, inQuery := strings.CutPrefix(loc, "query.")
	if !inQuery || !strings.Contains(s, " ") {
		return ""
	}
	if _, err := time.Parse(layout, strings.ReplaceAll(s, " ", "+")); err == nil {
		return "has a space where its offset's + was (a + in a URL's query reads as a space): write the + as %2B, such as " +
			name + "=2026-01-02T15:04:05%2B01:00, or give the time in UTC with Z"
	}
	return ""
}

// exampleTime is the time the examples show (2026-12-07T10:00:00Z).
var exampleTime = time.Date(2026, time.December, 7, 10, 0, 0, 0, time.UTC)

// verb matches the fmt verbs in huma's message formats.
var verb = regexp.MustCompile(`%[vdsq]`)

// match reports whether msg is format with its verbs filled in, and with what.
// The literal parts between verbs must appear in order; a verb takes the
// shortest text up to the next part.
func match(msg, format string) ([]string, bool) {
	parts := verb.Split(format, -1)
	if len(parts) < 2 || !strings.HasPrefix(msg, parts[0]) {
		return nil, false
	}
	rest := msg[len(parts[0]):]
	args := make([]string, 0, len(parts)-1)
	for i, p := range parts[1:] {
		var at int
		if i == len(parts)-2 {
			if !strings.HasSuffix(rest, p) {
				return nil, false
			}
			at = len(rest) - len(p)
		} else if at = strings.Index(rest, p); at < 0 || p == "" {
			return nil, false
		}
		args = append(args, rest[:at])
		rest = rest[at+len(p):]
	}
	return args, true
}

// tooLarge is huma's detail when the body it reads reaches the operation's
// limit. huma refuses a body of exactly that limit (it takes reading the limit
// as having more), so every operation's limit is one more than declared
// (limitedAdapter) and the limit huma names is one more than the one to show.
const tooLarge = "request body is too large limit=%d bytes"

// tooLargeDetail rewords huma's tooLarge detail as tooLargeMessage. maxBody is
// MAX_BODY_BYTES.
func tooLargeDetail(detail string, maxBody int64) (string, bool) {
	var limit int64
	if _, err := fmt.Sscanf(detail, tooLarge, &limit); err != nil || fmt.Sprintf(tooLarge, limit) != detail || limit < 1 {
		return detail, false
	}
	return tooLargeMessage(0, limit-1, maxBody), true
}

// tooLargeMessage is the detail of every 413 for a request body: its size when
// known (Content-Length; 0 when not), the limit in units a person reads, where
// the limit comes from, and what to do. maxBody is MAX_BODY_BYTES, which a
// limit equal to it is named as.
func tooLargeMessage(size, limit, maxBody int64) string {
	which := "this endpoint's limit"
	if limit == maxBody {
		which = "the limit (MAX_BODY_BYTES)"
	}
	is := "The request body is larger than "
	if size > 0 {
		is = "The request body is " + strconv.FormatInt(size, 10) + " bytes, more than "
	}
	return is + byteSize(limit) + ", " + which + "; send less, for example in smaller parts."
}

// byteSize writes n bytes as "1 MiB", "768 KiB", "1.5 MiB" or "100 bytes".
func byteSize(n int64) string {
	for _, u := range []struct {
		size int64
		name string
	}{{1 << 30, "GiB"}, {1 << 20, "MiB"}, {1 << 10, "KiB"}} {
		if n < u.size {
			continue
		}
		if n%u.size == 0 {
			return strconv.FormatInt(n/u.size, 10) + " " + u.name
		}
		return strconv.FormatFloat(float64(n)/float64(u.size), 'f', 1, 64) + " " + u.name + " (" + strconv.FormatInt(n, 10) + " bytes)"
	}
	if n == 1 {
		return "1 byte"
	}
	return strconv.FormatInt(n, 10) + " bytes"
}
