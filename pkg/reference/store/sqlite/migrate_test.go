package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/interop-data/interop/pkg/reference/store"
	"github.com/interop-data/interop/pkg/server/auth"
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

// A file of schema version 5 keeps its tokens counting against their
// client's quota: migration 6 reads the client out of each principal.
func TestMigrationSixKeepsTokensCounted(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "v5.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	exp := time.Unix(1_700_003_600, 0)
	stmts := []string{`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)`}
	stmts = append(stmts, migrations[:5]...)
	stmts = append(stmts,
		`INSERT INTO schema_migrations VALUES (1, 0), (2, 0), (3, 0), (4, 0), (5, 0)`,
		`INSERT INTO tokens (hash, principal, expires_at) VALUES ('old-token', CAST('{"tenant_ids":[],"client_id":"old-client","subject":"old-client","method":"oauth2"}' AS BLOB), `+strconv.FormatInt(store.UnixNanos(exp), 10)+`)`)
	for _, q := range stmts {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	db.Close()
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	p := auth.Principal{ClientID: "old-client", Subject: "old-client", Method: auth.MethodOAuth2}
	err = s.SaveTokenWithin(ctx, "new-token", p, exp.Add(time.Minute), auth.TokenQuota{After: exp.Add(-time.Hour), Max: 1})
	var qe *auth.QuotaError
	if !errors.As(err, &qe) {
		t.Fatalf("a token saved before migration 6 does not count against its client: %v", err)
	}
	if _, _, err := s.LookupToken(ctx, "old-token"); err != nil {
		t.Fatalf("the old token after the migration: %v", err)
	}
}
