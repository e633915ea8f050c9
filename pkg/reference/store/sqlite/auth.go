package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/interop-data/interop/pkg/reference/store"
	"github.com/interop-data/interop/pkg/server/auth"
)

var (
	_ auth.ClientStore = (*Store)(nil)
	_ auth.TokenStore  = (*Store)(nil)
)

// FindClient implements auth.ClientStore over the tenants table: each tenant
// is one OAuth2 client.
func (s *Store) FindClient(ctx context.Context, clientID string) (auth.Client, error) {
	return store.FindClient(ctx, s, clientID)
}

// SaveToken implements auth.TokenStore: tokens survive a restart, so
// clients keep their tokens across one.
func (s *Store) SaveToken(ctx context.Context, tokenHash string, p auth.Principal, expires time.Time) error {
	b, err := store.EncodePrincipal(p)
	if err != nil {
		return err
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM tokens WHERE expires_at < ?`, store.UnixNanos(expires.Add(-store.TokenRetention))); err != nil {
			return fmt.Errorf("sqlite: save token: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO tokens (hash, principal, expires_at) VALUES (?, ?, ?)`,
			tokenHash, b, store.UnixNanos(expires)); err != nil {
			return fmt.Errorf("sqlite: save token: %w", err)
		}
		return nil
	})
}

// LookupToken implements auth.TokenStore.
func (s *Store) LookupToken(ctx context.Context, tokenHash string) (auth.Principal, time.Time, error) {
	var b []byte
	var exp int64
	err := s.rs.queryRow(ctx, `SELECT principal, expires_at FROM tokens WHERE hash = ?`, tokenHash).Scan(&b, &exp)
	if errors.Is(err, sql.ErrNoRows) {
		return auth.Principal{}, time.Time{}, auth.ErrUnknownToken
	}
	if err != nil {
		return auth.Principal{}, time.Time{}, fmt.Errorf("sqlite: lookup token: %w", err)
	}
	p, err := store.DecodePrincipal(b)
	if err != nil {
		return auth.Principal{}, time.Time{}, fmt.Errorf("sqlite: lookup token: %w", err)
	}
	return p, store.FromUnixNanos(exp), nil
}
