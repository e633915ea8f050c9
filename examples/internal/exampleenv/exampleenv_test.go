package exampleenv

import (
	"errors"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/interop-data/interop/pkg/client"
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

// Explain says which variables to check for each kind of failure.
func TestExplainNamesTheVariables(t *testing.T) {
	t.Setenv("INTEROP_URL", "http://127.0.0.1:1/api")
	t.Setenv("INTEROP_CLIENT_ID", "someone")
	for name, tc := range map[string]struct {
		err  error
		want []string
	}{
		"refused":     {&client.APIError{StatusCode: 401, Code: "invalid_client"}, []string{"INTEROP_CLIENT_ID and INTEROP_CLIENT_SECRET", `"someone"`}},
		"no such URL": {&client.APIError{StatusCode: 404, Code: "not_found"}, []string{"check INTEROP_URL (now http://127.0.0.1:1/api)", "/v2/interop/data"}},
		"no server":   {&client.TokenError{Err: errors.New("connection refused")}, []string{"is a server running at INTEROP_URL", "make run"}},
		"other":       {&client.APIError{StatusCode: 500}, nil},
	} {
		got := Explain(tc.err)
		if !errors.Is(got, tc.err) {
			t.Errorf("%s: Explain lost the error: %v", name, got)
		}
		for _, w := range tc.want {
			if !strings.Contains(got.Error(), w) {
				t.Errorf("%s: %q does not say %q", name, got, w)
			}
		}
		if tc.want == nil && got != tc.err {
			t.Errorf("%s: Explain added to an error it has nothing to say about: %v", name, got)
		}
	}
	if Explain(nil) != nil {
		t.Error("Explain(nil) is not nil")
	}
}
