package httpclient

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"syscall"
)

// Reason names why a call to a provider (the host a client calls) got no answer, in words
// safe for clients and logs (a transport error carries no body of the provider's): the
// failure a user can act on, the address, the provider's state, a certificate, this
// client's breaker. baseURLSetting names the setting that holds the provider's address, for
// the failures it can fix. ok is false for an error it cannot place, which the caller then
// describes in its own words.
func Reason(err error, baseURLSetting string) (reason string, ok bool) {
	var dns *net.DNSError
	var cert *tls.CertificateVerificationError
	var unknownCA x509.UnknownAuthorityError
	var hostname x509.HostnameError
	var ne net.Error
	switch {
	case errors.Is(err, ErrBreakerOpen):
		return "the provider failed repeatedly and calls to it are paused (circuit breaker open); retry later", true
	case errors.As(err, &dns):
		return "the provider's host name did not resolve; check " + baseURLSetting, true
	case errors.Is(err, syscall.ECONNREFUSED):
		return "the provider refused the connection; check that it runs at " + baseURLSetting, true
	case errors.As(err, &cert), errors.As(err, &unknownCA), errors.As(err, &hostname):
		return "the provider's TLS certificate was not trusted", true
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF), errors.Is(err, syscall.ECONNRESET):
		return "the provider closed the connection before the answer was complete", true
	case errors.As(err, &ne) && ne.Timeout():
		return "the connection to the provider timed out", true
	}
	return "", false
}
