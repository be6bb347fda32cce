package httpclient

import (
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// Redacted replaces a secret in logs and error messages.
const Redacted = "REDACTED"

// secretHeaders are the headers that carry credentials whatever their value looks like.
var secretHeaders = []string{"authorization", "proxy-authorization", "cookie", "set-cookie"}

// secretSuffixes end the names of headers and query parameters that hold keys, tokens and
// signatures (X-Api-Key, X-Auth-Token, X-Hub-Signature, access_token, client_secret, ...).
var secretSuffixes = []string{"key", "token", "secret", "signature", "password", "passwd", "credential", "credentials", "session", "auth"}

// secretParams are query parameter names that hold credentials without a telling suffix.
var secretParams = []string{"sig", "pwd", "code", "x-amz-credential", "x-goog-credential"}

// notSecret are names a suffix would flag that hold nothing secret and help when debugging.
var notSecret = []string{"idempotency-key"}

// SecretHeader reports whether a header's value must never be logged: credentials
// (Authorization, Proxy-Authorization, Cookie) and headers named like keys, tokens, secrets or
// signatures (X-Api-Key, X-Auth-Token, X-Webhook-Secret, X-Hub-Signature-256).
func SecretHeader(name string) bool {
	n := strings.ToLower(name)
	return slices.Contains(secretHeaders, n) || secretName(n)
}

// SecretParam reports whether a query parameter's value must never be logged: key, api_key,
// apikey, token, access_token, secret, client_secret, signature, sig, password and the like.
func SecretParam(name string) bool {
	n := strings.ToLower(name)
	return slices.Contains(secretParams, n) || secretName(n)
}

func secretName(n string) bool {
	if slices.Contains(notSecret, n) {
		return false
	}
	// A version suffix (X-Hub-Signature-256) does not make a name less secret.
	n = strings.TrimRight(n, "0123456789-_")
	for _, s := range secretSuffixes {
		if strings.HasSuffix(n, s) {
			return true
		}
	}
	return false
}

// RedactQuery returns a raw query with the values of secret parameters (SecretParam) replaced
// by Redacted, the rest untouched and in order.
func RedactQuery(raw string) string {
	if raw == "" {
		return ""
	}
	var b strings.Builder
	changed := false
	for i, part := range strings.Split(raw, "&") {
		if i > 0 {
			b.WriteByte('&')
		}
		name, _, hasValue := strings.Cut(part, "=")
		if unescaped, err := url.QueryUnescape(name); err == nil {
			name = unescaped
		}
		if hasValue && SecretParam(name) {
			b.WriteString(part[:strings.IndexByte(part, '=')+1])
			b.WriteString(Redacted)
			changed = true
			continue
		}
		b.WriteString(part)
	}
	if !changed {
		return raw
	}
	return b.String()
}

// RedactURL returns u as text without its user information and with secret query values
// redacted: what logs and error messages show of a URL.
func RedactURL(u *url.URL) string {
	if u == nil {
		return ""
	}
	v := *u
	v.User = nil
	v.RawQuery = RedactQuery(v.RawQuery)
	return v.String()
}

// redactedPath is the path and query of u as logs show them.
func redactedPath(u *url.URL) string {
	p := u.EscapedPath()
	if u.RawQuery != "" {
		p += "?" + RedactQuery(u.RawQuery)
	}
	return p
}

// headerAttrs are a request's headers as a log group, secret values (SecretHeader) redacted.
func headerAttrs(h http.Header) slog.Attr {
	attrs := make([]any, 0, len(h))
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		v := strings.Join(h[k], ", ")
		if SecretHeader(k) {
			v = Redacted
		}
		attrs = append(attrs, slog.String(k, v))
	}
	return slog.Group("headers", attrs...)
}

// redactRawURL is RedactURL for text that may not parse as a URL (what an error about it
// shows): the user information before an "@" in the authority is dropped and secret query
// values are redacted.
func redactRawURL(raw string) string {
	rest, fragment, hasFragment := strings.Cut(raw, "#")
	rest, query, hasQuery := strings.Cut(rest, "?")
	if i := strings.Index(rest, "//"); i >= 0 {
		authority := rest[i+2:]
		if end := strings.IndexByte(authority, '/'); end >= 0 {
			authority = authority[:end]
		}
		if at := strings.LastIndexByte(authority, '@'); at >= 0 {
			rest = rest[:i+2] + rest[i+2+at+1:]
		}
	}
	if hasQuery {
		rest += "?" + RedactQuery(query)
	}
	if hasFragment {
		rest += "#" + fragment
	}
	return rest
}
