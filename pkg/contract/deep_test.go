package contract_test

import (
	"runtime"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/interop-data/interop/pkg/contract"
)

// Issue 9 item 2, on the validator alone: 10,000 nested arrays where an ack
// (or its error field) belongs are refused with a bounded message, by the
// compiled validator and by kin-openapi with the project's options (which
// the kit and the client use for parameters and fall-backs), and checking
// them allocates a bounded amount (before: ~2 GB and ~9 s of CPU, the error
// pretty-printing the value at every level).
func TestDeepNestingIsCheap(t *testing.T) {
	c := compiled(t)
	nested := strings.Repeat("[", 10000) + strings.Repeat("]", 10000)
	for _, tc := range []struct{ op, body, rule string }{
		{"acknowledgeTasks", nested, "type"},
		{"acknowledgeTasks", "[" + strings.Repeat("[", 9999) + strings.Repeat("]", 9999) + "]", "type"},
		{"acknowledgeTask", `{"status":"error","error":` + strings.Repeat("[", 9999) + strings.Repeat("]", 9999) + `}`, "type"},
		{"acknowledgeTask", `{"status":"error","error":` + nested + `}`, "depth"},
	} {
		sc, v := c.Operation(tc.op).RequestBody("application/json", []byte(tc.body))
		if v != nil {
			t.Fatal(v)
		}
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		got := sc.Validate([]byte(tc.body))
		runtime.ReadMemStats(&after)
		if got == nil || got.Rule != tc.rule || len(got.Error()) > 1100 {
			t.Errorf("%s: %v", tc.op, got)
		}
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 8<<20 {
			t.Errorf("%s: validating allocated %d KB", tc.op, alloc>>10)
		}
		// kin-openapi, as the kit and the client call it.
		want := sc.ValidateWithKin([]byte(tc.body))
		if want == nil || len(want.Error()) > 1100 {
			t.Errorf("%s: kin-openapi: %v", tc.op, want)
		}
	}
	// The error kin-openapi builds itself stays short.
	var doc any = []any{[]any{[]any{[]any{}}}}
	s := c.Doc().Components.Schemas["TaskAckGroup"].Value
	err := s.VisitJSON(doc, append(contract.SchemaOptions(), openapi3.VisitAsRequest())...)
	if err == nil || len(err.Error()) > 300 || strings.Contains(err.Error(), "[[") {
		t.Errorf("kin-openapi's error: %v", err)
	}
}

// Data after the value is refused at the top level, whatever the value.
func TestDataAfterTheValue(t *testing.T) {
	c := compiled(t)
	sc, _ := c.Operation("listPersons").ResponseBody(200, "application/json")
	for _, body := range []string{`{"data":[],"paging":{"next":null}} {}`, `{"data":[],"paging":{"next":null}}x`, `{"data":[],"paging":{"next":null}} 1`} {
		if v := sc.Validate([]byte(body)); v == nil || v.Rule != "json" {
			t.Errorf("%s: %v", body, v)
		}
	}
	ack, _ := c.Operation("acknowledgeTask").RequestBody("application/json", []byte("x"))
	if v := ack.Validate([]byte(`"success" "x"`)); v == nil || v.Rule != "json" {
		t.Errorf("scalar then data: %v", v)
	}
}
