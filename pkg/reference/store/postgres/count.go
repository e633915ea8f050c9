package postgres

import (
	"context"
	"fmt"
)

// CountTenants implements store.TenantCounter.
func (s *Store) CountTenants(ctx context.Context) (int, error) {
	var n int
	if err := s.pool.QueryRow(ctx, `SELECT COUNT(*) FROM tenants`).Scan(&n); err != nil {
		return 0, fmt.Errorf("postgres: count tenants: %w", err)
	}
	return n, nil
}
