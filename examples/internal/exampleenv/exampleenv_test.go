package exampleenv

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/interop-data/interop/pkg/reference"
)

// The examples' defaults are what `make run` serves: its ADDR, and the demo
// tenant's credentials.
func TestDefaultsMatchMakeRun(t *testing.T) {
	mk, err := os.ReadFile("../../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^ADDR\s*\?=\s*(\S+)`).FindSubmatch(mk)
	if m == nil {
		t.Fatal("no ADDR in the Makefile")
	}
	t.Setenv("INTEROP_URL", "")
	if want := "http://" + string(m[1]) + "/v2/interop/data"; Get("INTEROP_URL") != want {
		t.Errorf("INTEROP_URL defaults to %s, make run serves %s", Get("INTEROP_URL"), want)
	}
	for v, want := range map[string]string{"INTEROP_CLIENT_ID": reference.DemoClientID, "INTEROP_CLIENT_SECRET": reference.DemoClientSecret} {
		t.Setenv(v, "")
		if Get(v) != want {
			t.Errorf("%s defaults to %q; the demo tenant of make run uses %q", v, Get(v), want)
		}
	}
}

func TestUsageListsEveryVariable(t *testing.T) {
	u := Usage("x", "does x")
	for _, v := range Vars {
		if !strings.Contains(u, v.Name) {
			t.Errorf("usage lacks %s:\n%s", v.Name, u)
		}
	}
	t.Setenv("INTEROP_CLIENT_ID", "other")
	if Get("INTEROP_CLIENT_ID") != "other" {
		t.Error("the environment does not override the default")
	}
}
