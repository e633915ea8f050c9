package storetest

import (
	"context"
	"fmt"
	"testing"

	"github.com/google/uuid"

	"github.com/interop-data/interop/pkg/reference/store"
)

// StageApply stages objs in one sync of tenant and applies them, and
// returns what Apply passed to changed and its unchanged count.
func StageApply(t *testing.T, s store.Store, tenant uuid.UUID, objs ...store.Object) ([]store.Change, int) {
	t.Helper()
	return SyncApply(t, s, tenant, func(tx store.SyncTx) error { return tx.Stage(context.Background(), objs) })
}

// SyncApply runs steps in one sync of tenant, then Apply, and returns what
// Apply passed to changed and its unchanged count.
func SyncApply(t *testing.T, s store.Store, tenant uuid.UUID, steps func(tx store.SyncTx) error) ([]store.Change, int) {
	t.Helper()
	var got []store.Change
	var unchanged int
	err := s.Sync(context.Background(), tenant, func(tx store.SyncTx) error {
		if err := steps(tx); err != nil {
			return err
		}
		var err error
		unchanged, err = tx.Apply(context.Background(), func(chs []store.Change) error {
			got = append(got, chs...)
			return nil
		})
		return err
	})
	if err != nil {
		t.Fatalf("Sync: %v", err)
	}
	return got, unchanged
}

// ChangedLabels describes changes as "label<-prior label" ("new" for none).
func ChangedLabels(chs []store.Change) []string {
	var out []string
	for _, c := range chs {
		p := "new"
		if c.Prior != nil {
			p = c.Prior.Label
		}
		out = append(out, c.Object.Label+"<-"+p)
	}
	return out
}

// A store may leave out of its staging what it finds unchanged (a sync
// that knows the roster). A write of the same id before Apply must still see the
// staging it overrides: Apply puts the object back as staged, in its
// place, as when it was staged in full.
func testSyncWrittenAfterStaged(t *testing.T, s store.Store) {
	ctx := context.Background()
	relabel := func(o store.Object, label string) store.Object {
		o.Label, o.Data = label, []byte(`{"name":{"first":"`+label+`"}}`)
		return o
	}
	school := Org(store.SubtypeSchool, "school")
	x, y, z := Person(store.SubtypeStudent, "x", school.ID), Person(store.SubtypeStudent, "y"), Person(store.SubtypeStudent, "z")
	// setup stores x, y and z through a sync's staging in a tenant of its
	// own (in a store whose syncs read the roster, x, y and z are then
	// known).
	setup := func(t *testing.T) uuid.UUID {
		tn := NewTenant(t, s, t.Name())
		StageApply(t, s, tn.ID, school, x, y, z)
		if chs, unchanged := StageApply(t, s, tn.ID, x, y, z); len(chs) != 0 || unchanged != 3 {
			t.Fatalf("the same again: changes %v, %d unchanged", ChangedLabels(chs), unchanged)
		}
		return tn.ID
	}
	label := func(t *testing.T, s store.Store, tenant, id uuid.UUID) string {
		t.Helper()
		o, err := s.FindObject(ctx, []uuid.UUID{tenant}, store.KindPerson, id)
		if err != nil {
			return err.Error()
		}
		return o.Label
	}
	for _, tc := range []struct {
		name      string
		steps     func(tx store.SyncTx) error
		changes   []string
		unchanged int
		labels    map[uuid.UUID]string // after the sync
	}{{
		name: "put after found unchanged",
		steps: func(tx store.SyncTx) error {
			if err := tx.Stage(ctx, []store.Object{x, y}); err != nil {
				return err
			}
			_, err := tx.Put(ctx, relabel(x, "x-put"))
			return err
		},
		changes: []string{"x<-x-put"}, unchanged: 1,
		labels: map[uuid.UUID]string{x.ID: "x", y.ID: "y"},
	}, {
		name: "put all after found unchanged, in staging order",
		steps: func(tx store.SyncTx) error {
			if err := tx.Stage(ctx, []store.Object{x, relabel(y, "y1"), z}); err != nil {
				return err
			}
			_, err := tx.PutAll(ctx, []store.Object{relabel(z, "z-put"), relabel(x, "x-put")})
			return err
		},
		changes: []string{"x<-x-put", "y1<-y", "z<-z-put"}, unchanged: 0,
		labels: map[uuid.UUID]string{x.ID: "x", y.ID: "y1", z.ID: "z"},
	}, {
		name: "removed after found unchanged",
		steps: func(tx store.SyncTx) error {
			if err := tx.Stage(ctx, []store.Object{x, y}); err != nil {
				return err
			}
			_, err := tx.Remove(ctx, store.KindPerson, y.ID)
			return err
		},
		changes: []string{"y<-new"}, unchanged: 1,
		labels: map[uuid.UUID]string{x.ID: "x", y.ID: "y"},
	}, {
		name: "put after an apply that found it unchanged",
		steps: func(tx store.SyncTx) error {
			if err := tx.Stage(ctx, []store.Object{x}); err != nil {
				return err
			}
			if n, err := tx.Apply(ctx, func([]store.Change) error { return fmt.Errorf("a change") }); err != nil || n != 1 {
				return fmt.Errorf("first apply: %d unchanged, %v", n, err)
			}
			_, err := tx.Put(ctx, relabel(x, "x-put"))
			return err
		},
		labels: map[uuid.UUID]string{x.ID: "x-put"},
	}, {
		name: "found unchanged, then staged changed, then as stored",
		steps: func(tx store.SyncTx) error {
			for _, batch := range [][]store.Object{{x}, {relabel(x, "x1")}, {x}} {
				if err := tx.Stage(ctx, batch); err != nil {
					return err
				}
			}
			return nil
		},
		changes: []string{"x1<-x", "x<-x1"}, unchanged: 1,
		labels: map[uuid.UUID]string{x.ID: "x"},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			tenant := setup(t)
			got, unchanged := SyncApply(t, s, tenant, tc.steps)
			if fmt.Sprint(ChangedLabels(got)) != fmt.Sprint(tc.changes) || unchanged != tc.unchanged {
				t.Errorf("changes %v, %d unchanged; want %v, %d", ChangedLabels(got), unchanged, tc.changes, tc.unchanged)
			}
			for id, want := range tc.labels {
				if got := label(t, s, tenant, id); got != want {
					t.Errorf("%s after the sync: label %s, want %s", id, got, want)
				}
			}
			// x keeps its school, whichever way it was written last.
			linked, _, err := s.ListObjects(ctx, store.ObjectQuery{Tenants: []uuid.UUID{tenant}, Kind: store.KindPerson, Org: &school.ID, Limit: 10})
			if err != nil || len(linked) != 1 || linked[0].ID != x.ID {
				t.Errorf("the school's persons after the sync: %d, %v; want x", len(linked), err)
			}
		})
	}
}

// RemoveUnput over a large roster, in pages, finds every object nothing
// staged or put, in list order, and nothing staged or of another subtype
// (a store that knows the roster looks at its untouched objects a chunk at
// a time).
func testSyncRemoveUnputMany(t *testing.T, s store.Store) {
	ctx := context.Background()
	tn := NewTenant(t, s, "many")
	var students []store.Object
	for i := range 9000 {
		students = append(students, Person(store.SubtypeStudent, fmt.Sprint("s", i)))
	}
	teacher := Person(store.SubtypeTeacher, "t")
	StageApply(t, s, tn.ID, append(students, teacher)...)
	kept := map[uuid.UUID]bool{students[0].ID: true, students[4500].ID: true, students[8999].ID: true}
	var removed []store.Object
	err := s.Sync(ctx, tn.ID, func(tx store.SyncTx) error {
		if err := tx.Stage(ctx, []store.Object{students[0], students[4500], students[8999]}); err != nil {
			return err
		}
		if _, err := tx.Apply(ctx, func([]store.Change) error { return nil }); err != nil {
			return err
		}
		for {
			page, err := tx.RemoveUnput(ctx, store.KindPerson, store.SubtypeStudent, 1000)
			if err != nil {
				return err
			}
			removed = append(removed, page...)
			if len(page) < 1000 {
				return nil
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	var want []uuid.UUID
	for _, o := range students {
		if !kept[o.ID] {
			want = append(want, o.ID)
		}
	}
	if len(removed) != len(want) {
		t.Fatalf("removed %d, want %d", len(removed), len(want))
	}
	for i := range want {
		if removed[i].ID != want[i] {
			t.Fatalf("removed[%d] = %s, want %s (list order)", i, removed[i].ID, want[i])
		}
	}
	for _, id := range []uuid.UUID{students[0].ID, students[4500].ID, teacher.ID} {
		if _, err := s.FindObject(ctx, []uuid.UUID{tn.ID}, store.KindPerson, id); err != nil {
			t.Errorf("%s: %v; want it kept", id, err)
		}
	}
}

// ReadMidSync checks a store whose syncs read the roster once they have
// staged two objects (WithRosterReadAfter(2) in the SQLite and PostgreSQL
// stores): what a sync wrote, staged or removed before that read must not
// be taken for unchanged after it. An object staged changed before the
// read and then as stored goes back as stored; one removed before the read
// and then staged as stored is stored again.
func ReadMidSync(t *testing.T, s store.Store) {
	ctx := context.Background()
	x, y, z := Person(store.SubtypeStudent, "x"), Person(store.SubtypeStudent, "y"), Person(store.SubtypeStudent, "z")
	x1 := x
	x1.Label, x1.Data = "x1", []byte(`{"name":{"first":"x1"}}`)
	for _, tc := range []struct {
		name      string
		steps     func(tx store.SyncTx) error
		changes   []string
		unchanged int
	}{{
		name: "staged changed, then as stored",
		steps: func(tx store.SyncTx) error {
			if err := tx.Stage(ctx, []store.Object{x1}); err != nil {
				return err
			}
			return tx.Stage(ctx, []store.Object{x, y, z})
		},
		changes: []string{"x1<-x", "x<-x1"}, unchanged: 2,
	}, {
		name: "removed, then staged as stored",
		steps: func(tx store.SyncTx) error {
			if _, err := tx.Remove(ctx, store.KindPerson, y.ID); err != nil {
				return err
			}
			return tx.Stage(ctx, []store.Object{x, y, z})
		},
		changes: []string{"y<-new"}, unchanged: 2,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			tn := NewTenant(t, s, t.Name())
			StageApply(t, s, tn.ID, x, y, z)
			got, unchanged := SyncApply(t, s, tn.ID, tc.steps)
			if fmt.Sprint(ChangedLabels(got)) != fmt.Sprint(tc.changes) || unchanged != tc.unchanged {
				t.Errorf("changes %v, %d unchanged; want %v, %d", ChangedLabels(got), unchanged, tc.changes, tc.unchanged)
			}
			for _, o := range []store.Object{x, y, z} {
				got, err := s.FindObject(ctx, []uuid.UUID{tn.ID}, store.KindPerson, o.ID)
				if err != nil || got.Label != o.Label {
					t.Errorf("%s after the sync: %q, %v; want %q", o.ID, got.Label, err, o.Label)
				}
			}
		})
	}
}
