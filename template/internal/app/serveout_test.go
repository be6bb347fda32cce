package app

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestServeStdout checks what serve prints to stdout once it listens: a line for
// the person at the terminal when logs are text, nothing when they are JSON (production's
// default, or LOG_FORMAT=json), where collectors merge stdout into them (the "listening" log
// record says it).
func TestServeStdout(t *testing.T) {
	tests := []struct {
		env, format string
		wantOut     string // substring of stdout; "" means stdout stays empty
	}{
		{env: "development", wantOut: "shop is listening on http://127.0.0.1:"},
		{env: "development", format: "json", wantOut: ""},
		{env: "production", format: "text", wantOut: "shop is listening on http://127.0.0.1:"},
		{env: "production", wantOut: ""},
	}
	for _, tt := range tests {
		t.Run(tt.env+"/"+tt.format, func(t *testing.T) {
			cleanEnv(t)
			t.Setenv("APP_ENV", tt.env)
			t.Setenv("PORT", "0")
			t.Setenv("LOG_FORMAT", tt.format)
			h := setup(t)
			ctx, interrupt := context.WithCancel(t.Context())
			defer interrupt()
			exit := make(chan int, 1)
			go func() { exit <- h.run(ctx, "serve") }()

			deadline := time.Now().Add(5 * time.Second)
			for !strings.Contains(h.stderr.String(), `"msg":"listening"`) && !strings.Contains(h.stderr.String(), "msg=listening") {
				if time.Now().After(deadline) {
					t.Fatalf("no listening log within 5s; stderr:\n%s", h.stderr)
				}
				time.Sleep(10 * time.Millisecond)
			}
			interrupt()
			select {
			case code := <-exit:
				if code != 0 {
					t.Fatalf("serve exited %d; stderr:\n%s", code, h.stderr)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("serve did not stop within 5s of the interrupt")
			}
			out := h.stdout.String()
			if tt.wantOut == "" && out != "" {
				t.Errorf("stdout = %q, want nothing", out)
			}
			if tt.wantOut != "" && !strings.Contains(out, tt.wantOut) {
				t.Errorf("stdout = %q, want it to contain %q", out, tt.wantOut)
			}
		})
	}
}
