package backend

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// detachedGrace is how long detached streams still open when the shutdown grace ran out get,
// once cancelled, to end (storing what they had) before their connections are closed.
const detachedGrace = time.Second

// Serve answers requests on ln with h until ctx is cancelled, then shuts
// down gracefully: it stops accepting connections, lets in-flight requests
// finish within HTTP_SHUTDOWN_TIMEOUT, and closes whatever is still open
// after that. It returns nil after a clean drain. Request contexts are not
// cancelled by ctx (only by the client or the drain deadline), so a request
// that is running when shutdown begins gets to finish.
func (s *Server) Serve(ctx context.Context, ln net.Listener, h http.Handler) error {
	if !s.state.CompareAndSwap(stateIdle, stateServing) {
		return errors.New("backend: serve: the server is already serving")
	}
	defer s.state.Store(stateIdle)

	// Detached responses (Detach) find the set that a shutdown waits for in their context.
	// Their connections come back through keep for the client's next request.
	idle := s.settings.IdleTimeout
	if idle == 0 { // as net/http reads its IdleTimeout
		idle = s.settings.ReadTimeout
	}
	keep := newKeepListener(ln, idle)
	detached := &detachedSet{keep: keep}
	base := context.WithValue(context.WithoutCancel(ctx), detachedSetKey{}, detached)
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: s.settings.ReadHeaderTimeout,
		ReadTimeout:       s.settings.ReadTimeout,
		WriteTimeout:      s.settings.WriteTimeout,
		IdleTimeout:       s.settings.IdleTimeout,
		ErrorLog:          slog.NewLogLogger(slog.Default().Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return base },
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(keep) }()

	select {
	case err := <-served:
		// The listener failed before anyone asked us to stop.
		return fmt.Errorf("backend: serve on %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}

	s.state.Store(stateDraining)
	timeout := s.settings.ShutdownTimeout
	drainCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	err := srv.Shutdown(drainCtx)
	<-served // returns http.ErrServerClosed as soon as Shutdown starts
	var closeErr error
	if err != nil {
		closeErr = srv.Close()
	}
	// Detached streams are not net/http's any more: they get the same grace, then their
	// contexts are cancelled and they get a moment to store what they have.
	left := detached.drain(drainCtx, detachedGrace)
	if err == nil && left == 0 && drainCtx.Err() == nil {
		return nil
	}
	if err == nil {
		err = context.Cause(drainCtx)
	}
	return errors.Join(
		fmt.Errorf("backend: shutdown: requests still running after %s (HTTP_SHUTDOWN_TIMEOUT) were cut off: %w", timeout, err),
		closeErr,
	)
}
