package cache

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// TestURLErrorsHideSecrets: a CACHE_URL that does not parse is named in the
// error, never printed, since it may carry a password; redis.ParseURL and
// url.Parse quote their input, so their messages are not passed on.
func TestURLErrorsHideSecrets(t *testing.T) {
	t.Parallel()
	const marker = "SECRET3"
	urls := []string{
		"redis://:" + marker + "@[::1/0",
		"redis://user:p%zz" + marker + "@cache.internal:6379/0",
		"redis://:" + marker + "@cache.internal:6379/notadb",
		"memcached://:" + marker + "@cache.internal",
		"cache.internal:6379 password=" + marker,
		"redis://:" + marker + "@cache.internal:6379/0?dial_timeout=abc",
	}
	for _, u := range urls {
		var logs bytes.Buffer
		logger := slog.New(slog.NewTextHandler(&logs, nil))
		s := Settings{URL: u, OpTimeout: time.Second}
		_, openErr := Open(s)
		_, redisErr := NewRedis(u, nil)
		for _, e := range []error{s.Validate(), openErr, redisErr} {
			if e == nil {
				t.Errorf("%q: no error, want one", strings.ReplaceAll(u, marker, "<marker>"))
				continue
			}
			logger.Error("config", "err", e)
		}
		if strings.Contains(logs.String(), marker) {
			t.Errorf("an error shows the secret:\n%s", logs.String())
		}
		for _, e := range []error{s.Validate(), openErr} {
			if e != nil && !strings.Contains(e.Error(), "CACHE_URL") {
				t.Errorf("error %q does not name CACHE_URL", e)
			}
		}
	}
}
