package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"

	"github.com/google/uuid"

	"github.com/interop-data/interop/pkg/reference/store"
	"github.com/interop-data/interop/pkg/reference/store/storetest"
)

// Stage diffs each batch ahead of the first Apply, on the snapshot. When
// the lock is taken before that Apply (by a Put here), what Stage did ahead
// is dropped, and the Apply diffs against the roster as the Put left it.
func TestStagedAheadThenLocked(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, filepath.Join(t.TempDir(), "ahead.db"))
	tn := storetest.NewTenant(t, s, "ahead")
	school := storetest.Org("school", "A")
	a, b := storetest.Person(store.SubtypeStudent, "a", school.ID), storetest.Person(store.SubtypeStudent, "b", school.ID)
	storetest.Put(t, s, tn.ID, school, a, b)

	a2 := a
	a2.Label, a2.Data, a2.Orgs = "a2", []byte(`{"name":"a2"}`), nil
	b2 := b
	b2.Label, b2.Data = "b2", []byte(`{"name":"b2"}`)
	c := storetest.Person(store.SubtypeStudent, "c", school.ID)
	var got []string
	unchanged := -1
	err := s.Sync(ctx, tn.ID, func(tx store.SyncTx) error {
		// On the snapshot b is as stored: Stage finds it unchanged.
		if err := tx.Stage(ctx, []store.Object{a2, b, c}); err != nil {
			return err
		}
		if _, err := tx.Put(ctx, b2); err != nil {
			return err
		}
		n, err := tx.Apply(ctx, func(chs []store.Change) error {
			for _, ch := range chs {
				prior := "new"
				if ch.Prior != nil {
					prior = ch.Prior.Label
				}
				got = append(got, fmt.Sprintf("%s<-%s", ch.Object.Label, prior))
			}
			return nil
		})
		unchanged = n
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"a2<-a", "b<-b2", "c<-new"}; !slices.Equal(got, want) || unchanged != 0 {
		t.Fatalf("Apply passed %v with %d unchanged; want %v and none unchanged", got, unchanged, want)
	}
	members, _, err := s.ListObjects(ctx, store.ObjectQuery{Tenants: []uuid.UUID{tn.ID}, Kind: store.KindPerson, Org: &school.ID, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	var labels []string
	for _, o := range members {
		labels = append(labels, o.Label)
	}
	if slices.Sort(labels); !slices.Equal(labels, []string{"b", "c"}) {
		t.Fatalf("the school's persons after the sync: %v, want [b c]", labels)
	}
}

// RemoveUnput keeps every staged object, whether Stage diffed it ahead
// (found by its seq in diff) or staged it after the first removal planned
// (found by its id), and removes the others once.
func TestRemoveUnputKeepsStagedAhead(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, filepath.Join(t.TempDir(), "unput.db"))
	tn := storetest.NewTenant(t, s, "unput")
	var stored []store.Object
	for i := range 5 {
		stored = append(stored, storetest.Person(store.SubtypeStudent, fmt.Sprint("p", i)))
	}
	storetest.Put(t, s, tn.ID, stored...)
	fresh := storetest.Person(store.SubtypeStudent, "new")
	var removed []string
	remove := func(tx store.SyncTx, limit int) error {
		objs, err := tx.RemoveUnput(ctx, store.KindPerson, "", limit)
		for _, o := range objs {
			removed = append(removed, o.Label)
		}
		return err
	}
	err := s.Sync(ctx, tn.ID, func(tx store.SyncTx) error {
		// Diffed ahead: p0, p1 and a new one.
		if err := tx.Stage(ctx, []store.Object{stored[0], stored[1], fresh}); err != nil {
			return err
		}
		if err := remove(tx, 1); err != nil { // p2
			return err
		}
		// Staged after a removal was planned: not diffed ahead.
		if err := tx.Stage(ctx, []store.Object{stored[3]}); err != nil {
			return err
		}
		if err := remove(tx, 100); err != nil { // p4, after p2
			return err
		}
		if _, err := tx.Apply(ctx, func([]store.Change) error { return nil }); err != nil {
			return err
		}
		return remove(tx, 100) // with the lock: nothing left to remove
	})
	if err != nil {
		t.Fatal(err)
	}
	if slices.Sort(removed); !slices.Equal(removed, []string{"p2", "p4"}) {
		t.Fatalf("removed %v, want [p2 p4]", removed)
	}
	objs, _, err := s.ListObjects(ctx, store.ObjectQuery{Tenants: []uuid.UUID{tn.ID}, Kind: store.KindPerson, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	var labels []string
	for _, o := range objs {
		labels = append(labels, o.Label)
	}
	if slices.Sort(labels); !slices.Equal(labels, []string{"new", "p0", "p1", "p3"}) {
		t.Fatalf("after the sync: %v, want [new p0 p1 p3]", labels)
	}
}
