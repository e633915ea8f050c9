package main

import (
	"bytes"
	"encoding/xml"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/interop-data/interop/pkg/reference/referencetest"
)

// --junit and --report write their files beside the text report, over the
// checks --run and --skip select; a bad pattern is a bad flag (status 2).
func TestConformanceJUnitReportRunSkip(t *testing.T) {
	t.Parallel()
	env := referencetest.Start(t)
	dir := t.TempDir()
	junit, page := filepath.Join(dir, "conformance.xml"), filepath.Join(dir, "conformance.html")
	args := []string{"conformance", "--base-url", env.URL, "--token-url", env.TokenURL,
		"--client-id", env.Tenants[0].ClientID, "--client-secret", env.Tenants[0].ClientSecret,
		"--run", "^auth/|^tasks/", "--skip", "expire",
		"--junit", junit, "--report", page}
	var out bytes.Buffer
	if got := run(t.Context(), args, &out, io.Discard); got != 0 {
		t.Fatalf("exit status %d:\n%s", got, out.String())
	}
	if strings.Contains(out.String(), "\nfinds\n") || strings.Contains(out.String(), "\nspec\n") || !strings.Contains(out.String(), "\ntasks\n") {
		t.Errorf("--run ^auth/|^tasks/ reported other groups, or not tasks:\n%s", out.String())
	}
	if strings.Contains(out.String(), "expire") {
		t.Errorf("--skip expire ran the redelivery check:\n%s", out.String())
	}
	var doc struct {
		Tests  int `xml:"tests,attr"`
		Suites []struct {
			Name  string `xml:"name,attr"`
			Cases []struct {
				Name string `xml:"name,attr"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	b, err := os.ReadFile(junit)
	if err != nil {
		t.Fatal(err)
	}
	if err := xml.Unmarshal(b, &doc); err != nil || len(doc.Suites) != 2 || doc.Suites[0].Name != "auth" || doc.Suites[1].Name != "tasks" {
		t.Fatalf("--junit: %v, %+v", err, doc)
	}
	h, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range doc.Suites {
		for _, c := range s.Cases {
			if !strings.Contains(out.String(), c.Name) || !strings.Contains(string(h), c.Name) {
				t.Errorf("check %q is in the JUnit file but not in the text report or the page", c.Name)
			}
		}
	}

	for _, bad := range [][]string{{"--run", "("}, {"--skip", "a{2,1}"}} {
		var errOut bytes.Buffer
		got := run(t.Context(), append(args[:len(args)-4:len(args)-4], bad...), io.Discard, &errOut)
		if got != 2 || !strings.Contains(errOut.String(), "not a regular expression") {
			t.Errorf("%v: exit status %d, stderr %q", bad, got, errOut.String())
		}
	}
	var errOut bytes.Buffer
	unwritable := append(args[:len(args)-4:len(args)-4], "--junit", filepath.Join(dir, "missing", "x.xml"))
	if got := run(t.Context(), unwritable, io.Discard, &errOut); got != 1 || !strings.Contains(errOut.String(), "missing") {
		t.Errorf("--junit into a missing directory: exit status %d, stderr %q", got, errOut.String())
	}
}
