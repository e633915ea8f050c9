package conformance_test

import (
	"context"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/interop-data/interop/pkg/conformance"
	"github.com/interop-data/interop/pkg/conformance/internal/fake"
)

// fakeTarget serves the in-package fake, optionally wrapped by a breakage.
func fakeTarget(t *testing.T, wrap func(h httpHandler) httpHandler) conformance.Config {
	t.Helper()
	f := fake.New(time.Minute)
	var h httpHandler = f.Handler()
	if wrap != nil {
		h = wrap(h)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return conformance.Config{
		BaseURL:  srv.URL + fake.BasePath,
		TokenURL: srv.URL + "/oauth/token",
		Clients: []conformance.Credentials{
			{ClientID: f.Clients[0].ID, ClientSecret: f.Clients[0].Secret},
			{ClientID: f.Clients[1].ID, ClientSecret: f.Clients[1].Secret},
		},
		LeaseWait: time.Minute,
		Wait:      func(_ context.Context, d time.Duration) error { f.Advance(d); return nil },
	}
}

func TestSuitePassesAgainstFake(t *testing.T) {
	cfg := fakeTarget(t, nil)
	rep, err := conformance.Run(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() || testing.Verbose() {
		_ = rep.WriteText(os.Stdout)
	}
	if !rep.OK() {
		t.Fatal("suite failed against the fake")
	}
}
