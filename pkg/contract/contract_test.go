package contract_test

import (
	"testing"

	"github.com/interop-data/interop/pkg/contract"
)

func TestLoadReturnsIndependentCopies(t *testing.T) {
	a, err := contract.Load()
	if err != nil {
		t.Fatal(err)
	}
	a.Paths.Find("/rostering/orgs").Get.OperationID = "changed"
	b, err := contract.Load()
	if err != nil {
		t.Fatal(err)
	}
	if got := b.Paths.Find("/rostering/orgs").Get.OperationID; got != "listOrgs" {
		t.Fatalf("a change to one copy leaked into the next: %q", got)
	}
}

func TestModeRoundTripsThroughItsName(t *testing.T) {
	for _, m := range []contract.Mode{contract.ModeOff, contract.ModeReport, contract.ModeEnforce} {
		got, err := contract.ParseMode(m.String())
		if err != nil || got != m {
			t.Errorf("ParseMode(%q) = %v, %v", m.String(), got, err)
		}
	}
	if _, err := contract.ParseMode("strict"); err == nil {
		t.Error("an unknown mode name parsed")
	}
}

// A key repeated anywhere is refused, inside objects no schema describes
// too: the validator skipped those (issue 23), so a client or the kit read
// {"x":1,"x":2} under params as whichever value its decoder kept.
func TestDuplicateKeyInFreeFormObject(t *testing.T) {
	c := compiled(t)
	sc, _ := c.Operation("acknowledgeTask").RequestBody("application/json", []byte("x"))
	for body, ptr := range map[string]string{
		`{"status":"error","params":{"a":{"x":1,"x":2}}}`:                 "/params/a/x",
		`{"status":"error","params":{"a":[{"y":{"x":1,"\u0078":2}}]}}`:    "/params/a/0/y/x",
		`{"status":"error","error":{"code":"c","details":{"k":1,"k":2}}}`: "/error/details/k",
	} {
		if v := sc.Validate([]byte(body)); v == nil || v.Rule != "duplicate" || v.Pointer != ptr {
			t.Errorf("%s: %v, want a duplicate at %s", body, v, ptr)
		}
	}
}
