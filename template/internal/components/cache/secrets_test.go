package cache

import (
	"testing"
	"time"

	"github.com/aegisgo/aegis/template/internal/runtime/logtest"
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
		s := Settings{URL: u, OpTimeout: time.Second}
		_, openErr := Open(s)
		_, redisErr := NewRedis(u, nil)
		logtest.HideSecret(t, u, marker, "CACHE_URL", s.Validate(), openErr)
		logtest.HideSecret(t, u, marker, "", redisErr)
	}
}
