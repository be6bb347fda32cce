// Package netfail names why an outbound connection got no answer: the one classification of
// transport failures that every part words in its own terms (the provider, the collector, the
// database server, with the setting each one reads). Before it, each part kept its own list of
// cases, in its own order, and the same failure read differently from part to part (a DNS
// lookup that timed out was "timed out" for one and "host name" for another).
//
// It lives in runtime/ because components and services both need it, and a component cannot
// import a service.
package netfail

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"syscall"
)

// Kind is a class of transport failure, named for what the user checks.
type Kind int

// The kinds, in the order Classify tests them (see Classify).
const (
	// Unknown is an error Classify cannot place (or nil): the caller keeps its own text.
	Unknown Kind = iota
	// Canceled: this side gave up (the caller's context was canceled, the app is stopping).
	Canceled
	// HostName: the host name did not resolve (no such host, or no DNS answer in time).
	HostName
	// Refused: the host answered that nothing listens at that port.
	Refused
	// Unreachable: no route to the host or its network.
	Unreachable
	// Certificate: the server's TLS certificate was not trusted (unknown authority, another
	// host name, expired).
	Certificate
	// NotTLS: the server answered, but not in TLS (https:// or rediss:// to a plain port).
	NotTLS
	// Closed: the server closed or reset the connection before the answer was complete.
	Closed
	// Timeout: no answer in time (a deadline, a dial or read timeout).
	Timeout
)

// String names the kind, for logs and test failures.
func (k Kind) String() string {
	switch k {
	case Canceled:
		return "canceled"
	case HostName:
		return "host name"
	case Refused:
		return "refused"
	case Unreachable:
		return "unreachable"
	case Certificate:
		return "certificate"
	case NotTLS:
		return "not TLS"
	case Closed:
		return "closed"
	case Timeout:
		return "timeout"
	}
	return "unknown"
}

// Classify says which Kind of transport failure err is, looking through any wrapping
// (*url.Error, *net.OpError, fmt.Errorf's %w). When err matches more than one, the first in
// this order wins:
//
//  1. Canceled first: when this side gave up, whatever the connection was doing is not the
//     server's fault, and telling the user to check the server would mislead.
//  2. HostName before Timeout: a lookup that timed out (*net.DNSError with IsTimeout) never
//     reached the host, so "timed out" would send the user to a server that was not asked,
//     or to raise a timeout that does not help; the name, or the resolver, is what to check.
//  3. Refused, Unreachable, Certificate, NotTLS, Closed: each names one step of the
//     connection that failed; no real error is two of them.
//  4. Timeout last: it is the least specific (a net.Error's Timeout is also true of errors
//     that say more), so any more precise kind above wins.
func Classify(err error) Kind {
	if err == nil {
		return Unknown
	}
	var (
		dns       *net.DNSError
		verify    *tls.CertificateVerificationError
		unknownCA x509.UnknownAuthorityError
		hostname  x509.HostnameError
		invalid   x509.CertificateInvalidError
		record    tls.RecordHeaderError
		ne        net.Error
	)
	switch {
	case errors.Is(err, context.Canceled):
		return Canceled
	case errors.As(err, &dns):
		return HostName
	case errors.Is(err, syscall.ECONNREFUSED):
		return Refused
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return Unreachable
	case errors.As(err, &verify), errors.As(err, &unknownCA), errors.As(err, &hostname), errors.As(err, &invalid):
		return Certificate
	case errors.Is(err, http.ErrSchemeMismatch), errors.As(err, &record):
		return NotTLS
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.ECONNABORTED), errors.Is(err, syscall.EPIPE),
		closedIdle(err):
		return Closed
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return Timeout
	}
	return Unknown
}

// closedIdle reports net/http's error for a connection the server closed before the request
// was under way: the transport's reader saw the end of the connection first, and says so in an
// error of its own (unexported, wrapping nothing), on a new connection as on a reused one.
func closedIdle(err error) bool {
	for ; err != nil; err = errors.Unwrap(err) {
		if err.Error() == "http: server closed idle connection" {
			return true
		}
	}
	return false
}
