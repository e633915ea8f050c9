package reference_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/interop-data/interop/pkg/reference/referencetest"
	"github.com/interop-data/interop/pkg/server/auth"
)

// The server caches token lookups (auth.TokenCache): a token revoked
// through it is refused on the next request, and an expired one is refused
// although it was cached a moment before.
func TestCachedTokenRevokedAndExpired(t *testing.T) {
	t.Parallel()
	env := referencetest.Start(t, referencetest.WithTenants(1))
	a := newAPI(t, env, 0)
	if st, body := a.do(http.MethodGet, "/rostering/orgs", nil); st != http.StatusOK {
		t.Fatalf("GET orgs = %d %s", st, body)
	}
	if err := env.Instance.OAuth2.RevokeToken(context.Background(), a.token); err != nil {
		t.Fatal(err)
	}
	if st, body := a.do(http.MethodGet, "/rostering/orgs", nil); st != http.StatusUnauthorized {
		t.Fatalf("GET orgs with a revoked token = %d %s, want 401", st, body)
	}

	b := newAPI(t, env, 0)
	if st, body := b.do(http.MethodGet, "/rostering/orgs", nil); st != http.StatusOK {
		t.Fatalf("GET orgs = %d %s", st, body)
	}
	// Read a second before it expires, the token is cached until its expiry.
	env.Clock.Advance(auth.DefaultTokenTTL - time.Second)
	if st, body := b.do(http.MethodGet, "/rostering/orgs", nil); st != http.StatusOK {
		t.Fatalf("GET orgs a second before expiry = %d %s", st, body)
	}
	env.Clock.Advance(time.Second)
	if st, body := b.do(http.MethodGet, "/rostering/orgs", nil); st != http.StatusUnauthorized {
		t.Fatalf("GET orgs with an expired, just cached token = %d %s, want 401", st, body)
	}
}
