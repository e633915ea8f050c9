package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/interop-data/interop/pkg/conformance"
	"github.com/interop-data/interop/pkg/server/reference/referencetest"
)

func TestConformanceFlags(t *testing.T) {
	down := httptest.NewServer(http.NotFoundHandler())
	downURL := down.URL
	down.Close()
	for name, tc := range map[string]struct {
		args   []string
		status int
		stderr string
	}{
		"no flags":          {nil, 2, "--base-url, --client-id and --client-secret are required"},
		"no secret":         {[]string{"--base-url", "http://x/v2/interop/data", "--client-id", "a"}, 2, "required"},
		"half second pair":  {[]string{"--base-url", "http://x/v2/interop/data", "--client-id", "a", "--client-secret", "b", "--client-id-2", "c"}, 2, "go together"},
		"unknown flag":      {[]string{"--nope"}, 2, "flag provided but not defined"},
		"extra argument":    {[]string{"--base-url", "http://x", "--client-id", "a", "--client-secret", "b", "extra"}, 2, "unexpected arguments"},
		"help":              {[]string{"-h"}, 0, "--lease-wait"},
		"server down":       {[]string{"--base-url", downURL + "/v2/interop/data", "--client-id", "a", "--client-secret", "b"}, 1, "not usable"},
		"relative base url": {[]string{"--base-url", "/v2/interop/data", "--client-id", "a", "--client-secret", "b"}, 1, "not an absolute"},
	} {
		t.Run(name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			got := run(t.Context(), append([]string{"conformance"}, tc.args...), &out, &errOut)
			if got != tc.status {
				t.Errorf("exit status %d, want %d (stderr %q)", got, tc.status, errOut.String())
			}
			if !strings.Contains(errOut.String(), tc.stderr) {
				t.Errorf("stderr %q does not say %q", errOut.String(), tc.stderr)
			}
		})
	}
}

func TestConformanceAgainstReference(t *testing.T) {
	env := referencetest.Start(t)
	args := []string{"conformance", "--base-url", env.URL, "--token-url", env.TokenURL,
		"--client-id", env.Tenants[0].ClientID, "--client-secret", env.Tenants[0].ClientSecret,
		"--client-id-2", env.Tenants[1].ClientID, "--client-secret-2", env.Tenants[1].ClientSecret}

	var out, errOut bytes.Buffer
	if got := run(t.Context(), args, &out, &errOut); got != 0 {
		t.Fatalf("exit status %d against the reference server:\n%s\n%s", got, out.String(), errOut.String())
	}
	if !strings.HasPrefix(errOut.String(), conformance.Notice) {
		t.Errorf("the notice does not come first on stderr: %q", errOut.String())
	}
	if !strings.Contains(out.String(), " 0 failed, 1 skipped") { // redelivery: no --lease-wait
		t.Errorf("summary line missing or unexpected:\n%s", out.String())
	}

	out.Reset()
	if got := run(t.Context(), append(args, "--json"), &out, io.Discard); got != 0 {
		t.Fatalf("--json: exit status %d", got)
	}
	var rep struct {
		Failed  int                  `json:"failed"`
		Results []conformance.Result `json:"results"`
	}
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil || rep.Failed != 0 || len(rep.Results) < 70 {
		t.Errorf("--json report: %v, %d failed, %d results", err, rep.Failed, len(rep.Results))
	}
}

// A server that answers 500 where it should answer 404 fails: exit status 1.
func TestConformanceFailsBrokenServer(t *testing.T) {
	env := referencetest.Start(t)
	inner := env.Server.Config.Handler
	broken := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		inner.ServeHTTP(rec, r)
		if rec.Code == 404 {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(500)
			_, _ = w.Write([]byte(`{"error":{"status":500,"code":"internal_error","message":"oops"}}`))
			return
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
	}))
	defer broken.Close()
	var out bytes.Buffer
	got := run(t.Context(), []string{"conformance", "--base-url", broken.URL + "/v2/interop/data",
		"--client-id", env.Tenants[0].ClientID, "--client-secret", env.Tenants[0].ClientSecret}, &out, io.Discard)
	if got != 1 {
		t.Fatalf("exit status %d against a broken server, want 1\n%s", got, out.String())
	}
	if !strings.Contains(out.String(), "FAIL  unknown ids get 404") {
		t.Errorf("the report does not name the broken promise:\n%s", out.String())
	}
}
