package reference_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/interop-data/interop/pkg/contract"
	"github.com/interop-data/interop/pkg/reference"
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

// A token revoked in the database by another process (another replica):
// with the default cache this server accepts it until its entry is
// auth.DefaultTokenCacheTTL old, no longer; with no cache it refuses it at
// once.
func TestTokenRevokedElsewhere(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		ttl   time.Duration
		stale time.Duration // how long the revoked token is still accepted
	}{
		{"default cache", 0, auth.DefaultTokenCacheTTL},
		{"no cache", -1, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st, err := reference.OpenStore(ctx, filepath.Join(t.TempDir(), "revoke.db"))
			if err != nil {
				t.Fatal(err)
			}
			clock := referencetest.NewFakeClock(referencetest.Epoch)
			srv, inst, err := reference.NewServer(ctx, reference.Config{Store: st, Clock: clock.Now, TokenCacheTTL: tc.ttl})
			if err != nil {
				t.Fatal(err)
			}
			defer inst.Close()
			ts := httptest.NewServer(srv.Handler())
			defer ts.Close()
			creds, err := reference.CreateTenant(ctx, st, "Revoked")
			if err != nil {
				t.Fatal(err)
			}
			token, _, err := inst.OAuth2.IssueToken(ctx, auth.Client{ID: creds.ClientID, TenantID: creds.TenantID})
			if err != nil {
				t.Fatal(err)
			}
			get := func() int {
				req, _ := http.NewRequest(http.MethodGet, ts.URL+contract.BasePath+"/rostering/orgs", nil)
				req.Header.Set("Authorization", "Bearer "+token)
				resp, err := ts.Client().Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				return resp.StatusCode
			}
			if code := get(); code != http.StatusOK {
				t.Fatalf("before the revocation: %d", code)
			}
			// Another replica revokes it: straight in the database.
			if err := st.(auth.TokenRevoker).RevokeToken(ctx, auth.HashToken(token)); err != nil {
				t.Fatal(err)
			}
			if tc.stale > 0 {
				clock.Advance(tc.stale - time.Millisecond)
				if code := get(); code != http.StatusOK {
					t.Fatalf("within the cache's TTL: %d, want the cached answer 200", code)
				}
				clock.Advance(time.Millisecond)
			}
			if code := get(); code != http.StatusUnauthorized {
				t.Fatalf("%s after the revocation elsewhere: %d, want 401", tc.stale, code)
			}
		})
	}
}
