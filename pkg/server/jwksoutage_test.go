package server_test

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/interop-data/interop/pkg/server"
	"github.com/interop-data/interop/pkg/server/auth"
)

// Issue 20, item 5: while the LTI platform's JWKS URL is down, a request
// with a token the server cannot check is an outage, a 500 with
// Retry-After that clients retry keeping their token, never a 401 telling
// them to throw a good token away.
func TestJWKSOutageIs500WithRetryAfter(t *testing.T) {
	t.Parallel()
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down", http.StatusBadGateway)
	}))
	defer down.Close()
	key, _ := rsaJWKS(t, "k1")
	clk := newClock()
	lti, err := auth.NewLTIJWT(auth.LTIJWTConfig{Issuer: "https://platform.example", Audience: "tool", JWKSURL: down.URL, Clock: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, okPersons(), server.WithAuthenticator(lti))
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{
		"iss": "https://platform.example", "aud": "tool", "sub": "user-7",
		"iat": clk.Now().Unix(), "exp": clk.Now().Add(time.Hour).Unix(), "tenant_id": e.tenant.String(),
	})
	tok.Header["kid"] = "k1"
	signed, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 { // the failed fetch, then the backoff after it
		rec := e.do("GET", base+"/rostering/persons", "", "Authorization", "Bearer "+signed)
		wantError(t, rec, http.StatusInternalServerError, server.CodeInternal)
		if s, err := strconv.Atoi(rec.Header().Get("Retry-After")); err != nil || s < 1 {
			t.Errorf("request %d: Retry-After %q", i, rec.Header().Get("Retry-After"))
		}
		if rec.Header().Get("WWW-Authenticate") != "" {
			t.Errorf("request %d: an outage carries a 401 challenge", i)
		}
	}
}
