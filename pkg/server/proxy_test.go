package server_test

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"testing"

	"github.com/interop-data/interop/gen/apiserver"
	"github.com/interop-data/interop/pkg/server"
	"github.com/interop-data/interop/pkg/server/auth"
)

// Issue 20, item 7: trusting forwarded headers from every loopback or
// private peer let any client pick its address with X-Forwarded-For, and so
// get a fresh token-endpoint bucket per request (60 of 60 allowed). Only a
// named proxy's header is believed now.
func TestSpoofedForwardedForDoesNotBypassTheTokenLimit(t *testing.T) {
	t.Parallel()
	e := limitedEnv(t, 1, 2, server.WithTrustedProxies("10.0.0.0/8"))
	limited := 0
	for i := range 20 {
		// An attacker connecting from an address that is no proxy, though
		// private, naming a new client address each time.
		rec := e.do("POST", "/oauth/token", "", "Authorization", "", "RemoteAddr", "192.168.1.9:40000",
			"X-Forwarded-For", "203.0.113."+strconv.Itoa(i))
		if rec.Code == http.StatusTooManyRequests {
			limited++
		}
	}
	if limited != 18 {
		t.Errorf("%d of 20 spoofed requests limited, want 18 (burst 2)", limited)
	}
	// Through the named proxy, clients are told apart by what it appends.
	for i := range 3 {
		rec := e.do("POST", "/oauth/token", "", "Authorization", "", "RemoteAddr", "10.1.2.3:40000",
			"X-Forwarded-For", "198.51.100."+strconv.Itoa(i))
		if rec.Code == http.StatusTooManyRequests {
			t.Errorf("client %d behind the proxy shares a bucket", i)
		}
	}
	// What a client writes itself is left of what the proxy appends: it
	// cannot escape its bucket by prepending addresses.
	for i := range 2 {
		e.do("POST", "/oauth/token", "", "Authorization", "", "RemoteAddr", "10.1.2.3:40000",
			"X-Forwarded-For", "203.0.113."+strconv.Itoa(100+i)+", 198.51.100.50")
	}
	want429Token(t, e.do("POST", "/oauth/token", "", "Authorization", "", "RemoteAddr", "10.1.2.3:40000",
		"X-Forwarded-For", "203.0.113.200, 198.51.100.50"), 1)
}

// A forwarded host reaches paging links only when it is on the allow list,
// and only from a named proxy; forwarded headers from anyone else are
// ignored whatever they say.
func TestForwardedHostNeverReachesLinksUnlessAllowed(t *testing.T) {
	t.Parallel()
	var got string
	f := &fake{listPersons: func(ctx context.Context, _ apiserver.ListPersonsRequestObject) (apiserver.ListPersonsResponseObject, error) {
		got = server.RequestURL(ctx).Host
		return personsPage(0), nil
	}}
	for _, c := range []struct {
		name   string
		opts   []server.Option
		remote string
		want   string
	}{
		{"named proxy, no allow list", []server.Option{server.WithTrustedProxies("10.0.0.0/8")}, "10.9.9.9:1", "10.0.0.5:8080"},
		{"named proxy, host not allowed", []server.Option{server.WithTrustedProxies("10.0.0.0/8"), server.WithAllowedHosts("api.example.org")}, "10.9.9.9:1", "10.0.0.5:8080"},
		{"other peer, host allowed", []server.Option{server.WithTrustedProxies("10.0.0.0/8"), server.WithAllowedHosts("evil.example")}, "192.168.0.1:1", "10.0.0.5:8080"},
		{"named proxy, host allowed", []server.Option{server.WithTrustedProxies("10.0.0.0/8"), server.WithAllowedHosts("evil.example")}, "10.9.9.9:1", "evil.example"},
	} {
		got = ""
		newEnv(t, f, c.opts...).do("GET", base+"/rostering/persons", "", "LocalAddr", "10.0.0.5:8080", "RemoteAddr", c.remote,
			"X-Forwarded-Host", "evil.example")
		if got != c.want {
			t.Errorf("%s: link host %q, want %q", c.name, got, c.want)
		}
	}
}

// Trust names its proxies: New refuses trust without them, and entries
// that are neither an address nor a prefix.
func TestTrustedProxiesConfig(t *testing.T) {
	t.Parallel()
	authn := server.WithAuthenticator(auth.NewOAuth2(auth.NewMemoryClientStore(), auth.NewMemoryTokenStore()))
	for _, c := range []struct {
		name string
		opts []server.Option
		ok   bool
	}{
		{"trust without proxies", []server.Option{server.WithTrustProxyHeaders(true)}, false},
		{"bad prefix", []server.Option{server.WithTrustedProxies("10.0.0.0/33")}, false},
		{"host name", []server.Option{server.WithTrustedProxies("proxy.internal")}, false},
		{"prefixes and addresses", []server.Option{server.WithTrustedProxies("10.0.0.0/8", "192.0.2.7", "::1", "fd00::/8")}, true},
		{"turned off again", []server.Option{server.WithTrustProxyHeaders(true), server.WithTrustProxyHeaders(false)}, true},
	} {
		_, err := server.New(&fake{}, append([]server.Option{authn}, c.opts...)...)
		var ce *server.ConfigError
		if c.ok != (err == nil) || (err != nil && !errors.As(err, &ce)) {
			t.Errorf("%s: %v", c.name, err)
		}
	}
}
