package auth

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
)

// Defaults of NewTokenCache.
const (
	// DefaultTokenCacheTTL is how long a TokenCache answers for a token
	// without asking its store again: the longest a token revoked through
	// another process (another replica) stays accepted by this one.
	DefaultTokenCacheTTL = 5 * time.Second
	// DefaultTokenCacheSize is how many tokens a TokenCache holds at most
	// (a few hundred bytes each).
	DefaultTokenCacheSize = 10_000
)

// ErrRevokeUnsupported: the token store cannot revoke tokens.
var ErrRevokeUnsupported = errors.New("auth: the token store cannot revoke tokens")

// TokenRevoker is a TokenStore that can forget a token before it expires.
type TokenRevoker interface {
	// RevokeToken removes the token saved under tokenHash; revoking an
	// unknown or already revoked token is not an error.
	RevokeToken(ctx context.Context, tokenHash string) error
}

// TokenCache is a TokenStore in front of another that remembers, for a short
// time, the tokens the other found, so that a client's requests do not each
// look their bearer token up in a database. A token is answered from the
// cache for at most the cache's TTL after it was read, and never past its
// own expiry; unknown tokens and store errors are not cached, so a token
// issued by another replica is accepted at once.
//
// Revocation: RevokeToken (and OAuth2.RevokeToken over a cache) removes the
// token from the store and from this cache before it returns, and a lookup
// that was reading the store while the revocation ran does not put what it
// read back, so within one process a revoked token is refused at once.
// Another process's cache keeps answering for a token revoked elsewhere
// until its entry ages out: at most the TTL (DefaultTokenCacheTTL, 5 s).
//
// A TokenCache is safe for concurrent use.
type TokenCache struct {
	inner TokenStore
	ttl   time.Duration
	size  int
	now   func() time.Time

	mu sync.Mutex
	m  map[string]cachedToken
	// gen counts revocations: a lookup or save that began before one
	// does not store what it read.
	gen uint64
}

type cachedToken struct {
	p       Principal
	expires time.Time // the token's own expiry
	until   time.Time // when the cache stops answering for it
}

// TokenCacheOption configures NewTokenCache.
type TokenCacheOption func(*TokenCache)

// WithCacheTTL sets how long an entry is answered from the cache (default
// DefaultTokenCacheTTL). It bounds how long a token revoked in another
// process stays accepted here.
func WithCacheTTL(d time.Duration) TokenCacheOption {
	return func(c *TokenCache) {
		if d > 0 {
			c.ttl = d
		}
	}
}

// WithCacheSize sets how many tokens the cache holds at most (default
// DefaultTokenCacheSize); when full, an arbitrary entry makes room.
func WithCacheSize(n int) TokenCacheOption {
	return func(c *TokenCache) {
		if n > 0 {
			c.size = n
		}
	}
}

// WithCacheClock replaces time.Now, for tests that age entries without
// sleeping; give it the same clock as the OAuth2 in front.
func WithCacheClock(now func() time.Time) TokenCacheOption {
	return func(c *TokenCache) {
		if now != nil {
			c.now = now
		}
	}
}

// NewTokenCache returns a cache in front of inner.
func NewTokenCache(inner TokenStore, opts ...TokenCacheOption) *TokenCache {
	c := &TokenCache{inner: inner, ttl: DefaultTokenCacheTTL, size: DefaultTokenCacheSize, now: time.Now, m: make(map[string]cachedToken)}
	for _, o := range opts {
		o(c)
	}
	return c
}

// Len is how many tokens the cache holds.
func (c *TokenCache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}

// LookupToken implements TokenStore.
func (c *TokenCache) LookupToken(ctx context.Context, tokenHash string) (Principal, time.Time, error) {
	now := c.now()
	c.mu.Lock()
	e, ok := c.m[tokenHash]
	if ok && !now.Before(e.until) {
		delete(c.m, tokenHash)
		ok = false
	}
	gen := c.gen
	c.mu.Unlock()
	if ok {
		return e.principal(), e.expires, nil
	}
	p, expires, err := c.inner.LookupToken(ctx, tokenHash)
	if err != nil {
		return p, expires, err
	}
	c.put(tokenHash, p, expires, gen, now)
	return p, expires, nil
}

// SaveToken implements TokenStore: the token is saved in the store, then
// cached, so that its first use does not read it back.
func (c *TokenCache) SaveToken(ctx context.Context, tokenHash string, p Principal, expires time.Time) error {
	return c.save(tokenHash, p, expires, func() error { return c.inner.SaveToken(ctx, tokenHash, p, expires) })
}

// SaveTokenWithin implements QuotaTokenStore, so that a cache in front of a
// store that counts token quotas keeps them: the quotas are checked by the
// store (a store that is no QuotaTokenStore saves without them, as OAuth2
// would), then the token is cached like SaveToken's.
func (c *TokenCache) SaveTokenWithin(ctx context.Context, tokenHash string, p Principal, expires time.Time, quotas ...TokenQuota) error {
	qs, ok := c.inner.(QuotaTokenStore)
	if !ok {
		return c.SaveToken(ctx, tokenHash, p, expires)
	}
	return c.save(tokenHash, p, expires, func() error { return qs.SaveTokenWithin(ctx, tokenHash, p, expires, quotas...) })
}

// save runs store, then caches the token it saved, so that its first use
// does not read it back; the generation is read before, so that a
// revocation in between keeps it out of the cache.
func (c *TokenCache) save(tokenHash string, p Principal, expires time.Time, store func() error) error {
	now := c.now()
	c.mu.Lock()
	gen := c.gen
	c.mu.Unlock()
	if err := store(); err != nil {
		return err
	}
	c.put(tokenHash, p, expires, gen, now)
	return nil
}

// RevokeToken implements TokenRevoker: the token is revoked in the store
// (which must implement TokenRevoker, or the answer is
// ErrRevokeUnsupported) and dropped from this cache.
func (c *TokenCache) RevokeToken(ctx context.Context, tokenHash string) error {
	r, ok := c.inner.(TokenRevoker)
	if !ok {
		return ErrRevokeUnsupported
	}
	// Forget before and after: a lookup that read the token before the
	// store forgot it finds gen moved on and does not cache it; one that
	// cached it in between is dropped by the second call.
	c.forget(tokenHash)
	defer c.forget(tokenHash)
	return r.RevokeToken(ctx, tokenHash)
}

// Forget drops a token from this cache alone, for a caller that revoked it
// in the store by other means.
func (c *TokenCache) Forget(tokenHash string) { c.forget(tokenHash) }

func (c *TokenCache) forget(tokenHash string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	delete(c.m, tokenHash)
}

// put caches a token read or saved at now, unless a revocation ran since
// gen was read or the token has expired.
func (c *TokenCache) put(tokenHash string, p Principal, expires time.Time, gen uint64, now time.Time) {
	until := now.Add(c.ttl)
	if expires.Before(until) {
		until = expires
	}
	if !now.Before(until) {
		return
	}
	// The cached principal is the cache's own: a caller changing the
	// slice it was given cannot change what others are answered.
	p.TenantIDs = slices.Clone(p.TenantIDs)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen {
		return
	}
	if _, ok := c.m[tokenHash]; !ok && len(c.m) >= c.size {
		c.evict(now)
	}
	c.m[tokenHash] = cachedToken{p: p, expires: expires, until: until}
}

// evict makes room for one entry: an aged-out one among the first few the
// map yields (in random order), else the first.
func (c *TokenCache) evict(now time.Time) {
	victim, n := "", 0
	for k, e := range c.m {
		if !now.Before(e.until) {
			victim = k
			break
		}
		if n == 0 {
			victim = k
		}
		if n++; n == 8 {
			break
		}
	}
	delete(c.m, victim)
}

func (e cachedToken) principal() Principal {
	p := e.p
	p.TenantIDs = slices.Clone(p.TenantIDs)
	return p
}

// RevokeToken revokes a token o issued: its store (a TokenCache, or any
// TokenStore that implements TokenRevoker) forgets it, and Authenticate
// refuses it from then on in this process; see TokenCache for other
// processes.
func (o *OAuth2) RevokeToken(ctx context.Context, token string) error {
	r, ok := o.tokens.(TokenRevoker)
	if !ok {
		return ErrRevokeUnsupported
	}
	if err := r.RevokeToken(ctx, HashToken(token)); err != nil {
		return fmt.Errorf("auth: revoke token: %w", err)
	}
	return nil
}

// RevokeToken implements TokenRevoker.
func (s *memoryTokens) RevokeToken(_ context.Context, hash string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, hash)
	return nil
}
