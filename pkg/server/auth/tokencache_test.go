package auth_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/interop-data/interop/internal/fakeclock"
	"github.com/interop-data/interop/pkg/server/auth"
)

// countingTokens is a TokenStore (and TokenRevoker) that counts its
// lookups; lookupHook, when set, runs inside each lookup after the token
// was read.
type countingTokens struct {
	auth.TokenStore
	mu         sync.Mutex
	lookups    int
	fail       error
	lookupHook func()
}

func newCounting() *countingTokens {
	return &countingTokens{TokenStore: auth.NewMemoryTokenStore()}
}

func (s *countingTokens) LookupToken(ctx context.Context, h string) (auth.Principal, time.Time, error) {
	s.mu.Lock()
	s.lookups++
	fail, hook := s.fail, s.lookupHook
	s.mu.Unlock()
	if fail != nil {
		return auth.Principal{}, time.Time{}, fail
	}
	p, exp, err := s.TokenStore.LookupToken(ctx, h)
	if hook != nil {
		hook()
	}
	return p, exp, err
}

func (s *countingTokens) RevokeToken(ctx context.Context, h string) error {
	return s.TokenStore.(auth.TokenRevoker).RevokeToken(ctx, h)
}

func (s *countingTokens) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lookups
}

type cacheEnv struct {
	o     *auth.OAuth2
	cache *auth.TokenCache
	store *countingTokens
	clock *fakeclock.Clock
}

// newCacheEnv is an OAuth2 issuing tokens of ttl through a cache of
// cacheTTL over a counting memory store, all on one fake clock.
func newCacheEnv(ttl, cacheTTL time.Duration, opts ...auth.TokenCacheOption) *cacheEnv {
	clk := newClock()
	st := newCounting()
	cache := auth.NewTokenCache(st, append([]auth.TokenCacheOption{auth.WithCacheTTL(cacheTTL), auth.WithCacheClock(clk.Now)}, opts...)...)
	clients := auth.NewMemoryClientStore(auth.Client{ID: "client-1", TenantID: tenant, SecretHash: auth.HashSecret("secret-1")})
	o := auth.NewOAuth2(clients, cache, auth.WithClock(clk.Now), auth.WithTokenTTL(ttl))
	return &cacheEnv{o: o, cache: cache, store: st, clock: clk}
}

func (e *cacheEnv) issue(t *testing.T) string {
	t.Helper()
	tok, _, err := e.o.IssueToken(context.Background(), auth.Client{ID: "client-1", TenantID: tenant})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func (e *cacheEnv) authenticate(token string) (auth.Principal, error) {
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Authorization", "Bearer "+token)
	return e.o.Authenticate(r)
}

func TestTokenCacheAnswersRepeatLookups(t *testing.T) {
	t.Parallel()
	e := newCacheEnv(time.Hour, 5*time.Second)
	tok := e.issue(t)
	for range 10 {
		p, err := e.authenticate(tok)
		if err != nil || len(p.TenantIDs) != 1 || p.TenantIDs[0] != tenant {
			t.Fatalf("Authenticate = %+v, %v", p, err)
		}
	}
	if n := e.store.count(); n != 0 {
		t.Fatalf("store looked up %d times; the token was cached when issued", n)
	}
	// Past the cache's TTL the store is asked again, once.
	e.clock.Advance(5 * time.Second)
	for range 3 {
		if _, err := e.authenticate(tok); err != nil {
			t.Fatal(err)
		}
	}
	if n := e.store.count(); n != 1 {
		t.Fatalf("store looked up %d times after the TTL, want 1", n)
	}
}

func TestTokenCacheRevokedTokenIsRefused(t *testing.T) {
	t.Parallel()
	e := newCacheEnv(time.Hour, time.Hour)
	tok, other := e.issue(t), e.issue(t)
	if _, err := e.authenticate(tok); err != nil {
		t.Fatal(err)
	}
	if err := e.o.RevokeToken(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
	if _, err := e.authenticate(tok); !errors.Is(err, auth.ErrInvalidToken) {
		t.Fatalf("revoked token: err = %v, want ErrInvalidToken", err)
	}
	if _, err := e.authenticate(other); err != nil {
		t.Fatalf("another token after a revocation: %v", err)
	}
	// Revoking again, or an unknown token, is not an error.
	if err := e.o.RevokeToken(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
}

// A lookup that read the token from the store before a revocation must not
// put it in the cache after the revocation.
func TestTokenCacheRevocationDuringLookup(t *testing.T) {
	t.Parallel()
	e := newCacheEnv(time.Hour, time.Hour)
	tok := e.issue(t)
	e.cache.Forget(auth.HashToken(tok)) // the next lookup reads the store
	read, release := make(chan struct{}), make(chan struct{})
	e.store.mu.Lock()
	e.store.lookupHook = func() { close(read); <-release }
	e.store.mu.Unlock()
	done := make(chan error, 1)
	go func() { _, err := e.authenticate(tok); done <- err }()
	<-read
	e.store.mu.Lock()
	e.store.lookupHook = nil
	e.store.mu.Unlock()
	if err := e.o.RevokeToken(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatalf("the lookup that began before the revocation: %v", err)
	}
	if _, err := e.authenticate(tok); !errors.Is(err, auth.ErrInvalidToken) {
		t.Fatalf("after the revocation: err = %v, want ErrInvalidToken (a stale read was cached)", err)
	}
}

// Revoked in the store by another process: this cache answers for the
// token until its entry ages out, no longer.
func TestTokenCacheStalenessIsBoundedByTTL(t *testing.T) {
	t.Parallel()
	e := newCacheEnv(time.Hour, 5*time.Second)
	tok := e.issue(t)
	if err := e.store.RevokeToken(context.Background(), auth.HashToken(tok)); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(4 * time.Second)
	if _, err := e.authenticate(tok); err != nil {
		t.Fatalf("within the TTL: %v", err)
	}
	e.clock.Advance(time.Second)
	if _, err := e.authenticate(tok); !errors.Is(err, auth.ErrInvalidToken) {
		t.Fatalf("at the TTL: err = %v, want ErrInvalidToken", err)
	}
}

func TestTokenCacheExpiredTokenIsRefused(t *testing.T) {
	t.Parallel()
	e := newCacheEnv(time.Minute, time.Hour)
	tok := e.issue(t)
	if _, err := e.authenticate(tok); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Minute)
	if _, err := e.authenticate(tok); !errors.Is(err, auth.ErrExpiredToken) {
		t.Fatalf("expired token: err = %v, want ErrExpiredToken", err)
	}
	if n := e.store.count(); n != 1 {
		t.Fatalf("store looked up %d times; the expired entry should have been dropped and read again once", n)
	}

	// The cache's own clock lagging behind does not matter: the expiry it
	// returns is checked by OAuth2 on OAuth2's clock.
	late := newClock()
	st := newCounting()
	cache := auth.NewTokenCache(st, auth.WithCacheTTL(time.Hour), auth.WithCacheClock(newClock().Now))
	o := auth.NewOAuth2(auth.NewMemoryClientStore(), cache, auth.WithClock(late.Now), auth.WithTokenTTL(time.Minute))
	tok, _, err := o.IssueToken(context.Background(), auth.Client{ID: "c", TenantID: tenant})
	if err != nil {
		t.Fatal(err)
	}
	late.Advance(2 * time.Minute)
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Authorization", "Bearer "+tok)
	if _, err := o.Authenticate(r); !errors.Is(err, auth.ErrExpiredToken) {
		t.Fatalf("expired token cached by a lagging cache: err = %v, want ErrExpiredToken", err)
	}
}

func TestTokenCacheIsBounded(t *testing.T) {
	t.Parallel()
	e := newCacheEnv(time.Hour, time.Hour, auth.WithCacheSize(3))
	var toks []string
	for range 10 {
		tok := e.issue(t)
		toks = append(toks, tok)
		if _, err := e.authenticate(tok); err != nil {
			t.Fatal(err)
		}
		if n := e.cache.Len(); n > 3 {
			t.Fatalf("cache holds %d tokens, bound 3", n)
		}
	}
	for _, tok := range toks { // evicted tokens are read from the store again
		if _, err := e.authenticate(tok); err != nil {
			t.Fatal(err)
		}
	}
	if e.cache.Len() != 3 {
		t.Fatalf("cache holds %d tokens, want 3", e.cache.Len())
	}
}

func TestTokenCacheDoesNotCacheMissesOrErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := newCounting()
	c := auth.NewTokenCache(st)
	if _, _, err := c.LookupToken(ctx, "h"); !errors.Is(err, auth.ErrUnknownToken) {
		t.Fatalf("unknown: %v", err)
	}
	// Saved by another replica straight into the store: found at once.
	p := auth.Principal{TenantIDs: []uuid.UUID{tenant}, ClientID: "c"}
	if err := st.SaveToken(ctx, "h", p, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.LookupToken(ctx, "h2"); !errors.Is(err, auth.ErrUnknownToken) {
		t.Fatalf("unknown: %v", err)
	}
	if got, _, err := c.LookupToken(ctx, "h"); err != nil || got.ClientID != "c" {
		t.Fatalf("saved elsewhere: %+v, %v", got, err)
	}
	boom := errors.New("database down")
	st.mu.Lock()
	st.fail = boom
	st.mu.Unlock()
	if _, _, err := c.LookupToken(ctx, "h3"); !errors.Is(err, boom) {
		t.Fatalf("store error: %v, want it passed on", err)
	}
	if c.Len() != 1 {
		t.Fatalf("cache holds %d entries, want only the found token", c.Len())
	}
}

func TestTokenCachePrincipalIsNotShared(t *testing.T) {
	t.Parallel()
	e := newCacheEnv(time.Hour, time.Hour)
	tok := e.issue(t)
	p, err := e.authenticate(tok)
	if err != nil {
		t.Fatal(err)
	}
	p.TenantIDs[0] = uuid.New()
	if p2, err := e.authenticate(tok); err != nil || p2.TenantIDs[0] != tenant {
		t.Fatalf("after a caller changed its copy: %+v, %v", p2, err)
	}
}

func TestRevokeUnsupported(t *testing.T) {
	t.Parallel()
	c := auth.NewTokenCache(struct{ auth.TokenStore }{auth.NewMemoryTokenStore()})
	if err := c.RevokeToken(context.Background(), "h"); !errors.Is(err, auth.ErrRevokeUnsupported) {
		t.Fatalf("err = %v, want ErrRevokeUnsupported", err)
	}
	o := auth.NewOAuth2(auth.NewMemoryClientStore(), struct{ auth.TokenStore }{auth.NewMemoryTokenStore()})
	if err := o.RevokeToken(context.Background(), "t"); !errors.Is(err, auth.ErrRevokeUnsupported) {
		t.Fatalf("err = %v, want ErrRevokeUnsupported", err)
	}
}

// Lookups, saves and revocations from many goroutines at once: no race,
// and a token revoked by the end is refused.
func TestTokenCacheConcurrentUse(t *testing.T) {
	t.Parallel()
	e := newCacheEnv(time.Hour, time.Hour, auth.WithCacheSize(8))
	var toks []string
	for range 16 {
		toks = append(toks, e.issue(t))
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				tok := toks[(g+i)%len(toks)]
				switch i % 10 {
				case 0:
					_ = e.o.RevokeToken(context.Background(), toks[0])
				case 1:
					if _, _, err := e.o.IssueToken(context.Background(), auth.Client{ID: "client-1", TenantID: tenant}); err != nil {
						t.Error(err) // not Fatal: this is not the test's goroutine
					}
				default:
					_, _ = e.authenticate(tok)
				}
			}
		})
	}
	wg.Wait()
	if _, err := e.authenticate(toks[0]); !errors.Is(err, auth.ErrInvalidToken) {
		t.Fatalf("revoked token: %v", err)
	}
	if _, err := e.authenticate(toks[1]); err != nil {
		t.Fatalf("live token: %v", err)
	}
	if n := e.cache.Len(); n > 8 {
		t.Fatalf("cache holds %d, bound 8", n)
	}
}
