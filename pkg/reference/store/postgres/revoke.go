package postgres

import (
	"context"
	"fmt"

	"github.com/interop-data/interop/pkg/server/auth"
)

var _ auth.TokenRevoker = (*Store)(nil)

// RevokeToken implements auth.TokenRevoker. Other replicas stop accepting
// the token once their token caches let it go (auth.TokenCache).
func (s *Store) RevokeToken(ctx context.Context, tokenHash string) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM tokens WHERE hash = $1`, tokenHash); err != nil {
		return fmt.Errorf("postgres: revoke token: %w", err)
	}
	return nil
}
