package proxy_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/interop-data/interop/pkg/contract"
	"github.com/interop-data/interop/pkg/drift"
	"github.com/interop-data/interop/pkg/proxy"
)

const (
	districtID = "2a4a2e06-7755-43bb-9766-4f398079ef8c"
	lincolnID  = "8d4f0f4a-1c1b-4b7a-9a43-2f1d6b2c9e11"
	zoeID      = "6f1d2c3b-4a5e-4f60-8a7b-9c0d1e2f3a4b"
	taskA      = "0b6b1f5e-2d0c-4c59-9d43-1f4e8a3d9c01"
	taskB      = "7d1c8f0a-52a3-4d8e-b6c6-3d2f9e4a1b02"
	base       = contract.BasePath
)

// logBuffer is a concurrency-safe log sink.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

type harness struct {
	proxy *proxy.Proxy
	srv   *httptest.Server
	logs  *logBuffer
}

// start puts a checking proxy in front of upstream (a handler, or nil with
// upstreamURL set).
func start(t *testing.T, upstream http.Handler, upstreamURL string, opts ...proxy.Option) *harness {
	t.Helper()
	if upstream != nil {
		up := httptest.NewServer(upstream)
		t.Cleanup(up.Close)
		upstreamURL = up.URL
	}
	logs := &logBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	rec, err := drift.NewRecorder(drift.WithLogger(logger))
	if err != nil {
		t.Fatal(err)
	}
	p, err := proxy.New(upstreamURL, rec, append([]proxy.Option{proxy.WithLogger(logger)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	return &harness{proxy: p, srv: srv, logs: logs}
}

func (h *harness) do(t *testing.T, method, path, body string, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, h.srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

func (h *harness) report(t *testing.T) *drift.Report {
	t.Helper()
	h.proxy.Wait()
	resp, b := h.do(t, "GET", proxy.ReportPath, "")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("report: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	rep, err := drift.ReadReport(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// answers serves canned answers by "METHOD path".
type answer struct {
	status int
	ctype  string
	body   string
}

func answers(m map[string]answer) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		a, ok := m[r.Method+" "+strings.TrimPrefix(r.URL.Path, base)]
		if !ok {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(404)
			_, _ = io.WriteString(w, `{"error":{"status":404,"code":"not_found","message":"no such thing"}}`)
			return
		}
		if a.ctype != "" {
			w.Header().Set("Content-Type", a.ctype)
		}
		w.Header().Set("Date", "Sun, 30 Nov 2026 08:00:00 GMT")
		w.WriteHeader(a.status)
		_, _ = io.WriteString(w, a.body)
	})
}

// vendor2022 answers in the shapes of the vendor's 2022 description: flat
// references, bare finds, lists without paging, empty acknowledgement
// answers, fields and vocabulary values the contract does not know.
var vendor2022 = map[string]answer{
	"GET /rostering/schools": {200, "application/json", `{"data":[{"$sys":{"id":"` + lincolnID + `","org_type":"School"},"name":"Lincoln",
		"$parent":{"id":"` + districtID + `","type":"Org","org_type":"LEA","label":"Kimono"}}]}`},
	"GET /rostering/orgs/" + districtID:  {200, "application/json", `{"$sys":{"id":"` + districtID + `","org_type":"LEA"},"name":"Kimono"}`},
	"GET /rostering/persons":             {200, "application/json", `{"data":[{"$sys":{"id":"` + zoeID + `","person_type":"Guardian"},"pronouns":"they"}],"paging":{"next":""}}`},
	"GET /rostering/students":            {200, "application/json", `{"data":[{"$sys":{"id":"` + zoeID + `","person_type":"Student"}}],"paging":{}}`},
	"PUT /tasks/" + taskA + "/ack":       {200, "", ``},
	"PUT /tasks/admin/" + taskA + "/ack": {204, "", ``},
	"PUT /tasks/ack":                     {200, "", ``},
}

// The proxy in front of a double answering in the vendor's 2022 shapes:
// every variant class is counted with its operation, none is a violation,
// and every answer reaches the caller byte for byte.
func TestVendor2022VariantsCountedPerOperation(t *testing.T) {
	t.Parallel()
	h := start(t, answers(vendor2022), "")
	calls := []struct{ method, path, body string }{
		{"GET", "/rostering/schools", ""},
		{"GET", "/rostering/schools", ""},
		{"GET", "/rostering/orgs/" + districtID, ""},
		{"GET", "/rostering/persons", ""},
		{"GET", "/rostering/students", ""},
		{"PUT", "/tasks/" + taskA + "/ack", `{"status":"success"}`},
		{"PUT", "/tasks/admin/" + taskA + "/ack", `{"status":"retry"}`},
		{"PUT", "/tasks/ack", `[{"task_id":"` + taskA + `","status":"success"},{"task_id":"` + taskB + `","status":"error","message":"bad row"}]`},
	}
	for _, c := range calls {
		resp, b := h.do(t, c.method, base+c.path, c.body)
		a := vendor2022[c.method+" "+c.path]
		if resp.StatusCode != a.status || string(b) != a.body {
			t.Fatalf("%s %s: the caller got %d %q, the upstream sent %d %q", c.method, c.path, resp.StatusCode, b, a.status, a.body)
		}
	}
	rep := h.report(t)
	want := map[string]map[string]int{
		"listSchools":           {"flat-reference": 2, "next-absent": 2},
		"findOrg":               {"bare-find": 1},
		"listPersons":           {"next-absent": 1, "unknown-field": 1, "unknown-value": 1},
		"listStudents":          {"next-absent": 1},
		"acknowledgeTask":       {"empty-ack": 1},
		"acknowledgeAdminTask":  {"empty-ack": 1},
		"acknowledgeAdminTasks": nil,
		"acknowledgeTasks":      {"empty-ack": 1},
	}
	for id, w := range want {
		o := rep.Operations[id]
		if w == nil {
			if o != nil {
				t.Errorf("%s seen", id)
			}
			continue
		}
		if o == nil {
			t.Errorf("%s unseen", id)
			continue
		}
		if len(o.Violations) != 0 {
			t.Errorf("%s: a tolerated variant reported as a violation: %+v", id, o.Violations)
		}
		if len(o.Variants) != len(w) {
			t.Errorf("%s: variants %v, want %v", id, o.Variants, w)
		}
		for k, n := range w {
			if o.Variants[k] != n {
				t.Errorf("%s: %s counted %d, want %d (%v)", id, k, o.Variants[k], n, o.Variants)
			}
		}
	}
}

// Values that look like student PII, tokens and secrets travel through the
// proxy in requests and answers that break the contract; none of them
// reaches the report (JSON or HTML) or the logs.
func TestNoBodyValueTokenOrSecretInReportOrLogs(t *testing.T) {
	t.Parallel()
	secrets := []string{
		"Zoë", "Núñez", "zoe.nunez@example.org", "123-45-6789", "2011-04-05", "555-0100",
		"eyJhbGciOiJIUzI1NiJ9.c2VjcmV0.sig", "s3cr3t-client-secret", "Maple Street", "OnlyThisKey",
	}
	bad := map[string]answer{
		// A person whose fields have the wrong types, an email that is
		// not one, a date that is not a date, and an unknown key holding PII.
		"GET /rostering/persons/" + zoeID: {200, "application/json", `{"data":{"$sys":{"id":"` + zoeID + `","person_type":"Student"},
			"name":{"first":"Zoë","last":42},"email":"zoe.nunez@example.org 123-45-6789","dob":"2011-04-05 555-0100"}}`},
		"GET /rostering/students": {200, "application/json", `{"data":[{"$sys":{"id":"123-45-6789","person_type":"Student","label":"Zoë Núñez"},"name":{"first":"Zoë","last":"Núñez"}}],"paging":{"next":null}}`},
		"GET /rostering/teachers": {200, "application/json", `{"data":[{"$sys":{"id":"Zoë Núñez","person_type":"Teacher"},"address":{"Maple Street":"OnlyThisKey"}}],"paging":{"next":"Zoë Núñez"}}`},
		"GET /rostering/terms":    {200, "application/json", `{"data":[{"$sys":{"id":"` + zoeID + `","term_type":"SchoolYear"},"Zoë Núñez":{"OnlyThisKey":1}}],"paging":{"next":null,"Maple Street":1}}`},
		"GET /rostering/courses":  {400, "text/plain", `Zoë Núñez s3cr3t-client-secret`},
		// A key of a map (source_id) that holds PII: the pointer names it {key}.
		"GET /rostering/sections": {200, "application/json", `{"data":[{"$sys":{"id":"` + zoeID + `","source_id":{"Zoë Núñez":5}}}],"paging":{"next":null}}`},
	}
	h := start(t, answers(bad), "")
	auth := []string{"Authorization", "Bearer eyJhbGciOiJIUzI1NiJ9.c2VjcmV0.sig", "X-Api-Key", "s3cr3t-client-secret"}
	h.do(t, "GET", base+"/rostering/persons/"+zoeID, "", auth...)
	h.do(t, "GET", base+"/rostering/students", "", auth...)
	h.do(t, "GET", base+"/rostering/teachers", "", auth...)
	h.do(t, "GET", base+"/rostering/terms", "", auth...)
	h.do(t, "GET", base+"/rostering/courses?page_size=Zoë&page=123-45-6789", "", auth...)
	h.do(t, "GET", base+"/rostering/sections", "", auth...)
	h.do(t, "PUT", base+"/tasks/"+taskA+"/ack", `{"status":"Zoë Núñez","message":"zoe.nunez@example.org","Maple Street":1}`, auth...)
	h.do(t, "GET", base+"/rostering/Zoë Núñez/zoe.nunez@example.org", "", auth...)
	h.do(t, "GET", "/oauth/token?client_secret=s3cr3t-client-secret", "", auth...)

	rep := h.report(t)
	req, resp := rep.Violations()
	if v := rep.Operations["listSections"].Violations; len(v) != 1 || v[0].Pointer != "/data/*/$sys/source_id/{key}" || v[0].Rule != "type" {
		t.Errorf("listSections: %+v", v)
	}
	if req != 2 || resp != 5 || len(rep.Unmatched) != 1 || rep.Operations["listTerms"].Variants["unknown-field"] != 1 {
		var js bytes.Buffer
		_ = rep.WriteJSON(&js)
		t.Fatalf("the breakages were not all reported: %d request, %d response violations, unmatched %v\n%s", req, resp, rep.Unmatched, js.String())
	}
	var js, page bytes.Buffer
	if err := rep.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	if err := rep.WriteHTML(&page); err != nil {
		t.Fatal(err)
	}
	_, live := h.do(t, "GET", proxy.ReportPath+".html", "")
	for where, text := range map[string]string{"report": js.String(), "page": page.String(), "live page": string(live), "logs": h.logs.String()} {
		for _, s := range secrets {
			if strings.Contains(text, s) || strings.Contains(text, jsonEscaped(s)) {
				t.Errorf("%s holds %q:\n%s", where, s, text)
			}
		}
	}
	if !strings.Contains(h.logs.String(), "contract violation") {
		t.Error("violations are not logged")
	}
}

func jsonEscaped(s string) string {
	b, _ := json.Marshal(s)
	return strings.Trim(string(b), `"`)
}

// An upstream that refuses connections gets the caller a 502, one that
// does not answer in time a 504, both with the API's JSON error, and a
// line in the report.
func TestUpstreamDownOrSlow(t *testing.T) {
	t.Parallel()
	t.Run("down", func(t *testing.T) {
		t.Parallel()
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close() // nothing listens there now
		h := start(t, nil, "http://"+addr)
		resp, b := h.do(t, "GET", base+"/rostering/orgs", "")
		checkGatewayError(t, resp, b, 502)
		rep := h.report(t)
		if len(rep.UpstreamErrors) != 1 || rep.UpstreamErrors[0] != (drift.UpstreamError{Operation: "listOrgs", Error: "unreachable", Count: 1}) {
			t.Fatalf("upstream errors %+v", rep.UpstreamErrors)
		}
	})
	t.Run("slow", func(t *testing.T) {
		t.Parallel()
		release := make(chan struct{})
		slow := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		})
		h := start(t, slow, "", proxy.WithTimeout(50*time.Millisecond))
		defer close(release)
		resp, b := h.do(t, "GET", base+"/tasks", "")
		checkGatewayError(t, resp, b, 504)
		rep := h.report(t)
		if len(rep.UpstreamErrors) != 1 || rep.UpstreamErrors[0] != (drift.UpstreamError{Operation: "listTasks", Error: "timeout", Count: 1}) {
			t.Fatalf("upstream errors %+v", rep.UpstreamErrors)
		}
		if rep.Operations["listTasks"].Calls != 1 || len(rep.Operations["listTasks"].Statuses) != 0 {
			t.Fatalf("listTasks %+v", rep.Operations["listTasks"])
		}
	})
}

func checkGatewayError(t *testing.T, resp *http.Response, b []byte, status int) {
	t.Helper()
	var e struct {
		Error struct {
			Status  int    `json:"status"`
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if resp.StatusCode != status || resp.Header.Get("Content-Type") != "application/json" || json.Unmarshal(b, &e) != nil ||
		e.Error.Status != status || e.Error.Code == "" || e.Error.Message == "" {
		t.Fatalf("got %d %s %s, want a %d JSON error", resp.StatusCode, resp.Header.Get("Content-Type"), b, status)
	}
}

// A body larger than what the proxy keeps streams through whole and
// unchanged, and is counted as not checked rather than judged.
func TestTooLargeStreamsThroughUnchecked(t *testing.T) {
	t.Parallel()
	var list strings.Builder
	list.WriteString(`{"data":[`)
	for i := range 2000 {
		if i > 0 {
			list.WriteByte(',')
		}
		list.WriteString(`{"$sys":{"id":"` + zoeID + `","person_type":"Student"}}`)
	}
	list.WriteString(`],"paging":{"next":null}}`)
	var got []byte
	up := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, _ = io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, list.String())
	})
	h := start(t, up, "", proxy.WithMaxBody(4096))
	_, b := h.do(t, "GET", base+"/rostering/students", "")
	if string(b) != list.String() {
		t.Fatalf("the caller got %d bytes of %d", len(b), list.Len())
	}
	bigAck := `[` + strings.Repeat(`{"task_id":"`+taskA+`","status":"success"},`, 200) + `{"task_id":"` + taskB + `","status":"success"}]`
	h.do(t, "PUT", base+"/tasks/ack", bigAck)
	if string(got) != bigAck {
		t.Fatalf("the upstream got %d bytes of %d", len(got), len(bigAck))
	}
	rep := h.report(t)
	if n := rep.Operations["listStudents"].NotChecked["too large: response"]; n != 1 {
		t.Fatalf("listStudents %+v", rep.Operations["listStudents"])
	}
	if n := rep.Operations["acknowledgeTasks"].NotChecked["too large: request"]; n != 1 {
		t.Fatalf("acknowledgeTasks %+v", rep.Operations["acknowledgeTasks"])
	}
}

// A gzip answer reaches the caller compressed, as sent, and is checked
// inflated.
func TestGzipPassedThroughAndChecked(t *testing.T) {
	t.Parallel()
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	_, _ = io.WriteString(zw, `{"data":{"name":"not a list"},"paging":{"next":null}}`)
	_ = zw.Close()
	up := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Encoding", "gzip")
		_, _ = w.Write(z.Bytes())
	})
	h := start(t, up, "")
	resp, b := h.do(t, "GET", base+"/rostering/orgs", "", "Accept-Encoding", "gzip")
	if resp.Header.Get("Content-Encoding") != "gzip" || !bytes.Equal(b, z.Bytes()) {
		t.Fatalf("the caller got %q encoded %q", b, resp.Header.Get("Content-Encoding"))
	}
	rep := h.report(t)
	v := rep.Operations["listOrgs"].Violations
	if len(v) != 1 || v[0].Pointer != "/data" || v[0].Rule != "type" {
		var js bytes.Buffer
		_ = rep.WriteJSON(&js)
		t.Fatalf("violations %+v\n%s", v, js.String())
	}
}

// x-unconfirmed operations: a success confirms, a 405 refutes, a 404 that
// is not the API's own error refutes, a 404 that is stays unsettled.
func TestUnconfirmedStates(t *testing.T) {
	t.Parallel()
	up := answers(map[string]answer{
		"GET /rostering/orgs":              {200, "application/json", `{"data":[],"paging":{"next":null}}`},
		"GET /tasks/admin/" + taskA:        {200, "application/json", `{"data":{"lifecycle_event":{"id":"` + taskA + `","tenant_id":"` + districtID + `","sequence":1,"created_at":"2025-11-16T12:17:04Z","action":"TENANT_INSTALLED"}}}`},
		"PUT /tasks/ack":                   {405, "text/plain", "Method Not Allowed"},
		"PUT /tasks/admin/ack":             {404, "text/html", "<h1>Not Found</h1>"},
		"DELETE /tasks/admin/" + taskA:     {404, "application/json", `{"error":{"status":404,"code":"not_found","message":"no task"}}`},
		"PUT /tasks/admin/" + taskA + "/x": {200, "", ""},
	})
	h := start(t, up, "")
	h.do(t, "GET", base+"/rostering/orgs", "")
	h.do(t, "GET", base+"/tasks/admin/"+taskA, "")
	h.do(t, "PUT", base+"/tasks/ack", `[{"task_id":"`+taskA+`","status":"success"}]`)
	h.do(t, "PUT", base+"/tasks/admin/ack", `[{"task_id":"`+taskA+`","status":"success"}]`)
	h.do(t, "DELETE", base+"/tasks/admin/"+taskA, "")
	h.do(t, "PUT", base+"/tasks/admin/"+taskA+"/x", "")
	rep := h.report(t)
	want := map[string]string{
		"findAdminTask": drift.Confirmed, "acknowledgeTasks": drift.Refuted,
		"acknowledgeAdminTasks": drift.Refuted, "deleteAdminTask": drift.NotSeen,
	}
	for id, s := range want {
		if rep.Unconfirmed[id] != s {
			t.Errorf("%s: %q, want %q", id, rep.Unconfirmed[id], s)
		}
	}
	if len(rep.Unmatched) != 1 || rep.Unmatched[0] != (drift.Unmatched{Method: "PUT", Path: "/tasks/admin/{id}/{id}", Count: 1}) {
		t.Errorf("unmatched %+v", rep.Unmatched)
	}
}

// The report is JSON by default, HTML for a browser, and read-only.
func TestReportEndpoint(t *testing.T) {
	t.Parallel()
	h := start(t, answers(nil), "")
	resp, b := h.do(t, "GET", proxy.ReportPath, "", "Accept", "text/html,application/xhtml+xml,*/*;q=0.8")
	if ct := resp.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" || !bytes.Contains(b, []byte("<h1>Drift report</h1>")) {
		t.Fatalf("browser: %s %.80s", ct, b)
	}
	resp, b = h.do(t, "GET", proxy.ReportPath+".json", "", "Accept", "text/html")
	if resp.Header.Get("Content-Type") != "application/json" || !json.Valid(b) {
		t.Fatalf("json: %s", b)
	}
	resp, b = h.do(t, "POST", proxy.ReportPath, `{}`)
	if resp.StatusCode != 405 || !json.Valid(b) {
		t.Fatalf("POST: %d %s", resp.StatusCode, b)
	}
}

// TestWaitCoversEveryAnsweredExchange holds Wait's promise: once the caller
// has read an answer, Wait returns only after that exchange is recorded.
// Counting an exchange only when it reached a checker let Wait begin before
// the handler's Add (a data race under -race, and a report one call short).
func TestWaitCoversEveryAnsweredExchange(t *testing.T) {
	t.Parallel()
	h := start(t, answers(vendor2022), "")
	for i := 1; i <= 50; i++ {
		h.do(t, "GET", base+"/rostering/schools", "")
		h.proxy.Wait()
		if got := h.proxy.Recorder().Report().Operations["listSchools"]; got == nil || got.Calls != i {
			t.Fatalf("after %d answered calls and Wait, the report holds %+v", i, got)
		}
	}
}
