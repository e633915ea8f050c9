package docs_test

import (
	"context"
	"net/http/httptest"
	"net/url"
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
	"go.yaml.in/yaml/v3"

	"github.com/interop-data/interop/api"
	"github.com/interop-data/interop/pkg/contract"
	"github.com/interop-data/interop/pkg/server"
	"github.com/interop-data/interop/pkg/server/auth"
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

// screenshotDir is where the browser test leaves its screenshot; the
// folder is gitignored.
func screenshotDir() string {
	if d := os.Getenv("INTEROP_SCREENSHOTS"); d != "" {
		return d
	}
	return "screenshots"
}

// The reference page of a server built with the kit renders in a real
// browser, offline: every operation and every x-decisions entry is on the
// page, the console stays free of errors, and no request leaves the server.
func TestDocsInBrowser(t *testing.T) {
	exe := chromium(t)

	// Any kit server serves the page: this one implements nothing.
	clients := auth.NewMemoryClientStore()
	srv, err := server.New(server.Unimplemented{}, server.WithTokenEndpoint(auth.NewOAuth2(clients, auth.NewMemoryTokenStore())))
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()

	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.NoSandbox, // the test may run as root, in a container
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()), // a fresh profile every run
		chromedp.WindowSize(1400, 1000),
	)
	defer cancelAlloc()
	ctx, cancelCtx := chromedp.NewContext(alloc, chromedp.WithLogf(t.Logf))
	defer cancelCtx()
	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()

	// Start the browser, then listen before the page exists, so that no
	// message of the page is missed.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting Chromium: %v", err)
	}
	var (
		mu       sync.Mutex
		problems []string
		requests []string
	)
	err = chromedp.Listen(ctx, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch ev := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeAssert {
				var args []string
				for _, a := range ev.Args {
					args = append(args, strings.TrimSpace(string(a.Value)+" "+a.Description))
				}
				problems = append(problems, "console."+string(ev.Type)+": "+strings.Join(args, " "))
			}
		case *runtime.EventExceptionThrown:
			d := ev.ExceptionDetails
			msg := d.Text
			if d.Exception != nil {
				msg += " " + d.Exception.Description
			}
			problems = append(problems, "uncaught: "+msg)
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

	err = chromedp.Do(ctx,
		chromedp.Navigate(ts.URL+"/docs"),
		// Redoc renders asynchronously; the last operation is there once it is done.
		chromedp.WaitVisible(chromedp.CSS(`[id="operation/deleteAdminTask"]`)),
	)
	if err != nil {
		t.Fatalf("loading /docs: %v", err)
	}
	ids, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll('#redoc [id^="operation/"]')).map(e => e.id)`))
	if err != nil {
		t.Fatal(err)
	}
	text, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`))
	if err != nil {
		t.Fatal(err)
	}
	shot, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	dir := screenshotDir()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "docs.png")
	if err := os.WriteFile(file, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", file)

	// Every operation has its section, and its summary is on the page.
	doc, err := contract.Load()
	if err != nil {
		t.Fatal(err)
	}
	flat := strings.Join(strings.Fields(text), " ")
	rendered := map[string]bool{}
	for _, id := range ids {
		rendered[strings.TrimPrefix(id, "operation/")] = true
	}
	n := 0
	for _, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			n++
			if !rendered[op.OperationID] {
				t.Errorf("%s %s (%s) has no section on the page", method, op.OperationID, op.Summary)
			}
			if !strings.Contains(flat, strings.Join(strings.Fields(op.Summary), " ")) {
				t.Errorf("the summary of %s, %q, is not on the page", op.OperationID, op.Summary)
			}
		}
	}
	if n != 30 {
		t.Errorf("the spec has %d operations, the README promises 29 and one 2022 alias", n)
	}

	// Every x-decisions entry is on the page, heading and text.
	for _, d := range decisions(t) {
		// The text is Markdown: the page shows code spans without their backticks.
		text := strings.ReplaceAll(d.Text, "`", "")
		if !strings.Contains(flat, d.ID) || !strings.Contains(flat, strings.Join(strings.Fields(text), " ")) {
			t.Errorf("decision %s is not on the page", d.ID)
		}
	}
	// Notes on single operations show where they apply (showExtensions;
	// Redoc drops the "x-" of the name).
	notes := 0
	for _, item := range doc.Paths.Map() {
		for _, op := range item.Operations() {
			for _, key := range []string{"x-decision", "x-unconfirmed-reason"} {
				if v, ok := op.Extensions[key].(string); ok {
					notes++
					want := strings.TrimPrefix(key, "x-") + ": " + strings.Join(strings.Fields(v), " ")
					if !strings.Contains(flat, want) {
						t.Errorf("the %s note of %s is not on the page", key, op.OperationID)
					}
				}
			}
		}
	}
	if notes == 0 {
		t.Error("no operation of the spec has an x-decision or x-unconfirmed-reason note: the check above checked nothing")
	}
	// The generator's extensions are not shown to readers (they were, under
	// every parameter); the ones readers need are.
	for _, gone := range []string{"go-type-skip-optional-pointer:", "go-name:", "go-type:"} {
		if strings.Contains(flat, gone) {
			t.Errorf("the page shows the generator's extension %q", gone)
		}
	}
	if !strings.Contains(flat, "known-values:") {
		t.Error("the page shows no known-values extension")
	}

	mu.Lock()
	defer mu.Unlock()
	for _, p := range problems {
		t.Errorf("browser reported an error: %s", p)
	}
	base, _ := url.Parse(ts.URL)
	for _, r := range requests {
		u, err := url.Parse(r)
		if err != nil || (u.Scheme != "data" && u.Scheme != "blob" && u.Host != base.Host) {
			t.Errorf("the page requested %s, outside the server: the reference must work offline", r)
		}
	}
}

type decision struct {
	ID   string `yaml:"id"`
	Text string `yaml:"text"`
}

// decisions reads the spec's top-level x-decisions list.
func decisions(t *testing.T) []decision {
	t.Helper()
	var spec struct {
		Info struct {
			Decisions []decision `yaml:"x-decisions"`
		} `yaml:"info"`
	}
	if err := yaml.Unmarshal(api.Spec, &spec); err != nil {
		t.Fatal(err)
	}
	if len(spec.Info.Decisions) == 0 {
		t.Fatal("the spec has no x-decisions")
	}
	return spec.Info.Decisions
}
