package proxy

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/interop-data/interop/pkg/contract"
	"github.com/interop-data/interop/pkg/drift"
)

// With every checker busy, an exchange is forwarded all the same and
// counted unchecked (its call and status still are), not checked in the
// request's own handler, which would hold the answer's end.
func TestBusyCheckersCountTheExchangeUnchecked(t *testing.T) {
	t.Parallel()
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"data":"not a list"}`) // a violation, if it were checked
	}))
	defer up.Close()
	rec, err := drift.NewRecorder()
	if err != nil {
		t.Fatal(err)
	}
	p, err := New(up.URL, rec, WithCheckers(1))
	if err != nil {
		t.Fatal(err)
	}
	p.checkers <- struct{}{} // the one checker is busy
	srv := httptest.NewServer(p)
	defer srv.Close()
	resp, err := http.Get(srv.URL + contract.BasePath + "/rostering/orgs")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), "not a list") {
		t.Fatalf("the answer was not forwarded: %s", b)
	}
	p.Wait()
	o := rec.Report().Operations["listOrgs"]
	if o == nil || o.Calls != 1 || o.Statuses["200"] != 1 || o.NotChecked["busy"] != 1 || len(o.Violations) != 0 {
		t.Fatalf("listOrgs %+v", o)
	}
}
