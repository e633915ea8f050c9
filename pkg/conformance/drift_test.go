package conformance_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/interop-data/interop/pkg/conformance"
	"github.com/interop-data/interop/pkg/contract"
	"github.com/interop-data/interop/pkg/drift"
	"github.com/interop-data/interop/pkg/proxy"
	"github.com/interop-data/interop/pkg/reference/referencetest"
	"github.com/interop-data/interop/pkg/server"
)

// The checking proxy (pkg/proxy, interop proxy) is tested here because the
// suite is the richest traffic the project can make, and its breakages are
// the servers that drift from the contract.

// driftRun runs the suite (groups, or all of it) through a checking proxy
// in front of upstream (a root URL) and returns the suite's report and the
// proxy's.
func driftRun(t *testing.T, upstream string, clients []conformance.Credentials, advance func(time.Duration), groups ...string) (*conformance.Report, *drift.Report) {
	return driftRunOn(t, nil, upstream, clients, advance, groups...)
}

// driftRunOn is driftRun with the proxy on ln (nil: a new loopback port),
// for an upstream that must name the proxy's host among its allowed hosts
// before the proxy starts.
func driftRunOn(t *testing.T, ln net.Listener, upstream string, clients []conformance.Credentials, advance func(time.Duration), groups ...string) (*conformance.Report, *drift.Report) {
	t.Helper()
	rec, err := drift.NewRecorder()
	if err != nil {
		t.Fatal(err)
	}
	p, err := proxy.New(upstream, rec, proxy.WithXForwarded())
	if err != nil {
		t.Fatal(err)
	}
	rec2 := &harRecorder{next: p}
	srv := httptest.NewUnstartedServer(rec2)
	if ln != nil {
		srv.Listener.Close()
		srv.Listener = ln
	}
	srv.Start()
	t.Cleanup(srv.Close)
	rep, err := conformance.Run(t.Context(), conformance.Config{
		BaseURL:   srv.URL + contract.BasePath,
		TokenURL:  srv.URL + "/oauth/token",
		Clients:   clients,
		LeaseWait: time.Minute,
		Wait:      func(_ context.Context, d time.Duration) error { advance(d); return nil },
		Groups:    groups,
	})
	if err != nil {
		t.Fatal(err)
	}
	p.Wait()
	d := rec.Report()

	// The same traffic, recorded as HAR and checked offline (interop
	// check), gives the same report.
	offline, err := drift.NewRecorder()
	if err != nil {
		t.Fatal(err)
	}
	if n, err := offline.RecordHAR(bytes.NewReader(rec2.har(t))); err != nil || n == 0 {
		t.Fatalf("RecordHAR: %d entries, %v", n, err)
	}
	if a, b := reportJSON(t, d), reportJSON(t, offline.Report()); a != b {
		t.Fatalf("the HAR of the traffic gives another report:\nproxy:\n%s\nHAR:\n%s", a, b)
	}
	return rep, d
}

func reportJSON(t *testing.T, r *drift.Report) string {
	t.Helper()
	var b strings.Builder
	if err := r.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// harRecorder records every exchange through it as HAR 1.2 entries, as a
// browser's developer tools would.
type harRecorder struct {
	next    http.Handler
	mu      sync.Mutex
	entries []map[string]any
}

func (h *harRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	rec := httptest.NewRecorder()
	h.next.ServeHTTP(rec, r)
	reply(w, rec)
	pairs := func(hd http.Header) []map[string]string {
		var out []map[string]string
		for k, vs := range hd {
			for _, v := range vs {
				out = append(out, map[string]string{"name": k, "value": v})
			}
		}
		return out
	}
	u := "http://" + r.Host + r.URL.RequestURI()
	req := map[string]any{"method": r.Method, "url": u, "httpVersion": "HTTP/1.1", "headers": pairs(r.Header)}
	if len(body) > 0 {
		req["postData"] = map[string]any{"mimeType": r.Header.Get("Content-Type"), "text": string(body)}
	}
	text := rec.Body.String()
	resp := map[string]any{"status": rec.Code, "headers": pairs(rec.Header()),
		"content": map[string]any{"size": len(text), "mimeType": rec.Header().Get("Content-Type"), "text": text}}
	h.mu.Lock()
	h.entries = append(h.entries, map[string]any{"request": req, "response": resp})
	h.mu.Unlock()
}

func (h *harRecorder) har(t *testing.T) []byte {
	h.mu.Lock()
	defer h.mu.Unlock()
	b, err := json.Marshal(map[string]any{"log": map[string]any{"version": "1.2", "creator": map[string]string{"name": "test"}, "entries": h.entries}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The proxy in front of the reference server, on the traffic of a whole
// conformance run: the suite passes through it as it does without, the
// server's answers break nothing and use no variant, every operation is
// seen, and every x-unconfirmed operation is confirmed. The suite also sends
// bad requests on purpose: each is reported, and each was refused.
func TestDriftProxyOnReferenceTraffic(t *testing.T) {
	t.Parallel()
	// The proxy adds X-Forwarded-Host; the server takes it for its paging
	// links only from a trusted proxy and for a host it allows.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	env := referencetest.Start(t, referencetest.WithTaskLease(time.Minute), referencetest.WithTrustProxy(),
		referencetest.WithServerOptions(server.WithAllowedHosts(ln.Addr().String())))
	clients := []conformance.Credentials{
		{ClientID: env.Tenants[0].ClientID, ClientSecret: env.Tenants[0].ClientSecret},
		{ClientID: env.Tenants[1].ClientID, ClientSecret: env.Tenants[1].ClientSecret},
	}
	rep, d := driftRunOn(t, ln, env.Root, clients, env.Clock.Advance)
	if !rep.OK() {
		dump(t, rep)
		t.Fatal("the suite fails through the proxy")
	}
	t.Log(d)
	if _, resp := d.Violations(); resp != 0 {
		t.Errorf("%d response violations of the reference server", resp)
	}
	if len(d.Unseen) != 0 {
		t.Errorf("unseen operations: %v", d.Unseen)
	}
	if len(d.Unconfirmed) != 4 {
		t.Errorf("unconfirmed: %v, want the spec's four", d.Unconfirmed)
	}
	for id, s := range d.Unconfirmed {
		if s != drift.Confirmed {
			t.Errorf("%s is %s, want confirmed", id, s)
		}
	}
	if len(d.Unmatched) != 0 || len(d.UpstreamErrors) != 0 {
		t.Errorf("unmatched %v, upstream errors %v", d.Unmatched, d.UpstreamErrors)
	}
	if d.Passthrough == 0 {
		t.Error("the token requests were not counted as outside the API")
	}
	sawRequestViolation := false
	for id, o := range d.Operations {
		if len(o.Variants) != 0 || len(o.NotChecked) != 0 {
			t.Errorf("%s: variants %v, not checked %v", id, o.Variants, o.NotChecked)
		}
		// Each bad request can cost more than one violation group only
		// if it breaks several rules; it is reported once per exchange.
		bad, refused := 0, 0
		for _, v := range o.Violations {
			bad += v.Count
		}
		for st, n := range o.Statuses {
			if st[0] == '4' && st != "401" && st != "404" {
				refused += n
			}
		}
		if bad > 0 {
			sawRequestViolation = true
		}
		if bad > refused+o.Statuses["404"] {
			t.Errorf("%s: %d request violations but only %d requests refused: %v", id, bad, refused, o.Violations)
		}
	}
	if !sawRequestViolation {
		t.Error("the suite's deliberate bad requests were not reported")
	}
}

// In front of servers that break the contract (the suite's own broken
// servers), each breakage is reported with its operation, pointer and rule.
func TestDriftProxyReportsBreakages(t *testing.T) {
	t.Parallel()
	type where struct{ op, pointer, rule string }
	want := map[string]where{
		"answers a non-spec error body":          {"findTerm", "/error", "required"},
		"answers an undeclared status":           {"findSection", "status", "status"},
		"answers errors as text/plain":           {"findPerson", "header Content-Type", "contentType"},
		"answers errors without status and code": {"findLEA", "/error/status", "required"},
		"answers lists as text/plain":            {"listOrgs", "header Content-Type", "contentType"},
		"acknowledges without removing":          {"acknowledgeTask", "/data/status", "nullable"},
	}
	n := 0
	for _, b := range breakages {
		w, ok := want[b.name]
		if !ok {
			continue
		}
		n++
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			tg := referenceTarget(t)
			up := httptest.NewServer(b.wrap(t, tg))
			t.Cleanup(up.Close)
			groups := b.groups
			if groups == nil {
				groups = []string{b.check[:strings.Index(b.check, "/")]}
			}
			_, d := driftRun(t, up.URL, tg.clients[:], tg.advance, groups...)
			o := d.Operations[w.op]
			if o == nil {
				t.Fatalf("%s never seen: %s", w.op, d)
			}
			found := false
			for _, v := range o.Violations {
				if v.Direction == "response" && v.Pointer == w.pointer && v.Rule == w.rule && v.Count > 0 {
					found = true
				}
			}
			if !found {
				var buf strings.Builder
				_ = d.WriteJSON(&buf)
				t.Fatalf("%s: want a response violation at %q of rule %q, got %+v\n%s", w.op, w.pointer, w.rule, o.Violations, buf.String())
			}
		})
	}
	if n != len(want) {
		t.Fatalf("%d of the %d breakages named here exist", n, len(want))
	}
}
