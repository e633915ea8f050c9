package postgres

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migration is one embedded schema change.
type migration struct {
	version int
	sql     string
}

// migrations are the embedded files in version order; version i+1 is
// migrations[i]. Never edit one that has shipped: add a new file.
var migrations = func() []migration {
	names, err := fs.Glob(migrationFiles, "migrations/*.sql")
	if err != nil {
		panic(err)
	}
	sort.Strings(names)
	out := make([]migration, len(names))
	for i, name := range names {
		base := strings.TrimPrefix(name, "migrations/")
		v, err := strconv.Atoi(strings.SplitN(base, "_", 2)[0])
		if err != nil || v != i+1 {
			panic(fmt.Sprintf("postgres: migration %s: want version %d", name, i+1))
		}
		b, _ := migrationFiles.ReadFile(name)
		out[i] = migration{version: v, sql: string(b)}
	}
	return out
}()

// SchemaVersion is the version Open brings a database to.
var SchemaVersion = len(migrations)

// migrate applies the missing migrations in one transaction. The advisory
// lock, keyed by the schema, makes replicas that start together wait for
// each other instead of racing to create the same tables.
func (s *Store) migrate(ctx context.Context) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('interop-migrate:' || current_schema()))`); err != nil {
			return fmt.Errorf("postgres: migrate: %w", err)
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, applied_at bigint NOT NULL)`); err != nil {
			return fmt.Errorf("postgres: migrate: %w", err)
		}
		var have int
		if err := tx.QueryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&have); err != nil {
			return fmt.Errorf("postgres: migrate: %w", err)
		}
		if have > len(migrations) {
			return fmt.Errorf("postgres: the database has schema version %d, newer than this program's %d", have, len(migrations))
		}
		for _, m := range migrations[have:] {
			if _, err := tx.Exec(ctx, m.sql); err != nil {
				return fmt.Errorf("postgres: migration %d: %w", m.version, err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)`, m.version, time.Now().UnixNano()); err != nil {
				return fmt.Errorf("postgres: migration %d: %w", m.version, err)
			}
		}
		return nil
	})
}
