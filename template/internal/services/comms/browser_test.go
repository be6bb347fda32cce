package comms

import (
	"image/png"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aegisgo/aegis/template/internal/components/frontend/browsertest"
	"github.com/aegisgo/aegis/template/internal/components/frontend/frontendtest"
	"github.com/aegisgo/aegis/template/internal/runtime/registry"
)

// TestBrowserPanel loads the Comms panel in a real Chromium: the outbox list, one email shown
// as its recipient would see it, with its inline styles applied inside the preview frame
// (served with a policy of its own, since the dashboard's style-src 'self' would block them),
// and a resend that adds a message to the list.
func TestBrowserPanel(t *testing.T) {
	browsertest.Chromium(t)
	svc, err := New(Settings{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	h := frontendtest.Handler(t, nil, func(r *registry.Registry) error { return registry.Value(r, svc) })
	srv := httptest.NewServer(h)
	defer srv.Close()

	// A pure red block that only an inline style draws, and a script that must not run.
	id, err := svc.Send(t.Context(), Message{To: []string{"Ada <ada@example.com>"}, Subject: "Styled invoice", Text: "Pay 9 EUR",
		HTML: `<div style="background:#ff0000;width:320px;height:160px"></div><p>Pay <b>9 EUR</b></p>` +
			`<script>document.body.style.background="#00ff00"</script>`})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.SendSMS(t.Context(), "+14155550123", "Your code is 123456"); err != nil {
		t.Fatal(err)
	}

	list := browsertest.Browse(t, srv.URL+"/dashboard/panels/comms", browsertest.Opts{Screenshot: "comms-list.png"})
	for _, want := range []string{"Styled invoice", "Your code is 123456", "2 sent", "ada@example.com"} {
		if !strings.Contains(list, want) {
			t.Errorf("the list in the browser lacks %q:\n%s", want, list)
		}
	}

	page := srv.URL + "/dashboard/panels/comms?id=" + string(id)
	one := browsertest.Browse(t, page, browsertest.Opts{})
	frame := regexp.MustCompile(`<iframe [^>]*src="([^"]+)"`).FindStringSubmatch(one)
	if frame == nil || !strings.Contains(frame[0], `sandbox=""`) || !strings.Contains(one, "Pay 9 EUR") {
		t.Fatalf("no sandboxed preview frame in the message view:\n%s", one)
	}
	shot := browsertest.Screenshot(t, page, browsertest.Opts{Width: 1280, Height: 1600, Screenshot: "comms-message.png"})
	red, green := countColors(t, shot)
	if red < 320*160/2 {
		t.Errorf("the preview shows %d pure red pixels, want the 320×160 block its inline style draws (see %s)", red, shot)
	}
	if green > 0 {
		t.Errorf("the email's script ran in the preview (%d green pixels)", green)
	}

	// Resend (as a form post; the browser shows the outcome): a new message in the list.
	b := frontendtest.NewBrowser(t, h)
	b.Get("/dashboard/panels/comms")
	b.Submit("/dashboard/panels/comms/actions/resend", url.Values{"id": {string(id)}})
	after := browsertest.Browse(t, srv.URL+"/dashboard/panels/comms", browsertest.Opts{Budget: 500 * time.Millisecond})
	if n := strings.Count(after, "Styled invoice</a>"); n != 2 || !strings.Contains(after, "3 sent") {
		t.Errorf("after resend the list shows the email %d times (want 2) and:\n%s", n, after)
	}
}

// countColors counts the pixels of the PNG at path that are pure red and pure green.
func countColors(t *testing.T, path string) (red, green int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			switch {
			case r > 0xf000 && g < 0x1000 && bl < 0x1000:
				red++
			case g > 0xf000 && r < 0x1000 && bl < 0x1000:
				green++
			}
		}
	}
	return red, green
}
