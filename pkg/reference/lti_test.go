package reference_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/interop-data/interop/pkg/reference"
	"github.com/interop-data/interop/pkg/reference/lti"
	"github.com/interop-data/interop/pkg/reference/referencetest"
	"github.com/interop-data/interop/pkg/server"
)

// A token naming several tenants reads all of them, and tenant_id on
// GET /tasks and GET /tasks/admin narrows to one; a tenant the token does
// not name is a 403.
func TestLTITokenOfSeveralTenantsNarrows(t *testing.T) {
	env := referencetest.Start(t, referencetest.WithTenants(3))
	both := &api{t: t, env: env, token: env.LTIToken(t, 0, 1)}
	one := newAPIAs(t, env, ltiCredential, 0)

	var all, mine page
	both.get("/tasks/admin?page_size=2000", &all)
	one.get("/tasks/admin?page_size=2000", &mine)
	tenantsOf := func(p page) map[string]int {
		out := map[string]int{}
		for _, task := range tasksOf(t, mustMarshal(p)) {
			out[task.TenantID]++
		}
		return out
	}
	t0, t1, t2 := env.Tenants[0].ID.String(), env.Tenants[1].ID.String(), env.Tenants[2].ID.String()
	if got := tenantsOf(all); len(got) != 2 || got[t0] == 0 || got[t1] == 0 {
		t.Fatalf("a token naming tenants 0 and 1 lists tasks of %v", got)
	}
	if got := tenantsOf(mine); len(got) != 1 || got[t0] == 0 {
		t.Fatalf("a token naming tenant 0 lists tasks of %v", got)
	}
	var narrowed page
	both.get("/tasks/admin?page_size=2000&tenant_id="+t1, &narrowed)
	if got := tenantsOf(narrowed); len(got) != 1 || got[t1] != len(narrowed.Data) {
		t.Fatalf("tenant_id=%s on the admin list answered tasks of %v", t1, got)
	}
	for _, task := range both.lease("/tasks?page_size=5&tenant_id=" + t0) {
		if task.TenantID != t0 {
			t.Fatalf("tenant_id=%s on GET /tasks leased a task of %s", t0, task.TenantID)
		}
	}
	for _, path := range []string{"/tasks?tenant_id=" + t2, "/tasks/admin?tenant_id=" + t2} {
		both.wantError(http.MethodGet, path, nil, 403, "forbidden")
	}
	one.wantError(http.MethodGet, "/tasks/admin?tenant_id="+t1, nil, 403, "forbidden")
	// An OAuth2 client has one tenant: its own tenant_id is fine, another is 403.
	oa := newAPI(t, env, 0)
	oa.get("/tasks/admin?tenant_id="+t0, &narrowed)
	oa.wantError(http.MethodGet, "/tasks/admin?tenant_id="+t1, nil, 403, "forbidden")
}

// Tokens the server must refuse: expired, naming a tenant it does not have,
// signed by another store's issuer.
func TestLTITokensRefused(t *testing.T) {
	env := referencetest.Start(t, referencetest.WithTenants(1))
	ctx := context.Background()
	expired := &api{t: t, env: env, token: env.LTIToken(t, 0)}
	env.Clock.Advance(time.Hour + 2*time.Minute) // past exp and the 30s leeway
	expired.wantError(http.MethodGet, "/rostering/orgs", nil, 401, "unauthorized")

	stranger, err := env.LTI.Mint(ctx, []uuid.UUID{uuid.New()}, time.Hour, "")
	if err != nil {
		t.Fatal(err)
	}
	(&api{t: t, env: env, token: stranger.Token}).wantError(http.MethodGet, "/rostering/orgs", nil, 401, "unauthorized")

	other, err := reference.OpenStore(ctx, filepath.Join(t.TempDir(), "other.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	forged, err := lti.New(other, lti.WithClock(env.Clock.Now)).Mint(ctx, []uuid.UUID{env.Tenants[0].ID}, time.Hour, "")
	if err != nil {
		t.Fatal(err)
	}
	(&api{t: t, env: env, token: forged.Token}).wantError(http.MethodGet, "/rostering/orgs", nil, 401, "unauthorized")
	// The same claims from the server's own issuer are accepted.
	var p page
	newAPIAs(t, env, ltiCredential, 0).get("/rostering/orgs", &p)
}

// After a rotation a token signed with the previous key stays valid until
// it expires, new tokens are signed with the new key, and the JWKS publishes
// both until the previous key can sign no valid token.
func TestLTIKeyRotation(t *testing.T) {
	env := referencetest.Start(t, referencetest.WithTenants(1))
	ctx := context.Background()
	old, err := env.LTI.Mint(ctx, []uuid.UUID{env.Tenants[0].ID}, lti.MaxTTL, "")
	if err != nil {
		t.Fatal(err)
	}
	env.Clock.Advance(time.Hour)
	// Another process on the store (interop tenant lti-key rotate) rotates.
	next, err := lti.New(env.Store, lti.WithClock(env.Clock.Now)).Rotate(ctx)
	if err != nil || next == old.KeyID {
		t.Fatalf("rotate = %q, %v (old key %s)", next, err, old.KeyID)
	}
	fresh, err := env.LTI.Mint(ctx, []uuid.UUID{env.Tenants[0].ID}, time.Hour, "")
	if err != nil || fresh.KeyID != next {
		t.Fatalf("a token minted after the rotation is signed with %q (%v), want %q", fresh.KeyID, err, next)
	}
	var p page
	for _, tok := range []string{fresh.Token, old.Token} {
		(&api{t: t, env: env, token: tok}).get("/rostering/orgs", &p)
	}
	if kids := jwksKids(t, env); len(kids) != 2 || !kids[old.KeyID] || !kids[next] {
		t.Fatalf("JWKS after the rotation holds %v, want %s and %s", kids, old.KeyID, next)
	}
	// The old token expires 24h after it was minted; its key is published
	// until no token it signed can be valid, then dropped.
	env.Clock.Advance(lti.MaxTTL - time.Hour + time.Minute)
	(&api{t: t, env: env, token: old.Token}).wantError(http.MethodGet, "/rostering/orgs", nil, 401, "unauthorized")
	env.Clock.Advance(time.Hour)
	if kids := jwksKids(t, env); len(kids) != 1 || !kids[next] {
		t.Fatalf("JWKS a day after the rotation holds %v, want only %s", kids, next)
	}
}

func jwksKids(t *testing.T, env *referencetest.Env) map[string]bool {
	t.Helper()
	resp, err := http.Get(env.Root + lti.JWKSPath)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var doc struct {
		Keys []struct {
			Kid, Kty, Crv, Alg string
		} `json:"keys"`
	}
	if resp.StatusCode != 200 || json.Unmarshal(b, &doc) != nil {
		t.Fatalf("GET %s = %d %s", lti.JWKSPath, resp.StatusCode, b)
	}
	out := map[string]bool{}
	for _, k := range doc.Keys {
		if k.Kty != "EC" || k.Crv != "P-256" || k.Alg != "ES256" {
			t.Errorf("JWKS key %+v", k)
		}
		out[k.Kid] = true
	}
	return out
}

// Rate limits count by tenant whichever credential it uses: an OAuth2 and an
// LTI caller of one tenant draw on one bucket, another tenant's on its own.
func TestLTIRateLimitedByTenant(t *testing.T) {
	env := referencetest.Start(t, referencetest.WithServerOptions(server.WithRateLimit(server.RateLimit{PerSecond: 0.001, Burst: 2})))
	oa, lt := newAPI(t, env, 0), newAPIAs(t, env, ltiCredential, 0)
	var p page
	oa.get("/rostering/orgs", &p)
	lt.get("/rostering/orgs", &p)
	lt.wantError(http.MethodGet, "/rostering/orgs", nil, 429, "rate_limited")
	oa.wantError(http.MethodGet, "/rostering/orgs", nil, 429, "rate_limited")
	newAPIAs(t, env, ltiCredential, 1).get("/rostering/orgs", &p)
}
