package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/interop-data/interop/pkg/reference/store"
)

// LTIKeys implements store.Store.
func (s *Store) LTIKeys(ctx context.Context) ([]store.LTIKey, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, private, created_at, retired_at FROM lti_keys ORDER BY created_at DESC, id DESC`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: lti keys: %w", err)
	}
	defer rows.Close()
	out := []store.LTIKey{}
	for rows.Next() {
		var k store.LTIKey
		var created, retired int64
		if err := rows.Scan(&k.ID, &k.Private, &created, &retired); err != nil {
			return nil, fmt.Errorf("sqlite: lti keys: %w", err)
		}
		k.CreatedAt, k.RetiredAt = store.FromUnixNanos(created), store.FromUnixNanos(retired)
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: lti keys: %w", err)
	}
	return out, nil
}

// AddLTIKey implements store.Store, in one write transaction (the file's
// write lock orders concurrent calls).
func (s *Store) AddLTIKey(ctx context.Context, k store.LTIKey, rotate bool, prune time.Time) (store.LTIKey, error) {
	var cur store.LTIKey
	err := s.write(ctx, func(tx *sql.Tx) error {
		var created int64
		err := tx.QueryRowContext(ctx, `SELECT id, private, created_at FROM lti_keys WHERE retired_at = 0`).Scan(&cur.ID, &cur.Private, &created)
		switch {
		case err == nil && !rotate:
			cur.CreatedAt = store.FromUnixNanos(created)
			return nil
		case err != nil && !errors.Is(err, sql.ErrNoRows):
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE lti_keys SET retired_at = ? WHERE retired_at = 0`, store.UnixNanos(k.CreatedAt)); err != nil {
			return err
		}
		if !prune.IsZero() {
			if _, err := tx.ExecContext(ctx, `DELETE FROM lti_keys WHERE retired_at <> 0 AND retired_at < ?`, store.UnixNanos(prune)); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO lti_keys (id, private, created_at) VALUES (?, ?, ?)`, k.ID, k.Private, store.UnixNanos(k.CreatedAt)); err != nil {
			if isUnique(err) {
				return fmt.Errorf("%w: lti key %s exists", store.ErrConflict, k.ID)
			}
			return err
		}
		cur = store.LTIKey{ID: k.ID, Private: k.Private, CreatedAt: store.FromUnixNanos(store.UnixNanos(k.CreatedAt))}
		return nil
	})
	if err != nil {
		if errors.Is(err, store.ErrConflict) {
			return store.LTIKey{}, err
		}
		return store.LTIKey{}, fmt.Errorf("sqlite: add lti key: %w", err)
	}
	return cur, nil
}
