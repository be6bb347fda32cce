package registry

import (
	"context"
	"net/http"
)

// Middleware gives each request a scope and closes it when the handler returns, even if it
// panics: the request context is a ScopeContext, so FromContext returns the request's
// LazyScope. The Scope itself opens only when something resolves a scoped or transient
// service, so a request that needs none costs one small allocation. Close errors are logged,
// since the response is already written.
func Middleware(c *Container) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			sc := new(ScopeContext)
			sc.Init(c, r.Context(), nil)
			defer CloseScope(c, &sc.Scope, r)
			next.ServeHTTP(w, r.WithContext(sc))
		})
	}
}

// CloseScope closes the LazyScope of request r and logs an error from it with c's logger; it
// is the end of Middleware, for handlers that install the ScopeContext themselves (the backend
// puts it in the same per-request value as the request ID).
func CloseScope(c *Container, l *LazyScope, r *http.Request) {
	if l == nil || l.endUnopened() {
		return // nothing was opened: no context to make
	}
	// The request context is cancelled once the client goes away; cleanup must run
	// regardless, bounded by each instance's stop timeout.
	if err := l.Close(context.WithoutCancel(r.Context())); err != nil {
		c.logger().Error("registry: close request scope", "err", err, "path", r.URL.Path)
	}
}
