package conformance

import "testing"

// RunT runs the suite from a go test and reports each check as a subtest
// named group/check: a failed check fails its subtest with the reason and
// evidence, a skipped one is skipped with its reason. It fails t itself when
// the suite cannot run at all.
func RunT(t *testing.T, cfg Config) *Report {
	t.Helper()
	t.Log(Notice)
	rep, err := Run(t.Context(), cfg)
	if err != nil {
		t.Fatalf("conformance suite could not run: %v", err)
	}
	for _, res := range rep.Results {
		t.Run(res.Group+"/"+res.Name, func(t *testing.T) {
			switch res.Verdict {
			case Fail:
				t.Errorf("%s\nevidence:\n%s", res.Reason, res.Evidence)
			case Skip, NotImplemented:
				t.Skip(res.Reason)
			default:
				if res.Evidence != "" {
					t.Log(res.Evidence)
				}
			}
		})
	}
	return rep
}
