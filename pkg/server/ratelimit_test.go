package server_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3filter"

	"github.com/interop-data/interop/internal/specroute"
	"github.com/interop-data/interop/pkg/server"
	"github.com/interop-data/interop/pkg/server/auth"
)

const persons = base + "/rostering/persons"

// limitedEnv is an env whose server limits each caller to perSecond with
// burst, on the env's fake clock.
func limitedEnv(t *testing.T, perSecond float64, burst int, opts ...server.Option) *env {
	t.Helper()
	return newEnv(t, okPersons(), append([]server.Option{server.WithRateLimit(server.RateLimit{PerSecond: perSecond, Burst: burst})}, opts...)...)
}

// spend makes n requests that must all succeed.
func spend(t *testing.T, e *env, n int, headers ...string) {
	t.Helper()
	for i := range n {
		if rec := e.do("GET", persons, "", headers...); rec.Code != http.StatusOK {
			t.Fatalf("request %d of %d within the burst: status %d: %s", i+1, n, rec.Code, rec.Body)
		}
	}
}

// want429 checks a rate-limited answer: the spec's error body with code
// rate_limited, and Retry-After in whole seconds.
func want429(t *testing.T, rec *httptest.ResponseRecorder, retryAfter int) {
	t.Helper()
	wantError(t, rec, http.StatusTooManyRequests, server.CodeRateLimited)
	if got := rec.Header().Get("Retry-After"); got != strconv.Itoa(retryAfter) {
		t.Errorf("Retry-After = %q, want %d", got, retryAfter)
	}
}

// want429Token checks a rate-limited token request: RFC 6749 §5.2's error
// body ("error" a string, as OAuth2 libraries read it), no-store, Retry-After.
func want429Token(t *testing.T, rec *httptest.ResponseRecorder, retryAfter int) {
	t.Helper()
	if rec.Code != http.StatusTooManyRequests {
		t.Fatalf("status = %d, want 429; body %s", rec.Code, rec.Body)
	}
	var body map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("body is not JSON: %v: %s", err, rec.Body)
	}
	if code, ok := body["error"].(string); !ok || code != "temporarily_unavailable" {
		t.Errorf("error = %#v, want the string temporarily_unavailable", body["error"])
	}
	if d, ok := body["error_description"].(string); !ok || d == "" {
		t.Errorf("error_description = %#v, want a string", body["error_description"])
	}
	if len(body) != 2 {
		t.Errorf("body has fields beyond error and error_description: %s", rec.Body)
	}
	for h, want := range map[string]string{"Cache-Control": "no-store", "Pragma": "no-cache", "Retry-After": strconv.Itoa(retryAfter)} {
		if got := rec.Header().Get(h); got != want {
			t.Errorf("%s = %q, want %q", h, got, want)
		}
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type = %q", ct)
	}
}

func TestRateLimitOverLimitIs429(t *testing.T) {
	e := limitedEnv(t, 0.5, 3) // a token every 2s
	spend(t, e, 3)
	rec := e.do("GET", persons, "")
	want429(t, rec, 2)

	// The whole answer, headers included, is what the spec declares for
	// listPersons.
	_, router, err := specroute.NewRouter()
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest("GET", "http://example.org"+persons, nil)
	route, params, err := router.FindRoute(req)
	if err != nil {
		t.Fatal(err)
	}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: specroute.FilterOptions()}
	rin := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: rec.Code, Header: rec.Header(),
		Body: io.NopCloser(strings.NewReader(rec.Body.String())), Options: specroute.FilterOptions()}
	rin.Options.IncludeResponseStatus = true
	if err := openapi3filter.ValidateResponse(context.Background(), rin); err != nil {
		t.Errorf("429 does not match the spec: %v", err)
	}
}

// Retry-After is rounded up to whole seconds and is never 0, even when a
// token is a fraction of a second away.
func TestRateLimitRetryAfterRoundsUp(t *testing.T) {
	for _, tc := range []struct {
		perSecond float64
		advance   time.Duration
		want      int
	}{
		{perSecond: 10, want: 1},                                     // 100ms away
		{perSecond: 0.4, want: 3},                                    // 2.5s away
		{perSecond: 0.25, advance: 1500 * time.Millisecond, want: 3}, // 2.5s of 4s left
	} {
		e := limitedEnv(t, tc.perSecond, 1)
		spend(t, e, 1)
		e.clock.Advance(tc.advance)
		want429(t, e.do("GET", persons, ""), tc.want)
	}
}

func TestRateLimitRefillsAsTheClockAdvances(t *testing.T) {
	e := limitedEnv(t, 1, 2)
	spend(t, e, 2)
	want429(t, e.do("GET", persons, ""), 1)
	// Refused requests take nothing: however many, one second buys one.
	for range 5 {
		want429(t, e.do("GET", persons, ""), 1)
	}
	e.clock.Advance(999 * time.Millisecond)
	want429(t, e.do("GET", persons, ""), 1)
	e.clock.Advance(time.Millisecond)
	spend(t, e, 1)
	want429(t, e.do("GET", persons, ""), 1)
	// A long pause refills to the burst, not beyond.
	e.clock.Advance(10 * time.Minute)
	spend(t, e, 2)
	want429(t, e.do("GET", persons, ""), 1)
}

func TestRateLimitBucketPerPrincipal(t *testing.T) {
	e := limitedEnv(t, 1, 2)
	// A second client, on the same server and from the same address.
	other := auth.Client{ID: "client-2", TenantID: e.tenant}
	tok2, _, err := e.oauth.IssueToken(context.Background(), other)
	if err != nil {
		t.Fatal(err)
	}
	// A second token of the first client shares the first client's bucket.
	tok1b, _, err := e.oauth.IssueToken(context.Background(), auth.Client{ID: clientID, TenantID: e.tenant})
	if err != nil {
		t.Fatal(err)
	}
	spend(t, e, 2)
	want429(t, e.do("GET", persons, ""), 1)
	want429(t, e.do("GET", persons, "", "Authorization", "Bearer "+tok1b), 1)
	// The other client's bucket is full, from the same address.
	spend(t, e, 2, "Authorization", "Bearer "+tok2)
	want429(t, e.do("GET", persons, "", "Authorization", "Bearer "+tok2), 1)
}

func TestRateLimitOffByDefault(t *testing.T) {
	e := newEnv(t, okPersons())
	spend(t, e, 200)
	m := metricsText(t, e)
	if strings.Contains(m, "interop_rate_limit") {
		t.Errorf("rate limit metrics registered while off:\n%s", m)
	}
	// PerSecond 0 is off too.
	e = newEnv(t, okPersons(), server.WithRateLimit(server.RateLimit{PerSecond: 0, Burst: 1}))
	spend(t, e, 200)
}

func TestRateLimitRejectsBadConfig(t *testing.T) {
	for _, rl := range []server.RateLimit{{PerSecond: -1}, {PerSecond: 1, Burst: -1}} {
		oauth := auth.NewOAuth2(auth.NewMemoryClientStore(), auth.NewMemoryTokenStore())
		if _, err := server.New(okPersons(), server.WithTokenEndpoint(oauth), server.WithRateLimit(rl)); err == nil {
			t.Errorf("New accepted %+v", rl)
		}
	}
}

func TestRateLimitMetrics(t *testing.T) {
	e := limitedEnv(t, 1, 1)
	spend(t, e, 1)
	for range 3 {
		e.do("GET", persons, "")
	}
	m := metricsText(t, e)
	for _, want := range []string{
		`interop_rate_limited_total{operation="listPersons"} 3`,
		`interop_http_requests_total{code="429",method="GET",operation="listPersons"} 3`,
		`interop_rate_limit_keys 1`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// tokenFrom asks the token endpoint for a token from ip; the request has no
// credentials, which does not matter here.
func tokenFrom(e *env, ip string) *httptest.ResponseRecorder {
	return e.do("POST", "/oauth/token", "", "Authorization", "", "RemoteAddr", ip+":40000")
}

func TestRateLimitTokenEndpointPerIP(t *testing.T) {
	e := limitedEnv(t, 1, 2)
	for range 2 {
		if rec := tokenFrom(e, "198.51.100.1"); rec.Code == http.StatusTooManyRequests {
			t.Fatalf("token request within the burst: %d %s", rec.Code, rec.Body)
		}
	}
	want429Token(t, tokenFrom(e, "198.51.100.1"), 1)
	if rec := tokenFrom(e, "198.51.100.2"); rec.Code == http.StatusTooManyRequests {
		t.Fatal("another IP shares the first one's bucket")
	}
	// The API client's bucket is its own, whatever its address.
	spend(t, e, 2, "RemoteAddr", "198.51.100.1:40001")
	if !strings.Contains(metricsText(t, e), `interop_rate_limited_total{operation="oauth/token"} 1`) {
		t.Error("the limited token request is not counted")
	}
}

func TestRateLimitEvictsIdleKeys(t *testing.T) {
	// Buckets refill in 2s, so they are kept for the one-minute minimum.
	e := limitedEnv(t, 1, 2)
	keys := func() string {
		t.Helper()
		for line := range strings.Lines(metricsText(t, e)) {
			if v, ok := strings.CutPrefix(line, "interop_rate_limit_keys "); ok {
				return strings.TrimSpace(v)
			}
		}
		t.Fatal("no interop_rate_limit_keys")
		return ""
	}
	for i := range 20 {
		tokenFrom(e, "10.0.0."+strconv.Itoa(i+1))
	}
	spend(t, e, 2)
	if got := keys(); got != "21" {
		t.Fatalf("keys = %s, want 21 (20 IPs and the client)", got)
	}
	e.clock.Advance(30 * time.Second)
	tokenFrom(e, "10.0.0.1") // seen again: not idle
	if got := keys(); got != "21" {
		t.Fatalf("keys = %s after 30s, want 21 (nothing idle for a minute yet)", got)
	}
	e.clock.Advance(31 * time.Second)
	// The client was idle for 61s: its bucket is dropped by the sweep this
	// request triggers and a full one takes its place.
	spend(t, e, 2)
	if got := keys(); got != "2" {
		t.Fatalf("keys = %s after 61s, want 2 (10.0.0.1 and the client)", got)
	}
	want429(t, e.do("GET", persons, ""), 1)
	// 10.0.0.1 kept its bucket: one token spent 31s ago has long come back,
	// so two pass and a third is refused.
	for range 2 {
		if rec := tokenFrom(e, "10.0.0.1"); rec.Code == http.StatusTooManyRequests {
			t.Fatal("kept bucket refused a request it had tokens for")
		}
	}
	want429Token(t, tokenFrom(e, "10.0.0.1"), 1)
}
