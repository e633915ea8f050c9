package auth_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/interop-data/interop/internal/fakeclock"
	"github.com/interop-data/interop/pkg/server/auth"
)

const (
	iss = "https://platform.example"
	aud = "tool-client"
)

var (
	rsaKey, otherRSAKey *rsa.PrivateKey
	ecKey               *ecdsa.PrivateKey
)

func init() {
	rsaKey, _ = rsa.GenerateKey(rand.Reader, 2048)
	otherRSAKey, _ = rsa.GenerateKey(rand.Reader, 2048)
	ecKey, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func rsaJWK(kid string, k *rsa.PublicKey) map[string]string {
	return map[string]string{"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256", "n": b64(k.N.Bytes()), "e": b64(big.NewInt(int64(k.E)).Bytes())}
}

func ecJWK(kid string, k *ecdsa.PublicKey) map[string]string {
	raw, _ := k.Bytes() // 0x04 || X || Y
	return map[string]string{"kty": "EC", "kid": kid, "crv": "P-256", "x": b64(raw[1:33]), "y": b64(raw[33:])}
}

func jwks(keys ...map[string]string) []byte {
	b, _ := json.Marshal(map[string]any{"keys": keys})
	return b
}

func claims(clk *fakeclock.Clock, extra map[string]any) jwt.MapClaims {
	c := jwt.MapClaims{
		"iss": iss, "aud": aud, "sub": "user-42", "azp": aud,
		"iat": clk.Now().Unix(), "exp": clk.Now().Add(time.Hour).Unix(),
		"tenant_id": tenant.String(),
	}
	for k, v := range extra {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	return c
}

func sign(t *testing.T, m jwt.SigningMethod, key any, kid string, c jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(m, c)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func newLTI(t *testing.T, clk *fakeclock.Clock, mod func(*auth.LTIJWTConfig)) *auth.LTIJWT {
	t.Helper()
	cfg := auth.LTIJWTConfig{Issuer: iss, Audience: aud, JWKS: jwks(rsaJWK("r1", &rsaKey.PublicKey), ecJWK("e1", &ecKey.PublicKey)), Clock: clk.Now}
	if mod != nil {
		mod(&cfg)
	}
	a, err := auth.NewLTIJWT(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestLTIAcceptsRS256(t *testing.T) {
	clk := newClock()
	p, err := newLTI(t, clk, nil).Authenticate(bearer(sign(t, jwt.SigningMethodRS256, rsaKey, "r1", claims(clk, nil))))
	if err != nil {
		t.Fatal(err)
	}
	if p.Method != auth.MethodLTIJWT || p.Subject != "user-42" || p.ClientID != aud || len(p.TenantIDs) != 1 || p.TenantIDs[0] != tenant {
		t.Fatalf("%+v", p)
	}
}

func TestLTIAcceptsES256(t *testing.T) {
	clk := newClock()
	if _, err := newLTI(t, clk, nil).Authenticate(bearer(sign(t, jwt.SigningMethodES256, ecKey, "e1", claims(clk, nil)))); err != nil {
		t.Fatal(err)
	}
}

func TestLTIAcceptsTokenWithoutKid(t *testing.T) {
	clk := newClock()
	if _, err := newLTI(t, clk, nil).Authenticate(bearer(sign(t, jwt.SigningMethodRS256, rsaKey, "", claims(clk, nil)))); err != nil {
		t.Fatal(err)
	}
}

func wantInvalid(t *testing.T, err error, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("err = %v, want %v", err, want)
	}
}

func TestLTIRejectsWrongKey(t *testing.T) {
	clk := newClock()
	_, err := newLTI(t, clk, nil).Authenticate(bearer(sign(t, jwt.SigningMethodRS256, otherRSAKey, "r1", claims(clk, nil))))
	wantInvalid(t, err, auth.ErrInvalidToken)
}

func TestLTIRejectsAlgNone(t *testing.T) {
	clk := newClock()
	tok := sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, "r1", claims(clk, nil))
	_, err := newLTI(t, clk, nil).Authenticate(bearer(tok))
	wantInvalid(t, err, auth.ErrInvalidToken)
}

func TestLTIRejectsHS256WithPublicKey(t *testing.T) {
	clk := newClock()
	// The classic confusion: HMAC keyed with the RSA public key the
	// attacker can download from the JWKS.
	der, _ := x509.MarshalPKIXPublicKey(&rsaKey.PublicKey)
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	for _, secret := range [][]byte{pemKey, der, rsaKey.N.Bytes()} {
		_, err := newLTI(t, clk, nil).Authenticate(bearer(sign(t, jwt.SigningMethodHS256, secret, "r1", claims(clk, nil))))
		wantInvalid(t, err, auth.ErrInvalidToken)
	}
}

func TestLTIRejectsAlgKeyMismatch(t *testing.T) {
	clk := newClock()
	// ES256 header naming the RSA key's kid: no key of the right type.
	_, err := newLTI(t, clk, nil).Authenticate(bearer(sign(t, jwt.SigningMethodES256, ecKey, "r1", claims(clk, nil))))
	wantInvalid(t, err, auth.ErrInvalidToken)
}

func TestLTIRejectsRS384(t *testing.T) {
	clk := newClock()
	_, err := newLTI(t, clk, nil).Authenticate(bearer(sign(t, jwt.SigningMethodRS384, rsaKey, "r1", claims(clk, nil))))
	wantInvalid(t, err, auth.ErrInvalidToken)
}

func TestLTIRejectsExpired(t *testing.T) {
	clk := newClock()
	a := newLTI(t, clk, nil)
	tok := sign(t, jwt.SigningMethodRS256, rsaKey, "r1", claims(clk, map[string]any{"exp": clk.Now().Add(time.Minute).Unix()}))
	clk.Advance(time.Minute + auth.DefaultLeeway - time.Second)
	if _, err := a.Authenticate(bearer(tok)); err != nil {
		t.Fatalf("rejected within the leeway: %v", err)
	}
	clk.Advance(2 * time.Second)
	_, err := a.Authenticate(bearer(tok))
	wantInvalid(t, err, auth.ErrExpiredToken)
}

func TestLTIRequiresExp(t *testing.T) {
	clk := newClock()
	_, err := newLTI(t, clk, nil).Authenticate(bearer(sign(t, jwt.SigningMethodRS256, rsaKey, "r1", claims(clk, map[string]any{"exp": nil}))))
	wantInvalid(t, err, auth.ErrInvalidToken)
}

func TestLTIRejectsNotYetValid(t *testing.T) {
	clk := newClock()
	_, err := newLTI(t, clk, nil).Authenticate(bearer(sign(t, jwt.SigningMethodRS256, rsaKey, "r1", claims(clk, map[string]any{"nbf": clk.Now().Add(5 * time.Minute).Unix()}))))
	wantInvalid(t, err, auth.ErrExpiredToken)
}

func TestLTIRejectsIssuedInFuture(t *testing.T) {
	clk := newClock()
	_, err := newLTI(t, clk, nil).Authenticate(bearer(sign(t, jwt.SigningMethodRS256, rsaKey, "r1", claims(clk, map[string]any{"iat": clk.Now().Add(5 * time.Minute).Unix()}))))
	if err == nil {
		t.Fatal("iat in the future accepted")
	}
}

func TestLTIRequiresIat(t *testing.T) {
	clk := newClock()
	_, err := newLTI(t, clk, nil).Authenticate(bearer(sign(t, jwt.SigningMethodRS256, rsaKey, "r1", claims(clk, map[string]any{"iat": nil}))))
	wantInvalid(t, err, auth.ErrInvalidToken)
}

func TestLTIRejectsWrongIssuer(t *testing.T) {
	clk := newClock()
	_, err := newLTI(t, clk, nil).Authenticate(bearer(sign(t, jwt.SigningMethodRS256, rsaKey, "r1", claims(clk, map[string]any{"iss": "https://evil.example"}))))
	wantInvalid(t, err, auth.ErrInvalidToken)
}

func TestLTIRejectsWrongAudience(t *testing.T) {
	clk := newClock()
	_, err := newLTI(t, clk, nil).Authenticate(bearer(sign(t, jwt.SigningMethodRS256, rsaKey, "r1", claims(clk, map[string]any{"aud": []string{"someone-else"}}))))
	wantInvalid(t, err, auth.ErrInvalidToken)
}

func TestLTITenantClaim(t *testing.T) {
	clk := newClock()
	second := uuid.New()
	for _, tc := range []struct {
		name  string
		value any
		want  int // tenants; 0 = rejected
	}{
		{"string", tenant.String(), 1},
		{"array", []string{tenant.String(), second.String()}, 2},
		{"missing", nil, 0},
		{"empty array", []string{}, 0},
		{"not a uuid", "district-9", 0},
		{"nil uuid", uuid.Nil.String(), 0},
		{"number", 42, 0},
		{"mixed array", []any{tenant.String(), 7}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := claims(clk, nil)
			delete(c, "tenant_id")
			if tc.value != nil {
				c["tenant_id"] = tc.value
			}
			p, err := newLTI(t, clk, nil).Authenticate(bearer(sign(t, jwt.SigningMethodRS256, rsaKey, "r1", c)))
			if tc.want == 0 {
				wantInvalid(t, err, auth.ErrInvalidToken)
				return
			}
			if err != nil || len(p.TenantIDs) != tc.want {
				t.Fatalf("%+v %v", p, err)
			}
		})
	}
}

func TestLTICustomTenantClaim(t *testing.T) {
	clk := newClock()
	a := newLTI(t, clk, func(c *auth.LTIJWTConfig) { c.TenantClaim = "https://interop.example/tenant" })
	c := claims(clk, map[string]any{"tenant_id": nil, "https://interop.example/tenant": tenant.String()})
	p, err := a.Authenticate(bearer(sign(t, jwt.SigningMethodRS256, rsaKey, "r1", c)))
	if err != nil || p.TenantIDs[0] != tenant {
		t.Fatalf("%+v %v", p, err)
	}
}

func TestLTIJWKSFile(t *testing.T) {
	clk := newClock()
	path := filepath.Join(t.TempDir(), "jwks.json")
	if err := os.WriteFile(path, jwks(rsaJWK("r1", &rsaKey.PublicKey)), 0o600); err != nil {
		t.Fatal(err)
	}
	a := newLTI(t, clk, func(c *auth.LTIJWTConfig) { c.JWKS, c.JWKSFile = nil, path })
	if _, err := a.Authenticate(bearer(sign(t, jwt.SigningMethodRS256, rsaKey, "r1", claims(clk, nil)))); err != nil {
		t.Fatal(err)
	}
}

func TestLTIJWKSURLIsCachedAndRefetchedOnRotation(t *testing.T) {
	clk := newClock()
	var fetches atomic.Int32
	var current atomic.Value
	current.Store(jwks(rsaJWK("r1", &rsaKey.PublicKey)))
	served := make(chan struct{}, 10)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetches.Add(1)
		_, _ = w.Write(current.Load().([]byte))
		served <- struct{}{}
	}))
	defer ts.Close()
	a := newLTI(t, clk, func(c *auth.LTIJWTConfig) { c.JWKS, c.JWKSURL = nil, ts.URL })

	for i := 0; i < 3; i++ {
		if _, err := a.Authenticate(bearer(sign(t, jwt.SigningMethodRS256, rsaKey, "r1", claims(clk, nil)))); err != nil {
			t.Fatal(err)
		}
	}
	if n := fetches.Load(); n != 1 {
		t.Fatalf("fetched %d times for 3 tokens, want 1", n)
	}
	// The platform rotates to a new key: the unknown kid triggers a refetch.
	current.Store(jwks(rsaJWK("r1", &rsaKey.PublicKey), rsaJWK("r2", &otherRSAKey.PublicKey)))
	clk.Advance(time.Minute)
	if _, err := a.Authenticate(bearer(sign(t, jwt.SigningMethodRS256, otherRSAKey, "r2", claims(clk, nil)))); err != nil {
		t.Fatalf("rotated key: %v", err)
	}
	if n := fetches.Load(); n != 2 {
		t.Fatalf("fetches = %d, want 2", n)
	}
	// Unknown kids do not hammer the platform: at most one refetch per 30s.
	for i := 0; i < 5; i++ {
		_, err := a.Authenticate(bearer(sign(t, jwt.SigningMethodRS256, otherRSAKey, "r9", claims(clk, nil))))
		wantInvalid(t, err, auth.ErrInvalidToken)
	}
	if n := fetches.Load(); n != 2 {
		t.Fatalf("fetches = %d after unknown kids, want 2", n)
	}
	// After the cache TTL the set is fetched again, beside the request,
	// which the stale set answers.
	<-served
	<-served
	clk.Advance(auth.DefaultJWKSCacheTTL)
	if _, err := a.Authenticate(bearer(sign(t, jwt.SigningMethodRS256, rsaKey, "r1", claims(clk, nil)))); err != nil {
		t.Fatal(err)
	}
	<-served
	if n := fetches.Load(); n != 3 {
		t.Fatalf("fetches = %d after TTL, want 3", n)
	}
}

func TestLTIJWKSURLDown(t *testing.T) {
	clk := newClock()
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { http.Error(w, "down", http.StatusServiceUnavailable) }))
	defer ts.Close()
	a := newLTI(t, clk, func(c *auth.LTIJWTConfig) { c.JWKS, c.JWKSURL = nil, ts.URL })
	_, err := a.Authenticate(bearer(sign(t, jwt.SigningMethodRS256, rsaKey, "r1", claims(clk, nil))))
	wantUnavailable(t, err)
}

func TestLTIConfigErrors(t *testing.T) {
	good := jwks(rsaJWK("r1", &rsaKey.PublicKey))
	small, _ := rsa.GenerateKey(rand.Reader, 1024)
	for name, cfg := range map[string]auth.LTIJWTConfig{
		"no issuer":       {Audience: aud, JWKS: good},
		"no audience":     {Issuer: iss, JWKS: good},
		"no keys":         {Issuer: iss, Audience: aud},
		"two sources":     {Issuer: iss, Audience: aud, JWKS: good, JWKSURL: "https://x"},
		"bad json":        {Issuer: iss, Audience: aud, JWKS: []byte("{")},
		"weak rsa only":   {Issuer: iss, Audience: aud, JWKS: jwks(rsaJWK("s", &small.PublicKey))},
		"enc keys only":   {Issuer: iss, Audience: aud, JWKS: []byte(`{"keys":[{"kty":"RSA","use":"enc","n":"AQAB","e":"AQAB"}]}`)},
		"missing file":    {Issuer: iss, Audience: aud, JWKSFile: "/nonexistent/jwks.json"},
		"off-curve point": {Issuer: iss, Audience: aud, JWKS: jwks(map[string]string{"kty": "EC", "crv": "P-256", "x": b64(make([]byte, 32)), "y": b64(make([]byte, 32))})},
	} {
		if _, err := auth.NewLTIJWT(cfg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
