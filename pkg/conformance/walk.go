package conformance

import (
	"fmt"
	"net/url"
	"reflect"
	"strconv"
	"strings"
)

// object is one decoded JSON object of a response.
type object = map[string]any

// list is one paged list operation of the roster.
type list struct {
	op   string
	path string
	// find is the path prefix that finds the list's objects by $sys.id ("" when
	// the contract has no find for them).
	find string
	// findOp names the find operation, for messages.
	findOp string
	// personType/orgType, when set, is the type every object must have.
	personType []string
	orgType    string
}

// rosterLists and orgLists are generated from the spec (operations.gen.go).

func (l list) under(orgID string) list {
	l.path = "/rostering/orgs/" + orgID + l.path
	return l
}

// sysID is the object's Data Sync id: $sys.id, or the top-level id the
// vendor's own example shows for orgs.
func sysID(o object) string {
	if s, ok := o["$sys"].(map[string]any); ok {
		if id, ok := s["id"].(string); ok {
			return id
		}
	}
	id, _ := o["id"].(string)
	return id
}

func sysField(o object, key string) string {
	s, _ := o["$sys"].(map[string]any)
	v, _ := s[key].(string)
	return v
}

func typeIn(v string, want []string) bool {
	for _, w := range want {
		if strings.EqualFold(v, w) {
			return true
		}
	}
	return false
}

// page is one page of a walk.
type page struct {
	ex   *exchange
	ids  []string
	next string // "" when null
}

// walk follows paging.next from the first page at pageSize (0: the server's
// default) and returns the objects in order and the pages. It ends the check
// on any broken promise of the list envelope; the paging check judges the
// walk's completeness itself.
func (c *checkRun) walk(as *tenant, l list, pageSize int) ([]object, []page) {
	q := url.Values{}
	if pageSize > 0 {
		q.Set("page_size", strconv.Itoa(pageSize))
	}
	ex := c.get(as, l.path, q)
	var objs []object
	var pages []page
	seenURL := map[string]bool{ex.URL: true}
	for {
		c.want(ex, 200, l.op+" must answer a valid request with 200")
		data, next := c.listEnvelope(ex, l.op)
		if pageSize > 0 && len(data) > pageSize {
			c.failf("%s: a page holds at most page_size objects, but %s answered %d objects", l.op, ex.Rel, len(data))
		}
		p := page{ex: ex, next: next}
		for i, d := range data {
			o, ok := d.(map[string]any)
			if !ok {
				c.failf("%s: data[%d] of %s is not an object", l.op, i, ex.Rel)
			}
			id := listID(l, o)
			if id == "" {
				c.failf("%s: every object must carry its id (the id its find takes), but data[%d] of %s has none", l.op, i, ex.Rel)
			}
			p.ids = append(p.ids, id)
			objs = append(objs, o)
		}
		pages = append(pages, p)
		if next == "" {
			return objs, pages
		}
		if len(pages) > 5000 {
			c.failf("%s: paging.next never became null after 5000 pages", l.op)
		}
		u, err := url.Parse(next)
		if err != nil || !u.IsAbs() {
			c.failf("%s: paging.next must be the absolute URL of the next page, but %s answered %q", l.op, ex.Rel, next)
		}
		if _, ok := c.r.relative(u); !ok {
			c.failf("%s: paging.next must point at the next page of the same API, but %s answered %q (base URL %s)", l.op, ex.Rel, next, c.r.base)
		}
		if seenURL[u.String()] {
			c.failf("%s: paging.next must lead forward, but %s points back at a page already read (%s)", l.op, ex.Rel, next)
		}
		seenURL[u.String()] = true
		ex = c.send(request{method: "GET", rawURL: next, as: as})
	}
}

// listEnvelope returns data and paging.next ("" for null) of a list answer.
func (c *checkRun) listEnvelope(ex *exchange, op string) ([]any, string) {
	m, ok := ex.JSON.(map[string]any)
	if !ok {
		c.failf("%s: every list answers {\"data\": [...], \"paging\": {...}}, but %s answered %s", op, ex.Rel, abridge(ex.Body, 200))
	}
	data, ok := m["data"].([]any)
	if !ok {
		c.failf("%s: every list answers a data array, but %s answered %s", op, ex.Rel, abridge(ex.Body, 200))
	}
	pg, ok := m["paging"].(map[string]any)
	if !ok {
		c.failf("%s: every list answers a paging object, but %s has none", op, ex.Rel)
	}
	nv, present := pg["next"]
	if !present {
		c.failf("%s: paging.next is required (null on the last page), but %s left it out", op, ex.Rel)
	}
	if nv == nil {
		return data, ""
	}
	s, ok := nv.(string)
	if !ok || s == "" {
		c.failf("%s: paging.next must be a URL or null, but %s answered %v", op, ex.Rel, nv)
	}
	return data, s
}

// all walks l at the server's default page size once per run and caches it.
func (c *checkRun) all(as *tenant, l list) []object {
	if objs, ok := c.r.roster[rosterKey(as, l)]; ok {
		return objs
	}
	objs, _ := c.walk(as, l, 0)
	c.r.roster[rosterKey(as, l)] = objs
	return objs
}

func rosterKey(as *tenant, l list) string { return as.label + " " + l.path }

// find fetches one object by id and returns the data object.
func (c *checkRun) find(as *tenant, prefix, findOp, id string) (object, *exchange) {
	ex := c.get(as, prefix+url.PathEscape(id), nil)
	if ex.Status != 200 {
		return nil, ex
	}
	c.conforms()
	m, _ := ex.JSON.(map[string]any)
	d, ok := m["data"].(map[string]any)
	if !ok {
		c.failf("%s: every find answers {\"data\": {...}}, but %s answered %s", findOp, ex.Rel, abridge(ex.Body, 200))
	}
	return d, ex
}

// sameContent reports the first top-level field of listed that found lacks or
// holds differently ("" when found shows everything the list showed).
func sameContent(listed, found object) string {
	for k, v := range listed {
		fv, ok := found[k]
		if !ok {
			return fmt.Sprintf("%s is missing", k)
		}
		if !reflect.DeepEqual(v, fv) {
			return fmt.Sprintf("%s differs: listed %s, found %s", k, short(v), short(fv))
		}
	}
	return ""
}

func short(v any) string {
	s := fmt.Sprint(v)
	if len(s) > 120 {
		return s[:120] + "…"
	}
	return s
}
