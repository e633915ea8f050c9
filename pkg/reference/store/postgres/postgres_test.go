package postgres_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/interop-data/interop/pkg/reference/store"
	"github.com/interop-data/interop/pkg/reference/store/postgres"
	"github.com/interop-data/interop/pkg/reference/store/postgres/pgtest"
	"github.com/interop-data/interop/pkg/reference/store/storetest"
)

func open(t *testing.T, url string, opts ...postgres.Option) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(context.Background(), url, opts...)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

// The suite runs with the default options, and again with stores whose
// syncs read the tenant's roster at their first Stage and stage only what
// differs from it (what a sync of thousands of objects does).
func TestStoreSuite(t *testing.T) {
	for name, opts := range map[string][]postgres.Option{"default": nil, "known": {postgres.WithRosterReadAfter(0)}} {
		t.Run(name, func(t *testing.T) {
			storetest.Run(t, func(t *testing.T) store.Store { return open(t, pgtest.Schema(t), opts...) },
				storetest.WithReplicas(func(t *testing.T) storetest.Open {
					url := pgtest.Schema(t)
					return func(t *testing.T) store.Store { return open(t, url, opts...) }
				}))
		})
	}
}

// Replicas starting together on a new database apply each migration once.
func TestConcurrentOpenMigratesOnce(t *testing.T) {
	url := pgtest.Schema(t)
	ctx := context.Background()
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			s, err := postgres.Open(ctx, url)
			if err == nil {
				s.Close()
			}
			errs <- err
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatalf("concurrent Open: %v", err)
		}
	}
	conn := connect(t, url)
	var n, v int
	if err := conn.QueryRow(ctx, `SELECT count(*), max(version) FROM schema_migrations`).Scan(&n, &v); err != nil || n != postgres.SchemaVersion || v != postgres.SchemaVersion {
		t.Fatalf("schema_migrations: %d rows, version %d, %v; want %d", n, v, err, postgres.SchemaVersion)
	}
}

// A database from a newer program is refused, not half-used.
func TestOpenRefusesNewerSchema(t *testing.T) {
	url := pgtest.Schema(t)
	open(t, url).Close()
	conn := connect(t, url)
	if _, err := conn.Exec(context.Background(), `INSERT INTO schema_migrations VALUES ($1, 0)`, postgres.SchemaVersion+1); err != nil {
		t.Fatal(err)
	}
	if s, err := postgres.Open(context.Background(), url); err == nil || !strings.Contains(err.Error(), "newer") {
		if s != nil {
			s.Close()
		}
		t.Fatalf("Open of a newer database: %v", err)
	}
}

// Ping commits a write: a database that answers but cannot write is not ready.
func TestPingNeedsAWrite(t *testing.T) {
	url := pgtest.Schema(t)
	s := open(t, url)
	defer s.Close()
	ctx := context.Background()
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	// Another session holds the table Ping writes: reads still answer,
	// writes wait, and the probe must say so within its deadline.
	conn := connect(t, url)
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `LOCK TABLE liveness IN EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.FindTenant(ctx, uuid.New()); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("reads while the write is blocked: %v", err)
	}
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	if err := s.Ping(short); err == nil {
		t.Fatal("Ping succeeded while its write could not commit")
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("Ping after the lock was released: %v", err)
	}
}

func connect(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}
