package ai

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/openai/openai-go/v3/packages/ssestream"
)

// TestEventReader reads event streams as openai-go's decoder does (each case is read by both),
// lines longer than the read buffer included.
func TestEventReader(t *testing.T) {
	long := strings.Repeat("x", 3*eventBufferBytes+7)
	tests := []struct {
		name, in string
		want     []string
	}{
		{"data lines", "data: {\"a\":1}\n\ndata: [DONE]\n\n", []string{"{\"a\":1}\n", "[DONE]\n"}},
		{"crlf", "data: one\r\n\r\ndata:two\r\n\r\n", []string{"one\n", "two\n"}},
		{"names and comments skipped", ": ping\nevent: delta\nid: 3\ndata: a\ndata: b\n\n\n\n", []string{"a\nb\n"}},
		{"no data is no event", "event: x\n\ndata: y\n\n", []string{"y\n"}},
		{"longer than the buffer", "data: " + long + "\n\ndata: " + long + "z\n\n", []string{long + "\n", long + "z\n"}},
		{"last event without its blank line", "data: a\n\ndata: b\n", []string{"a\n"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// One byte per read, so that lines end across reads.
			e := newEventReader(iotest.OneByteReader(strings.NewReader(tc.in)))
			var got []string
			for e.next() {
				got = append(got, string(e.data))
			}
			if e.err != nil {
				t.Fatal(e.err)
			}
			if strings.Join(got, "|") != strings.Join(tc.want, "|") {
				t.Fatalf("events = %q, want %q", got, tc.want)
			}
			// The SDK's own decoder reads the same events from the same bytes.
			sdk := ssestream.NewDecoder(&http.Response{Header: http.Header{"Content-Type": {"text/event-stream"}},
				Body: io.NopCloser(strings.NewReader(tc.in))})
			var fromSDK []string
			for sdk.Next() {
				fromSDK = append(fromSDK, string(sdk.Event().Data))
			}
			if err := sdk.Err(); err != nil {
				t.Fatal(err)
			}
			if strings.Join(got, "|") != strings.Join(fromSDK, "|") {
				t.Fatalf("events = %q, openai-go's decoder reads %q", got, fromSDK)
			}
		})
	}
	t.Run("read error", func(t *testing.T) {
		boom := errors.New("boom")
		e := newEventReader(io.MultiReader(strings.NewReader("data: a\n\ndata: b"), iotest.ErrReader(boom)))
		if !e.next() || string(e.data) != "a\n" {
			t.Fatalf("first event = %q", e.data)
		}
		if e.next() || !errors.Is(e.err, boom) {
			t.Fatalf("next = true or err = %v, want %v", e.err, boom)
		}
	})
}
