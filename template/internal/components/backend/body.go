package backend

import (
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"
)

// readBodyFirst reads the body of an operation that takes one (r's, of ctx)
// before huma does, and answers a body that cannot be read as the client's
// fault; false when it answered. huma answers any read error other than a
// timeout with 500 ("cannot read request body"), so a malformed chunked
// encoding or a connection cut mid-body, both the client's doing, would count
// as server errors and be logged at ERROR. huma reads the whole body into
// memory anyway, bounded by the operation's MaxBodyBytes (max, one more than
// its limit: limitedAdapter), so buffering it here first costs one copy and no
// more memory than that bound. A body that reaches max, past the limit, gets
// the 413 here, naming the limit: huma's own read may be bounded by the
// declared limit rather than max (an operation a group copied: limitedAdapter),
// and would name one byte less. maxBody is MAX_BODY_BYTES.
func readBodyFirst(refuse refuser, ctx huma.Context, r *http.Request, max, maxBody int64) (huma.Context, bool) {
	if r.Body == nil || r.Body == http.NoBody {
		return ctx, true
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, max))
	if err != nil {
		status, msg := bodyReadError(err)
		refuse.write(ctx, status, msg)
		return nil, false
	}
	if int64(len(b)) >= max {
		refuse.write(ctx, http.StatusRequestEntityTooLarge, tooLargeMessage(0, max-1, maxBody))
		return nil, false
	}
	r.Body = io.NopCloser(bytes.NewReader(b))
	return bodyRead{ctx}, true
}

// bodyRead is the context of an operation whose body readBodyFirst has read. huma sets a read
// deadline (BodyReadTimeout) before it reads a body and never clears it; with the body read
// already, net/http is reading the idle connection in the background (to notice a client that
// hangs up), and when that deadline passed the read would fail and net/http would cancel the
// request's context: every such operation running longer than 5 s would be cut.
type bodyRead struct{ operationContext }

// operationContext names the embedded huma.Context apart from its Context method.
type operationContext = huma.Context

func (bodyRead) SetReadDeadline(time.Time) error { return nil }

// Unwrap gives humachi.Unwrap the adapter's context.
func (c bodyRead) Unwrap() huma.Context { return c.operationContext }

// bodyReadError maps an error reading a request body to the status and
// detail the client gets. None of them is the server's fault.
func bodyReadError(err error) (int, string) {
	var tooBig *http.MaxBytesError
	var netErr net.Error
	switch {
	case errors.As(err, &tooBig):
		// Only limitBody's MaxBytesReader fails so: its limit is MAX_BODY_BYTES.
		return http.StatusRequestEntityTooLarge, tooLargeMessage(0, tooBig.Limit, tooBig.Limit)
	case errors.As(err, &netErr) && netErr.Timeout():
		return http.StatusRequestTimeout, "The request body did not arrive in time."
	default:
		return http.StatusBadRequest, "The request body could not be read: it is malformed (for example a broken chunked encoding) or was cut short."
	}
}
