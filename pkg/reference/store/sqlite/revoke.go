package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/interop-data/interop/pkg/server/auth"
)

var _ auth.TokenRevoker = (*Store)(nil)

// RevokeToken implements auth.TokenRevoker.
func (s *Store) RevokeToken(ctx context.Context, tokenHash string) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM tokens WHERE hash = ?`, tokenHash); err != nil {
			return fmt.Errorf("sqlite: revoke token: %w", err)
		}
		return nil
	})
}
