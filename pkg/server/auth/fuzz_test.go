package auth_test

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/interop-data/interop/internal/fakeclock"
	"github.com/interop-data/interop/pkg/server/auth"
)

// FuzzTokenRequest sends the token endpoint an arbitrary form body,
// Authorization header and Content-Type. Properties: no panic; the answer is
// 200 with a bearer token or an RFC 6749 §5.2 error (a known "error" string)
// with the status that error calls for; always JSON with Cache-Control:
// no-store; a token is issued only for the right secret.
func FuzzTokenRequest(f *testing.F) {
	basic := func(id, secret string) string {
		return "Basic " + base64.StdEncoding.EncodeToString([]byte(id+":"+secret))
	}
	form := "application/x-www-form-urlencoded"
	for _, s := range [][3]string{
		{"grant_type=client_credentials&client_id=demo&client_secret=demo-secret", "", form},
		{"grant_type=client_credentials", basic("demo", "demo-secret"), form},
		{"grant_type=client_credentials", basic("demo", "wrong"), form},
		{"grant_type=client_credentials&client_secret=x", basic("demo", "demo-secret"), form},
		{"grant_type=password&username=a", "", form},
		{"grant_type=client_credentials&grant_type=client_credentials", "", form},
		{"grant_type=client_credentials&scope=all", basic("demo", "demo-secret"), form},
		{"%zz", "", form},
		{"grant_type=client_credentials", "Basic !!!", form},
		{"grant_type=client_credentials", "Bearer x", form},
		{"grant_type=client_credentials", basic("de%mo", "x"), form},
		{`{"grant_type":"client_credentials"}`, "", "application/json"},
		{"grant_type=client_credentials&client_id=demo&client_secret=demo-secret", "", "application/x-www-form-urlencoded; charset=utf-8"},
	} {
		f.Add(s[0], s[1], s[2])
	}
	clk := fakeclock.New(time.Date(2025, 11, 16, 12, 0, 0, 0, time.UTC))
	clients := auth.NewMemoryClientStore(auth.Client{ID: "demo", TenantID: tenant, SecretHash: auth.HashSecret("demo-secret")})
	h := auth.NewOAuth2(clients, auth.NewMemoryTokenStore(), auth.WithClock(clk.Now)).TokenHandler()
	statusOf := map[string][]int{
		"invalid_request":        {400, 405, 413},
		"invalid_client":         {401},
		"unsupported_grant_type": {400},
		"unauthorized_client":    {400},
		"invalid_scope":          {400},
		// The clock stands still: past DefaultTokenLimit the client is refused.
		"temporarily_unavailable": {429},
	}
	f.Fuzz(func(t *testing.T, body, authorization, ctype string) {
		req := httptest.NewRequest(http.MethodPost, "/oauth/token", strings.NewReader(body))
		req.Header.Set("Content-Type", ctype)
		if authorization != "" {
			req.Header.Set("Authorization", authorization)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Header().Get("Cache-Control") != "no-store" || rec.Header().Get("Content-Type") != "application/json" {
			t.Fatalf("headers %v", rec.Header())
		}
		var out map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
			t.Fatalf("body is not a JSON object: %v: %s", err, rec.Body)
		}
		if rec.Code == 200 {
			if tok, _ := out["access_token"].(string); tok == "" || out["token_type"] != "Bearer" {
				t.Fatalf("200 without a bearer token: %s", rec.Body)
			}
			if !strings.Contains(body, "demo-secret") && !strings.Contains(authorization, "Basic ") {
				t.Fatalf("token issued without the secret: body %q, authorization %q", body, authorization)
			}
			return
		}
		code, ok := out["error"].(string)
		if !ok {
			t.Fatalf("%d: error is not a string: %s", rec.Code, rec.Body)
		}
		allowed, known := statusOf[code]
		if !known {
			t.Fatalf("%d: unknown error code %q", rec.Code, code)
		}
		for _, s := range allowed {
			if s == rec.Code {
				return
			}
		}
		t.Fatalf("error %q with status %d", code, rec.Code)
	})
}

// FuzzLTIJWT authenticates arbitrary bearer tokens (seeded with good ones
// of both algorithms, a none-signed one and an HMAC one). Properties: no
// panic; a token is either accepted with at least one tenant or refused
// with an error that is ErrInvalidToken, ErrExpiredToken or ErrMissingToken.
func FuzzLTIJWT(f *testing.F) {
	clk := fakeclock.New(time.Date(2025, 11, 16, 12, 0, 0, 0, time.UTC))
	signed := func(m jwt.SigningMethod, key any, kid string, c jwt.MapClaims) string {
		tok := jwt.NewWithClaims(m, c)
		if kid != "" {
			tok.Header["kid"] = kid
		}
		s, err := tok.SignedString(key)
		if err != nil {
			f.Fatal(err)
		}
		return s
	}
	f.Add(signed(jwt.SigningMethodRS256, rsaKey, "r1", claims(clk, nil)))
	f.Add(signed(jwt.SigningMethodES256, ecKey, "e1", claims(clk, nil)))
	f.Add(signed(jwt.SigningMethodRS256, rsaKey, "r1", claims(clk, map[string]any{"tenant_id": []string{tenant.String(), "x"}})))
	f.Add(signed(jwt.SigningMethodRS256, rsaKey, "", claims(clk, map[string]any{"iat": nil})))
	f.Add(signed(jwt.SigningMethodHS256, []byte("secret"), "r1", claims(clk, nil)))
	f.Add(signed(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, "", claims(clk, nil)))
	f.Add("a.b.c")
	f.Add("")
	a, err := auth.NewLTIJWT(auth.LTIJWTConfig{Issuer: iss, Audience: aud, JWKS: jwks(rsaJWK("r1", &rsaKey.PublicKey), ecJWK("e1", &ecKey.PublicKey)), Clock: clk.Now})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, token string) {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		p, err := a.Authenticate(req)
		if err == nil {
			if len(p.TenantIDs) == 0 || p.Method != auth.MethodLTIJWT {
				t.Fatalf("accepted %q with principal %+v", token, p)
			}
			return
		}
		if !errors.Is(err, auth.ErrInvalidToken) && !errors.Is(err, auth.ErrExpiredToken) && !errors.Is(err, auth.ErrMissingToken) {
			t.Fatalf("refusal that says no reason: %v", err)
		}
	})
}

// FuzzJWKS parses arbitrary JWKS documents (they come from the platform's
// URL or a file): no panic, whatever the document.
func FuzzJWKS(f *testing.F) {
	f.Add(jwks(rsaJWK("r1", &rsaKey.PublicKey), ecJWK("e1", &ecKey.PublicKey)))
	f.Add([]byte(`{"keys":[]}`))
	f.Add([]byte(`{"keys":[{"kty":"RSA","n":"AQAB","e":"AQAB"}]}`))
	f.Add([]byte(`{"keys":[{"kty":"EC","crv":"P-256","x":"","y":""}]}`))
	f.Add([]byte(`{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		_, _ = auth.NewLTIJWT(auth.LTIJWTConfig{Issuer: iss, Audience: aud, JWKS: doc})
	})
}
