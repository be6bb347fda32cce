package backend

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strconv"
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

// A body that is JSON but does not fit the operation's input, or is not JSON at
// all, is a problem with one line naming the field and what is wrong, in JSON's
// terms: encoding/json's own text names Go structs and types ("Go struct field
// numbersInput.conversation_id of type int64").
func TestBodyDecodeErrors(t *testing.T) {
	t.Parallel()
	f := setup(t, setupOpts{})
	base, _, _ := serving(t, f)
	tests := []struct {
		name, body string
		status     int
		at, msg    string // the first errors[] entry; "" for a problem without one
		detail     string // contained in the detail
	}{
		{"int64 overflow", `{"conversation_id":99999999999999999999}`, 422,
			"body.conversation_id", "99999999999999999999 is out of range for this field", ""},
		{"uint8 overflow", `{"small":300}`, 422, "body.small", "300 is out of range for this field", ""},
		{"fraction for int", `{"count":1.5}`, 422, "body.count", "", ""},
		{"string for number", `{"count":"7"}`, 422, "body.count", "", ""},
		{"object for string", `{"name":{"a":1}}`, 422, "body.name", "", ""},
		{"nested in array", `{"items":[{"qty":1},{"qty":2},{"qty":1e30}]}`, 422,
			"body.items[2].qty", "1e30 is out of range for this field", ""},
		{"nested in map with odd key", `{"tags":{"a.b: c":{"qty":-1e30}}}`, 422,
			`body.tags["a.b: c"].qty`, "-1e30 is out of range for this field", ""},
		{"truncated", `{"count":`, 400, "body", "the JSON ends before it is complete; send the whole body", ""},
		{"trailing garbage", `{"count":1} x`, 400, "body",
			"there is more after the JSON value (at byte 13); send a single JSON value", ""},
		{"not JSON", `{count:1}`, 400, "body", "", "malformed at byte 2"},
		{"not UTF-8", "{\"name\":\"caf\xe9\"}", 400, "body.name", "must be valid UTF-8; send the text encoded as UTF-8", ""},
		{"empty", ``, 400, "", "", "The request body is required; send it as JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			resp, err := http.Post(base+"/test/numbers", "application/json", strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			raw, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			var p struct {
				Detail string `json:"detail"`
				Errors []struct {
					Location string `json:"location"`
					Message  string `json:"message"`
				} `json:"errors"`
			}
			if err := json.Unmarshal(raw, &p); err != nil {
				t.Fatalf("%s: %v", raw, err)
			}
			if resp.StatusCode != tt.status {
				t.Errorf("status = %d, want %d: %s", resp.StatusCode, tt.status, raw)
			}
			for _, goism := range []string{"Go ", "struct", "int64", "uint8", "numbersInput", "unmarshal", "json:"} {
				if strings.Contains(string(raw), goism) {
					t.Errorf("problem names Go's %q: %s", goism, raw)
				}
			}
			if strings.Contains(p.Detail, "\n") || !strings.Contains(p.Detail, tt.detail) {
				t.Errorf("detail = %q, want one line containing %q", p.Detail, tt.detail)
			}
			if tt.at == "" {
				return
			}
			if len(p.Errors) == 0 {
				t.Fatalf("no errors[]: %s", raw)
			}
			e := p.Errors[0]
			if e.Location != tt.at || (tt.msg != "" && e.Message != tt.msg) || e.Message == "" {
				t.Errorf("errors[0] = %s: %q, want %s: %q", e.Location, e.Message, tt.at, tt.msg)
			}
			if !strings.Contains(p.Detail, tt.at+": "+e.Message) {
				t.Errorf("detail = %q, want it to name %s and its message", p.Detail, tt.at)
			}
		})
	}
}

// unmarshalBody words what huma's schema validation lets through (an operation
// with SkipValidateBody, a field typed any) and splitBodyError reads it back as
// the location and message problemToSend puts in errors[].
func TestUnmarshalBodyErrors(t *testing.T) {
	t.Parallel()
	type item struct {
		Qty int `json:"qty"`
	}
	type body struct {
		Count int             `json:"count"`
		Small uint8           `json:"small"`
		Ratio float32         `json:"ratio"`
		Name  string          `json:"name"`
		On    bool            `json:"on"`
		Items []item          `json:"items"`
		Tags  map[string]item `json:"tags"`
		Addr  netip.Addr      `json:"addr"`
	}
	long := strings.Repeat("9", 100)
	tests := []struct{ body, at, msg string }{
		{`{"count":1.5}`, "body.count", "1.5 must be a whole number"},
		{`{"small":-1}`, "body.small", "-1 is out of range for this field"},
		{`{"ratio":1e39}`, "body.ratio", "1e39 is out of range for this field"},
		{`{"count":` + long + `}`, "body.count", strings.Repeat("9", maxEchoedValue) + "… is out of range for this field"},
		{`{"count":"7"}`, "body.count", "must be an integer, not a string"},
		{`{"name":{"a":1}}`, "body.name", "must be a string, not an object"},
		{`{"name":7}`, "body.name", "must be a string, not a number"},
		{`{"on":"yes"}`, "body.on", "must be true or false, not a string"},
		{`{"items":[{"qty":1},{"qty":[1]}]}`, "body.items[1].qty", "must be an integer, not an array"},
		{`{"items":{"qty":1}}`, "body.items", "must be an array, not an object"},
		{`{"tags":{"x":{"qty":1},"y\n":{"qty":true}}}`, `body.tags["y\n"].qty`, "must be an integer, not true or false"},
		{`[1]`, "body", "must be an object, not an array"},
		{`{"addr":5}`, "body.addr", "must be a string, not a number"},
		// Bytes that are not UTF-8 would be decoded as U+FFFD, silently.
		{"{\"name\":\"caf\xe9\"}", "body.name", "must be valid UTF-8; send the text encoded as UTF-8"},
		{"{\"name\":\"ok\",\"items\":[{\"qty\":1},{\"qty\":2}],\"tags\":{\"a\":{},\"b\xff\":{}}}", "body.tags[\"b\ufffd\"]",
			"the property's name must be valid UTF-8; send the text encoded as UTF-8"},
		{"{\"items\":[{\"qty\":1}],\"name\":\"\xc3\"}", "body.name", "must be valid UTF-8; send the text encoded as UTF-8"},
	}
	for _, tt := range tests {
		var v body
		err := unmarshalBody([]byte(tt.body), &v)
		if err == nil {
			t.Errorf("%s: no error", tt.body)
			continue
		}
		at, msg, ok := splitBodyError(err.Error())
		if !ok || at != tt.at || msg != tt.msg {
			t.Errorf("%s: %q splits to %q, %q, %v; want %q, %q", tt.body, err, at, msg, ok, tt.at, tt.msg)
		}
	}
	// Repeated keys: encoding/json would keep the last one, which a proxy
	// that checked the first would not expect.
	dups := []struct{ body, at string }{
		{`{"name":"a","name":"b"}`, "body.name"},
		{`{"count":1,"name":"a","count":2}`, "body.count"},
		{`{"items":[{"qty":1},{"qty":2,"qty":3}]}`, "body.items[1].qty"},
		{`{"tags":{"x":{"qty":1},"x":{"qty":2}}}`, "body.tags.x"},
		{`{"tags":{"a b":{},"a b":{}}}`, `body.tags["a b"]`},
		{`{"name":"a","n\u0061me":"b"}`, "body.name"},
		{`{"tags":{"\u00e9":{},"é":{}}}`, `body.tags["é"]`},
		{"{\"tags\":{\"\xff\":{},\"\xfe\":{}}}", "body.tags[\"\ufffd\"]"},
		{manyKeys(40, "k7"), "body.tags.k7"},
		{manyKeys(200, "k199"), "body.tags.k199"},
		{`{"items":[{"qty":1}],"tags":` + manyKeys(40, "")[8:len(manyKeys(40, ""))-1] + `,"items":[]}`, "body.items"},
	}
	for _, tt := range dups {
		var v body
		err := unmarshalBody([]byte(tt.body), &v)
		if err == nil {
			t.Errorf("%s: no error", tt.body)
			continue
		}
		want := "is given more than once; send each property once"
		if at, msg, ok := splitBodyError(err.Error()); !ok || at != tt.at || msg != want {
			t.Errorf("%s: %q splits to %q, %q, %v; want %q, %q", tt.body, err, at, msg, ok, tt.at, want)
		}
		var anyv any
		if err := unmarshalBody([]byte(tt.body), &anyv); err == nil {
			t.Errorf("%s into any: no error", tt.body)
		}
	}
	// The same key in different objects is no repeat.
	for _, ok := range []string{`{"items":[{"qty":1},{"qty":2}],"count":1}`, `{"tags":{"qty":{"qty":1}}}`, `{"name":"a:b:c"}`,
		`{"name":"{\"x\":1,\"x\":2}"}`, `{"tags":{"a\"":{},"a":{}}}`, `{"tags":{"a":{},"A":{}}}`, manyKeys(200, ""),
		`{"items":[{"qty":1,"name":"x"},{"qty":2,"name":"y"}],"tags":{"qty":{}},"name":"z"}`} {
		var v body
		if err := unmarshalBody([]byte(ok), &v); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	// Text that is not unmarshalBody's stays whole.
	for _, s := range []string{"unknown content type: text/plain", "body is wrong", "body[x]: y", `body["a]: y`} {
		if _, _, ok := splitBodyError(s); ok {
			t.Errorf("splitBodyError(%q) split text that is not a bodyError's", s)
		}
	}
}

// manyKeys is a body whose tags object has n keys k0... and, unless again is
// empty, the key again once more at its end.
func manyKeys(n int, again string) string {
	var b strings.Builder
	b.WriteString(`{"tags":{`)
	for i := range n {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(`"k` + strconv.Itoa(i) + `":{}`)
	}
	if again != "" {
		b.WriteString(`,"` + again + `":{}`)
	}
	b.WriteString("}}")
	return b.String()
}

// BenchmarkUnmarshalBody is what the repeated-key look adds to decoding a body:
// a batch of 100 analytics-like events (12 KB).
func BenchmarkUnmarshalBody(b *testing.B) {
	var sb strings.Builder
	sb.WriteString(`{"events":[`)
	for i := range 100 {
		if i > 0 {
			sb.WriteString(",")
		}
		sb.WriteString(`{"name":"page_view","user_id":"u` + strconv.Itoa(i) + `","properties":{"path":"/products/` + strconv.Itoa(i) + `","ref":"search","n":` + strconv.Itoa(i) + `}}`)
	}
	sb.WriteString(`]}`)
	data := []byte(sb.String())
	b.Run("json.Unmarshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var v any
			_ = json.Unmarshal(data, &v)
		}
	})
	b.Run("unmarshalBody", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var v any
			_ = unmarshalBody(data, &v)
		}
	})
	b.Run("hasDuplicateKey", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			hasDuplicateKey(data)
		}
	})
}

// FuzzDuplicateKey checks the byte scan against the token decoding it stands in
// front of: on any JSON, both see a repeated key or neither does.
func FuzzDuplicateKey(f *testing.F) {
	for _, seed := range []string{
		`{"a":1,"a":2}`, `{"a":{"b":1},"b":1}`, `[{"a":1},{"a":1}]`, `{"a":"\"a\":1"}`,
		`{"\u0061":1,"a":2}`, `{"a\\":1,"a":2}`, "{\"\xff\":1,\"\xfe\":2}", manyKeys(40, "k3"),
		manyKeys(40, ""), `{"a":[{"a":[{"a":1}]}],"b":{"a":{}}}`, `"{\"a\":1,\"a\":1}"`, `[]`, `1`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if !json.Valid(data) {
			return
		}
		_, want := duplicateKeyAt(data)
		if got := hasDuplicateKey(data); got != want {
			t.Errorf("hasDuplicateKey(%q) = %v, the token decoding says %v", data, got, want)
		}
	})
}
