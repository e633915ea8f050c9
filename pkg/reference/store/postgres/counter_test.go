package postgres_test

import (
	"context"
	"encoding/json"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/interop-data/interop/pkg/reference/store"
	"github.com/interop-data/interop/pkg/reference/store/postgres/pgtest"
)

// A sync only locks the tenant's row. Were its enqueues to update that row
// (the counter lived there before migration 3), every version they left
// would be walked by the foreign-key check of each later insert of the same
// transaction, and a large sync would slow down as it went.
func TestSyncLeavesTheTenantRowAlone(t *testing.T) {
	url := pgtest.Schema(t)
	s := open(t, url)
	defer s.Close()
	ctx := context.Background()
	t0 := time.Unix(1_700_000_000, 0)
	tn := store.Tenant{ID: uuid.New(), Name: "rows", ClientID: "rows-" + uuid.NewString()[:8], SecretHash: "hash"}
	if _, err := s.CreateTenant(ctx, tn, nil, t0); err != nil {
		t.Fatal(err)
	}
	conn := connect(t, url)
	rowVersion := func() string {
		var ctid string
		if err := conn.QueryRow(ctx, `SELECT ctid::text || '/' || xmin::text FROM tenants WHERE id = $1`, tn.ID).Scan(&ctid); err != nil {
			t.Fatal(err)
		}
		return ctid
	}
	before := rowVersion()
	var got []store.Task
	err := s.Sync(ctx, tn.ID, func(tx store.SyncTx) error {
		for i := range 3 {
			o := store.Object{ID: uuid.New(), Kind: store.KindCourse, Label: "c", Data: json.RawMessage(`{"i":` + strconv.Itoa(i) + `}`)}
			if _, err := tx.PutAll(ctx, []store.Object{o}); err != nil {
				return err
			}
			tasks, err := tx.Enqueue(ctx, []store.NewTask{{Kind: store.TaskLifecycle, Payload: []byte(`{}`)}, {Kind: store.TaskLifecycle, Payload: []byte(`{}`)}}, t0)
			if err != nil {
				return err
			}
			got = append(got, tasks...)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if after := rowVersion(); after != before {
		t.Errorf("the tenant row went from version %s to %s in a sync: a sync must only lock it", before, after)
	}
	for i, task := range got {
		if task.Sequence != int64(i+1) {
			t.Fatalf("task %d has sequence %d, want %d", i, task.Sequence, i+1)
		}
	}
}

// A database of schema version 2 keeps numbering each tenant's tasks after
// its last one when migration 3 moves the counter out of the tenants row.
func TestCounterMigrationKeepsTheSequence(t *testing.T) {
	url := pgtest.Schema(t)
	ctx := context.Background()
	conn := connect(t, url)
	for _, f := range []string{"migrations/0001_init.sql", "migrations/0002_secrets.sql"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := conn.Exec(ctx, string(b)); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
	}
	tenant := uuid.New()
	for _, q := range []string{
		`CREATE TABLE schema_migrations (version integer PRIMARY KEY, applied_at bigint NOT NULL)`,
		`INSERT INTO schema_migrations VALUES (1, 0), (2, 0)`,
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := conn.Exec(ctx, `INSERT INTO tenants (id, name, client_id, secret_hash, created_at, last_sequence) VALUES ($1, 'old', 'old-client', 'h', 0, 41)`, tenant); err != nil {
		t.Fatal(err)
	}
	s := open(t, url)
	defer s.Close()
	tasks, err := s.Enqueue(ctx, tenant, []store.NewTask{{Kind: store.TaskLifecycle, Payload: []byte(`{}`)}}, time.Unix(1_700_000_000, 0))
	if err != nil {
		t.Fatal(err)
	}
	if tasks[0].Sequence != 42 {
		t.Fatalf("the first task after the migration has sequence %d, want 42", tasks[0].Sequence)
	}
}
