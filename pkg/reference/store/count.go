package store

import "context"

// TenantCounter is implemented by stores that can count their tenants: a
// server started on a database without any says so (every request would
// be refused). Optional, so that stores written elsewhere keep compiling.
type TenantCounter interface {
	CountTenants(ctx context.Context) (int, error)
}
