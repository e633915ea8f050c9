package conformance_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/interop-data/interop/internal/browsertest"

	"github.com/interop-data/interop/pkg/conformance"
	"github.com/interop-data/interop/pkg/reference/referencetest"
)

// The --report page of a real run (the reference server, one check broken
// on purpose by the sample's evidence) opens from a file in headless
// Chromium with no error and no request: every check is on it with its
// verdict, the failed one open with its evidence.
func TestReportInBrowser(t *testing.T) {
	browsertest.Path(t)
	env := referencetest.Start(t)
	rep, err := conformance.Run(t.Context(), conformance.Config{
		BaseURL: env.URL, TokenURL: env.TokenURL,
		Clients: []conformance.Credentials{{ClientID: env.Tenants[0].ClientID, ClientSecret: env.Tenants[0].ClientSecret}},
	})
	if err != nil {
		t.Fatal(err)
	}
	rep.Results = append(rep.Results, sampleReport().Results...)
	file := filepath.Join(t.TempDir(), "conformance.html")
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := rep.WriteHTML(f); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}

	b := browsertest.Start(t, 1200, 900)
	ctx := b.Ctx
	if err := chromedp.Do(ctx, chromedp.Navigate("file://"+file), chromedp.WaitVisible(chromedp.CSS(`#summary`))); err != nil {
		t.Fatalf("loading the report: %v", err)
	}
	type item struct {
		Verdict, Summary string
		Open, Visible    bool
		Evidence         string
	}
	items, err := chromedp.Run(ctx, chromedp.Evaluate[[]item](`Array.from(document.querySelectorAll('details')).map(d => ({
		Verdict: d.dataset.verdict, Summary: d.querySelector('summary').innerText, Open: d.open,
		Visible: d.getBoundingClientRect().height > 0,
		Evidence: d.open && d.querySelector('pre') ? d.querySelector('pre').innerText : ''}))`))
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != len(rep.Results) {
		t.Fatalf("the page shows %d checks, the report holds %d", len(items), len(rep.Results))
	}
	for i, res := range rep.Results {
		it := items[i]
		if it.Verdict != string(res.Verdict) || !strings.Contains(it.Summary, res.Name) || !it.Visible || it.Open != (res.Verdict == conformance.Fail) {
			t.Errorf("check %d %q (%s) is shown as %+v", i, res.Name, res.Verdict, it)
		}
		if res.Verdict == conformance.Fail && !strings.Contains(it.Evidence, `"<script>alert(1)</script> & more"`) {
			t.Errorf("the failed check's evidence reads %q", it.Evidence)
		}
	}
	summary, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById('summary').innerText`))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(summary, "1 failed") || !strings.Contains(summary, "1 not implemented") {
		t.Errorf("summary: %q", summary)
	}
	shot, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	dir := os.Getenv("INTEROP_SCREENSHOTS")
	if dir == "" {
		dir = t.TempDir()
	}
	if err := os.WriteFile(filepath.Join(dir, "conformance-report.png"), shot, 0o644); err != nil {
		t.Fatal(err)
	}

	for _, p := range b.Problems() {
		t.Errorf("browser reported an error: %s", p)
	}
	for _, r := range b.Requests() {
		if r != "file://"+file {
			t.Errorf("the page requested %s: the report must be self-contained", r)
		}
	}
}
