package conformance_test

import (
	"strings"
	"testing"

	"github.com/interop-data/interop/pkg/conformance"
	"github.com/interop-data/interop/pkg/reference"
	"github.com/interop-data/interop/pkg/reference/referencetest"
)

// A tenant without data (tenant create, then serve) is not a broken server:
// the checks that need a roster or tasks are skipped, each saying what to
// load, and none fails.
func TestEmptyTenantSkipsWhatItLacks(t *testing.T) {
	t.Parallel()
	env := referencetest.Start(t)
	empty, err := reference.CreateTenant(t.Context(), env.Store, "Empty")
	if err != nil {
		t.Fatal(err)
	}
	other, err := reference.CreateTenant(t.Context(), env.Store, "Other empty")
	if err != nil {
		t.Fatal(err)
	}
	rep, err := conformance.Run(t.Context(), conformance.Config{
		BaseURL: env.URL, TokenURL: env.TokenURL,
		Clients: []conformance.Credentials{
			{ClientID: empty.ClientID, ClientSecret: empty.ClientSecret},
			{ClientID: other.ClientID, ClientSecret: other.ClientSecret},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	passed, failed, skipped := rep.Counts()
	for _, res := range rep.Results {
		switch {
		case res.Verdict == conformance.Fail:
			t.Errorf("%s: failed on an empty tenant: %s", res.Name, res.Reason)
		// The lease and LTI checks are skipped for a flag not given
		// (--lease-wait, --lti-token), which their reasons name.
		case res.Verdict == conformance.Skip && res.Name != "a leased task is delivered again after its lease expires" &&
			!strings.Contains(res.Reason, "--lti-token") &&
			!strings.Contains(res.Reason, "load a roster") && !strings.Contains(res.Reason, "fill the tenant's task queue"):
			t.Errorf("%s: skipped without saying what to load: %s", res.Name, res.Reason)
		}
	}
	if failed != 0 || passed == 0 || skipped == 0 {
		t.Errorf("empty tenant: %d passed, %d failed, %d skipped; want 0 failed and both others", passed, failed, skipped)
	}
	// Finds of each kind are among the skipped spec checks, with the hint.
	for _, res := range rep.Results {
		if res.Name == "findPerson answers spec-valid responses" && (res.Verdict != conformance.Skip || !strings.Contains(res.Reason, "interop load")) {
			t.Errorf("findPerson's spec check on an empty tenant: %s %s", res.Verdict, res.Reason)
		}
	}
}
