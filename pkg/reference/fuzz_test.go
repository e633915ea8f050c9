package reference_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/interop-data/interop/pkg/contract"
	"github.com/interop-data/interop/pkg/reference"
	"github.com/interop-data/interop/pkg/reference/referencetest"
)

// fuzzEnv is one reference server shared by every input of a fuzz target,
// its handler called in-process, with the ids of tasks it has leased.
type fuzzEnv struct {
	h     http.Handler
	root  string
	token string
	tasks []string
}

func newFuzzEnv(f *testing.F) *fuzzEnv {
	env := referencetest.Start(f, referencetest.WithTenants(1),
		referencetest.WithDistrict(reference.DemoSize{Schools: 1, StudentsPerSchool: 4, TeachersPerSchool: 1, CoursesPerSchool: 1, SectionsPerCourse: 1, StudentsPerSection: 2}))
	e := &fuzzEnv{h: env.Server.Config.Handler, root: env.Root, token: env.Token(f, 0)}
	rec := e.do(http.MethodGet, contract.BasePath+"/tasks?page_size=2000", "")
	var page struct{ Data []struct{ ID string } }
	if err := json.Unmarshal(rec.Body.Bytes(), &page); err != nil || rec.Code != 200 || len(page.Data) < 2 {
		f.Fatalf("lease: %d %s", rec.Code, rec.Body)
	}
	for _, t := range page.Data {
		e.tasks = append(e.tasks, t.ID)
	}
	return e
}

func (e *fuzzEnv) do(method, target, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, "http://127.0.0.1"+target, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+e.token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	return rec
}

// wantAnswer holds every fuzzed answer to the API's promise: one of the
// statuses allowed, JSON, and an error in the spec's model ({"error":
// {"status": the status, "code": a string, "message": a string}}). The kit
// validates responses in enforce mode, so an off-contract answer would show
// up here as a 500.
func wantAnswer(t *testing.T, rec *httptest.ResponseRecorder, allowed ...int) {
	t.Helper()
	if !slices.Contains(allowed, rec.Code) {
		t.Fatalf("status %d (allowed %v): %.500s", rec.Code, allowed, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("Content-Type %q", ct)
	}
	if rec.Code < 400 {
		return
	}
	var body struct {
		Error *struct {
			Status  int     `json:"status"`
			Code    *string `json:"code"`
			Message *string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.Error == nil || body.Error.Status != rec.Code ||
		body.Error.Code == nil || body.Error.Message == nil {
		t.Fatalf("%d is not the error model: %v: %.500s", rec.Code, err, rec.Body)
	}
}

var ackStatuses = []int{200, 400, 404, 409, 413, 415}

// The placeholder fuzz inputs use for a task the server has leased.
const taskHole = "$TASK"

// FuzzAckTask sends one acknowledgement body through the whole handler of
// PUT /tasks/{id}/ack and PUT /tasks/admin/{id}/ack ("$TASK" in the body
// stands for a leased task's id). Properties: 200 or a 4xx in the error
// model, never a 500 or a panic.
func FuzzAckTask(f *testing.F) {
	for _, s := range []string{
		`{"status":"success"}`, `{"status":"error","message":"no school","error":{"status":1,"code":"x","message":"y"}}`,
		`{"task_id":"$TASK","status":"retry","$sys.app_id":"8858","app_id":"1","params":{"a":"b"}}`,
		`{"status":"reauthenticate"}`, `{"status":"done"}`, `{"status":"success","status":"error"}`, `{}`, `[]`, `null`,
		`{"task_id":"not-a-uuid","status":"success"}`, `{"status":"success","message":` + `"` + strings.Repeat("m", 4097) + `"}`,
		`{"status":"success"} x`, strings.Repeat("[", 100) + strings.Repeat("]", 100), `{"status":"error","params":{"a":1}}`,
	} {
		f.Add(s, false)
	}
	e := newFuzzEnv(f)
	var mu sync.Mutex
	f.Fuzz(func(t *testing.T, body string, admin bool) {
		mu.Lock()
		defer mu.Unlock()
		task := e.tasks[len(body)%len(e.tasks)]
		path := contract.BasePath + "/tasks/" + task + "/ack"
		if admin {
			path = contract.BasePath + "/tasks/admin/" + task + "/ack"
		}
		wantAnswer(t, e.do(http.MethodPut, path, strings.ReplaceAll(body, taskHole, task)), ackStatuses...)
	})
}

// FuzzAckTasks sends group acknowledgement bodies through the whole handler
// of PUT /tasks/ack and PUT /tasks/admin/ack. Same properties as FuzzAckTask.
func FuzzAckTasks(f *testing.F) {
	for _, s := range []string{
		`[{"task_id":"$TASK","status":"success"}]`, `[{"task_id":"$TASK","status":"retry"},{"task_id":"$TASK","status":"error"}]`,
		`[{"task_id":"7d1c8f0a-52a3-4d8e-b6c6-3d2f9e4a1b02","status":"success"}]`, `[]`, `[{"status":"success"}]`, `{"status":"success"}`,
		`[{"task_id":"$TASK","status":"success","task_id":"$TASK"}]`, `[null]`, `[{"task_id":"$TASK","status":"error","error":{"code":[[[]]]}}]`,
	} {
		f.Add(s, false)
	}
	e := newFuzzEnv(f)
	var mu sync.Mutex
	f.Fuzz(func(t *testing.T, body string, admin bool) {
		mu.Lock()
		defer mu.Unlock()
		path := contract.BasePath + "/tasks/ack"
		if admin {
			path = contract.BasePath + "/tasks/admin/ack"
		}
		wantAnswer(t, e.do(http.MethodPut, path, strings.ReplaceAll(body, taskHole, e.tasks[len(body)%len(e.tasks)])), ackStatuses...)
	})
}

// listPaths are the lists FuzzListQuery reads (GET /tasks is left out: it
// leases, which would starve the other targets' tasks).
var listPaths = []string{
	"/rostering/persons", "/rostering/students", "/rostering/orgs", "/rostering/schools", "/rostering/courses",
	"/rostering/sections", "/rostering/terms", "/rostering/teachers", "/tasks/admin", "/rostering/leas",
}

// FuzzListQuery sends arbitrary query strings to the lists. Properties: 200
// with data and paging, or a 400/414 in the error model; paging.next, when
// there is one, stays on the server's own origin.
func FuzzListQuery(f *testing.F) {
	for _, q := range []string{
		"page=1&page_size=1", "page_size=2000", "page_size=2001", "page=-1", "page=99999999999999999999", "page_size=0",
		"page=1&page=2", "schema=3.0.0&driver=x", "tenant_id=not-a-uuid", "%zz", "page_size=1&x=" + strings.Repeat("y", 9000),
		"page_size=1e3", "page_size=+1", "page=0x10", "page_size=1&page=1&page_size=2",
	} {
		f.Add(uint8(0), q)
	}
	e := newFuzzEnv(f)
	f.Fuzz(func(t *testing.T, which uint8, query string) {
		path := contract.BasePath + listPaths[int(which)%len(listPaths)]
		if _, err := url.ParseRequestURI(path + "?" + query); err != nil || strings.ContainsAny(query, "# ") {
			return // not a request target net/http would hand to a handler
		}
		rec := e.do(http.MethodGet, path+"?"+query, "")
		wantAnswer(t, rec, 200, 400, 414)
		if rec.Code != 200 {
			return
		}
		var page struct {
			Data   []json.RawMessage `json:"data"`
			Paging *struct {
				Next *string `json:"next"`
			} `json:"paging"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &page); err != nil || page.Data == nil || page.Paging == nil {
			t.Fatalf("200 is not a page: %v: %.300s", err, rec.Body)
		}
		if n := page.Paging.Next; n != nil && !strings.HasPrefix(*n, "http://localhost"+path+"?") {
			t.Fatalf("next %q leaves the server or the list", *n)
		}
	})
}
