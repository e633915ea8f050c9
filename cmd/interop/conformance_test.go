package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/interop-data/interop/pkg/conformance"
	"github.com/interop-data/interop/pkg/reference/referencetest"
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
		"no flags":                 {nil, 2, "--base-url, --client-id and --client-secret are required"},
		"no secret":                {[]string{"--base-url", "http://x/v2/interop/data", "--client-id", "a"}, 2, "required"},
		"half second pair":         {[]string{"--base-url", "http://x/v2/interop/data", "--client-id", "a", "--client-secret", "b", "--client-id-2", "c"}, 2, "go together"},
		"unknown flag":             {[]string{"--nope"}, 2, "flag provided but not defined"},
		"extra argument":           {[]string{"--base-url", "http://x", "--client-id", "a", "--client-secret", "b", "extra"}, 2, "unexpected arguments"},
		"help":                     {[]string{"-h"}, 0, "--lease-wait"},
		"help: optional token URL": {[]string{"-h"}, 0, "[--token-url URL] --client-id"},
		"server down":              {[]string{"--base-url", downURL + "/v2/interop/data", "--client-id", "a", "--client-secret", "b"}, 1, "not usable"},
		"relative base url":        {[]string{"--base-url", "/v2/interop/data", "--client-id", "a", "--client-secret", "b"}, 1, "not an absolute"},
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
		"--client-id-2", env.Tenants[1].ClientID, "--client-secret-2", env.Tenants[1].ClientSecret,
		"--lti-token", env.LTIToken(t, 0)}

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

// demoServer is `interop serve --demo` on a free port and a fresh database,
// with a second tenant created by `interop tenant create` for the isolation
// checks: the setup the README tells a user to check.
type demoServer struct {
	base, tokenURL string
	id2, secret2   string
	ltiToken       string // from interop tenant lti-token, naming the demo tenant
}

func startDemo(tb testing.TB) demoServer {
	tb.Helper()
	db := filepath.Join(tb.TempDir(), "interop.db")
	srv := startServe(tb, "--db", db, "--demo")
	d := demoServer{base: srv.Base, tokenURL: srv.TokenURL}
	ctx := context.Background()
	var created bytes.Buffer
	if err := runTenant(ctx, []string{"create", "--db", db, "--name", "Conformance"}, &created, io.Discard); err != nil {
		tb.Fatalf("tenant create: %v", err)
	}
	var creds struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
	}
	if err := json.Unmarshal(created.Bytes(), &creds); err != nil {
		tb.Fatalf("tenant create printed %q: %v", created.String(), err)
	}
	d.id2, d.secret2 = creds.ClientID, creds.ClientSecret
	var tok bytes.Buffer
	if err := runTenant(ctx, []string{"lti-token", "--db", db, "--tenant", "demo"}, &tok, io.Discard); err != nil {
		tb.Fatalf("tenant lti-token: %v", err)
	}
	d.ltiToken = strings.TrimSpace(tok.String())
	return d
}

func (d demoServer) args() []string {
	return []string{"conformance", "--base-url", d.base, "--token-url", d.tokenURL,
		"--client-id", "demo", "--client-secret", "demo-secret", "--client-id-2", d.id2, "--client-secret-2", d.secret2,
		"--lti-token", d.ltiToken}
}

// The Done-when of the conformance kit: `interop conformance` against
// `interop serve --demo` (the demo district, hundreds of persons, not the
// small referencetest one) passes and exits 0. Its run time is measured by
// BenchmarkConformanceServeDemo and reported in docs/PERFORMANCE.md.
func TestConformanceAgainstServeDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: loads the demo district")
	}
	d := startDemo(t)
	var out, errOut bytes.Buffer
	if got := run(t.Context(), d.args(), &out, &errOut); got != 0 {
		t.Fatalf("exit status %d against serve --demo:\n%s\n%s", got, out.String(), errOut.String())
	}
	// Everything ran: only redelivery is skipped (no --lease-wait).
	if !strings.Contains(out.String(), " 0 failed, 1 skipped") {
		t.Errorf("summary line missing or unexpected:\n%s", out.String())
	}
}

// BenchmarkConformanceServeDemo: one op is one whole `interop conformance`
// run, both tenants, against a fresh `interop serve --demo` (setup untimed).
func BenchmarkConformanceServeDemo(b *testing.B) {
	for b.Loop() {
		b.StopTimer()
		d := startDemo(b)
		b.StartTimer()
		var out bytes.Buffer
		if got := run(b.Context(), d.args(), &out, io.Discard); got != 0 {
			b.Fatalf("exit status %d:\n%s", got, out.String())
		}
	}
}
