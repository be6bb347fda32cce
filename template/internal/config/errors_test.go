package config

import (
	"testing"
	"time"
)

func TestRangeChecks(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  error
		want string // "" for nil
	}{
		{"positive duration", Positive("T", time.Second, "fix"), ""},
		{"zero duration", Positive("T", time.Duration(0), "use 5s"), `config: T="0s" must be positive; use 5s`},
		{"negative size", Positive("N", int64(-1), "use 1"), `config: N="-1" must be positive; use 1`},
		{"at least, equal", AtLeast("N", 1, 1, "fix"), ""},
		{"at least, below", AtLeast("N", uint8(0), 1, "use 1"), `config: N="0" must be at least 1; use 1`},
		{"at least, duration", AtLeast("D", time.Microsecond, time.Millisecond, "use 1s"), `config: D="1µs" must be at least 1ms; use 1s`},
		{"not negative, zero", NotNegative("D", time.Duration(0), "fix"), ""},
		{"not negative, below", NotNegative("D", -time.Second, "use 2s"), `config: D="-1s" must not be negative; use 2s`},
		{"in range", InRange("P", 65535, 0, 65535, "fix"), ""},
		{"out of range", InRange("P", 70000, 0, 65535, "use a port"), `config: P="70000" is out of range; use a port`},
	}
	for _, tt := range tests {
		got := ""
		if tt.err != nil {
			got = tt.err.Error()
		}
		if got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
		}
	}
}

// A value quoted in a message never shows a URL's password, whether the URL parses or not.
func TestInvalidHidesPassword(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ value, want string }{
		{"x://u:hunter2@h:1/", `"x://u:xxxxx@h:1/"`},
		{"https://ops:hunter2@app.example.com/%zz", `"https://ops:xxxxx@app.example.com/%zz"`},
		{"ops:hunter2@db:5432", `"ops:xxxxx@db:5432"`},
		{"https://app.example.com/a:b@c", `"https://app.example.com/a:b@c"`},
		{"https://app.example.com/login", `"https://app.example.com/login"`},
		{"verbose", `"verbose"`},
	} {
		got := Invalid("BASE_URL", tt.value, "is not valid", "fix it").Error()
		if want := "config: BASE_URL=" + tt.want + " is not valid; fix it"; got != want {
			t.Errorf("%q: got %q, want %q", tt.value, got, want)
		}
	}
}

func TestHTTPURL(t *testing.T) {
	t.Parallel()
	strict := HTTPURL{Fix: "use https://app.example.com"}
	open := HTTPURL{Fix: "use https://app.example.com", AllowQuery: true, AllowFragment: true}
	secret := HTTPURL{Fix: "use http://localhost:4318", Secret: true, AllowUser: true, AllowQuery: true}
	for _, tt := range []struct {
		name  string
		rules HTTPURL
		value string
		want  string // "" for nil
	}{
		{"empty", strict, "", ""},
		{"https", strict, "https://app.example.com/base/", ""},
		{"http with port", strict, "http://localhost:8000", ""},
		{"no scheme", strict, "app.example.com", `config: U="app.example.com" is not an absolute http(s) URL; use https://app.example.com`},
		{"host:port", strict, "localhost:8000", `config: U="localhost:8000" is not an absolute http(s) URL; use https://app.example.com`},
		{"other scheme", strict, "ftp://app.example.com", `config: U="ftp://app.example.com" is not an absolute http(s) URL; use https://app.example.com`},
		{"no host", strict, "https:///path", `config: U="https:///path" is not an absolute http(s) URL; use https://app.example.com`},
		{"port only", strict, "http://:8000", `config: U="http://:8000" is not an absolute http(s) URL; use https://app.example.com`},
		{"unparsable", strict, "https://app.example.com/%zz", `config: U="https://app.example.com/%zz" is not an absolute http(s) URL; use https://app.example.com`},
		{"blank around", strict, " https://app.example.com", `config: U=" https://app.example.com" is not an absolute http(s) URL; use https://app.example.com`},
		{"user refused", open, "https://ops:hunter2@app.example.com", "config: U (value not shown) holds a user name or password; use https://app.example.com"},
		{"user name alone refused", open, "https://ops@app.example.com", "config: U (value not shown) holds a user name or password; use https://app.example.com"},
		{"query refused", strict, "https://app.example.com/?a=b", `config: U="https://app.example.com/?a=b" has a query; use https://app.example.com`},
		{"empty query refused", strict, "https://app.example.com/?", `config: U="https://app.example.com/?" has a query; use https://app.example.com`},
		{"fragment refused", strict, "https://app.example.com/#x", `config: U="https://app.example.com/#x" has a fragment; use https://app.example.com`},
		{"query and fragment allowed", open, "https://app.example.com/login?next=1#/app", ""},
		{"secret not quoted", secret, "collector:4318?key=k", "config: U (value not shown) is not an absolute http(s) URL; use http://localhost:4318"},
		{"secret with user and key", secret, "https://u:p@collector.example.com/?key=k", ""},
	} {
		got := ""
		if err := tt.rules.Check("U", tt.value); err != nil {
			got = err.Error()
		}
		if got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
		}
	}
}

// TestHTTPURLCheckFlag: a flag is held to the same rules as a setting (Check), in words for
// the flag; a user name or password is never shown.
func TestHTTPURLCheckFlag(t *testing.T) {
	t.Parallel()
	strict := HTTPURL{Fix: "use a URL such as http://10.0.0.5:8000"}
	withUser := HTTPURL{Fix: "use a URL such as http://10.0.0.5:8000", AllowUser: true}
	secret := HTTPURL{Secret: true}
	for _, tt := range []struct {
		name  string
		rules HTTPURL
		value string
		want  string // "" for nil
	}{
		{"not given", strict, "", ""},
		{"http", strict, "http://10.0.0.5:8000", ""},
		{"https with a path", strict, "https://app.example.com/shop/", ""},
		{"missing scheme", strict, "staging:8000", `--url "staging:8000": is not an absolute http(s) URL; use a URL such as http://10.0.0.5:8000`},
		{"ftp scheme", strict, "ftp://app.example.com", `--url "ftp://app.example.com": is not an absolute http(s) URL; use a URL such as http://10.0.0.5:8000`},
		{"no host", strict, "http:///health", `--url "http:///health": is not an absolute http(s) URL; use a URL such as http://10.0.0.5:8000`},
		{"port only", strict, "http://:8000", `--url "http://:8000": is not an absolute http(s) URL; use a URL such as http://10.0.0.5:8000`},
		{"space in host", strict, "http://my host:8000", `--url "http://my host:8000": is not an absolute http(s) URL; use a URL such as http://10.0.0.5:8000`},
		{"space before", strict, " http://10.0.0.5:8000", `--url " http://10.0.0.5:8000": is not an absolute http(s) URL; use a URL such as http://10.0.0.5:8000`},
		{"user info", strict, "http://ops:hunter2@10.0.0.5:8000", "--url (value not shown): holds a user name or password; use a URL such as http://10.0.0.5:8000"},
		{"query", strict, "http://10.0.0.5:8000/?a=b", `--url "http://10.0.0.5:8000/?a=b": has a query; use a URL such as http://10.0.0.5:8000`},
		{"fragment", strict, "http://10.0.0.5:8000/#x", `--url "http://10.0.0.5:8000/#x": has a fragment; use a URL such as http://10.0.0.5:8000`},
		{"user allowed, password masked", withUser, "http://ops:hunter2@10.0.0.5:8000/?a", `--url "http://ops:xxxxx@10.0.0.5:8000/?a": has a query; use a URL such as http://10.0.0.5:8000`},
		{"secret, no fix", secret, "ftp://k@x", "--url (value not shown): is not an absolute http(s) URL"},
	} {
		got := ""
		if err := tt.rules.CheckFlag("--url", tt.value); err != nil {
			got = err.Error()
		}
		if got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
		}
		// The same values are refused as a setting.
		if (tt.rules.Check("U", tt.value) == nil) != (tt.want == "") {
			t.Errorf("%s: CheckFlag and Check disagree on %q", tt.name, tt.value)
		}
	}
}
