package conformance_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/interop-data/interop/pkg/conformance"
	"github.com/interop-data/interop/pkg/reference/referencetest"
)

// chromium returns the browser to drive, as the /docs browser test finds
// it: $INTEROP_CHROMIUM, else Debian's /usr/bin/chromium. Without one the
// test is skipped, except in CI.
func chromium(t *testing.T) string {
	t.Helper()
	path := os.Getenv("INTEROP_CHROMIUM")
	if path == "" {
		path = "/usr/bin/chromium"
	}
	if _, err := exec.LookPath(path); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true but no Chromium at %s (apt-get install -y chromium): %v", path, err)
		}
		t.Skipf("no Chromium at %s (apt-get install -y chromium, or set INTEROP_CHROMIUM)", path)
	}
	return path
}

// The --report page of a real run (the reference server, one check broken
// on purpose by the sample's evidence) opens from a file in headless
// Chromium with no error and no request: every check is on it with its
// verdict, the failed one open with its evidence.
func TestReportInBrowser(t *testing.T) {
	exe := chromium(t)
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

	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.NoSandbox, // the test may run as root, in a container
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1200, 900),
	)
	defer cancelAlloc()
	ctx, cancelCtx := chromedp.NewContext(alloc, chromedp.WithLogf(t.Logf))
	defer cancelCtx()
	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting Chromium: %v", err)
	}
	var (
		mu       sync.Mutex
		problems []string
		requests []string
	)
	if err := chromedp.Listen(ctx, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch ev := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError {
				problems = append(problems, "console.error")
			}
		case *runtime.EventExceptionThrown:
			problems = append(problems, "uncaught: "+ev.ExceptionDetails.Text)
		case *cdplog.EventEntryAdded:
			if ev.Entry.Level == cdplog.EntryLevelError {
				problems = append(problems, "log: "+ev.Entry.Text+" "+ev.Entry.URL)
			}
		case *network.EventRequestWillBeSent:
			requests = append(requests, ev.Request.URL)
		}
	}); err != nil {
		t.Fatal(err)
	}
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

	mu.Lock()
	defer mu.Unlock()
	for _, p := range problems {
		t.Errorf("browser reported an error: %s", p)
	}
	for _, r := range requests {
		if r != "file://"+file {
			t.Errorf("the page requested %s: the report must be self-contained", r)
		}
	}
}
