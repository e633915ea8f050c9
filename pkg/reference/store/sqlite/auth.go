package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

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
	t, err := s.FindTenantByClientID(ctx, clientID)
	if errors.Is(err, store.ErrNotFound) {
		return auth.Client{}, fmt.Errorf("client %q: %w", clientID, auth.ErrUnknownClient)
	}
	if err != nil {
		return auth.Client{}, err
	}
	return auth.Client{ID: t.ClientID, TenantID: t.ID, SecretHash: t.SecretHash}, nil
}

// tokenRetention is how long past its expiry a token row is kept. Saving a
// token drops rows that expired this long before the new token expires: no
// clock is needed, and as long as token lifetimes are shorter than this, only
// tokens that have certainly expired are dropped.
const tokenRetention = 24 * time.Hour

type principalJSON struct {
	TenantIDs []uuid.UUID `json:"tenant_ids"`
	ClientID  string      `json:"client_id"`
	Subject   string      `json:"subject"`
	Method    string      `json:"method"`
}

// SaveToken implements auth.TokenStore: tokens survive a restart, so
// clients keep their tokens across one.
func (s *Store) SaveToken(ctx context.Context, tokenHash string, p auth.Principal, expires time.Time) error {
	b, err := json.Marshal(principalJSON{p.TenantIDs, p.ClientID, p.Subject, p.Method})
	if err != nil {
		return err
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM tokens WHERE expires_at < ?`, nanos(expires.Add(-tokenRetention))); err != nil {
			return fmt.Errorf("sqlite: save token: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO tokens (hash, principal, expires_at) VALUES (?, ?, ?)`,
			tokenHash, b, nanos(expires)); err != nil {
			return fmt.Errorf("sqlite: save token: %w", err)
		}
		return nil
	})
}

// LookupToken implements auth.TokenStore.
func (s *Store) LookupToken(ctx context.Context, tokenHash string) (auth.Principal, time.Time, error) {
	var b []byte
	var exp int64
	err := s.r.QueryRowContext(ctx, `SELECT principal, expires_at FROM tokens WHERE hash = ?`, tokenHash).Scan(&b, &exp)
	if errors.Is(err, sql.ErrNoRows) {
		return auth.Principal{}, time.Time{}, auth.ErrUnknownToken
	}
	if err != nil {
		return auth.Principal{}, time.Time{}, fmt.Errorf("sqlite: lookup token: %w", err)
	}
	var pj principalJSON
	if err := json.Unmarshal(b, &pj); err != nil {
		return auth.Principal{}, time.Time{}, fmt.Errorf("sqlite: lookup token: %w", err)
	}
	return auth.Principal{TenantIDs: pj.TenantIDs, ClientID: pj.ClientID, Subject: pj.Subject, Method: pj.Method}, fromNanos(exp), nil
}
