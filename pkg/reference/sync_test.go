package reference_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/interop-data/interop/pkg/reference"
	"github.com/interop-data/interop/pkg/reference/store"
	"github.com/interop-data/interop/pkg/reference/store/postgres"
	"github.com/interop-data/interop/pkg/reference/store/postgres/pgtest"
	"github.com/interop-data/interop/pkg/reference/store/sqlite"
	"github.com/interop-data/interop/pkg/reference/store/storetest"
)

var syncT0 = time.Date(2025, 11, 16, 12, 0, 0, 0, time.UTC)

// eachStore runs fn against a fresh store of every kind this build has.
func eachStore(t *testing.T, fn func(t *testing.T, st store.Store)) {
	// Each store twice: syncs diffing in the database, and syncs reading
	// the roster at their first Stage (what one of thousands of objects
	// does), which must give the same events.
	for name, after := range map[string]int{"sqlite": -1, "sqlite-known": 0} {
		t.Run(name, func(t *testing.T) {
			st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "sync.db"), sqlite.WithRosterReadAfter(after))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			fn(t, st)
		})
	}
	for name, after := range map[string]int{"postgres": -1, "postgres-known": 0} {
		t.Run(name, func(t *testing.T) {
			st, err := postgres.Open(context.Background(), pgtest.Schema(t), postgres.WithRosterReadAfter(after))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			fn(t, st)
		})
	}
}

type event struct {
	Action     string                     `json:"action"`
	ObjectID   string                     `json:"object_id"`
	ObjectType string                     `json:"object_type"`
	GroupID    string                     `json:"group_id"`
	Origin     string                     `json:"origin"`
	Label      string                     `json:"label"`
	Data       map[string]any             `json:"data"`
	Changes    map[string]json.RawMessage `json:"changes"`
}

func events(t *testing.T, ts []store.Task) []event {
	t.Helper()
	out := make([]event, len(ts))
	for i, task := range ts {
		if err := json.Unmarshal(task.Payload, &out[i]); err != nil {
			t.Fatalf("payload %s: %v", task.Payload, err)
		}
	}
	return out
}

func actions(evs []event) string {
	var s []string
	for _, e := range evs {
		s = append(s, e.Action)
	}
	return fmt.Sprint(s)
}

func queue(t *testing.T, st store.Store, tenant uuid.UUID) []store.Task {
	t.Helper()
	ts, _, err := st.ListTasks(context.Background(), store.TaskQuery{Tenants: []uuid.UUID{tenant}, Limit: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

func upserts(objs ...store.Object) func(w reference.SyncWriter) error {
	return func(w reference.SyncWriter) error {
		for _, o := range objs {
			if err := w.Upsert(context.Background(), o); err != nil {
				return err
			}
		}
		return nil
	}
}

func TestApplySyncEvents(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		tn := storetest.NewTenant(t, st, "sync")
		school := storetest.Org(store.SubtypeSchool, "Lincoln")
		zoe := storetest.Person(store.SubtypeStudent, "Zoë", school.ID)
		ada := storetest.Person(store.SubtypeTeacher, "Ada", school.ID)
		r, err := reference.ApplySync(ctx, st, tn.ID, syncT0, reference.SyncOptions{Driver: "d1"}, upserts(school, zoe, ada))
		if err != nil || r.Added != 3 || r.Enqueued != 5 || len(r.Tasks) != 5 {
			t.Fatalf("first sync = %+v, %v", r, err)
		}
		evs := events(t, r.Tasks)
		if got := actions(evs); got != "[SYNC_START ADD ADD ADD SYNC_END]" {
			t.Fatalf("actions = %s", got)
		}
		for i, task := range r.Tasks {
			if evs[i].GroupID != r.GroupID.String() || task.Driver != "d1" {
				t.Errorf("task %d group %q driver %q, want %s d1", i, evs[i].GroupID, task.Driver, r.GroupID)
			}
			if i > 0 && task.Sequence != r.Tasks[i-1].Sequence+1 {
				t.Errorf("sequence %d after %d", task.Sequence, r.Tasks[i-1].Sequence)
			}
		}
		if evs[0].Origin != reference.DefaultOrigin || evs[4].Origin != reference.DefaultOrigin {
			t.Errorf("origin = %q, %q", evs[0].Origin, evs[4].Origin)
		}
		if add := evs[2]; add.ObjectID != zoe.ID.String() || add.ObjectType != "RDM:Student" || add.Label != "Zoë" || add.Data["name"] == nil {
			t.Errorf("ADD = %+v", add)
		}

		// Change one attribute of Zoë and add one, leave Ada identical,
		// delete the school, and an unknown id.
		changed := zoe
		changed.Data, _ = json.Marshal(map[string]any{
			"$sys":      map[string]any{"id": zoe.ID, "type": "Person", "person_type": "Student", "label": "Zoë"},
			"name":      map[string]any{"first": "Zoë", "last": "Núñez"},
			"grad_year": "2032",
		})
		group := uuid.New()
		r2, err := reference.ApplySync(ctx, st, tn.ID, syncT0.Add(time.Minute), reference.SyncOptions{Origin: "resend", GroupID: group}, func(w reference.SyncWriter) error {
			if err := upserts(changed, ada)(w); err != nil {
				return err
			}
			if err := w.Delete(ctx, store.KindOrg, school.ID); err != nil {
				return err
			}
			return w.Delete(ctx, "", uuid.New())
		})
		if err != nil || r2.Changed != 1 || r2.Unchanged != 1 || r2.Deleted != 1 || r2.Added != 0 || r2.GroupID != group {
			t.Fatalf("second sync = %+v, %v", r2, err)
		}
		evs = events(t, r2.Tasks)
		if got := actions(evs); got != "[SYNC_START CHANGE DELETE SYNC_END]" {
			t.Fatalf("second sync actions = %s", got)
		}
		if ch := evs[1].Changes; string(ch["name"]) != `{"first":"Zoë"}` || string(ch["grad_year"]) != "null" || len(ch) != 2 {
			t.Errorf("CHANGE changes = %v", ch)
		}
		if del := evs[2]; del.ObjectID != school.ID.String() || del.ObjectType != "RDM:School" || del.Data["name"] != "Lincoln" {
			t.Errorf("DELETE = %+v", del)
		}
		if evs[0].Origin != "resend" || evs[0].GroupID != group.String() {
			t.Errorf("SYNC_START = %+v", evs[0])
		}
		if !r2.Tasks[0].CreatedAt.Equal(syncT0.Add(time.Minute)) {
			t.Errorf("created_at = %v", r2.Tasks[0].CreatedAt)
		}
		// Keys in another order and other spacing are no change.
		same := changed
		same.Data = []byte(`{ "grad_year":"2032", "name":{"last":"Núñez","first":"Zoë"}, "$sys":{"label":"Zoë","person_type":"Student","type":"Person","id":"` + zoe.ID.String() + `"} }`)
		r3, err := reference.ApplySync(ctx, st, tn.ID, syncT0, reference.SyncOptions{}, upserts(same, ada))
		if err != nil || r3.Unchanged != 2 || actions(events(t, r3.Tasks)) != "[SYNC_START SYNC_END]" {
			t.Errorf("reload = %+v, %v", r3, err)
		}
		// Silent syncs store without tasks.
		before := len(queue(t, st, tn.ID))
		quiet := storetest.Person(store.SubtypeStudent, "Quiet")
		r4, err := reference.ApplySync(ctx, st, tn.ID, syncT0, reference.SyncOptions{Silent: true}, upserts(quiet))
		if err != nil || r4.Added != 1 || r4.Enqueued != 0 || len(r4.Tasks) != 0 || len(queue(t, st, tn.ID)) != before {
			t.Errorf("silent sync = %+v, %v", r4, err)
		}
		if _, err := st.FindObject(ctx, []uuid.UUID{tn.ID}, store.KindPerson, quiet.ID); err != nil {
			t.Errorf("silent sync did not store: %v", err)
		}
	})
}

func TestApplySyncDeleteAbsent(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		tn := storetest.NewTenant(t, st, "bulk")
		var students []store.Object
		for i := range 2500 { // more than one batch of the store's removal
			students = append(students, storetest.Person(store.SubtypeStudent, fmt.Sprint("s", i)))
		}
		teacher := storetest.Person(store.SubtypeTeacher, "t")
		if _, err := reference.ApplySync(ctx, st, tn.ID, syncT0, reference.SyncOptions{Silent: true}, upserts(append(students, teacher)...)); err != nil {
			t.Fatal(err)
		}
		before := len(queue(t, st, tn.ID))
		// The bulk file keeps the first ten students, changing one.
		kept := append([]store.Object(nil), students[:10]...)
		kept[3].Data = []byte(`{"name":{"first":"renamed"}}`)
		r, err := reference.ApplySync(ctx, st, tn.ID, syncT0, reference.SyncOptions{}, func(w reference.SyncWriter) error {
			if err := upserts(kept...)(w); err != nil {
				return err
			}
			return w.DeleteAbsent(ctx, store.KindPerson, store.SubtypeStudent)
		})
		if err != nil || r.Deleted != 2490 || r.Changed != 1 || r.Unchanged != 9 || r.Enqueued != 2493 {
			t.Fatalf("bulk sync = %+v (Tasks omitted), %v", struct{ A, C, D, U, E int }{r.Added, r.Changed, r.Deleted, r.Unchanged, r.Enqueued}, err)
		}
		if len(r.Tasks) != reference.MaxResultTasks {
			t.Errorf("result holds %d tasks, want the first %d", len(r.Tasks), reference.MaxResultTasks)
		}
		q := queue(t, st, tn.ID)[before:]
		evs := events(t, q)
		if len(evs) != 2493 || evs[0].Action != reference.ActionSyncStart || evs[1].Action != reference.ActionChange || evs[len(evs)-1].Action != reference.ActionSyncEnd {
			t.Fatalf("queue = %d tasks, first %s, %s, last %s", len(evs), evs[0].Action, evs[1].Action, evs[len(evs)-1].Action)
		}
		for i, e := range evs[2 : len(evs)-1] {
			if e.Action != reference.ActionDelete || e.ObjectID != students[10+i].ID.String() || e.GroupID != r.GroupID.String() {
				t.Fatalf("event %d = %+v, want DELETE of student %d", i+2, e, 10+i)
			}
		}
		for i := 1; i < len(q); i++ {
			if q[i].Sequence != q[i-1].Sequence+1 {
				t.Fatalf("sequence %d after %d", q[i].Sequence, q[i-1].Sequence)
			}
		}
		left, _, _ := st.ListObjects(ctx, store.ObjectQuery{Tenants: []uuid.UUID{tn.ID}, Kind: store.KindPerson, Limit: 100})
		if len(left) != 11 {
			t.Errorf("%d persons left, want 10 students and the teacher", len(left))
		}
	})
}

// A failing fill, or a bad object, leaves roster and queue as they were.
func TestApplySyncAllOrNothing(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		tn := storetest.NewTenant(t, st, "atomic")
		old := storetest.Person(store.SubtypeStudent, "Old")
		if _, err := reference.ApplySync(ctx, st, tn.ID, syncT0, reference.SyncOptions{}, upserts(old)); err != nil {
			t.Fatal(err)
		}
		before := queue(t, st, tn.ID)
		var many []store.Object
		for i := range 1500 { // several flushes of the task buffer before the failure
			many = append(many, storetest.Person(store.SubtypeStudent, fmt.Sprint(i)))
		}
		boom := errors.New("the CSV broke at line 1501")
		for name, fill := range map[string]func(reference.SyncWriter) error{
			"fill error": func(w reference.SyncWriter) error {
				if err := upserts(many...)(w); err != nil {
					return err
				}
				if err := w.Delete(ctx, "", old.ID); err != nil {
					return err
				}
				return boom
			},
			"bad object": upserts(append(many, store.Object{ID: uuid.New(), Kind: store.KindPerson, Data: []byte(`[]`)})...),
		} {
			_, err := reference.ApplySync(ctx, st, tn.ID, syncT0, reference.SyncOptions{}, fill)
			if err == nil || (name == "fill error" && !errors.Is(err, boom)) || (name == "bad object" && !errors.Is(err, store.ErrInvalid)) {
				t.Fatalf("%s: err = %v", name, err)
			}
			if after := queue(t, st, tn.ID); len(after) != len(before) {
				t.Fatalf("%s: queue went from %d to %d tasks", name, len(before), len(after))
			}
			if _, err := st.FindObject(ctx, []uuid.UUID{tn.ID}, store.KindPerson, old.ID); err != nil {
				t.Fatalf("%s: deleted object is gone: %v", name, err)
			}
			if _, err := st.FindObject(ctx, []uuid.UUID{tn.ID}, store.KindPerson, many[0].ID); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("%s: upserted object stayed: %v", name, err)
			}
		}
		if _, err := reference.ApplySync(ctx, st, uuid.New(), syncT0, reference.SyncOptions{}, upserts(old)); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("sync of an unknown tenant: %v", err)
		}
	})
}

// The same object twice in one sync: the second upsert sees the first.
func TestApplySyncSameObjectTwice(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		tn := storetest.NewTenant(t, st, "twice")
		p := storetest.Person(store.SubtypeStudent, "Twice")
		p2 := p
		p2.Data = []byte(`{"name":{"first":"Twice","last":"Again"}}`)
		r, err := reference.ApplySync(ctx, st, tn.ID, syncT0, reference.SyncOptions{}, upserts(p, p2, p2))
		if err != nil || r.Added != 1 || r.Changed != 1 || r.Unchanged != 1 {
			t.Fatalf("sync = %+v, %v", r, err)
		}
		if got := actions(events(t, r.Tasks)); got != "[SYNC_START ADD CHANGE SYNC_END]" {
			t.Errorf("actions = %s", got)
		}
	})
}

// BenchmarkApplySync loads 20,000 new persons (each linked to a school) in
// one sync, then the same 20,000 again (every one unchanged), on each
// store. One iteration is one object; objects/s is the load rate.
func BenchmarkApplySync(b *testing.B) {
	open := map[string]func(b *testing.B) store.Store{
		"sqlite": func(b *testing.B) store.Store {
			st, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "bench.db"))
			if err != nil {
				b.Fatal(err)
			}
			return st
		},
		"postgres": func(b *testing.B) store.Store {
			st, err := postgres.Open(context.Background(), pgtest.Schema(b))
			if err != nil {
				b.Fatal(err)
			}
			return st
		},
	}
	for _, name := range []string{"sqlite", "postgres"} {
		for _, pass := range []string{"new", "unchanged"} {
			b.Run("store="+name+"/"+pass, func(b *testing.B) {
				ctx := context.Background()
				st := open[name](b)
				defer st.Close()
				tn := storetest.NewTenant(b, st, "bench")
				school := storetest.Org(store.SubtypeSchool, "Lincoln")
				for range b.N {
					b.StopTimer()
					objs := make([]store.Object, 20_000)
					for i := range objs {
						objs[i] = storetest.Person(store.SubtypeStudent, fmt.Sprint("Zoë ", i), school.ID)
					}
					if pass == "unchanged" {
						if _, err := reference.ApplySync(ctx, st, tn.ID, syncT0, reference.SyncOptions{}, upserts(objs...)); err != nil {
							b.Fatal(err)
						}
					}
					b.StartTimer()
					if _, err := reference.ApplySync(ctx, st, tn.ID, syncT0, reference.SyncOptions{}, upserts(objs...)); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(20_000*b.N)/b.Elapsed().Seconds(), "objects/s")
			})
		}
	}
}
