// Package storetest is the conformance suite every store.Store
// implementation runs: call Run from the implementation's own tests with a
// function that opens a fresh, empty store.
package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/interop-data/interop/pkg/reference/store"
	"github.com/interop-data/interop/pkg/server/auth"
)

// Open returns a new, empty store; the suite closes it.
type Open func(t *testing.T) store.Store

// t0 is the suite's fixed clock start; tests move time by passing later instants.
var t0 = time.Date(2025, 11, 16, 12, 0, 0, 0, time.UTC)

// Run runs the whole suite against stores made by open. The cases are
// independent (each has a store of its own) and run in parallel.
func Run(t *testing.T, open Open, opts ...Option) {
	var cfg config
	for _, o := range opts {
		o(&cfg)
	}
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"Tenants", testTenants},
		{"SyncPutAndRemove", testSyncPut},
		{"SyncPutAll", testSyncPutAll},
		{"SyncRemoveUnput", testSyncRemoveUnput},
		{"SyncRemoveUnputMany", testSyncRemoveUnputMany},
		{"SyncWrittenAfterStaged", testSyncWrittenAfterStaged},
		{"SyncStageApply", testSyncStageApply},
		{"SyncStageTwice", testSyncStageTwice},
		{"SyncStageAllOrNothing", testSyncStageAtomic},
		{"SyncStageMany", testSyncStageMany},
		{"FirstLoadStagedAgain", testFirstLoadStagedAgain},
		{"FirstLoadFails", testFirstLoadFails},
		{"SyncAllOrNothing", testSyncAtomic},
		{"SyncRejectsBadObjects", testSyncRejects},
		{"SyncSerialized", testSyncSerialized},
		{"ResetTenant", testReset},
		{"ListPaging", testListPaging},
		{"ListKeyset", testListKeyset},
		{"Secret", testSecret},
		{"Isolation", testIsolation},
		{"LeaseHidesAndExpires", testLease},
		{"LeaseDriverAndLimit", testLeaseDriver},
		{"LeaseConcurrent", testLeaseConcurrent},
		{"AckOutcomes", testAck},
		{"AckGroupAtomic", testAckGroup},
		{"AdminListAndDelete", testAdmin},
		{"ClientsAndTokens", testAuth},
		{"RevokeToken", testRevokeToken},
		{"PingCommitsAWrite", testPing},
		{"SyncPanicLeavesStoreWritable", testSyncPanic},
		{"AckDuplicateRefused", testAckDuplicate},
		{"StringsNULAndInvalidUTF8", testStrings},
		{"TokenQuotas", testTokenQuotas},
		{"LTIKeysRotate", testLTIKeys},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := open(t)
			t.Cleanup(func() { s.Close() })
			tc.fn(t, s)
		})
	}
	runReplicas(t, open, cfg)
}

// NewTenant creates a tenant with a unique client id and returns it.
func NewTenant(t testing.TB, s store.Store, name string) store.Tenant {
	t.Helper()
	tn := store.Tenant{ID: uuid.New(), Name: name, ClientID: name + "-" + uuid.NewString()[:8], SecretHash: "hash"}
	if _, err := s.CreateTenant(context.Background(), tn, []store.NewTask{Lifecycle("TENANT_INSTALLED", "")}, t0); err != nil {
		t.Fatalf("CreateTenant: %v", err)
	}
	return tn
}

// Person is a minimal person object for the suite.
func Person(subtype, first string, orgs ...uuid.UUID) store.Object {
	id := uuid.New()
	data, _ := json.Marshal(map[string]any{
		"$sys": map[string]any{"id": id, "type": "Person", "person_type": subtype, "label": first},
		"name": map[string]any{"first": first},
	})
	return store.Object{ID: id, Kind: store.KindPerson, Subtype: subtype, Label: first, Data: data, Orgs: orgs}
}

// Org is a minimal org object for the suite.
func Org(subtype, name string) store.Object {
	id := uuid.New()
	data, _ := json.Marshal(map[string]any{
		"$sys": map[string]any{"id": id, "type": "Org", "org_type": subtype, "label": name},
		"name": name,
	})
	return store.Object{ID: id, Kind: store.KindOrg, Subtype: subtype, Label: name, Data: data}
}

func ctx() context.Context { return context.Background() }

// Lifecycle is a lifecycle_event task with this action, addressed to driver.
func Lifecycle(action, driver string) store.NewTask {
	p, _ := json.Marshal(map[string]string{"action": action})
	return store.NewTask{Kind: store.TaskLifecycle, Driver: driver, Payload: p}
}

// Put stores objs in tenant in one Sync, enqueueing nothing.
func Put(t testing.TB, s store.Store, tenant uuid.UUID, objs ...store.Object) {
	t.Helper()
	err := s.Sync(context.Background(), tenant, func(tx store.SyncTx) error {
		for _, o := range objs {
			if _, err := tx.Put(context.Background(), o); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("Sync: %v", err)
	}
}

// mustEnqueue appends n lifecycle tasks to tenant's queue.
func mustEnqueue(t *testing.T, s store.Store, tenant uuid.UUID, n int) []store.Task {
	t.Helper()
	tasks := make([]store.NewTask, n)
	for i := range tasks {
		tasks[i] = Lifecycle(fmt.Sprint("T", i), "")
	}
	ts, err := s.Enqueue(ctx(), tenant, tasks, t0)
	if err != nil || len(ts) != n {
		t.Fatalf("Enqueue = %d, %v", len(ts), err)
	}
	return ts
}

func action(t *testing.T, task store.Task) string {
	t.Helper()
	var p struct {
		Action string `json:"action"`
	}
	if err := json.Unmarshal(task.Payload, &p); err != nil {
		t.Fatalf("task payload %s: %v", task.Payload, err)
	}
	return p.Action
}

func allTasks(t *testing.T, s store.Store, tenants ...uuid.UUID) []store.Task {
	t.Helper()
	ts, _, err := s.ListTasks(ctx(), store.TaskQuery{Tenants: tenants, Limit: 100000})
	if err != nil {
		t.Fatalf("ListTasks: %v", err)
	}
	return ts
}

func testTenants(t *testing.T, s store.Store) {
	tn := NewTenant(t, s, "district")
	got, err := s.FindTenant(ctx(), tn.ID)
	if err != nil || got.ClientID != tn.ClientID || got.Name != "district" || got.SecretHash != "hash" || !got.CreatedAt.Equal(t0) {
		t.Fatalf("FindTenant = %+v, %v", got, err)
	}
	if got, err := s.FindTenantByClientID(ctx(), tn.ClientID); err != nil || got.ID != tn.ID {
		t.Fatalf("FindTenantByClientID = %+v, %v", got, err)
	}
	if _, err := s.FindTenant(ctx(), uuid.New()); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("FindTenant(unknown) err = %v, want ErrNotFound", err)
	}
	if _, err := s.FindTenantByClientID(ctx(), "nobody"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("FindTenantByClientID(unknown) err = %v, want ErrNotFound", err)
	}
	// A name no other test uses: stores may be shared between tests.
	name := "named " + uuid.NewString()
	first := NewTenant(t, s, name)
	if got, err := s.FindTenantsByName(ctx(), name); err != nil || len(got) != 1 || got[0].ID != first.ID || got[0].ClientID != first.ClientID || !got[0].CreatedAt.Equal(t0) {
		t.Fatalf("FindTenantsByName(unique) = %+v, %v", got, err)
	}
	if got, err := s.FindTenantsByName(ctx(), "no "+name); err != nil || got == nil || len(got) != 0 {
		t.Fatalf("FindTenantsByName(unknown) = %#v, %v; want an empty slice", got, err)
	}
	twin := NewTenant(t, s, name)
	if got, err := s.FindTenantsByName(ctx(), name); err != nil || len(got) != 2 || !slices.Contains(ids2(got), first.ID) || !slices.Contains(ids2(got), twin.ID) {
		t.Fatalf("FindTenantsByName(repeated) = %+v, %v; want both tenants", got, err)
	}
	if got, err := s.FindTenantsByName(ctx(), strings.ToUpper(name)); err != nil || len(got) != 0 {
		t.Fatalf("FindTenantsByName is not exact: %+v, %v", got, err)
	}
	dup := store.Tenant{ID: uuid.New(), Name: "again", ClientID: tn.ClientID, SecretHash: "h"}
	if _, err := s.CreateTenant(ctx(), dup, nil, t0); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("CreateTenant(taken client id) err = %v, want ErrConflict", err)
	}
	if _, err := s.FindTenant(ctx(), dup.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("failed CreateTenant left a tenant behind: %v", err)
	}
	ts := allTasks(t, s, tn.ID)
	if len(ts) != 1 || ts[0].Kind != store.TaskLifecycle || action(t, ts[0]) != "TENANT_INSTALLED" || ts[0].Sequence != 1 || !ts[0].CreatedAt.Equal(t0) {
		t.Fatalf("tasks after CreateTenant = %+v", ts)
	}
	if _, err := s.Enqueue(ctx(), uuid.New(), []store.NewTask{Lifecycle("X", "")}, t0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Enqueue(unknown tenant) err = %v, want ErrNotFound", err)
	}
}

// syncDo runs fn in one Sync of tenant and fails the test on an error.
func syncDo(t *testing.T, s store.Store, tenant uuid.UUID, fn func(tx store.SyncTx) error) {
	t.Helper()
	if err := s.Sync(ctx(), tenant, fn); err != nil {
		t.Fatalf("Sync: %v", err)
	}
}

// stageInBatches stages objs with one Stage per n of them, as a loader
// hands an export over.
func stageInBatches(tx store.SyncTx, objs []store.Object, n int) error {
	for i := 0; i < len(objs); i += n {
		if err := tx.Stage(ctx(), objs[i:min(i+n, len(objs))]); err != nil {
			return err
		}
	}
	return nil
}

func ids2(ts []store.Tenant) []uuid.UUID {
	out := make([]uuid.UUID, len(ts))
	for i, t := range ts {
		out[i] = t.ID
	}
	return out
}

func ids(objs []store.Object) []uuid.UUID {
	out := make([]uuid.UUID, len(objs))
	for i, o := range objs {
		out[i] = o.ID
	}
	return out
}

func listAll(t *testing.T, s store.Store, q store.ObjectQuery) []store.Object {
	t.Helper()
	q.Limit = 100000
	objs, _, err := s.ListObjects(ctx(), q)
	if err != nil {
		t.Fatalf("ListObjects: %v", err)
	}
	return objs
}

func testSyncPut(t *testing.T, s store.Store) {
	tn := NewTenant(t, s, "put")
	scope := []uuid.UUID{tn.ID}
	school, other := Org(store.SubtypeSchool, "Lincoln"), Org(store.SubtypeSchool, "Other")
	zoe := Person(store.SubtypeStudent, "Zoë", school.ID)
	ada := Person(store.SubtypeTeacher, "Ada", school.ID)
	syncDo(t, s, tn.ID, func(tx store.SyncTx) error {
		for _, o := range []store.Object{school, other, zoe, ada} {
			prior, err := tx.Put(ctx(), o)
			if err != nil {
				return err
			}
			if prior != nil {
				t.Errorf("Put of new %s returned prior %+v", o.Label, prior)
			}
		}
		return nil
	})
	if got := ids(listAll(t, s, store.ObjectQuery{Tenants: scope, Kind: store.KindPerson, Org: &school.ID})); fmt.Sprint(got) != fmt.Sprint([]uuid.UUID{zoe.ID, ada.ID}) {
		t.Fatalf("school's persons = %v", got)
	}

	// Replace Zoë: new data, label and org; the prior comes back whole.
	changed := zoe
	changed.Label, changed.Orgs = "Zoë N", []uuid.UUID{other.ID}
	changed.Data = []byte(`{"$sys":{"id":"` + zoe.ID.String() + `"},"name":{"first":"Zoë","last":"Núñez"}}`)
	syncDo(t, s, tn.ID, func(tx store.SyncTx) error {
		prior, err := tx.Put(ctx(), changed)
		if err != nil {
			return err
		}
		if prior == nil || prior.ID != zoe.ID || prior.Kind != store.KindPerson || prior.Subtype != store.SubtypeStudent || prior.Label != "Zoë" || string(prior.Data) != string(zoe.Data) {
			t.Errorf("prior of Zoë = %+v", prior)
		}
		// Putting the same again answers what the first Put stored.
		again, err := tx.Put(ctx(), changed)
		if err != nil {
			return err
		}
		if again == nil || string(again.Data) != string(changed.Data) || again.Label != "Zoë N" {
			t.Errorf("second Put's prior = %+v", again)
		}
		return nil
	})
	got, err := s.FindObject(ctx(), scope, store.KindPerson, zoe.ID)
	if err != nil || string(got.Data) != string(changed.Data) || got.Label != "Zoë N" {
		t.Fatalf("FindObject after Put = %+v, %v", got, err)
	}
	// The replacement kept Zoë's place before Ada, and moved her links.
	if ps := ids(listAll(t, s, store.ObjectQuery{Tenants: scope, Kind: store.KindPerson})); fmt.Sprint(ps) != fmt.Sprint([]uuid.UUID{zoe.ID, ada.ID}) {
		t.Errorf("order after Put = %v", ps)
	}
	if ps := ids(listAll(t, s, store.ObjectQuery{Tenants: scope, Kind: store.KindPerson, Org: &school.ID})); fmt.Sprint(ps) != fmt.Sprint([]uuid.UUID{ada.ID}) {
		t.Errorf("school's persons after Zoë moved = %v", ps)
	}
	if ps := ids(listAll(t, s, store.ObjectQuery{Tenants: scope, Kind: store.KindPerson, Org: &other.ID})); fmt.Sprint(ps) != fmt.Sprint([]uuid.UUID{zoe.ID}) {
		t.Errorf("other school's persons = %v", ps)
	}

	syncDo(t, s, tn.ID, func(tx store.SyncTx) error {
		// The wrong kind removes nothing.
		if o, err := tx.Remove(ctx(), store.KindOrg, zoe.ID); err != nil || o != nil {
			t.Errorf("Remove(org, a person's id) = %+v, %v", o, err)
		}
		if o, err := tx.Remove(ctx(), "", uuid.New()); err != nil || o != nil {
			t.Errorf("Remove(unknown) = %+v, %v", o, err)
		}
		o, err := tx.Remove(ctx(), store.KindOrg, school.ID)
		if err != nil || o == nil || o.ID != school.ID || o.Kind != store.KindOrg || o.Subtype != store.SubtypeSchool || o.Label != "Lincoln" || string(o.Data) != string(school.Data) {
			t.Errorf("Remove(school) = %+v, %v", o, err)
		}
		// Any kind when none is named.
		if o, err := tx.Remove(ctx(), "", ada.ID); err != nil || o == nil || o.Kind != store.KindPerson {
			t.Errorf("Remove(any kind, Ada) = %+v, %v", o, err)
		}
		return nil
	})
	for _, id := range []uuid.UUID{school.ID, ada.ID} {
		for _, k := range []store.Kind{store.KindOrg, store.KindPerson} {
			if _, err := s.FindObject(ctx(), scope, k, id); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("removed object %s still found as %s: %v", id, k, err)
			}
		}
	}
	if ps := listAll(t, s, store.ObjectQuery{Tenants: scope, Kind: store.KindPerson, Org: &school.ID}); len(ps) != 0 {
		t.Errorf("removed school still lists %v", ids(ps))
	}

	// Enqueue inside a sync numbers after what is queued.
	syncDo(t, s, tn.ID, func(tx store.SyncTx) error {
		a, err := tx.Enqueue(ctx(), []store.NewTask{Lifecycle("A", "d1"), Lifecycle("B", "d1")}, t0)
		if err != nil {
			return err
		}
		b, err := tx.Enqueue(ctx(), []store.NewTask{Lifecycle("C", "")}, t0.Add(time.Second))
		if err != nil {
			return err
		}
		if len(a) != 2 || len(b) != 1 || a[0].Sequence != 2 || a[1].Sequence != 3 || b[0].Sequence != 4 || a[0].Driver != "d1" || a[0].TenantID != tn.ID || !b[0].CreatedAt.Equal(t0.Add(time.Second)) {
			t.Errorf("Enqueue in a sync = %+v, %+v", a, b)
		}
		return nil
	})
	if ts := allTasks(t, s, tn.ID); fmt.Sprint(seqs(ts)) != "[1 2 3 4]" || action(t, ts[3]) != "C" {
		t.Errorf("queue after sync = %v", seqs(ts))
	}
}

// PutAll is Put of each object in order: priors line up with the input,
// new objects take their list places in input order, links are replaced,
// and everything counts as put for RemoveUnput.
func testSyncPutAll(t *testing.T, s store.Store) {
	tn := NewTenant(t, s, "putall")
	scope := []uuid.UUID{tn.ID}
	school, other := Org(store.SubtypeSchool, "A"), Org(store.SubtypeSchool, "B")
	old1, old2 := Person(store.SubtypeStudent, "old1", school.ID), Person(store.SubtypeStudent, "old2", school.ID)
	gone := Person(store.SubtypeStudent, "gone")
	Put(t, s, tn.ID, school, other, old1, old2, gone)
	changed := old2
	changed.Data, changed.Label, changed.Orgs = []byte(`{"changed":1}`), "old2b", []uuid.UUID{other.ID}
	changed.Sections = []uuid.UUID{uuid.New()}
	var fresh []store.Object
	for i := range 300 {
		fresh = append(fresh, Person(store.SubtypeTeacher, fmt.Sprint("new", i), school.ID, other.ID))
	}
	batch := append([]store.Object{fresh[0], changed, old1}, fresh[1:]...)
	syncDo(t, s, tn.ID, func(tx store.SyncTx) error {
		priors, err := tx.PutAll(ctx(), batch)
		if err != nil {
			return err
		}
		if len(priors) != len(batch) || priors[0] != nil || priors[3] != nil {
			t.Fatalf("priors of new objects: %d priors, %v %v", len(priors), priors[0], priors[3])
		}
		if p := priors[1]; p == nil || p.ID != old2.ID || p.Label != "old2" || string(p.Data) != string(old2.Data) || p.Kind != store.KindPerson || p.Subtype != store.SubtypeStudent {
			t.Errorf("prior of the changed object = %+v", p)
		}
		if p := priors[2]; p == nil || string(p.Data) != string(old1.Data) {
			t.Errorf("prior of the unchanged object = %+v", p)
		}
		if _, err := tx.PutAll(ctx(), []store.Object{fresh[0], fresh[0]}); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("PutAll with an id twice: %v, want ErrInvalid", err)
		}
		if _, err := tx.PutAll(ctx(), []store.Object{{ID: uuid.New(), Kind: store.KindPerson, Data: []byte("[]")}}); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("PutAll of a bad object: %v, want ErrInvalid", err)
		}
		removed, err := tx.RemoveUnput(ctx(), store.KindPerson, "", 100)
		if err == nil && (len(removed) != 1 || removed[0].ID != gone.ID) {
			t.Errorf("RemoveUnput after PutAll removed %v, want only %s", ids(removed), gone.ID)
		}
		return err
	})
	want := []uuid.UUID{old1.ID, old2.ID}
	for _, o := range append([]store.Object{fresh[0]}, fresh[1:]...) {
		want = append(want, o.ID)
	}
	if got := ids(listAll(t, s, store.ObjectQuery{Tenants: scope, Kind: store.KindPerson})); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("list order after PutAll: new objects not in input order")
	}
	if got, err := s.FindObject(ctx(), scope, store.KindPerson, old2.ID); err != nil || string(got.Data) != `{"changed":1}` || got.Label != "old2b" {
		t.Errorf("changed object = %+v, %v", got, err)
	}
	if got := listAll(t, s, store.ObjectQuery{Tenants: scope, Kind: store.KindPerson, Org: &school.ID}); len(got) != 301 {
		t.Errorf("school lists %d persons, want old1 and the 300 new", len(got))
	}
	if got := listAll(t, s, store.ObjectQuery{Tenants: scope, Kind: store.KindPerson, Subtype: store.SubtypeTeacher, Org: &other.ID}); len(got) != 300 {
		t.Errorf("other school lists %d teachers, want 300", len(got))
	}
	if got := ids(listAll(t, s, store.ObjectQuery{Tenants: scope, Kind: store.KindPerson, Subtype: store.SubtypeStudent, Org: &other.ID})); fmt.Sprint(got) != fmt.Sprint([]uuid.UUID{old2.ID}) {
		t.Errorf("other school's students = %v, want the moved one", got)
	}
}

func testSyncRemoveUnput(t *testing.T, s store.Store) {
	tn, other := NewTenant(t, s, "bulk"), NewTenant(t, s, "bystander")
	scope := []uuid.UUID{tn.ID}
	school := Org(store.SubtypeSchool, "School")
	var students, teachers []store.Object
	for i := range 7 {
		students = append(students, Person(store.SubtypeStudent, fmt.Sprint("s", i), school.ID))
	}
	for i := range 3 {
		teachers = append(teachers, Person(store.SubtypeTeacher, fmt.Sprint("t", i)))
	}
	Put(t, s, tn.ID, append(append([]store.Object{school}, students...), teachers...)...)
	Put(t, s, other.ID, students[0]) // the same id in another tenant is untouched
	// A bulk file of students holding 2, 4 and 6 only: the other four
	// students go, in list order, in batches of the limit; teachers stay.
	syncDo(t, s, tn.ID, func(tx store.SyncTx) error {
		for _, i := range []int{2, 4, 6} {
			if _, err := tx.Put(ctx(), students[i]); err != nil {
				return err
			}
		}
		var removed []store.Object
		for {
			batch, err := tx.RemoveUnput(ctx(), store.KindPerson, store.SubtypeStudent, 3)
			if err != nil {
				return err
			}
			removed = append(removed, batch...)
			if len(batch) < 3 {
				break
			}
		}
		want := []uuid.UUID{students[0].ID, students[1].ID, students[3].ID, students[5].ID}
		if fmt.Sprint(ids(removed)) != fmt.Sprint(want) {
			t.Errorf("RemoveUnput removed %v, want %v", ids(removed), want)
		}
		for _, o := range removed {
			if o.Kind != store.KindPerson || o.Subtype != store.SubtypeStudent || !json.Valid(o.Data) || o.Label == "" {
				t.Errorf("removed object = %+v", o)
			}
		}
		if again, err := tx.RemoveUnput(ctx(), store.KindPerson, store.SubtypeStudent, 3); err != nil || len(again) != 0 {
			t.Errorf("second RemoveUnput = %v, %v", again, err)
		}
		return nil
	})
	if got := ids(listAll(t, s, store.ObjectQuery{Tenants: scope, Kind: store.KindPerson, Subtype: store.SubtypeStudent})); fmt.Sprint(got) != fmt.Sprint([]uuid.UUID{students[2].ID, students[4].ID, students[6].ID}) {
		t.Errorf("students left = %v", got)
	}
	if got := listAll(t, s, store.ObjectQuery{Tenants: scope, Kind: store.KindPerson, Subtype: store.SubtypeStudent, Org: &school.ID}); len(got) != 3 {
		t.Errorf("school's students left = %d, want 3", len(got))
	}
	if got := listAll(t, s, store.ObjectQuery{Tenants: scope, Kind: store.KindPerson, Subtype: store.SubtypeTeacher}); len(got) != 3 {
		t.Errorf("teachers left = %d, want 3", len(got))
	}
	if _, err := s.FindObject(ctx(), []uuid.UUID{other.ID}, store.KindPerson, students[0].ID); err != nil {
		t.Errorf("other tenant's object removed: %v", err)
	}
	// Puts of an earlier sync do not count: an empty kind-wide bulk removes
	// every person, whatever the subtype, and no org.
	syncDo(t, s, tn.ID, func(tx store.SyncTx) error {
		removed, err := tx.RemoveUnput(ctx(), store.KindPerson, "", 100)
		if err == nil && len(removed) != 6 {
			t.Errorf("kind-wide RemoveUnput removed %d, want 6", len(removed))
		}
		return err
	})
	if got := listAll(t, s, store.ObjectQuery{Tenants: scope, Kind: store.KindOrg}); len(got) != 1 {
		t.Errorf("orgs left = %d, want 1", len(got))
	}
}

// Stage and Apply put a set as Put of each would: new objects in staging
// order, changed ones in place with their priors, equal ones untouched
// (only counted), links made to match, everything staged counted as put.
func testSyncStageApply(t *testing.T, s store.Store) {
	tn := NewTenant(t, s, "stage")
	scope := []uuid.UUID{tn.ID}
	a, b := Org(store.SubtypeSchool, "A"), Org(store.SubtypeSchool, "B")
	same := Person(store.SubtypeStudent, "same", a.ID)
	moved := Person(store.SubtypeStudent, "moved", a.ID)
	renamed := Person(store.SubtypeStudent, "renamed", a.ID)
	gone := Person(store.SubtypeStudent, "gone", a.ID)
	Put(t, s, tn.ID, a, b, same, moved, renamed, gone)
	moved.Orgs = []uuid.UUID{b.ID} // links change, data does not
	prior := renamed
	renamed.Label, renamed.Data = "renamed2", []byte(`{"name":{"first":"renamed2"}}`)
	fresh1, fresh2 := Person(store.SubtypeTeacher, "fresh1", b.ID), Person(store.SubtypeStudent, "fresh2")
	syncDo(t, s, tn.ID, func(tx store.SyncTx) error {
		if err := tx.Stage(ctx(), []store.Object{fresh1, same, renamed}); err != nil {
			return err
		}
		if err := tx.Stage(ctx(), []store.Object{moved, fresh2, a, b}); err != nil {
			return err
		}
		var got []store.Change
		unchanged, err := tx.Apply(ctx(), func(chs []store.Change) error {
			got = append(got, chs...)
			return nil
		})
		if err != nil {
			return err
		}
		if unchanged != 4 {
			t.Errorf("Apply: %d unchanged, want 4 (same, moved, a, b)", unchanged)
		}
		if len(got) != 3 || got[0].Object.ID != fresh1.ID || got[0].Prior != nil ||
			got[1].Object.ID != renamed.ID || got[1].Prior == nil || got[2].Object.ID != fresh2.ID || got[2].Prior != nil {
			t.Fatalf("Apply's changes = %+v, want fresh1 (new), renamed (changed), fresh2 (new)", got)
		}
		if p := got[1].Prior; p.Label != prior.Label || string(p.Data) != string(prior.Data) || p.Kind != store.KindPerson || p.Subtype != store.SubtypeStudent {
			t.Errorf("renamed's prior = %+v, want what was stored", p)
		}
		if o := got[1].Object; o.Label != "renamed2" || string(o.Data) != string(renamed.Data) {
			t.Errorf("renamed as passed = %+v", o)
		}
		if again, err := tx.Apply(ctx(), func([]store.Change) error { t.Error("Apply with nothing staged passed changes"); return nil }); err != nil || again != 0 {
			t.Errorf("Apply with nothing staged = %d, %v", again, err)
		}
		removed, err := tx.RemoveUnput(ctx(), store.KindPerson, "", 100)
		if err != nil {
			return err
		}
		if len(removed) != 1 || removed[0].ID != gone.ID {
			t.Errorf("RemoveUnput after Apply removed %v, want only %s", ids(removed), gone.ID)
		}
		return nil
	})
	people := listAll(t, s, store.ObjectQuery{Tenants: scope, Kind: store.KindPerson})
	if want := []uuid.UUID{same.ID, moved.ID, renamed.ID, fresh1.ID, fresh2.ID}; fmt.Sprint(ids(people)) != fmt.Sprint(want) {
		t.Errorf("persons after Apply = %v, want %v (kept places, then new ones in staging order)", ids(people), want)
	}
	if got, err := s.FindObject(ctx(), scope, store.KindPerson, renamed.ID); err != nil || got.Label != "renamed2" || string(got.Data) != string(renamed.Data) {
		t.Errorf("renamed after Apply = %+v, %v", got, err)
	}
	if got := ids(listAll(t, s, store.ObjectQuery{Tenants: scope, Kind: store.KindPerson, Org: &a.ID})); fmt.Sprint(got) != fmt.Sprint([]uuid.UUID{same.ID, renamed.ID}) {
		t.Errorf("A's persons = %v, want same and renamed (moved left, gone went)", got)
	}
	if got := ids(listAll(t, s, store.ObjectQuery{Tenants: scope, Kind: store.KindPerson, Org: &b.ID})); fmt.Sprint(got) != fmt.Sprint([]uuid.UUID{moved.ID, fresh1.ID}) {
		t.Errorf("B's persons = %v, want moved and fresh1", got)
	}
	if got := ids(listAll(t, s, store.ObjectQuery{Tenants: scope, Kind: store.KindPerson, Subtype: store.SubtypeTeacher, Org: &b.ID})); fmt.Sprint(got) != fmt.Sprint([]uuid.UUID{fresh1.ID}) {
		t.Errorf("B's teachers = %v, want fresh1", got)
	}
	syncDo(t, s, tn.ID, func(tx store.SyncTx) error {
		if err := tx.Stage(ctx(), []store.Object{{ID: uuid.New(), Kind: store.KindPerson, Data: []byte("[]")}}); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("Stage of a bad object: %v, want ErrInvalid", err)
		}
		return nil
	})
}

// An id staged twice is put twice, in order: the second sees the first.
func testSyncStageTwice(t *testing.T, s store.Store) {
	tn := NewTenant(t, s, "twice")
	p := Person(store.SubtypeStudent, "first")
	p2 := p
	p2.Label, p2.Data = "second", []byte(`{"name":{"first":"second"}}`)
	other := Person(store.SubtypeStudent, "other")
	var got []store.Change
	syncDo(t, s, tn.ID, func(tx store.SyncTx) error {
		if err := tx.Stage(ctx(), []store.Object{p, other, p2, p2}); err != nil {
			return err
		}
		unchanged, err := tx.Apply(ctx(), func(chs []store.Change) error {
			got = append(got, chs...)
			return nil
		})
		if err == nil && unchanged != 1 {
			t.Errorf("unchanged = %d, want 1 (the third put of p)", unchanged)
		}
		return err
	})
	if len(got) != 3 || got[0].Object.ID != p.ID || got[0].Prior != nil || got[1].Object.ID != other.ID ||
		got[2].Object.ID != p.ID || got[2].Prior == nil || got[2].Prior.Label != "first" || got[2].Object.Label != "second" {
		t.Errorf("changes = %+v, want p added, other added, p changed from first to second", got)
	}
	if o, err := s.FindObject(ctx(), []uuid.UUID{tn.ID}, store.KindPerson, p.ID); err != nil || o.Label != "second" {
		t.Errorf("p after = %+v, %v", o, err)
	}
}

// Many objects staged, in one Apply and again applied in parts: the
// changes carry the staged objects in order, each change its prior, and
// what was applied counts as put for RemoveUnput.
func testSyncStageMany(t *testing.T, s store.Store) {
	tn := NewTenant(t, s, "stage-many")
	const n, batch = 9000, 1500
	objs := make([]store.Object, n)
	for i := range objs {
		objs[i] = Person(store.SubtypeStudent, fmt.Sprint("p", i))
	}
	var got []store.Change
	collect := func(chs []store.Change) error { got = append(got, chs...); return nil }
	if err := s.Sync(ctx(), tn.ID, func(tx store.SyncTx) error {
		if err := stageInBatches(tx, objs, batch); err != nil {
			return err
		}
		_, err := tx.Apply(ctx(), collect)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if len(got) != n {
		t.Fatalf("first Apply: %d changes, want %d", len(got), n)
	}
	for i, ch := range got {
		if ch.Prior != nil || ch.Object.ID != objs[i].ID || ch.Object.Label != objs[i].Label || string(ch.Object.Data) != string(objs[i].Data) {
			t.Fatalf("change %d = %+v, want the new %s", i, ch, objs[i].Label)
		}
	}
	// Again, applied in parts of 2,000, a few changed: only those are
	// changes, each with its prior; nothing applied is absent.
	next := slices.Clone(objs)
	for _, i := range []int{5, 2500, 8999} {
		next[i].Data = []byte(`{"name":{"first":"changed"}}`)
	}
	got = nil
	unchanged := 0
	var removed []store.Object
	if err := s.Sync(ctx(), tn.ID, func(tx store.SyncTx) error {
		for i := 0; i < n; i += 2000 {
			if err := stageInBatches(tx, next[i:min(i+2000, n)], batch); err != nil {
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
	}); err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || unchanged != n-3 || len(removed) != 0 {
		t.Fatalf("second sync: %d changes, %d unchanged, %d removed; want 3, %d, 0", len(got), unchanged, len(removed), n-3)
	}
	for k, i := range []int{5, 2500, 8999} {
		if got[k].Object.ID != objs[i].ID || got[k].Prior == nil || string(got[k].Prior.Data) != string(objs[i].Data) || string(got[k].Object.Data) != string(next[i].Data) {
			t.Fatalf("change %d = %+v, want %s with its prior", k, got[k], objs[i].Label)
		}
	}
	page, _, err := s.ListObjects(ctx(), store.ObjectQuery{Tenants: []uuid.UUID{tn.ID}, Kind: store.KindPerson, Limit: n + 1})
	if err != nil || len(page) != n {
		t.Fatalf("list = %d objects, %v; want %d", len(page), err, n)
	}
	for i, o := range page {
		if o.ID != objs[i].ID {
			t.Fatalf("list[%d] = %s, want %s: not in staging order", i, o.Label, objs[i].Label)
		}
	}
}

// A sync that fails after Apply leaves nothing of what it staged.
func testSyncStageAtomic(t *testing.T, s store.Store) {
	tn := NewTenant(t, s, "stage-atomic")
	kept := Person(store.SubtypeStudent, "kept")
	Put(t, s, tn.ID, kept)
	before := allTasks(t, s, tn.ID)
	changed := kept
	changed.Label, changed.Data = "changed", []byte(`{"name":{"first":"changed"}}`)
	fresh := Person(store.SubtypeStudent, "fresh")
	boom := errors.New("boom")
	err := s.Sync(ctx(), tn.ID, func(tx store.SyncTx) error {
		if err := tx.Stage(ctx(), []store.Object{changed, fresh}); err != nil {
			return err
		}
		if _, err := tx.Apply(ctx(), func([]store.Change) error { return nil }); err != nil {
			return err
		}
		if _, err := tx.RemoveUnput(ctx(), store.KindPerson, "", 10); err != nil {
			return err
		}
		if _, err := tx.Enqueue(ctx(), []store.NewTask{Lifecycle("X", "")}, t0); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Sync = %v, want boom", err)
	}
	if _, err := s.FindObject(ctx(), []uuid.UUID{tn.ID}, store.KindPerson, fresh.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("failed sync left its new object: %v", err)
	}
	if got, err := s.FindObject(ctx(), []uuid.UUID{tn.ID}, store.KindPerson, kept.ID); err != nil || got.Label != "kept" {
		t.Errorf("failed sync changed an object: %+v, %v", got, err)
	}
	if after := allTasks(t, s, tn.ID); len(after) != len(before) {
		t.Errorf("failed sync left tasks: %d -> %d", len(before), len(after))
	}
}

func testSyncAtomic(t *testing.T, s store.Store) {
	tn := NewTenant(t, s, "atomic")
	scope := []uuid.UUID{tn.ID}
	school := Org(store.SubtypeSchool, "School")
	kept := Person(store.SubtypeStudent, "Kept", school.ID)
	Put(t, s, tn.ID, school, kept)
	before := allTasks(t, s, tn.ID)
	boom := errors.New("boom")
	fresh := Person(store.SubtypeStudent, "Fresh", school.ID)
	changed := kept
	changed.Data = []byte(`{"name":"changed"}`)
	changed.Orgs = nil
	err := s.Sync(ctx(), tn.ID, func(tx store.SyncTx) error {
		for _, o := range []store.Object{fresh, changed} {
			if _, err := tx.Put(ctx(), o); err != nil {
				return err
			}
		}
		if _, err := tx.Remove(ctx(), "", school.ID); err != nil {
			return err
		}
		if _, err := tx.Enqueue(ctx(), []store.NewTask{Lifecycle("X", "")}, t0); err != nil {
			return err
		}
		return fmt.Errorf("fill: %w", boom)
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Sync returned %v, want the fill error", err)
	}
	if _, err := s.FindObject(ctx(), scope, store.KindPerson, fresh.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("rolled back Put left %s: %v", fresh.Label, err)
	}
	if got, err := s.FindObject(ctx(), scope, store.KindPerson, kept.ID); err != nil || string(got.Data) != string(kept.Data) {
		t.Errorf("rolled back Put changed %s: %s, %v", kept.Label, got.Data, err)
	}
	if _, err := s.FindObject(ctx(), scope, store.KindOrg, school.ID); err != nil {
		t.Errorf("rolled back Remove removed the school: %v", err)
	}
	if got := ids(listAll(t, s, store.ObjectQuery{Tenants: scope, Kind: store.KindPerson, Org: &school.ID})); fmt.Sprint(got) != fmt.Sprint([]uuid.UUID{kept.ID}) {
		t.Errorf("school's persons after rollback = %v", got)
	}
	if after := allTasks(t, s, tn.ID); len(after) != len(before) {
		t.Errorf("rolled back Enqueue left %d tasks, want %d", len(after), len(before))
	}
	// The sequence did not move either.
	if ts := mustEnqueue(t, s, tn.ID, 1); ts[0].Sequence != int64(len(before)+1) {
		t.Errorf("sequence after rollback = %d, want %d", ts[0].Sequence, len(before)+1)
	}
	called := false
	if err := s.Sync(ctx(), uuid.New(), func(store.SyncTx) error { called = true; return nil }); !errors.Is(err, store.ErrNotFound) || called {
		t.Errorf("Sync(unknown tenant) = %v (fn called: %v), want ErrNotFound without calling fn", err, called)
	}
}

func testSyncRejects(t *testing.T, s store.Store) {
	tn := NewTenant(t, s, "bad")
	bad := []store.Object{
		{ID: uuid.Nil, Kind: store.KindPerson, Data: []byte(`{}`)},
		{ID: uuid.New(), Kind: "Widget", Data: []byte(`{}`)},
		{ID: uuid.New(), Kind: store.KindPerson, Data: []byte(`[1]`)},
		{ID: uuid.New(), Kind: store.KindPerson, Data: []byte(`{`)},
		{ID: uuid.New(), Kind: store.KindPerson},
	}
	for _, o := range bad {
		good := Person(store.SubtypeStudent, "Fine")
		err := s.Sync(ctx(), tn.ID, func(tx store.SyncTx) error {
			if _, err := tx.Put(ctx(), good); err != nil {
				return err
			}
			_, err := tx.Put(ctx(), o)
			return err
		})
		if !errors.Is(err, store.ErrInvalid) {
			t.Errorf("Put(%+v) err = %v, want ErrInvalid", o, err)
		}
		if _, err := s.FindObject(ctx(), []uuid.UUID{tn.ID}, store.KindPerson, good.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("rejected sync stored part of its objects")
		}
	}
}

// Two syncs of one tenant at once run one after the other: the tasks each
// enqueues in two steps stay consecutive.
func testSyncSerialized(t *testing.T, s store.Store) {
	tn := NewTenant(t, s, "serial")
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- s.Sync(ctx(), tn.ID, func(tx store.SyncTx) error {
				if _, err := tx.Enqueue(ctx(), []store.NewTask{Lifecycle(fmt.Sprint("start-", i), "")}, t0); err != nil {
					return err
				}
				if _, err := tx.Put(ctx(), Person(store.SubtypeStudent, fmt.Sprint(i))); err != nil {
					return err
				}
				_, err := tx.Enqueue(ctx(), []store.NewTask{Lifecycle(fmt.Sprint("end-", i), "")}, t0)
				return err
			})
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("concurrent Sync: %v", err)
		}
	}
	ts := allTasks(t, s, tn.ID)[1:]
	if len(ts) != 16 {
		t.Fatalf("%d tasks, want 16", len(ts))
	}
	for i := 0; i < len(ts); i += 2 {
		start, end := action(t, ts[i]), action(t, ts[i+1])
		if start[:6] != "start-" || end != "end-"+start[6:] {
			t.Fatalf("tasks %d and %d are %s and %s: syncs interleaved", ts[i].Sequence, ts[i+1].Sequence, start, end)
		}
	}
}

func testReset(t *testing.T, s store.Store) {
	tn, other := NewTenant(t, s, "reset"), NewTenant(t, s, "untouched")
	scope := []uuid.UUID{tn.ID}
	school := Org(store.SubtypeSchool, "School")
	p := Person(store.SubtypeStudent, "P", school.ID)
	p.Sections = []uuid.UUID{uuid.New()}
	for _, id := range []uuid.UUID{tn.ID, other.ID} {
		Put(t, s, id, school, p)
		mustEnqueue(t, s, id, 4)
	}
	ts := lease(t, s, tn.ID, 2, t0)
	if _, err := s.AckTasks(ctx(), scope, []store.Ack{{TaskID: ts[0].ID, Status: store.AckSuccess}}, t0); err != nil {
		t.Fatal(err)
	}
	pr := auth.Principal{TenantIDs: scope, ClientID: tn.ClientID, Subject: tn.ClientID, Method: auth.MethodOAuth2}
	if err := s.SaveToken(ctx(), "reset-token", pr, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.ResetTenant(ctx(), tn.ID); err != nil {
		t.Fatalf("ResetTenant: %v", err)
	}
	for _, k := range []store.Kind{store.KindOrg, store.KindPerson} {
		if got := listAll(t, s, store.ObjectQuery{Tenants: scope, Kind: k}); len(got) != 0 {
			t.Errorf("%s left after reset: %v", k, ids(got))
		}
	}
	if got := listAll(t, s, store.ObjectQuery{Tenants: scope, Kind: store.KindPerson, Org: &school.ID}); len(got) != 0 {
		t.Errorf("school's persons after reset: %v", ids(got))
	}
	if got := allTasks(t, s, tn.ID); len(got) != 0 {
		t.Errorf("queue after reset: %v", seqs(got))
	}
	if h, err := s.History(ctx(), tn.ID); err != nil || len(h) != 0 {
		t.Errorf("history after reset: %v, %v", h, err)
	}
	if got, err := s.FindTenant(ctx(), tn.ID); err != nil || got.ClientID != tn.ClientID || got.SecretHash != tn.SecretHash {
		t.Errorf("tenant after reset = %+v, %v", got, err)
	}
	if _, err := s.FindClient(ctx(), tn.ClientID); err != nil {
		t.Errorf("client after reset: %v", err)
	}
	if _, _, err := s.LookupToken(ctx(), "reset-token"); err != nil {
		t.Errorf("token after reset: %v", err)
	}
	// The sequence goes on; a re-put object is new again.
	if nt := mustEnqueue(t, s, tn.ID, 1); nt[0].Sequence != 6 {
		t.Errorf("sequence after reset = %d, want 6", nt[0].Sequence)
	}
	syncDo(t, s, tn.ID, func(tx store.SyncTx) error {
		prior, err := tx.Put(ctx(), p)
		if err == nil && prior != nil {
			t.Errorf("Put after reset found prior %+v", prior)
		}
		return err
	})
	// The other tenant keeps everything.
	if got := listAll(t, s, store.ObjectQuery{Tenants: []uuid.UUID{other.ID}, Kind: store.KindPerson, Org: &school.ID}); len(got) != 1 {
		t.Errorf("other tenant's school lists %d persons, want 1", len(got))
	}
	if got := allTasks(t, s, other.ID); len(got) != 5 {
		t.Errorf("other tenant's queue = %d tasks, want 5", len(got))
	}
	if err := s.ResetTenant(ctx(), uuid.New()); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("ResetTenant(unknown) = %v, want ErrNotFound", err)
	}
}

func testListPaging(t *testing.T, s store.Store) {
	tn := NewTenant(t, s, "paging")
	lea, school := Org(store.SubtypeLEA, "District"), Org(store.SubtypeSchool, "School")
	objs := []store.Object{lea, school}
	var students []uuid.UUID
	for i := range 23 {
		sub := store.SubtypeStudent
		if i%4 == 0 {
			sub = store.SubtypeTeacher
		}
		p := Person(sub, fmt.Sprintf("p%02d", i))
		if i%2 == 0 {
			p.Orgs = []uuid.UUID{school.ID}
			if sub == store.SubtypeStudent {
				students = append(students, p.ID)
			}
		}
		objs = append(objs, p)
	}
	Put(t, s, tn.ID, objs...)
	scope := []uuid.UUID{tn.ID}
	walk := func(q store.ObjectQuery) []uuid.UUID {
		t.Helper()
		var ids []uuid.UUID
		for page := 0; ; page++ {
			q.Offset = page * q.Limit
			got, more, err := s.ListObjects(ctx(), q)
			if err != nil {
				t.Fatalf("ListObjects: %v", err)
			}
			for _, o := range got {
				ids = append(ids, o.ID)
			}
			if !more {
				if len(got) == 0 && page > 0 {
					t.Fatalf("empty trailing page %d", page)
				}
				return ids
			}
			if len(got) != q.Limit {
				t.Fatalf("page %d has %d objects before the last page", page, len(got))
			}
		}
	}
	for _, size := range []int{1, 2, 5, 23, 24, 100} {
		ids := walk(store.ObjectQuery{Tenants: scope, Kind: store.KindPerson, Limit: size})
		if len(ids) != 23 {
			t.Fatalf("page size %d walked %d persons, want 23", size, len(ids))
		}
		for i, id := range ids {
			if id != objs[i+2].ID {
				t.Fatalf("page size %d: person %d out of order", size, i)
			}
		}
		st := walk(store.ObjectQuery{Tenants: scope, Kind: store.KindPerson, Subtype: store.SubtypeStudent, Org: &school.ID, Limit: size})
		if fmt.Sprint(st) != fmt.Sprint(students) {
			t.Fatalf("page size %d: students of school = %v, want %v", size, st, students)
		}
	}
	if leas := walk(store.ObjectQuery{Tenants: scope, Kind: store.KindOrg, Subtype: store.SubtypeLEA, Limit: 10}); len(leas) != 1 || leas[0] != lea.ID {
		t.Errorf("LEAs = %v", leas)
	}
	if none := walk(store.ObjectQuery{Tenants: scope, Kind: store.KindPerson, Org: &lea.ID, Limit: 10}); len(none) != 0 {
		t.Errorf("persons of LEA = %v, want none", none)
	}
	if got, more, err := s.ListObjects(ctx(), store.ObjectQuery{Tenants: scope, Kind: store.KindPerson, Offset: 1000, Limit: 10}); err != nil || more || len(got) != 0 {
		t.Errorf("page past the end = %v, %v, %v", got, more, err)
	}
	// A student who becomes a teacher moves between the org's lists.
	moved := objs[4] // p02, a student of the school
	moved.Subtype = store.SubtypeTeacher
	moved.Data = []byte(`{"$sys":{"id":"` + moved.ID.String() + `","person_type":"Teacher"}}`)
	Put(t, s, tn.ID, moved)
	st := walk(store.ObjectQuery{Tenants: scope, Kind: store.KindPerson, Subtype: store.SubtypeStudent, Org: &school.ID, Limit: 100})
	te := walk(store.ObjectQuery{Tenants: scope, Kind: store.KindPerson, Subtype: store.SubtypeTeacher, Org: &school.ID, Limit: 100})
	if len(st) != len(students)-1 || slices.Contains(st, moved.ID) || !slices.Contains(te, moved.ID) {
		t.Errorf("after a student became a teacher: students %v, teachers %v", st, te)
	}
}

// Keyset paging (After the last Pos of a page) walks every list in the same
// order as offsets, and an object keeps its Pos when it changes.
func testListKeyset(t *testing.T, s store.Store) {
	tn := NewTenant(t, s, "keyset")
	school := Org(store.SubtypeSchool, "School")
	objs := []store.Object{school}
	for i := range 17 {
		sub := store.SubtypeStudent
		if i%3 == 0 {
			sub = store.SubtypeTeacher
		}
		p := Person(sub, fmt.Sprintf("p%02d", i))
		if i%2 == 0 {
			p.Orgs = []uuid.UUID{school.ID}
		}
		objs = append(objs, p)
	}
	Put(t, s, tn.ID, objs...)
	scope := []uuid.UUID{tn.ID}
	for _, q := range []store.ObjectQuery{
		{Tenants: scope, Kind: store.KindPerson},
		{Tenants: scope, Kind: store.KindPerson, Subtype: store.SubtypeStudent},
		{Tenants: scope, Kind: store.KindPerson, Org: &school.ID},
		{Tenants: scope, Kind: store.KindPerson, Subtype: store.SubtypeTeacher, Org: &school.ID},
	} {
		want := ids(listAll(t, s, q))
		for _, size := range []int{1, 4, 100} {
			var got []uuid.UUID
			kq := q
			kq.Limit = size
			for {
				page, more, err := s.ListObjects(ctx(), kq)
				if err != nil {
					t.Fatal(err)
				}
				for i, o := range page {
					if o.Pos <= kq.After || (i > 0 && o.Pos <= page[i-1].Pos) {
						t.Fatalf("Pos %d after %d", o.Pos, kq.After)
					}
				}
				got = append(got, ids(page)...)
				if !more {
					break
				}
				kq.After = page[len(page)-1].Pos
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("keyset walk of %+v by %d = %v, want %v", q, size, got, want)
			}
		}
	}
	all := listAll(t, s, store.ObjectQuery{Tenants: scope, Kind: store.KindPerson})
	changed := objs[5]
	changed.Data = []byte(`{"changed":true}`)
	Put(t, s, tn.ID, changed)
	page, _, err := s.ListObjects(ctx(), store.ObjectQuery{Tenants: scope, Kind: store.KindPerson, After: all[3].Pos, Limit: 1})
	if err != nil || len(page) != 1 || page[0].ID != changed.ID || page[0].Pos != all[4].Pos || string(page[0].Data) != `{"changed":true}` {
		t.Errorf("after a change, the object at its place = %+v, %v", page, err)
	}
	// Tasks page by Pos too.
	mustEnqueue(t, s, tn.ID, 6)
	var seen []int64
	tq := store.TaskQuery{Tenants: scope, Limit: 3}
	for {
		page, more, err := s.ListTasks(ctx(), tq)
		if err != nil {
			t.Fatal(err)
		}
		seen = append(seen, seqs(page)...)
		if !more {
			break
		}
		tq.After = page[len(page)-1].Pos
	}
	if fmt.Sprint(seen) != "[1 2 3 4 5 6 7]" {
		t.Errorf("keyset walk of the queue = %v", seen)
	}
}

func testSecret(t *testing.T, s store.Store) {
	a, err := s.Secret(ctx(), "cursor")
	if err != nil || len(a) != 32 {
		t.Fatalf("Secret = %x, %v", a, err)
	}
	if again, err := s.Secret(ctx(), "cursor"); err != nil || string(again) != string(a) {
		t.Errorf("second Secret = %x, %v; want the first", again, err)
	}
	if other, err := s.Secret(ctx(), "other"); err != nil || string(other) == string(a) {
		t.Errorf("another name's Secret = %x, %v", other, err)
	}
}

func testIsolation(t *testing.T, s store.Store) {
	a, b := NewTenant(t, s, "a"), NewTenant(t, s, "b")
	school := Org(store.SubtypeSchool, "A school")
	p := Person(store.SubtypeStudent, "A student", school.ID)
	Put(t, s, a.ID, school, p)
	// The same object id may exist in both tenants independently.
	pb := p
	pb.Orgs = nil
	pb.Data = []byte(`{"$sys":{"id":"` + p.ID.String() + `","person_type":"Student"},"name":{"first":"B"}}`)
	Put(t, s, b.ID, pb)

	if _, err := s.FindObject(ctx(), []uuid.UUID{b.ID}, store.KindOrg, school.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("tenant b finds a's org: %v", err)
	}
	got, err := s.FindObject(ctx(), []uuid.UUID{b.ID}, store.KindPerson, p.ID)
	if err != nil || string(got.Data) != string(pb.Data) {
		t.Errorf("tenant b sees %s, %v", got.Data, err)
	}
	if _, err := s.FindObject(ctx(), []uuid.UUID{a.ID}, store.KindOrg, p.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("person found as an org: %v", err)
	}
	if got, _, _ := s.ListObjects(ctx(), store.ObjectQuery{Tenants: []uuid.UUID{b.ID}, Kind: store.KindOrg, Limit: 10}); len(got) != 0 {
		t.Errorf("tenant b lists a's orgs: %v", got)
	}
	if got, _, _ := s.ListObjects(ctx(), store.ObjectQuery{Tenants: []uuid.UUID{b.ID}, Kind: store.KindPerson, Org: &school.ID, Limit: 10}); len(got) != 0 {
		t.Errorf("tenant b lists a's members: %v", got)
	}
	if got, _, _ := s.ListObjects(ctx(), store.ObjectQuery{Tenants: nil, Kind: store.KindPerson, Limit: 10}); len(got) != 0 {
		t.Errorf("empty scope lists %v", got)
	}
	if both, _, _ := s.ListObjects(ctx(), store.ObjectQuery{Tenants: []uuid.UUID{a.ID, b.ID}, Kind: store.KindPerson, Limit: 10}); len(both) != 2 {
		t.Errorf("scope of both tenants lists %d persons, want 2", len(both))
	}

	// Tasks: b can neither see, lease, ack nor delete a's tasks.
	aTask := allTasks(t, s, a.ID)[0]
	if _, err := s.FindTask(ctx(), []uuid.UUID{b.ID}, aTask.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("b finds a's task: %v", err)
	}
	for _, task := range allTasks(t, s, b.ID) {
		if task.TenantID != b.ID {
			t.Errorf("b's queue holds %+v", task)
		}
	}
	leased, _ := s.LeaseTasks(ctx(), store.LeaseQuery{Tenants: []uuid.UUID{b.ID}, Limit: 100, Now: t0, Lease: time.Minute})
	for _, task := range leased {
		if task.TenantID != b.ID {
			t.Errorf("b leased %+v", task)
		}
	}
	if _, err := s.AckTasks(ctx(), []uuid.UUID{b.ID}, []store.Ack{{TaskID: aTask.ID, Status: store.AckSuccess}}, t0); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("b acks a's task: %v", err)
	}
	if _, err := s.DeleteTask(ctx(), []uuid.UUID{b.ID}, aTask.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("b deletes a's task: %v", err)
	}
	if _, err := s.FindTask(ctx(), []uuid.UUID{a.ID}, aTask.ID); err != nil {
		t.Errorf("a's task gone after b's attempts: %v", err)
	}
	// Sequences are per tenant.
	if bt := allTasks(t, s, b.ID); bt[0].Sequence != 1 {
		t.Errorf("b's first sequence = %d, want 1", bt[0].Sequence)
	}
}

func lease(t *testing.T, s store.Store, tenant uuid.UUID, n int, now time.Time) []store.Task {
	t.Helper()
	ts, err := s.LeaseTasks(ctx(), store.LeaseQuery{Tenants: []uuid.UUID{tenant}, Limit: n, Now: now, Lease: 5 * time.Minute})
	if err != nil {
		t.Fatalf("LeaseTasks: %v", err)
	}
	return ts
}

func seqs(ts []store.Task) []int64 {
	out := make([]int64, len(ts))
	for i, t := range ts {
		out[i] = t.Sequence
	}
	return out
}

func testLease(t *testing.T, s store.Store) {
	tn := NewTenant(t, s, "lease") // task 1
	mustEnqueue(t, s, tn.ID, 3)    // tasks 2..4
	first := lease(t, s, tn.ID, 2, t0)
	if fmt.Sprint(seqs(first)) != "[1 2]" || first[0].Deliveries != 1 || !first[0].LeasedUntil.Equal(t0.Add(5*time.Minute)) {
		t.Fatalf("first lease = %+v", first)
	}
	if got := lease(t, s, tn.ID, 10, t0.Add(time.Minute)); fmt.Sprint(seqs(got)) != "[3 4]" {
		t.Fatalf("second lease = %v, want [3 4]", seqs(got))
	}
	if got := lease(t, s, tn.ID, 10, t0.Add(4*time.Minute)); len(got) != 0 {
		t.Fatalf("lease while all leased = %v", seqs(got))
	}
	// Tasks 1 and 2 expire at t0+5m; 3 and 4 at t0+6m.
	got := lease(t, s, tn.ID, 10, t0.Add(5*time.Minute))
	if fmt.Sprint(seqs(got)) != "[1 2]" || got[0].Deliveries != 2 {
		t.Fatalf("lease after expiry = %+v, want 1 and 2 again", got)
	}
	if got := lease(t, s, tn.ID, 10, t0.Add(6*time.Minute)); fmt.Sprint(seqs(got)) != "[3 4]" {
		t.Fatalf("lease after second expiry = %v", seqs(got))
	}
	if got, err := s.LeaseTasks(ctx(), store.LeaseQuery{Tenants: []uuid.UUID{tn.ID}, Limit: 0, Now: t0.Add(time.Hour)}); err != nil || len(got) != 0 {
		t.Fatalf("lease of 0 = %v, %v", got, err)
	}
}

func testLeaseDriver(t *testing.T, s store.Store) {
	tn := NewTenant(t, s, "driver") // seq 1, no driver
	_, err := s.Enqueue(ctx(), tn.ID, []store.NewTask{
		Lifecycle("A", "alpha"), Lifecycle("B", "beta"), Lifecycle("C", "alpha"),
	}, t0)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.LeaseTasks(ctx(), store.LeaseQuery{Tenants: []uuid.UUID{tn.ID}, Driver: "alpha", Limit: 10, Now: t0, Lease: time.Minute})
	if err != nil || fmt.Sprint(seqs(got)) != "[2 4]" {
		t.Fatalf("lease driver alpha = %v, %v", seqs(got), err)
	}
	list, _, _ := s.ListTasks(ctx(), store.TaskQuery{Tenants: []uuid.UUID{tn.ID}, Driver: "beta", Limit: 10})
	if fmt.Sprint(seqs(list)) != "[3]" {
		t.Fatalf("list driver beta = %v", seqs(list))
	}
	if got := lease(t, s, tn.ID, 1, t0); fmt.Sprint(seqs(got)) != "[1]" {
		t.Fatalf("lease limit 1 = %v", seqs(got))
	}
}

func testLeaseConcurrent(t *testing.T, s store.Store) {
	tn := NewTenant(t, s, "concurrent")
	mustEnqueue(t, s, tn.ID, 202)
	total := len(allTasks(t, s, tn.ID))
	var mu sync.Mutex
	seen := map[uuid.UUID]int{}
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	for range 24 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				ts, err := s.LeaseTasks(ctx(), store.LeaseQuery{Tenants: []uuid.UUID{tn.ID}, Limit: 7, Now: t0, Lease: time.Hour})
				if err != nil {
					errs <- err
					return
				}
				if len(ts) == 0 {
					return
				}
				mu.Lock()
				for _, task := range ts {
					seen[task.ID]++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("concurrent lease: %v", err)
	}
	if len(seen) != total {
		t.Fatalf("leased %d distinct tasks, want %d", len(seen), total)
	}
	for id, n := range seen {
		if n != 1 {
			t.Fatalf("task %s handed out %d times within one lease", id, n)
		}
	}
}

func testAck(t *testing.T, s store.Store) {
	tn := NewTenant(t, s, "ack")
	mustEnqueue(t, s, tn.ID, 3)
	ts := lease(t, s, tn.ID, 10, t0)
	scope := []uuid.UUID{tn.ID}
	at := t0.Add(time.Minute)

	// success removes and records.
	r, err := s.AckTasks(ctx(), scope, []store.Ack{{TaskID: ts[0].ID, Status: store.AckSuccess, Message: "done", AppID: "42"}}, at)
	if err != nil || len(r) != 1 || r[0].Status != store.AckSuccess || !r[0].AcknowledgedAt.Equal(at) || r[0].TaskID != ts[0].ID {
		t.Fatalf("ack success = %+v, %v", r, err)
	}
	if _, err := s.FindTask(ctx(), scope, ts[0].ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("acknowledged task still queued: %v", err)
	}
	// The same ack again answers the original receipt.
	r2, err := s.AckTasks(ctx(), scope, []store.Ack{{TaskID: ts[0].ID, Status: store.AckSuccess}}, at.Add(time.Hour))
	if err != nil || !r2[0].AcknowledgedAt.Equal(at) {
		t.Fatalf("re-ack = %+v, %v; want the first receipt", r2, err)
	}
	// Another outcome conflicts, naming the recorded one.
	_, err = s.AckTasks(ctx(), scope, []store.Ack{{TaskID: ts[0].ID, Status: store.AckError}}, at)
	var te *store.TaskError
	if !errors.Is(err, store.ErrConflict) || !errors.As(err, &te) || te.ID != ts[0].ID || te.Status != store.AckSuccess {
		t.Fatalf("ack with another outcome err = %v, want conflict naming success", err)
	}
	// error removes too.
	if _, err := s.AckTasks(ctx(), scope, []store.Ack{{TaskID: ts[1].ID, Status: store.AckError, Message: "no school"}}, at); err != nil {
		t.Fatal(err)
	}
	// retry releases at once, without waiting for the lease.
	if _, err := s.AckTasks(ctx(), scope, []store.Ack{{TaskID: ts[2].ID, Status: store.AckRetry}}, at); err != nil {
		t.Fatal(err)
	}
	// reauthenticate releases too and is recorded.
	if _, err := s.AckTasks(ctx(), scope, []store.Ack{{TaskID: ts[3].ID, Status: store.AckReauthenticate, Message: "token revoked"}}, at); err != nil {
		t.Fatal(err)
	}
	again := lease(t, s, tn.ID, 10, at)
	if len(again) != 2 || again[0].ID != ts[2].ID || again[1].ID != ts[3].ID {
		t.Fatalf("after retry/reauthenticate leased %v, want tasks 3 and 4", seqs(again))
	}
	// Retrying twice is fine; a retried task can still succeed.
	for _, st := range []store.AckStatus{store.AckRetry, store.AckRetry, store.AckSuccess} {
		if _, err := s.AckTasks(ctx(), scope, []store.Ack{{TaskID: ts[2].ID, Status: st}}, at); err != nil {
			t.Fatalf("ack %s: %v", st, err)
		}
	}
	h, err := s.History(ctx(), tn.ID)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range h {
		got = append(got, fmt.Sprintf("%d:%s:%s", e.Sequence, e.Status, e.Message))
	}
	want := "[1:success:done 2:error:no school 4:reauthenticate:token revoked 3:success:]"
	if fmt.Sprint(got) != want {
		t.Fatalf("history = %v, want %s", got, want)
	}
	if h[0].AppID != "42" || !h[0].AcknowledgedAt.Equal(at) {
		t.Errorf("history entry = %+v", h[0])
	}
	if _, err := s.AckTasks(ctx(), scope, []store.Ack{{TaskID: uuid.New(), Status: store.AckSuccess}}, at); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("ack of unknown task err = %v", err)
	}
	if _, err := s.AckTasks(ctx(), scope, []store.Ack{{TaskID: ts[3].ID, Status: "maybe"}}, at); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("ack with unknown status err = %v", err)
	}
}

func testAckGroup(t *testing.T, s store.Store) {
	tn := NewTenant(t, s, "group")
	other := NewTenant(t, s, "other")
	mustEnqueue(t, s, tn.ID, 3)
	ts := allTasks(t, s, tn.ID)
	foreign := allTasks(t, s, other.ID)[0]
	scope := []uuid.UUID{tn.ID}
	for _, bad := range []uuid.UUID{uuid.New(), foreign.ID} {
		_, err := s.AckTasks(ctx(), scope, []store.Ack{
			{TaskID: ts[0].ID, Status: store.AckSuccess},
			{TaskID: ts[1].ID, Status: store.AckError},
			{TaskID: bad, Status: store.AckSuccess},
		}, t0)
		var te *store.TaskError
		if !errors.Is(err, store.ErrNotFound) || !errors.As(err, &te) || te.ID != bad {
			t.Fatalf("group with unknown id err = %v", err)
		}
		if left := allTasks(t, s, tn.ID); len(left) != len(ts) {
			t.Fatalf("failed group acknowledged %d tasks", len(ts)-len(left))
		}
		if h, _ := s.History(ctx(), tn.ID); len(h) != 0 {
			t.Fatalf("failed group left history %v", h)
		}
	}
	var acks []store.Ack
	for _, task := range ts {
		acks = append(acks, store.Ack{TaskID: task.ID, Status: store.AckSuccess})
	}
	r, err := s.AckTasks(ctx(), scope, acks, t0)
	if err != nil || len(r) != len(ts) {
		t.Fatalf("group ack = %v, %v", r, err)
	}
	if left := allTasks(t, s, tn.ID); len(left) != 0 {
		t.Fatalf("%d tasks left after group ack", len(left))
	}
	// The whole group again is idempotent.
	if _, err := s.AckTasks(ctx(), scope, acks, t0.Add(time.Hour)); err != nil {
		t.Fatalf("repeated group ack: %v", err)
	}
	if _, err := s.FindTask(ctx(), []uuid.UUID{other.ID}, foreign.ID); err != nil {
		t.Fatalf("other tenant's task touched: %v", err)
	}
}

func testAdmin(t *testing.T, s store.Store) {
	tn := NewTenant(t, s, "admin")
	mustEnqueue(t, s, tn.ID, 11) // 1 + 11 tasks
	lease(t, s, tn.ID, 3, t0)
	scope := []uuid.UUID{tn.ID}
	var all []int64
	for off := 0; ; off += 5 {
		page, more, err := s.ListTasks(ctx(), store.TaskQuery{Tenants: scope, Offset: off, Limit: 5})
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, seqs(page)...)
		if !more {
			break
		}
	}
	if len(all) != 12 || all[0] != 1 || all[11] != 12 {
		t.Fatalf("admin walk = %v", all)
	}
	victim := allTasks(t, s, tn.ID)[4]
	got, err := s.FindTask(ctx(), scope, victim.ID)
	if err != nil || got.Sequence != victim.Sequence || string(got.Payload) != string(victim.Payload) {
		t.Fatalf("FindTask = %+v, %v", got, err)
	}
	del, err := s.DeleteTask(ctx(), scope, victim.ID)
	if err != nil || del.ID != victim.ID || del.Sequence != victim.Sequence {
		t.Fatalf("DeleteTask = %+v, %v", del, err)
	}
	if _, err := s.DeleteTask(ctx(), scope, victim.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("second DeleteTask err = %v", err)
	}
	if _, err := s.AckTasks(ctx(), scope, []store.Ack{{TaskID: victim.ID, Status: store.AckSuccess}}, t0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("ack of a deleted task err = %v", err)
	}
	if h, _ := s.History(ctx(), tn.ID); len(h) != 0 {
		t.Fatalf("delete recorded history %v", h)
	}
	// New tasks continue the sequence past deleted ones.
	nt, err := s.Enqueue(ctx(), tn.ID, []store.NewTask{Lifecycle("X", "")}, t0)
	if err != nil || nt[0].Sequence != 13 {
		t.Fatalf("Enqueue after delete = %+v, %v", nt, err)
	}
}

func testAuth(t *testing.T, s store.Store) {
	tn := NewTenant(t, s, "auth")
	c, err := s.FindClient(ctx(), tn.ClientID)
	if err != nil || c.ID != tn.ClientID || c.TenantID != tn.ID || c.SecretHash != tn.SecretHash {
		t.Fatalf("FindClient = %+v, %v", c, err)
	}
	if _, err := s.FindClient(ctx(), "nobody"); !errors.Is(err, auth.ErrUnknownClient) {
		t.Fatalf("FindClient(unknown) err = %v", err)
	}
	p := auth.Principal{TenantIDs: []uuid.UUID{tn.ID}, ClientID: tn.ClientID, Subject: tn.ClientID, Method: auth.MethodOAuth2}
	exp := t0.Add(time.Hour)
	if err := s.SaveToken(ctx(), "h1", p, exp); err != nil {
		t.Fatal(err)
	}
	got, gotExp, err := s.LookupToken(ctx(), "h1")
	if err != nil || !gotExp.Equal(exp) || got.ClientID != p.ClientID || len(got.TenantIDs) != 1 || got.TenantIDs[0] != tn.ID || got.Method != p.Method {
		t.Fatalf("LookupToken = %+v, %v, %v", got, gotExp, err)
	}
	if _, _, err := s.LookupToken(ctx(), "nope"); !errors.Is(err, auth.ErrUnknownToken) {
		t.Fatalf("LookupToken(unknown) err = %v", err)
	}
	// A store may drop expired tokens as it saves new ones, never live ones.
	if err := s.SaveToken(ctx(), "h2", p, exp.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"h1", "h2"} {
		if _, _, err := s.LookupToken(ctx(), h); err != nil {
			t.Errorf("live token %s dropped: %v", h, err)
		}
	}
}

// testPing: Ping answers nil on a healthy store, also while writers run
// beside it (it takes the write path, so it must wait its turn, not fail),
// and changes nothing a reader sees.
func testPing(t *testing.T, s store.Store) {
	if err := s.Ping(ctx()); err != nil {
		t.Fatalf("Ping on a fresh store: %v", err)
	}
	tn := NewTenant(t, s, "ping")
	before := allTasks(t, s, tn.ID)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := range 4 {
		wg.Add(2)
		go func() {
			defer wg.Done()
			if _, err := s.Enqueue(ctx(), tn.ID, []store.NewTask{Lifecycle("TENANT_INSTALLED", fmt.Sprint(i))}, t0); err != nil {
				errs <- fmt.Errorf("enqueue: %w", err)
			}
		}()
		go func() {
			defer wg.Done()
			if err := s.Ping(ctx()); err != nil {
				errs <- fmt.Errorf("ping beside writers: %w", err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := allTasks(t, s, tn.ID); len(got) != len(before)+4 {
		t.Errorf("%d tasks after 4 enqueues and 4 pings, want %d", len(got), len(before)+4)
	}
}

// testRevokeToken: a store that can revoke tokens (auth.TokenRevoker)
// forgets the one revoked and keeps the others; revoking twice, or an
// unknown token, is not an error.
func testRevokeToken(t *testing.T, s store.Store) {
	r, ok := s.(auth.TokenRevoker)
	if !ok {
		t.Skip("the store cannot revoke tokens")
	}
	tn := NewTenant(t, s, "revoke")
	p := auth.Principal{TenantIDs: []uuid.UUID{tn.ID}, ClientID: tn.ClientID, Subject: tn.ClientID, Method: auth.MethodOAuth2}
	for _, h := range []string{"r1", "r2"} {
		if err := s.SaveToken(ctx(), h, p, t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	for range 2 {
		if err := r.RevokeToken(ctx(), "r1"); err != nil {
			t.Fatalf("RevokeToken: %v", err)
		}
	}
	if err := r.RevokeToken(ctx(), "never-issued"); err != nil {
		t.Fatalf("RevokeToken(unknown): %v", err)
	}
	if _, _, err := s.LookupToken(ctx(), "r1"); !errors.Is(err, auth.ErrUnknownToken) {
		t.Fatalf("LookupToken(revoked) err = %v, want ErrUnknownToken", err)
	}
	if _, _, err := s.LookupToken(ctx(), "r2"); err != nil {
		t.Fatalf("LookupToken(other) err = %v", err)
	}
}

// testLTIKeys: the first key is added once however many ask, rotation
// retires the current key at the new one's creation and prunes keys retired
// long enough ago, and the list is newest first.
func testLTIKeys(t *testing.T, s store.Store) {
	if ks, err := s.LTIKeys(ctx()); err != nil || len(ks) != 0 {
		t.Fatalf("LTIKeys of a new store = %v, %v", ks, err)
	}
	key := func(id string, at time.Time) store.LTIKey {
		return store.LTIKey{ID: id, Private: []byte("private-" + id), CreatedAt: at}
	}
	got, err := s.AddLTIKey(ctx(), key("k1", t0), false, time.Time{})
	if err != nil || got.ID != "k1" || string(got.Private) != "private-k1" || !got.CreatedAt.Equal(t0) {
		t.Fatalf("first AddLTIKey = %+v, %v", got, err)
	}
	// Another process starting at the same time keeps the first key.
	if got, err := s.AddLTIKey(ctx(), key("k1b", t0.Add(time.Second)), false, time.Time{}); err != nil || got.ID != "k1" {
		t.Fatalf("AddLTIKey without rotate over a current key = %+v, %v; want k1", got, err)
	}
	if _, err := s.AddLTIKey(ctx(), key("k1", t0.Add(time.Minute)), true, time.Time{}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("AddLTIKey with a taken id = %v, want ErrConflict", err)
	}
	t1 := t0.Add(time.Hour)
	if got, err := s.AddLTIKey(ctx(), key("k2", t1), true, time.Time{}); err != nil || got.ID != "k2" {
		t.Fatalf("rotate to k2 = %+v, %v", got, err)
	}
	t2 := t0.Add(30 * time.Hour)
	if _, err := s.AddLTIKey(ctx(), key("k3", t2), true, t2.Add(-24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	ks, err := s.LTIKeys(ctx())
	if err != nil {
		t.Fatal(err)
	}
	var desc []string
	for _, k := range ks {
		retired := "current"
		if !k.RetiredAt.IsZero() {
			retired = k.RetiredAt.Sub(t0).String()
		}
		desc = append(desc, fmt.Sprintf("%s:%s:%s", k.ID, k.CreatedAt.Sub(t0), retired))
	}
	// k1 retired at t1, more than 24h before t2: pruned. k2 retired at t2.
	if want := fmt.Sprint([]string{"k3:30h0m0s:current", "k2:1h0m0s:30h0m0s"}); fmt.Sprint(desc) != want {
		t.Fatalf("LTIKeys = %v, want %s", desc, want)
	}
	if !ks[0].RetiredAt.IsZero() || string(ks[1].Private) != "private-k2" {
		t.Fatalf("current key %+v, retired %+v", ks[0], ks[1])
	}
}
