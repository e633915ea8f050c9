package storetest

import (
	"errors"
	"fmt"
	"testing"

	"github.com/google/uuid"

	"github.com/interop-data/interop/pkg/reference/store"
)

// The first load of a tenant, whose roster is empty when the sync starts:
// a store may take a shorter path for it (PostgreSQL copies the staged
// objects straight into the roster), which must mean what any other sync
// means. firstLoadN is more than one step of that path (4,096 objects).
const firstLoadN = 6000

// firstLoadObjects is an org and n persons of it, every seventh listing the
// org twice and every fifth also a section (the org, as a section's
// stand-in: links need only an id).
func firstLoadObjects(n int) (store.Object, []store.Object) {
	org := Org(store.SubtypeSchool, "first-load")
	objs := make([]store.Object, n)
	for i := range objs {
		objs[i] = Person(store.SubtypeStudent, fmt.Sprint("p", i), org.ID)
		if i%7 == 0 {
			objs[i].Orgs = append(objs[i].Orgs, org.ID)
		}
		if i%5 == 0 {
			objs[i].Sections = []uuid.UUID{org.ID}
		}
	}
	return org, objs
}

// In a first load, an id staged again (in a later Stage before the Apply,
// or after an Apply) and an id Put before it is staged are
// changes whose prior is the earlier version; an id staged again unchanged
// is unchanged; everything else is new, in staging order, and listed in
// that order with its links made once.
func testFirstLoadStagedAgain(t *testing.T, s store.Store) {
	tn := NewTenant(t, s, "first-again")
	scope := []uuid.UUID{tn.ID}
	org, objs := firstLoadObjects(firstLoadN)
	put := Person(store.SubtypeStudent, "put", org.ID)
	renamed := func(o store.Object, label string) store.Object {
		o.Label, o.Data = label, []byte(`{"name":{"first":"`+label+`"}}`)
		return o
	}
	// Applied in three parts: org and objs[:4500]; objs[4500:5000] with
	// objs[10] renamed, objs[20] again as it was and put renamed; then
	// objs[5000:] with objs[5001] renamed in a later Stage of the same
	// Apply.
	parts := [][]store.Object{
		append([]store.Object{org}, objs[:4500]...),
		append(append([]store.Object{}, objs[4500:5000]...), renamed(objs[10], "ten"), objs[20], renamed(put, "put2")),
		append(append([]store.Object{}, objs[5000:]...), renamed(objs[5001], "five-thousand-one")),
	}
	var got []store.Change
	collect := func(chs []store.Change) error { got = append(got, chs...); return nil }
	unchanged := 0
	var removed []store.Object
	syncDo(t, s, tn.ID, func(tx store.SyncTx) error {
		if _, err := tx.Put(ctx(), put); err != nil {
			return err
		}
		for _, part := range parts {
			if err := stageInBatches(tx, part, 700); err != nil {
				return err
			}
			u, err := tx.Apply(ctx(), collect)
			if err != nil {
				return err
			}
			unchanged += u
		}
		var err error
		removed, err = tx.RemoveUnput(ctx(), store.KindPerson, "", 10)
		return err
	})
	if len(removed) != 0 {
		t.Errorf("RemoveUnput removed %d objects of a first load, want none", len(removed))
	}
	type want struct {
		id           uuid.UUID
		label, prior string // prior "" when new
	}
	var wants []want
	wants = append(wants, want{org.ID, org.Label, ""})
	for _, o := range objs[:5000] {
		wants = append(wants, want{o.ID, o.Label, ""})
	}
	wants = append(wants, want{objs[10].ID, "ten", objs[10].Label}, want{put.ID, "put2", "put"})
	for _, o := range objs[5000:] {
		wants = append(wants, want{o.ID, o.Label, ""})
	}
	wants = append(wants, want{objs[5001].ID, "five-thousand-one", objs[5001].Label})
	if len(got) != len(wants) {
		t.Fatalf("%d changes, want %d", len(got), len(wants))
	}
	for i, w := range wants {
		g := got[i]
		prior := ""
		if g.Prior != nil {
			prior = g.Prior.Label
			if g.Prior.ID != w.id {
				t.Fatalf("change %d: prior of %s is %s", i, w.id, g.Prior.ID)
			}
		}
		if g.Object.ID != w.id || g.Object.Label != w.label || prior != w.prior {
			t.Fatalf("change %d = %s %q from %q, want %s %q from %q", i, g.Object.ID, g.Object.Label, prior, w.id, w.label, w.prior)
		}
	}
	if unchanged != 1 {
		t.Errorf("unchanged = %d, want 1 (objs[20] staged again as it was)", unchanged)
	}
	// Listed in the order each was first written: put, then the staging
	// order; a changed object keeps its place.
	wantOrder := append([]uuid.UUID{put.ID}, ids(objs)...)
	if got := ids(listAll(t, s, store.ObjectQuery{Tenants: scope, Kind: store.KindPerson})); fmt.Sprint(got) != fmt.Sprint(wantOrder) {
		t.Errorf("persons listed out of order (%d listed, want %d)", len(got), len(wantOrder))
	}
	if got := ids(listAll(t, s, store.ObjectQuery{Tenants: scope, Kind: store.KindPerson, Org: &org.ID})); fmt.Sprint(got) != fmt.Sprint(wantOrder) {
		t.Errorf("the org's persons: %d, want each of the %d once, in order", len(got), len(wantOrder))
	}
	for _, c := range []struct {
		o     store.Object
		label string
	}{{objs[10], "ten"}, {objs[5001], "five-thousand-one"}, {put, "put2"}, {objs[20], objs[20].Label}} {
		if o, err := s.FindObject(ctx(), scope, store.KindPerson, c.o.ID); err != nil || o.Label != c.label {
			t.Errorf("%s after = %q, %v; want %q", c.o.Label, o.Label, err, c.label)
		}
	}
}

// A first load that fails after applying (and enqueueing) thousands of
// objects leaves the tenant as it was; the next one is a first load again,
// and the same ids are new again.
func testFirstLoadFails(t *testing.T, s store.Store) {
	tn := NewTenant(t, s, "first-fails")
	scope := []uuid.UUID{tn.ID}
	org, objs := firstLoadObjects(firstLoadN)
	before := allTasks(t, s, tn.ID)
	boom := errors.New("boom")
	load := func(fail bool) (added int, err error) {
		err = s.Sync(ctx(), tn.ID, func(tx store.SyncTx) error {
			all := append([]store.Object{org}, objs...)
			for i := 0; i < len(all); i += 2048 {
				if err := tx.Stage(ctx(), all[i:min(i+2048, len(all))]); err != nil {
					return err
				}
				if _, err := tx.Apply(ctx(), func(chs []store.Change) error {
					for _, ch := range chs {
						if ch.Prior == nil {
							added++
						}
					}
					_, err := tx.Enqueue(ctx(), make([]store.NewTask, len(chs)), t0)
					return err
				}); err != nil {
					return err
				}
			}
			if fail {
				return boom
			}
			return nil
		})
		return added, err
	}
	if _, err := load(true); !errors.Is(err, boom) {
		t.Fatalf("failed load: %v, want boom", err)
	}
	if got := listAll(t, s, store.ObjectQuery{Tenants: scope, Kind: store.KindPerson}); len(got) != 0 {
		t.Errorf("%d persons after a failed first load, want none", len(got))
	}
	if got := listAll(t, s, store.ObjectQuery{Tenants: scope, Kind: store.KindPerson, Org: &org.ID}); len(got) != 0 {
		t.Errorf("%d links after a failed first load, want none", len(got))
	}
	if got := allTasks(t, s, tn.ID); len(got) != len(before) {
		t.Errorf("%d tasks after a failed first load, want %d", len(got), len(before))
	}
	added, err := load(false)
	if err != nil {
		t.Fatal(err)
	}
	if added != firstLoadN+1 {
		t.Errorf("the load after the failed one added %d, want %d", added, firstLoadN+1)
	}
	if got := ids(listAll(t, s, store.ObjectQuery{Tenants: scope, Kind: store.KindPerson, Org: &org.ID})); fmt.Sprint(got) != fmt.Sprint(ids(objs)) {
		t.Errorf("the org's persons after the second load: %d, want %d in order", len(got), len(objs))
	}
}
