package postgres_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/interop-data/interop/pkg/reference/store"
	"github.com/interop-data/interop/pkg/reference/store/postgres"
	"github.com/interop-data/interop/pkg/reference/store/postgres/pgtest"
	"github.com/interop-data/interop/pkg/reference/store/storetest"
)

// eachSync runs test on a store in a fresh schema (at url) whose syncs
// diff in the database, and on one whose syncs read the tenant's roster at
// their first Stage (Known: what a sync of thousands of objects does).
func eachSync(t *testing.T, test func(t *testing.T, s *postgres.Store, url string)) {
	for name, after := range map[string]int{"diffed": -1, "known": 0} {
		t.Run(name, func(t *testing.T) {
			url := pgtest.Schema(t)
			s := open(t, url, postgres.WithRosterReadAfter(after))
			defer s.Close()
			test(t, s, url)
		})
	}
}

// A reload tells unchanged objects by their digest. Every writer keeps the
// digest true to the row (a Put that changes an object changes it), and an
// object stored without one (before migration 8) is compared whole: the
// same is unchanged, and gets its digest; a different one is a change.
func TestSyncDigests(t *testing.T) {
	eachSync(t, func(t *testing.T, s *postgres.Store, url string) {
		ctx := context.Background()
		tn := storetest.NewTenant(t, s, "digests")
		school := storetest.Org(store.SubtypeSchool, "school")
		a, b, c := storetest.Person(store.SubtypeStudent, "a", school.ID), storetest.Person(store.SubtypeStudent, "b"), storetest.Person(store.SubtypeStudent, "c")
		if got, _ := storetest.StageApply(t, s, tn.ID, school, a, b, c); len(got) != 4 {
			t.Fatalf("first load: %v", storetest.ChangedLabels(got))
		}
		conn := connect(t, url)
		var missing int
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM objects WHERE tenant_id = $1 AND (digest IS NULL OR length(digest) <> 16)`, tn.ID).Scan(&missing); err != nil || missing != 0 {
			t.Fatalf("after a first load, %d objects without a digest (%v)", missing, err)
		}

		// A Put changes b: staging b as it was is a change back.
		b2 := b
		b2.Label, b2.Data = "b2", []byte(`{"name":{"first":"b2"}}`)
		storetest.Put(t, s, tn.ID, b2)
		got, unchanged := storetest.StageApply(t, s, tn.ID, school, a, b, c)
		if fmt.Sprint(storetest.ChangedLabels(got)) != "[b<-b2]" || unchanged != 3 {
			t.Fatalf("restaged after a Put: changes %v, %d unchanged; want [b<-b2], 3", storetest.ChangedLabels(got), unchanged)
		}

		// Objects stored without a digest: a is the same, c differs.
		if _, err := conn.Exec(ctx, `UPDATE objects SET digest = NULL WHERE tenant_id = $1 AND id = ANY($2)`, tn.ID, []uuid.UUID{a.ID, c.ID}); err != nil {
			t.Fatal(err)
		}
		c2 := c
		c2.Label, c2.Data = "c2", []byte(`{"name":{"first":"c2"}}`)
		got, unchanged = storetest.StageApply(t, s, tn.ID, school, a, b, c2)
		if fmt.Sprint(storetest.ChangedLabels(got)) != "[c2<-c]" || unchanged != 3 {
			t.Fatalf("objects without a digest: changes %v, %d unchanged; want [c2<-c], 3", storetest.ChangedLabels(got), unchanged)
		}
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM objects WHERE tenant_id = $1 AND digest IS NULL`, tn.ID).Scan(&missing); err != nil || missing != 0 {
			t.Fatalf("after a reload, %d objects still without a digest (%v)", missing, err)
		}
		if got, unchanged := storetest.StageApply(t, s, tn.ID, school, a, b, c2); len(got) != 0 || unchanged != 4 {
			t.Fatalf("the same again: changes %v, %d unchanged", storetest.ChangedLabels(got), unchanged)
		}
	})
}

// The links have no foreign key to cascade from (migration 8): Remove and
// RemoveUnput delete an object's links themselves.
func TestRemoveDeletesLinks(t *testing.T) {
	eachSync(t, func(t *testing.T, s *postgres.Store, url string) {
		ctx := context.Background()
		tn := storetest.NewTenant(t, s, "links")
		school, section := storetest.Org(store.SubtypeSchool, "school"), uuid.New()
		p, q, r := storetest.Person(store.SubtypeStudent, "p", school.ID), storetest.Person(store.SubtypeStudent, "q", school.ID), storetest.Person(store.SubtypeStudent, "r", school.ID)
		p.Sections, q.Sections, r.Sections = []uuid.UUID{section}, []uuid.UUID{section}, []uuid.UUID{section}
		storetest.Put(t, s, tn.ID, school, p, q, r)
		conn := connect(t, url)
		links := func() (orgs, secs int) {
			t.Helper()
			if err := conn.QueryRow(ctx, `SELECT (SELECT count(*) FROM object_orgs WHERE tenant_id = $1), (SELECT count(*) FROM person_sections WHERE tenant_id = $1)`, tn.ID).Scan(&orgs, &secs); err != nil {
				t.Fatal(err)
			}
			return orgs, secs
		}
		if o, sc := links(); o != 3 || sc != 3 {
			t.Fatalf("links: %d org, %d section; want 3, 3", o, sc)
		}
		err := s.Sync(ctx, tn.ID, func(tx store.SyncTx) error {
			if o, err := tx.Remove(ctx, store.KindPerson, p.ID); err != nil || o == nil {
				return fmt.Errorf("Remove: %v, %v", o, err)
			}
			if _, err := tx.Put(ctx, q); err != nil {
				return err
			}
			gone, err := tx.RemoveUnput(ctx, store.KindPerson, "", 10)
			if err != nil || len(gone) != 1 || gone[0].ID != r.ID {
				return fmt.Errorf("RemoveUnput: %v, %v", gone, err)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if o, sc := links(); o != 1 || sc != 1 {
			t.Fatalf("links after removing p and r: %d org, %d section; want q's 1, 1", o, sc)
		}
	})
}

// A sync numbers its tasks from the counter it locked at its first
// enqueue and writes the counter once at its end; many go in by COPY, few
// by INSERT, all with time-ordered ids. A failed sync leaves the counter.
func TestSyncEnqueueCounts(t *testing.T) {
	eachSync(t, func(t *testing.T, s *postgres.Store, _ string) {
		ctx := context.Background()
		tn := storetest.NewTenant(t, s, "counter") // its TENANT_INSTALLED is 1
		t0 := time.Unix(1_700_000_000, 0)
		batch := func(n int, prefix string) []store.NewTask {
			out := make([]store.NewTask, n)
			for i := range out {
				out[i] = storetest.Lifecycle(fmt.Sprint(prefix, i), "")
			}
			return out
		}
		err := s.Sync(ctx, tn.ID, func(tx store.SyncTx) error {
			for _, n := range []int{100, 1, 70} {
				ts, err := tx.Enqueue(ctx, batch(n, "s"), t0)
				if err != nil {
					return err
				}
				for _, task := range ts {
					if task.ID.Version() != 7 {
						return fmt.Errorf("task %d: id %s is not time-ordered", task.Sequence, task.ID)
					}
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		failed := fmt.Errorf("fail")
		if err := s.Sync(ctx, tn.ID, func(tx store.SyncTx) error {
			if _, err := tx.Enqueue(ctx, batch(80, "x"), t0); err != nil {
				return err
			}
			return failed
		}); err != failed {
			t.Fatalf("failed sync: %v", err)
		}
		after, err := s.Enqueue(ctx, tn.ID, batch(1, "after"), t0)
		if err != nil || len(after) != 1 || after[0].Sequence != 173 {
			t.Fatalf("Enqueue after the syncs: %+v, %v; want sequence 173", after, err)
		}
		ts, _, err := s.ListTasks(ctx, store.TaskQuery{Tenants: []uuid.UUID{tn.ID}, Limit: 1000})
		if err != nil || len(ts) != 173 {
			t.Fatalf("ListTasks: %d tasks, %v; want 173", len(ts), err)
		}
		for i, task := range ts {
			if task.Sequence != int64(i+1) {
				t.Fatalf("task %d has sequence %d", i, task.Sequence)
			}
		}
	})
}

// A sync's COPYs run in the background: one that fails fails the sync (at
// a later call, or from Sync), and nothing of it is kept.
func TestSyncBackgroundWriteFails(t *testing.T) {
	eachSync(t, func(t *testing.T, s *postgres.Store, url string) {
		ctx := context.Background()
		conn := connect(t, url)
		if _, err := conn.Exec(ctx, `CREATE FUNCTION boom_task() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN
			IF position('boom' in convert_from(NEW.payload, 'UTF8')) > 0 THEN RAISE EXCEPTION 'boom'; END IF;
			RETURN NEW;
		END $$;
		CREATE FUNCTION boom_object() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN
			IF NEW.label = 'boom' THEN RAISE EXCEPTION 'boom'; END IF;
			RETURN NEW;
		END $$;
		CREATE TRIGGER boom BEFORE INSERT ON tasks FOR EACH ROW EXECUTE FUNCTION boom_task();
		CREATE TRIGGER boom BEFORE INSERT ON objects FOR EACH ROW EXECUTE FUNCTION boom_object()`); err != nil {
			t.Fatal(err)
		}
		tn := storetest.NewTenant(t, s, "boom")
		t0 := time.Unix(1_700_000_000, 0)
		tasks := make([]store.NewTask, 100)
		for i := range tasks {
			tasks[i] = storetest.Lifecycle(fmt.Sprint("ok", i), "")
		}
		tasks[99] = storetest.Lifecycle("boom", "")
		err := s.Sync(ctx, tn.ID, func(tx store.SyncTx) error {
			_, err := tx.Enqueue(ctx, tasks, t0)
			return err
		})
		if err == nil || !strings.Contains(err.Error(), "boom") {
			t.Fatalf("a sync whose tasks fail to copy: %v", err)
		}
		objs := []store.Object{storetest.Org(store.SubtypeSchool, "fine"), storetest.Org(store.SubtypeSchool, "boom"), storetest.Org(store.SubtypeSchool, "fine too")}
		err = s.Sync(ctx, tn.ID, func(tx store.SyncTx) error {
			if err := tx.Stage(ctx, objs); err != nil {
				return err
			}
			if _, err := tx.Apply(ctx, func([]store.Change) error { return nil }); err != nil {
				return err
			}
			_, err := tx.Enqueue(ctx, tasks[:1], t0)
			return err
		})
		if err == nil || !strings.Contains(err.Error(), "boom") {
			t.Fatalf("a sync whose objects fail to copy: %v", err)
		}
		var objects, queued int
		if err := conn.QueryRow(ctx, `SELECT (SELECT count(*) FROM objects WHERE tenant_id = $1), (SELECT count(*) FROM tasks WHERE tenant_id = $1)`, tn.ID).Scan(&objects, &queued); err != nil {
			t.Fatal(err)
		}
		if objects != 0 || queued != 1 {
			t.Fatalf("after the failed syncs: %d objects, %d tasks; want 0 and TENANT_INSTALLED", objects, queued)
		}
		after, err := s.Enqueue(ctx, tn.ID, tasks[:1], t0)
		if err != nil || len(after) != 1 || after[0].Sequence != 2 {
			t.Fatalf("Enqueue after the failed syncs: %+v, %v; want sequence 2", after, err)
		}
	})
}

// Apply's changed may enqueue (reference's sync writer does, every so many
// events): the tasks' write runs in the background while Apply goes on
// with its next page of changes and its writes.
func TestApplyEnqueuesInChanged(t *testing.T) {
	eachSync(t, func(t *testing.T, s *postgres.Store, _ string) {
		ctx := context.Background()
		tn := storetest.NewTenant(t, s, "apply-enqueue")
		t0 := time.Unix(1_700_000_000, 0)
		objs := make([]store.Object, 2500)
		for i := range objs {
			objs[i] = storetest.Person(store.SubtypeStudent, fmt.Sprint("p", i))
		}
		storetest.Put(t, s, tn.ID, objs[0]) // not fresh: Apply diffs and pages
		queued := 1
		for round := range 2 {
			err := s.Sync(ctx, tn.ID, func(tx store.SyncTx) error {
				if err := tx.Stage(ctx, objs); err != nil {
					return err
				}
				_, err := tx.Apply(ctx, func(chs []store.Change) error {
					tasks := make([]store.NewTask, len(chs))
					for i := range chs {
						tasks[i] = storetest.Lifecycle(chs[i].Object.Label, "")
					}
					_, err := tx.Enqueue(ctx, tasks, t0)
					queued += len(tasks)
					return err
				})
				return err
			})
			if err != nil {
				t.Fatalf("sync %d: %v", round, err)
			}
			for i := range objs {
				objs[i].Data = []byte(fmt.Sprintf(`{"round":%d}`, round))
			}
		}
		ts, _, err := s.ListTasks(ctx, store.TaskQuery{Tenants: []uuid.UUID{tn.ID}, Limit: 10000})
		if err != nil || len(ts) != queued || queued != 1+2499+2500 {
			t.Fatalf("ListTasks: %d tasks, %v; want %d (1+2499+2500)", len(ts), err, queued)
		}
	})
}

// A reload leaves alone the links of an object whose links' digest matches
// what is staged (migration 9), and relinks one whose links differ though
// its data does not. A Put or PutAll replaces links without a digest, so
// the next sync relinks: staging the links the object had before the Put
// must bring them back.
func TestSyncLinksDigest(t *testing.T) {
	eachSync(t, func(t *testing.T, s *postgres.Store, url string) {
		ctx := context.Background()
		conn := connect(t, url)
		tn := storetest.NewTenant(t, s, "relink")
		a, b := storetest.Org(store.SubtypeSchool, "a"), storetest.Org(store.SubtypeSchool, "b")
		s1, s2 := uuid.New(), uuid.New()
		p := storetest.Person(store.SubtypeStudent, "p", a.ID)
		p.Sections = []uuid.UUID{s1}
		links := func() string {
			t.Helper()
			var orgs, secs []string
			if err := conn.QueryRow(ctx, `SELECT ARRAY(SELECT org_id::text FROM object_orgs o JOIN objects x ON x.seq = o.object_seq WHERE x.id = $1 ORDER BY 1),
				ARRAY(SELECT section_id::text FROM person_sections l JOIN objects x ON x.seq = l.person_seq WHERE x.id = $1 ORDER BY 1)`, p.ID).Scan(&orgs, &secs); err != nil {
				t.Fatal(err)
			}
			return fmt.Sprint(orgs, secs)
		}
		want := func(orgs []uuid.UUID, secs ...uuid.UUID) string {
			var o, sc []string
			for _, id := range orgs {
				o = append(o, id.String())
			}
			for _, id := range secs {
				sc = append(sc, id.String())
			}
			slices.Sort(o)
			slices.Sort(sc)
			return fmt.Sprint(o, sc)
		}
		check := func(step string, unchanged, wantUnchanged int, w string) {
			t.Helper()
			if unchanged != wantUnchanged {
				t.Errorf("%s: %d unchanged, want %d", step, unchanged, wantUnchanged)
			}
			if got := links(); got != w {
				t.Errorf("%s: links %s, want %s", step, got, w)
			}
		}
		_, u := storetest.StageApply(t, s, tn.ID, a, b, p)
		check("first", u, 0, want([]uuid.UUID{a.ID}, s1))
		// The same links, listed twice and in another order: nothing to do.
		p.Orgs, p.Sections = []uuid.UUID{a.ID, a.ID}, []uuid.UUID{s1, s1}
		_, u = storetest.StageApply(t, s, tn.ID, a, b, p)
		check("the same again", u, 3, want([]uuid.UUID{a.ID}, s1))
		// The data unchanged, both link sets changed.
		p.Orgs, p.Sections = []uuid.UUID{b.ID, a.ID}, []uuid.UUID{s2}
		chs, u := storetest.StageApply(t, s, tn.ID, a, b, p)
		if len(chs) != 0 {
			t.Errorf("links changed: changes %v, want none (the data is the same)", storetest.ChangedLabels(chs))
		}
		check("links changed", u, 3, want([]uuid.UUID{a.ID, b.ID}, s2))
		// A Put replaces the links; staging the earlier ones brings them back.
		before := p
		p.Orgs, p.Sections = []uuid.UUID{a.ID}, nil
		storetest.Put(t, s, tn.ID, p)
		check("after Put", 3, 3, want([]uuid.UUID{a.ID}))
		p = before
		_, u = storetest.StageApply(t, s, tn.ID, a, b, p)
		check("staged after Put", u, 3, want([]uuid.UUID{a.ID, b.ID}, s2))
		// So does a PutAll.
		p.Orgs, p.Sections = []uuid.UUID{b.ID}, []uuid.UUID{s1}
		err := s.Sync(ctx, tn.ID, func(tx store.SyncTx) error {
			_, err := tx.PutAll(ctx, []store.Object{p})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		check("after PutAll", 3, 3, want([]uuid.UUID{b.ID}, s1))
		p = before
		_, u = storetest.StageApply(t, s, tn.ID, a, b, p)
		check("staged after PutAll", u, 3, want([]uuid.UUID{a.ID, b.ID}, s2))
		// A change with the same links leaves them; one of the subtype, which
		// object_orgs carries, rewrites them.
		subtypes := func() string {
			t.Helper()
			var st []string
			if err := conn.QueryRow(ctx, `SELECT ARRAY(SELECT DISTINCT o.subtype FROM object_orgs o JOIN objects x ON x.seq = o.object_seq WHERE x.id = $1 ORDER BY 1)`, p.ID).Scan(&st); err != nil {
				t.Fatal(err)
			}
			return fmt.Sprint(st)
		}
		changeP := func(step string) {
			t.Helper()
			chs, u := storetest.StageApply(t, s, tn.ID, a, b, p)
			if len(chs) != 1 {
				t.Errorf("%s: changes %v, want p's", step, storetest.ChangedLabels(chs))
			}
			check(step, u, 2, want([]uuid.UUID{a.ID, b.ID}, s2))
		}
		p.Label = "p, renamed"
		changeP("renamed")
		p.Subtype = store.SubtypeTeacher
		changeP("subtype changed")
		if got := subtypes(); got != "["+store.SubtypeTeacher+"]" {
			t.Errorf("subtype changed: the links carry %s, want %s", got, store.SubtypeTeacher)
		}
	})
}

// Apply compares each staged object with what is stored when it is
// applied: a Put of a staged id between Stage and Apply, or the same id
// staged again in a later batch, is what the staged object changes. (A
// store that diffs batches as they are staged must drop that diff.)
func TestSyncDiffedAheadThenWritten(t *testing.T) {
	eachSync(t, func(t *testing.T, s *postgres.Store, url string) {
		ctx := context.Background()
		tn := storetest.NewTenant(t, s, "ahead")
		x, y, z := storetest.Person(store.SubtypeStudent, "x"), storetest.Person(store.SubtypeStudent, "y"), storetest.Person(store.SubtypeStudent, "z")
		storetest.Put(t, s, tn.ID, x, y, z)
		renamed := func(o store.Object, label string) store.Object {
			o.Label, o.Data = label, []byte(`{"name":{"first":"`+label+`"}}`)
			return o
		}
		got, _ := storetest.SyncApply(t, s, tn.ID, func(tx store.SyncTx) error {
			// x as stored, diffed ahead as unchanged; then a Put changes it.
			if err := tx.Stage(ctx, []store.Object{x, y}); err != nil {
				return err
			}
			if _, err := tx.Put(ctx, renamed(x, "x-put")); err != nil {
				return err
			}
			// z twice in two batches: the second is a change from the first.
			if err := tx.Stage(ctx, []store.Object{renamed(z, "z1")}); err != nil {
				return err
			}
			return tx.Stage(ctx, []store.Object{renamed(z, "z2")})
		})
		if want := []string{"x<-x-put", "z1<-z", "z2<-z1"}; fmt.Sprint(storetest.ChangedLabels(got)) != fmt.Sprint(want) {
			t.Errorf("changes %v, want %v", storetest.ChangedLabels(got), want)
		}
		for id, label := range map[uuid.UUID]string{x.ID: "x", y.ID: "y", z.ID: "z2"} {
			if o, err := s.FindObject(ctx, []uuid.UUID{tn.ID}, store.KindPerson, id); err != nil || o.Label != label {
				t.Errorf("after the sync: %+v, %v; want label %s", o, err, label)
			}
		}
		// The next sync diffs ahead again, and finds everything unchanged.
		if chs, unchanged := storetest.StageApply(t, s, tn.ID, x, y, renamed(z, "z2")); len(chs) != 0 || unchanged != 3 {
			t.Errorf("the same again: changes %v, %d unchanged", storetest.ChangedLabels(chs), unchanged)
		}
		// An id staged again with nothing written between: both batches were
		// diffed ahead, the second against the roster before the first, where
		// it is the same as stored; applied after the first, it is a change.
		got, _ = storetest.SyncApply(t, s, tn.ID, func(tx store.SyncTx) error {
			if err := tx.Stage(ctx, []store.Object{x, renamed(z, "z3")}); err != nil {
				return err
			}
			return tx.Stage(ctx, []store.Object{y, renamed(z, "z2")})
		})
		if want := []string{"z3<-z2", "z2<-z3"}; fmt.Sprint(storetest.ChangedLabels(got)) != fmt.Sprint(want) {
			t.Errorf("z staged twice: changes %v, want %v", storetest.ChangedLabels(got), want)
		}
		if o, err := s.FindObject(ctx, []uuid.UUID{tn.ID}, store.KindPerson, z.ID); err != nil || o.Label != "z2" {
			t.Errorf("z after staged twice: %+v, %v; want label z2", o, err)
		}
	})
}
