package auth_test

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/interop-data/interop/pkg/server/auth"
)

const creds = "grant_type=client_credentials&client_id=client-1&client_secret=secret-1"

// By default one client gets DefaultTokenLimit.PerMinute tokens a minute,
// then 429 temporarily_unavailable with Retry-After until the minute has
// passed; other clients are not affected. Without a limit it was about
// 1,800 tokens a second, each kept 25 hours.
func TestTokenLimitPerMinuteByDefault(t *testing.T) {
	t.Parallel()
	e := newOAuth(t)
	for i := range auth.DefaultTokenLimit.PerMinute {
		if rec := e.post(t, tokenReq{body: creds}); rec.Code != http.StatusOK {
			t.Fatalf("token %d = %d %s", i, rec.Code, rec.Body)
		}
		e.clock.Advance(time.Second)
	}
	rec := e.post(t, tokenReq{body: creds})
	wantTokenError(t, rec, http.StatusTooManyRequests, "temporarily_unavailable")
	// The first token leaves the minute 60-19 s from now.
	if ra := rec.Header().Get("Retry-After"); ra != strconv.Itoa(60-auth.DefaultTokenLimit.PerMinute) {
		t.Errorf("Retry-After = %q, want %d", ra, 60-auth.DefaultTokenLimit.PerMinute)
	}
	if rec := e.post(t, tokenReq{basic: [2]string{"we!rd:id", "p@ss:w%rd"}, body: "grant_type=client_credentials"}); rec.Code != http.StatusOK {
		t.Fatalf("another client = %d %s", rec.Code, rec.Body)
	}
	e.clock.Advance(time.Duration(60-auth.DefaultTokenLimit.PerMinute) * time.Second)
	if rec := e.post(t, tokenReq{body: creds}); rec.Code != http.StatusOK {
		t.Fatalf("after Retry-After = %d %s", rec.Code, rec.Body)
	}
}

// The live cap holds however slowly the tokens are asked for, until the
// oldest expires.
func TestTokenLimitLive(t *testing.T) {
	t.Parallel()
	e := newOAuth(t, auth.WithTokenTTL(time.Hour), auth.WithTokenLimit(auth.TokenLimit{Live: 3}))
	for i := range 3 {
		if rec := e.post(t, tokenReq{body: creds}); rec.Code != http.StatusOK {
			t.Fatalf("token %d = %d %s", i, rec.Code, rec.Body)
		}
		e.clock.Advance(10 * time.Minute)
	}
	rec := e.post(t, tokenReq{body: creds})
	wantTokenError(t, rec, http.StatusTooManyRequests, "temporarily_unavailable")
	if ra := rec.Header().Get("Retry-After"); ra != "1800" {
		t.Errorf("Retry-After = %q, want 1800 (the first token expires in 30 minutes)", ra)
	}
	e.clock.Advance(30 * time.Minute)
	if rec := e.post(t, tokenReq{body: creds}); rec.Code != http.StatusOK {
		t.Fatalf("after the first expired = %d %s", rec.Code, rec.Body)
	}
	// IssueToken is bounded too: it is what the endpoint calls.
	_, _, err := e.o.IssueToken(context.Background(), auth.Client{ID: "client-1", TenantID: tenant})
	var qe *auth.QuotaError
	if !errors.As(err, &qe) {
		t.Fatalf("IssueToken past the cap = %v, want a QuotaError", err)
	}
}

// TokenLimit{} turns the limits off.
func TestTokenLimitOff(t *testing.T) {
	t.Parallel()
	e := newOAuth(t, auth.WithTokenLimit(auth.TokenLimit{}))
	for i := range 3 * auth.DefaultTokenLimit.PerMinute {
		if rec := e.post(t, tokenReq{body: creds}); rec.Code != http.StatusOK {
			t.Fatalf("token %d = %d %s", i, rec.Code, rec.Body)
		}
	}
}

// A TokenCache in front of the store keeps the store's quotas: the reference
// server puts one there by default, and a cache that only had SaveToken made
// OAuth2 skip the limits altogether.
func TestTokenLimitThroughTokenCache(t *testing.T) {
	t.Parallel()
	cache := auth.NewTokenCache(auth.NewMemoryTokenStore())
	if _, ok := any(cache).(auth.QuotaTokenStore); !ok {
		t.Fatal("TokenCache is not a QuotaTokenStore: quotas behind it are lost")
	}
	o := auth.NewOAuth2(auth.NewMemoryClientStore(), cache, auth.WithTokenLimit(auth.TokenLimit{Live: 2}))
	c := auth.Client{ID: "client-1", TenantID: tenant}
	for i := range 2 {
		if _, _, err := o.IssueToken(context.Background(), c); err != nil {
			t.Fatalf("token %d: %v", i, err)
		}
	}
	_, _, err := o.IssueToken(context.Background(), c)
	var qe *auth.QuotaError
	if !errors.As(err, &qe) {
		t.Fatalf("third token through the cache = %v, want a QuotaError", err)
	}
}
