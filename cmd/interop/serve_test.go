package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/interop-data/interop/internal/syncbuf"
	"github.com/interop-data/interop/pkg/contract"
)

// syncBuffer is a log and output sink safe for the goroutines a test starts.
type syncBuffer = syncbuf.Buffer

func token(t testing.TB, tokenURL, id, secret string) string {
	t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret}}
	resp, err := http.Post(tokenURL, "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || resp.StatusCode != 200 {
		t.Fatalf("token for %s: %s %v", id, resp.Status, err)
	}
	return body.AccessToken
}

func getJSON(t testing.TB, u, tok string, v any) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if v != nil && resp.StatusCode == 200 {
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatalf("GET %s: %v: %s", u, err, b)
		}
	}
	return resp.StatusCode
}

// serve --demo prints its URLs and the demo credentials, serves the demo
// district, and tenant create works on the same file while it runs.
func TestServeDemoAndTenantCreate(t *testing.T) {
	db := filepath.Join(t.TempDir(), "interop.db")
	srv := startServe(t, "--db", db, "--demo", "--batch-size", "7")
	ctx := context.Background()
	out, base := srv.Out, srv.Base
	if !strings.Contains(out.String(), "client_id=demo client_secret=demo-secret") || !strings.Contains(out.String(), "token URL:") {
		t.Fatalf("serve output lacks the demo credentials:\n%s", out.String())
	}
	if strings.Contains(out.String(), "already there") {
		t.Errorf("a new database's demo is not an old one:\n%s", out.String())
	}
	tok := token(t, srv.TokenURL, "demo", "demo-secret")

	var students struct {
		Data   []map[string]any `json:"data"`
		Paging struct{ Next *string }
	}
	if code := getJSON(t, base+"/rostering/students?page_size=50", tok, &students); code != 200 || len(students.Data) != 50 || students.Paging.Next == nil {
		t.Fatalf("students: %d, %d, next %v", code, len(students.Data), students.Paging.Next)
	}
	var all struct{ Data []map[string]any }
	getJSON(t, base+"/rostering/persons", tok, &all)
	if len(all.Data) < 300 {
		t.Fatalf("demo district has %d persons, want hundreds", len(all.Data))
	}
	if !strings.Contains(out.String()+mustJSON(all.Data), "Núñez") {
		t.Error("demo district has no non-ASCII names")
	}
	var tasks struct{ Data []map[string]any }
	if code := getJSON(t, base+"/tasks", tok, &tasks); code != 200 || len(tasks.Data) != 7 || tasks.Data[0]["lifecycle_event"] == nil {
		t.Fatalf("tasks: %d, %d tasks, first %v", code, len(tasks.Data), tasks.Data)
	}

	// tenant create on the same file while the server runs and writes:
	// consumers keep leasing (each GET /tasks is a write transaction) the
	// whole time.
	stop := make(chan struct{})
	leases := make(chan error, 1)
	leasing := make(chan struct{}) // closed after the first lease, so that tenant create surely runs beside some
	go func() {
		n := 0
		for {
			select {
			case <-stop:
				if n == 0 {
					leases <- errors.New("no lease ran beside tenant create")
					return
				}
				leases <- nil
				return
			default:
			}
			req, _ := http.NewRequest(http.MethodGet, base+"/tasks?page_size=1", nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				leases <- err
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				leases <- fmt.Errorf("GET /tasks beside tenant create = %d", resp.StatusCode)
				return
			}
			if n++; n == 1 {
				close(leasing)
			}
		}
	}()
	select {
	case <-leasing:
	case err := <-leases:
		t.Fatal(err)
	}
	var created bytes.Buffer
	err := runTenant(ctx, []string{"create", "--db", db, "--name", "Springfield"}, &created, io.Discard)
	close(stop)
	if err != nil {
		t.Fatalf("tenant create beside a writing server: %v", err)
	}
	if err := <-leases; err != nil {
		t.Fatal(err)
	}
	var creds struct {
		TenantID     string `json:"tenant_id"`
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
	}
	if err := json.Unmarshal(created.Bytes(), &creds); err != nil || creds.TenantID == "" || creds.ClientID == "" || creds.ClientSecret == "" {
		t.Fatalf("tenant create printed %q: %v", created.String(), err)
	}
	tok2 := token(t, srv.TokenURL, creds.ClientID, creds.ClientSecret)
	var t2 struct{ Data []map[string]map[string]any }
	if code := getJSON(t, base+"/tasks", tok2, &t2); code != 200 || len(t2.Data) != 1 || t2.Data[0]["lifecycle_event"]["action"] != "TENANT_INSTALLED" {
		t.Fatalf("new tenant's tasks: %d %v", code, t2.Data)
	}
	if code := getJSON(t, base+"/rostering/persons", tok2, &all); code != 200 || len(all.Data) != 0 {
		t.Fatalf("new tenant sees %d persons", len(all.Data))
	}

	if err := srv.Stop(); err != nil {
		t.Fatalf("serve returned %v after shutdown", err)
	}

	// A second start on the same file keeps the demo tenant (no second load).
	srv2 := startServe(t, "--db", db, "--demo")
	tok3 := token(t, srv2.TokenURL, "demo", "demo-secret")
	var orgs struct{ Data []map[string]any }
	getJSON(t, srv2.Base+"/rostering/leas", tok3, &orgs)
	if len(orgs.Data) != 1 {
		t.Errorf("after restart %d LEAs, want 1", len(orgs.Data))
	}
	if err := srv2.Stop(); err != nil {
		t.Fatal(err)
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestServeAndTenantFlags(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		run  func() error
	}{
		{"serve unknown flag", func() error { return runServe(ctx, []string{"--nope"}, io.Discard, io.Discard) }},
		{"serve extra args", func() error { return runServe(ctx, []string{"extra"}, io.Discard, io.Discard) }},
		{"serve zero lease", func() error { return runServe(ctx, []string{"--task-lease", "0s"}, io.Discard, io.Discard) }},
		{"serve unknown validation mode", func() error {
			return runServe(ctx, []string{"--response-validation", "strict"}, io.Discard, io.Discard)
		}},
		{"serve negative rate limit", func() error { return runServe(ctx, []string{"--rate-limit", "-1"}, io.Discard, io.Discard) }},
		{"serve negative rate burst", func() error { return runServe(ctx, []string{"--rate-burst", "-1"}, io.Discard, io.Discard) }},
		{"serve zero body limit", func() error { return runServe(ctx, []string{"--body-limit", "0"}, io.Discard, io.Discard) }},
		{"serve zero depth", func() error { return runServe(ctx, []string{"--max-json-depth", "0"}, io.Discard, io.Discard) }},
		{"serve negative token cache", func() error {
			return runServe(ctx, []string{"--token-cache-ttl", "-1s"}, io.Discard, io.Discard)
		}},
		{"serve zero conns", func() error { return runServe(ctx, []string{"--max-conns", "0"}, io.Discard, io.Discard) }},
		{"serve bad public URL", func() error {
			return runServe(ctx, []string{"--db", filepath.Join(t.TempDir(), "p.db"), "--public-url", "api.example.org"}, io.Discard, io.Discard)
		}},
		{"serve bad allowed host", func() error {
			return runServe(ctx, []string{"--db", filepath.Join(t.TempDir(), "h.db"), "--allowed-hosts", "a/b"}, io.Discard, io.Discard)
		}},
		{"serve trust-proxy naming no proxy", func() error {
			return runServe(ctx, []string{"--db", filepath.Join(t.TempDir(), "t.db"), "--trust-proxy"}, io.Discard, io.Discard)
		}},
		{"serve bad trusted proxy", func() error {
			return runServe(ctx, []string{"--db", filepath.Join(t.TempDir(), "tp.db"), "--trusted-proxies", "10.0.0.0/8,proxy.internal"}, io.Discard, io.Discard)
		}},
		{"tenant no subcommand", func() error { return runTenant(ctx, nil, io.Discard, io.Discard) }},
		{"tenant unknown subcommand", func() error { return runTenant(ctx, []string{"delete"}, io.Discard, io.Discard) }},
		{"tenant create without name", func() error {
			return runTenant(ctx, []string{"create", "--db", filepath.Join(t.TempDir(), "x.db")}, io.Discard, io.Discard)
		}},
	} {
		if err := tc.run(); err != exitError(2) {
			t.Errorf("%s: err = %v, want exit status 2", tc.name, err)
		}
	}
	if code := run(ctx, []string{"serve", "-h"}, io.Discard, io.Discard); code != 0 {
		t.Errorf("serve -h exit %d", code)
	}
	// A database path that cannot be opened is an error, not a panic.
	if err := runTenant(ctx, []string{"create", "--db", filepath.Join(t.TempDir(), "no", "such", "dir.db"), "--name", "x"}, io.Discard, io.Discard); err == nil {
		t.Error("tenant create on an unopenable path succeeded")
	}
}

// --rate-limit reaches the kit: with one request per 100s, the second token
// request from the same address is refused with the spec's 429.
func TestServeRateLimit(t *testing.T) {
	tokenURL := startServe(t, "--db", filepath.Join(t.TempDir(), "interop.db"), "--rate-limit", "0.01", "--rate-burst", "1").TokenURL
	post := func() *http.Response {
		resp, err := http.PostForm(tokenURL, url.Values{"grant_type": {"client_credentials"}, "client_id": {"x"}, "client_secret": {"y"}})
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	if r := post(); r.StatusCode == http.StatusTooManyRequests {
		t.Fatal("first request refused")
	}
	if r := post(); r.StatusCode != http.StatusTooManyRequests || r.Header.Get("Retry-After") == "" {
		t.Fatalf("second request within the limit: %d, Retry-After %q", r.StatusCode, r.Header.Get("Retry-After"))
	}
}

// Issue 20, item 7: with --trusted-proxies naming a proxy the test is not,
// a new X-Forwarded-For per request no longer buys a new token bucket, and
// X-Forwarded-Host never reaches a paging link.
func TestServeTrustedProxies(t *testing.T) {
	srv := startServe(t, "--db", filepath.Join(t.TempDir(), "interop.db"), "--trusted-proxies", "10.0.0.0/8",
		"--rate-limit", "0.01", "--rate-burst", "3")
	refused := 0
	for i := range 6 {
		req, _ := http.NewRequest(http.MethodPost, srv.TokenURL, strings.NewReader("grant_type=client_credentials&client_id=x&client_secret=y"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Forwarded-For", fmt.Sprintf("203.0.113.%d", i))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusTooManyRequests {
			refused++
		}
	}
	if refused != 3 {
		t.Errorf("%d of 6 token requests with spoofed X-Forwarded-For refused, want 3 (burst 3)", refused)
	}
}

// Issue 9, item 3: a forged Host never reaches paging.next; --public-url
// decides the links. --metrics-addr moves /metrics off the API listener.
func TestServeLinksAndMetricsFlags(t *testing.T) {
	db := filepath.Join(t.TempDir(), "interop.db")
	next := func(base, host string) string {
		t.Helper()
		tokenURL := strings.TrimSuffix(base, contract.BasePath) + "/oauth/token"
		req, _ := http.NewRequest(http.MethodGet, base+"/rostering/persons?page_size=1", nil)
		req.Host = host
		req.Header.Set("Authorization", "Bearer "+token(t, tokenURL, "demo", "demo-secret"))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var p struct{ Paging struct{ Next *string } }
		if err := json.NewDecoder(resp.Body).Decode(&p); err != nil || p.Paging.Next == nil {
			t.Fatalf("persons: %d %v", resp.StatusCode, err)
		}
		return *p.Paging.Next
	}
	srv := startServe(t, "--db", db, "--demo", "--metrics-addr", "off")
	if got := next(srv.Base, "evil.example:443"); !strings.HasPrefix(got, srv.Base+"/") {
		t.Errorf("forged Host: next = %s, want it under %s", got, srv.Base)
	}
	if code := getJSON(t, strings.TrimSuffix(srv.Base, contract.BasePath)+"/metrics", "", nil); code != http.StatusNotFound {
		t.Errorf("--metrics-addr off: /metrics answered %d", code)
	}
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	srv = startServe(t, "--db", db, "--public-url", "https://api.example.org/")
	if got := next(srv.Base, "evil.example:443"); !strings.HasPrefix(got, "https://api.example.org"+contract.BasePath+"/rostering/persons?") {
		t.Errorf("--public-url: next = %s", got)
	}
}

// serveRun is an `interop serve` running in the background of a test.
type serveRun struct {
	Base, TokenURL string
	Out            *syncBuffer
	cancel         context.CancelFunc
	done           chan error
	stop           sync.Once
	err            error
}

// startServe runs `interop serve --addr 127.0.0.1:0` with args until Stop or
// the end of the test, and waits for it to print its base URL (there is
// nothing else to wait on before it listens).
func startServe(tb testing.TB, args ...string) *serveRun {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &serveRun{Out: &syncBuffer{}, cancel: cancel, done: make(chan error, 1)}
	var errOut syncBuffer
	go func() {
		r.done <- runServe(ctx, append([]string{"--addr", "127.0.0.1:0"}, args...), r.Out, &errOut)
	}()
	tb.Cleanup(func() {
		if err := r.Stop(); err != nil {
			tb.Errorf("serve: %v", err)
		}
	})
	baseRE := regexp.MustCompile(`base URL:\s+(\S+)`)
	for deadline := time.Now().Add(60 * time.Second); r.Base == ""; {
		select {
		case err := <-r.done:
			r.done <- err
			tb.Fatalf("serve ended early: %v\n%s", err, errOut.String())
		case <-time.After(10 * time.Millisecond):
		}
		if m := baseRE.FindStringSubmatch(r.Out.String()); m != nil {
			r.Base = m[1]
		}
		if time.Now().After(deadline) {
			tb.Fatalf("serve printed no base URL:\n%s", r.Out.String())
		}
	}
	r.TokenURL = strings.TrimSuffix(r.Base, contract.BasePath) + "/oauth/token"
	return r
}

// Stop shuts the server down gracefully and returns what serve returned.
func (r *serveRun) Stop() error {
	r.stop.Do(func() {
		r.cancel()
		select {
		case r.err = <-r.done:
		case <-time.After(15 * time.Second):
			r.err = errors.New("serve did not shut down within 15s")
		}
	})
	return r.err
}
