package main

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/interop-data/interop/pkg/contract"
	"github.com/interop-data/interop/pkg/drift"
	"github.com/interop-data/interop/pkg/reference/referencetest"
)

// interop proxy forwards to the upstream, serves the live report, and on
// stop (the context main cancels on SIGINT/SIGTERM) writes it to --report.
func TestProxyCommandWritesTheReportWhenStopped(t *testing.T) {
	t.Parallel()
	env := referencetest.Start(t, referencetest.WithTenants(1))
	file := filepath.Join(t.TempDir(), "drift.json")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errs syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"proxy", "--upstream", env.Root, "--addr", "127.0.0.1:0", "--report", file}, &out, &errs)
	}()
	addr := regexp.MustCompile(`base URL: (http://\S+)`)
	var base string
	for deadline := time.Now().Add(30 * time.Second); base == ""; {
		if m := addr.FindStringSubmatch(out.String()); m != nil {
			base = m[1]
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the proxy never said where it listens:\n%s\n%s", out.String(), errs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	root := strings.TrimSuffix(base, contract.BasePath)
	tok := token(t, root+"/oauth/token", env.Tenants[0].ClientID, env.Tenants[0].ClientSecret)
	if code := getJSON(t, base+"/rostering/orgs", tok, nil); code != 200 {
		t.Fatalf("GET /rostering/orgs through the proxy: %d", code)
	}
	if code := getJSON(t, base+"/rostering/nowhere", tok, nil); code != 404 {
		t.Fatalf("GET /rostering/nowhere through the proxy: %d", code)
	}
	// The live report follows the traffic as soon as each exchange is
	// checked, after its answer went out.
	for deadline := time.Now().Add(30 * time.Second); ; {
		var live drift.Report
		if code := getJSON(t, root+"/_interop/report", "", &live); code != 200 {
			t.Fatalf("live report: %d", code)
		}
		if live.Operations["listOrgs"] != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("listOrgs never reached the live report: %+v", live)
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("exit %d:\n%s", code, errs.String())
	}
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rep, err := drift.ReadReport(f)
	if err != nil {
		t.Fatal(err)
	}
	if o := rep.Operations["listOrgs"]; o == nil || o.Calls != 1 || o.Statuses["200"] != 1 || len(o.Violations) != 0 {
		t.Fatalf("listOrgs %+v", o)
	}
	if len(rep.Unmatched) != 1 || rep.Unmatched[0].Path != "/rostering/{id}" || rep.Passthrough != 1 {
		t.Fatalf("unmatched %+v, passthrough %d", rep.Unmatched, rep.Passthrough)
	}
	if strings.Contains(errs.String(), tok) {
		t.Fatal("the token is in the logs")
	}
}

func TestProxyCommandFlags(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"proxy"},
		{"proxy", "--upstream", "ftp://x"},
		{"proxy", "--upstream", "http://127.0.0.1:1", "--max-body", "0"},
		{"proxy", "--upstream", "http://127.0.0.1:1", "--checkers", "0"},
		{"proxy", "--upstream", "http://127.0.0.1:1", "extra"},
	} {
		var out, errs syncBuffer
		if code := run(context.Background(), args, &out, &errs); code != 2 {
			t.Errorf("%v: exit %d, want 2\n%s", args, code, errs.String())
		}
	}
}

// interop check gives the drift report of a HAR recording.
func TestCheckCommand(t *testing.T) {
	t.Parallel()
	var out, errs syncBuffer
	if code := run(context.Background(), []string{"check", "../../pkg/har/testdata/sample.har"}, &out, &errs); code != 0 {
		t.Fatalf("exit %d: %s", code, errs.String())
	}
	rep, err := drift.ReadReport(strings.NewReader(out.String()))
	if err != nil {
		t.Fatal(err)
	}
	if o := rep.Operations["acknowledgeTask"]; o == nil || o.Variants["empty-ack"] != 1 || len(o.Violations) != 0 {
		t.Errorf("acknowledgeTask %+v", o)
	}
	if o := rep.Operations["findOrg"]; o == nil || o.Variants["bare-find"] != 1 {
		t.Errorf("findOrg %+v", o)
	}
	if o := rep.Operations["listTasks"]; o == nil || o.NotChecked["no body recorded"] != 1 {
		t.Errorf("listTasks %+v", o)
	}
	if o := rep.Operations["listSchools"]; o == nil || len(o.Violations) != 0 || o.Variants["next-absent"] != 1 {
		t.Errorf("listSchools %+v", o)
	}

	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.har")
	_ = os.WriteFile(bad, []byte(`{"log":{"entries":[{"request":{"method":"GET","url":"http://h/"},"response":{"status":42}}]}}`), 0o644)
	for _, c := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"check"}, 2, "want one HAR file"},
		{[]string{"check", "a.har", "b.har"}, 2, "want one HAR file"},
		{[]string{"check", filepath.Join(dir, "absent.har")}, 1, "no such file"},
		{[]string{"check", bad}, 1, "entry 0"},
	} {
		var out, errs syncBuffer
		if code := run(context.Background(), c.args, &out, &errs); code != c.code || !strings.Contains(errs.String(), c.msg) {
			t.Errorf("%v: exit %d, want %d with %q:\n%s", c.args, code, c.code, c.msg, errs.String())
		}
	}
	html := filepath.Join(dir, "r.html")
	report := filepath.Join(dir, "r.json")
	if code := run(context.Background(), []string{"check", "--html", html, "--report", report, "../../pkg/har/testdata/sample.har"}, &out, &errs); code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, f := range []string{html, report} {
		if st, err := os.Stat(f); err != nil || st.Size() == 0 {
			t.Errorf("%s: %v", f, err)
		}
	}
}

// The real process: on SIGINT or SIGTERM interop proxy stops, exits 0 and
// leaves its report in --report.
func TestProxyProcessWritesTheReportOnSignal(t *testing.T) {
	t.Parallel()
	env := referencetest.Start(t, referencetest.WithTenants(1))
	for _, sig := range []os.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "drift.json")
			cmd := exec.Command(os.Args[0], "proxy", "--upstream", env.Root, "--addr", "127.0.0.1:0", "--report", file)
			cmd.Env = append(os.Environ(), runMainEnv+"=1")
			var errs syncBuffer
			cmd.Stderr = &errs
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer func() {
				if cmd.ProcessState == nil {
					_ = cmd.Process.Kill()
					_ = cmd.Wait()
				}
			}()
			bases := make(chan string, 1)
			go func() {
				sc := bufio.NewScanner(out)
				for sc.Scan() {
					if rest, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "base URL: "); ok {
						bases <- strings.TrimSpace(rest)
					}
				}
			}()
			var base string
			select {
			case base = <-bases:
			case <-time.After(30 * time.Second):
				t.Fatalf("the proxy did not start:\n%s", errs.String())
			}
			tok := env.Token(t, 0)
			if code := getJSON(t, base+"/rostering/schools", tok, nil); code != 200 {
				t.Fatalf("GET /rostering/schools through the proxy: %d", code)
			}
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			if err := cmd.Wait(); err != nil {
				t.Fatalf("%v after %v:\n%s", err, sig, errs.String())
			}
			f, err := os.Open(file)
			if err != nil {
				t.Fatalf("no report after %v: %v\n%s", sig, err, errs.String())
			}
			defer f.Close()
			rep, err := drift.ReadReport(f)
			if err != nil {
				t.Fatal(err)
			}
			if o := rep.Operations["listSchools"]; o == nil || o.Calls != 1 {
				t.Fatalf("listSchools %+v", o)
			}
		})
	}
}
