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
