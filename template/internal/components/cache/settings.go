package cache

import (
	"errors"
	"time"

	"github.com/aegisgo/aegis/template/internal/config"
)

const urlFix = "use redis://host:6379/0, rediss:// for TLS, or leave it empty for the in-memory cache"

// Settings configure the app's cache. Load them with config.Load[Settings];
// the zero value is an in-memory cache with the defaults.
type Settings struct {
	URL           string        `env:"CACHE_URL" envDefault:"" doc:"Redis to cache in (redis://user:password@host:6379/0, rediss:// for TLS); empty keeps the cache in the app's memory."`
	MaxEntries    int           `env:"CACHE_MAX_ENTRIES" envDefault:"10000" doc:"Most keys the in-memory cache holds before evicting the least recently used; -1 for no limit, 0 for the default."`
	MaxBytes      int64         `env:"CACHE_MAX_BYTES" envDefault:"67108864" doc:"Most bytes of keys and values the in-memory cache holds before evicting; -1 for no limit, 0 for the default."`
	DefaultTTL    time.Duration `env:"CACHE_DEFAULT_TTL" envDefault:"5m" doc:"How long a value set without a TTL is kept; -1s keeps it until evicted."`
	KeyPrefix     string        `env:"CACHE_KEY_PREFIX" envDefault:"" doc:"Text put before every key, so apps sharing one Redis do not see each other's keys (e.g. myapp:)."`
	SweepInterval time.Duration `env:"CACHE_SWEEP_INTERVAL" envDefault:"1m" doc:"How often the in-memory cache removes expired values in the background."`
	DialTimeout   time.Duration `env:"CACHE_DIAL_TIMEOUT" envDefault:"2s" doc:"Time allowed to connect to Redis."`
	OpTimeout     time.Duration `env:"CACHE_OP_TIMEOUT" envDefault:"500ms" doc:"Time allowed for each Redis operation; past it the request goes on without the cache."`
}

// Validate reports every bad value, naming its variable.
func (s Settings) Validate() error {
	var urlErr error
	if s.URL != "" {
		_, urlErr = parseURL(s.URL)
	}
	const duration = "use a duration such as 500ms or 2s"
	return errors.Join(urlErr,
		config.AtLeast("CACHE_MAX_ENTRIES", s.MaxEntries, -1, "use a count such as 10000, or -1 for no limit"),
		config.AtLeast("CACHE_MAX_BYTES", s.MaxBytes, -1, "use a size in bytes such as 67108864 (64 MiB), or -1 for no limit"),
		config.NotNegative("CACHE_SWEEP_INTERVAL", s.SweepInterval, duration),
		config.NotNegative("CACHE_DIAL_TIMEOUT", s.DialTimeout, duration),
		config.NotNegative("CACHE_OP_TIMEOUT", s.OpTimeout, duration),
	)
}

// Open returns the Cache s describes: Redis when URL is set, memory
// otherwise. It does not connect; a Redis that is down makes the cache miss
// until it is back, it does not make Open fail.
func Open(s Settings) (*Cache, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	var store Store
	if s.URL == "" {
		store = NewMemory(&MemoryOpts{MaxEntries: s.MaxEntries, MaxBytes: s.MaxBytes, SweepInterval: s.SweepInterval})
	} else {
		r, err := NewRedis(s.URL, &RedisOpts{DialTimeout: s.DialTimeout, OpTimeout: s.OpTimeout})
		if err != nil {
			return nil, err
		}
		store = r
	}
	return New(store, &Opts{DefaultTTL: s.DefaultTTL, KeyPrefix: s.KeyPrefix}), nil
}
