package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/interop-data/interop/pkg/reference/store"
	"github.com/interop-data/interop/pkg/server/auth"
)

// seedPersons opens a store with one tenant holding n persons.
func seedPersons(t *testing.T, n int) (*Store, uuid.UUID) {
	t.Helper()
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "stmts.db"))
	if err != nil {
		t.Fatal(err)
	}
	tn := store.Tenant{ID: uuid.New(), Name: "t", ClientID: "c-" + uuid.NewString(), SecretHash: "h"}
	if _, err := s.CreateTenant(ctx, tn, nil, time.Now()); err != nil {
		t.Fatal(err)
	}
	err = s.Sync(ctx, tn.ID, func(tx store.SyncTx) error {
		for i := range n {
			id := uuid.New()
			data, _ := json.Marshal(map[string]any{"$sys": map[string]any{"id": id, "type": "Person"}, "name": fmt.Sprintf("p%d", i)})
			if _, err := tx.Put(ctx, store.Object{ID: id, Kind: store.KindPerson, Subtype: store.SubtypeStudent, Label: fmt.Sprintf("p%d", i), Data: data}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return s, tn.ID
}

// The read paths prepare each text once and reuse it: after the first
// calls the cache holds their statements, and further calls, however
// many and from however many goroutines, add none.
func TestReadStatementsArePreparedOnce(t *testing.T) {
	t.Parallel()
	s, tenant := seedPersons(t, 30)
	defer s.Close()
	ctx := context.Background()
	scope := []uuid.UUID{tenant}
	page := func() error {
		objs, more, err := s.ListObjects(ctx, store.ObjectQuery{Tenants: scope, Kind: store.KindPerson, Limit: 10, Offset: 5})
		if err != nil {
			return err
		}
		if len(objs) != 10 || !more {
			return fmt.Errorf("page: %d objects, more %v", len(objs), more)
		}
		for i, o := range objs {
			var v struct{ Name string }
			if err := json.Unmarshal(o.Data, &v); err != nil || v.Name != fmt.Sprintf("p%d", 5+i) || o.Label != v.Name {
				return fmt.Errorf("object %d: %+v %s (%v)", i, o, o.Data, err)
			}
			if _, err := s.FindObject(ctx, scope, store.KindPerson, o.ID); err != nil {
				return err
			}
		}
		if _, _, err := s.LookupToken(ctx, "none"); !errors.Is(err, auth.ErrUnknownToken) {
			return err
		}
		return nil
	}
	if err := page(); err != nil {
		t.Fatal(err)
	}
	prepared := s.rs.len()
	if prepared != 3 {
		t.Fatalf("%d statements prepared, want 3 (list, find, token)", prepared)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			for range 20 {
				if err := page(); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if n := s.rs.len(); n != prepared {
		t.Fatalf("%d statements after concurrent use, want %d", n, prepared)
	}
}

// Past maxCachedStmts distinct texts (here: lists over ever more tenants)
// statements run unprepared and still answer.
func TestStatementCacheIsBounded(t *testing.T) {
	t.Parallel()
	s, tenant := seedPersons(t, 3)
	defer s.Close()
	ctx := context.Background()
	scope := []uuid.UUID{tenant}
	for range maxCachedStmts + 20 {
		objs, _, err := s.ListObjects(ctx, store.ObjectQuery{Tenants: scope, Kind: store.KindPerson, Limit: 10})
		if err != nil || len(objs) != 3 {
			t.Fatalf("over %d tenants: %d objects, %v", len(scope), len(objs), err)
		}
		scope = append(scope, uuid.New())
	}
	if n := s.rs.len(); n != maxCachedStmts {
		t.Fatalf("%d statements cached, want the bound %d", n, maxCachedStmts)
	}
}

// Close while readers run: every call answers or fails with an error,
// none hangs or panics, and after Close every call fails.
func TestCloseWhileReading(t *testing.T) {
	t.Parallel()
	s, tenant := seedPersons(t, 50)
	ctx := context.Background()
	scope := []uuid.UUID{tenant}
	var wg sync.WaitGroup
	started := make(chan struct{}, 4)
	for range 4 {
		wg.Go(func() {
			for i := 0; ; i++ {
				_, _, err := s.ListObjects(ctx, store.ObjectQuery{Tenants: scope, Kind: store.KindPerson, Limit: 20})
				if i == 0 {
					started <- struct{}{}
				}
				if err != nil {
					return
				}
			}
		})
	}
	for range 4 {
		<-started
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	wg.Wait()
	if _, _, err := s.ListObjects(ctx, store.ObjectQuery{Tenants: scope, Kind: store.KindPerson, Limit: 20}); err == nil {
		t.Fatal("ListObjects after Close: no error")
	}
	if _, _, err := s.LookupToken(ctx, "h"); err == nil || errors.Is(err, auth.ErrUnknownToken) {
		t.Fatalf("LookupToken after Close: %v, want a store error", err)
	}
}

// ListObjects keeps the blobs it scans into sql.RawBytes past the next row,
// which database/sql allows only for drivers that do not reuse the memory:
// modernc.org/sqlite copies each blob into a new slice. If an upgrade
// changes that, this fails and ListObjects must copy again.
func TestDriverBlobsAreNotReused(t *testing.T) {
	t.Parallel()
	s, tenant := seedPersons(t, 20)
	defer s.Close()
	rows, err := s.r.QueryContext(context.Background(), `SELECT data FROM objects WHERE tenant_id = ? ORDER BY seq`, tenant.String())
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var held []sql.RawBytes
	var copies [][]byte
	for rows.Next() {
		var b sql.RawBytes
		if err := rows.Scan(&b); err != nil {
			t.Fatal(err)
		}
		held = append(held, b)
		copies = append(copies, bytes.Clone(b))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	if len(held) != 20 {
		t.Fatalf("%d rows, want 20", len(held))
	}
	for i := range held {
		if !bytes.Equal(held[i], copies[i]) {
			t.Fatalf("row %d's blob changed after later rows were read: %q, was %q", i, held[i], copies[i])
		}
	}
}

// A lease runs on the writer's statement, prepared once outside the
// transaction and reused inside each one.
func TestLeaseStatementIsPreparedOnce(t *testing.T) {
	t.Parallel()
	s, tenant := seedPersons(t, 0)
	defer s.Close()
	ctx := context.Background()
	now := time.Now()
	if _, err := s.Enqueue(ctx, tenant, []store.NewTask{{Kind: store.TaskLifecycle, Driver: "d", Payload: json.RawMessage(`{}`)}}, now); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		ts, err := s.LeaseTasks(ctx, store.LeaseQuery{Tenants: []uuid.UUID{tenant}, Limit: 10, Now: now.Add(time.Duration(i) * time.Hour), Lease: time.Minute})
		if err != nil || len(ts) != 1 {
			t.Fatalf("lease %d: %d tasks, %v", i, len(ts), err)
		}
		if n := s.ws.len(); n != 1 {
			t.Fatalf("after lease %d: %d writer statements, want 1", i, n)
		}
	}
}
