package drift_test

import (
	"bytes"
	"compress/gzip"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/interop-data/interop/pkg/contract"
	"github.com/interop-data/interop/pkg/drift"
)

func newRecorder(t *testing.T, opts ...drift.Option) *drift.Recorder {
	t.Helper()
	r, err := drift.NewRecorder(opts...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func get(path string, status int, h http.Header, body string) *drift.Exchange {
	u, _ := url.Parse(path)
	if h == nil {
		h = http.Header{"Content-Type": {"application/json"}}
	}
	return &drift.Exchange{Method: "GET", URL: u, Status: status, ResponseHeader: h, ResponseBody: []byte(body)}
}

func gz(t *testing.T, s string) []byte {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	_, _ = w.Write([]byte(s))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// A compressed answer is checked inflated, within the body bound: a bomb
// is "too large", what is not gzip or another encoding is counted, not
// judged.
func TestContentEncodings(t *testing.T) {
	t.Parallel()
	r := newRecorder(t, drift.WithMaxBody(1024))
	path := contract.BasePath + "/rostering/orgs"
	bomb := gz(t, `{"data":[`+strings.Repeat(" ", 1<<20)+`],"paging":{"next":null}}`)
	r.Record(get(path, 200, http.Header{"Content-Type": {"application/json"}, "Content-Encoding": {"gzip"}}, string(bomb)))
	r.Record(get(path, 200, http.Header{"Content-Type": {"application/json"}, "Content-Encoding": {"gzip"}}, "not gzip"))
	r.Record(get(path, 200, http.Header{"Content-Type": {"application/json"}, "Content-Encoding": {"br"}}, "\x1b\x00"))
	r.Record(get(path, 200, http.Header{"Content-Type": {"application/json"}, "Content-Encoding": {"gzip"}}, string(gz(t, `{"data":[],"paging":{"next":null}}`))))
	o := r.Report().Operations["listOrgs"]
	want := map[string]int{"too large: response": 1, "content-encoding: not gzip": 1, "content-encoding": 1}
	if len(o.NotChecked) != len(want) || len(o.Violations) != 0 || o.Calls != 4 {
		t.Fatalf("%+v", o)
	}
	for k, n := range want {
		if o.NotChecked[k] != n {
			t.Errorf("%s: %d, want %d", k, o.NotChecked[k], n)
		}
	}
}

// Parameters are named by where they are, and array indices and undeclared
// names are normalised out of body pointers.
func TestViolationPlaces(t *testing.T) {
	t.Parallel()
	r := newRecorder(t)
	r.Record(get(contract.BasePath+"/rostering/orgs?page_size=0", 200, nil, `{"data":[],"paging":{"next":null}}`))
	r.Record(get(contract.BasePath+"/rostering/orgs", 200, nil, `{"data":[{"$sys":{"id":"x","org_type":"School"}}],"paging":{"next":null}}`))
	r.Record(get(contract.BasePath+"/rostering/orgs", 200, nil, `{"data":[{},{"$sys":{"id":"y","org_type":"School"}}],"paging":{"next":null}}`))
	r.Record(get(contract.BasePath+"/rostering/orgs", 418, nil, `{}`))
	r.Record(get(contract.BasePath+"/rostering/orgs", 200, http.Header{"Content-Type": {"text/csv"}}, `a,b`))
	r.Record(get(contract.BasePath+"/rostering/orgs", 503, http.Header{"Content-Type": {"text/html"}}, `<h1>down</h1>`)) // a gateway's: no violation
	got := map[drift.Violation]bool{}
	for _, v := range r.Report().Operations["listOrgs"].Violations {
		v.Count = 0
		got[v] = true
	}
	for _, v := range []drift.Violation{
		{Direction: "request", Pointer: "query parameter page_size", Rule: "minimum"},
		{Direction: "response", Pointer: "/data/*/$sys/id", Rule: "format"},
		{Direction: "response", Pointer: "status", Rule: "status"},
		{Direction: "response", Pointer: "header Content-Type", Rule: "contentType"},
	} {
		if !got[v] {
			t.Errorf("missing %+v in %+v", v, got)
		}
	}
	if len(got) != 4 {
		t.Errorf("violations %+v", got)
	}
}

// However many distinct unmatched requests come, the report keeps at most
// MaxUnmatched of them and counts the rest together.
func TestUnmatchedIsBounded(t *testing.T) {
	t.Parallel()
	r := newRecorder(t)
	segs := []string{"tasks", "admin", "ack", "rostering", "orgs", "persons", "schools", "terms", "sections", "courses", "teachers", "students"}
	n := 0
	for _, a := range segs {
		for _, b := range segs {
			for _, c := range segs[:3] {
				r.Record(get(contract.BasePath+"/"+c+"/"+a+"/"+b+"/x/y", 404, nil, `{}`))
				n++
			}
		}
	}
	rep := r.Report()
	if len(rep.Unmatched) != drift.MaxUnmatched+1 {
		t.Fatalf("%d unmatched groups", len(rep.Unmatched))
	}
	total, other := 0, 0
	for _, u := range rep.Unmatched {
		total += u.Count
		if u.Path == "(other)" {
			other = u.Count
		}
	}
	if total != n || other != n-drift.MaxUnmatched {
		t.Fatalf("counted %d (other %d) of %d", total, other, n)
	}
}

// Recording and reporting from many goroutines at once (run with -race).
func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	r := newRecorder(t)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 50 {
				r.Record(get(contract.BasePath+"/rostering/orgs", 200, nil, `{"data":[],"paging":{"next":null}}`))
				if j%10 == i%10 {
					_ = r.Report()
				}
			}
		}()
	}
	wg.Wait()
	if o := r.Report().Operations["listOrgs"]; o.Calls != 400 || o.Statuses["200"] != 400 {
		t.Fatalf("%+v", o)
	}
}

// Open vocabularies: a value the spec does not list is a tolerated
// variant, not a violation; a vocabulary compared case-insensitively (a
// sync's origin) takes any case; unknown members are counted too.
func TestUnknownValuesAndFields(t *testing.T) {
	t.Parallel()
	task := func(action, origin, extra string) string {
		return `{"data":[{"sync_event":{"id":"0b6b1f5e-2d0c-4c59-9d43-1f4e8a3d9c01","tenant_id":"2a4a2e06-7755-43bb-9766-4f398079ef8c",` +
			`"sequence":1,"created_at":"2025-11-16T12:17:04Z","action":"` + action + `","origin":"` + origin + `"` + extra + `}}],"paging":{"next":null}}`
	}
	for _, c := range []struct {
		name string
		body string
		want []string
	}{
		{"known", task("SYNC_START", "initial", ""), nil},
		{"origin in another case", task("SYNC_END", "Resend", ""), nil},
		{"unknown action", task("SYNC_PAUSE", "initial", ""), []string{"unknown-value"}},
		{"unknown origin", task("SYNC_START", "replay", ""), []string{"unknown-value"}},
		{"unknown member", task("SYNC_START", "initial", `,"priority":"high"`), []string{"unknown-field"}},
	} {
		r := newRecorder(t)
		r.Record(get(contract.BasePath+"/tasks", 200, nil, c.body))
		o := r.Report().Operations["listTasks"]
		if len(o.Violations) != 0 || len(o.Variants) != len(c.want) {
			t.Errorf("%s: violations %+v, variants %v, want %v", c.name, o.Violations, o.Variants, c.want)
			continue
		}
		for _, w := range c.want {
			if o.Variants[w] != 1 {
				t.Errorf("%s: variants %v, want %v", c.name, o.Variants, c.want)
			}
		}
	}
}
