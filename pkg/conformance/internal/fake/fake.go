// Package fake is a small, self-contained Interop Data API server used to test
// the conformance suite itself: in memory, plain net/http, two tenants with a
// tiny roster and a task queue with leases on an injected clock. It keeps the
// promises the suite checks, so that a test can break exactly one of them with
// a wrapper and watch the right check fail. It is not the reference server.
package fake

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// BasePath is where the API is mounted.
const BasePath = "/v2/interop/data"

// Client is one tenant's credentials.
type Client struct{ ID, Secret, TenantID string }

// Server is the fake. Its zero value is not usable; call New.
type Server struct {
	mu      sync.Mutex
	now     time.Time
	lease   time.Duration
	clients map[string]Client
	tokens  map[string]string // token -> tenant id
	tenants map[string]*tenantData
	Clients []Client
	// LTIToken is a bearer token the fake accepts for the first client's
	// tenant, standing for an LTI JWT (the fake checks no signature: any
	// other string, a tampered copy included, is unknown).
	LTIToken string
}

type tenantData struct {
	objects map[string][]obj // list name -> objects in order
	members map[string]map[string][]obj
	tasks   []*task
	acked   map[string]string
	seq     int64
}

type obj = map[string]any

type task struct {
	id, kind, action string
	seq              int64
	created          time.Time
	leasedUntil      time.Time
}

// New returns a fake with two tenants, each with an LEA, two schools, four
// students, two teachers, courses, sections, terms, a grading category and a
// queue of eight tasks. lease is the task lease.
func New(lease time.Duration) *Server {
	s := &Server{now: time.Date(2025, 11, 16, 12, 0, 0, 0, time.UTC), lease: lease,
		clients: map[string]Client{}, tokens: map[string]string{}, tenants: map[string]*tenantData{}}
	for i := 1; i <= 2; i++ {
		c := Client{ID: fmt.Sprintf("client-%d", i), Secret: fmt.Sprintf("secret-%d", i), TenantID: id(i, 0, 0)}
		s.clients[c.ID] = c
		s.Clients = append(s.Clients, c)
		s.tenants[c.TenantID] = s.seed(i, c.TenantID)
	}
	s.LTIToken = "eyJhbGciOiJFUzI1NiJ9.eyJ0ZW5hbnRfaWQiOiJmYWtlIn0.ZmFrZS1zaWduYXR1cmU"
	s.tokens[s.LTIToken] = s.Clients[0].TenantID
	return s
}

// Advance moves the fake's clock forward.
func (s *Server) Advance(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = s.now.Add(d)
}

// id makes deterministic, tenant-unique UUIDs.
func id(tenant, kind, n int) string {
	return fmt.Sprintf("%08x-0000-4000-8000-%012x", tenant<<8|kind, n)
}

func ref(o obj, extra map[string]any) obj {
	sys := o["$sys"].(obj)
	r := obj{"id": sys["id"], "label": sys["label"]}
	for k, v := range extra {
		r[k] = v
	}
	return obj{"$sys": r}
}

func (s *Server) seed(t int, tenantID string) *tenantData {
	d := &tenantData{objects: map[string][]obj{}, members: map[string]map[string][]obj{}, acked: map[string]string{}}
	org := func(n int, typ, name string) obj {
		return obj{"$sys": obj{"id": id(t, 1, n), "label": name, "org_type": typ}, "name": name, "local_id": strconv.Itoa(n)}
	}
	lea := org(1, "LEA", "District")
	s1, s2 := org(2, "School", "North School"), org(3, "School", "South School")
	d.objects["orgs"] = []obj{lea, s1, s2}
	d.objects["leas"] = []obj{lea}
	d.objects["schools"] = []obj{s1, s2}
	person := func(n int, typ, first string) obj {
		return obj{"$sys": obj{"id": id(t, 2, n), "label": first, "person_type": typ}, "name": obj{"first": first, "last": "Doe"}}
	}
	var students, teachers []obj
	for n := 1; n <= 4; n++ {
		students = append(students, person(n, "Student", fmt.Sprintf("Student%d", n)))
	}
	for n := 5; n <= 6; n++ {
		teachers = append(teachers, person(n, "Teacher", fmt.Sprintf("Teacher%d", n)))
	}
	d.objects["persons"] = append(append([]obj{}, students...), teachers...)
	d.objects["students"] = students
	d.objects["teachers"] = teachers
	term := obj{"$sys": obj{"id": id(t, 3, 1), "label": "2025-2026", "term_type": "SchoolYear"}, "name": "2025-2026"}
	d.objects["terms"] = []obj{term}
	var courses, sections []obj
	for n := 1; n <= 3; n++ {
		c := obj{"$sys": obj{"id": id(t, 4, n), "label": fmt.Sprintf("Course %d", n)}, "title": fmt.Sprintf("Course %d", n)}
		courses = append(courses, c)
		sections = append(sections, obj{"$sys": obj{"id": id(t, 5, n), "label": fmt.Sprintf("Section %d", n)},
			"title": fmt.Sprintf("Section %d", n), "$course": ref(c, obj{"type": "Course"})})
	}
	d.objects["courses"] = courses
	d.objects["sections"] = sections
	d.objects["gradingCategories"] = []obj{{"$sys": obj{"id": id(t, 6, 1), "label": "Homework"}, "name": "Homework"}}
	for _, o := range []obj{lea, s1, s2} {
		oid := o["$sys"].(obj)["id"].(string)
		d.members[oid] = map[string][]obj{"students": {}, "teachers": {}, "courses": {}, "sections": {}, "terms": {term}}
	}
	d.members[id(t, 1, 2)]["students"] = students[:2]
	d.members[id(t, 1, 3)]["students"] = students[2:]
	d.members[id(t, 1, 2)]["teachers"] = teachers[:1]
	d.members[id(t, 1, 3)]["teachers"] = teachers[1:]
	d.members[id(t, 1, 2)]["courses"] = courses
	d.members[id(t, 1, 2)]["sections"] = sections
	kinds := []struct{ kind, action string }{{"lifecycle_event", "TENANT_INSTALLED"}, {"sync_event", "SYNC_START"}}
	for n := 1; n <= 12; n++ {
		kinds = append(kinds, struct{ kind, action string }{"data_event", "ADD"})
	}
	kinds = append(kinds, struct{ kind, action string }{"sync_event", "SYNC_END"})
	for _, k := range kinds {
		d.seq++
		d.tasks = append(d.tasks, &task{id: id(t, 7, int(d.seq)), kind: k.kind, action: k.action, seq: d.seq, created: s.now})
	}
	return d
}

// Handler serves /oauth/token and the API under BasePath.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /oauth/token", s.token)
	mux.Handle(BasePath+"/", http.StripPrefix(BasePath, http.HandlerFunc(s.api)))
	return mux
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func apiError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, obj{"error": obj{"status": status, "code": code, "message": msg}})
}

func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	tokErr := func(status int, code string) {
		if status == 401 {
			w.Header().Set("WWW-Authenticate", `Basic realm="token"`)
		}
		writeJSON(w, status, obj{"error": code})
	}
	if err := r.ParseForm(); err != nil {
		tokErr(400, "invalid_request")
		return
	}
	id, secret, basic := r.BasicAuth()
	if basic {
		id, _ = url.QueryUnescape(id)
		secret, _ = url.QueryUnescape(secret)
	} else {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	switch g := r.PostForm.Get("grant_type"); {
	case g == "":
		tokErr(400, "invalid_request")
		return
	case g != "client_credentials":
		tokErr(400, "unsupported_grant_type")
		return
	}
	c, ok := s.clients[id]
	if !ok || c.Secret != secret {
		tokErr(401, "invalid_client")
		return
	}
	s.mu.Lock()
	tok := fmt.Sprintf("tok-%s-%d", c.ID, len(s.tokens))
	s.tokens[tok] = c.TenantID
	s.mu.Unlock()
	writeJSON(w, 200, obj{"access_token": tok, "token_type": "Bearer", "expires_in": 3600})
}

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

func (s *Server) api(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	tenantID := s.tokens[tok]
	if !ok || tenantID == "" {
		apiError(w, 401, "unauthorized", "access token is invalid or expired")
		return
	}
	d := s.tenants[tenantID]
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	// Any segment in an id position must be a UUID.
	var idSeg string
	switch {
	case parts[0] == "rostering" && len(parts) >= 3:
		idSeg = parts[2]
	case parts[0] == "tasks" && len(parts) >= 2 && parts[1] != "admin" && parts[1] != "ack":
		idSeg = parts[1]
	case parts[0] == "tasks" && len(parts) >= 3 && parts[1] == "admin" && parts[2] != "ack":
		idSeg = parts[2]
	}
	if idSeg != "" && !uuidRE.MatchString(idSeg) {
		apiError(w, 400, "invalid_parameter", "id is not a UUID")
		return
	}
	q := r.URL.Query()
	pg, size, ok := paging(q)
	if !ok {
		apiError(w, 400, "invalid_parameter", "page or page_size is invalid")
		return
	}
	if sc := q.Get("schema"); sc != "" && sc != "2" && sc != "2.0.0" && sc != "3" && sc != "3.0.0" {
		apiError(w, 400, "invalid_parameter", "unknown task schema")
		return
	}
	flat := strings.HasPrefix(q.Get("schema"), "3")
	switch {
	case parts[0] == "rostering" || parts[0] == "grades":
		s.roster(w, r, d, parts, pg, size)
	case r.Method == "GET" && len(parts) == 1:
		s.listTasks(w, r, d, size, flat)
	case r.Method == "GET" && len(parts) == 2 && parts[1] == "admin":
		s.page(w, r, s.render(d, d.queued(), flat), pg, size)
	case r.Method == "GET" && len(parts) == 3:
		t := d.find(parts[2])
		if t == nil {
			apiError(w, 404, "not_found", "task not found")
			return
		}
		writeJSON(w, 200, obj{"data": s.one(t, tenantID, flat)})
	case r.Method == "DELETE" && len(parts) == 3:
		t := d.find(parts[2])
		if t == nil {
			apiError(w, 404, "not_found", "task not found")
			return
		}
		d.remove(t.id)
		writeJSON(w, 200, obj{"data": s.one(t, tenantID, false)})
	case r.Method == "PUT" && parts[len(parts)-1] == "ack" && (len(parts) == 2 || len(parts) == 3 && parts[1] == "admin"):
		s.groupAck(w, r, d)
	case r.Method == "PUT" && parts[len(parts)-1] == "ack":
		s.ackOne(w, r, d, parts[len(parts)-2])
	default:
		apiError(w, 404, "not_found", "no such operation")
	}
}

func paging(q url.Values) (int, int, bool) {
	pg, size := 0, 2000
	if v := q.Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return 0, 0, false
		}
		pg = n
	}
	if v := q.Get("page_size"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 2000 {
			return 0, 0, false
		}
		size = n
	}
	return pg, size, true
}

func (s *Server) roster(w http.ResponseWriter, r *http.Request, d *tenantData, parts []string, pg, size int) {
	name := parts[len(parts)-1]
	if len(parts) == 2 && parts[0] == "grades" && name == "categories" {
		name = "gradingCategories" // the 2022 path (decision paths-2022)
	}
	switch len(parts) {
	case 2:
		if name == "gradingCategories" || d.objects[name] != nil {
			s.page(w, r, d.objects[name], pg, size)
			return
		}
	case 3:
		kind := map[string]string{"orgs": "orgs", "leas": "leas", "persons": "persons", "courses": "courses", "sections": "sections", "terms": "terms"}[parts[1]]
		for _, o := range d.objects[kind] {
			if o["$sys"].(obj)["id"] == parts[2] {
				writeJSON(w, 200, obj{"data": o})
				return
			}
		}
		apiError(w, 404, "not_found", parts[1]+" "+parts[2]+" not found")
		return
	case 4:
		m, ok := d.members[parts[2]]
		if !ok {
			apiError(w, 404, "not_found", "org "+parts[2]+" not found")
			return
		}
		s.page(w, r, m[name], pg, size)
		return
	}
	apiError(w, 404, "not_found", "no such operation")
}

// page answers one page of all and links the next one.
func (s *Server) page(w http.ResponseWriter, r *http.Request, all []obj, pg, size int) {
	from := min(pg*size, len(all))
	to := min(from+size, len(all))
	var next any
	if to < len(all) {
		u := url.URL{Scheme: "http", Host: r.Host, Path: BasePath + r.URL.Path}
		q := r.URL.Query()
		q.Set("page", strconv.Itoa(pg+1))
		q.Set("page_size", strconv.Itoa(size))
		u.RawQuery = q.Encode()
		next = u.String()
	}
	data := all[from:to]
	if data == nil {
		data = []obj{}
	}
	writeJSON(w, 200, obj{"data": data, "paging": obj{"next": next}})
}

func (d *tenantData) queued() []*task { return d.tasks }

func (d *tenantData) find(id string) *task {
	for _, t := range d.tasks {
		if t.id == id {
			return t
		}
	}
	return nil
}

func (d *tenantData) remove(id string) {
	for i, t := range d.tasks {
		if t.id == id {
			d.tasks = append(d.tasks[:i], d.tasks[i+1:]...)
			return
		}
	}
}

func (s *Server) one(t *task, tenantID string, flat bool) obj {
	ev := obj{"id": t.id, "tenant_id": tenantID, "sequence": t.seq, "created_at": t.created.Format(time.RFC3339), "action": t.action}
	if flat {
		ev["type"] = t.kind
		ev["schema"] = "3.0.0"
		return ev
	}
	return obj{t.kind: ev}
}

func (s *Server) render(d *tenantData, ts []*task, flat bool) []obj {
	var tenantID string
	for k, v := range s.tenants {
		if v == d {
			tenantID = k
		}
	}
	out := []obj{}
	for _, t := range ts {
		out = append(out, s.one(t, tenantID, flat))
	}
	return out
}

func (s *Server) listTasks(w http.ResponseWriter, r *http.Request, d *tenantData, size int, flat bool) {
	if size > 100 {
		size = 100
	}
	var batch []*task
	sort.Slice(d.tasks, func(i, j int) bool { return d.tasks[i].seq < d.tasks[j].seq })
	for _, t := range d.tasks {
		if len(batch) == size {
			break
		}
		if t.leasedUntil.After(s.now) {
			continue
		}
		t.leasedUntil = s.now.Add(s.lease)
		batch = append(batch, t)
	}
	writeJSON(w, 200, obj{"data": s.render(d, batch, flat), "paging": obj{"next": nil}})
}

type ack struct {
	TaskID  *string `json:"task_id"`
	Status  string  `json:"status"`
	Message string  `json:"message"`
	Error   *struct {
		Status *int `json:"status"`
	} `json:"error"`
}

// outcome fills a missing status as the spec decides (ack-body, ack-error):
// error with an error object, success without.
func (a *ack) outcome() {
	switch {
	case a.Status != "":
	case a.Error != nil:
		a.Status = "error"
	default:
		a.Status = "success"
	}
}

func validStatus(s string) bool {
	return s == "success" || s == "error" || s == "retry" || s == "reauthenticate"
}

func (s *Server) apply(d *tenantData, id, status string) (obj, int, string) {
	if prev, ok := d.acked[id]; ok {
		if prev != status {
			return nil, 409, "task " + id + " was already acknowledged as " + prev
		}
		return obj{"task_id": id, "status": status, "acknowledged_at": s.now.Format(time.RFC3339)}, 200, ""
	}
	t := d.find(id)
	if t == nil {
		return nil, 404, "task " + id + " not found"
	}
	switch status {
	case "retry", "reauthenticate":
		t.leasedUntil = time.Time{}
	default:
		d.acked[id] = status
		d.remove(id)
	}
	return obj{"task_id": id, "status": status, "acknowledged_at": s.now.Format(time.RFC3339)}, 200, ""
}

func (s *Server) ackOne(w http.ResponseWriter, r *http.Request, d *tenantData, id string) {
	var a ack
	body, _ := io.ReadAll(r.Body)
	err := json.Unmarshal(body, &a)
	a.outcome()
	if err != nil || !validStatus(a.Status) || len(a.Message) > 4096 || (a.TaskID != nil && *a.TaskID != id) {
		apiError(w, 400, "invalid_body", "invalid acknowledgement")
		return
	}
	rec, status, msg := s.apply(d, id, a.Status)
	if rec == nil {
		code := map[int]string{404: "not_found", 409: "conflict"}[status]
		apiError(w, status, code, msg)
		return
	}
	writeJSON(w, 200, obj{"data": rec})
}

func (s *Server) groupAck(w http.ResponseWriter, r *http.Request, d *tenantData) {
	var g []ack
	body, _ := io.ReadAll(r.Body)
	if json.Unmarshal(body, &g) != nil || len(g) == 0 {
		apiError(w, 400, "invalid_body", "a group acknowledgement is a non-empty array")
		return
	}
	for i := range g {
		g[i].outcome()
	}
	for _, a := range g {
		if a.TaskID == nil || !uuidRE.MatchString(*a.TaskID) || !validStatus(a.Status) {
			apiError(w, 400, "invalid_body", "every item needs task_id and status")
			return
		}
		if _, done := d.acked[*a.TaskID]; !done && d.find(*a.TaskID) == nil {
			apiError(w, 404, "not_found", "task "+*a.TaskID+" not found; no task was acknowledged")
			return
		}
	}
	out := []obj{}
	for _, a := range g {
		rec, status, msg := s.apply(d, *a.TaskID, a.Status)
		if rec == nil {
			apiError(w, status, "conflict", msg)
			return
		}
		out = append(out, rec)
	}
	writeJSON(w, 200, obj{"data": out})
}
