package conformance

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"time"
)

// payloadKeys are the schema 2.x payload keys of a task.
var payloadKeys = []string{"lifecycle_event", "sync_event", "data_event", "authenticate", "grades_query"}

// taskInfo is what the suite needs of a task, in either rendering.
type taskInfo struct {
	id, tenantID string
	seq          int64
	hasSeq       bool
}

func taskOf(o object) taskInfo {
	src := o
	for _, k := range payloadKeys {
		if p, ok := o[k].(map[string]any); ok {
			src = p
			break
		}
	}
	t := taskInfo{}
	t.id, _ = src["id"].(string)
	t.tenantID, _ = src["tenant_id"].(string)
	if n, ok := src["sequence"].(json.Number); ok {
		if v, err := n.Int64(); err == nil {
			t.seq, t.hasSeq = v, true
		}
	}
	return t
}

// taskState is shared by the task checks, which run in order: the tasks the
// first check leased feed the acknowledgement checks.
type taskState struct {
	leased []taskInfo
	used   map[string]bool
}

func (r *run) taskChecks() []check {
	st := &taskState{used: map[string]bool{}}
	return []check{
		{group: "tasks", name: "listTasks leases its batch (not returned again at once), oldest first", run: func(c *C) { c.checkLeased(st) }},
		{group: "tasks", name: "acknowledgement removes a task; repeating it succeeds, changing it conflicts", run: func(c *C) { c.checkAckRemoves(st) }},
		{group: "tasks", name: "an acknowledgement without a status records success, or error with a 2022 error object", run: func(c *C) { c.checkAckWithoutStatus(st) }},
		{group: "tasks", name: "malformed acknowledgements get 400 and change nothing", run: func(c *C) { c.checkBadAcks(st) }},
		{group: "tasks", name: "group acknowledgement with an unknown id is all or nothing", run: func(c *C) { c.checkGroupAck(st) }},
		{group: "tasks", name: "retry releases a task for redelivery at once", run: func(c *C) { c.checkRetry(st) }},
		{group: "tasks", name: "admin find, acknowledge and delete", run: func(c *C) { c.checkAdmin(st) }},
		{group: "tasks", name: "task schema versions 2.0.0 and 3.0.0 render the same tasks", run: checkTaskSchemas},
		{group: "tasks", name: "a leased task is delivered again after its lease expires", run: func(c *C) { c.checkRedelivery(st) }},
	}
}

// lease calls listTasks and returns the batch.
func (c *C) lease(as *tenant, pageSize int) []taskInfo {
	q := url.Values{}
	if pageSize > 0 {
		q.Set("page_size", strconv.Itoa(pageSize))
	}
	ex := c.get(as, "/tasks", q)
	c.want(ex, 200, "listTasks must answer 200")
	data, _ := c.listEnvelope(ex, "listTasks")
	if pageSize > 0 && len(data) > pageSize {
		c.failf("listTasks: the batch holds at most page_size tasks, but page_size=%d answered %d", pageSize, len(data))
	}
	var out []taskInfo
	for i, d := range data {
		o, _ := d.(map[string]any)
		t := taskOf(o)
		if t.id == "" {
			c.failf("listTasks: every task carries its id, but data[%d] has none", i)
		}
		out = append(out, t)
	}
	return out
}

// adminIDs walks the admin list of as and returns its tasks by id.
func (c *C) adminTasks(as *tenant) (map[string]object, []string) {
	objs, _ := c.walk(as, adminTasks, 0)
	byID := map[string]object{}
	var order []string
	for _, o := range objs {
		t := taskOf(o)
		byID[t.id] = o
		order = append(order, t.id)
	}
	return byID, order
}

// next returns a leased task no check has used yet, leasing one if needed.
func (c *C) next(st *taskState) taskInfo {
	for len(st.leased) > 0 {
		t := st.leased[0]
		st.leased = st.leased[1:]
		if !st.used[t.id] {
			st.used[t.id] = true
			return t
		}
	}
	for _, t := range c.lease(c.r.tenants[0], 1) {
		st.used[t.id] = true
		return t
	}
	c.skipLacking(loadTasks, taskWriteOps(), "no unleased task is left in the queue of tenant 1 to use (the queue is empty, or earlier runs hold leases)")
	return taskInfo{}
}

func (c *C) checkLeased(st *taskState) {
	as := c.r.tenants[0]
	queued, _ := c.adminTasks(as)
	if len(queued) == 0 {
		c.r.queueEmpty = true
		c.skipLacking(loadTasks, taskWriteOps(), "the task queue of tenant 1 is empty")
	}
	b1 := c.lease(as, 2)
	if len(b1) == 0 {
		c.skipf("listTasks returned no task although the admin list holds %d: all are leased (by an earlier run?)", len(queued))
	}
	for i, t := range b1 {
		if _, ok := queued[t.id]; !ok {
			c.failf("listTasks returned task %s, which the admin list of the same tenant does not hold", t.id)
		}
		if i > 0 && t.hasSeq && b1[i-1].hasSeq && t.seq <= b1[i-1].seq {
			c.failf("listTasks returns tasks oldest first (ascending sequence), but sequence %d followed %d", t.seq, b1[i-1].seq)
		}
	}
	b2 := c.lease(as, 2)
	for _, t := range b2 {
		for _, u := range b1 {
			if t.id == u.id {
				c.failf("a leased task is not returned again until acknowledged with retry or its lease expires, but task %s came back from the very next listTasks", t.id)
			}
		}
	}
	st.leased = append(append(st.leased, b1...), b2...)
	c.notef("leased %d then %d other tasks of %d queued", len(b1), len(b2), len(queued))
}

func (c *C) ack(as *tenant, path string, body string) *exchange {
	return c.send(request{method: http.MethodPut, path: path, body: []byte(body), as: as})
}

// stillQueued ends the check unless the admin API still finds id.
func (c *C) stillQueued(as *tenant, id, promise string) {
	ex := c.get(as, "/tasks/admin/"+id, nil)
	if ex.Status != 200 {
		c.failf("%s, but afterwards findAdminTask %s answered %d: the task is gone", promise, id, ex.Status)
	}
}

// gone ends the check unless the admin API answers 404 for id.
func (c *C) gone(as *tenant, id, promise string) {
	ex := c.get(as, "/tasks/admin/"+id, nil)
	if ex.Status != 404 {
		c.failf("%s, but afterwards findAdminTask %s answered %d: the task is still queued", promise, id, ex.Status)
	}
}

func (c *C) receipt(ex *exchange, id, status string) {
	m, _ := ex.JSON.(map[string]any)
	d, _ := m["data"].(map[string]any)
	if d["task_id"] != id || d["status"] != status {
		c.failf("an acknowledgement answers a receipt of that task and status, but %s answered %s", ex.Rel, abridge(ex.Body, 200))
	}
}

func (c *C) checkAckRemoves(st *taskState) {
	as := c.r.tenants[0]
	t := c.next(st)
	path := "/tasks/" + t.id + "/ack"
	ex := c.ack(as, path, `{"status":"success","message":"acknowledged by the interop conformance suite"}`)
	c.want(ex, 200, "acknowledgeTask of a leased task must answer 200")
	c.receipt(ex, t.id, "success")
	c.gone(as, t.id, "success removes a task from the queue")
	ex = c.ack(as, path, `{"status":"success"}`)
	c.want(ex, 200, "repeating an acknowledgement with the same status succeeds again")
	ex = c.ack(as, path, `{"status":"error","message":"conformance: a different outcome"}`)
	c.wantError(ex, 409, "an acknowledgement with a different outcome than the recorded one is a conflict")
}

// checkAckWithoutStatus checks the spec's decisions ack-body and ack-error:
// status is optional (the vendor's page says so), {} and a bare message
// record success, and the 2022 clients' {"error": {"message"}} records error.
func (c *C) checkAckWithoutStatus(st *taskState) {
	as := c.r.tenants[0]
	t1, t2, t3 := c.next(st), c.next(st), c.next(st)
	ex := c.ack(as, "/tasks/"+t1.id+"/ack", `{}`)
	c.want(ex, 200, "acknowledgeTask with {} (status is optional) must answer 200")
	c.receipt(ex, t1.id, "success")
	c.gone(as, t1.id, "an acknowledgement without a status records success, which removes the task")
	ex = c.ack(as, "/tasks/ack", `[{"task_id":"`+t2.id+`","message":"acknowledged by the interop conformance suite"}]`)
	c.want(ex, 200, "acknowledgeTasks with items that carry no status must answer 200")
	m, _ := ex.JSON.(map[string]any)
	d, _ := m["data"].([]any)
	if r, _ := firstOf(d).(map[string]any); r["task_id"] != t2.id || r["status"] != "success" {
		c.failf("a group item without a status records success, but %s answered %s", ex.Rel, abridge(ex.Body, 200))
	}
	c.gone(as, t2.id, "a group acknowledgement without a status records success, which removes the task")
	ex = c.ack(as, "/tasks/"+t3.id+"/ack", `{"error":{"message":"conformance: the 2022 error shape"}}`)
	c.want(ex, 200, `acknowledgeTask with the 2022 {"error": {"message": ...}} and no status must answer 200`)
	c.receipt(ex, t3.id, "error")
	c.gone(as, t3.id, "an acknowledgement with an error object and no status records error, which removes the task")
}

func firstOf(a []any) any {
	if len(a) == 0 {
		return nil
	}
	return a[0]
}

func (c *C) checkBadAcks(st *taskState) {
	as := c.r.tenants[0]
	t := c.next(st)
	path := "/tasks/" + t.id + "/ack"
	for _, b := range []struct{ what, body, ctype string }{
		{"a body that is not JSON", `{"status":`, ""},
		{"an error object whose status is not an integer", `{"error":{"status":"failed","message":"x"}}`, ""},
		{"an unknown status", `{"status":"done"}`, ""},
		{"a task_id that differs from the path id", `{"task_id":"` + randomUUID() + `","status":"success"}`, ""},
		{"a message longer than 4096 characters", `{"status":"error","message":"` + longMessage + `"}`, ""},
	} {
		ex := c.send(request{method: http.MethodPut, path: path, body: []byte(b.body), ctype: b.ctype, as: as})
		c.wantError(ex, 400, "acknowledgeTask with "+b.what+" must get 400")
	}
	for _, body := range []string{`[]`, `{"task_id":"` + t.id + `","status":"success"}`, `[{"status":"success"}]`} {
		ex := c.ack(as, "/tasks/ack", body)
		c.wantError(ex, 400, fmt.Sprintf("acknowledgeTasks with %s (not a non-empty array of items with task_id) must get 400", abridge([]byte(body), 60)))
	}
	c.stillQueued(as, t.id, "a rejected acknowledgement changes nothing")
}

var longMessage = func() string {
	b := make([]byte, 4100)
	for i := range b {
		b[i] = 'x'
	}
	return string(b)
}()

func (c *C) checkGroupAck(st *taskState) {
	as := c.r.tenants[0]
	t := c.next(st)
	unknown := randomUUID()
	for _, path := range []string{"/tasks/ack", "/tasks/admin/ack"} {
		ex := c.ack(as, path, `[{"task_id":"`+t.id+`","status":"success"},{"task_id":"`+unknown+`","status":"success"}]`)
		c.wantError(ex, 404, "a group acknowledgement naming an unknown task gets 404")
		c.stillQueued(as, t.id, "a group acknowledgement is all or nothing: when one task is unknown none is acknowledged")
	}
	ex := c.ack(as, "/tasks/ack", `[{"task_id":"`+t.id+`","status":"success"}]`)
	c.want(ex, 200, "a group acknowledgement of known tasks answers 200")
	m, _ := ex.JSON.(map[string]any)
	if d, _ := m["data"].([]any); len(d) != 1 {
		c.failf("a group acknowledgement answers one receipt per task, but %s answered %s", ex.Rel, abridge(ex.Body, 200))
	}
	c.gone(as, t.id, "a group acknowledgement with success removes its tasks")
}

func (c *C) checkRetry(st *taskState) {
	as := c.r.tenants[0]
	t := c.next(st)
	ex := c.ack(as, "/tasks/"+t.id+"/ack", `{"status":"retry","message":"conformance: deliver again"}`)
	c.want(ex, 200, "acknowledgeTask with retry answers 200")
	c.receipt(ex, t.id, "retry")
	c.stillQueued(as, t.id, "retry keeps the task in the queue")
	// The retried task is now older than every task never leased, so the next
	// batches (oldest first) must hold it.
	for range 5 {
		b := c.lease(as, 10)
		for _, u := range b {
			if u.id == t.id {
				st.leased = append(st.leased, b...)
				return
			}
		}
		st.leased = append(st.leased, b...)
		if len(b) == 0 {
			break
		}
	}
	c.failf("retry releases a task for redelivery (oldest first), but task %s was not in the next batches of listTasks", t.id)
}

func (c *C) checkAdmin(st *taskState) {
	as := c.r.tenants[0]
	queued, order := c.adminTasks(as)
	var pick []string
	for _, id := range order {
		if !st.used[id] {
			pick = append(pick, id)
		}
		if len(pick) == 3 {
			break
		}
	}
	if len(pick) < 3 {
		c.skipLacking(loadTasks, []string{"findAdminTask", "deleteAdminTask", "acknowledgeAdminTask", "acknowledgeAdminTasks"}, "the admin list of tenant 1 holds %d unused tasks; this check needs 3", len(pick))
	}
	for _, id := range pick {
		st.used[id] = true
	}
	x, y, z := pick[0], pick[1], pick[2]
	found, ex := c.find(as, "/tasks/admin/", "findAdminTask", x)
	if found == nil {
		c.failf("findAdminTask must find a task the admin list shows, but %s answered %d", ex.Rel, ex.Status)
	}
	if !reflect.DeepEqual(found, queued[x]) {
		c.failf("findAdminTask must answer the task as listAdminTasks shows it, but %s answered %s", ex.Rel, abridge(ex.Body, 300))
	}
	ex = c.send(request{method: http.MethodDelete, path: "/tasks/admin/" + x, as: as})
	c.want(ex, 200, "deleteAdminTask of a queued task answers 200 with the task")
	m, _ := ex.JSON.(map[string]any)
	if d, _ := m["data"].(map[string]any); taskOf(d).id != x {
		c.failf("deleteAdminTask answers the deleted task, but %s answered %s", ex.Rel, abridge(ex.Body, 200))
	}
	c.gone(as, x, "deleteAdminTask removes the task")
	ex = c.send(request{method: http.MethodDelete, path: "/tasks/admin/" + x, as: as})
	c.wantError(ex, 404, "deleting a task already deleted gets 404")
	after, _ := c.adminTasks(as)
	if _, ok := after[x]; ok {
		c.failf("deleteAdminTask removes the task, but listAdminTasks still shows %s", x)
	}

	ex = c.ack(as, "/tasks/admin/"+y+"/ack", `{"status":"error","message":"conformance: recorded as error"}`)
	c.want(ex, 200, "acknowledgeAdminTask answers 200")
	c.receipt(ex, y, "error")
	c.gone(as, y, "acknowledgeAdminTask with error removes the task")

	ex = c.ack(as, "/tasks/admin/ack", `[{"task_id":"`+z+`","status":"success"}]`)
	c.want(ex, 200, "acknowledgeAdminTasks answers 200")
	c.gone(as, z, "acknowledgeAdminTasks with success removes the task")
}

func checkTaskSchemas(c *C) {
	as := c.r.tenants[0]
	_, v2 := c.adminTasks(as)
	if len(v2) == 0 {
		c.skipLacking(loadTasks, nil, "the task queue of tenant 1 is empty")
	}
	ex := c.get(as, "/tasks/admin", url.Values{"schema": {"3.0.0"}})
	c.want(ex, 200, "listAdminTasks with schema=3.0.0 answers 200")
	data, _ := c.listEnvelope(ex, "listAdminTasks")
	for i, d := range data {
		o, _ := d.(map[string]any)
		if _, ok := o["type"].(string); !ok {
			c.failf("schema 3.0.0 renders tasks flat with a type, but task %d of %s has none: %s", i, ex.Rel, short(o))
		}
		if id, _ := o["id"].(string); id == "" {
			c.failf("schema 3.0.0 renders the task id at the root, but task %d of %s has none", i, ex.Rel)
		}
	}
	ex = c.get(as, "/tasks/admin", url.Values{"schema": {"9.9.9"}})
	c.wantError(ex, 400, "an unknown task schema version gets 400")
}

func (c *C) checkRedelivery(st *taskState) {
	if c.r.cfg.LeaseWait <= 0 {
		c.skipf("the server's lease was not given (--lease-wait): waiting for a lease to expire was not attempted")
	}
	as := c.r.tenants[0]
	b := c.lease(as, 1)
	var t taskInfo
	if len(b) == 1 {
		t = b[0]
	} else {
		for _, u := range st.leased {
			if !st.used[u.id] {
				t = u
				break
			}
		}
	}
	if t.id == "" {
		c.skipLacking(loadTasks, nil, "no task of tenant 1 is left to lease")
	}
	st.used[t.id] = true
	for _, u := range c.lease(as, 0) {
		if u.id == t.id {
			c.failf("a leased task is not returned again before its lease expires, but task %s came back at once", t.id)
		}
	}
	wait := c.r.cfg.LeaseWait + c.r.cfg.LeaseWait/10 + 100*time.Millisecond
	c.notef("waited %s for the lease of task %s to expire", wait, t.id)
	if p := c.r.cfg.Progress; p != nil {
		// The one long pause of a run: say what it waits for.
		fmt.Fprintf(p, "waiting %s (the lease given by --lease-wait, plus a margin) for the lease of task %s to expire, "+
			"to check that an unacknowledged task is delivered again…\n", wait, t.id)
	}
	if err := c.r.cfg.Wait(c.ctx, wait); err != nil {
		c.failf("waiting for the lease was interrupted: %v", err)
	}
	for range 5 {
		b := c.lease(as, 0)
		for _, u := range b {
			if u.id == t.id {
				return
			}
		}
		if len(b) == 0 {
			break
		}
	}
	c.failf("a task whose lease expired is returned again by listTasks, but task %s was not redelivered %s after it was leased", t.id, wait)
}
