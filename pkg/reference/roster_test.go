package reference_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/interop-data/interop/pkg/contract"
	"github.com/interop-data/interop/pkg/reference"
	"github.com/interop-data/interop/pkg/reference/referencetest"
	"github.com/interop-data/interop/pkg/reference/store"
	"github.com/interop-data/interop/pkg/reference/store/storetest"
	"github.com/interop-data/interop/pkg/server"
)

// expected are the ids each list must answer, derived from the loaded roster
// independently of the server.
type expected struct {
	lists  map[string][]string
	finds  map[string]string // path prefix -> an id that exists
	lea    string
	school string
}

func expect(r reference.Roster) expected {
	e := expected{lists: map[string][]string{}, finds: map[string]string{}}
	add := func(path, id string) { e.lists[path] = append(e.lists[path], id) }
	for _, o := range r.Orgs {
		id := o.Sys.ID.String()
		add("/rostering/orgs", id)
		if o.Sys.OrgType == "LEA" {
			add("/rostering/leas", id)
			e.lea = id
		} else {
			add("/rostering/schools", id)
			if e.school == "" {
				e.school = id
			}
		}
	}
	for _, p := range r.Persons {
		id := p.Sys.ID.String()
		add("/rostering/persons", id)
		kind := "teachers"
		if p.Sys.PersonType == "Student" {
			kind = "students"
		}
		add("/rostering/"+kind, id)
		add("/rostering/orgs/"+e.lea+"/"+kind, id) // every person of a school is a member of its LEA
		for _, m := range p.Schools {
			add("/rostering/orgs/"+m.Sys.ID.String()+"/"+kind, id)
		}
	}
	for _, c := range r.Courses {
		id := c.Sys.ID.String()
		add("/rostering/courses", id)
		add("/rostering/orgs/"+e.lea+"/courses", id)
		for _, o := range c.Orgs {
			add("/rostering/orgs/"+o.Sys.ID.String()+"/courses", id)
		}
	}
	for _, s := range r.Sections {
		id := s.Sys.ID.String()
		add("/rostering/sections", id)
		add("/rostering/orgs/"+e.lea+"/sections", id)
		add("/rostering/orgs/"+s.Org.Sys.ID.String()+"/sections", id)
	}
	for _, t := range r.Terms {
		add("/rostering/terms", t.Sys.ID.String())
		add("/rostering/orgs/"+e.lea+"/terms", t.Sys.ID.String())
		if t.Parent.Sys.ID != uuid.Nil { // the semesters: each school has sections in both
			add("/rostering/orgs/"+e.school+"/terms", t.Sys.ID.String())
		}
	}
	for _, g := range r.GradingCategories {
		add("/grades/gradingCategories", g.Sys.ID.String())
	}
	e.finds["/rostering/orgs/"] = e.school
	e.finds["/rostering/leas/"] = e.lea
	e.finds["/rostering/persons/"] = r.Persons[0].Sys.ID.String()
	e.finds["/rostering/courses/"] = r.Courses[0].Sys.ID.String()
	e.finds["/rostering/sections/"] = r.Sections[0].Sys.ID.String()
	e.finds["/rostering/terms/"] = r.Terms[1].Sys.ID.String()
	return e
}

func sorted(s []string) []string {
	c := slices.Clone(s)
	slices.Sort(c)
	return c
}

// Every list, walked through paging.next at several page sizes, answers each
// object exactly once, in the same order whatever the page size.
func TestListsWalkEveryObjectOnce(t *testing.T) { eachCredential(t, testListsWalkEveryObjectOnce) }

func testListsWalkEveryObjectOnce(t *testing.T, cred credential) {
	env := referencetest.Start(t)
	a := newAPIAs(t, env, cred, 0)
	e := expect(env.Tenants[0].Roster)
	if len(e.lists) < 20 {
		t.Fatalf("only %d lists derived", len(e.lists))
	}
	for path, want := range e.lists {
		var first []string
		for _, size := range []int{1, 3, 7, 2000} {
			got := a.walk(fmt.Sprintf("%s?page_size=%d", path, size))
			if fmt.Sprint(sorted(got)) != fmt.Sprint(sorted(want)) {
				t.Fatalf("%s page_size %d: got %d ids, want %d\n got %v\nwant %v", path, size, len(got), len(want), got, want)
			}
			if first == nil {
				first = got
			} else if fmt.Sprint(got) != fmt.Sprint(first) {
				t.Fatalf("%s: order differs between page sizes", path)
			}
		}
	}
	// The default page size is 2000: one page, next null.
	var p page
	a.get("/rostering/persons", &p)
	if len(p.Data) != len(e.lists["/rostering/persons"]) || p.Paging.Next != nil {
		t.Fatalf("default page: %d persons, next %v", len(p.Data), p.Paging.Next)
	}
	// A page past the end is empty with next null; an exact last page has next null.
	n := len(e.lists["/rostering/persons"])
	a.get(fmt.Sprintf("/rostering/persons?page=%d&page_size=%d", 1, n), &p)
	if len(p.Data) != 0 || p.Paging.Next != nil {
		t.Fatalf("page past the end: %d, next %v", len(p.Data), p.Paging.Next)
	}
	a.get(fmt.Sprintf("/rostering/persons?page=0&page_size=%d", n), &p)
	if len(p.Data) != n || p.Paging.Next != nil {
		t.Fatalf("exact single page: %d, next %v", len(p.Data), p.Paging.Next)
	}
	// next keeps the page size, advances the page and carries a cursor.
	a.get("/rostering/students?page=2&page_size=3", &p)
	if p.Paging.Next == nil {
		t.Fatal("next = null")
	}
	u, err := url.Parse(*p.Paging.Next)
	if err != nil || !strings.HasSuffix(u.Path, "/rostering/students") || u.Query().Get("page") != "3" || u.Query().Get("page_size") != "3" || u.Query().Get("cursor") == "" {
		t.Fatalf("next = %s", *p.Paging.Next)
	}
	// Following it answers what page=3 answers.
	var byCursor, byPage page
	a.get(*p.Paging.Next, &byCursor)
	a.get("/rostering/students?page=3&page_size=3", &byPage)
	if len(byCursor.Data) != 3 || string(must(json.Marshal(byCursor.Data))) != string(must(json.Marshal(byPage.Data))) {
		t.Fatalf("next page by cursor %d objects, by page %d differ", len(byCursor.Data), len(byPage.Data))
	}
}

// A cursor is good only on its list, for its tenant, unaltered; anything
// else is a 400 (and page/page_size keep their meaning without one).
func TestCursorRefusedElsewhere(t *testing.T) {
	env := referencetest.Start(t)
	a, b := newAPI(t, env, 0), newAPI(t, env, 1)
	next := func(a *api, path string) string {
		var p page
		a.get(path, &p)
		if p.Paging.Next == nil {
			t.Fatalf("%s: no next", path)
		}
		u, _ := url.Parse(*p.Paging.Next)
		return u.Query().Get("cursor")
	}
	cur := next(a, "/rostering/students?page_size=2")
	var ok page
	a.get("/rostering/students?page_size=2&cursor="+cur, &ok)
	if len(ok.Data) != 2 {
		t.Fatalf("own cursor: %d students", len(ok.Data))
	}
	org := env.Tenants[0].Roster.Orgs[1].Sys.ID
	orgCur := next(a, "/rostering/orgs/"+org.String()+"/students?page_size=1")
	adminCur := next(a, "/tasks/admin?page_size=2")
	tampered := []byte(cur)
	tampered[5] ^= 1 // still base64url
	for name, req := range map[string]struct {
		who  *api
		path string
	}{
		"altered":                 {a, "/rostering/students?cursor=" + string(tampered)},
		"truncated":               {a, "/rostering/students?cursor=" + cur[:len(cur)-2]},
		"not base64":              {a, "/rostering/students?cursor=" + strings.Repeat("A", 43) + "_x"},
		"another list":            {a, "/rostering/teachers?cursor=" + cur},
		"another org's list":      {a, "/rostering/orgs/" + env.Tenants[0].Roster.Orgs[2].Sys.ID.String() + "/students?cursor=" + orgCur},
		"another subtype's list":  {a, "/rostering/orgs/" + org.String() + "/teachers?cursor=" + orgCur},
		"another tenant":          {b, "/rostering/students?cursor=" + cur},
		"a task cursor on a list": {a, "/rostering/students?cursor=" + adminCur},
		"another driver":          {a, "/tasks/admin?driver=x&cursor=" + adminCur},
	} {
		t.Run(name, func(t *testing.T) {
			req.who.wantError(http.MethodGet, req.path, nil, 400, "invalid_parameter")
		})
	}
	// The admin queue walks by cursor too.
	var tp page
	a.get("/tasks/admin?page_size=2&cursor="+adminCur, &tp)
	if len(tp.Data) != 2 {
		t.Fatalf("admin tasks by cursor: %d", len(tp.Data))
	}
}

func TestListParameterErrors(t *testing.T) {
	env := referencetest.Start(t)
	a := newAPI(t, env, 0)
	for _, q := range []string{"page_size=0", "page_size=2001", "page=-1", "page=x", "page_size=1.5"} {
		a.wantError(http.MethodGet, "/rostering/persons?"+q, nil, 400, "invalid_parameter")
	}
}

func TestFindsAndNotFound(t *testing.T) { eachCredential(t, testFindsAndNotFound) }

func testFindsAndNotFound(t *testing.T, cred credential) {
	env := referencetest.Start(t)
	a := newAPIAs(t, env, cred, 0)
	e := expect(env.Tenants[0].Roster)
	other := expect(env.Tenants[1].Roster)
	for prefix, id := range e.finds {
		var got struct{ Data sysOnly }
		a.get(prefix+id, &got)
		if got.Data.Sys.ID != id {
			t.Errorf("GET %s%s answered %s", prefix, id, got.Data.Sys.ID)
		}
		a.wantError(http.MethodGet, prefix+uuid.NewString(), nil, 404, "not_found")
		a.wantError(http.MethodGet, prefix+other.finds[prefix], nil, 404, "not_found") // another tenant's
		a.wantError(http.MethodGet, prefix+"not-a-uuid", nil, 400, "invalid_parameter")
	}
	// findLEA of a school, and finds of the wrong kind, are 404.
	a.wantError(http.MethodGet, "/rostering/leas/"+e.school, nil, 404, "not_found")
	a.wantError(http.MethodGet, "/rostering/orgs/"+e.finds["/rostering/persons/"], nil, 404, "not_found")
	a.wantError(http.MethodGet, "/rostering/courses/"+e.finds["/rostering/sections/"], nil, 404, "not_found")
	// Nested lists under an unknown, foreign or non-org id are 404.
	for _, sub := range []string{"students", "teachers", "courses", "sections", "terms"} {
		for _, id := range []string{uuid.NewString(), other.lea, e.finds["/rostering/persons/"]} {
			msg := a.wantError(http.MethodGet, "/rostering/orgs/"+id+"/"+sub, nil, 404, "not_found")
			if !strings.Contains(msg, id) {
				t.Errorf("404 message %q does not name %s", msg, id)
			}
		}
	}
}

// Tenant 1 sees nothing of tenant 0 in any list, and the reverse.
func TestRosterIsolation(t *testing.T) { eachCredential(t, testRosterIsolation) }

func testRosterIsolation(t *testing.T, cred credential) {
	env := referencetest.Start(t)
	for i := range 2 {
		a := newAPIAs(t, env, cred, i)
		mine, theirs := expect(env.Tenants[i].Roster), expect(env.Tenants[1-i].Roster)
		theirIDs := map[string]bool{}
		for _, l := range theirs.lists {
			for _, id := range l {
				theirIDs[id] = true
			}
		}
		for _, path := range []string{"/rostering/orgs", "/rostering/persons", "/rostering/courses", "/rostering/sections", "/rostering/terms", "/grades/gradingCategories",
			"/rostering/leas", "/rostering/schools", "/rostering/students", "/rostering/teachers"} {
			got := a.walk(path)
			if len(got) != len(mine.lists[path]) {
				t.Errorf("tenant %d %s: %d objects, want %d", i, path, len(got), len(mine.lists[path]))
			}
			for _, id := range got {
				if theirIDs[id] {
					t.Fatalf("tenant %d sees tenant %d's %s in %s", i, 1-i, id, path)
				}
			}
		}
	}
}

func TestAuthentication(t *testing.T) {
	env := referencetest.Start(t)
	for _, tok := range []string{"", "not-a-token", "Zm9vYmFy"} {
		a := &api{t: t, env: env, token: tok}
		a.wantError(http.MethodGet, "/rostering/orgs", nil, 401, "unauthorized")
		a.wantError(http.MethodGet, "/tasks", nil, 401, "unauthorized")
		a.wantError(http.MethodPut, "/tasks/"+uuid.NewString()+"/ack", `{"status":"success"}`, 401, "unauthorized")
	}
	a := newAPI(t, env, 0)
	var p page
	a.get("/rostering/orgs", &p)
	// Tokens expire on the injected clock.
	env.Clock.Advance(25 * time.Hour)
	a.wantError(http.MethodGet, "/rostering/orgs", nil, 401, "unauthorized")
}

// paging.next follows X-Forwarded-Proto/-Host only when the server trusts a proxy.
func TestNextLinkProxyHeaders(t *testing.T) {
	for _, trust := range []bool{false, true} {
		var opts []referencetest.Option
		if trust {
			opts = append(opts, referencetest.WithTrustProxy(), referencetest.WithServerOptions(server.WithAllowedHosts("api.example.org")))
		}
		env := referencetest.Start(t, opts...)
		tok := env.Token(t, 0)
		req, _ := http.NewRequest(http.MethodGet, env.URL+"/rostering/persons?page_size=1", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("X-Forwarded-Proto", "https")
		req.Header.Set("X-Forwarded-Host", "api.example.org")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var p page
		_ = jsonDecode(resp, &p)
		want := env.URL + "/rostering/persons?cursor="
		if trust {
			want = "https://api.example.org/v2/interop/data/rostering/persons?cursor="
		}
		if p.Paging.Next == nil || !strings.HasPrefix(*p.Paging.Next, want) || !strings.HasSuffix(*p.Paging.Next, "&page=1&page_size=1") {
			t.Errorf("trust=%v: next = %v, want %s…&page=1&page_size=1", trust, p.Paging.Next, want)
		}
	}
}

// Lists and finds answer each object exactly as it is stored (the objects
// are written through, not re-encoded), fields the generated types do not
// declare included: objects are open in the spec.
func TestAnswersCarryStoredObjects(t *testing.T) {
	env := referencetest.Start(t, referencetest.WithTenants(1))
	ctx := context.Background()
	tn := env.Tenants[0].ID
	extra := store.Object{ID: uuid.New(), Kind: store.KindPerson, Subtype: store.SubtypeStudent, Label: "Extra",
		Data: []byte(`{"$sys":{"id":"ID","type":"Person","person_type":"Student","label":"Extra"},"name":{"first":"Extra"},"x_vendor_field":{"kept":[1,"ü"]}}`)}
	extra.Data = bytes.ReplaceAll(extra.Data, []byte("ID"), []byte(extra.ID.String()))
	storetest.Put(t, env.Store, tn, extra)
	stored, _, err := env.Store.ListObjects(ctx, store.ObjectQuery{Tenants: []uuid.UUID{tn}, Kind: store.KindPerson, Limit: 2000})
	if err != nil || len(stored) < 2 {
		t.Fatalf("ListObjects = %d, %v", len(stored), err)
	}
	same := func(what string, got, want json.RawMessage) {
		t.Helper()
		var g, w any
		if err := json.Unmarshal(got, &g); err != nil {
			t.Fatalf("%s: %v: %s", what, err, got)
		}
		_ = json.Unmarshal(want, &w)
		if !reflect.DeepEqual(g, w) {
			t.Fatalf("%s answers\n%s\nstored\n%s", what, got, want)
		}
	}
	a := newAPI(t, env, 0)
	var p page
	a.get("/rostering/persons?page_size=2000", &p)
	if len(p.Data) != len(stored) {
		t.Fatalf("list has %d persons, store %d", len(p.Data), len(stored))
	}
	for i, o := range stored {
		same("list item "+o.ID.String(), p.Data[i], o.Data)
	}
	var f struct{ Data json.RawMessage }
	a.get("/rostering/persons/"+extra.ID.String(), &f)
	same("find", f.Data, extra.Data)
}

// failingStore answers every roster and queue call with the kind of error a
// real store gives when it is in trouble; auth still works.
type failingStore struct{ store.Store }

var errStoreDown = errors.New("sqlite: database is locked (5) SQLITE_BUSY /var/lib/interop.db")

func (failingStore) ListObjects(context.Context, store.ObjectQuery) ([]store.Object, bool, error) {
	return nil, false, errStoreDown
}
func (failingStore) FindObject(context.Context, []uuid.UUID, store.Kind, uuid.UUID) (store.Object, error) {
	return store.Object{}, errStoreDown
}
func (failingStore) LeaseTasks(context.Context, store.LeaseQuery) ([]store.Task, error) {
	return nil, errStoreDown
}
func (failingStore) ListTasks(context.Context, store.TaskQuery) ([]store.Task, bool, error) {
	return nil, false, errStoreDown
}
func (failingStore) AckTasks(context.Context, []uuid.UUID, []store.Ack, time.Time) ([]store.Receipt, error) {
	return nil, errStoreDown
}
func (failingStore) DeleteTask(context.Context, []uuid.UUID, uuid.UUID) (store.Task, error) {
	return store.Task{}, errStoreDown
}

// A failing store answers a JSON 500 that names the request id and nothing
// of the store's error, on every kind of operation.
func TestStoreFailureIsOpaque(t *testing.T) {
	env := referencetest.Start(t, referencetest.WithTenants(1))
	srv, err := server.New(reference.New(failingStore{env.Store}), server.WithTokenEndpoint(env.Instance.OAuth2),
		server.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	env.URL, env.TokenURL = hs.URL+contract.BasePath, hs.URL+"/oauth/token"
	a := newAPI(t, env, 0)
	id := env.Tenants[0].Roster.Orgs[0].Sys.ID.String()
	for _, c := range []struct {
		method, path string
		body         any
	}{
		{http.MethodGet, "/rostering/persons", nil},
		{http.MethodGet, "/rostering/persons/" + id, nil},
		{http.MethodGet, "/rostering/orgs/" + id + "/students", nil},
		{http.MethodGet, "/tasks", nil},
		{http.MethodGet, "/tasks/admin", nil},
		{http.MethodDelete, "/tasks/admin/" + id, nil},
		{http.MethodPut, "/tasks/" + id + "/ack", map[string]any{"status": "success"}},
		{http.MethodPut, "/tasks/ack", []any{map[string]any{"task_id": id, "status": "success"}}},
	} {
		code, b := a.do(c.method, c.path, c.body)
		var e struct {
			Error struct {
				Status        int
				Code, Details string
			} `json:"error"`
		}
		if err := json.Unmarshal(b, &e); err != nil || code != 500 || e.Error.Code != "internal_error" || !strings.HasPrefix(e.Error.Details, "request id ") {
			t.Fatalf("%s %s = %d %s, want a JSON 500 naming the request id", c.method, c.path, code, b)
		}
		if low := strings.ToLower(string(b)); strings.Contains(low, "sql") || strings.Contains(low, "locked") || strings.Contains(low, "interop.db") {
			t.Fatalf("%s %s leaks the store's error: %s", c.method, c.path, b)
		}
	}
}
