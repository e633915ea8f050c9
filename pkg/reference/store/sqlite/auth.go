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
	_ auth.ClientStore     = (*Store)(nil)
	_ auth.QuotaTokenStore = (*Store)(nil)
)

// FindClient implements auth.ClientStore over the tenants table: each tenant
// is one OAuth2 client.
func (s *Store) FindClient(ctx context.Context, clientID string) (auth.Client, error) {
	return store.FindClient(ctx, s, clientID)
}

// SaveToken implements auth.TokenStore: tokens survive a restart, so
// clients keep their tokens across one.
func (s *Store) SaveToken(ctx context.Context, tokenHash string, p auth.Principal, expires time.Time) error {
	return s.SaveTokenWithin(ctx, tokenHash, p, expires)
}

// SaveTokenWithin implements auth.QuotaTokenStore: the count and the save
// are one IMMEDIATE transaction, so processes on the file take turns.
func (s *Store) SaveTokenWithin(ctx context.Context, tokenHash string, p auth.Principal, expires time.Time, quotas ...auth.TokenQuota) error {
	if err := store.CheckName("token hash", tokenHash); err != nil {
		return err
	}
	if err := store.CheckName("client id", p.ClientID); err != nil {
		return err
	}
	b, err := store.EncodePrincipal(p)
	if err != nil {
		return err
	}
	// A client past its quota (a flood) is refused by the readers, without
	// waiting for the only writer; a request with room counts again inside
	// the write.
	if err := checkQuotas(ctx, s.r, p.ClientID, quotas); err != nil {
		return err
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		if err := checkQuotas(ctx, tx, p.ClientID, quotas); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM tokens WHERE expires_at < ?`, store.UnixNanos(expires.Add(-store.TokenRetention))); err != nil {
			return fmt.Errorf("sqlite: save token: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO tokens (hash, principal, expires_at, client_id) VALUES (?, ?, ?, ?)`,
			tokenHash, b, store.UnixNanos(expires), p.ClientID); err != nil {
			return fmt.Errorf("sqlite: save token: %w", err)
		}
		return nil
	})
}

// checkQuotas answers a *auth.QuotaError for the first of quotas the
// client's tokens fill.
func checkQuotas(ctx context.Context, db interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, clientID string, quotas []auth.TokenQuota) error {
	for _, q := range quotas {
		var n int
		var oldest sql.NullInt64
		if err := db.QueryRowContext(ctx, `SELECT count(*), min(expires_at) FROM tokens WHERE client_id = ? AND expires_at > ?`,
			clientID, store.UnixNanos(q.After)).Scan(&n, &oldest); err != nil {
			return fmt.Errorf("sqlite: save token: %w", err)
		}
		if n >= q.Max {
			qe := &auth.QuotaError{Quota: q}
			if oldest.Valid {
				qe.Oldest = store.FromUnixNanos(oldest.Int64)
			}
			return qe
		}
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
