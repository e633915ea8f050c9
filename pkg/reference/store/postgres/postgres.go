package postgres

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/interop-data/interop/pkg/reference/store"
)

// Store is the PostgreSQL store. It implements store.Store.
type Store struct {
	pool *pgxpool.Pool
	// knownAfter is how many objects a sync stages before it reads the
	// tenant's roster (stage.go); negative: never.
	knownAfter int64

	sweepMu   sync.Mutex
	lastSweep time.Time // of rate_buckets
}

var _ store.Store = (*Store)(nil)

// Open connects to the database at url (postgres://…, as pgx reads it) and
// applies the migrations it lacks. The pool's size is pgxpool's default, or
// pool_max_conns in the URL.
func Open(ctx context.Context, url string, opts ...Option) (*Store, error) {
	pc, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	s := &Store{pool: pool, knownAfter: knownAfter}
	for _, o := range opts {
		o(s)
	}
	if err := s.migrate(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return s, nil
}

// Close closes the pool.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// Ping checks that the database answers and can commit a write: a
// read-only standby or a full disk is not ready.
func (s *Store) Ping(ctx context.Context) error {
	if _, err := s.pool.Exec(ctx, `INSERT INTO liveness (id, at) VALUES (1, $1) ON CONFLICT (id) DO UPDATE SET at = excluded.at`, time.Now().UnixNano()); err != nil {
		return fmt.Errorf("postgres: ping: %w", err)
	}
	return nil
}

// Secret implements store.Store: replicas asking at once all get the one
// that was inserted first. The insert and the read are two statements:
// within one, both parts see the snapshot taken when it started, so a caller
// whose insert lost to a concurrent one (ON CONFLICT DO NOTHING, after
// waiting for the winner to commit) found no row in the read either. The
// read runs after the insert returned, in a snapshot of its own that holds
// the winner's row.
func (s *Store) Secret(ctx context.Context, name string) ([]byte, error) {
	if err := store.CheckName("secret name", name); err != nil {
		return nil, err
	}
	var v []byte
	err := s.pool.QueryRow(ctx, `SELECT value FROM secrets WHERE name = $1`, name).Scan(&v)
	if err == nil {
		return v, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("postgres: secret: %w", err)
	}
	fresh := make([]byte, 32)
	if _, err := rand.Read(fresh); err != nil {
		return nil, err
	}
	if _, err := s.pool.Exec(ctx, `INSERT INTO secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING`, name, fresh); err != nil {
		return nil, fmt.Errorf("postgres: secret: %w", err)
	}
	if err := s.pool.QueryRow(ctx, `SELECT value FROM secrets WHERE name = $1`, name).Scan(&v); err != nil {
		return nil, fmt.Errorf("postgres: secret: %w", err)
	}
	return v, nil
}

// write runs fn in one transaction.
func (s *Store) write(ctx context.Context, fn func(tx pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, s.pool, fn)
}

// isUnique reports a unique_violation.
func isUnique(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}

// Option configures a Store.
type Option func(*Store)

// WithRosterReadAfter sets how many objects a sync stages before it reads
// the tenant's roster (ids, seqs, kinds and digests: about 80 bytes an
// object, up to a million objects) into memory, and from then on stages
// only the objects that differ from it. The default, 8192, leaves small
// syncs to the database's diff; 0 reads it at every sync's first Stage; a
// negative n never reads it.
func WithRosterReadAfter(n int) Option {
	return func(s *Store) { s.knownAfter = int64(n) }
}
