package auth

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// maxSessionCacheEntries bounds the session cache: when it is full, entries
// past their TTL are swept, and if none is, the cache starts over (the cost
// is one database read per active session, not a wrong answer).
const maxSessionCacheEntries = 10_000

// sessionCache remembers for a short while whether the session (refresh-token
// family) behind an access token's sid is live, so that checking it on every
// authenticated request costs a map lookup, not a query. Revocations made by
// this process (logout, password change, deactivation, deletion, refresh
// token reuse) drop the entries at once; revocations made elsewhere (another
// instance, the database) are seen within the TTL (AUTH_SESSION_CHECK_TTL).
type sessionCache struct {
	ttl     time.Duration
	mu      sync.Mutex
	entries map[string]sessionEntry
	// revocations counts drop and dropUser calls: an answer read from the
	// database before one of them may be stale, and put refuses to keep it
	// (else it stood behind the drop for the TTL, in the process that revoked).
	revocations uint64
}

type sessionEntry struct {
	userID int64
	live   bool
	until  time.Time
}

func newSessionCache(ttl time.Duration) *sessionCache {
	return &sessionCache{ttl: ttl, entries: map[string]sessionEntry{}}
}

// get returns whether sid is live for userID, and false for ok when the
// cache does not know (or no longer trusts) the answer.
func (c *sessionCache) get(sid string, userID int64) (live, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, found := c.entries[sid]
	if !found || !time.Now().Before(e.until) {
		return false, false
	}
	return e.live && e.userID == userID, true
}

// epoch returns the count of revocations, to pass to put with an answer read
// after it.
func (c *sessionCache) epoch() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.revocations
}

// put keeps the answer live for sid, read from the database after epoch
// returned since; if this process revoked sessions meanwhile, the answer is
// not kept (the next check reads again).
func (c *sessionCache) put(sid string, userID int64, live bool, since uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.revocations != since {
		return
	}
	t := time.Now()
	if len(c.entries) >= maxSessionCacheEntries {
		for k, e := range c.entries {
			if !t.Before(e.until) {
				delete(c.entries, k)
			}
		}
		if len(c.entries) >= maxSessionCacheEntries {
			clear(c.entries)
		}
	}
	c.entries[sid] = sessionEntry{userID: userID, live: live, until: t.Add(c.ttl)}
}

// drop forgets one session, after it was revoked.
func (c *sessionCache) drop(sid string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.revocations++
	delete(c.entries, sid)
}

// dropUser forgets every session of userID, after some of them were revoked
// (the ones kept are read again on their next request).
func (c *sessionCache) dropUser(userID int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.revocations++
	for k, e := range c.entries {
		if e.userID == userID {
			delete(c.entries, k)
		}
	}
}

// sessionLive reports whether session sid of userID has a refresh token
// that is neither revoked nor expired and began within AUTH_SESSION_MAX_AGE,
// from the cache when it knows.
func (a *AuthService) sessionLive(ctx context.Context, sid string, userID int64) (bool, error) {
	if live, ok := a.users.sessions.get(sid, userID); ok {
		return live, nil
	}
	since := a.users.sessions.epoch()
	live, err := a.sessionLiveInDB(ctx, sid, userID)
	if err != nil {
		return false, err
	}
	a.users.sessions.put(sid, userID, live, since)
	return live, nil
}

// sessionLiveInDB is the uncached check: one indexed query.
func (a *AuthService) sessionLiveInDB(ctx context.Context, sid string, userID int64) (bool, error) {
	t := now()
	live, err := a.db.Bun().NewSelect().Model((*refreshToken)(nil)).
		Where("family_id = ?", sid).Where("user_id = ?", userID).
		Where("revoked_at IS NULL").Where("expires_at > ?", t).
		Where("session_started_at > ?", t.Add(-a.maxAge)).Exists(ctx)
	if err != nil {
		return false, fmt.Errorf("auth: check session: %w", err)
	}
	return live, nil
}
