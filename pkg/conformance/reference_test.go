package conformance_test

import (
	"context"
	"testing"
	"time"

	"github.com/interop-data/interop/pkg/conformance"
	"github.com/interop-data/interop/pkg/reference/referencetest"
)

func init() { targets["reference"] = referenceTarget }

// referenceTarget is our reference server (two tenants, each with its own
// small district) as a handler, so that breakages can wrap it.
func referenceTarget(t testing.TB) *target {
	t.Helper()
	env := referencetest.Start(t, referencetest.WithTaskLease(time.Minute))
	return &target{
		inner: env.Server.Config.Handler,
		base:  "/v2/interop/data",
		clients: [2]conformance.Credentials{
			{ClientID: env.Tenants[0].ClientID, ClientSecret: env.Tenants[0].ClientSecret},
			{ClientID: env.Tenants[1].ClientID, ClientSecret: env.Tenants[1].ClientSecret},
		},
		advance:  env.Clock.Advance,
		lease:    time.Minute,
		tokenURL: "/oauth/token",
		ltiToken: env.LTIToken(t, 0),
	}
}

// TestReferenceConforms is how another project runs the suite from go test:
// RunT against a running server, one subtest per check.
func TestReferenceConforms(t *testing.T) {
	env := referencetest.Start(t, referencetest.WithTaskLease(30*time.Second))
	conformance.RunT(t, conformance.Config{
		BaseURL:  env.URL,
		TokenURL: env.TokenURL,
		Clients: []conformance.Credentials{
			{ClientID: env.Tenants[0].ClientID, ClientSecret: env.Tenants[0].ClientSecret},
			{ClientID: env.Tenants[1].ClientID, ClientSecret: env.Tenants[1].ClientSecret},
		},
		LTIToken:  env.LTIToken(t, 0),
		LeaseWait: 30 * time.Second,
		Wait: func(_ context.Context, d time.Duration) error {
			env.Clock.Advance(d)
			return nil
		},
	})
}
