package cache

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"
)

// Errors a Store returns, wrapped with the operation and key; test them with
// errors.Is.
var (
	// ErrClosed is returned by every operation on a store after Close.
	ErrClosed = errors.New("cache: store is closed")
	// ErrRefused: the store answered but refused the app (Redis: WRONGPASS, NOAUTH, NOPERM,
	// a database number out of range): its settings are wrong, and waiting will not help.
	ErrRefused = errors.New("cache: the store refused the app")
	// ErrNotInteger is returned by Incr when the value under the key is not
	// a base-10 integer, or when the result would overflow an int64.
	ErrNotInteger = errors.New("cache: value is not an integer or out of range")
	// ErrDecode is returned by Get when the stored value is not JSON for the
	// requested type: two types share a key, or the type changed since the
	// value was written (put a version in the key when you change it).
	ErrDecode = errors.New("cache: stored value does not decode")
	// ErrEncode is returned by Set and GetOrCompute when a value cannot be
	// encoded as JSON (channels, functions, cyclic values).
	ErrEncode = errors.New("cache: value does not encode")
)

// Store is a byte-oriented key-value store with expiry: the backend behind a
// Cache. Memory and Redis implement it; cachetest.RunStoreTests checks any
// implementation against the contract below.
//
// Every method is safe for concurrent use. Operations honour ctx: one called
// with a done ctx returns an error wrapping ctx.Err(). Unlike Cache, a Store
// reports every failure: the forgiving behaviour lives one layer up, so that
// callers who need to know (an invalidation that must not be lost) can ask
// the store directly.
type Store interface {
	// Get returns the value under key and true, or nil and false when the key
	// is missing or expired. The returned slice belongs to the caller.
	Get(ctx context.Context, key string) (value []byte, ok bool, err error)
	// Set stores a copy of value under key, replacing any value and expiry
	// it had. A ttl <= 0 stores it without expiry.
	Set(ctx context.Context, key string, value []byte, ttl time.Duration) error
	// Delete removes key; a missing key is not an error.
	Delete(ctx context.Context, key string) error
	// Exists reports whether key holds an unexpired value.
	Exists(ctx context.Context, key string) (bool, error)
	// Incr adds delta to the base-10 integer under key and returns the new
	// value. A missing key counts as 0 and is created without expiry; an
	// existing key keeps its expiry. A value that is not an integer, or a
	// result that overflows, yields an error wrapping ErrNotInteger. Incr is
	// atomic: concurrent calls never lose an increment.
	Incr(ctx context.Context, key string, delta int64) (int64, error)
	// Ping checks that the backend answers.
	Ping(ctx context.Context) error
	// Close releases the store's resources and stops its background work. It
	// is idempotent; every other operation afterwards returns ErrClosed.
	Close() error
}

// WithPrefix returns a Store that puts prefix in front of every key before
// passing it to s, so that several apps (or tests) can share one Redis
// without seeing each other's keys. Closing it closes s.
func WithPrefix(s Store, prefix string) Store {
	if prefix == "" {
		return s
	}
	if p, ok := s.(*prefixed); ok {
		// Nesting composes: the outer prefix goes after the inner one, as if
		// keys had been prefixed twice.
		return &prefixed{s: p.s, prefix: p.prefix + prefix}
	}
	return &prefixed{s: s, prefix: prefix}
}

type prefixed struct {
	s      Store
	prefix string
}

func (p *prefixed) Get(ctx context.Context, key string) ([]byte, bool, error) {
	return p.s.Get(ctx, p.prefix+key)
}

func (p *prefixed) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	return p.s.Set(ctx, p.prefix+key, value, ttl)
}

func (p *prefixed) Delete(ctx context.Context, key string) error {
	return p.s.Delete(ctx, p.prefix+key)
}

func (p *prefixed) Exists(ctx context.Context, key string) (bool, error) {
	return p.s.Exists(ctx, p.prefix+key)
}

func (p *prefixed) Incr(ctx context.Context, key string, delta int64) (int64, error) {
	return p.s.Incr(ctx, p.prefix+key, delta)
}

func (p *prefixed) Ping(ctx context.Context) error { return p.s.Ping(ctx) }
func (p *prefixed) Close() error                   { return p.s.Close() }

// unwrap returns the store under any prefix, for health details.
func unwrap(s Store) Store {
	if p, ok := s.(*prefixed); ok {
		return p.s
	}
	return s
}

var _ Store = (*prefixed)(nil)

// opError is a store operation's error: it names the operation and the key, for the caller.
type opError struct {
	store   string // "redis " or "" (the memory store)
	op, key string
	err     error
}

func (e *opError) Error() string { return e.text(e.key) }

func (e *opError) Unwrap() error { return e.err }

// text is the error's message naming key in place of the operation's.
func (e *opError) text(key string) string {
	return "cache: " + e.store + e.op + " " + strconv.Quote(key) + ": " + inner(e.err)
}

// inner is the text of err for an error that wraps it and already starts with "cache: ":
// without the "cache: " of the sentinels (ErrClosed, ErrRefused, ...), which would
// otherwise be said twice in one line.
func inner(err error) string { return strings.TrimPrefix(err.Error(), "cache: ") }

// textError is an error whose text is given apart from the errors it wraps, for the
// messages that wrap a sentinel and say "cache: " once (see inner).
type textError struct {
	text string
	errs []error
}

func (e *textError) Error() string   { return e.text }
func (e *textError) Unwrap() []error { return e.errs }

// sentinelError is the error of what (an operation and its key) that failed with sentinel,
// and with the cause err when there is one, saying "cache: " once.
func sentinelError(what string, sentinel, err error) error {
	e := &textError{text: "cache: " + what + ": " + inner(sentinel), errs: []error{sentinel}}
	if err != nil {
		e.text += ": " + err.Error()
		e.errs = append(e.errs, err)
	}
	return e
}
