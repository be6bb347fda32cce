package httpclient

import (
	"net/http"
	"strings"

	"github.com/aegisgo/aegis/template/internal/runtime/netfail"
)

// retryWorthy reports whether a failed attempt may succeed when sent again: a transport error
// (reset, refused, timed out, a dropped connection) or a status that says "later" (408, 429,
// 5xx but 501, which will not change). A certificate the client does not trust, a server that
// does not speak TLS (https:// to a plain-HTTP port: the base URL's scheme is wrong), an
// unsupported scheme or the caller's cancellation will not change either.
//
// failsafehttp.NewRetryPolicyBuilder decides about the same, but importing failsafehttp
// compiles its server half (adaptive limiter, t-digest) into every app; this is the client
// half, with 408 added.
func retryWorthy(resp *http.Response, err error) bool {
	if err != nil {
		switch kind := netfail.Classify(err); {
		case kind == netfail.Canceled, kind == netfail.Certificate, kind == netfail.NotTLS,
			strings.Contains(err.Error(), "unsupported protocol scheme"):
			return false
		}
		return true
	}
	if resp == nil {
		return false
	}
	switch s := resp.StatusCode; {
	case s == http.StatusRequestTimeout, s == http.StatusTooManyRequests:
		return true
	case s >= 500 && s != http.StatusNotImplemented && s != http.StatusHTTPVersionNotSupported:
		return true
	}
	return false
}
