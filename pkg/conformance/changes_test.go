package conformance_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/interop-data/interop/pkg/conformance"
)

// taskWriteOps are the only operations the suite may call with a method other
// than GET: the Notice promises it changes nothing but acknowledged and deleted tasks.
var taskWriteOps = []string{"acknowledgeTasks", "acknowledgeTask", "acknowledgeAdminTasks", "acknowledgeAdminTask", "deleteAdminTask"}

// snapshot is every roster list of one tenant and its task queue (admin view,
// which does not lease), as the server answers them.
func (tg *target) snapshot(t *testing.T, authz string) map[string]string {
	t.Helper()
	out := map[string]string{}
	paths := []string{"/tasks/admin"}
	for _, p := range []string{"orgs", "leas", "schools", "persons", "students", "teachers", "courses", "sections", "terms"} {
		paths = append(paths, "/rostering/"+p)
	}
	paths = append(paths, "/grades/gradingCategories")
	for _, p := range paths {
		r, _ := http.NewRequest("GET", "http://conformance.test"+tg.base+p+"?page_size=2000", nil)
		rec := call(tg.inner, clone(r, "GET", tg.base+p, url.Values{"page_size": {"2000"}}, nil, authz))
		if rec.Code != 200 {
			t.Fatalf("snapshot %s: %d %s", p, rec.Code, rec.Body)
		}
		if next := decode(rec.Body.Bytes())["paging"].(map[string]any)["next"]; next != nil {
			t.Fatalf("snapshot %s: more than one page; the test's district is meant to be small", p)
		}
		out[p] = rec.Body.String()
	}
	return out
}

// TestChangesNothingButTasks: against a correct server the suite writes only
// through the task acknowledgement and delete operations, leaves every roster
// list of both tenants as it was, and leaves the second tenant's queue whole
// (the isolation checks only try to reach it).
func TestChangesNothingButTasks(t *testing.T) {
	tg := referenceTarget(t)
	if testing.Short() {
		tg = fakeTarget(t)
	}
	tok := tg.tokens(t)
	before := [2]map[string]string{tg.snapshot(t, tok[0]), tg.snapshot(t, tok[1])}

	var mu sync.Mutex
	writes := map[string]int{}
	spy := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			key := r.Method + " " + r.URL.Path
			if op := tg.opOf(r); op != "" {
				key = op
			}
			mu.Lock()
			writes[key]++
			mu.Unlock()
		}
		tg.inner.ServeHTTP(w, r)
	})
	rep, err := conformance.Run(t.Context(), tg.serve(t, spy))
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() {
		t.Fatal("the suite fails against a correct server")
	}

	for k, n := range writes {
		if k != "POST "+tg.tokenURL && !slices.Contains(taskWriteOps, k) {
			t.Errorf("the suite sent %d× %s, which is neither a token request nor a task acknowledgement or delete", n, k)
		}
	}
	if writes["deleteAdminTask"] == 0 || writes["acknowledgeTask"] == 0 {
		t.Errorf("the run wrote nothing to the queue (%v): the spy saw no writes", writes)
	}
	after := [2]map[string]string{tg.snapshot(t, tok[0]), tg.snapshot(t, tok[1])}
	for i := range before {
		for p, was := range before[i] {
			if i == 0 && p == "/tasks/admin" {
				continue // the first tenant's queue is the suite's to consume
			}
			if after[i][p] != was {
				t.Errorf("tenant %d: %s changed during the run:\nbefore %s\n after %s", i+1, p, abridge(was), abridge(after[i][p]))
			}
		}
	}
	if before[0]["/tasks/admin"] == after[0]["/tasks/admin"] {
		t.Error("the first tenant's queue is unchanged: the task checks did not run")
	}
}

func abridge(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 300 {
		return s[:300] + "…"
	}
	return s
}
