package sqlite

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/interop-data/interop/pkg/reference/store"
	"github.com/interop-data/interop/pkg/reference/store/storetest"
)

// The whole suite holds with every sync of more than three new objects and
// events written in slices.
func TestStoreSuiteInSlices(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := Open(context.Background(), filepath.Join(t.TempDir(), "slices.db"), withSlices(3, nil))
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		return s
	})
}

// district is n students of one school, and the school.
func district(n int) []store.Object {
	school := storetest.Org("school", "Springfield Elementary")
	objs := []store.Object{school}
	for i := range n {
		objs = append(objs, storetest.Person(store.SubtypeStudent, fmt.Sprintf("s%d", i), school.ID))
	}
	return objs
}

// load syncs objs as a OneRoster load does: stage, apply with one event per
// change, an event at the end. then, when set, runs after (with the write
// lock: it may fail the sync after its slices were written).
func load(ctx context.Context, s *Store, tenant uuid.UUID, objs []store.Object, then func(tx store.SyncTx) error) error {
	return s.Sync(ctx, tenant, func(tx store.SyncTx) error {
		if err := tx.Stage(ctx, objs); err != nil {
			return err
		}
		if _, err := tx.Apply(ctx, func(chs []store.Change) error {
			tasks := make([]store.NewTask, len(chs))
			for i := range chs {
				tasks[i] = storetest.Lifecycle("CHANGE", "")
			}
			_, err := tx.Enqueue(ctx, tasks, time.Now())
			return err
		}); err != nil {
			return err
		}
		if _, err := tx.Enqueue(ctx, []store.NewTask{storetest.Lifecycle("SYNC_END", "")}, time.Now()); err != nil {
			return err
		}
		if then != nil {
			return then(tx)
		}
		return nil
	})
}

// seen is what readers see of a tenant: its persons (by label), the
// persons of its school, its tasks' sequences in queue order.
type seen struct {
	persons, schoolPersons int
	sequences              []int64
}

func look(t *testing.T, s *Store, tenant uuid.UUID, school uuid.UUID) seen {
	t.Helper()
	ctx := context.Background()
	var v seen
	objs, _, err := s.ListObjects(ctx, store.ObjectQuery{Tenants: []uuid.UUID{tenant}, Kind: store.KindPerson, Limit: 100000})
	if err != nil {
		t.Fatal(err)
	}
	v.persons = len(objs)
	objs, _, err = s.ListObjects(ctx, store.ObjectQuery{Tenants: []uuid.UUID{tenant}, Kind: store.KindPerson, Org: &school, Limit: 100000})
	if err != nil {
		t.Fatal(err)
	}
	v.schoolPersons = len(objs)
	tasks, _, err := s.ListTasks(ctx, store.TaskQuery{Tenants: []uuid.UUID{tenant}, Limit: 100000})
	if err != nil {
		t.Fatal(err)
	}
	for _, tk := range tasks {
		v.sequences = append(v.sequences, tk.Sequence)
	}
	return v
}

// rows counts what the file holds of a tenant, hidden or not.
func rows(t *testing.T, s *Store, tenant uuid.UUID) (objects, links, tasks int, claim string) {
	t.Helper()
	err := s.r.QueryRowContext(context.Background(), `SELECT
		(SELECT count(*) FROM objects WHERE tenant_id = ?1), (SELECT count(*) FROM object_orgs WHERE tenant_id = ?1),
		(SELECT count(*) FROM tasks WHERE tenant_id = ?1), (SELECT sync_claim FROM tenants WHERE id = ?1)`, tenant.String()).Scan(&objects, &links, &tasks, &claim)
	if err != nil {
		t.Fatal(err)
	}
	return objects, links, tasks, claim
}

func increasing(seqs []int64) bool {
	for i := 1; i < len(seqs); i++ {
		if seqs[i] <= seqs[i-1] {
			return false
		}
	}
	return true
}

// A first load releases the write lock between its slices: another
// process's writes to other tenants go through while it runs (with the old
// one-transaction apply they waited out the load), and readers see nothing
// of the load until it commits, then all of it. A task enqueued to the
// loading tenant meanwhile waits for the sync and comes after its events.
func TestFirstLoadReleasesTheWriteLockBetweenSlices(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "first.db")
	server, err := Open(ctx, path, WithBusyTimeout(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	loading, bystander := storetest.NewTenant(t, server, "loading"), storetest.NewTenant(t, server, "bystander")
	objs := district(100)
	school := objs[0].ID
	slices := 0
	enqueued := make(chan error, 1)
	var late []store.Task
	loader, err := Open(ctx, path, withSlices(10, func(n int) error {
		slices++
		if n != 2 {
			return nil
		}
		// Another process serves meanwhile.
		if _, err := server.Enqueue(ctx, bystander.ID, []store.NewTask{storetest.Lifecycle("OTHER", "")}, time.Now()); err != nil {
			return fmt.Errorf("another tenant's enqueue during the load: %w", err)
		}
		if _, err := server.LeaseTasks(ctx, store.LeaseQuery{Tenants: []uuid.UUID{bystander.ID}, Limit: 10, Now: time.Now(), Lease: time.Minute}); err != nil {
			return fmt.Errorf("another tenant's lease during the load: %w", err)
		}
		if err := server.Ping(ctx); err != nil {
			return fmt.Errorf("ping during the load: %w", err)
		}
		if v := look(t, server, loading.ID, school); v.persons != 0 || v.schoolPersons != 0 || len(v.sequences) != 1 {
			return fmt.Errorf("during the load readers see %+v, want no persons and TENANT_INSTALLED alone", v)
		}
		if _, err := server.FindObject(ctx, []uuid.UUID{loading.ID}, store.KindPerson, objs[1].ID); !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("FindObject of a person being loaded: %v, want not found", err)
		}
		go func() {
			var err error
			late, err = server.Enqueue(ctx, loading.ID, []store.NewTask{storetest.Lifecycle("LATE", "")}, time.Now())
			enqueued <- err
		}()
		return nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	defer loader.Close()
	if err := load(ctx, loader, loading.ID, objs, nil); err != nil {
		t.Fatal(err)
	}
	if slices < 4 {
		t.Fatalf("the load wrote %d slices, want the 101 objects and 102 events in slices of 10", slices)
	}
	if err := <-enqueued; err != nil {
		t.Fatal(err)
	}
	v := look(t, server, loading.ID, school)
	if v.persons != 100 || v.schoolPersons != 100 || len(v.sequences) != 1+101+1+1 || !increasing(v.sequences) {
		t.Errorf("after the load readers see %d persons, %d of the school, sequences %v; want 100, 100 and 104 increasing", v.persons, v.schoolPersons, v.sequences)
	}
	if len(late) != 1 || late[0].Sequence != v.sequences[len(v.sequences)-1] {
		t.Errorf("the task enqueued during the load = %+v, want the last in sequence and queue order", late)
	}
	if _, _, _, claim := rows(t, server, loading.ID); claim != "" {
		t.Errorf("claim %q left after the load", claim)
	}
}

// A sync that fails after its slices were written, by its fn or in a slice,
// leaves the tenant as it was, to readers and in the file.
func TestFailedSyncAfterSlicesChangesNothing(t *testing.T) {
	ctx := context.Background()
	fail := errors.New("the load failed")
	for _, c := range []struct {
		name string
		hook func(int) error
		then func(tx store.SyncTx) error
	}{
		{"fn", nil, func(tx store.SyncTx) error {
			// Put needs the roster as the sync changed it: the plan is
			// written (in slices) first.
			if _, err := tx.Put(ctx, storetest.Person(store.SubtypeTeacher, "t")); err != nil {
				return err
			}
			return fail
		}},
		{"slice", func() func(int) error {
			failed := false
			return func(n int) error {
				if n == 3 && !failed {
					failed = true
					return fail
				}
				return nil
			}
		}(), nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			slices := 0
			s, err := Open(ctx, filepath.Join(t.TempDir(), "fail.db"), withSlices(10, func(n int) error {
				slices++
				if c.hook != nil {
					return c.hook(n)
				}
				return nil
			}))
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			tn := storetest.NewTenant(t, s, "failing")
			before := district(3)
			school := before[0].ID
			if err := load(ctx, s, tn.ID, before, nil); err != nil {
				t.Fatal(err)
			}
			seenBefore := look(t, s, tn.ID, school)
			o, l, k, _ := rows(t, s, tn.ID)
			objs := append(before, district(100)[1:]...)
			objs[1].Label = "changed"
			err = load(ctx, s, tn.ID, objs, c.then)
			if !errors.Is(err, fail) {
				t.Fatalf("load = %v, want %v", err, fail)
			}
			if slices < 2 {
				t.Fatalf("%d slices written before the failure, want several", slices)
			}
			if v := look(t, s, tn.ID, school); fmt.Sprint(v) != fmt.Sprint(seenBefore) {
				t.Errorf("after the failed load readers see %+v, want %+v", v, seenBefore)
			}
			if o2, l2, k2, claim := rows(t, s, tn.ID); o2 != o || l2 != l || k2 != k || claim != "" {
				t.Errorf("the file holds %d objects, %d links, %d tasks, claim %q; want %d, %d, %d and none", o2, l2, k2, claim, o, l, k)
			}
			// The next sync sees the tenant as it was.
			if err := load(ctx, s, tn.ID, objs, nil); err != nil {
				t.Fatal(err)
			}
			v := look(t, s, tn.ID, school)
			if v.persons != 103 || !increasing(v.sequences) || v.sequences[len(seenBefore.sequences)] != seenBefore.sequences[len(seenBefore.sequences)-1]+1 {
				t.Errorf("after the next load readers see %+v, want 103 persons and sequences going on from %v", v, seenBefore.sequences)
			}
		})
	}
}

// A load whose process dies between slices leaves rows no reader sees; they
// are deleted once its claim has gone stale, by the next sync of the tenant
// or by Open.
func TestDeadLoadIsInvisibleThenSwept(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "dead.db")
	s, err := Open(ctx, path, withSlices(10, func(n int) error {
		if n == 3 {
			return errAbandon
		}
		return nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	tn := storetest.NewTenant(t, s, "dying")
	objs := district(100)
	school := objs[0].ID
	if err := load(ctx, s, tn.ID, objs, nil); !errors.Is(err, errAbandon) {
		t.Fatalf("load = %v, want it abandoned", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// Reopened while the claim is fresh (its process may be alive):
	// nothing is deleted, and nothing shown.
	s, err = Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if v := look(t, s, tn.ID, school); v.persons != 0 || v.schoolPersons != 0 || len(v.sequences) != 1 {
		t.Errorf("readers see %+v of the dead load, want nothing", v)
	}
	if o, _, _, claim := rows(t, s, tn.ID); o == 0 || claim == "" {
		t.Fatalf("the file holds %d objects, claim %q: the dead load wrote nothing to sweep", o, claim)
	}
	// Once the claim is stale, the next sync deletes the rows first.
	s.claimStale = 0
	if err := load(ctx, s, tn.ID, objs[:11], nil); err != nil {
		t.Fatal(err)
	}
	if o, l, k, claim := rows(t, s, tn.ID); o != 11 || l != 10 || k != 1+11+1 || claim != "" {
		t.Errorf("after the next load the file holds %d objects, %d links, %d tasks, claim %q; want 11, 10, 13, none", o, l, k, claim)
	}
	if v := look(t, s, tn.ID, school); v.persons != 10 || !increasing(v.sequences) || v.sequences[1] != v.sequences[0]+1 {
		t.Errorf("after the next load readers see %+v, want 10 persons and sequences following TENANT_INSTALLED's", v)
	}
	s.Close()

	// Open sweeps a stale claim too.
	s, err = Open(ctx, path, withSlices(10, func(n int) error {
		if n == 2 {
			return errAbandon
		}
		return nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	if err := load(ctx, s, tn.ID, objs, nil); !errors.Is(err, errAbandon) {
		t.Fatalf("load = %v, want it abandoned", err)
	}
	s.Close()
	s, err = Open(ctx, path, withClaimStale(0))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if o, l, k, claim := rows(t, s, tn.ID); o != 11 || l != 10 || k != 13 || claim != "" {
		t.Errorf("after Open the file holds %d objects, %d links, %d tasks, claim %q; want 11, 10, 13, none", o, l, k, claim)
	}
}
