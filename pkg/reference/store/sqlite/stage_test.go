package sqlite

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/interop-data/interop/pkg/reference/store"
	"github.com/interop-data/interop/pkg/reference/store/storetest"
)

// A sync plans on a snapshot without the write lock. When another sync of
// the tenant commits before it takes the lock, its plan is stale: nothing of
// it is written, and the sync runs again holding the lock, this time seeing
// what the other one wrote.
func TestStalePlanRunsTheSyncAgain(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "stale.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	other, err := Open(ctx, path) // another process on the same file
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	tn := storetest.NewTenant(t, s, "stale")
	p := storetest.Person(store.SubtypeStudent, "p")
	calls := 0
	var changes [][]store.Change
	err = s.Sync(ctx, tn.ID, func(tx store.SyncTx) error {
		calls++
		if err := tx.Stage(ctx, []store.Object{p}); err != nil {
			return err
		}
		var got []store.Change
		if _, err := tx.Apply(ctx, func(chs []store.Change) error { got = append(got, chs...); return nil }); err != nil {
			return err
		}
		changes = append(changes, got)
		if calls == 1 {
			// The snapshot holds no lock: the other sync commits now.
			storetest.Put(t, other, tn.ID, p)
		}
		_, err := tx.Enqueue(ctx, []store.NewTask{storetest.Lifecycle("MINE", "")}, time.Now())
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if calls != 2 {
		t.Fatalf("fn ran %d times, want 2 (the plan was stale)", calls)
	}
	if len(changes[0]) != 1 || changes[0][0].Prior != nil || len(changes[1]) != 0 {
		t.Errorf("changes = %+v, want p new on the snapshot, then unchanged", changes)
	}
	tasks, _, err := s.ListTasks(ctx, store.TaskQuery{Tenants: []uuid.UUID{tn.ID}, Limit: 10})
	if err != nil || len(tasks) != 2 || tasks[1].Sequence != tasks[0].Sequence+1 {
		t.Errorf("tasks = %+v, %v; want TENANT_INSTALLED and one MINE, numbered in turn", tasks, err)
	}
	objs, _, err := s.ListObjects(ctx, store.ObjectQuery{Tenants: []uuid.UUID{tn.ID}, Kind: store.KindPerson, Limit: 10})
	if err != nil || len(objs) != 1 {
		t.Errorf("persons = %d, %v; want p once", len(objs), err)
	}
}

// Staging takes no lock: another connection writes while a sync has staged
// and planned (the sync commits after it).
func TestStagingTakesNoLock(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "nolock.db"), WithBusyTimeout(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	tn, bystander := storetest.NewTenant(t, s, "loading"), storetest.NewTenant(t, s, "bystander")
	err = s.Sync(ctx, tn.ID, func(tx store.SyncTx) error {
		if err := tx.Stage(ctx, []store.Object{storetest.Person(store.SubtypeStudent, "p")}); err != nil {
			return err
		}
		if _, err := tx.Apply(ctx, func([]store.Change) error { return nil }); err != nil {
			return err
		}
		if _, err := tx.RemoveUnput(ctx, store.KindPerson, "", 10); err != nil {
			return err
		}
		if _, err := tx.Enqueue(ctx, []store.NewTask{storetest.Lifecycle("X", "")}, time.Now()); err != nil {
			return err
		}
		// The writer connection writes now; with the lock held by the
		// sync this would wait out the busy timeout and fail.
		_, err := s.Enqueue(ctx, bystander.ID, []store.NewTask{storetest.Lifecycle("Y", "")}, time.Now())
		if errors.Is(err, store.ErrNotFound) {
			t.Fatal(err)
		}
		return err
	})
	if err != nil {
		t.Fatalf("a write beside a sync's staging and planning: %v", err)
	}
}
