package auth_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/interop-data/interop/pkg/server/auth"
)

func TestHashSecretRoundTrip(t *testing.T) {
	h := auth.HashSecret("s3cret")
	if strings.Contains(h, "s3cret") {
		t.Fatal("hash contains the secret")
	}
	if !auth.VerifySecret(h, "s3cret") {
		t.Fatal("right secret rejected")
	}
	for _, wrong := range []string{"", "s3cre", "s3cret ", "S3cret"} {
		if auth.VerifySecret(h, wrong) {
			t.Errorf("wrong secret %q accepted", wrong)
		}
	}
	if auth.HashSecret("s3cret") == h {
		t.Error("two hashes of one secret are equal: no salt")
	}
}

func TestVerifySecretRejectsMalformedHashes(t *testing.T) {
	for _, h := range []string{"", "s3cret", "sha256$", "sha256$zz$00", "sha256$00$abcd", "md5$00$" + strings.Repeat("0", 64)} {
		if auth.VerifySecret(h, "s3cret") || auth.VerifySecret(h, "") {
			t.Errorf("malformed hash %q matched", h)
		}
	}
}

func TestNewSecretIsRandom(t *testing.T) {
	a, b := auth.NewSecret(), auth.NewSecret()
	if a == b || len(a) != 43 {
		t.Fatalf("%q %q", a, b)
	}
}

func TestBearerToken(t *testing.T) {
	for _, tc := range []struct {
		header []string
		want   string
		err    error
	}{
		{nil, "", auth.ErrMissingToken},
		{[]string{"Bearer abc.def-_~+/=="}, "abc.def-_~+/==", nil},
		{[]string{"bearer abc"}, "abc", nil},
		{[]string{"Bearer"}, "", auth.ErrInvalidToken},
		{[]string{"Bearer "}, "", auth.ErrInvalidToken},
		{[]string{"Basic abc"}, "", auth.ErrInvalidToken},
		{[]string{"Bearer a b"}, "", auth.ErrInvalidToken},
		{[]string{"Bearer =abc"}, "", auth.ErrInvalidToken},
		{[]string{"Bearer a", "Bearer b"}, "", auth.ErrInvalidToken},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		for _, h := range tc.header {
			r.Header.Add("Authorization", h)
		}
		got, err := auth.BearerToken(r)
		if got != tc.want || !errors.Is(err, tc.err) {
			t.Errorf("%q: got %q, %v; want %q, %v", tc.header, got, err, tc.want, tc.err)
		}
	}
}

func TestPrincipalContext(t *testing.T) {
	if _, ok := auth.PrincipalFrom(context.Background()); ok {
		t.Fatal("principal in empty context")
	}
	p := auth.Principal{TenantIDs: []uuid.UUID{uuid.New()}, ClientID: "c", Subject: "s", Method: auth.MethodOAuth2}
	got, ok := auth.PrincipalFrom(auth.WithPrincipal(context.Background(), p))
	if !ok || got.ClientID != "c" || !got.HasTenant(p.TenantIDs[0]) || got.HasTenant(uuid.New()) {
		t.Fatalf("%+v %v", got, ok)
	}
}

func fixed(p auth.Principal, err error) auth.Authenticator {
	return auth.AuthenticatorFunc(func(*http.Request) (auth.Principal, error) { return p, err })
}

func TestChain(t *testing.T) {
	r := httptest.NewRequest("GET", "/", nil)
	ok := auth.Principal{Subject: "second"}
	p, err := auth.Chain(fixed(auth.Principal{}, auth.ErrInvalidToken), fixed(ok, nil)).Authenticate(r)
	if err != nil || p.Subject != "second" {
		t.Fatalf("chain did not fall through: %+v %v", p, err)
	}
	_, err = auth.Chain(fixed(auth.Principal{}, auth.ErrExpiredToken), fixed(auth.Principal{}, auth.ErrInvalidToken)).Authenticate(r)
	if !errors.Is(err, auth.ErrExpiredToken) {
		t.Errorf("chain error = %v, want the expired one", err)
	}
	_, err = auth.Chain(fixed(auth.Principal{}, auth.ErrMissingToken), fixed(auth.Principal{}, auth.ErrInvalidToken)).Authenticate(r)
	if !errors.Is(err, auth.ErrInvalidToken) {
		t.Errorf("chain error = %v, want the invalid one", err)
	}
	// An outage outranks a verdict: the authenticator that failed might have accepted.
	_, err = auth.Chain(fixed(auth.Principal{}, auth.ErrUnavailable), fixed(auth.Principal{}, auth.ErrExpiredToken)).Authenticate(r)
	if !errors.Is(err, auth.ErrUnavailable) {
		t.Errorf("chain error = %v, want the outage", err)
	}
	if _, err := auth.Chain().Authenticate(r); !errors.Is(err, auth.ErrMissingToken) {
		t.Errorf("empty chain: %v", err)
	}
}

func TestMemoryTokenStore(t *testing.T) {
	s := auth.NewMemoryTokenStore()
	ctx := context.Background()
	exp := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := s.SaveToken(ctx, "h1", auth.Principal{ClientID: "c"}, exp); err != nil {
		t.Fatal(err)
	}
	p, e, err := s.LookupToken(ctx, "h1")
	if err != nil || p.ClientID != "c" || !e.Equal(exp) {
		t.Fatalf("%+v %v %v", p, e, err)
	}
	if _, _, err := s.LookupToken(ctx, "h2"); !errors.Is(err, auth.ErrUnknownToken) {
		t.Fatalf("unknown: %v", err)
	}
}

func TestMemoryTokenStoreSweepsExpired(t *testing.T) {
	s := auth.NewMemoryTokenStore()
	ctx := context.Background()
	old := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	_ = s.SaveToken(ctx, "old", auth.Principal{}, old)
	for i := 0; i < 300; i++ {
		_ = s.SaveToken(ctx, "new"+string(rune('a'+i%26))+time.Duration(i).String(), auth.Principal{}, old.AddDate(1, 0, 0))
	}
	if _, _, err := s.LookupToken(ctx, "old"); !errors.Is(err, auth.ErrUnknownToken) {
		t.Fatalf("a token expired a year ago is still kept: %v", err)
	}
}
