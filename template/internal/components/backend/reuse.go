package backend

import (
	"errors"
	"net"
	"sync"
	"time"
)

// keepListener is the listener Serve gives net/http: besides the connections its listener
// accepts, it hands net/http the connections of detached responses (Detach) that ended with
// the connection fit for the client's next request. Without it a client that keeps its
// connections open (every HTTP library, a browser) would open a new one after each stream,
// which costs a round trip more before the next answer starts (and a TLS handshake behind a
// proxy that does not pool).
//
// A connection given back waits here for the client's next request for up to
// HTTP_IDLE_TIMEOUT (idle; none if 0), as net/http's own keep-alive connections do: net/http
// gives a new connection only HTTP_READ_HEADER_TIMEOUT for its first request.
type keepListener struct {
	net.Listener
	idle time.Duration

	accepted chan acceptResult // from pump, the listener's connections
	back     chan net.Conn     // connections given back, with their next request started
	done     chan struct{}     // closed by Close
	pumping  sync.Once

	mu      sync.Mutex
	closed  bool
	waiting map[net.Conn]struct{} // given back, waiting for the client's next request
}

type acceptResult struct {
	conn net.Conn
	err  error
}

func newKeepListener(ln net.Listener, idle time.Duration) *keepListener {
	return &keepListener{
		Listener: ln,
		idle:     idle,
		accepted: make(chan acceptResult),
		back:     make(chan net.Conn),
		done:     make(chan struct{}),
		waiting:  make(map[net.Conn]struct{}),
	}
}

// Accept returns the next connection accepted by the listener or given back.
func (l *keepListener) Accept() (net.Conn, error) {
	l.pumping.Do(func() { go l.pump() })
	select {
	case a := <-l.accepted:
		return a.conn, a.err
	case c := <-l.back:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

// pump accepts the listener's connections for Accept, which must also wait for connections
// given back: one goroutine for the listener's life, one channel hand-over per connection.
func (l *keepListener) pump() {
	for {
		c, err := l.Listener.Accept()
		select {
		case l.accepted <- acceptResult{c, err}:
		case <-l.done:
			if c != nil {
				_ = c.Close()
			}
			return
		}
		if err != nil && errors.Is(err, net.ErrClosed) {
			return
		}
	}
}

// Close closes the listener and the connections given back that wait for a request; a
// connection given back later is closed.
func (l *keepListener) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	close(l.done)
	for c := range l.waiting {
		_ = c.Close()
	}
	l.mu.Unlock()
	return l.Listener.Close()
}

// giveBack hands c, whose response is complete, back to net/http for the client's next
// request. pending is what was read of that request already (nothing, usually); without it
// giveBack waits, on a goroutine of its own, for the request's first byte.
func (l *keepListener) giveBack(c net.Conn, pending []byte) {
	if len(pending) > 0 {
		l.deliver(started(c, pending))
		return
	}
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		_ = c.Close()
		return
	}
	l.waiting[c] = struct{}{}
	l.mu.Unlock()
	go l.await(c)
}

// await waits up to the idle timeout for c's next request.
func (l *keepListener) await(c net.Conn) {
	if l.idle > 0 {
		_ = c.SetReadDeadline(time.Now().Add(l.idle))
	}
	var b [1]byte
	_, err := c.Read(b[:])
	l.mu.Lock()
	delete(l.waiting, c)
	l.mu.Unlock()
	if err != nil { // the client closed it, the idle time ran out, or Close
		_ = c.Close()
		return
	}
	_ = c.SetReadDeadline(time.Time{})
	l.deliver(started(c, b[:]))
}

// deliver passes c to Accept, or closes it once the listener is closed.
func (l *keepListener) deliver(c net.Conn) {
	select {
	case l.back <- c:
	case <-l.done:
		_ = c.Close()
	}
}

// started returns c with p put back before what c has left to read. A connection that has
// been given back before keeps its one wrapper.
func started(c net.Conn, p []byte) net.Conn {
	if sc, ok := c.(*startedConn); ok {
		sc.started = append(append([]byte(nil), p...), sc.started...)
		return sc
	}
	return &startedConn{Conn: c, started: append([]byte(nil), p...)}
}

// startedConn is a connection whose first bytes were read already.
type startedConn struct {
	net.Conn
	started []byte
}

func (c *startedConn) Read(p []byte) (int, error) {
	if len(c.started) > 0 {
		n := copy(p, c.started)
		c.started = c.started[n:]
		if len(c.started) == 0 {
			c.started = nil
		}
		return n, nil
	}
	return c.Conn.Read(p)
}
