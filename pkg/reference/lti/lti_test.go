package lti_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/interop-data/interop/internal/fakeclock"
	"github.com/interop-data/interop/pkg/reference/lti"
	"github.com/interop-data/interop/pkg/reference/store"
	"github.com/interop-data/interop/pkg/reference/store/sqlite"
	"github.com/interop-data/interop/pkg/server/auth"
)

func openStore(t testing.TB) store.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "lti.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func authenticate(is *lti.Issuer, tok string) (auth.Principal, error) {
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Authorization", "Bearer "+tok)
	return is.Authenticate(r)
}

// A minted token names its tenants and is accepted until it expires; the
// lifetime is bounded.
func TestMintAndAuthenticate(t *testing.T) {
	clock := fakeclock.New(time.Date(2025, 11, 16, 12, 0, 0, 0, time.UTC))
	is := lti.New(openStore(t), lti.WithClock(clock.Now))
	ctx := context.Background()
	a, b := uuid.New(), uuid.New()
	tok, err := is.Mint(ctx, []uuid.UUID{a, b}, 10*time.Minute, "teacher-7")
	if err != nil {
		t.Fatal(err)
	}
	if !tok.ExpiresAt.Equal(clock.Now().Add(10*time.Minute)) || tok.Claims["iss"] != lti.IssuerName || tok.Claims["aud"] != lti.Audience {
		t.Fatalf("token %+v", tok)
	}
	p, err := authenticate(is, tok.Token)
	if err != nil || len(p.TenantIDs) != 2 || !p.HasTenant(a) || !p.HasTenant(b) || p.Subject != "teacher-7" || p.Method != auth.MethodLTIJWT {
		t.Fatalf("Authenticate = %+v, %v", p, err)
	}
	clock.Advance(11 * time.Minute)
	if _, err := authenticate(is, tok.Token); !errors.Is(err, auth.ErrExpiredToken) {
		t.Fatalf("expired token: %v, want ErrExpiredToken", err)
	}
	for _, ttl := range []time.Duration{-time.Second, lti.MaxTTL + time.Second} {
		if _, err := is.Mint(ctx, []uuid.UUID{a}, ttl, ""); !errors.Is(err, lti.ErrTTL) {
			t.Errorf("Mint with ttl %s: %v, want ErrTTL", ttl, err)
		}
	}
	if _, err := is.Mint(ctx, nil, 0, ""); !errors.Is(err, lti.ErrNoTenant) {
		t.Errorf("Mint of no tenant: %v, want ErrNoTenant", err)
	}
}

// Processes on one store share keys: a running issuer accepts at once a
// token signed with a key another process rotated to.
func TestRotationElsewhereIsSeen(t *testing.T) {
	st := openStore(t)
	ctx := context.Background()
	server, cli := lti.New(st, lti.WithKeyRefresh(time.Hour, 0)), lti.New(st)
	first, err := server.Ensure(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := authenticate(server, "x.y.z"); !errors.Is(err, auth.ErrInvalidToken) { // loads the keys
		t.Fatalf("garbage: %v", err)
	}
	next, err := cli.Rotate(ctx)
	if err != nil || next == first {
		t.Fatalf("Rotate = %q, %v", next, err)
	}
	tok, err := cli.Mint(ctx, []uuid.UUID{uuid.New()}, time.Hour, "")
	if err != nil || tok.KeyID != next {
		t.Fatalf("Mint after rotation: %+v, %v", tok, err)
	}
	if _, err := authenticate(server, tok.Token); err != nil {
		t.Fatalf("a token of the rotated key: %v", err)
	}
}

// Authenticate never panics and answers only the kit's errors, whatever
// the bearer token holds (its header is parsed for the kid before any
// signature is checked).
func FuzzAuthenticate(f *testing.F) {
	st := openStore(f)
	is := lti.New(st)
	tok, err := is.Mint(context.Background(), []uuid.UUID{uuid.New()}, time.Hour, "")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(tok.Token)
	f.Add(strings.SplitN(tok.Token, ".", 2)[0] + ".e30.")
	f.Add("eyJraWQiOjF9.e30.x")
	f.Fuzz(func(t *testing.T, s string) {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Authorization", "Bearer "+s)
		p, err := is.Authenticate(r)
		if err == nil {
			if s != tok.Token || len(p.TenantIDs) != 1 {
				t.Fatalf("accepted %q as %+v", s, p)
			}
			return
		}
		if !errors.Is(err, auth.ErrInvalidToken) && !errors.Is(err, auth.ErrMissingToken) && !errors.Is(err, auth.ErrExpiredToken) {
			t.Fatalf("%q: %v", s, err)
		}
	})
}
