package conformance_test

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/interop-data/interop/pkg/conformance"
)

// targets are the servers the suite must pass against.
var targets = map[string]func(testing.TB) *target{
	"fake": fakeTarget,
}

func TestSuitePasses(t *testing.T) {
	for name, mk := range targets {
		t.Run(name, func(t *testing.T) {
			tg := mk(t)
			rep, err := conformance.Run(t.Context(), tg.serve(t, tg.inner))
			if err != nil {
				t.Fatal(err)
			}
			if !rep.OK() {
				var b bytes.Buffer
				_ = rep.WriteText(&b)
				t.Fatalf("the suite fails against the %s server:\n%s", name, b.String())
			}
			passed, _, skipped := rep.Counts()
			if skipped > 0 || passed < 70 {
				var b bytes.Buffer
				_ = rep.WriteText(&b)
				t.Errorf("want every check to run: %d passed, %d skipped\n%s", passed, skipped, b.String())
			}
		})
	}
}

func TestRunT(t *testing.T) {
	tg := fakeTarget(t)
	rep := conformance.RunT(t, tg.serve(t, tg.inner))
	if !rep.OK() {
		t.Fatal("RunT reported failures")
	}
}

func TestReportFormats(t *testing.T) {
	rep := &conformance.Report{BaseURL: "http://x/v2/interop/data", Results: []conformance.Result{
		{Group: "auth", Name: "a", Verdict: conformance.Pass},
		{Group: "auth", Name: "b", Verdict: conformance.Fail, Reason: "why", Evidence: "GET /x -> 500"},
		{Group: "tasks", Name: "c", Verdict: conformance.Skip, Reason: "empty queue"},
	}}
	var text, js bytes.Buffer
	if err := rep.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"auth\n", "PASS  a", "FAIL  b", "why", "GET /x -> 500", "SKIP  c", "empty queue", "1 passed, 1 failed, 1 skipped"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text report lacks %q:\n%s", want, text.String())
		}
	}
	if err := rep.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	m := decode(js.Bytes())
	if m["failed"].(interface{ String() string }).String() != "1" || len(m["results"].([]any)) != 3 {
		t.Errorf("json report: %s", js.String())
	}
	if rep.OK() {
		t.Error("OK() with a failed check")
	}
}

func TestRunErrors(t *testing.T) {
	tg := fakeTarget(t)
	down := httptest.NewServer(http.NotFoundHandler())
	downURL := down.URL
	down.Close()

	for name, tc := range map[string]struct {
		cfg  func() conformance.Config
		want string
		is   error
	}{
		"server down": {func() conformance.Config {
			c := tg.serve(t, tg.inner)
			c.BaseURL, c.TokenURL = downURL+tg.base, downURL+"/oauth/token"
			return c
		}, "token endpoint", conformance.ErrUnreachable},
		"wrong secret": {func() conformance.Config {
			c := tg.serve(t, tg.inner)
			c.Clients = []conformance.Credentials{{ClientID: tg.clients[0].ClientID, ClientSecret: "wrong"}}
			return c
		}, "refused the credentials of tenant 1", conformance.ErrUnreachable},
		"no clients": {func() conformance.Config {
			c := tg.serve(t, tg.inner)
			c.Clients = nil
			return c
		}, "one or two clients", nil},
		"same client twice": {func() conformance.Config {
			c := tg.serve(t, tg.inner)
			c.Clients = []conformance.Credentials{tg.clients[0], tg.clients[0]}
			return c
		}, "must differ", nil},
		"unknown group": {func() conformance.Config {
			c := tg.serve(t, tg.inner)
			c.Groups = []string{"auth", "nope"}
			return c
		}, `unknown group "nope"`, nil},
		"relative base URL": {func() conformance.Config {
			c := tg.serve(t, tg.inner)
			c.BaseURL = "/v2/interop/data"
			return c
		}, "not an absolute", nil},
	} {
		t.Run(name, func(t *testing.T) {
			rep, err := conformance.Run(t.Context(), tc.cfg())
			if err == nil || rep != nil {
				t.Fatalf("Run = %v, %v; want an error", rep, err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not say %q", err, tc.want)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %v is not %v", err, tc.is)
			}
		})
	}
}

// TestNoticeFirst: the suite says what it will change before it changes it.
func TestNoticeFirst(t *testing.T) {
	tg := fakeTarget(t)
	cfg := tg.serve(t, tg.inner)
	var progress bytes.Buffer
	cfg.Progress = &progress
	if _, err := conformance.Run(t.Context(), cfg); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(progress.String(), conformance.Notice+"\n") {
		t.Errorf("progress does not start with the notice: %q", progress.String()[:min(200, progress.Len())])
	}
	for _, w := range []string{"acknowledges", "deletes tasks"} {
		if !strings.Contains(conformance.Notice, w) {
			t.Errorf("notice does not say it %s", w)
		}
	}
}

func dump(t *testing.T, rep *conformance.Report) {
	if testing.Verbose() {
		_ = rep.WriteText(os.Stdout)
	}
}
