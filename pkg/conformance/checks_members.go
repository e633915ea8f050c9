package conformance

import (
	"strings"
)

// maxOrgs caps the orgs whose members are walked.
const maxOrgs = 50

func (r *run) membershipChecks() []check {
	return []check{
		{group: "memberships", name: "an org's students are Student persons and are found", run: func(c *C) { c.checkMembers(orgLists[0], rosterLists[4]) }},
		{group: "memberships", name: "an org's teachers are Teacher persons and are found", run: func(c *C) { c.checkMembers(orgLists[1], rosterLists[5]) }},
		{group: "memberships", name: "listStudents and listTeachers hold only persons of that type", run: checkPersonTypes},
		{group: "memberships", name: "listLEAs and listSchools hold only orgs of that type", run: checkOrgTypes},
	}
}

// checkMembers walks l under every org (up to maxOrgs) and wants each member
// to be of l's person type, to be found by findPerson as that type, and to be
// in the tenant-wide list of that type.
func (c *C) checkMembers(l list, global list) {
	as := c.r.tenants[0]
	orgs := c.all(as, rosterLists[0])
	if len(orgs) > maxOrgs {
		c.notef("walked the first %d of %d orgs", maxOrgs, len(orgs))
		orgs = orgs[:maxOrgs]
	}
	inGlobal := map[string]bool{}
	for _, o := range c.all(as, global) {
		inGlobal[sysID(o)] = true
	}
	checked := map[string]bool{}
	members := 0
	for _, org := range orgs {
		ol := l.under(sysID(org))
		for _, p := range c.all(as, ol) {
			members++
			id := sysID(p)
			pt := sysField(p, "person_type")
			if !typeIn(pt, l.personType) {
				c.failf("%s: an org's members are persons of type %s, but org %s lists %s with person_type %q",
					l.op, strings.Join(l.personType, "/"), sysID(org), id, pt)
			}
			if checked[id] || len(checked) >= maxFinds {
				continue
			}
			checked[id] = true
			found, ex := c.find(as, "/rostering/persons/", "findPerson", id)
			if found == nil {
				c.failf("%s: every member of an org must be found by findPerson, but %s answered %d", l.op, ex.Rel, ex.Status)
			}
			if ft := sysField(found, "person_type"); !typeIn(ft, l.personType) {
				c.failf("%s: org %s lists %s as a %s, but findPerson answers person_type %q", l.op, sysID(org), id, l.personType[0], ft)
			}
			if !inGlobal[id] {
				c.failf("%s: org %s lists %s, which %s (every %s of the tenant) does not hold", l.op, sysID(org), id, global.op, l.personType[0])
			}
		}
	}
	if members == 0 {
		c.skipf("no org of the tenant has a member of this type (%d orgs walked)", len(orgs))
	}
	c.notef("%d memberships in %d orgs, %d persons found", members, len(orgs), len(checked))
}

func checkPersonTypes(c *C) {
	as := c.r.tenants[0]
	persons := map[string]bool{}
	for _, p := range c.all(as, rosterLists[3]) {
		persons[sysID(p)] = true
	}
	n := 0
	for _, l := range []list{rosterLists[4], rosterLists[5]} {
		for _, p := range c.all(as, l) {
			n++
			if pt := sysField(p, "person_type"); !typeIn(pt, l.personType) {
				c.failf("%s lists only persons of type %s, but %s has person_type %q", l.op, strings.Join(l.personType, "/"), sysID(p), pt)
			}
			if !persons[sysID(p)] {
				c.failf("%s lists %s, which listPersons (every person of the tenant) does not hold", l.op, sysID(p))
			}
		}
	}
	if n == 0 {
		c.skipf("the tenant has neither students nor teachers")
	}
	c.notef("%d persons typed correctly", n)
}

func checkOrgTypes(c *C) {
	as := c.r.tenants[0]
	orgs := map[string]bool{}
	for _, o := range c.all(as, rosterLists[0]) {
		orgs[sysID(o)] = true
	}
	n := 0
	for _, l := range []list{rosterLists[1], rosterLists[2]} {
		for _, o := range c.all(as, l) {
			n++
			if ot := sysField(o, "org_type"); !strings.EqualFold(ot, l.orgType) {
				c.failf("%s lists only orgs of type %s, but %s has org_type %q", l.op, l.orgType, sysID(o), ot)
			}
			if !orgs[sysID(o)] {
				c.failf("%s lists %s, which listOrgs (every org of the tenant) does not hold", l.op, sysID(o))
			}
		}
	}
	if n == 0 {
		c.skipf("the tenant has neither LEAs nor schools")
	}
	c.notef("%d orgs typed correctly", n)
}
