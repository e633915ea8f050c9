package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/interop-data/interop/pkg/reference/store"
	"github.com/interop-data/interop/pkg/server/auth"
)

// FindClient implements auth.ClientStore over the tenants table: each tenant
// is one OAuth2 client.
func (s *Store) FindClient(ctx context.Context, clientID string) (auth.Client, error) {
	return store.FindClient(ctx, s, clientID)
}

// SaveToken implements auth.TokenStore: a token one replica issues is
// accepted by every other.
func (s *Store) SaveToken(ctx context.Context, tokenHash string, p auth.Principal, expires time.Time) error {
	if err := store.CheckName("token hash", tokenHash); err != nil {
		return err
	}
	b, err := store.EncodePrincipal(p)
	if err != nil {
		return err
	}
	batch := &pgx.Batch{}
	batch.Queue(`DELETE FROM tokens WHERE expires_at < $1`, store.UnixNanos(expires.Add(-store.TokenRetention)))
	batch.Queue(`INSERT INTO tokens (hash, principal, expires_at) VALUES ($1, $2, $3)
		ON CONFLICT (hash) DO UPDATE SET principal = excluded.principal, expires_at = excluded.expires_at`, tokenHash, b, store.UnixNanos(expires))
	if err := s.pool.SendBatch(ctx, batch).Close(); err != nil {
		return fmt.Errorf("postgres: save token: %w", err)
	}
	return nil
}

// LookupToken implements auth.TokenStore.
func (s *Store) LookupToken(ctx context.Context, tokenHash string) (auth.Principal, time.Time, error) {
	if !store.Storable(tokenHash) {
		return auth.Principal{}, time.Time{}, auth.ErrUnknownToken
	}
	var b []byte
	var exp int64
	err := s.pool.QueryRow(ctx, `SELECT principal, expires_at FROM tokens WHERE hash = $1`, tokenHash).Scan(&b, &exp)
	if errors.Is(err, pgx.ErrNoRows) {
		return auth.Principal{}, time.Time{}, auth.ErrUnknownToken
	}
	if err != nil {
		return auth.Principal{}, time.Time{}, fmt.Errorf("postgres: lookup token: %w", err)
	}
	p, err := store.DecodePrincipal(b)
	if err != nil {
		return auth.Principal{}, time.Time{}, fmt.Errorf("postgres: lookup token: %w", err)
	}
	return p, store.FromUnixNanos(exp), nil
}
