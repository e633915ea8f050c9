package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/interop-data/interop/pkg/reference/store"
	"github.com/interop-data/interop/pkg/server/auth"
)

// FindClient implements auth.ClientStore over the tenants table: each tenant
// is one OAuth2 client.
func (s *Store) FindClient(ctx context.Context, clientID string) (auth.Client, error) {
	t, err := s.FindTenantByClientID(ctx, clientID)
	if errors.Is(err, store.ErrNotFound) {
		return auth.Client{}, fmt.Errorf("client %q: %w", clientID, auth.ErrUnknownClient)
	}
	if err != nil {
		return auth.Client{}, err
	}
	return auth.Client{ID: t.ClientID, TenantID: t.ID, SecretHash: t.SecretHash}, nil
}

// tokenRetention is how long past its expiry a token row is kept (see the
// SQLite store: saving a token drops rows that expired this long before).
const tokenRetention = 24 * time.Hour

type principalJSON struct {
	TenantIDs []uuid.UUID `json:"tenant_ids"`
	ClientID  string      `json:"client_id"`
	Subject   string      `json:"subject"`
	Method    string      `json:"method"`
}

// SaveToken implements auth.TokenStore: a token one replica issues is
// accepted by every other.
func (s *Store) SaveToken(ctx context.Context, tokenHash string, p auth.Principal, expires time.Time) error {
	b, err := json.Marshal(principalJSON{p.TenantIDs, p.ClientID, p.Subject, p.Method})
	if err != nil {
		return err
	}
	batch := &pgx.Batch{}
	batch.Queue(`DELETE FROM tokens WHERE expires_at < $1`, nanos(expires.Add(-tokenRetention)))
	batch.Queue(`INSERT INTO tokens (hash, principal, expires_at) VALUES ($1, $2, $3)
		ON CONFLICT (hash) DO UPDATE SET principal = excluded.principal, expires_at = excluded.expires_at`, tokenHash, b, nanos(expires))
	if err := s.pool.SendBatch(ctx, batch).Close(); err != nil {
		return fmt.Errorf("postgres: save token: %w", err)
	}
	return nil
}

// LookupToken implements auth.TokenStore.
func (s *Store) LookupToken(ctx context.Context, tokenHash string) (auth.Principal, time.Time, error) {
	var b []byte
	var exp int64
	err := s.pool.QueryRow(ctx, `SELECT principal, expires_at FROM tokens WHERE hash = $1`, tokenHash).Scan(&b, &exp)
	if errors.Is(err, pgx.ErrNoRows) {
		return auth.Principal{}, time.Time{}, auth.ErrUnknownToken
	}
	if err != nil {
		return auth.Principal{}, time.Time{}, fmt.Errorf("postgres: lookup token: %w", err)
	}
	var pj principalJSON
	if err := json.Unmarshal(b, &pj); err != nil {
		return auth.Principal{}, time.Time{}, fmt.Errorf("postgres: lookup token: %w", err)
	}
	return auth.Principal{TenantIDs: pj.TenantIDs, ClientID: pj.ClientID, Subject: pj.Subject, Method: pj.Method}, fromNanos(exp), nil
}
