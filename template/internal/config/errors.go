package config

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Error is a setting with a bad value. Its message is one line that names the
// variable, the value, what is wrong and how to fix it:
//
//	config: LOG_LEVEL="verbose" is not valid; use one of debug, info, warn, error
//
// A secret (a password, a token, a URL that may carry either) is named
// without its value, and the underlying error is not part of the message,
// since parsers quote their input:
//
//	config: DATABASE_URL (value not shown) has no scheme; use ...
type Error struct {
	Var    string // environment variable, e.g. "PORT"
	Value  string // the value that was read; ignored when Secret
	Reason string // what is wrong, e.g. "is not a valid whole number"
	Fix    string // what to do, e.g. "set PORT to a whole number such as 8000"
	Err    error  // underlying cause, if any; never printed
	Secret bool   // the value may hold a secret: never print it
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.Secret {
		fmt.Fprintf(&b, "config: %s (value not shown) %s", e.Var, e.Reason)
	} else {
		fmt.Fprintf(&b, "config: %s=%q %s", e.Var, withoutPassword(e.Value), e.Reason)
	}
	if e.Fix != "" {
		b.WriteString("; ")
		b.WriteString(e.Fix)
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// userinfo matches the user:password@ of a URL-like value, parsable or not ("x://u:pw@h",
// "u:pw@h:5432").
var userinfo = regexp.MustCompile(`^([^:/?#@\s]*://)?([^:/?#@\s]*):[^/?#@\s]*@`)

// withoutPassword hides the password of a URL-like value: a URL setting judged not secret (a
// front-end page, a provider's base URL) can still be given one by mistake, and the message
// goes to logs.
func withoutPassword(v string) string {
	return userinfo.ReplaceAllString(v, "${1}${2}:xxxxx@")
}

// Standalone says the message is complete for whoever runs the app: the registry then reports
// a settings constructor's *Error as it is, without the service and registration site that
// would bury the fix (registry.StandaloneError).
func (e *Error) Standalone() bool { return true }

// Invalid returns an *Error for variable name holding value, for use in a
// settings struct's Validate method.
func Invalid(name, value, reason, fix string) error {
	return &Error{Var: name, Value: value, Reason: reason, Fix: fix}
}

// InvalidSecret returns an *Error for variable name whose value may hold a
// secret: the message names the variable and what is wrong, never the value.
// reason must not quote the value either (nor an error message that does).
func InvalidSecret(name, reason, fix string) error {
	return &Error{Var: name, Reason: reason, Fix: fix, Secret: true}
}

// OneOf returns nil when value is one of allowed, and otherwise an *Error
// listing the allowed values.
func OneOf(name, value string, allowed ...string) error {
	if slices.Contains(allowed, value) {
		return nil
	}
	return &Error{
		Var:    name,
		Value:  value,
		Reason: "is not valid",
		Fix:    "use one of " + strings.Join(allowed, ", "),
	}
}

// number is what the range checks compare: the integers, floats and time.Duration.
type number interface {
	~int | ~int8 | ~int16 | ~int32 | ~int64 | ~uint | ~uint8 | ~uint16 | ~uint32 | ~uint64 | ~float32 | ~float64
}

// Positive returns nil when value is above zero, and otherwise an *Error saying variable name
// must be positive, with fix: for a settings struct's Validate, as are AtLeast, NotNegative
// and InRange. Their results can go straight into errors.Join, which drops the nils.
func Positive[N number](name string, value N, fix string) error {
	if value > 0 {
		return nil
	}
	return Invalid(name, fmt.Sprint(value), "must be positive", fix)
}

// AtLeast returns nil when value is least or more, and otherwise an *Error saying so.
func AtLeast[N number](name string, value, least N, fix string) error {
	if value >= least {
		return nil
	}
	return Invalid(name, fmt.Sprint(value), fmt.Sprintf("must be at least %v", least), fix)
}

// NotNegative returns nil when value is zero or more, and otherwise an *Error saying so.
func NotNegative[N number](name string, value N, fix string) error {
	if value >= 0 {
		return nil
	}
	return Invalid(name, fmt.Sprint(value), "must not be negative", fix)
}

// InRange returns nil when value is from lo to hi, and otherwise an *Error saying it is out of
// range.
func InRange[N number](name string, value, lo, hi N, fix string) error {
	if value >= lo && value <= hi {
		return nil
	}
	return Invalid(name, fmt.Sprint(value), "is out of range", fix)
}

// HTTPURL is what an http(s) URL setting may hold besides the scheme and host every one needs:
// a front end's page, a provider's or collector's base URL, the app's own public URL. One set
// of checks worded once, so every part refuses the same mistakes in the same words.
type HTTPURL struct {
	Fix string // how to correct any problem, e.g. "use a URL such as https://api.example.com"

	// Secret says the value may carry a key (a collector's in its query): never quoted.
	Secret bool

	// AllowUser accepts user:password@, which Go's HTTP client sends as basic auth. Elsewhere
	// credentials belong in their own secret setting: in a URL they end up in links, emails
	// and logs.
	AllowUser     bool
	AllowQuery    bool
	AllowFragment bool
}

// Check returns nil for an empty value or one the rules accept, and otherwise an *Error for
// variable name saying the first thing wrong, with the rules' fix.
func (h HTTPURL) Check(name, value string) error {
	reason, quote := h.problem(value)
	switch {
	case reason == "":
		return nil
	case h.Secret || !quote:
		return InvalidSecret(name, reason, h.Fix)
	}
	return Invalid(name, value, reason, h.Fix)
}

// CheckFlag is Check for a command-line flag such as "--url": the same rules, so a flag and a
// setting refuse the same values, in a message worded for the flag rather than a variable:
//
//	--url "staging:8000": is not an absolute http(s) URL; use a URL such as http://10.0.0.5:8000
//
// It returns nil for an empty value (the flag not given) or an accepted one. The error is not
// an *Error: the caller makes it a usage error of its command.
func (h HTTPURL) CheckFlag(flag, value string) error {
	reason, quote := h.problem(value)
	if reason == "" {
		return nil
	}
	shown := "(value not shown)"
	if quote && !h.Secret {
		shown = strconv.Quote(withoutPassword(value))
	}
	msg := flag + " " + shown + ": " + reason
	if h.Fix != "" {
		msg += "; " + h.Fix
	}
	return errors.New(msg)
}

// problem is the first rule value breaks ("" for none, or an empty value), and whether the
// value may be quoted in the message saying so: a user name or password never is.
func (h HTTPURL) problem(value string) (reason string, quote bool) {
	if value == "" {
		return "", true
	}
	u, err := url.Parse(value)
	switch {
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "":
		return "is not an absolute http(s) URL", true
	case u.User != nil && !h.AllowUser:
		// Never quoted, whatever Secret says: it holds a password, or a user name in its place.
		return "holds a user name or password", false
	case (u.RawQuery != "" || u.ForceQuery) && !h.AllowQuery:
		return "has a query", true
	case u.Fragment != "" && !h.AllowFragment:
		return "has a fragment", true
	}
	return "", true
}
