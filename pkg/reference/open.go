package reference

import (
	"context"
	"strings"

	"github.com/interop-data/interop/pkg/reference/store"
	"github.com/interop-data/interop/pkg/reference/store/postgres"
	"github.com/interop-data/interop/pkg/reference/store/sqlite"
)

// OpenStore opens the store a --db value names, applying the migrations it
// lacks:
//
//   - postgres://… or postgresql://…: a PostgreSQL database (a URL as
//     libpq and pgx read it);
//   - sqlite:PATH, or any other value: the SQLite file at PATH, created
//     when absent.
func OpenStore(ctx context.Context, dsn string) (store.Store, error) {
	switch {
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		return postgres.Open(ctx, dsn)
	case strings.HasPrefix(dsn, "sqlite://"):
		return sqlite.Open(ctx, strings.TrimPrefix(dsn, "sqlite://"))
	case strings.HasPrefix(dsn, "sqlite:"):
		return sqlite.Open(ctx, strings.TrimPrefix(dsn, "sqlite:"))
	}
	return sqlite.Open(ctx, dsn)
}
