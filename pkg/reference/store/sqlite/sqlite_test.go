package sqlite_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/interop-data/interop/pkg/reference/store"
	"github.com/interop-data/interop/pkg/reference/store/sqlite"
	"github.com/interop-data/interop/pkg/reference/store/storetest"
)

// TestStoreSuite runs the suite with the default options and with the
// roster read at every sync's first Stage (known.go), so that the suite's
// syncs take that path too.
func TestStoreSuite(t *testing.T) {
	for _, c := range []struct {
		name string
		opts []sqlite.Option
	}{
		{"default", nil},
		{"known", []sqlite.Option{sqlite.WithRosterReadAfter(0)}},
	} {
		t.Run(c.name, func(t *testing.T) {
			openAt := func(t *testing.T, path string) store.Store {
				s, err := sqlite.Open(context.Background(), path, c.opts...)
				if err != nil {
					t.Fatalf("Open: %v", err)
				}
				return s
			}
			storetest.Run(t, func(t *testing.T) store.Store { return openAt(t, filepath.Join(t.TempDir(), "suite.db")) },
				storetest.WithReplicas(func(t *testing.T) storetest.Open {
					path := filepath.Join(t.TempDir(), "shared.db")
					return func(t *testing.T) store.Store { return openAt(t, path) }
				}))
		})
	}
}

func TestOpenRejectsMemory(t *testing.T) {
	for _, p := range []string{"", ":memory:", "x.db?mode=ro"} {
		if s, err := sqlite.Open(context.Background(), p); err == nil {
			s.Close()
			t.Errorf("Open(%q) succeeded", p)
		}
	}
}

// Reopening the file keeps every task exactly once, with its lease, and
// migrations are not applied twice.
func TestReopenKeepsQueue(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "restart.db")
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	tn := storetest.NewTenant(t, s, "restart")
	t0 := time.Date(2025, 11, 16, 12, 0, 0, 0, time.UTC)
	var tasks []store.NewTask
	for range 12 {
		tasks = append(tasks, storetest.Lifecycle("X", ""))
	}
	if _, err := s.Enqueue(ctx, tn.ID, tasks, t0); err != nil {
		t.Fatal(err)
	}
	leased, err := s.LeaseTasks(ctx, store.LeaseQuery{Tenants: []uuid.UUID{tn.ID}, Limit: 5, Now: t0, Lease: time.Minute})
	if err != nil || len(leased) != 5 {
		t.Fatalf("lease = %d, %v", len(leased), err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s2, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s2.Close()
	// Still leased after the restart.
	rest, err := s2.LeaseTasks(ctx, store.LeaseQuery{Tenants: []uuid.UUID{tn.ID}, Limit: 100, Now: t0, Lease: time.Minute})
	if err != nil || len(rest) != 8 {
		t.Fatalf("after reopen leased %d, %v; want the 8 unleased", len(rest), err)
	}
	seen := map[int64]bool{}
	for _, task := range append(leased, rest...) {
		if seen[task.Sequence] {
			t.Fatalf("sequence %d delivered twice", task.Sequence)
		}
		seen[task.Sequence] = true
	}
	for seq := int64(1); seq <= 13; seq++ {
		if !seen[seq] {
			t.Fatalf("sequence %d lost", seq)
		}
	}
	next, err := s2.Enqueue(ctx, tn.ID, []store.NewTask{storetest.Lifecycle("X", "")}, t0)
	if err != nil || next[0].Sequence != 14 {
		t.Fatalf("sequence after reopen = %+v, %v", next, err)
	}
}

// Two stores on one file (two processes, in effect) both write safely.
func TestTwoHandlesOneFile(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "shared.db")
	a, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	done := make(chan error, 2)
	for _, s := range []*sqlite.Store{a, b} {
		go func() {
			for range 20 {
				tn := store.Tenant{ID: uuid.New(), ClientID: uuid.NewString(), SecretHash: "h"}
				if _, err := s.CreateTenant(ctx, tn, []store.NewTask{storetest.Lifecycle("TENANT_INSTALLED", "")}, time.Now()); err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
	}
	for range 2 {
		if err := <-done; err != nil {
			t.Fatalf("concurrent writers: %v", err)
		}
	}
}

// An id in the file that is not a UUID (a hand edit, a bad restore) is an
// error from every read that meets it, not a panic of the server.
func TestBadIDIsAnError(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "bad.db")
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	tn := storetest.NewTenant(t, s, "bad")
	p := storetest.Person(store.SubtypeStudent, "Bad")
	storetest.Put(t, s, tn.ID, p)
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range []string{
		`UPDATE tasks SET id = 'not-a-uuid'`,
		`UPDATE objects SET id = 'not-a-uuid'`,
		`UPDATE tenants SET name = 'renamed'`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	scope := []uuid.UUID{tn.ID}
	t0 := time.Date(2025, 11, 16, 12, 0, 0, 0, time.UTC)
	if _, _, err := s.ListTasks(ctx, store.TaskQuery{Tenants: scope, Limit: 10}); err == nil {
		t.Error("ListTasks over a bad id: no error")
	}
	if _, err := s.LeaseTasks(ctx, store.LeaseQuery{Tenants: scope, Limit: 10, Now: t0, Lease: time.Minute}); err == nil {
		t.Error("LeaseTasks over a bad id: no error")
	}
	if _, _, err := s.ListObjects(ctx, store.ObjectQuery{Tenants: scope, Kind: store.KindPerson, Limit: 10}); err == nil {
		t.Error("ListObjects over a bad id: no error")
	}
	if _, err := db.ExecContext(ctx, `UPDATE tenants SET id = 'not-a-uuid' WHERE name = 'renamed'`); err == nil {
		// The foreign keys may refuse it; when they do not, the read must fail cleanly.
		if _, err := s.FindTenantsByName(ctx, "renamed"); err == nil {
			t.Error("FindTenantsByName over a bad id: no error")
		}
	}
}
