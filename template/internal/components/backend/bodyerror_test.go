package backend

import (
	"bufio"
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestMalformedBody sends request bodies that cannot be read (broken chunked
// encoding, a body cut short) to a huma JSON route over a raw connection. The
// client is at fault: the answer is a 400 problem, and nothing is logged at
// ERROR, which would page someone for every scanner on the internet.
func TestMalformedBody(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		req  string
	}{
		{
			name: "bad chunk size",
			req: "POST /test/echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n" +
				"zz\r\n{\"text\":\"hi\"}\r\n0\r\n\r\n",
		},
		{
			name: "chunk longer than announced",
			req: "POST /test/echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n" +
				"2\r\n{\"text\":\"hi\"}\r\n0\r\n\r\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := setup(t, setupOpts{infoLogs: true})
			base, _, _ := serving(t, f)
			conn, err := net.DialTimeout("tcp", strings.TrimPrefix(base, "http://"), time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
			if _, err := conn.Write([]byte(tt.req)); err != nil {
				t.Fatal(err)
			}
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusBadRequest {
				t.Errorf("status = %d, want 400", resp.StatusCode)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
				t.Errorf("Content-Type = %q, want application/problem+json", ct)
			}
			// The access log line is written after the response; give it a moment.
			deadline := time.Now().Add(time.Second)
			for len(f.logs.Records(t, "request")) == 0 && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			if strings.Contains(f.logs.String(), `"level":"ERROR"`) {
				t.Errorf("an ERROR was logged for a client's malformed body:\n%s", f.logs)
			}
		})
	}
}

// A body in a content type the API does not read is a 415 whose detail says what to send.
func TestUnsupportedMediaType(t *testing.T) {
	t.Parallel()
	f := setup(t, setupOpts{})
	base, _, _ := serving(t, f)
	for _, ct := range []string{"text/plain", "application/x-www-form-urlencoded"} {
		resp, err := http.Post(base+"/test/echo", ct, strings.NewReader(`text=hi`))
		if err != nil {
			t.Fatal(err)
		}
		var p struct {
			Detail string `json:"detail"`
		}
		err = json.NewDecoder(resp.Body).Decode(&p)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusUnsupportedMediaType ||
			!strings.Contains(p.Detail, "unknown content type: "+ct) || !strings.Contains(p.Detail, "send the body as JSON with Content-Type: application/json") {
			t.Errorf("%s: %d %q (%v), want a 415 saying to send JSON", ct, resp.StatusCode, p.Detail, err)
		}
	}
}
