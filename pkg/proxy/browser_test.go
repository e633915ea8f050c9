package proxy_test

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/interop-data/interop/pkg/proxy"
)

// chromium returns the browser to drive: $INTEROP_CHROMIUM, else Debian's
// /usr/bin/chromium. Without one the test is skipped, except in CI.
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

// The live report page, opened in a real browser at /_interop/report (the
// browser's Accept header picks HTML): it shows every operation seen with
// its violations and variants and the state of each x-unconfirmed
// operation, the console stays free of errors, and the page loads nothing
// but itself.
func TestReportPageInBrowser(t *testing.T) {
	exe := chromium(t)
	h := start(t, answers(vendor2022), "")
	h.do(t, "GET", base+"/rostering/schools", "")
	h.do(t, "GET", base+"/rostering/orgs/"+districtID, "")
	h.do(t, "PUT", base+"/tasks/ack", `[{"task_id":"`+taskA+`","status":"bogus"}]`)
	h.proxy.Wait()

	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
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
	err := chromedp.Listen(ctx, func(ev any) {
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
	})
	if err != nil {
		t.Fatal(err)
	}
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
	mu.Lock()
	defer mu.Unlock()
	for _, p := range problems {
		t.Errorf("browser reported an error: %s", p)
	}
	for _, r := range requests {
		if r != h.srv.URL+proxy.ReportPath {
			t.Errorf("the page loaded %s", r)
		}
	}
}
