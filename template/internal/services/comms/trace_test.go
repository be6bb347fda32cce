package comms

import (
	"errors"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/codes"

	"github.com/aegisgo/aegis/template/internal/runtime/tracing/tracingtest"
)

// TestSendSpans: with a tracer provider installed, each delivery attempt is a span with its
// channel, template and provider, and no address; a failure marks it. Sets a global: not
// parallel.
func TestSendSpans(t *testing.T) {
	rec := tracingtest.Install(t)
	fake := &fakeEmail{}
	svc, err := New(Settings{}, &Opts{Email: fake})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.SendTemplate(t.Context(), "welcome", "ada@example.com", map[string]any{"Name": "Ada", "LoginURL": "https://x.test/login"}); err != nil {
		t.Fatal(err)
	}
	fake.err = errors.New("550 ada@example.com: no such user")
	if _, err := svc.Send(t.Context(), Message{To: []string{"ada@example.com"}, Subject: "Hi", Text: "hello"}); err == nil {
		t.Fatal("the failing send succeeded")
	}
	spans := rec.Spans()
	if len(spans) != 2 {
		t.Fatalf("%d spans, want one per attempt: %+v", len(spans), spans)
	}
	ok, failed := spans[0], spans[1]
	if ok.Name != "send email" || ok.Attrs["comms.template"].AsString() != "welcome" || ok.Attrs["comms.provider"].AsString() != "fake" ||
		ok.Status != codes.Unset || !ok.Ended {
		t.Errorf("the sent message's span: %+v", ok)
	}
	if failed.Status != codes.Error || !failed.Ended {
		t.Errorf("the failed message's span: %+v", failed)
	}
	for _, s := range spans {
		for k, v := range s.Attrs {
			if strings.Contains(v.String(), "@") {
				t.Errorf("span %s attribute %s holds an address: %s", s.Name, k, v.String())
			}
		}
	}
}
