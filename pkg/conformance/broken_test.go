package conformance_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/interop-data/interop/pkg/conformance"
)

// A breakage wraps a correct server so that it breaks exactly one promise.
type breakage struct {
	name string
	wrap func(t *testing.T, tg *target) http.Handler
	// check is the Result name (group/name prefix) that must fail, and reason
	// a fragment of its reason: the broken promise, in the suite's words.
	check, reason string
	// groups to run; default the group of check.
	groups []string
}

var (
	idPath  = regexp.MustCompile(`^/rostering/(orgs|leas|persons|courses|sections|terms)/([^/]+)$|^/tasks/admin/([^/]+)$`)
	taskAck = regexp.MustCompile(`^/tasks/([0-9a-f-]{36})/ack$`)
	isUUID  = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
)

// editJSON forwards to the target and lets edit change the JSON answer of
// the requests match selects.
func editJSON(tg *target, match func(r *http.Request, rel string) bool, edit func(r *http.Request, status int, body map[string]any) (int, any)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rel := tg.rel(r)
		if !match(r, rel) {
			tg.inner.ServeHTTP(w, r)
			return
		}
		rec := call(tg.inner, r)
		status, body := edit(r, rec.Code, decode(rec.Body.Bytes()))
		writeJSON(w, status, body)
	})
}

func isGet(r *http.Request) bool { return r.Method == http.MethodGet }

var breakages = []breakage{
	{
		name: "drops paging.next",
		wrap: func(t *testing.T, tg *target) http.Handler {
			return editJSON(tg, func(r *http.Request, rel string) bool { return isGet(r) && rel == "/rostering/persons" },
				func(_ *http.Request, s int, b map[string]any) (int, any) {
					if p, ok := b["paging"].(map[string]any); ok {
						p["next"] = nil
					}
					return s, b
				})
		},
		check: "paging/listPersons yields every object exactly once", reason: "was never returned",
	},
	{
		name: "repeats an item across pages",
		wrap: func(t *testing.T, tg *target) http.Handler {
			return pageShift(tg, "/rostering/courses", func(prev, cur []any) []any {
				return append([]any{prev[len(prev)-1]}, cur[:len(cur)-1]...)
			})
		},
		check: "paging/listCourses yields every object exactly once", reason: "appeared on page 0 and again on page 1",
	},
	{
		name: "skips an item across pages",
		wrap: func(t *testing.T, tg *target) http.Handler {
			return pageShift(tg, "/rostering/sections", func(_, cur []any) []any { return cur[1:] })
		},
		check: "paging/listSections yields every object exactly once", reason: "a walk yields every object exactly once",
	},
	{
		name: "links an empty page after the last",
		wrap: func(t *testing.T, tg *target) http.Handler {
			return editJSON(tg, func(r *http.Request, rel string) bool { return isGet(r) && rel == "/rostering/terms" },
				func(r *http.Request, s int, b map[string]any) (int, any) {
					q := r.URL.Query()
					size, _ := strconv.Atoi(q.Get("page_size"))
					data, _ := b["data"].([]any)
					if p, ok := b["paging"].(map[string]any); ok && p["next"] == nil && size > 0 && len(data) == size {
						pg, _ := strconv.Atoi(q.Get("page"))
						q.Set("page", strconv.Itoa(pg+1))
						p["next"] = "http://" + r.Host + r.URL.Path + "?" + q.Encode()
					}
					return s, b
				})
		},
		check: "paging/listTerms yields every object exactly once", reason: "paging.next must be null exactly at the end",
	},
	{
		name: "answers a relative paging.next",
		wrap: func(t *testing.T, tg *target) http.Handler {
			return editJSON(tg, func(r *http.Request, rel string) bool { return isGet(r) && rel == "/rostering/orgs" },
				func(_ *http.Request, s int, b map[string]any) (int, any) {
					if p, ok := b["paging"].(map[string]any); ok {
						if n, ok := p["next"].(string); ok {
							u, _ := url.Parse(n)
							p["next"] = u.RequestURI()
						}
					}
					return s, b
				})
		},
		check: "paging/listOrgs yields every object exactly once", reason: "paging.next must be the absolute URL",
	},
	{
		name: "ignores the page parameter",
		wrap: func(t *testing.T, tg *target) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tg.rel(r) == "/rostering/students" {
					q := r.URL.Query()
					q.Del("page")
					r = clone(r, r.Method, r.URL.Path, q, nil, "")
				}
				tg.inner.ServeHTTP(w, r)
			})
		},
		check: "paging/listStudents yields every object exactly once", reason: "paging.next must lead forward",
	},
	{
		name: "clamps page_size instead of rejecting it",
		wrap: func(t *testing.T, tg *target) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				q := r.URL.Query()
				if n, err := strconv.Atoi(q.Get("page_size")); err == nil && n > 2000 {
					q.Set("page_size", "2000")
					r = clone(r, r.Method, r.URL.Path, q, nil, "")
				}
				tg.inner.ServeHTTP(w, r)
			})
		},
		check: "paging/bad page and page_size values get 400", reason: "page_size=2001 is outside the contract's range and must get 400",
	},
	{
		name: "accepts requests without credentials",
		wrap: func(t *testing.T, tg *target) http.Handler {
			tok := tg.tokens(t)
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Header.Get("Authorization") == "" && tg.rel(r) != "" {
					r.Header.Set("Authorization", tok[0])
				}
				tg.inner.ServeHTTP(w, r)
			})
		},
		check: "auth/requests without credentials get 401", reason: "without an Authorization header must get 401",
	},
	{
		name: "accepts any bearer token",
		wrap: func(t *testing.T, tg *target) http.Handler {
			tok := tg.tokens(t)
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if strings.Contains(r.Header.Get("Authorization"), "conformance-invalid") {
					r.Header.Set("Authorization", tok[0])
				}
				tg.inner.ServeHTTP(w, r)
			})
		},
		check: "auth/requests with a bad token get 401", reason: "with a bearer token the server never issued must get 401",
	},
	{
		name: "accepts client credentials as a token",
		wrap: func(t *testing.T, tg *target) http.Handler {
			tok := tg.tokens(t)
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if strings.HasPrefix(r.Header.Get("Authorization"), "Basic ") && tg.rel(r) != "" {
					r.Header.Set("Authorization", tok[0])
				}
				tg.inner.ServeHTTP(w, r)
			})
		},
		check: "auth/client credentials are not accepted", reason: "HTTP Basic instead of a token must get 401",
	},
	{
		name: "answers token errors with 500",
		wrap: func(t *testing.T, tg *target) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != tg.tokenURL {
					tg.inner.ServeHTTP(w, r)
					return
				}
				rec := call(tg.inner, r)
				if rec.Code >= 400 {
					writeJSON(w, 500, map[string]any{"error": "server_error"})
					return
				}
				reply(w, rec)
			})
		},
		check: "auth/token endpoint answers RFC 6749 errors", reason: "RFC 6749 §5.2: a request without grant_type gets 400 with error invalid_request",
	},
	{
		name: "lets token answers be cached",
		wrap: func(t *testing.T, tg *target) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				rec := call(tg.inner, r)
				rec.Header().Del("Cache-Control")
				reply(w, rec)
			})
		},
		check: "auth/token endpoint issues bearer tokens", reason: "Cache-Control: no-store",
	},
	{
		name: "answers 200 for unknown ids",
		wrap: func(t *testing.T, tg *target) http.Handler {
			return editJSON(tg, func(r *http.Request, rel string) bool { return isGet(r) && idPath.MatchString(rel) },
				func(r *http.Request, s int, b map[string]any) (int, any) {
					if s != 404 {
						return s, b
					}
					id := r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]
					return 200, map[string]any{"data": map[string]any{"$sys": map[string]any{"id": id, "org_type": "School", "person_type": "Student", "term_type": "SchoolYear"}}}
				})
		},
		check: "finds/unknown ids get 404", reason: "with an id that does not exist must get 404",
	},
	{
		name: "answers 500 for malformed ids",
		wrap: func(t *testing.T, tg *target) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				parts := strings.Split(tg.rel(r), "/")
				if len(parts) > 3 && parts[1] == "rostering" && !isUUID.MatchString(parts[3]) {
					writeJSON(w, 500, map[string]any{"error": map[string]any{"status": 500, "code": "internal_error", "message": "internal server error"}})
					return
				}
				tg.inner.ServeHTTP(w, r)
			})
		},
		check: "finds/malformed ids get 400", reason: "with a malformed id",
	},
	{
		name: "finds an LEA by a school's id",
		wrap: func(t *testing.T, tg *target) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if rel := tg.rel(r); strings.HasPrefix(rel, "/rostering/leas/") {
					r = clone(r, r.Method, tg.base+"/rostering/orgs/"+strings.TrimPrefix(rel, "/rostering/leas/"), nil, nil, "")
				}
				tg.inner.ServeHTTP(w, r)
			})
		},
		check: "finds/findLEA does not find a school", reason: "an org that exists but is not an LEA is 404",
	},
	{
		name: "finds other content than it lists",
		wrap: func(t *testing.T, tg *target) http.Handler {
			return editJSON(tg, func(r *http.Request, rel string) bool {
				return isGet(r) && strings.HasPrefix(rel, "/rostering/courses/")
			},
				func(_ *http.Request, s int, b map[string]any) (int, any) {
					if d, ok := b["data"].(map[string]any); ok {
						d["title"] = "Something else"
					}
					return s, b
				})
		},
		check: "finds/listCourses objects are found by $sys.id with the same content", reason: "title differs",
	},
	{
		name: "answers a non-spec error body",
		wrap: func(t *testing.T, tg *target) http.Handler {
			return editJSON(tg, func(r *http.Request, rel string) bool { return isGet(r) && strings.HasPrefix(rel, "/rostering/terms/") },
				func(_ *http.Request, s int, b map[string]any) (int, any) {
					if s >= 400 {
						return s, map[string]any{"message": "not here"}
					}
					return s, b
				})
		},
		check: "spec/findTerm answers spec-valid responses", reason: "does not match the contract's schema", groups: []string{"finds"},
	},
	{
		name: "answers errors as text/plain",
		wrap: func(t *testing.T, tg *target) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				rec := call(tg.inner, r)
				if rec.Code == 404 && strings.HasPrefix(tg.rel(r), "/rostering/persons/") {
					http.Error(w, "404 page not found", 404)
					return
				}
				reply(w, rec)
			})
		},
		check: "finds/unknown ids get 404", reason: "the contract promises application/json",
	},
	{
		name: "answers an undeclared status",
		wrap: func(t *testing.T, tg *target) http.Handler {
			return editJSON(tg, func(r *http.Request, rel string) bool {
				return isGet(r) && strings.HasPrefix(rel, "/rostering/sections/")
			},
				func(_ *http.Request, s int, b map[string]any) (int, any) {
					if s == 404 {
						return 410, map[string]any{"error": map[string]any{"status": 410, "code": "gone", "message": "gone"}}
					}
					return s, b
				})
		},
		check: "spec/findSection answers spec-valid responses", reason: "status 410 is not one the contract declares", groups: []string{"finds"},
	},
	{
		name: "lists a teacher among students",
		wrap: func(t *testing.T, tg *target) http.Handler {
			return slipIn(tg, func(rel string) bool { return rel == "/rostering/students" }, "/rostering/teachers")
		},
		check: "memberships/listStudents and listTeachers hold only persons of that type", reason: "lists only persons of type Student",
	},
	{
		name: "lists a student among an org's teachers",
		wrap: func(t *testing.T, tg *target) http.Handler {
			return slipIn(tg, func(rel string) bool {
				return strings.HasPrefix(rel, "/rostering/orgs/") && strings.HasSuffix(rel, "/teachers")
			}, "/rostering/students")
		},
		check: "memberships/an org's teachers are Teacher persons", reason: "an org's members are persons of type Teacher/Staff",
	},
	{
		name: "returns a task again right after it was leased",
		wrap: func(t *testing.T, tg *target) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if isGet(r) && tg.rel(r) == "/tasks" {
					// Serve the unleasing admin view instead: nothing is ever leased.
					r = clone(r, "GET", tg.base+"/tasks/admin", r.URL.Query(), nil, "")
				}
				tg.inner.ServeHTTP(w, r)
			})
		},
		check: "tasks/listTasks leases its batch", reason: "came back from the very next listTasks",
	},
	{
		name: "acknowledges without removing",
		wrap: func(t *testing.T, tg *target) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if m := taskAck.FindStringSubmatch(tg.rel(r)); m != nil && r.Method == http.MethodPut {
					var a map[string]any
					if json.Unmarshal(readBody(r), &a) == nil {
						writeJSON(w, 200, map[string]any{"data": map[string]any{"task_id": m[1], "status": a["status"], "acknowledged_at": "2025-11-16T12:20:00Z"}})
						return
					}
				}
				tg.inner.ServeHTTP(w, r)
			})
		},
		check: "tasks/acknowledgement removes a task", reason: "success removes a task from the queue",
	},
	{
		name: "refuses an acknowledgement without a status (the decision before ack-body was corrected)",
		wrap: func(t *testing.T, tg *target) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if taskAck.MatchString(tg.rel(r)) && r.Method == http.MethodPut {
					body := readBody(r)
					var a map[string]any
					if json.Unmarshal(body, &a) == nil && a["status"] == nil {
						writeJSON(w, 400, map[string]any{"error": map[string]any{"status": 400, "code": "invalid_body", "message": "status is required"}})
						return
					}
					reply(w, call(tg.inner, clone(r, "PUT", r.URL.Path, r.URL.Query(), body, "")))
					return
				}
				tg.inner.ServeHTTP(w, r)
			})
		},
		check: "tasks/an acknowledgement without a status", reason: "must answer 200",
	},
	{
		name: "accepts a malformed acknowledgement as success",
		wrap: func(t *testing.T, tg *target) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if taskAck.MatchString(tg.rel(r)) && r.Method == http.MethodPut {
					body := readBody(r)
					rec := call(tg.inner, clone(r, "PUT", r.URL.Path, r.URL.Query(), body, ""))
					if rec.Code == 400 {
						rec = call(tg.inner, clone(r, "PUT", r.URL.Path, r.URL.Query(), []byte(`{"status":"success"}`), ""))
					}
					reply(w, rec)
					return
				}
				tg.inner.ServeHTTP(w, r)
			})
		},
		check: "tasks/malformed acknowledgements get 400", reason: "must get 400",
	},
	{
		name: "acknowledges part of a failed group",
		wrap: func(t *testing.T, tg *target) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tg.rel(r) == "/tasks/ack" && r.Method == http.MethodPut {
					body := readBody(r)
					var g []map[string]any
					_ = json.Unmarshal(body, &g)
					for _, a := range g {
						id, _ := a["task_id"].(string)
						one, _ := json.Marshal(map[string]any{"status": a["status"]})
						call(tg.inner, clone(r, "PUT", tg.base+"/tasks/"+id+"/ack", nil, one, ""))
					}
					reply(w, call(tg.inner, clone(r, "PUT", r.URL.Path, nil, body, "")))
					return
				}
				tg.inner.ServeHTTP(w, r)
			})
		},
		check: "tasks/group acknowledgement with an unknown id is all or nothing", reason: "a group acknowledgement is all or nothing",
	},
	{
		name: "treats retry like success",
		wrap: func(t *testing.T, tg *target) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if m := taskAck.FindStringSubmatch(tg.rel(r)); m != nil && r.Method == http.MethodPut {
					body := readBody(r)
					if strings.Contains(string(body), `"retry"`) {
						writeJSON(w, 200, map[string]any{"data": map[string]any{"task_id": m[1], "status": "retry", "acknowledged_at": "2025-11-16T12:20:00Z"}})
						call(tg.inner, clone(r, "DELETE", tg.base+"/tasks/admin/"+m[1], nil, nil, ""))
						return
					}
					r = clone(r, "PUT", r.URL.Path, nil, body, "")
				}
				tg.inner.ServeHTTP(w, r)
			})
		},
		check: "tasks/retry releases a task", reason: "retry keeps the task in the queue",
	},
	{
		name: "never deletes",
		wrap: func(t *testing.T, tg *target) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Method == http.MethodDelete {
					reply(w, call(tg.inner, clone(r, "GET", r.URL.Path, nil, nil, "")))
					return
				}
				tg.inner.ServeHTTP(w, r)
			})
		},
		check: "tasks/admin find, acknowledge and delete", reason: "deleteAdminTask removes the task",
	},
	{
		name: "never redelivers after the lease",
		wrap: func(t *testing.T, tg *target) http.Handler {
			var mu sync.Mutex
			delivered := map[string]bool{}
			return editJSON(tg, func(r *http.Request, rel string) bool { return isGet(r) && rel == "/tasks" },
				func(_ *http.Request, s int, b map[string]any) (int, any) {
					mu.Lock()
					defer mu.Unlock()
					d, _ := b["data"].([]any)
					kept := []any{}
					for _, x := range d {
						raw, _ := json.Marshal(x)
						id := regexp.MustCompile(`"id":"([^"]+)"`).FindStringSubmatch(string(raw))[1]
						// A task is delivered once: lease expiry never frees it.
						if delivered[id] {
							continue
						}
						delivered[id] = true
						kept = append(kept, x)
					}
					b["data"] = kept
					return s, b
				})
		},
		check: "tasks/a leased task is delivered again after its lease expires", reason: "a task whose lease expired is returned again",
	},
	{
		name: "shows another tenant's objects in lists",
		wrap: func(t *testing.T, tg *target) http.Handler {
			tok := tg.tokens(t)
			return editJSON(tg, func(r *http.Request, rel string) bool {
				return isGet(r) && rel == "/rostering/courses" && tg.tenantOf(t, r) == 1
			}, func(r *http.Request, s int, b map[string]any) (int, any) {
				other := decode(call(tg.inner, clone(r, "GET", r.URL.Path, r.URL.Query(), nil, tok[0])).Body.Bytes())
				b["data"] = append(b["data"].([]any), other["data"].([]any)...)
				return s, b
			})
		},
		check: "isolation/no list shows another tenant's objects", reason: "a tenant sees only its own data",
	},
	{
		name: "finds another tenant's objects",
		wrap: func(t *testing.T, tg *target) http.Handler {
			tok := tg.tokens(t)
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				rec := call(tg.inner, r)
				if rec.Code == 404 && isGet(r) && strings.HasPrefix(tg.rel(r), "/rostering/persons/") {
					for _, tk := range tok {
						if other := call(tg.inner, clone(r, "GET", r.URL.Path, nil, nil, tk)); other.Code == 200 {
							rec = other
						}
					}
				}
				reply(w, rec)
			})
		},
		check: "isolation/no find finds another tenant's objects", reason: "must not find an object of tenant",
	},
	{
		name: "mixes tenants' task queues",
		wrap: func(t *testing.T, tg *target) http.Handler {
			tok := tg.tokens(t)
			return editJSON(tg, func(r *http.Request, rel string) bool {
				return isGet(r) && rel == "/tasks/admin" && tg.tenantOf(t, r) == 0
			}, func(r *http.Request, s int, b map[string]any) (int, any) {
				other := decode(call(tg.inner, clone(r, "GET", r.URL.Path, url.Values{"page_size": {"1"}}, nil, tok[1])).Body.Bytes())
				if s == 200 {
					b["data"] = append(b["data"].([]any), other["data"].([]any)...)
				}
				return s, b
			})
		},
		check: "isolation/each tenant's queue holds only its own tasks", reason: "holds task",
	},
	{
		name: "deletes another tenant's task",
		wrap: func(t *testing.T, tg *target) http.Handler {
			tok := tg.tokens(t)
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				rec := call(tg.inner, r)
				if rec.Code == 404 && r.Method == http.MethodDelete {
					rec = call(tg.inner, clone(r, "DELETE", r.URL.Path, nil, nil, tok[1]))
				}
				reply(w, rec)
			})
		},
		check: "isolation/no acknowledgement or delete reaches another tenant's task", reason: "deleteAdminTask of tenant 1 must not reach a task of tenant 2",
	},
	{
		name: "refuses LTI JWTs", wrap: refusesLTI,
		check: "auth/an LTI JWT authorises requests for its tenant", reason: "answered 401 (want 200)",
	},
	{
		name: "accepts a tampered LTI JWT", wrap: acceptsTamperedLTI,
		check: "auth/a tampered LTI JWT gets 401", reason: "must get 401",
	},
	{
		name: "an LTI JWT lists another tenant's objects", wrap: ltiSeesOthers,
		check: "isolation/LTI JWT: no list shows another tenant's objects", reason: "a tenant sees only its own data",
	},
	{
		name: "an LTI JWT finds another tenant's objects", wrap: ltiSeesOthers,
		check: "isolation/LTI JWT: no find finds another tenant's objects", reason: "must not find an object of tenant",
	},
	{
		name: "an LTI JWT's queue holds another tenant's tasks", wrap: ltiSeesOthers,
		check: "isolation/LTI JWT: each tenant's queue holds only its own tasks", reason: "holds task",
	},
	{
		name: "an LTI JWT deletes another tenant's task", wrap: ltiSeesOthers,
		check: "isolation/LTI JWT: no acknowledgement or delete reaches another tenant's task", reason: "must not reach a task of tenant 2",
	},
	{
		name: "renders schema 3.0.0 like 2.0.0",
		wrap: func(t *testing.T, tg *target) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if q := r.URL.Query(); q.Get("schema") == "3.0.0" {
					q.Del("schema")
					r = clone(r, r.Method, r.URL.Path, q, nil, "")
				}
				tg.inner.ServeHTTP(w, r)
			})
		},
		check: "tasks/task schema versions", reason: "schema 3.0.0 renders tasks flat",
	},
	{
		name: "ignores page_size",
		wrap: func(t *testing.T, tg *target) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tg.rel(r) == "/rostering/persons" {
					q := r.URL.Query()
					q.Del("page_size")
					r = clone(r, r.Method, r.URL.Path, q, nil, "")
				}
				tg.inner.ServeHTTP(w, r)
			})
		},
		check: "paging/listPersons yields every object exactly once", reason: "a page holds at most page_size objects",
	},
	{
		// The classic off-by-one: "more pages" computed as offset+size < total-1,
		// so a last page of exactly one object is never linked.
		name: "drops a last page of one object",
		wrap: func(t *testing.T, tg *target) http.Handler {
			return editJSON(tg, func(r *http.Request, rel string) bool { return isGet(r) && rel == "/rostering/courses" },
				func(r *http.Request, s int, b map[string]any) (int, any) {
					p, _ := b["paging"].(map[string]any)
					next, _ := p["next"].(string)
					if next == "" {
						return s, b
					}
					u, _ := url.Parse(next)
					rest := decode(call(tg.inner, clone(r, "GET", u.Path, u.Query(), nil, "")).Body.Bytes())
					if d, _ := rest["data"].([]any); len(d) == 1 {
						p["next"] = nil
					}
					return s, b
				})
		},
		check: "paging/listCourses yields every object exactly once", reason: "was never returned",
	},
	{
		name: "answers 200 with empty data for unknown ids",
		wrap: func(t *testing.T, tg *target) http.Handler {
			return editJSON(tg, func(r *http.Request, rel string) bool { return isGet(r) && strings.HasPrefix(rel, "/rostering/") },
				func(r *http.Request, s int, b map[string]any) (int, any) {
					switch {
					case s != 404:
						return s, b
					case idPath.MatchString(tg.rel(r)):
						return 200, map[string]any{"data": map[string]any{}}
					default: // an unknown org's members: an empty list instead of 404
						return 200, map[string]any{"data": []any{}, "paging": map[string]any{"next": nil}}
					}
				})
		},
		check: "finds/unknown ids get 404", reason: "findLEA with an id that does not exist must get 404",
	},
	{
		name: "answers an unknown org's members with an empty list",
		wrap: func(t *testing.T, tg *target) http.Handler {
			return editJSON(tg, func(r *http.Request, rel string) bool {
				return isGet(r) && strings.HasPrefix(rel, "/rostering/orgs/") && strings.Count(rel, "/") == 4
			}, func(_ *http.Request, s int, b map[string]any) (int, any) {
				if s == 404 {
					return 200, map[string]any{"data": []any{}, "paging": map[string]any{"next": nil}}
				}
				return s, b
			})
		},
		check: "finds/unknown ids get 404", reason: "listStudentsForOrg with an id that does not exist must get 404",
	},
	{
		name: "answers lists as text/plain",
		wrap: func(t *testing.T, tg *target) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				rec := call(tg.inner, r)
				if rec.Code == 200 && tg.rel(r) == "/rostering/orgs" {
					rec.Header().Set("Content-Type", "text/plain; charset=utf-8")
				}
				reply(w, rec)
			})
		},
		check: "paging/listOrgs yields every object exactly once", reason: "the contract promises application/json",
	},
	{
		name: "answers errors without status and code",
		wrap: func(t *testing.T, tg *target) http.Handler {
			return editJSON(tg, func(r *http.Request, rel string) bool { return isGet(r) && strings.HasPrefix(rel, "/rostering/") },
				func(_ *http.Request, s int, b map[string]any) (int, any) {
					if s >= 400 {
						return s, map[string]any{"error": map[string]any{"message": "not found"}}
					}
					return s, b
				})
		},
		check: "finds/unknown ids get 404", reason: `property "status" is missing`,
	},
	{
		name: "answers an error.status that is not the HTTP status",
		wrap: func(t *testing.T, tg *target) http.Handler {
			return editJSON(tg, func(r *http.Request, rel string) bool { return rel != "" },
				func(_ *http.Request, s int, b map[string]any) (int, any) {
					if e, ok := b["error"].(map[string]any); ok && s == 401 {
						e["status"] = 403
					}
					return s, b
				})
		},
		check: "auth/requests without credentials get 401", reason: "error.status must repeat the HTTP status",
	},
	{
		name: "lists a teacher among an org's students",
		wrap: func(t *testing.T, tg *target) http.Handler {
			return slipIn(tg, func(rel string) bool {
				return strings.HasPrefix(rel, "/rostering/orgs/") && strings.HasSuffix(rel, "/students")
			}, "/rostering/teachers")
		},
		check: "memberships/an org's students are Student persons", reason: "an org's members are persons of type Student",
	},
	{
		name: "lists the LEA among schools",
		wrap: func(t *testing.T, tg *target) http.Handler {
			return slipIn(tg, func(rel string) bool { return rel == "/rostering/schools" }, "/rostering/leas")
		},
		check: "memberships/listLEAs and listSchools hold only orgs of that type", reason: "lists only orgs of type School",
	},
	{
		name: "leases newest first",
		wrap: func(t *testing.T, tg *target) http.Handler {
			return editJSON(tg, func(r *http.Request, rel string) bool { return isGet(r) && rel == "/tasks" },
				func(_ *http.Request, s int, b map[string]any) (int, any) {
					if d, ok := b["data"].([]any); ok {
						slices.Reverse(d)
					}
					return s, b
				})
		},
		check: "tasks/listTasks leases its batch", reason: "oldest first",
	},
	{
		name: "accepts a changed outcome",
		wrap: func(t *testing.T, tg *target) http.Handler {
			return editJSON(tg, func(r *http.Request, rel string) bool { return r.Method == http.MethodPut && taskAck.MatchString(rel) },
				func(r *http.Request, s int, b map[string]any) (int, any) {
					if s == 409 {
						return 200, map[string]any{"data": map[string]any{"task_id": taskAck.FindStringSubmatch(tg.rel(r))[1], "status": "error", "acknowledged_at": "2025-11-16T12:20:00Z"}}
					}
					return s, b
				})
		},
		check: "tasks/acknowledgement removes a task", reason: "a different outcome than the recorded one is a conflict",
	},
	{
		name: "forgets acknowledgements",
		wrap: func(t *testing.T, tg *target) http.Handler {
			var mu sync.Mutex
			acked := map[string]bool{}
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				m := taskAck.FindStringSubmatch(tg.rel(r))
				if m == nil || r.Method != http.MethodPut {
					tg.inner.ServeHTTP(w, r)
					return
				}
				mu.Lock()
				again := acked[m[1]]
				acked[m[1]] = true
				mu.Unlock()
				if again {
					writeJSON(w, 404, map[string]any{"error": map[string]any{"status": 404, "code": "not_found", "message": "task not found"}})
					return
				}
				tg.inner.ServeHTTP(w, r)
			})
		},
		check: "tasks/acknowledgement removes a task", reason: "repeating an acknowledgement with the same status succeeds again",
	},
	{
		name: "admin acknowledgement does not remove",
		wrap: func(t *testing.T, tg *target) http.Handler {
			adminAck := regexp.MustCompile(`^/tasks/admin/([0-9a-f-]{36})/ack$`)
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if m := adminAck.FindStringSubmatch(tg.rel(r)); m != nil && r.Method == http.MethodPut {
					var a map[string]any
					_ = json.Unmarshal(readBody(r), &a)
					writeJSON(w, 200, map[string]any{"data": map[string]any{"task_id": m[1], "status": a["status"], "acknowledged_at": "2025-11-16T12:20:00Z"}})
					return
				}
				tg.inner.ServeHTTP(w, r)
			})
		},
		check: "tasks/admin find, acknowledge and delete", reason: "acknowledgeAdminTask with error removes the task",
	},
	{
		name:  "acknowledges another tenant's task",
		wrap:  func(t *testing.T, tg *target) http.Handler { return ackAcrossTenants(t, tg, false) },
		check: "isolation/no acknowledgement or delete reaches another tenant's task", reason: "acknowledgeTask of tenant 1 must not reach a task of tenant 2",
	},
	{
		// Worse than accepting: the answer says 404 and the task is gone anyway.
		name:  "acknowledges another tenant's task behind a 404",
		wrap:  func(t *testing.T, tg *target) http.Handler { return ackAcrossTenants(t, tg, true) },
		check: "isolation/no acknowledgement or delete reaches another tenant's task", reason: "the task is gone",
	},
}

// ackAcrossTenants retries with the second tenant's token every
// acknowledgement the first tenant's token could not reach; hide404 answers
// the original 404 all the same.
func ackAcrossTenants(t *testing.T, tg *target, hide404 bool) http.Handler {
	tok := tg.tokens(t)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !taskAck.MatchString(tg.rel(r)) || r.Method != http.MethodPut {
			tg.inner.ServeHTTP(w, r)
			return
		}
		body := readBody(r)
		rec := call(tg.inner, clone(r, "PUT", r.URL.Path, nil, body, ""))
		if rec.Code == 404 {
			if other := call(tg.inner, clone(r, "PUT", r.URL.Path, nil, body, tok[1])); !hide404 {
				rec = other
			}
		}
		reply(w, rec)
	})
}

// slipIn adds the first object of the list at from to the first page of
// every list whose path match selects.
func slipIn(tg *target, match func(rel string) bool, from string) http.Handler {
	return editJSON(tg, func(r *http.Request, rel string) bool { return isGet(r) && match(rel) },
		func(r *http.Request, s int, b map[string]any) (int, any) {
			other := decode(call(tg.inner, clone(r, "GET", tg.base+from, url.Values{}, nil, "")).Body.Bytes())
			if d, ok := b["data"].([]any); ok && s == 200 && r.URL.Query().Get("page") == "" {
				b["data"] = append(d, other["data"].([]any)[0])
			}
			return s, b
		})
}

// pageShift lets shift rewrite every page after the first of the list at
// rel, given the previous page (fetched from the target) and the current one.
func pageShift(tg *target, rel string, shift func(prev, cur []any) []any) http.Handler {
	return editJSON(tg, func(r *http.Request, got string) bool { return isGet(r) && got == rel },
		func(r *http.Request, s int, b map[string]any) (int, any) {
			q := r.URL.Query()
			pg, _ := strconv.Atoi(q.Get("page"))
			cur, _ := b["data"].([]any)
			if pg < 1 || len(cur) == 0 {
				return s, b
			}
			q.Set("page", strconv.Itoa(pg-1))
			prev := decode(call(tg.inner, clone(r, "GET", r.URL.Path, q, nil, "")).Body.Bytes())["data"].([]any)
			b["data"] = shift(prev, cur)
			return s, b
		})
}

// TestEveryBreakageFailsItsCheck: a check that cannot fail is a defect. Each
// breakage must fail the check of the promise it breaks, with a reason that
// names that promise.
//
// The breakages wrap the reference server; with -short they wrap the
// in-package fake instead (the reference's SQLite is slow under -race).
func TestEveryBreakageFailsItsCheck(t *testing.T) {
	mk := func(t testing.TB) *target {
		// The breakages rewrite page numbers: they model a server that
		// pages by page alone, so the reference's cursors are taken out
		// of the requests that reach it.
		tg := referenceTarget(t)
		inner := tg.inner
		tg.inner = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if q := r.URL.Query(); q.Has("cursor") {
				q.Del("cursor")
				r = clone(r, r.Method, r.URL.Path, q, nil, "")
			}
			inner.ServeHTTP(w, r)
		})
		return tg
	}
	if testing.Short() {
		mk = fakeTarget
	}
	{
		for _, b := range breakages {
			t.Run(b.name, func(t *testing.T) {
				t.Parallel()
				tg := mk(t)
				cfg := tg.serve(t, b.wrap(t, tg))
				cfg.Groups = b.groups
				if cfg.Groups == nil {
					cfg.Groups = []string{b.check[:strings.Index(b.check, "/")]}
				}
				rep, err := conformance.Run(t.Context(), cfg)
				if err != nil {
					t.Fatal(err)
				}
				var got *conformance.Result
				for i, res := range rep.Results {
					if strings.HasPrefix(res.Group+"/"+res.Name, b.check) {
						got = &rep.Results[i]
						break
					}
				}
				if got == nil {
					t.Fatalf("no check named %q", b.check)
				}
				if got.Verdict != conformance.Fail {
					dump(t, rep)
					t.Fatalf("%s: verdict %s (%s), want fail", b.check, got.Verdict, got.Reason)
				}
				if !strings.Contains(got.Reason, b.reason) {
					t.Errorf("%s failed for another reason:\n got: %s\nwant: …%s…", b.check, got.Reason, b.reason)
				}
				if rep.OK() {
					t.Error("report OK despite a failed check")
				}
			})
		}
	}
}

func isLTI(tg *target, r *http.Request) bool {
	return r.Header.Get("Authorization") == "Bearer "+tg.ltiToken
}

// refusesLTI answers 401 to the LTI JWT, as a server that wires only OAuth2.
func refusesLTI(t *testing.T, tg *target) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if isLTI(tg, r) {
			writeJSON(w, 401, map[string]any{"error": map[string]any{"status": 401, "code": "unauthorized", "message": "no LTI"}})
			return
		}
		tg.inner.ServeHTTP(w, r)
	})
}

// acceptsTamperedLTI serves a token that starts like the LTI JWT as if it
// were the LTI JWT: a server that does not check the signature.
func acceptsTamperedLTI(t *testing.T, tg *target) http.Handler {
	head, _, _ := strings.Cut(tg.ltiToken, ".")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok && tok != tg.ltiToken && strings.HasPrefix(tok, head+".") {
			r = clone(r, r.Method, r.URL.Path, r.URL.Query(), readBody(r), "Bearer "+tg.ltiToken)
		}
		tg.inner.ServeHTTP(w, r)
	})
}

// ltiSeesOthers breaks isolation for the LTI JWT caller only: its course
// list, person finds, admin queue and deletes reach the second tenant too,
// while OAuth2 callers stay isolated.
func ltiSeesOthers(t *testing.T, tg *target) http.Handler {
	tok := tg.tokens(t)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !isLTI(tg, r) {
			tg.inner.ServeHTTP(w, r)
			return
		}
		rel := tg.rel(r)
		rec := call(tg.inner, r)
		switch {
		case isGet(r) && (rel == "/rostering/courses" || rel == "/tasks/admin") && rec.Code == 200:
			b := decode(rec.Body.Bytes())
			q := r.URL.Query()
			if rel == "/tasks/admin" {
				q = url.Values{"page_size": {"1"}}
			}
			other := decode(call(tg.inner, clone(r, "GET", r.URL.Path, q, nil, tok[1])).Body.Bytes())
			b["data"] = append(b["data"].([]any), other["data"].([]any)...)
			writeJSON(w, 200, b)
			return
		case rec.Code == 404 && (isGet(r) && strings.HasPrefix(rel, "/rostering/persons/") || r.Method == http.MethodDelete):
			rec = call(tg.inner, clone(r, r.Method, r.URL.Path, nil, nil, tok[1]))
		}
		reply(w, rec)
	})
}
