package backend

import (
	"context"
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/aegisgo/aegis/template/internal/config"
)

// trustedProxies is TRUSTED_PROXIES parsed: the networks whose
// X-Forwarded-For and X-Forwarded-Proto headers are believed.
type trustedProxies []netip.Prefix

// parseTrustedProxies parses a comma-separated list of CIDRs or single
// addresses ("10.0.0.0/8, 192.168.1.1, fd00::/8"). Empty trusts nobody.
func parseTrustedProxies(spec string) (trustedProxies, error) {
	var out trustedProxies
	for part := range strings.SplitSeq(spec, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		p, err := netip.ParsePrefix(part)
		if err != nil {
			a, aerr := netip.ParseAddr(part)
			if aerr != nil {
				return nil, config.Invalid("TRUSTED_PROXIES", spec, "has an entry that is not an IP address or CIDR: "+quote(part),
					"list the proxies' addresses or networks, comma-separated, such as 10.0.0.0/8,192.168.1.10")
			}
			a = a.Unmap()
			p = netip.PrefixFrom(a, a.BitLen())
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

func quote(s string) string { return `"` + s + `"` }

// contains reports whether a is one of the trusted proxies.
func (t trustedProxies) contains(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range t {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

type secureKey struct{}

// Secure reports whether the request reached the app over TLS: directly, or
// through a proxy listed in TRUSTED_PROXIES that says so with
// X-Forwarded-Proto: https. The header from anyone else is ignored.
func Secure(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	secure, _ := r.Context().Value(secureKey{}).(bool)
	return secure
}

// realClient makes RemoteAddr the client's address when the request came
// through trusted proxies, so every limiter and log downstream that reads
// RemoteAddr sees the client rather than the proxy. X-Forwarded-For is read
// right to left: each proxy appends the address it got the request from, so
// the entries on the right were written by proxies we trust and the first
// untrusted one is the client; everything to its left was written by the
// client and is ignored. From a peer that is not a trusted proxy, the
// headers are ignored altogether (anyone can send them). The new RemoteAddr
// keeps the host:port form with port 0, since the client's port is unknown.
func realClient(trusted trustedProxies) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		if len(trusted) == 0 {
			return next
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			peer, ok := parseHostAddr(r.RemoteAddr)
			if !ok || !trusted.contains(peer) {
				next.ServeHTTP(w, r)
				return
			}
			if client, ok := clientFromXFF(r.Header.Values("X-Forwarded-For"), trusted); ok {
				r.RemoteAddr = net.JoinHostPort(client.String(), "0")
			}
			if r.TLS == nil && forwardedHTTPS(r.Header.Get("X-Forwarded-Proto")) {
				r = r.WithContext(context.WithValue(r.Context(), secureKey{}, true))
			}
			next.ServeHTTP(w, r)
		})
	}
}

// clientFromXFF walks the X-Forwarded-For entries (all headers, in order)
// from the right and returns the first address that is not a trusted proxy,
// or the leftmost address when every one is trusted. A malformed entry
// stops the walk: nothing left of it can be told apart from the client's
// own inventions, so the last good address seen is used (none: ok false,
// RemoteAddr stays the peer's).
func clientFromXFF(values []string, trusted trustedProxies) (netip.Addr, bool) {
	var entries []string
	for _, v := range values {
		entries = append(entries, strings.Split(v, ",")...)
	}
	var last netip.Addr
	found := false
	for i := len(entries) - 1; i >= 0; i-- {
		e := strings.TrimSpace(entries[i])
		if e == "" {
			continue
		}
		a, ok := parseHostAddr(e)
		if !ok {
			break
		}
		last, found = a, true
		if !trusted.contains(a) {
			break
		}
	}
	return last, found
}

// parseHostAddr parses "1.2.3.4", "1.2.3.4:80", "2001:db8::1" or
// "[2001:db8::1]:80", unmapping IPv4-in-IPv6.
func parseHostAddr(s string) (netip.Addr, bool) {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap(), true
	}
	a, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(s, "["), "]"))
	if err != nil || a.Zone() != "" {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}

// forwardedHTTPS reads X-Forwarded-Proto; a chain of proxies may list one
// scheme each, the first being the one the client used.
func forwardedHTTPS(v string) bool {
	first, _, _ := strings.Cut(v, ",")
	return strings.EqualFold(strings.TrimSpace(first), "https")
}

// ClientIP is the host part of a request's remote address (http.Request.RemoteAddr, or huma's
// Context.RemoteAddr), without the port. Behind a reverse proxy listed in TRUSTED_PROXIES the
// middleware has already made RemoteAddr the client's.
func ClientIP(remoteAddr string) string {
	if host, _, err := net.SplitHostPort(remoteAddr); err == nil {
		return host
	}
	return remoteAddr
}

// FromLoopback reports whether a request's peer is this machine (a loopback address), the
// client behind a trusted proxy included: what development opens the dashboard and /metrics to.
func FromLoopback(r *http.Request) bool {
	ip := net.ParseIP(ClientIP(r.RemoteAddr))
	return ip != nil && ip.IsLoopback()
}
