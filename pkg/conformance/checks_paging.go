package conformance

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// pagingLists are the lists whose walks are checked: every roster list, the
// per-org lists of the first org, and the admin task list (which does not
// lease, so walking it changes nothing).
func (r *run) pagingChecks() []check {
	var ks []check
	for _, l := range rosterLists {
		ks = append(ks, check{group: "paging", name: l.op + " yields every object exactly once", run: func(c *C) { c.checkWalks(l) }})
	}
	for _, l := range orgLists {
		ks = append(ks, check{group: "paging", name: l.op + " yields every object exactly once", run: func(c *C) {
			org := c.firstOrg()
			c.checkWalks(l.under(org))
		}})
	}
	ks = append(ks,
		check{group: "paging", name: "listAdminTasks yields every task exactly once", run: func(c *C) { c.checkWalks(adminTasks) }},
		check{group: "paging", name: "bad page and page_size values get 400", run: checkBadPaging},
	)
	return ks
}

var adminTasks = list{op: "listAdminTasks", path: "/tasks/admin", find: "/tasks/admin/", findOp: "findAdminTask"}

// firstOrg returns the id of the first school (else the first org) of the
// first tenant, skipping the check when the tenant has no org.
func (c *C) firstOrg() string {
	if school := c.firstSchool(); school != "" {
		return school
	}
	orgs := c.all(c.r.tenants[0], rosterLists[0])
	if len(orgs) == 0 {
		ops := []string{"findOrg"}
		for _, l := range orgLists {
			ops = append(ops, l.op)
		}
		c.skipLacking(loadRoster, ops, "the tenant has no org, so there is no per-org list to page through")
	}
	return sysID(orgs[0])
}

// firstSchool returns the id of the first tenant's first org of type School
// ("" when it has none).
func (c *C) firstSchool() string {
	for _, o := range c.all(c.r.tenants[0], rosterLists[0]) {
		if strings.EqualFold(sysField(o, "org_type"), "School") {
			return sysID(o)
		}
	}
	return ""
}

// pageSizes picks the sizes to walk at: small ones while they take few pages,
// and the edge cases total-1 (a last page of one) and total (one full page,
// after which next must already be null).
func pageSizes(total int) []int {
	var sizes []int
	for _, s := range []int{1, 2, 3} {
		if total/s <= 40 {
			sizes = append(sizes, s)
		}
	}
	if len(sizes) == 0 {
		sizes = append(sizes, (total+24)/25)
	}
	for _, s := range []int{total - 1, total, 2000} {
		if s >= 1 && s <= 2000 && !slices.Contains(sizes, s) {
			sizes = append(sizes, s)
		}
	}
	return sizes
}

func (c *C) checkWalks(l list) {
	as := c.r.tenants[0]
	objs, pages := c.walk(as, l, 0)
	c.r.roster[rosterKey(as, l)] = objs // the default walk is the one all caches
	ref := make([]string, 0, len(objs))
	for _, o := range objs {
		ref = append(ref, listID(l, o))
	}
	c.exactlyOnce(l, 0, pages, ref)
	if len(ref) == 0 {
		c.notef("%s is empty: walked one page, next null", l.op)
		return
	}
	sizes := pageSizes(len(ref))
	for _, size := range sizes {
		_, pages := c.walk(as, l, size)
		c.exactlyOnce(l, size, pages, ref)
		// The page parameter must select the same page that next leads to.
		if len(pages) >= 2 && size < len(ref) {
			ex := c.get(as, l.path, url.Values{"page": {"1"}, "page_size": {strconv.Itoa(size)}})
			c.want(ex, 200, l.op+" must answer page=1 with 200")
			data, _ := c.listEnvelope(ex, l.op)
			var got []string
			for _, d := range data {
				if o, ok := d.(map[string]any); ok {
					got = append(got, listID(l, o))
				}
			}
			if !slices.Equal(got, pages[1].ids) {
				c.failf("%s: page=1&page_size=%d must be the page paging.next leads to from page 0, but it held %v and the second page of the walk held %v",
					l.op, size, got, pages[1].ids)
			}
		}
	}
	c.notef("%d objects, walked at page sizes default,%s", len(ref), joinInts(sizes))
}

// listID is the identity of an object of l: $sys.id, or the task id for tasks.
func listID(l list, o object) string {
	if l.op == adminTasks.op {
		return taskOf(o).id
	}
	return sysID(o)
}

// exactlyOnce judges one walk against the reference ids: each exactly once,
// none left out, next null exactly after the last object.
func (c *C) exactlyOnce(l list, size int, pages []page, ref []string) {
	at := "at the default page size"
	if size > 0 {
		at = fmt.Sprintf("at page_size=%d", size)
	}
	where := map[string]int{}
	var walked int
	for i, p := range pages {
		for _, id := range p.ids {
			if prev, dup := where[id]; dup {
				c.failf("%s %s: a walk yields every object exactly once, but %s appeared on page %d and again on page %d", l.op, at, id, prev, i)
			}
			where[id] = i
			walked++
		}
	}
	if size > 0 { // the default walk is the reference
		for _, id := range ref {
			if _, ok := where[id]; !ok {
				last := pages[len(pages)-1]
				c.failf("%s %s: a walk yields every object exactly once, but %s was never returned (%d of %d objects; the last page %s had paging.next null)",
					l.op, at, id, walked, len(ref), last.ex.Rel)
			}
		}
		if walked != len(ref) {
			c.failf("%s %s: a walk yields every object exactly once, but it returned %d objects where the default walk returned %d", l.op, at, walked, len(ref))
		}
	}
	for i, p := range pages {
		if len(p.ids) == 0 && i > 0 {
			c.failf("%s %s: paging.next must be null exactly at the end, but page %d (%s) held every remaining object and its next led to an empty page",
				l.op, at, i-1, pages[i-1].ex.Rel)
		}
	}
}

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, n := range v {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ",")
}

// badPaging are values the contract's page/page_size schemas reject.
var badPaging = []url.Values{
	{"page": {"-1"}},
	{"page": {"first"}},
	{"page_size": {"0"}},
	{"page_size": {"-5"}},
	{"page_size": {"2001"}},
	{"page_size": {"ten"}},
	{"page_size": {"1.5"}},
}

func checkBadPaging(c *C) {
	paths := []string{adminTasks.path, "/tasks"}
	for _, l := range rosterLists {
		paths = append(paths, l.path)
	}
	orgs := c.all(c.r.tenants[0], rosterLists[0])
	if len(orgs) > 0 {
		for _, l := range orgLists {
			paths = append(paths, l.under(sysID(orgs[0])).path)
		}
	}
	for _, p := range paths {
		for _, q := range badPaging {
			ex := c.get(nil, p, q)
			c.wantError(ex, 400, fmt.Sprintf("%s=%s is outside the contract's range and must get 400", firstKey(q), q.Get(firstKey(q))))
		}
	}
	c.notef("%d lists × %d bad values", len(paths), len(badPaging))
}

func firstKey(q url.Values) string {
	for k := range q {
		return k
	}
	return ""
}
