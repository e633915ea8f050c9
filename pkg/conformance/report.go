package conformance

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// WriteText writes the report for people: results grouped, failures with
// their reason and evidence, and a summary line.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "Interop Data API conformance of %s\n", r.BaseURL)
	group := ""
	for _, res := range r.Results {
		if res.Group != group {
			group = res.Group
			fmt.Fprintf(&b, "\n%s\n", group)
		}
		mark := map[Verdict]string{Pass: "PASS", Fail: "FAIL", Skip: "SKIP", NotImplemented: "TODO"}[res.Verdict]
		fmt.Fprintf(&b, "  %s  %s\n", mark, res.Name)
		if res.Verdict == Pass {
			continue
		}
		if res.Reason != "" {
			fmt.Fprintf(&b, "        %s\n", indent(res.Reason, "        "))
		}
		if res.Verdict == Fail && res.Evidence != "" {
			fmt.Fprintf(&b, "        evidence:\n          %s\n", indent(res.Evidence, "          "))
		}
	}
	passed, failed, skipped := r.Counts()
	fmt.Fprintf(&b, "\n%d passed, %d failed, %d skipped", passed, failed, skipped)
	if n, ops := r.NotImplemented(); n > 0 {
		fmt.Fprintf(&b, ", %d not implemented (TODO: %d operation(s) answer 501 Not Implemented", n, len(ops))
		if len(ops) > 0 {
			fmt.Fprintf(&b, ": %s", strings.Join(ops, ", "))
		}
		b.WriteString(")")
	}
	fmt.Fprintf(&b, " (%s)\n", r.Duration.Round(1e6))
	_, err := io.WriteString(w, b.String())
	return err
}

func indent(s, pad string) string { return strings.ReplaceAll(s, "\n", "\n"+pad) }

// WriteJSON writes the report for machines: the Report itself plus the
// summary counts.
func (r *Report) WriteJSON(w io.Writer) error {
	passed, failed, skipped := r.Counts()
	notImpl, ops := r.NotImplemented()
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(struct {
		*Report
		Passed         int      `json:"passed"`
		Failed         int      `json:"failed"`
		Skipped        int      `json:"skipped"`
		NotImplemented int      `json:"not_implemented"`
		NotImplOps     []string `json:"not_implemented_operations,omitempty"`
	}{r, passed, failed, skipped, notImpl, ops})
}
