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

var _ auth.QuotaTokenStore = (*Store)(nil)

// FindClient implements auth.ClientStore over the tenants table: each tenant
// is one OAuth2 client.
func (s *Store) FindClient(ctx context.Context, clientID string) (auth.Client, error) {
	return store.FindClient(ctx, s, clientID)
}

// SaveToken implements auth.TokenStore: a token one replica issues is
// accepted by every other.
func (s *Store) SaveToken(ctx context.Context, tokenHash string, p auth.Principal, expires time.Time) error {
	return s.SaveTokenWithin(ctx, tokenHash, p, expires)
}

// SaveTokenWithin implements auth.QuotaTokenStore. The client's quotas are
// counted and the token saved under a transaction-scoped advisory lock on
// the client (and schema), so that replicas issuing to one client at once
// take turns and cannot both take its last place.
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
	// A client past its quota (a flood) is refused by plain reads, which
	// take no lock and no transaction: only a request with room waits for
	// the client's lock, and counts again under it.
	if err := checkQuotas(ctx, s.pool, p.ClientID, quotas); err != nil {
		return err
	}
	return s.write(ctx, func(tx pgx.Tx) error {
		if len(quotas) > 0 {
			if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('interop-token:' || current_schema() || ':' || $1, 0))`, p.ClientID); err != nil {
				return fmt.Errorf("postgres: save token: %w", err)
			}
		}
		if err := checkQuotas(ctx, tx, p.ClientID, quotas); err != nil {
			return err
		}
		batch := &pgx.Batch{}
		batch.Queue(`DELETE FROM tokens WHERE expires_at < $1`, store.UnixNanos(expires.Add(-store.TokenRetention)))
		batch.Queue(`INSERT INTO tokens (hash, principal, expires_at, client_id) VALUES ($1, $2, $3, $4)
			ON CONFLICT (hash) DO UPDATE SET principal = excluded.principal, expires_at = excluded.expires_at, client_id = excluded.client_id`,
			tokenHash, b, store.UnixNanos(expires), p.ClientID)
		if err := tx.SendBatch(ctx, batch).Close(); err != nil {
			return fmt.Errorf("postgres: save token: %w", err)
		}
		return nil
	})
}

// checkQuotas answers a *auth.QuotaError for the first of quotas the
// client's tokens fill.
func checkQuotas(ctx context.Context, db interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}, clientID string, quotas []auth.TokenQuota) error {
	for _, q := range quotas {
		var n int
		var oldest *int64
		if err := db.QueryRow(ctx, `SELECT count(*), min(expires_at) FROM tokens WHERE client_id = $1 AND expires_at > $2`,
			clientID, store.UnixNanos(q.After)).Scan(&n, &oldest); err != nil {
			return fmt.Errorf("postgres: save token: %w", err)
		}
		if n >= q.Max {
			qe := &auth.QuotaError{Quota: q}
			if oldest != nil {
				qe.Oldest = store.FromUnixNanos(*oldest)
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
