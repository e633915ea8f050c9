package reference_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/interop-data/interop/gen/models"

	"github.com/interop-data/interop/pkg/reference"
	"github.com/interop-data/interop/pkg/reference/referencetest"
	"github.com/interop-data/interop/pkg/reference/store"
)

// queueSize is the number of tasks of a tenant: TENANT_INSTALLED, SYNC_START,
// one ADD per object, SYNC_END. The objects include each membership a
// person's $schools and $sections name.
func queueSize(r reference.Roster) int {
	return 1 + 2 + len(r.Orgs) + len(r.Persons) + len(r.Courses) + len(r.Sections) + len(r.Terms) + len(r.GradingCategories) + len(memberships(r))
}

// memberships are the membership ids a roster's persons name, by kind.
func memberships(r reference.Roster) map[string]string {
	out := map[string]string{}
	for _, p := range r.Persons {
		for _, m := range p.Schools {
			out[m.Sys.Membership.ID.String()] = "RDM:PersonOrgMembership"
		}
		if p.Sections != nil {
			for _, m := range p.Sections {
				out[m.Sys.Membership.ID.String()] = "RDM:PersonSectionMembership"
			}
		}
	}
	return out
}

func TestLeaseHidesAndExpires(t *testing.T) { eachCredential(t, testLeaseHidesAndExpires) }

func testLeaseHidesAndExpires(t *testing.T, cred credential) {
	env := referencetest.Start(t, referencetest.WithBatchSize(10))
	a := newAPIAs(t, env, cred, 0)
	first := a.lease("/tasks")
	if len(first) != 10 || first[0].Sequence != 1 || first[0].Action != "TENANT_INSTALLED" || first[1].Action != "SYNC_START" {
		t.Fatalf("first batch = %+v", first)
	}
	for i := 1; i < len(first); i++ {
		if first[i].Sequence <= first[i-1].Sequence {
			t.Fatalf("batch not in ascending sequence: %+v", first)
		}
	}
	// page_size caps the batch; leased tasks are not handed out again.
	second := a.lease("/tasks?page_size=4")
	if len(second) != 4 || second[0].Sequence != 11 {
		t.Fatalf("second batch = %+v", second)
	}
	env.Clock.Advance(4*time.Minute + 59*time.Second)
	third := a.lease("/tasks?page_size=3")
	if len(third) != 3 || third[0].Sequence != 15 {
		t.Fatalf("before expiry got %+v, want sequences from 15", third)
	}
	// At 5m the first two batches' leases end; they come back, oldest first.
	env.Clock.Advance(time.Second)
	if again := a.lease("/tasks?page_size=20"); fmt.Sprint(ids(again)) != fmt.Sprint(ids(first)) {
		t.Fatalf("after expiry got %v, want the first batch (the batch size caps page_size)", again)
	}
	if again := a.lease("/tasks"); fmt.Sprint(ids(again[:4])) != fmt.Sprint(ids(second)) || again[4].Sequence != 18 {
		t.Fatalf("after expiry, second call got %v, want the second batch then sequences from 18", again)
	}
	// page is ignored by the managed list; paging.next is always null.
	var p page
	a.get("/tasks?page=3&page_size=1", &p)
	if len(p.Data) != 1 || p.Paging.Next != nil {
		t.Fatalf("managed list with page: %d tasks, next %v", len(p.Data), p.Paging.Next)
	}
}

func TestTaskSchemaRendering(t *testing.T) {
	env := referencetest.Start(t)
	a := newAPI(t, env, 0)
	var def struct{ Data []map[string]json.RawMessage }
	a.get("/tasks/admin?page_size=3", &def)
	if _, ok := def.Data[0]["schema"]; ok || def.Data[0]["lifecycle_event"] == nil || def.Data[2]["data_event"] == nil {
		t.Fatalf("default rendering = %v", def.Data)
	}
	for _, v := range []string{"2", "2.0.0", "2.0"} {
		var two struct{ Data []map[string]json.RawMessage }
		a.get("/tasks/admin?page_size=1&schema="+v, &two)
		if string(two.Data[0]["schema"]) != `"2.0.0"` || two.Data[0]["lifecycle_event"] == nil {
			t.Fatalf("schema %s rendering = %v", v, two.Data)
		}
	}
	var three struct {
		Data []struct {
			Schema, Type, Action, ObjectType string
			ObjectID                         string         `json:"object_id"`
			ObjectTypeJ                      string         `json:"object_type"`
			Sequence                         int64          `json:"sequence"`
			ID                               uuid.UUID      `json:"id"`
			TenantID                         uuid.UUID      `json:"tenant_id"`
			Data                             map[string]any `json:"data"`
		}
	}
	a.get("/tasks/admin?page_size=3&schema=3.0.0", &three)
	d := three.Data[2]
	if three.Data[0].Type != "lifecycle_event" || three.Data[0].Schema != "3.0.0" || d.Type != "data_event" || d.Action != "ADD" ||
		d.ObjectTypeJ != "RDM:LEA" || d.Data["name"] == nil || d.TenantID != env.Tenants[0].ID || d.Sequence != 3 {
		t.Fatalf("3.0.0 rendering = %+v", three.Data)
	}
	for _, bad := range []string{"1.0.0", "4", "abc", "2.0.0.0", "3.x"} {
		for _, path := range []string{"/tasks?schema=", "/tasks/admin?schema=", "/tasks/admin/" + d.ID.String() + "?schema="} {
			a.wantError(http.MethodGet, path+bad, nil, 400, "invalid_parameter")
		}
	}
	// A refused schema leases nothing.
	if got := a.lease("/tasks?page_size=1"); got[0].Sequence != 1 {
		t.Fatalf("after refused requests the first task is %d", got[0].Sequence)
	}
}

func TestDriverAndTenantParameters(t *testing.T) {
	env := referencetest.Start(t)
	ctx := context.Background()
	tn := env.Tenants[0].ID
	if _, err := env.Store.Enqueue(ctx, tn, []store.NewTask{reference.LifecycleTask("TENANT_ACTIVATED", "canvas"), reference.LifecycleTask("TENANT_ACTIVATED", "sis")}, env.Clock.Now()); err != nil {
		t.Fatal(err)
	}
	a := newAPI(t, env, 0)
	got := a.lease("/tasks?driver=canvas")
	if len(got) != 1 || got[0].Action != "TENANT_ACTIVATED" {
		t.Fatalf("driver=canvas = %+v", got)
	}
	if got := a.lease("/tasks?driver=nobody"); len(got) != 0 {
		t.Fatalf("driver=nobody = %+v", got)
	}
	var p page
	a.get("/tasks/admin?driver=sis", &p)
	if len(p.Data) != 1 {
		t.Fatalf("admin driver=sis = %d tasks", len(p.Data))
	}
	if got := a.lease("/tasks?page_size=1&tenant_id=" + tn.String()); len(got) != 1 || got[0].Sequence != 1 {
		t.Fatalf("own tenant_id = %+v", got)
	}
	a.wantError(http.MethodGet, "/tasks?tenant_id="+env.Tenants[1].ID.String(), nil, 403, "forbidden")
	a.wantError(http.MethodGet, "/tasks?tenant_id="+uuid.NewString(), nil, 403, "forbidden")
	a.wantError(http.MethodGet, "/tasks?tenant_id=nope", nil, 400, "invalid_parameter")
}

type receipt struct {
	TaskID         string    `json:"task_id"`
	Status         string    `json:"status"`
	AcknowledgedAt time.Time `json:"acknowledged_at"`
}

func TestAcknowledgeTask(t *testing.T) { eachCredential(t, testAcknowledgeTask) }

func testAcknowledgeTask(t *testing.T, cred credential) {
	env := referencetest.Start(t)
	a := newAPIAs(t, env, cred, 0)
	ts := a.lease("/tasks?page_size=6")
	for _, base := range []string{"/tasks/", "/tasks/admin/"} {
		t.Run(base, func(t *testing.T) {
			a.t = t
			task := ts[0]
			if base == "/tasks/admin/" {
				task = ts[3]
			}
			ackURL := base + task.ID + "/ack"
			var r struct{ Data receipt }
			code, b := a.do(http.MethodPut, ackURL, map[string]any{"status": "success", "message": "done", "$sys.app_id": "8858"})
			if code != 200 || json.Unmarshal(b, &r) != nil || r.Data.TaskID != task.ID || r.Data.Status != "success" || !r.Data.AcknowledgedAt.Equal(env.Clock.Now()) {
				t.Fatalf("ack = %d %s", code, b)
			}
			first := r.Data.AcknowledgedAt
			a.wantError(http.MethodGet, "/tasks/admin/"+task.ID, nil, 404, "not_found")
			// The same acknowledgement again answers the first receipt.
			env.Clock.Advance(time.Minute)
			code, b = a.do(http.MethodPut, ackURL, map[string]any{"status": "success", "task_id": task.ID})
			if code != 200 || json.Unmarshal(b, &r) != nil || !r.Data.AcknowledgedAt.Equal(first) {
				t.Fatalf("re-ack = %d %s", code, b)
			}
			msg := a.wantError(http.MethodPut, ackURL, map[string]any{"status": "error"}, 409, "conflict")
			if msg != fmt.Sprintf("task %s was already acknowledged as success", task.ID) {
				t.Errorf("409 message = %q", msg)
			}
			a.wantError(http.MethodPut, ackURL, map[string]any{"status": "retry"}, 409, "conflict")
		})
	}
	a.t = t
	// error removes too; retry and reauthenticate release at once.
	code, b := a.do(http.MethodPut, "/tasks/"+ts[1].ID+"/ack", map[string]any{"status": "error", "message": "Student has no school"})
	if code != 200 {
		t.Fatalf("ack error = %d %s", code, b)
	}
	for i, st := range []string{"retry", "reauthenticate"} {
		if code, b := a.do(http.MethodPut, "/tasks/"+ts[4+i].ID+"/ack", map[string]any{"status": st}); code != 200 {
			t.Fatalf("ack %s = %d %s", st, code, b)
		}
	}
	again := a.lease("/tasks?page_size=2")
	if fmt.Sprint(ids(again)) != fmt.Sprint([]string{ts[4].ID, ts[5].ID}) {
		t.Fatalf("after retry/reauthenticate leased %v, want %v", ids(again), []string{ts[4].ID, ts[5].ID})
	}
	h, err := env.Store.History(context.Background(), env.Tenants[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range h {
		got = append(got, fmt.Sprintf("%d:%s:%s:%s", e.Sequence, e.Status, e.Message, e.AppID))
	}
	if want := "[1:success:done:8858 4:success:done:8858 2:error:Student has no school: 6:reauthenticate::]"; fmt.Sprint(got) != want {
		t.Fatalf("history = %v, want %s", got, want)
	}

	// Errors.
	id := ts[2].ID
	a.wantError(http.MethodPut, "/tasks/"+uuid.NewString()+"/ack", map[string]any{"status": "success"}, 404, "not_found")
	a.wantError(http.MethodPut, "/tasks/"+id+"/ack", map[string]any{"status": "success", "task_id": uuid.NewString()}, 400, "invalid_body")
	a.wantError(http.MethodPut, "/tasks/"+id+"/ack", map[string]any{"status": "maybe"}, 400, "invalid_body")
	a.wantError(http.MethodPut, "/tasks/"+id+"/ack", map[string]any{"error": map[string]any{"status": "five hundred"}}, 400, "invalid_body")
	a.wantError(http.MethodPut, "/tasks/"+id+"/ack", map[string]any{"error": "failed"}, 400, "invalid_body")
	a.wantError(http.MethodPut, "/tasks/"+id+"/ack", `{"status":`, 400, "invalid_body")
	a.wantError(http.MethodPut, "/tasks/not-a-uuid/ack", map[string]any{"status": "success"}, 400, "invalid_parameter")
	// Nothing above touched task 3.
	var found struct{ Data map[string]json.RawMessage }
	a.get("/tasks/admin/"+id, &found)
	if found.Data["data_event"] == nil {
		t.Fatalf("task 3 = %s", mustMarshal(found.Data))
	}
}

// An acknowledgement without a status records success, or error when it
// carries a 2022 error object, whose message is recorded when the
// acknowledgement has none (decisions ack-body and ack-error).
func TestAcknowledgeWithoutStatus(t *testing.T) { eachCredential(t, testAcknowledgeWithoutStatus) }

func testAcknowledgeWithoutStatus(t *testing.T, cred credential) {
	env := referencetest.Start(t)
	a := newAPIAs(t, env, cred, 0)
	ts := a.lease("/tasks?page_size=8")
	long := strings.Repeat("é", 5000)
	for _, c := range []struct {
		path   string
		body   any
		status string
	}{
		{"/tasks/" + ts[0].ID + "/ack", map[string]any{}, "success"},
		{"/tasks/" + ts[1].ID + "/ack", map[string]any{"message": "done"}, "success"},
		{"/tasks/admin/" + ts[2].ID + "/ack", map[string]any{"error": map[string]any{"message": "Student has no school"}}, "error"},
		{"/tasks/" + ts[3].ID + "/ack", map[string]any{"message": "mine", "error": map[string]any{"code": "E1", "details": "theirs"}}, "error"},
		{"/tasks/" + ts[4].ID + "/ack", map[string]any{"status": "retry", "error": map[string]any{"message": "later"}}, "retry"},
		{"/tasks/" + ts[5].ID + "/ack", map[string]any{"error": map[string]any{"status": 500, "ext_message": long}}, "error"},
		{"/tasks/" + ts[7].ID + "/ack", map[string]any{"error": map[string]any{}}, "success"}, // an empty error says nothing
	} {
		var r struct{ Data receipt }
		code, b := a.do(http.MethodPut, c.path, c.body)
		if code != 200 || json.Unmarshal(b, &r) != nil || r.Data.Status != c.status {
			t.Fatalf("PUT %s %s = %d %s, want 200 %s", c.path, mustMarshal(c.body), code, b, c.status)
		}
	}
	var r struct{ Data []receipt }
	code, b := a.do(http.MethodPut, "/tasks/ack", []any{map[string]any{"task_id": ts[6].ID, "message": "done"}})
	if code != 200 || json.Unmarshal(b, &r) != nil || len(r.Data) != 1 || r.Data[0].Status != "success" {
		t.Fatalf("group ack without status = %d %s", code, b)
	}
	// Acknowledging again without a status is the same outcome: the first receipt.
	if code, b := a.do(http.MethodPut, "/tasks/"+ts[0].ID+"/ack", map[string]any{}); code != 200 {
		t.Fatalf("repeated {} = %d %s", code, b)
	}
	a.wantError(http.MethodPut, "/tasks/"+ts[2].ID+"/ack", map[string]any{}, 409, "conflict")

	h, err := env.Store.History(context.Background(), env.Tenants[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, e := range h {
		got[e.TaskID.String()] = string(e.Status) + ":" + e.Message
	}
	want := map[string]string{
		ts[0].ID: "success:", ts[1].ID: "success:done", ts[2].ID: "error:Student has no school",
		ts[3].ID: "error:mine", ts[5].ID: "error:" + strings.Repeat("é", 4096), ts[6].ID: "success:done",
	}
	for id, w := range want {
		if got[id] != w {
			t.Errorf("history of %s = %.60q, want %.60q", id, got[id], w)
		}
	}
	if _, ok := got[ts[4].ID]; ok {
		t.Errorf("a retry was recorded: %q", got[ts[4].ID])
	}
}

func TestAcknowledgeGroup(t *testing.T) { eachCredential(t, testAcknowledgeGroup) }

func testAcknowledgeGroup(t *testing.T, cred credential) {
	env := referencetest.Start(t)
	a := newAPIAs(t, env, cred, 0)
	other := newAPIAs(t, env, cred, 1)
	ts := a.lease("/tasks?page_size=5")
	foreign := other.lease("/tasks?page_size=1")[0]
	total := func() int {
		var p page
		a.get("/tasks/admin", &p)
		return len(p.Data)
	}
	before := total()
	item := func(id, status string) map[string]any { return map[string]any{"task_id": id, "status": status} }
	for _, path := range []string{"/tasks/ack", "/tasks/admin/ack"} {
		for _, bad := range []string{uuid.NewString(), foreign.ID} {
			msg := a.wantError(http.MethodPut, path, []any{item(ts[0].ID, "success"), item(ts[1].ID, "retry"), item(bad, "success")}, 404, "not_found")
			if msg != fmt.Sprintf("task %s not found; no task was acknowledged", bad) {
				t.Errorf("404 message = %q", msg)
			}
		}
		a.wantError(http.MethodPut, path, []any{item(ts[0].ID, "success"), item(ts[0].ID, "success")}, 400, "invalid_body")
		a.wantError(http.MethodPut, path, []any{}, 400, "invalid_body")
		a.wantError(http.MethodPut, path, []any{map[string]any{"status": "success"}}, 400, "invalid_body")
		a.wantError(http.MethodPut, path, map[string]any{"task_id": ts[0].ID, "status": "success"}, 400, "invalid_body")
	}
	if n := total(); n != before {
		t.Fatalf("failed groups acknowledged %d tasks", before-n)
	}
	group := []any{item(ts[0].ID, "success"), item(ts[1].ID, "error"), item(ts[2].ID, "retry")}
	var r struct{ Data []receipt }
	code, b := a.do(http.MethodPut, "/tasks/ack", group)
	if code != 200 || json.Unmarshal(b, &r) != nil || len(r.Data) != 3 || r.Data[1].Status != "error" || r.Data[1].TaskID != ts[1].ID {
		t.Fatalf("group ack = %d %s", code, b)
	}
	if n := total(); n != before-2 {
		t.Fatalf("after group ack %d tasks, want %d", n, before-2)
	}
	// Repeating the group is idempotent; a conflicting item fails the whole group.
	if code, b := a.do(http.MethodPut, "/tasks/admin/ack", group); code != 200 {
		t.Fatalf("repeated group = %d %s", code, b)
	}
	a.wantError(http.MethodPut, "/tasks/ack", []any{item(ts[3].ID, "success"), item(ts[0].ID, "error")}, 409, "conflict")
	var found struct{ Data map[string]json.RawMessage }
	a.get("/tasks/admin/"+ts[3].ID, &found) // still queued
	// The other tenant's task is untouched.
	var of struct{ Data map[string]json.RawMessage }
	other.get("/tasks/admin/"+foreign.ID, &of)
}

func TestAdminListFindDelete(t *testing.T) { eachCredential(t, testAdminListFindDelete) }

func testAdminListFindDelete(t *testing.T, cred credential) {
	env := referencetest.Start(t)
	a := newAPIAs(t, env, cred, 0)
	n := queueSize(env.Tenants[0].Roster)
	var seqs []int64
	for _, size := range []int{1, 7, 2000} {
		seqs = seqs[:0]
		next := fmt.Sprintf("/tasks/admin?page_size=%d", size)
		for pages := 0; ; pages++ {
			code, b := a.do(http.MethodGet, next, nil)
			if code != 200 {
				t.Fatalf("GET %s = %d", next, code)
			}
			ts := tasksOf(t, b)
			if len(ts) == 0 {
				t.Fatalf("empty admin page %d at size %d", pages, size)
			}
			for _, task := range ts {
				seqs = append(seqs, task.Sequence)
			}
			var p page
			_ = json.Unmarshal(b, &p)
			if p.Paging.Next == nil {
				break
			}
			next = *p.Paging.Next
		}
		if len(seqs) != n {
			t.Fatalf("admin walk at %d: %d tasks, want %d", size, len(seqs), n)
		}
		for i, s := range seqs {
			if s != int64(i+1) {
				t.Fatalf("admin walk at %d: sequence %d at %d", size, s, i)
			}
		}
	}
	// The admin walk leased nothing.
	if got := a.lease("/tasks?page_size=1"); got[0].Sequence != 1 {
		t.Fatalf("after admin walk first lease is %d", got[0].Sequence)
	}
	// Find and delete see leased tasks too.
	victim := a.lease("/tasks?page_size=1")[0] // sequence 2
	var found struct{ Data map[string]json.RawMessage }
	a.get("/tasks/admin/"+victim.ID, &found)
	code, b := a.do(http.MethodDelete, "/tasks/admin/"+victim.ID, nil)
	var del struct{ Data map[string]taskView }
	if code != 200 || json.Unmarshal(b, &del) != nil || del.Data["sync_event"].ID != victim.ID {
		t.Fatalf("delete = %d %s", code, b)
	}
	a.wantError(http.MethodGet, "/tasks/admin/"+victim.ID, nil, 404, "not_found")
	a.wantError(http.MethodDelete, "/tasks/admin/"+victim.ID, nil, 404, "not_found")
	a.wantError(http.MethodPut, "/tasks/"+victim.ID+"/ack", map[string]any{"status": "success"}, 404, "not_found")
	a.wantError(http.MethodDelete, "/tasks/admin/"+uuid.NewString(), nil, 404, "not_found")
	a.wantError(http.MethodDelete, "/tasks/admin/zzz", nil, 400, "invalid_parameter")
	env.Clock.Advance(reference.DefaultTaskLease)
	for _, task := range a.lease("/tasks?page_size=2000") {
		if task.ID == victim.ID {
			t.Fatal("deleted task delivered")
		}
	}
	if h, _ := env.Store.History(context.Background(), env.Tenants[0].ID); len(h) != 0 {
		t.Fatalf("delete recorded an outcome: %v", h)
	}
}

func TestTaskIsolation(t *testing.T) { eachCredential(t, testTaskIsolation) }

func testTaskIsolation(t *testing.T, cred credential) {
	env := referencetest.Start(t)
	a, b := newAPIAs(t, env, cred, 0), newAPIAs(t, env, cred, 1)
	var p page
	a.get("/tasks/admin", &p)
	mine := tasksOf(t, mustMarshal(p))
	for _, task := range b.lease("/tasks?page_size=2000") {
		for _, m := range mine {
			if m.ID == task.ID {
				t.Fatalf("tenant 1 leased tenant 0's task %s", task.ID)
			}
		}
	}
	id := mine[0].ID
	b.wantError(http.MethodGet, "/tasks/admin/"+id, nil, 404, "not_found")
	b.wantError(http.MethodDelete, "/tasks/admin/"+id, nil, 404, "not_found")
	b.wantError(http.MethodPut, "/tasks/"+id+"/ack", map[string]any{"status": "success"}, 404, "not_found")
	b.wantError(http.MethodPut, "/tasks/admin/"+id+"/ack", map[string]any{"status": "success"}, 404, "not_found")
	b.wantError(http.MethodPut, "/tasks/ack", []any{map[string]any{"task_id": id, "status": "success"}}, 404, "not_found")
	b.wantError(http.MethodPut, "/tasks/admin/ack", []any{map[string]any{"task_id": id, "status": "success"}}, 404, "not_found")
	var f struct{ Data map[string]json.RawMessage }
	a.get("/tasks/admin/"+id, &f)
}

func mustMarshal(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

// Many consumers polling at once never receive the same task within a lease,
// and together they receive every task.
func TestConcurrentConsumers(t *testing.T) { eachCredential(t, testConcurrentConsumers) }

func testConcurrentConsumers(t *testing.T, cred credential) {
	env := referencetest.Start(t)
	n := queueSize(env.Tenants[0].Roster)
	token := tokenAs(t, env, cred, 0)
	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	for range 24 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				req, _ := http.NewRequest(http.MethodGet, env.URL+"/tasks?page_size=3", nil)
				req.Header.Set("Authorization", "Bearer "+token)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					errs <- err
					return
				}
				var p struct{ Data []map[string]taskView }
				err = jsonDecode(resp, &p)
				if err != nil || resp.StatusCode != 200 {
					errs <- fmt.Errorf("status %d: %v", resp.StatusCode, err)
					return
				}
				if len(p.Data) == 0 {
					return
				}
				mu.Lock()
				for _, task := range p.Data {
					for _, v := range task {
						seen[v.ID]++
					}
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if len(seen) != n {
		t.Fatalf("consumers received %d distinct tasks, want %d", len(seen), n)
	}
	for id, c := range seen {
		if c != 1 {
			t.Fatalf("task %s delivered %d times within one lease", id, c)
		}
	}
}

// Stopping the server and starting another on the same file loses no task
// and duplicates none: acknowledged tasks stay gone, leased ones stay leased
// until their lease ends, the rest are delivered once.
func TestRestartKeepsQueue(t *testing.T) {
	env := referencetest.Start(t, referencetest.WithBatchSize(2000)) // one GET leases the whole queue
	a := newAPI(t, env, 0)
	n := queueSize(env.Tenants[0].Roster)
	leased := a.lease("/tasks?page_size=10")
	var acks []any
	for _, task := range leased[:4] {
		acks = append(acks, map[string]any{"task_id": task.ID, "status": "success"})
	}
	if code, b := a.do(http.MethodPut, "/tasks/ack", acks); code != 200 {
		t.Fatalf("ack = %d %s", code, b)
	}
	env.Close()

	env2 := referencetest.Start(t, referencetest.WithDBPath(env.DBPath), referencetest.WithBatchSize(2000))
	env2.Clock.Set(env.Clock.Now())
	b := newAPI(t, env2, 0) // tokens are issued anew; old ones would work too
	delivered := map[string]int{}
	for _, task := range b.lease("/tasks?page_size=2000") {
		delivered[task.ID]++
	}
	if len(delivered) != n-10 {
		t.Fatalf("after restart %d tasks delivered, want the %d never leased", len(delivered), n-10)
	}
	env2.Clock.Advance(reference.DefaultTaskLease)
	for _, task := range b.lease("/tasks?page_size=2000") {
		delivered[task.ID]++
	}
	for _, task := range leased[:4] {
		if delivered[task.ID] != 0 {
			t.Fatalf("acknowledged task %s delivered after restart", task.ID)
		}
	}
	for _, task := range leased[4:] {
		if delivered[task.ID] != 1 {
			t.Fatalf("leased task %s delivered %d times after its lease ended", task.ID, delivered[task.ID])
		}
	}
	if len(delivered) != n-4 {
		t.Fatalf("%d distinct tasks after restart, want %d", len(delivered), n-4)
	}
	// Sequences continue past the old ones.
	nt, err := env2.Store.Enqueue(context.Background(), env2.Tenants[0].ID, []store.NewTask{reference.LifecycleTask("X", "")}, env2.Clock.Now())
	if err != nil || nt[0].Sequence != int64(n+1) {
		t.Fatalf("sequence after restart = %v, %v", nt, err)
	}
}

// Loading changed data produces CHANGE events with prior values and DELETE
// events, in one group framed by SYNC_START and SYNC_END.
func TestLoadProducesChangeAndDelete(t *testing.T) {
	env := referencetest.Start(t, referencetest.WithTenants(1))
	r := env.Tenants[0].Roster
	changed := reference.Roster{Persons: r.Persons[:1], Deletes: []uuid.UUID{r.Courses[0].Sys.ID}, Origin: "resend"}
	p := changed.Persons[0]
	newLast := "Núñez-García"
	name := p.Name
	name.Last = newLast
	p.Name = name
	changed.Persons = []models.Person{p}
	res, err := reference.Load(context.Background(), env.Store, env.Tenants[0].ID, changed, env.Clock.Now())
	if err != nil || res.Changed != 1 || res.Deleted != 1 || len(res.Tasks) != 4 {
		t.Fatalf("Load = %+v, %v", res, err)
	}
	a := newAPI(t, env, 0)
	var three struct {
		Data []struct {
			Action  string                     `json:"action"`
			GroupID string                     `json:"group_id"`
			Origin  string                     `json:"origin"`
			Changes map[string]json.RawMessage `json:"changes"`
			Object  string                     `json:"object_id"`
		}
	}
	a.get(fmt.Sprintf("/tasks/admin?schema=3&page=1&page_size=%d", queueSize(r)), &three)
	if len(three.Data) != 4 {
		t.Fatalf("new tasks = %+v", three.Data)
	}
	got := three.Data
	if got[0].Action != "SYNC_START" || got[0].Origin != "resend" || got[1].Action != "CHANGE" || got[2].Action != "DELETE" || got[3].Action != "SYNC_END" {
		t.Fatalf("actions = %+v", got)
	}
	for _, task := range got {
		if task.GroupID != res.GroupID.String() {
			t.Fatalf("group ids differ: %+v", got)
		}
	}
	if string(got[1].Changes["name"]) != `{"first":"Zoë","last":"Núñez"}` || len(got[1].Changes) != 1 || got[1].Object != p.Sys.ID.String() {
		t.Fatalf("changes = %s", mustMarshal(got[1].Changes))
	}
	a.wantError(http.MethodGet, "/rostering/courses/"+r.Courses[0].Sys.ID.String(), nil, 404, "not_found")
	var person struct {
		Data struct {
			Name struct{ Last string } `json:"name"`
		}
	}
	a.get("/rostering/persons/"+p.Sys.ID.String(), &person)
	if person.Data.Name.Last != newLast {
		t.Fatalf("changed person reads %q", person.Data.Name.Last)
	}
}

// Memberships are objects with data events of their own; loading the same
// roster again enqueues no data event at all, only the sync's frame; a
// person's new label changes the person and every membership naming it.
func TestLoadMembershipsAndUnchangedReload(t *testing.T) {
	env := referencetest.Start(t, referencetest.WithTenants(1))
	ctx := context.Background()
	tn := env.Tenants[0].ID
	r := env.Tenants[0].Roster
	want := memberships(r)
	if len(want) == 0 {
		t.Fatal("the district names no membership")
	}
	a := newAPI(t, env, 0)
	type event struct {
		Action     string `json:"action"`
		ObjectID   string `json:"object_id"`
		ObjectType string `json:"object_type"`
		Data       struct {
			Sys     struct{ ID, Type string } `json:"$sys"`
			Person  *sysOnly                  `json:"$person"`
			Org     *sysOnly                  `json:"$org"`
			Section *sysOnly                  `json:"$section"`
		} `json:"data"`
	}
	events := func() []event {
		var p struct{ Data []event }
		a.get("/tasks/admin?schema=3&page_size=2000", &p)
		return p.Data
	}
	added := map[string]event{}
	for _, e := range events() {
		if e.Action == "ADD" {
			added[e.ObjectID] = e
		}
	}
	for id, typ := range want {
		e, ok := added[id]
		if !ok || e.ObjectType != typ || e.Data.Sys.ID != id || e.Data.Person == nil || e.Data.Person.Sys.ID == "" {
			t.Fatalf("membership %s: ADD %+v, want object_type %s with $person", id, e, typ)
		}
		if (typ == "RDM:PersonOrgMembership") != (e.Data.Org != nil) || (typ == "RDM:PersonSectionMembership") != (e.Data.Section != nil) {
			t.Fatalf("membership %s of %s: $org %v, $section %v", id, typ, e.Data.Org, e.Data.Section)
		}
	}

	before := queueSize(r)
	res, err := reference.Load(ctx, env.Store, tn, r, env.Clock.Now())
	if err != nil || res.Added != 0 || res.Changed != 0 || res.Deleted != 0 || res.Unchanged != before-3 || len(res.Tasks) != 2 {
		t.Fatalf("reload of the same roster = %+v (%d tasks), %v; want every object unchanged and only SYNC_START, SYNC_END", res, len(res.Tasks), err)
	}

	p := r.Persons[0]
	label := "Zoë N. Núñez"
	p.Sys.Label = label
	res, err = reference.Load(ctx, env.Store, tn, reference.Roster{Persons: []models.Person{p}}, env.Clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	wantChanged := 1 + len(p.Schools) + len(p.Sections)
	if res.Changed != wantChanged || res.Unchanged != 0 {
		t.Fatalf("relabelled person: %+v, want %d changed (the person and its memberships)", res, wantChanged)
	}
	changed := map[string]string{}
	all := events()
	if len(all) != before+2+2+wantChanged {
		t.Fatalf("queue holds %d tasks, want %d", len(all), before+2+2+wantChanged)
	}
	for _, e := range all[before+2:] { // past the first sync and the reload's frame
		if e.Action == "CHANGE" {
			changed[e.ObjectID] = e.ObjectType
		}
	}
	for _, m := range p.Sections {
		if changed[m.Sys.Membership.ID.String()] != "RDM:PersonSectionMembership" {
			t.Fatalf("no CHANGE of section membership %s: %v", m.Sys.Membership.ID, changed)
		}
	}
}

// A batch that fails to render (a corrupt payload) is handed back at once,
// not hidden from every consumer for the lease.
func TestLeaseReleasedWhenRenderFails(t *testing.T) {
	env := referencetest.Start(t, referencetest.WithTenants(1), referencetest.WithBatchSize(2000))
	ctx := context.Background()
	tn := env.Tenants[0].ID
	scope := []uuid.UUID{tn}
	queued, _, err := env.Store.ListTasks(ctx, store.TaskQuery{Tenants: scope, Limit: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.Store.Enqueue(ctx, tn, []store.NewTask{{Kind: store.TaskLifecycle, Payload: []byte(`["not an object"]`)}}, env.Clock.Now()); err != nil {
		t.Fatal(err)
	}
	a := newAPI(t, env, 0)
	if code, b := a.do(http.MethodGet, "/tasks?page_size=2000", nil); code != http.StatusInternalServerError {
		t.Fatalf("GET /tasks over a corrupt task = %d (%d bytes), want 500", code, len(b))
	}
	got, err := env.Store.LeaseTasks(ctx, store.LeaseQuery{Tenants: scope, Limit: 1 << 20, Now: env.Clock.Now(), Lease: time.Minute})
	if err != nil || len(got) != len(queued)+1 {
		t.Fatalf("after the failed GET, %d of %d tasks are leasable (%v)", len(got), len(queued)+1, err)
	}
}
