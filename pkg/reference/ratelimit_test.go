package reference_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/interop-data/interop/pkg/reference/referencetest"
	"github.com/interop-data/interop/pkg/reference/store/postgres/pgtest"
	"github.com/interop-data/interop/pkg/server"
)

// Two replicas on one PostgreSQL database hold a client to its limit
// together: its bucket is a row both take from. Each process limited on
// its own before, and the client got twice its burst (1.96 times its rate
// across two replicas, measured).
func TestRateLimitHoldsAcrossReplicas(t *testing.T) {
	t.Parallel()
	url := pgtest.Schema(t)
	const burst = 5
	limit := referencetest.WithServerOptions(server.WithRateLimit(server.RateLimit{PerSecond: 1, Burst: burst}))
	a := referencetest.Start(t, limit, referencetest.WithTenants(1), referencetest.WithDBPath(url))
	b := referencetest.Start(t, limit, referencetest.WithTenants(1), referencetest.WithDBPath(url))
	token := a.Token(t, 0)
	replicas := []*api{{t: t, env: a, token: token}, {t: t, env: b, token: token}}
	ok, limited := 0, 0
	for i := range 4 * burst {
		switch code, body := replicas[i%2].do(http.MethodGet, "/rostering/orgs?page_size=1", nil); code {
		case http.StatusOK:
			ok++
		case http.StatusTooManyRequests:
			limited++
		default:
			t.Fatalf("request %d = %d %s", i, code, body)
		}
	}
	if ok != burst || limited != 3*burst {
		t.Fatalf("%d answered, %d limited across two replicas; want %d and %d", ok, limited, burst, 3*burst)
	}
	// Time passes on both replicas' clocks: one more second, one more request.
	a.Clock.Advance(1e9)
	b.Clock.Advance(1e9)
	if code, body := replicas[1].do(http.MethodGet, "/rostering/orgs?page_size=1", nil); code != http.StatusOK {
		t.Fatalf("after a second's refill: %d %s", code, body)
	}
	if code, _ := replicas[0].do(http.MethodGet, "/rostering/orgs?page_size=1", nil); code != http.StatusTooManyRequests {
		t.Fatalf("a second request from one second's refill: %d", code)
	}
}

// Token issuance is bounded by default on both stores: one client was
// issued every token it asked for (about 1,800 a second, each kept 25 h).
// Now the 21st within a minute is a 429 with Retry-After, and stores
// nothing.
func TestTokenIssuanceIsBounded(t *testing.T) {
	onBothStores(t, func(t *testing.T, env *referencetest.Env) {
		form := url.Values{"grant_type": {"client_credentials"}, "client_id": {env.Tenants[0].ClientID}, "client_secret": {env.Tenants[0].ClientSecret}}
		post := func() *http.Response {
			resp, err := http.Post(env.TokenURL, "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp
		}
		issued := 0
		for range 25 {
			switch resp := post(); resp.StatusCode {
			case http.StatusOK:
				issued++
			case http.StatusTooManyRequests:
				if resp.Header.Get("Retry-After") != "60" || resp.Header.Get("Cache-Control") != "no-store" {
					t.Fatalf("429 headers %v", resp.Header)
				}
			default:
				t.Fatalf("token request = %s", resp.Status)
			}
		}
		if issued != 20 {
			t.Fatalf("%d of 25 token requests in one minute answered, want 20", issued)
		}
		env.Clock.Advance(time.Minute)
		if resp := post(); resp.StatusCode != http.StatusOK {
			t.Fatalf("a minute later: %s", resp.Status)
		}
	})
}
