package sqlite

import (
	"context"
	"fmt"
)

// CountTenants implements store.TenantCounter.
func (s *Store) CountTenants(ctx context.Context) (int, error) {
	var n int
	if err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM tenants`).Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlite: count tenants: %w", err)
	}
	return n, nil
}
