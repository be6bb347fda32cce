package backend

import (
	"net/http"
	"strings"
	"testing"
)

// TestSchemaLinksIgnoreHost: huma builds the $schema URL of JSON responses
// from Host, X-Forwarded-Host or Forwarded, so anyone could make the app
// print links to a host of theirs (cache poisoning, phishing). The links
// come from BASE_URL instead, and are relative without it.
func TestSchemaLinksIgnoreHost(t *testing.T) {
	t.Parallel()
	const evil = "evil.example"
	hostile := []http.Header{
		{"X-Forwarded-Host": {evil}},
		{"Forwarded": {"for=1.2.3.4;host=" + evil + ";proto=https"}},
		{"X-Forwarded-Host": {evil + "/x"}, "Forwarded": {"host=" + evil}},
		{},
	}
	tests := []struct {
		name       string
		baseURL    string
		wantSchema string
	}{
		{name: "no base URL", wantSchema: `"$schema":"/schemas/ReadyBody.json"`},
		{name: "base URL", baseURL: "https://api.example.com/", wantSchema: `"$schema":"https://api.example.com/schemas/ReadyBody.json"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := setup(t, setupOpts{settings: Settings{BaseURL: tt.baseURL}})
			for _, h := range hostile {
				for _, target := range []string{ReadyPath, "/test/echo"} {
					method, body := http.MethodGet, ""
					if target == "/test/echo" {
						method, body = http.MethodPost, `{"text":"hi"}`
					}
					req := h.Clone()
					req.Set("Content-Type", "application/json")
					rec := f.do(t, method, "http://"+evil+target, strings.NewReader(body), req)
					if strings.Contains(rec.Body.String(), evil) {
						t.Errorf("%s %s with %v: body names the hostile host: %s", method, target, h, rec.Body)
					}
					for _, l := range rec.Header().Values("Link") {
						if strings.Contains(l, evil) {
							t.Errorf("%s %s with %v: Link header %q names the hostile host", method, target, h, l)
						}
					}
					if target == ReadyPath && !strings.Contains(rec.Body.String(), tt.wantSchema) {
						t.Errorf("GET %s with %v: body %s lacks %s", target, h, rec.Body, tt.wantSchema)
					}
				}
			}
		})
	}
}
