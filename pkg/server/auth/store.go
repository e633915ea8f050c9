package auth

import (
	"context"
	"errors"
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

func (s *memoryTokens) SaveToken(_ context.Context, hash string, p Principal, expires time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
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
