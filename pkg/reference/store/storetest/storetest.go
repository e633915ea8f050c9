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

// Run runs the whole suite against stores made by open.
func Run(t *testing.T, open Open) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"Tenants", testTenants},
		{"SyncEvents", testSyncEvents},
		{"SyncRejectsBadObjects", testSyncRejects},
		{"ListPaging", testListPaging},
		{"Isolation", testIsolation},
		{"LeaseHidesAndExpires", testLease},
		{"LeaseDriverAndLimit", testLeaseDriver},
		{"LeaseConcurrent", testLeaseConcurrent},
		{"AckOutcomes", testAck},
		{"AckGroupAtomic", testAckGroup},
		{"AdminListAndDelete", testAdmin},
		{"ClientsAndTokens", testAuth},
		{"PingCommitsAWrite", testPing},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			t.Cleanup(func() { s.Close() })
			tc.fn(t, s)
		})
	}
}

// NewTenant creates a tenant with a unique client id and returns it.
func NewTenant(t testing.TB, s store.Store, name string) store.Tenant {
	t.Helper()
	tn := store.Tenant{ID: uuid.New(), Name: name, ClientID: name + "-" + uuid.NewString()[:8], SecretHash: "hash"}
	if _, err := s.CreateTenant(context.Background(), tn, []store.NewTask{store.LifecycleTask(store.ActionTenantInstalled, "")}, t0); err != nil {
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

func mustSync(t *testing.T, s store.Store, tenant uuid.UUID, sy store.Sync, now time.Time) store.SyncResult {
	t.Helper()
	r, err := s.ApplySync(ctx(), tenant, sy, now)
	if err != nil {
		t.Fatalf("ApplySync: %v", err)
	}
	return r
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
	dup := store.Tenant{ID: uuid.New(), Name: "again", ClientID: tn.ClientID, SecretHash: "h"}
	if _, err := s.CreateTenant(ctx(), dup, nil, t0); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("CreateTenant(taken client id) err = %v, want ErrConflict", err)
	}
	if _, err := s.FindTenant(ctx(), dup.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("failed CreateTenant left a tenant behind: %v", err)
	}
	ts := allTasks(t, s, tn.ID)
	if len(ts) != 1 || ts[0].Kind != store.TaskLifecycle || action(t, ts[0]) != store.ActionTenantInstalled || ts[0].Sequence != 1 || !ts[0].CreatedAt.Equal(t0) {
		t.Fatalf("tasks after CreateTenant = %+v", ts)
	}
	if _, err := s.Enqueue(ctx(), uuid.New(), []store.NewTask{store.LifecycleTask("X", "")}, t0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Enqueue(unknown tenant) err = %v, want ErrNotFound", err)
	}
}

func testSyncEvents(t *testing.T, s store.Store) {
	tn := NewTenant(t, s, "sync")
	school := Org(store.SubtypeSchool, "Lincoln")
	zoe := Person(store.SubtypeStudent, "Zoë", school.ID)
	ada := Person(store.SubtypeTeacher, "Ada", school.ID)
	r := mustSync(t, s, tn.ID, store.Sync{Upserts: []store.Object{school, zoe, ada}, Driver: "d1"}, t0)
	if r.Added != 3 || len(r.Tasks) != 5 {
		t.Fatalf("first sync = %+v", r)
	}
	wantActions := []string{store.ActionSyncStart, store.ActionAdd, store.ActionAdd, store.ActionAdd, store.ActionSyncEnd}
	for i, task := range r.Tasks {
		if got := action(t, task); got != wantActions[i] {
			t.Errorf("task %d action = %s, want %s", i, got, wantActions[i])
		}
		var p struct {
			GroupID string `json:"group_id"`
		}
		_ = json.Unmarshal(task.Payload, &p)
		if p.GroupID != r.GroupID.String() || task.Driver != "d1" {
			t.Errorf("task %d group %q driver %q, want %s d1", i, p.GroupID, task.Driver, r.GroupID)
		}
		if i > 0 && task.Sequence != r.Tasks[i-1].Sequence+1 {
			t.Errorf("sequence %d after %d", task.Sequence, r.Tasks[i-1].Sequence)
		}
	}
	var add struct {
		ObjectID, ObjectType, Label string
		Data                        map[string]any
	}
	_ = json.Unmarshal(r.Tasks[2].Payload, &struct {
		ObjectID   *string         `json:"object_id"`
		ObjectType *string         `json:"object_type"`
		Label      *string         `json:"label"`
		Data       *map[string]any `json:"data"`
	}{&add.ObjectID, &add.ObjectType, &add.Label, &add.Data})
	if add.ObjectID != zoe.ID.String() || add.ObjectType != "RDM:Student" || add.Label != "Zoë" || add.Data["name"] == nil {
		t.Errorf("ADD payload = %s", r.Tasks[2].Payload)
	}

	// Change one attribute of Zoë, leave Ada identical, delete the school.
	changed := zoe
	changed.Data, _ = json.Marshal(map[string]any{
		"$sys":      map[string]any{"id": zoe.ID, "type": "Person", "person_type": "Student", "label": "Zoë"},
		"name":      map[string]any{"first": "Zoë", "last": "Núñez"},
		"grad_year": "2032",
	})
	r2 := mustSync(t, s, tn.ID, store.Sync{Upserts: []store.Object{changed, ada}, Deletes: []uuid.UUID{school.ID, uuid.New()}, Origin: "resend"}, t0.Add(time.Minute))
	if r2.Changed != 1 || r2.Unchanged != 1 || r2.Deleted != 1 || r2.Added != 0 || len(r2.Tasks) != 4 {
		t.Fatalf("second sync = %+v", r2)
	}
	if r2.GroupID == r.GroupID {
		t.Error("two syncs share a group id")
	}
	var ch struct {
		Action  string                     `json:"action"`
		Changes map[string]json.RawMessage `json:"changes"`
	}
	_ = json.Unmarshal(r2.Tasks[1].Payload, &ch)
	if ch.Action != store.ActionChange || string(ch.Changes["name"]) != `{"first":"Zoë"}` || string(ch.Changes["grad_year"]) != "null" || len(ch.Changes) != 2 {
		t.Errorf("CHANGE payload = %s", r2.Tasks[1].Payload)
	}
	var del struct {
		Action   string `json:"action"`
		ObjectID string `json:"object_id"`
		Type     string `json:"object_type"`
	}
	_ = json.Unmarshal(r2.Tasks[2].Payload, &del)
	if del.Action != store.ActionDelete || del.ObjectID != school.ID.String() || del.Type != "RDM:School" {
		t.Errorf("DELETE payload = %s", r2.Tasks[2].Payload)
	}
	var origin struct {
		Origin string `json:"origin"`
	}
	_ = json.Unmarshal(r2.Tasks[0].Payload, &origin)
	if origin.Origin != "resend" {
		t.Errorf("SYNC_START origin = %q", origin.Origin)
	}
	if _, err := s.FindObject(ctx(), []uuid.UUID{tn.ID}, store.KindOrg, school.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deleted org still found: %v", err)
	}
	got, err := s.FindObject(ctx(), []uuid.UUID{tn.ID}, store.KindPerson, zoe.ID)
	if err != nil || !json.Valid(got.Data) || got.Subtype != store.SubtypeStudent {
		t.Fatalf("FindObject = %+v, %v", got, err)
	}
	var name struct {
		Name struct{ Last string } `json:"name"`
	}
	_ = json.Unmarshal(got.Data, &name)
	if name.Name.Last != "Núñez" {
		t.Errorf("changed object not stored: %s", got.Data)
	}
	// The update kept Zoë's place before Ada.
	ps, _, _ := s.ListObjects(ctx(), store.ObjectQuery{Tenants: []uuid.UUID{tn.ID}, Kind: store.KindPerson, Limit: 10})
	if len(ps) != 2 || ps[0].ID != zoe.ID || ps[1].ID != ada.ID {
		t.Errorf("order after change = %v", ps)
	}
	// Silent syncs store without tasks.
	before := len(allTasks(t, s, tn.ID))
	r3 := mustSync(t, s, tn.ID, store.Sync{Upserts: []store.Object{Person(store.SubtypeStudent, "Quiet")}, Silent: true}, t0)
	if r3.Added != 1 || len(r3.Tasks) != 0 || len(allTasks(t, s, tn.ID)) != before {
		t.Errorf("silent sync enqueued tasks: %+v", r3)
	}
}

func testSyncRejects(t *testing.T, s store.Store) {
	tn := NewTenant(t, s, "bad")
	bad := []store.Object{
		{ID: uuid.Nil, Kind: store.KindPerson, Data: []byte(`{}`)},
		{ID: uuid.New(), Kind: "Widget", Data: []byte(`{}`)},
		{ID: uuid.New(), Kind: store.KindPerson, Data: []byte(`[1]`)},
		{ID: uuid.New(), Kind: store.KindPerson, Data: []byte(`{`)},
	}
	before := len(allTasks(t, s, tn.ID))
	for _, o := range bad {
		good := Person(store.SubtypeStudent, "Fine")
		if _, err := s.ApplySync(ctx(), tn.ID, store.Sync{Upserts: []store.Object{good, o}}, t0); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("ApplySync(%+v) err = %v, want ErrInvalid", o, err)
		}
		if _, err := s.FindObject(ctx(), []uuid.UUID{tn.ID}, store.KindPerson, good.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("rejected sync stored part of its objects")
		}
	}
	if len(allTasks(t, s, tn.ID)) != before {
		t.Error("rejected sync enqueued tasks")
	}
	if _, err := s.ApplySync(ctx(), uuid.New(), store.Sync{}, t0); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("ApplySync(unknown tenant) err = %v, want ErrNotFound", err)
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
	mustSync(t, s, tn.ID, store.Sync{Upserts: objs}, t0)
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
	mustSync(t, s, tn.ID, store.Sync{Upserts: []store.Object{moved}}, t0)
	st := walk(store.ObjectQuery{Tenants: scope, Kind: store.KindPerson, Subtype: store.SubtypeStudent, Org: &school.ID, Limit: 100})
	te := walk(store.ObjectQuery{Tenants: scope, Kind: store.KindPerson, Subtype: store.SubtypeTeacher, Org: &school.ID, Limit: 100})
	if len(st) != len(students)-1 || slices.Contains(st, moved.ID) || !slices.Contains(te, moved.ID) {
		t.Errorf("after a student became a teacher: students %v, teachers %v", st, te)
	}
}

func testIsolation(t *testing.T, s store.Store) {
	a, b := NewTenant(t, s, "a"), NewTenant(t, s, "b")
	school := Org(store.SubtypeSchool, "A school")
	p := Person(store.SubtypeStudent, "A student", school.ID)
	mustSync(t, s, a.ID, store.Sync{Upserts: []store.Object{school, p}}, t0)
	// The same object id may exist in both tenants independently.
	pb := p
	pb.Orgs = nil
	pb.Data = []byte(`{"$sys":{"id":"` + p.ID.String() + `","person_type":"Student"},"name":{"first":"B"}}`)
	mustSync(t, s, b.ID, store.Sync{Upserts: []store.Object{pb}}, t0)

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
	tn := NewTenant(t, s, "lease")                                                                    // task 1
	mustSync(t, s, tn.ID, store.Sync{Upserts: []store.Object{Person(store.SubtypeStudent, "x")}}, t0) // tasks 2..4
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
		store.LifecycleTask("A", "alpha"), store.LifecycleTask("B", "beta"), store.LifecycleTask("C", "alpha"),
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
	var objs []store.Object
	for i := range 200 {
		objs = append(objs, Person(store.SubtypeStudent, fmt.Sprint(i)))
	}
	mustSync(t, s, tn.ID, store.Sync{Upserts: objs}, t0)
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
	mustSync(t, s, tn.ID, store.Sync{Upserts: []store.Object{Person(store.SubtypeStudent, "x")}}, t0)
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
	mustSync(t, s, tn.ID, store.Sync{Upserts: []store.Object{Person(store.SubtypeStudent, "x")}}, t0)
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
	var objs []store.Object
	for i := range 9 {
		objs = append(objs, Person(store.SubtypeStudent, fmt.Sprint(i)))
	}
	mustSync(t, s, tn.ID, store.Sync{Upserts: objs}, t0) // 1 + 11 tasks
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
	nt, err := s.Enqueue(ctx(), tn.ID, []store.NewTask{store.LifecycleTask("X", "")}, t0)
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
			if _, err := s.Enqueue(ctx(), tn.ID, []store.NewTask{store.LifecycleTask(store.ActionTenantInstalled, fmt.Sprint(i))}, t0); err != nil {
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
