package httpclient

import (
	"errors"

	"github.com/aegisgo/aegis/template/internal/runtime/netfail"
)

// Reason names why a call to a provider (the host a client calls) got no answer, in words
// safe for clients and logs (a transport error carries no body of the provider's): the
// failure a user can act on, the address, the provider's state, a certificate, this
// client's breaker. baseURLSetting names the setting that holds the provider's address, for
// the failures it can fix. ok is false for an error it cannot place (or a call the caller
// canceled), which the caller then describes in its own words.
//
// Which failure it is comes from netfail.Classify, shared with the other parts, so a
// failure is the same kind here as in the OTLP exporter's or the database's health message.
func Reason(err error, baseURLSetting string) (reason string, ok bool) {
	if errors.Is(err, ErrBreakerOpen) {
		return "the provider failed repeatedly and calls to it are paused (circuit breaker open); retry later", true
	}
	switch netfail.Classify(err) {
	case netfail.HostName:
		return "the provider's host name did not resolve; check " + baseURLSetting, true
	case netfail.Refused:
		return "the provider refused the connection; check that it runs at " + baseURLSetting, true
	case netfail.Unreachable:
		return "there is no network route to the provider's host; check " + baseURLSetting + " and this machine's network", true
	case netfail.Certificate:
		return "the provider's TLS certificate was not trusted", true
	case netfail.NotTLS:
		return "the provider did not answer in TLS; check that " + baseURLSetting + " starts with http:// for a plain-HTTP server", true
	case netfail.Closed:
		return "the provider closed the connection before the answer was complete", true
	case netfail.Timeout:
		return "the connection to the provider timed out", true
	}
	return "", false
}
