package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/google/uuid"

	"github.com/interop-data/interop/pkg/reference/store"
	"github.com/interop-data/interop/pkg/reference/store/storetest"
)

// A reload that changes a few thousand objects, none new, writes its events
// in hidden slices before its last transaction, as a first load does: the
// last transaction then holds only the objects' updates.
func TestReloadWritesManyEventsInSlices(t *testing.T) {
	ctx := context.Background()
	slices := 0
	s, err := Open(ctx, filepath.Join(t.TempDir(), "reload.db"), withSliceHook(func(int) error { slices++; return nil }))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	tn := storetest.NewTenant(t, s, "reload")
	objs := district(minSliceRows + 100)
	if err := load(ctx, s, tn.ID, objs, nil); err != nil {
		t.Fatal(err)
	}
	for i := 1; i < len(objs); i++ {
		objs[i].Label += "-renamed"
	}
	slices = 0
	if err := load(ctx, s, tn.ID, objs, nil); err != nil {
		t.Fatal(err)
	}
	if slices == 0 {
		t.Errorf("a reload with %d events wrote them in its last transaction, want slices", len(objs)-1+1)
	}
	v := look(t, s, tn.ID, objs[0].ID)
	if v.persons != len(objs)-1 || v.schoolPersons != len(objs)-1 || !increasing(v.sequences) || len(v.sequences) != 1+2*(len(objs)+1)-1 {
		t.Errorf("after the reload readers see %d persons, %d of the school, %d tasks; want %d, %d and %d in order",
			v.persons, v.schoolPersons, len(v.sequences), len(objs)-1, len(objs)-1, 1+2*(len(objs)+1)-1)
	}
}

// A changed object whose kind and subtype stay keeps its links: they are
// diffed as an unchanged object's are (planned per link), not dropped and
// made again; one whose subtype changed has its links made again (they
// carry it). Either way the links end as staged.
func TestRenamedObjectKeepsItsLinks(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "relabel.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	tn := storetest.NewTenant(t, s, "relabel")
	school, other := storetest.Org("school", "A"), storetest.Org("school", "B")
	sec := uuid.New()
	renamed := storetest.Person(store.SubtypeStudent, "renamed", school.ID)
	renamed.Sections = []uuid.UUID{sec}
	moved := storetest.Person(store.SubtypeStudent, "moved", school.ID)
	retyped := storetest.Person(store.SubtypeStudent, "retyped", school.ID)
	storetest.Put(t, s, tn.ID, school, other, renamed, moved, retyped)

	renamed2 := renamed
	renamed2.Label, renamed2.Data = "renamed2", []byte(`{"name":"renamed2"}`)
	moved2 := moved
	moved2.Label, moved2.Data, moved2.Orgs = "moved2", []byte(`{"name":"moved2"}`), []uuid.UUID{other.ID}
	retyped2 := storetest.Person(store.SubtypeTeacher, "retyped", school.ID)
	retyped2.ID = retyped.ID
	states := map[uuid.UUID]int{}
	var plans [4]int
	err = s.Sync(ctx, tn.ID, func(tx store.SyncTx) error {
		if err := tx.Stage(ctx, []store.Object{renamed2, moved2, retyped2}); err != nil {
			return err
		}
		if _, err := tx.Apply(ctx, func([]store.Change) error { return nil }); err != nil {
			return err
		}
		x := tx.(*syncTx)
		rows, err := x.conn.QueryContext(ctx, `SELECT s.id, d.state FROM temp.diff d JOIN temp.stage s ON s.ord = d.ord`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id uuid.UUID
			var state int
			if err := rows.Scan(&id, &state); err != nil {
				return err
			}
			states[id] = state
		}
		for i, table := range []string{"plan_drop_orgs", "plan_add_orgs", "plan_drop_secs", "plan_add_secs"} {
			if err := x.conn.QueryRowContext(ctx, `SELECT count(*) FROM temp.`+table).Scan(&plans[i]); err != nil {
				return err
			}
		}
		return rows.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	if states[renamed.ID] != stateRelabeled || states[moved.ID] != stateRelabeled || states[retyped.ID] != stateChanged {
		t.Errorf("states: renamed %d, moved %d, retyped %d; want %d, %d, %d", states[renamed.ID], states[moved.ID], states[retyped.ID],
			stateRelabeled, stateRelabeled, stateChanged)
	}
	if fmt.Sprint(plans) != "[1 1 0 0]" {
		t.Errorf("planned links (drop orgs, add orgs, drop sections, add sections) %v, want [1 1 0 0]: moved's org alone", plans)
	}
	scope := []uuid.UUID{tn.ID}
	list := func(org uuid.UUID, subtype string) []string {
		objs, _, err := s.ListObjects(ctx, store.ObjectQuery{Tenants: scope, Kind: store.KindPerson, Subtype: subtype, Org: &org, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		var labels []string
		for _, o := range objs {
			labels = append(labels, o.Label)
		}
		return labels
	}
	if got := fmt.Sprint(list(school.ID, store.SubtypeStudent), list(school.ID, store.SubtypeTeacher), list(other.ID, "")); got != "[renamed2] [retyped] [moved2]" {
		t.Errorf("school's students, school's teachers, other's persons = %s, want [renamed2] [retyped] [moved2]", got)
	}
	var secs int
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM person_sections WHERE tenant_id = ? AND section_id = ?`, tn.ID.String(), sec.String()).Scan(&secs); err != nil || secs != 1 {
		t.Errorf("renamed's section links: %d, %v; want 1", secs, err)
	}
}
