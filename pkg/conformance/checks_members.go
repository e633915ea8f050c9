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
		c.skipLacking(loadRoster, nil, "no org of the tenant has a member of this type (%d orgs walked)", len(orgs))
	}
	c.notef("%d memberships in %d orgs, %d persons found", members, len(orgs), len(checked))
}

func checkPersonTypes(c *C) { c.checkTyped(rosterLists[3], rosterLists[4], rosterLists[5]) }

func checkOrgTypes(c *C) { c.checkTyped(rosterLists[0], rosterLists[1], rosterLists[2]) }

// checkTyped wants every object of the typed lists subs to be of its list's
// type and to be in whole, the list of every person or org of the tenant.
func (c *C) checkTyped(whole list, subs ...list) {
	as := c.r.tenants[0]
	inWhole := ids(c.all(as, whole), whole)
	n := 0
	for _, l := range subs {
		noun, field, want := "persons", "person_type", l.personType
		if l.orgType != "" {
			noun, field, want = "orgs", "org_type", []string{l.orgType}
		}
		for _, o := range c.all(as, l) {
			n++
			if v := sysField(o, field); !typeIn(v, want) {
				c.failf("%s lists only %s of type %s, but %s has %s %q", l.op, noun, strings.Join(want, "/"), sysID(o), field, v)
			}
			if !inWhole[sysID(o)] {
				c.failf("%s lists %s, which %s (every one of the tenant's %s) does not hold", l.op, sysID(o), whole.op, noun)
			}
		}
	}
	if n == 0 {
		c.skipLacking(loadRoster, nil, "%s and %s are empty", subs[0].op, subs[1].op)
	}
	c.notef("%d objects typed correctly", n)
}
