package reference_test

import (
	"net/http"
	"testing"

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
