package command

import (
	"context"
	"log/slog"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/aegisgo/aegis/template/internal/config"
	"github.com/aegisgo/aegis/template/internal/runtime/logtest"
)

func TestReleaseStartPages(t *testing.T) {
	tests := []struct {
		name     string
		on       bool
		cancel   bool // ctx ends before the settle time
		releases int  // "start-up pages unmapped" lines on Linux
	}{
		{name: "on: at once and after the settle time", on: true, releases: 2},
		{name: "on, stopped before the settle time: once", on: true, cancel: true, releases: 1},
		{name: "APP_RELEASE_START_PAGES=false: never", on: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs logtest.Buffer
			logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			settle := time.Millisecond
			if tt.cancel {
				settle = time.Hour
				cancel()
			}
			done := releaseStartPages(ctx, config.Core{ReleaseStartPages: tt.on}, logger, settle)
			if !tt.on {
				if done != nil {
					t.Fatal("released with the setting off")
				}
				return
			}
			<-done
			want := tt.releases
			if runtime.GOOS != "linux" {
				want = 0 // unsupported: nothing logged
			}
			if got := strings.Count(logs.String(), "start-up pages unmapped"); got != want {
				t.Errorf("%d releases, want %d; log:\n%s", got, want, logs.String())
			}
		})
	}
}
