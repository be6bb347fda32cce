package cache

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"sync"
	"time"

	"github.com/aegisgo/aegis/template/internal/config"
)

// Defaults for MemoryOpts; the CACHE_* settings repeat them as text.
const (
	MemoryMaxEntriesDefault    = 10_000
	MemoryMaxBytesDefault      = 64 << 20
	MemorySweepIntervalDefault = time.Minute
)

// ErrTooLarge is returned by Memory.Set for a value that could not fit even
// in an empty cache (its key and value exceed MaxBytes).
var ErrTooLarge = errors.New("cache: value is larger than the cache")

// MemoryOpts bound a Memory store. The zero value (or nil) means the
// defaults; a negative limit means no limit.
type MemoryOpts struct {
	// MaxEntries is the most keys kept; the least recently used go first.
	MaxEntries int
	// MaxBytes bounds the sum of key and value lengths, the part of the
	// memory that callers control.
	MaxBytes int64
	// SweepInterval is how often expired entries are removed in the
	// background; they are also removed when read. Negative disables the
	// sweep.
	SweepInterval time.Duration
}

// withDefaults fills the zero fields of a copy of o.
func (o *MemoryOpts) withDefaults() MemoryOpts {
	var out MemoryOpts
	if o != nil {
		out = *o
	}
	config.Default(&out.MaxEntries, MemoryMaxEntriesDefault)
	config.Default(&out.MaxBytes, MemoryMaxBytesDefault)
	config.Default(&out.SweepInterval, MemorySweepIntervalDefault)
	return out
}

// Memory is an in-process Store: a map with least-recently-used eviction,
// bounded by entries and bytes, with expiry checked on every read and by a
// periodic sweep. One mutex guards it: operations are a map lookup and a few
// pointer moves, so contention stays low at the request rates one process
// serves, and one lock keeps the byte bound exact.
type Memory struct {
	opts MemoryOpts

	mu     sync.Mutex
	items  map[string]*memEntry
	lru    memEntry // sentinel of a circular list: lru.next is the most recent
	bytes  int64
	closed bool
	stats  MemoryStats

	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

// MemoryStats are counters of a Memory store, reported in its health
// details.
type MemoryStats struct {
	Entries     int    `json:"entries"`
	Bytes       int64  `json:"bytes"`
	Evictions   uint64 `json:"evictions"`   // removed to make room
	Expirations uint64 `json:"expirations"` // removed because their TTL passed
}

type memEntry struct {
	key        string
	value      []byte
	expires    int64 // unix nanoseconds; 0 never expires
	prev, next *memEntry
}

func (e *memEntry) size() int64 { return int64(len(e.key) + len(e.value)) }

func (e *memEntry) expired(now int64) bool { return e.expires != 0 && now >= e.expires }

// NewMemory returns an empty Memory store bounded by opts (nil for the
// defaults) and starts its sweep; Close stops it.
func NewMemory(opts *MemoryOpts) *Memory {
	m := &Memory{
		opts:  opts.withDefaults(),
		items: map[string]*memEntry{},
		stop:  make(chan struct{}),
		done:  make(chan struct{}),
	}
	m.lru.next, m.lru.prev = &m.lru, &m.lru
	if m.opts.SweepInterval > 0 {
		go m.sweepLoop(m.opts.SweepInterval)
	} else {
		close(m.done)
	}
	return m
}

// Get implements Store.
func (m *Memory) Get(ctx context.Context, key string) ([]byte, bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, false, wrapOp("get", key, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	e, err := m.lookup(key)
	if e == nil || err != nil {
		return nil, false, wrapOp("get", key, err)
	}
	m.touch(e)
	// A copy, so a caller that changes the slice cannot change the cache.
	return append([]byte(nil), e.value...), true, nil
}

// Set implements Store.
func (m *Memory) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if err := ctx.Err(); err != nil {
		return wrapOp("set", key, err)
	}
	var expires int64
	if ttl > 0 {
		// Saturate rather than overflow: past the year 2262 a time in Unix
		// nanoseconds wraps into the past, which would drop the value at once.
		now := time.Now().UnixNano()
		expires = math.MaxInt64
		if int64(ttl) < math.MaxInt64-now {
			expires = now + int64(ttl)
		}
	}
	v := append(make([]byte, 0, len(value)), value...)

	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return wrapOp("set", key, ErrClosed)
	}
	if m.opts.MaxBytes > 0 && int64(len(key)+len(v)) > m.opts.MaxBytes {
		// Drop the old value too: keeping it would serve data the caller
		// has just replaced.
		if old, ok := m.items[key]; ok {
			m.remove(old)
		}
		return wrapOp("set", key, fmt.Errorf("%w (%d bytes of key and value; it holds %d)", ErrTooLarge, len(key)+len(v), m.opts.MaxBytes))
	}
	if e, ok := m.items[key]; ok {
		m.bytes += int64(len(v) - len(e.value))
		e.value, e.expires = v, expires
		m.touch(e)
	} else {
		e := &memEntry{key: key, value: v, expires: expires}
		m.items[key] = e
		m.bytes += e.size()
		m.pushFront(e)
	}
	m.evict()
	return nil
}

// Delete implements Store.
func (m *Memory) Delete(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return wrapOp("delete", key, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return wrapOp("delete", key, ErrClosed)
	}
	if e, ok := m.items[key]; ok {
		m.remove(e)
	}
	return nil
}

// Exists implements Store. It does not count as a use for eviction.
func (m *Memory) Exists(ctx context.Context, key string) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, wrapOp("exists", key, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	e, err := m.lookup(key)
	return e != nil, wrapOp("exists", key, err)
}

// Incr implements Store. A counter whose key and value exceed MaxBytes is not
// kept: the error wraps ErrTooLarge, as Set's does.
func (m *Memory) Incr(ctx context.Context, key string, delta int64) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, wrapOp("incr", key, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	e, err := m.lookup(key)
	if err != nil {
		return 0, wrapOp("incr", key, err)
	}
	var n int64
	if e != nil {
		n, err = strconv.ParseInt(string(e.value), 10, 64)
		if err != nil {
			return 0, wrapOp("incr", key, ErrNotInteger)
		}
	}
	if (delta > 0 && n > math.MaxInt64-delta) || (delta < 0 && n < math.MinInt64-delta) {
		return 0, wrapOp("incr", key, fmt.Errorf("%w (adding %d)", ErrNotInteger, delta))
	}
	n += delta
	v := strconv.AppendInt(nil, n, 10)
	if m.opts.MaxBytes > 0 && int64(len(key)+len(v)) > m.opts.MaxBytes {
		// As in Set: a counter that cannot fit would be evicted as soon as it is
		// stored, and every call would answer delta as if it were the first.
		if e != nil {
			m.remove(e)
		}
		return 0, wrapOp("incr", key, fmt.Errorf("%w (%d bytes of key and value; it holds %d)", ErrTooLarge, len(key)+len(v), m.opts.MaxBytes))
	}
	if e == nil {
		e = &memEntry{key: key, value: v}
		m.items[key] = e
		m.bytes += e.size()
		m.pushFront(e)
	} else {
		m.bytes += int64(len(v) - len(e.value))
		e.value = v
		m.touch(e)
	}
	m.evict()
	return n, nil
}

// Ping implements Store: memory always answers unless closed.
func (m *Memory) Ping(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("cache: ping memory: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return sentinelError("ping memory", ErrClosed, nil)
	}
	return nil
}

// Close implements Store: it stops the sweep, waits for it and drops every
// entry so the memory can be reclaimed.
func (m *Memory) Close() error {
	m.closeOnce.Do(func() {
		close(m.stop)
		<-m.done
		m.mu.Lock()
		m.closed = true
		m.items = nil
		m.lru.next, m.lru.prev = &m.lru, &m.lru
		m.bytes = 0
		m.mu.Unlock()
	})
	return nil
}

// Stats returns the store's counters.
func (m *Memory) Stats() MemoryStats {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.stats
	s.Entries, s.Bytes = len(m.items), m.bytes
	return s
}

// Sweep removes every expired entry now and returns how many it removed.
// The background sweep calls it; tests and callers with their own schedule
// may too.
func (m *Memory) Sweep() int {
	now := time.Now().UnixNano()
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, e := range m.items {
		if e.expired(now) {
			m.remove(e)
			m.stats.Expirations++
			n++
		}
	}
	return n
}

func (m *Memory) sweepLoop(every time.Duration) {
	defer close(m.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-m.stop:
			return
		case <-t.C:
			m.Sweep()
		}
	}
}

// lookup returns the live entry for key, removing it if it has expired.
// m.mu must be held.
func (m *Memory) lookup(key string) (*memEntry, error) {
	if m.closed {
		return nil, ErrClosed
	}
	e, ok := m.items[key]
	if !ok {
		return nil, nil
	}
	if e.expired(time.Now().UnixNano()) {
		m.remove(e)
		m.stats.Expirations++
		return nil, nil
	}
	return e, nil
}

// evict drops least recently used entries until both bounds hold. m.mu must
// be held.
func (m *Memory) evict() {
	for m.lru.prev != &m.lru &&
		((m.opts.MaxEntries > 0 && len(m.items) > m.opts.MaxEntries) ||
			(m.opts.MaxBytes > 0 && m.bytes > m.opts.MaxBytes)) {
		m.remove(m.lru.prev)
		m.stats.Evictions++
	}
}

func (m *Memory) remove(e *memEntry) {
	e.prev.next, e.next.prev = e.next, e.prev
	e.prev, e.next = nil, nil
	delete(m.items, e.key)
	m.bytes -= e.size()
}

func (m *Memory) pushFront(e *memEntry) {
	e.prev, e.next = &m.lru, m.lru.next
	m.lru.next.prev = e
	m.lru.next = e
}

func (m *Memory) touch(e *memEntry) {
	if m.lru.next == e {
		return
	}
	e.prev.next, e.next.prev = e.next, e.prev
	m.pushFront(e)
}

// wrapOp names the operation and key on err; nil stays nil. Every error that
// names a key goes through it, so that logs and spans can leave the key out
// (withoutKey).
func wrapOp(op, key string, err error) error {
	if err == nil {
		return nil
	}
	return &opError{op: op, key: key, err: err}
}

var _ Store = (*Memory)(nil)
