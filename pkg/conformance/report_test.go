package conformance_test

import (
	"bytes"
	"encoding/xml"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/interop-data/interop/pkg/conformance"
	"github.com/interop-data/interop/pkg/reference/referencetest"
)

// sampleReport holds one check of each verdict, with text that must be
// escaped in XML and HTML.
func sampleReport() *conformance.Report {
	return &conformance.Report{
		BaseURL: "http://127.0.0.1:1/v2/interop/data", Started: time.Date(2026, 12, 6, 22, 0, 0, 0, time.UTC), Duration: 1500 * time.Millisecond,
		Results: []conformance.Result{
			{Group: "spec", Name: "listOrgs answers spec-valid responses", Verdict: conformance.Pass, Evidence: "statuses seen: 200×3"},
			{Group: "spec", Name: "findOrg answers spec-valid responses", Verdict: conformance.NotImplemented, Reason: "not implemented: it answered 501 Not Implemented (2×) and never succeeded"},
			{Group: "finds", Name: "unknown ids get 404", Verdict: conformance.Fail, Duration: 20 * time.Millisecond,
				Reason:   "findOrg with an id that does not exist must get 404, but GET /rostering/orgs/x answered 500 (want 404)",
				Evidence: `GET /rostering/orgs/x -> 500 {"error":"<script>alert(1)</script> & more"}`},
			{Group: "finds", Name: "findLEA does not find a school", Verdict: conformance.Skip, Reason: "the tenant has no org of type School: load a roster"},
		},
	}
}

type junitCase struct {
	Name      string `xml:"name,attr"`
	Classname string `xml:"classname,attr"`
	Props     []struct {
		Name  string `xml:"name,attr"`
		Value string `xml:"value,attr"`
	} `xml:"properties>property"`
	Failure *struct {
		Message string `xml:"message,attr"`
		Text    string `xml:",chardata"`
	} `xml:"failure"`
	Skipped *struct {
		Message string `xml:"message,attr"`
		Type    string `xml:"type,attr"`
	} `xml:"skipped"`
}

type junitDoc struct {
	Tests    int `xml:"tests,attr"`
	Failures int `xml:"failures,attr"`
	Skipped  int `xml:"skipped,attr"`
	Suites   []struct {
		Name  string      `xml:"name,attr"`
		Tests int         `xml:"tests,attr"`
		Cases []junitCase `xml:"testcase"`
	} `xml:"testsuite"`
}

// The JUnit file has a testcase per check, in a testsuite per group; a
// failure carries the reason and the evidence, skipped and not-implemented
// checks are <skipped>, the latter typed so, and every case says its verdict.
func TestWriteJUnit(t *testing.T) {
	t.Parallel()
	rep := sampleReport()
	var b bytes.Buffer
	if err := rep.WriteJUnit(&b); err != nil {
		t.Fatal(err)
	}
	var doc junitDoc
	if err := xml.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatalf("not XML: %v\n%s", err, b.String())
	}
	if doc.Tests != 4 || doc.Failures != 1 || doc.Skipped != 2 || len(doc.Suites) != 2 || doc.Suites[0].Name != "spec" || doc.Suites[1].Tests != 2 {
		t.Fatalf("totals: %+v\n%s", doc, b.String())
	}
	cases := map[string]junitCase{}
	for _, s := range doc.Suites {
		for _, c := range s.Cases {
			cases[c.Name] = c
		}
	}
	for _, res := range rep.Results {
		c, ok := cases[res.Name]
		if !ok {
			t.Errorf("no testcase for %q", res.Name)
			continue
		}
		if c.Classname != "conformance."+res.Group || len(c.Props) != 1 || c.Props[0].Name != "verdict" || c.Props[0].Value != string(res.Verdict) {
			t.Errorf("%q: classname %q, properties %+v", res.Name, c.Classname, c.Props)
		}
		switch res.Verdict {
		case conformance.Fail:
			if c.Failure == nil || c.Failure.Message != res.Reason || !strings.Contains(c.Failure.Text, res.Evidence) || c.Skipped != nil {
				t.Errorf("failed check: %+v", c)
			}
		case conformance.Skip:
			if c.Skipped == nil || c.Skipped.Message != res.Reason || c.Skipped.Type != "" || c.Failure != nil {
				t.Errorf("skipped check: %+v", c)
			}
		case conformance.NotImplemented:
			if c.Skipped == nil || c.Skipped.Type != "not_implemented" || !strings.HasPrefix(c.Skipped.Message, "not implemented:") {
				t.Errorf("not implemented check: %+v", c)
			}
		case conformance.Pass:
			if c.Skipped != nil || c.Failure != nil {
				t.Errorf("passed check: %+v", c)
			}
		}
	}
}

// The HTML page holds every check with its verdict, reason and evidence,
// escaped, and loads nothing from anywhere.
func TestWriteHTML(t *testing.T) {
	t.Parallel()
	rep := sampleReport()
	var b bytes.Buffer
	if err := rep.WriteHTML(&b); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	doc, err := html.Parse(strings.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	var details, scripts, links int
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			switch n.Data {
			case "details":
				details++
			case "script", "img", "iframe":
				scripts++
			case "link":
				links++
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	if details != len(rep.Results) || scripts != 0 || links != 0 {
		t.Errorf("%d <details> for %d checks, %d scripts/images, %d links; want one per check and nothing loaded", details, len(rep.Results), scripts, links)
	}
	for _, want := range []string{
		"1 passed", "1 failed", "1 skipped", "1 not implemented", "the server breaks the contract",
		"unknown ids get 404", "answered 500 (want 404)", "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more",
		"load a roster", `class="fail" data-verdict="fail" open`, "Content-Security-Policy",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	if strings.Contains(page, "<script>alert") {
		t.Error("evidence is not escaped")
	}
}

// Run and Skip select checks by group/name; the others are neither run nor
// reported. A pattern that does not compile is refused before the run.
func TestRunSkipSelectChecks(t *testing.T) {
	t.Parallel()
	env := referencetest.Start(t)
	cfg := conformance.Config{
		BaseURL: env.URL, TokenURL: env.TokenURL,
		Clients: []conformance.Credentials{{ClientID: env.Tenants[0].ClientID, ClientSecret: env.Tenants[0].ClientSecret}},
		Run:     "^finds/|^spec/findOrg ", Skip: "malformed",
	}
	rep, err := conformance.Run(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	groups := map[string]int{}
	for _, res := range rep.Results {
		groups[res.Group]++
		if strings.Contains(res.Name, "malformed") {
			t.Errorf("--skip malformed ran %q", res.Name)
		}
		if res.Group == "spec" && (res.Name != "findOrg answers spec-valid responses" || res.Verdict != conformance.Pass) {
			t.Errorf("spec check %q: %s %s", res.Name, res.Verdict, res.Reason)
		}
		if res.Group == "finds" && res.Verdict != conformance.Pass {
			t.Errorf("%q: %s %s", res.Name, res.Verdict, res.Reason)
		}
	}
	if len(groups) != 2 || groups["spec"] != 1 || groups["finds"] < 5 {
		t.Errorf("checks reported per group: %v; want the finds and findOrg's spec check", groups)
	}
	for _, bad := range []conformance.Config{{Run: "("}, {Skip: "[z-a]"}} {
		bad.BaseURL, bad.Clients = cfg.BaseURL, cfg.Clients
		if _, err := conformance.Run(t.Context(), bad); err == nil || !strings.Contains(err.Error(), "not a regular expression") {
			t.Errorf("Run %q Skip %q: %v", bad.Run, bad.Skip, err)
		}
	}
}
