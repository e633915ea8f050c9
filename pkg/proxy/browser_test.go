package proxy_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/interop-data/interop/internal/browsertest"

	"github.com/interop-data/interop/pkg/proxy"
)

// The live report page, opened in a real browser at /_interop/report (the
// browser's Accept header picks HTML): it shows every operation seen with
// its violations and variants and the state of each x-unconfirmed
// operation, the console stays free of errors, and the page loads nothing
// but itself.
func TestReportPageInBrowser(t *testing.T) {
	browsertest.Path(t)
	h := start(t, answers(vendor2022), "")
	h.do(t, "GET", base+"/rostering/schools", "")
	h.do(t, "GET", base+"/rostering/orgs/"+districtID, "")
	h.do(t, "PUT", base+"/tasks/ack", `[{"task_id":"`+taskA+`","status":"bogus"}]`)
	h.proxy.Wait()

	b := browsertest.Start(t, 1200, 900)
	ctx := b.Ctx
	if err := chromedp.Do(ctx, chromedp.Navigate(h.srv.URL+proxy.ReportPath), chromedp.WaitVisible(chromedp.CSS(`#unconfirmed`))); err != nil {
		t.Fatalf("loading the report: %v", err)
	}
	sections, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll('section.operation')).map(e => e.id)`))
	if err != nil {
		t.Fatal(err)
	}
	violations, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('#op-acknowledgeTasks table.violations').innerText`))
	if err != nil {
		t.Fatal(err)
	}
	text, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(sections, " ") != "op-acknowledgeTasks op-findOrg op-listSchools" {
		t.Errorf("sections %v", sections)
	}
	if !strings.Contains(violations, "request") || !strings.Contains(violations, "/*/status") || !strings.Contains(violations, "enum") {
		t.Errorf("acknowledgeTasks violations: %q", violations)
	}
	flat := strings.Join(strings.Fields(text), " ")
	for _, want := range []string{"flat-reference × 1", "bare-find × 1", "findAdminTask unseen", "Request violations: 1", "response violations: 0"} {
		if !strings.Contains(flat, want) {
			t.Errorf("the page does not say %q:\n%s", want, flat)
		}
	}
	for _, p := range b.Problems() {
		t.Errorf("browser reported an error: %s", p)
	}
	for _, r := range b.Requests() {
		if r != h.srv.URL+proxy.ReportPath {
			t.Errorf("the page loaded %s", r)
		}
	}
}
