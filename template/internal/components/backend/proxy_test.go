package backend

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestTrustedProxies(t *testing.T) {
	t.Parallel()
	const proxies = "10.0.0.0/8, 192.168.1.1, fd00::/8"
	tests := []struct {
		name       string
		trusted    string
		peer       string
		xff        []string
		proto      string
		tls        bool
		wantRemote string
		wantSecure bool
	}{
		{name: "no proxies configured: XFF ignored", trusted: "", peer: "203.0.113.9:4000", xff: []string{"1.2.3.4"}, proto: "https", wantRemote: "203.0.113.9:4000"},
		{name: "spoofed XFF from an untrusted peer", trusted: proxies, peer: "203.0.113.9:4000", xff: []string{"1.2.3.4"}, proto: "https", wantRemote: "203.0.113.9:4000"},
		{name: "one trusted proxy", trusted: proxies, peer: "10.1.2.3:5000", xff: []string{"198.51.100.7"}, wantRemote: "198.51.100.7:0"},
		{name: "client spoofs a left entry", trusted: proxies, peer: "10.1.2.3:5000", xff: []string{"6.6.6.6, 198.51.100.7"}, wantRemote: "198.51.100.7:0"},
		{name: "chain of proxies", trusted: proxies, peer: "10.1.2.3:5000", xff: []string{"6.6.6.6, 198.51.100.7, 192.168.1.1", "10.9.9.9"}, wantRemote: "198.51.100.7:0"},
		{name: "all hops trusted", trusted: proxies, peer: "10.1.2.3:5000", xff: []string{"10.4.4.4, 10.5.5.5"}, wantRemote: "10.4.4.4:0"},
		{name: "no XFF from a trusted proxy", trusted: proxies, peer: "10.1.2.3:5000", wantRemote: "10.1.2.3:5000"},
		{name: "IPv6 peer and client", trusted: proxies, peer: "[fd00::1]:443", xff: []string{"2001:db8::5"}, wantRemote: "[2001:db8::5]:0"},
		{name: "IPv6 with port and brackets", trusted: proxies, peer: "[fd00::1]:443", xff: []string{"[2001:db8::6]:1234"}, wantRemote: "[2001:db8::6]:0"},
		{name: "IPv4 with port", trusted: proxies, peer: "10.1.2.3:5000", xff: []string{"198.51.100.8:999"}, wantRemote: "198.51.100.8:0"},
		{name: "IPv4-mapped IPv6 peer", trusted: proxies, peer: "[::ffff:10.1.2.3]:5000", xff: []string{"198.51.100.7"}, wantRemote: "198.51.100.7:0"},
		{name: "malformed rightmost entry", trusted: proxies, peer: "10.1.2.3:5000", xff: []string{"198.51.100.7, not-an-ip"}, wantRemote: "10.1.2.3:5000"},
		{name: "malformed left of the client", trusted: proxies, peer: "10.1.2.3:5000", xff: []string{"garbage, 198.51.100.7"}, wantRemote: "198.51.100.7:0"},
		{name: "malformed left of trusted hops", trusted: proxies, peer: "10.1.2.3:5000", xff: []string{"garbage,10.4.4.4"}, wantRemote: "10.4.4.4:0"},
		{name: "empty entries", trusted: proxies, peer: "10.1.2.3:5000", xff: []string{" , 198.51.100.7 ,"}, wantRemote: "198.51.100.7:0"},
		{name: "proto https from trusted proxy", trusted: proxies, peer: "10.1.2.3:5000", proto: "https", wantRemote: "10.1.2.3:5000", wantSecure: true},
		{name: "proto list from trusted proxy", trusted: proxies, peer: "10.1.2.3:5000", proto: "HTTPS, http", wantRemote: "10.1.2.3:5000", wantSecure: true},
		{name: "proto http from trusted proxy", trusted: proxies, peer: "10.1.2.3:5000", proto: "http", wantRemote: "10.1.2.3:5000"},
		{name: "direct TLS", trusted: "", peer: "203.0.113.9:4000", tls: true, wantRemote: "203.0.113.9:4000", wantSecure: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			set, err := parseTrustedProxies(tt.trusted)
			if err != nil {
				t.Fatal(err)
			}
			var gotRemote string
			var gotSecure bool
			h := realClient(set)(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
				gotRemote, gotSecure = r.RemoteAddr, Secure(r)
			}))
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			req.RemoteAddr = tt.peer
			if tt.tls {
				req.TLS = &tls.ConnectionState{}
			}
			for _, v := range tt.xff {
				req.Header.Add("X-Forwarded-For", v)
			}
			if tt.proto != "" {
				req.Header.Set("X-Forwarded-Proto", tt.proto)
			}
			h.ServeHTTP(httptest.NewRecorder(), req)
			if gotRemote != tt.wantRemote || gotSecure != tt.wantSecure {
				t.Errorf("RemoteAddr, Secure = %q, %v; want %q, %v", gotRemote, gotSecure, tt.wantRemote, tt.wantSecure)
			}
		})
	}
}

// TestTrustedProxiesReachLogs: the access log (and so every limiter reading
// RemoteAddr after the middleware) sees the client behind the proxy.
func TestTrustedProxiesReachLogs(t *testing.T) {
	t.Parallel()
	f := setup(t, setupOpts{settings: Settings{TrustedProxies: "192.0.2.0/24"}})
	req := httptest.NewRequest(http.MethodGet, "/test/log", nil)
	req.RemoteAddr = "192.0.2.1:1234"
	req.Header.Set("X-Forwarded-For", "198.51.100.23")
	f.h.ServeHTTP(httptest.NewRecorder(), req)
	recs := f.logs.Records(t, "request")
	if len(recs) != 1 || recs[0]["remote"] != "198.51.100.23:0" {
		t.Errorf("access log records = %v, want remote 198.51.100.23:0", recs)
	}
}

func TestParseTrustedProxies(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		wantErr string
	}{
		{"", ""},
		{"10.0.0.0/8,172.16.0.0/12, 192.168.0.0/16", ""},
		{"127.0.0.1, ::1, fd00::/8", ""},
		{"10.0.0.0/33", `TRUSTED_PROXIES="10.0.0.0/33" has an entry that is not an IP address or CIDR: "10.0.0.0/33"`},
		{"10.0.0.0/8,proxy.internal", `"proxy.internal"`},
	}
	for _, tt := range tests {
		_, err := parseTrustedProxies(tt.in)
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("parseTrustedProxies(%q) = %v, want nil", tt.in, err)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("parseTrustedProxies(%q) = %v, want %q", tt.in, err, tt.wantErr)
		}
	}
}

func TestClientIP(t *testing.T) {
	for in, want := range map[string]string{
		"203.0.113.7:51234": "203.0.113.7",
		"[2001:db8::1]:443": "2001:db8::1",
		"203.0.113.7":       "203.0.113.7", // no port: as it is
		"":                  "",
	} {
		if got := ClientIP(in); got != want {
			t.Errorf("ClientIP(%q) = %q, want %q", in, got, want)
		}
	}
}
