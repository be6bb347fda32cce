package registry

import (
	"context"
	"net/http"
)

// Middleware opens a Scope for each request, puts it in the request context (read it with
// FromContext) and closes it when the handler returns, even if it panics. Close errors are
// logged, since the response is already written.
func Middleware(c *Container) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s := c.NewScope(r.Context())
			defer func() {
				// The request context is cancelled once the client goes away; cleanup must
				// run regardless, bounded by each instance's stop timeout.
				if err := s.Close(context.WithoutCancel(r.Context())); err != nil {
					c.logger().Error("registry: close request scope", "err", err, "path", r.URL.Path)
				}
			}()
			// The scope's own context is the request's with the scope as Resolver: no
			// extra allocation per request.
			next.ServeHTTP(w, r.WithContext(&s.bctx))
		})
	}
}
