package postgres_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/google/uuid"

	"github.com/interop-data/interop/pkg/reference/store"
	"github.com/interop-data/interop/pkg/reference/store/postgres"
	"github.com/interop-data/interop/pkg/reference/store/postgres/pgtest"
	"github.com/interop-data/interop/pkg/reference/store/storetest"
)

// A sync that knows the roster leaves out of the staging tables what it
// finds unchanged. A write of the same id before Apply must still see the
// staging it overrides: Apply puts the object back as staged, in its
// place, as when it was staged in full.
func TestSyncKnownThenWritten(t *testing.T) {
	ctx := context.Background()
	relabel := func(o store.Object, label string) store.Object {
		o.Label, o.Data = label, []byte(`{"name":{"first":"`+label+`"}}`)
		return o
	}
	x, y, z := storetest.Person(store.SubtypeStudent, "x"), storetest.Person(store.SubtypeStudent, "y"), storetest.Person(store.SubtypeStudent, "z")
	// setup stores x, y and z through a sync's staging (their digests and
	// links' digests known), in a store whose syncs read the roster.
	setup := func(t *testing.T) (*postgres.Store, uuid.UUID) {
		s := open(t, pgtest.Schema(t), postgres.WithRosterReadAfter(0))
		t.Cleanup(func() { s.Close() })
		tn := storetest.NewTenant(t, s, "known")
		stageApply(t, s, tn.ID, x, y, z)
		if chs, unchanged := stageApply(t, s, tn.ID, x, y, z); len(chs) != 0 || unchanged != 3 {
			t.Fatalf("the same again: changes %v, %d unchanged", changedIDs(chs), unchanged)
		}
		return s, tn.ID
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
			s, tenant := setup(t)
			got, unchanged := syncApply(t, s, tenant, tc.steps)
			if fmt.Sprint(changedIDs(got)) != fmt.Sprint(tc.changes) || unchanged != tc.unchanged {
				t.Errorf("changes %v, %d unchanged; want %v, %d", changedIDs(got), unchanged, tc.changes, tc.unchanged)
			}
			for id, want := range tc.labels {
				if got := label(t, s, tenant, id); got != want {
					t.Errorf("%s after the sync: label %s, want %s", id, got, want)
				}
			}
		})
	}
}

// RemoveUnput, once the roster is known, looks only at the objects nothing
// staged, put or removed, a chunk of them at a time: every one of a large
// roster is found, in list order, and nothing staged or of another subtype.
func TestSyncKnownRemoveUnput(t *testing.T) {
	ctx := context.Background()
	s := open(t, pgtest.Schema(t), postgres.WithRosterReadAfter(0))
	defer s.Close()
	tn := storetest.NewTenant(t, s, "known")
	var students []store.Object
	for i := range 9000 {
		students = append(students, storetest.Person(store.SubtypeStudent, fmt.Sprint("s", i)))
	}
	teacher := storetest.Person(store.SubtypeTeacher, "t")
	stageApply(t, s, tn.ID, append(students, teacher)...)
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

// Once the roster is known, an object staged as stored (memberships as
// well as served kinds) stages no row; one that differs stages its own.
func TestSyncKnownStagesWhatDiffers(t *testing.T) {
	ctx := context.Background()
	s := open(t, pgtest.Schema(t), postgres.WithRosterReadAfter(0))
	defer s.Close()
	tn := storetest.NewTenant(t, s, "known")
	x := storetest.Person(store.SubtypeStudent, "x")
	m := store.Object{ID: uuid.New(), Kind: store.KindPersonSectionMembership, Label: "m", Data: []byte(`{"sourcedId":"m"}`), Orgs: x.Orgs}
	objs := []store.Object{x, m}
	stageApply(t, s, tn.ID, objs...)
	for _, tc := range []struct {
		name string
		objs []store.Object
		rows int64
	}{
		{"as stored", objs, 0},
		{"a membership changed", []store.Object{x, {ID: m.ID, Kind: m.Kind, Label: "m2", Data: m.Data}}, 1},
	} {
		var rows int64
		err := s.Sync(ctx, tn.ID, func(tx store.SyncTx) error {
			if err := tx.Stage(ctx, tc.objs); err != nil {
				return err
			}
			rows = postgres.StagedRows(tx)
			return nil
		})
		if err != nil || rows != tc.rows {
			t.Errorf("%s: %d rows staged, %v; want %d", tc.name, rows, err, tc.rows)
		}
	}
}
