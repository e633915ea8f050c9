package auth

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"
)

// Errors the stores return.
var (
	// ErrUnknownClient: FindClient found no client with that id.
	ErrUnknownClient = errors.New("auth: unknown client")
	// ErrUnknownToken: LookupToken found no token with that hash.
	ErrUnknownToken = errors.New("auth: unknown token")
)

// Client is an OAuth2 client of the token endpoint: one installed
// integration, acting for one tenant.
type Client struct {
	ID       string
	TenantID uuid.UUID
	// SecretHash is HashSecret of the client's secret; never the secret.
	SecretHash string
}

// ClientStore finds registered clients.
type ClientStore interface {
	// FindClient returns the client with that id, or an error wrapping
	// ErrUnknownClient when there is none.
	FindClient(ctx context.Context, clientID string) (Client, error)
}

// TokenStore keeps issued access tokens under their hash (HashToken).
type TokenStore interface {
	SaveToken(ctx context.Context, tokenHash string, p Principal, expires time.Time) error
	// LookupToken returns the principal and expiry saved under tokenHash, or
	// an error wrapping ErrUnknownToken. It may return expired tokens: the
	// caller checks expiry against its own clock.
	LookupToken(ctx context.Context, tokenHash string) (Principal, time.Time, error)
}

// TokenQuota bounds the tokens of one client a store will hold: at most Max
// of them that expire after After. OAuth2 expresses both of its limits
// (TokenLimit) this way: live tokens are those expiring after now, and the
// tokens issued in the last minute those expiring after now+TTL-1m.
type TokenQuota struct {
	After time.Time
	Max   int
}

// QuotaError is the answer of QuotaTokenStore.SaveTokenWithin when one of
// the quotas is full; nothing was saved. Oldest is the earliest expiry among
// the tokens that count against it: the quota has room again once After has
// passed it.
type QuotaError struct {
	Quota  TokenQuota
	Oldest time.Time
}

func (e *QuotaError) Error() string {
	return fmt.Sprintf("auth: the client holds %d or more tokens expiring after %s", e.Quota.Max, e.Quota.After.UTC().Format(time.RFC3339))
}

// QuotaTokenStore is a TokenStore that bounds how many tokens each client
// holds. SaveTokenWithin counts the tokens of p.ClientID against every quota
// and saves the new one only when each has room, as one atomic step: two
// servers (or goroutines) saving at once cannot both take the last place.
// OAuth2 uses it when its TokenStore has it; every store of this module
// does. A TokenStore without it is not bounded (docs/SECURITY.md).
type QuotaTokenStore interface {
	TokenStore
	SaveTokenWithin(ctx context.Context, tokenHash string, p Principal, expires time.Time, quotas ...TokenQuota) error
}

// NewMemoryClientStore returns a ClientStore holding clients, for tests and
// small fixed deployments.
func NewMemoryClientStore(clients ...Client) ClientStore {
	m := make(memoryClients, len(clients))
	for _, c := range clients {
		m[c.ID] = c
	}
	return m
}

type memoryClients map[string]Client

func (m memoryClients) FindClient(_ context.Context, id string) (Client, error) {
	c, ok := m[id]
	if !ok {
		return Client{}, ErrUnknownClient
	}
	return c, nil
}

// NewMemoryTokenStore returns a TokenStore in memory, safe for concurrent use.
// Expired tokens are dropped as new ones are saved, so it does not grow
// without bound on a long-running server.
func NewMemoryTokenStore() TokenStore {
	return &memoryTokens{m: make(map[string]memoryToken)}
}

type memoryToken struct {
	p       Principal
	expires time.Time
}

type memoryTokens struct {
	mu     sync.Mutex
	m      map[string]memoryToken
	saves  int
	newest time.Time
}

func (s *memoryTokens) SaveToken(ctx context.Context, hash string, p Principal, expires time.Time) error {
	return s.SaveTokenWithin(ctx, hash, p, expires)
}

// SaveTokenWithin implements QuotaTokenStore. It counts by walking the
// map: the store is for tests and small deployments, and the quotas keep
// the map small.
func (s *memoryTokens) SaveTokenWithin(_ context.Context, hash string, p Principal, expires time.Time, quotas ...TokenQuota) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, q := range quotas {
		n, oldest := 0, time.Time{}
		for _, t := range s.m {
			if t.p.ClientID == p.ClientID && t.expires.After(q.After) {
				n++
				if oldest.IsZero() || t.expires.Before(oldest) {
					oldest = t.expires
				}
			}
		}
		if n >= q.Max {
			return &QuotaError{Quota: q, Oldest: oldest}
		}
	}
	s.m[hash] = memoryToken{p: p, expires: expires}
	if expires.After(s.newest) {
		s.newest = expires
	}
	// Sweep every 256 saves: amortised O(1), and it needs no clock of its
	// own. A token is stale once it expired before the newest one was issued
	// minus its lifetime; approximating "now" by the latest expiry minus one
	// day keeps anything that could still be valid under any sane TTL.
	s.saves++
	if s.saves%256 == 0 {
		cutoff := s.newest.Add(-24 * time.Hour)
		for k, t := range s.m {
			if t.expires.Before(cutoff) {
				delete(s.m, k)
			}
		}
	}
	return nil
}

func (s *memoryTokens) LookupToken(_ context.Context, hash string) (Principal, time.Time, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.m[hash]
	if !ok {
		return Principal{}, time.Time{}, ErrUnknownToken
	}
	return t.p, t.expires, nil
}
