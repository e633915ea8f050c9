package open

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/interop-data/interop/pkg/reference/store"
	"github.com/interop-data/interop/pkg/reference/store/postgres"
	"github.com/interop-data/interop/pkg/reference/store/sqlite"
)

// SQLitePath is the file a --db value names, or false when it names a
// PostgreSQL database:
//
//   - postgres://… or postgresql://…: a PostgreSQL database (a URL as
//     libpq and pgx read it);
//   - sqlite://PATH, sqlite:PATH, or any other value: the SQLite file at
//     PATH.
func SQLitePath(dsn string) (string, bool) {
	switch {
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		return "", false
	case strings.HasPrefix(dsn, "sqlite://"):
		return strings.TrimPrefix(dsn, "sqlite://"), true
	case strings.HasPrefix(dsn, "sqlite:"):
		return strings.TrimPrefix(dsn, "sqlite:"), true
	}
	return dsn, true
}

// Store opens the store dsn names (see SQLitePath), applying the migrations
// it lacks; a SQLite file is created when absent.
func Store(ctx context.Context, dsn string) (store.Store, error) {
	if p, ok := SQLitePath(dsn); ok {
		return sqlite.Open(ctx, p)
	}
	return postgres.Open(ctx, dsn)
}

// exists reports whether path exists (a permission error counts as
// existing: opening it then says what is wrong).
func exists(path string) bool {
	_, err := os.Stat(path)
	return !errors.Is(err, os.ErrNotExist)
}

// Existing is Store refusing a SQLite file that does not exist: opening it
// would create an empty database no server serves.
func Existing(ctx context.Context, dsn string) (store.Store, error) {
	if p, ok := SQLitePath(dsn); ok {
		if dir := filepath.Dir(p); !exists(dir) {
			return nil, fmt.Errorf("database %s: the directory %s does not exist", p, dir)
		}
		if _, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("database %s: %w", p, err)
		}
	}
	return Store(ctx, dsn)
}
