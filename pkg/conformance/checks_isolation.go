package conformance

import (
	"fmt"
	"net/http"
	"net/url"
)

// The isolation checks assume what the contract's ids are: Data Sync ids,
// unique across tenants. Two tenants that legitimately share an id would be
// indistinguishable from a server that mixes them, over HTTP alone.

func (r *run) isolationChecks() []check {
	need := func(f func(c *C, a, b *tenant)) func(c *C) {
		return func(c *C) {
			if len(c.r.tenants) < 2 {
				c.skipf("needs a second client of another tenant (--client-id-2, --client-secret-2)")
			}
			f(c, c.r.tenants[0], c.r.tenants[1])
		}
	}
	// The same promises hold for an LTI JWT caller (Config.LTIToken) in
	// place of the first client.
	needLTI := func(f func(c *C, a, b *tenant)) func(c *C) {
		return func(c *C) {
			lt := c.needLTI()
			if len(c.r.tenants) < 2 {
				c.skipf("needs a second client of another tenant (--client-id-2, --client-secret-2)")
			}
			f(c, lt, c.r.tenants[1])
		}
	}
	return []check{
		{group: "isolation", name: "no list shows another tenant's objects", run: need(checkListsIsolated)},
		{group: "isolation", name: "no find finds another tenant's objects", run: need(checkFindsIsolated)},
		{group: "isolation", name: "each tenant's queue holds only its own tasks", run: need(checkQueuesIsolated)},
		{group: "isolation", name: "no acknowledgement or delete reaches another tenant's task", run: need(checkAcksIsolated)},
		{group: "isolation", name: "LTI JWT: no list shows another tenant's objects", run: needLTI(checkListsIsolated)},
		{group: "isolation", name: "LTI JWT: no find finds another tenant's objects", run: needLTI(checkFindsIsolated)},
		{group: "isolation", name: "LTI JWT: each tenant's queue holds only its own tasks", run: needLTI(checkQueuesIsolated)},
		{group: "isolation", name: "LTI JWT: no acknowledgement or delete reaches another tenant's task", run: needLTI(checkAcksIsolated)},
	}
}

func ids(objs []object, l list) map[string]bool {
	m := map[string]bool{}
	for _, o := range objs {
		m[listID(l, o)] = true
	}
	return m
}

func checkListsIsolated(c *C, a, b *tenant) {
	total := 0
	for _, l := range rosterLists {
		ia := ids(c.all(a, l), l)
		for _, o := range c.all(b, l) {
			total++
			if id := sysID(o); ia[id] {
				c.failf("a tenant sees only its own data, but %s shows %s to both %s and %s", l.op, id, a.label, b.label)
			}
		}
		total += len(ia)
	}
	if total == 0 {
		c.skipLacking(loadRoster, nil, "neither tenant has roster data")
	}
	c.notef("%d objects across %d lists, none shared", total, len(rosterLists))
}

func checkFindsIsolated(c *C, a, b *tenant) {
	n := 0
	for _, pair := range [][2]*tenant{{a, b}, {b, a}} {
		owner, other := pair[0], pair[1]
		for _, l := range rosterLists {
			if l.find == "" || l.op == "listStudents" || l.op == "listTeachers" {
				continue
			}
			objs := c.all(owner, l)
			if len(objs) > 5 {
				objs = objs[:5]
			}
			for _, o := range objs {
				n++
				ex := c.get(other, l.find+sysID(o), nil)
				c.wantError(ex, 404, fmt.Sprintf("%s of %s must not find an object of %s (%s lists it)", l.findOp, other.label, owner.label, l.op))
			}
			if l.op == "listOrgs" && len(objs) > 0 {
				ex := c.get(other, "/rostering/orgs/"+sysID(objs[0])+"/students", nil)
				c.wantError(ex, 404, fmt.Sprintf("listStudentsForOrg of %s must not list the members of an org of %s", other.label, owner.label))
			}
		}
	}
	if n == 0 {
		c.skipLacking(loadRoster, nil, "neither tenant has roster data")
	}
	c.notef("%d finds across tenants answered 404", n)
}

// tenantOf learns a tenant's id from its task payloads (the API has no "who
// am I") and wants all of them to agree.
func (c *C) tenantOf(as *tenant) (map[string]object, string) {
	queued, _ := c.adminTasks(as)
	id := ""
	for tid, o := range queued {
		t := taskOf(o)
		if id == "" {
			id = t.tenantID
		} else if t.tenantID != id {
			c.failf("a tenant's queue holds only its own tasks, but the admin list of %s holds task %s of tenant_id %s beside tasks of %s", as.label, tid, t.tenantID, id)
		}
	}
	return queued, id
}

func checkQueuesIsolated(c *C, a, b *tenant) {
	qa, ta := c.tenantOf(a)
	qb, tb := c.tenantOf(b)
	if len(qa) == 0 || len(qb) == 0 {
		c.skipLacking(loadTasks, nil, "a task queue is empty (%s: %d tasks, %s: %d): nothing to compare", a.label, len(qa), b.label, len(qb))
	}
	if ta == tb {
		c.failf("each tenant's queue holds only its own tasks, but the tasks of %s and %s both carry tenant_id %s", a.label, b.label, ta)
	}
	for id := range qb {
		if _, ok := qa[id]; ok {
			c.failf("each tenant's queue holds only its own tasks, but task %s is in the admin lists of both tenants", id)
		}
	}
	// listTasks' tenant_id parameter restricts; it must never widen.
	ex := c.get(a, "/tasks", url.Values{"tenant_id": {tb}, "page_size": {"1"}})
	if ex.Status == 200 {
		c.conforms()
		data, _ := c.listEnvelope(ex, "listTasks")
		for _, d := range data {
			o, _ := d.(map[string]any)
			if t := taskOf(o); qb[t.id] != nil || t.tenantID == tb {
				c.failf("listTasks with tenant_id of another tenant must not deliver that tenant's tasks, but %s received task %s of %s", a.label, t.id, b.label)
			}
		}
	}
	c.notef("%s is tenant %s (%d tasks), %s is tenant %s (%d tasks)", a.label, ta, len(qa), b.label, tb, len(qb))
}

func checkAcksIsolated(c *C, a, b *tenant) {
	qb, _ := c.adminTasks(b)
	var victim string
	for id := range qb {
		victim = id
		break
	}
	if victim == "" {
		c.skipLacking(loadTasks, nil, "the task queue of %s is empty: there is no task to protect", b.label)
	}
	one := `{"status":"success","message":"conformance: must not cross tenants"}`
	group := `[{"task_id":"` + victim + `","status":"success"}]`
	for _, q := range []request{
		{method: http.MethodGet, path: "/tasks/admin/" + victim},
		{method: http.MethodPut, path: "/tasks/" + victim + "/ack", body: []byte(one)},
		{method: http.MethodPut, path: "/tasks/ack", body: []byte(group)},
		{method: http.MethodPut, path: "/tasks/admin/" + victim + "/ack", body: []byte(one)},
		{method: http.MethodPut, path: "/tasks/admin/ack", body: []byte(group)},
		{method: http.MethodDelete, path: "/tasks/admin/" + victim},
	} {
		q.as = a
		ex := c.send(q)
		c.wantError(ex, 404, fmt.Sprintf("%s of %s must not reach a task of %s", ex.OpID, a.label, b.label))
		c.stillQueued(b, victim, fmt.Sprintf("%s of %s must not reach a task of %s", ex.OpID, a.label, b.label))
	}
	c.notef("task %s of %s survived six operations of %s", victim, b.label, a.label)
}
