package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/interop-data/interop/pkg/reference/store"
)

// A file written by version 1 opens at the current version with its org
// links still answering an org's lists: migration 2 fills in the kind and
// subtype the links did not carry.
func TestMigrateFromVersion1(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "v1.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	tenant, org, person := uuid.New(), uuid.New(), uuid.New()
	for _, stmt := range []string{
		`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)`,
		migrations[0],
		`INSERT INTO schema_migrations VALUES (1, 0)`,
		`INSERT INTO tenants (id, name, client_id, secret_hash, created_at) VALUES ('` + tenant.String() + `', 't', 'c', 'h', 0)`,
		`INSERT INTO objects (tenant_id, id, kind, subtype, data) VALUES ('` + tenant.String() + `', '` + person.String() + `', 'Person', 'Student', '{"name":"v1"}')`,
		`INSERT INTO object_orgs (tenant_id, org_id, object_seq) VALUES ('` + tenant.String() + `', '` + org.String() + `', 1)`,
	} {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	db.Close()

	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var v int
	if err := s.r.QueryRowContext(ctx, `SELECT MAX(version) FROM schema_migrations`).Scan(&v); err != nil || v != SchemaVersion || v < 2 {
		t.Fatalf("version = %d, %v; want %d", v, err, SchemaVersion)
	}
	got, _, err := s.ListObjects(ctx, store.ObjectQuery{Tenants: []uuid.UUID{tenant}, Kind: store.KindPerson, Subtype: store.SubtypeStudent, Org: &org, Limit: 10})
	if err != nil || len(got) != 1 || got[0].ID != person || string(got[0].Data) != `{"name":"v1"}` {
		t.Fatalf("org's students after migration = %+v, %v", got, err)
	}
}

// A file from a newer program is refused, not half-used.
func TestOpenRefusesNewerSchema(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "future.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.w.ExecContext(ctx, `INSERT INTO schema_migrations VALUES (?, 0)`, SchemaVersion+1); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if s, err := Open(ctx, path); err == nil || !strings.Contains(err.Error(), "newer") {
		if s != nil {
			s.Close()
		}
		t.Fatalf("Open of a newer file: %v", err)
	}
}
