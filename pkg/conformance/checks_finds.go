package conformance

import "fmt"

// maxFinds caps the finds per list so that a large roster still runs in
// well under a minute; the report says when the cap applied.
const maxFinds = 1000

func (r *run) findChecks() []check {
	var ks []check
	for _, l := range rosterLists {
		if l.find == "" || l.op == "listStudents" || l.op == "listTeachers" {
			continue // students and teachers are persons: listPersons covers them
		}
		ks = append(ks, check{group: "finds", name: l.op + " objects are found by $sys.id with the same content", run: func(c *C) {
			c.checkFound(c.r.tenants[0], l)
		}})
	}
	for _, l := range orgLists[2:] {
		ks = append(ks, check{group: "finds", name: l.op + " objects are found by $sys.id", run: func(c *C) {
			c.checkFound(c.r.tenants[0], l.under(c.firstOrg()))
		}})
	}
	ks = append(ks,
		check{group: "finds", name: "unknown ids get 404", run: checkUnknownIDs},
		check{group: "finds", name: "malformed ids get 400", run: checkMalformedIDs},
		check{group: "finds", name: "findLEA does not find a school", run: checkLEAIsNotSchool},
	)
	return ks
}

func (c *C) checkFound(as *tenant, l list) {
	objs := c.all(as, l)
	if len(objs) == 0 {
		c.skipLacking(loadRoster, []string{l.findOp}, "%s is empty: there is nothing to find", l.op)
	}
	n := len(objs)
	if n > maxFinds {
		c.notef("found the first %d of %d objects", maxFinds, n)
		objs = objs[:maxFinds]
	}
	for _, o := range objs {
		id := sysID(o)
		found, ex := c.find(as, l.find, l.findOp, id)
		if found == nil {
			c.failf("every object %s shows must be found by its $sys.id, but %s %s answered %d", l.op, l.findOp, ex.Rel, ex.Status)
		}
		if got := sysID(found); got != id {
			c.failf("%s %s must answer the object with that id, but it answered $sys.id %q", l.findOp, ex.Rel, got)
		}
		if diff := sameContent(o, found); diff != "" {
			c.failf("%s must answer the same content %s shows, but for %s %s", l.findOp, l.op, id, diff)
		}
	}
	c.notef("%d objects found", len(objs))
}

// idFinds, the operations that take an id, are generated from the spec
// (operations.gen.go).

func checkUnknownIDs(c *C) {
	for _, f := range idFinds {
		id := randomUUID()
		ex := c.get(nil, f.prefix+id+f.suffix, nil)
		c.wantError(ex, 404, fmt.Sprintf("%s with an id that does not exist must get 404", f.op))
		if code := errorCode(ex); code != "not_found" {
			c.failf("%s with an unknown id must get error code not_found, but got %q", f.op, code)
		}
	}
	c.notef("%d operations answered 404 not_found", len(idFinds))
}

func checkMalformedIDs(c *C) {
	for _, bad := range []string{"not-a-uuid", "12345", "0b6b1f5e-2d0c-4c59-9d43-1f4e8a3d9c0"} {
		for _, f := range idFinds {
			ex := c.get(nil, f.prefix+bad+f.suffix, nil)
			c.wantError(ex, 400, fmt.Sprintf("%s with a malformed id (%q, not a UUID) must get 400", f.op, bad))
		}
	}
	c.notef("%d operations answered 400 to three malformed ids", len(idFinds))
}

func checkLEAIsNotSchool(c *C) {
	school := c.firstSchool()
	if school == "" {
		c.skipLacking(loadRoster, nil, "the tenant has no org of type School")
	}
	ex := c.get(nil, "/rostering/leas/"+school, nil)
	c.wantError(ex, 404, "findLEA: an org that exists but is not an LEA is 404")
}

func errorCode(ex *exchange) string {
	m, _ := ex.JSON.(map[string]any)
	e, _ := m["error"].(map[string]any)
	s, _ := e["code"].(string)
	return s
}
