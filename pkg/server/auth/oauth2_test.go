package auth_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/interop-data/interop/internal/fakeclock"
	"github.com/interop-data/interop/pkg/server/auth"
)

// newClock is the injected clock tests advance instead of sleeping.
func newClock() *fakeclock.Clock {
	return fakeclock.New(time.Date(2025, 11, 16, 12, 0, 0, 0, time.UTC))
}

var tenant = uuid.MustParse("5e0c8c53-8c6d-4e43-9a8f-6a1b6f1d2c11")

type oauthEnv struct {
	o     *auth.OAuth2
	clock *fakeclock.Clock
}

func newOAuth(t *testing.T, opts ...auth.OAuth2Option) *oauthEnv {
	t.Helper()
	clk := newClock()
	clients := auth.NewMemoryClientStore(
		auth.Client{ID: "client-1", TenantID: tenant, SecretHash: auth.HashSecret("secret-1")},
		auth.Client{ID: "orphan", SecretHash: auth.HashSecret("secret-2")},
		auth.Client{ID: "we!rd:id", TenantID: tenant, SecretHash: auth.HashSecret("p@ss:w%rd")},
	)
	all := append([]auth.OAuth2Option{auth.WithClock(clk.Now)}, opts...)
	return &oauthEnv{o: auth.NewOAuth2(clients, auth.NewMemoryTokenStore(), all...), clock: clk}
}

type tokenReq struct {
	method      string
	contentType string
	body        string
	basic       [2]string
	header      string
	query       string
}

func (e *oauthEnv) post(t *testing.T, r tokenReq) *httptest.ResponseRecorder {
	t.Helper()
	if r.method == "" {
		r.method = "POST"
	}
	if r.contentType == "" {
		r.contentType = "application/x-www-form-urlencoded"
	}
	req := httptest.NewRequest(r.method, "/oauth/token"+r.query, strings.NewReader(r.body))
	req.Header.Set("Content-Type", r.contentType)
	if r.basic[0] != "" {
		req.SetBasicAuth(url.QueryEscape(r.basic[0]), url.QueryEscape(r.basic[1]))
	}
	if r.header != "" {
		req.Header.Set("Authorization", r.header)
	}
	rec := httptest.NewRecorder()
	e.o.TokenHandler().ServeHTTP(rec, req)
	if rec.Header().Get("Cache-Control") != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", rec.Header().Get("Cache-Control"))
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
	return rec
}

func wantTokenError(t *testing.T, rec *httptest.ResponseRecorder, status int, code string) {
	t.Helper()
	var body struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("body: %v: %s", err, rec.Body)
	}
	if rec.Code != status || body.Error != code {
		t.Fatalf("got %d %q, want %d %q (%s)", rec.Code, body.Error, status, code, rec.Body)
	}
}

func wantToken(t *testing.T, rec *httptest.ResponseRecorder) auth.TokenResponse {
	t.Helper()
	var tr auth.TokenResponse
	if err := json.Unmarshal(rec.Body.Bytes(), &tr); err != nil || rec.Code != 200 {
		t.Fatalf("%d %s %v", rec.Code, rec.Body, err)
	}
	if tr.TokenType != "Bearer" || tr.ExpiresIn != 3600 || len(tr.AccessToken) < 40 {
		t.Fatalf("token response %+v", tr)
	}
	return tr
}

func bearer(tok string) *http.Request {
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Authorization", "Bearer "+tok)
	return r
}

func TestTokenWithSecretInBody(t *testing.T) {
	e := newOAuth(t)
	tr := wantToken(t, e.post(t, tokenReq{body: "grant_type=client_credentials&client_id=client-1&client_secret=secret-1"}))
	p, err := e.o.Authenticate(bearer(tr.AccessToken))
	if err != nil || p.ClientID != "client-1" || p.Method != auth.MethodOAuth2 || len(p.TenantIDs) != 1 || p.TenantIDs[0] != tenant {
		t.Fatalf("%+v %v", p, err)
	}
}

func TestTokenWithBasic(t *testing.T) {
	e := newOAuth(t)
	wantToken(t, e.post(t, tokenReq{body: "grant_type=client_credentials", basic: [2]string{"client-1", "secret-1"}}))
	// RFC 6749 §2.3.1: id and secret are form-encoded inside Basic.
	wantToken(t, e.post(t, tokenReq{body: "grant_type=client_credentials", basic: [2]string{"we!rd:id", "p@ss:w%rd"}}))
	// client_id may repeat the Basic id in the body.
	wantToken(t, e.post(t, tokenReq{body: "grant_type=client_credentials&client_id=client-1", basic: [2]string{"client-1", "secret-1"}}))
}

func TestTokensAreUniqueAndStoredHashed(t *testing.T) {
	clk := newClock()
	store := &recordingStore{TokenStore: auth.NewMemoryTokenStore()}
	o := auth.NewOAuth2(auth.NewMemoryClientStore(auth.Client{ID: "c", TenantID: tenant, SecretHash: auth.HashSecret("s")}), store, auth.WithClock(clk.Now))
	a, _, _ := o.IssueToken(context.Background(), auth.Client{ID: "c", TenantID: tenant})
	b, _, _ := o.IssueToken(context.Background(), auth.Client{ID: "c", TenantID: tenant})
	if a == b {
		t.Fatal("two tokens are equal")
	}
	for _, h := range store.hashes {
		if h == a || h == b || h != auth.HashToken(a) && h != auth.HashToken(b) {
			t.Fatalf("store got %q, want only SHA-256 hashes", h)
		}
	}
}

type recordingStore struct {
	auth.TokenStore
	hashes []string
}

func (s *recordingStore) SaveToken(ctx context.Context, h string, p auth.Principal, exp time.Time) error {
	s.hashes = append(s.hashes, h)
	return s.TokenStore.SaveToken(ctx, h, p, exp)
}

// --- RFC 6749 §5.2 errors, one test each ---

func TestInvalidRequestMissingGrantType(t *testing.T) {
	wantTokenError(t, newOAuth(t).post(t, tokenReq{body: "client_id=client-1&client_secret=secret-1"}), 400, "invalid_request")
}

func TestInvalidRequestNotForm(t *testing.T) {
	e := newOAuth(t)
	wantTokenError(t, e.post(t, tokenReq{contentType: "application/json", body: `{"grant_type":"client_credentials"}`}), 400, "invalid_request")
}

func TestInvalidRequestDuplicateParameter(t *testing.T) {
	e := newOAuth(t)
	wantTokenError(t, e.post(t, tokenReq{body: "grant_type=client_credentials&grant_type=client_credentials&client_id=client-1&client_secret=secret-1"}), 400, "invalid_request")
}

func TestInvalidRequestTwoAuthMethods(t *testing.T) {
	e := newOAuth(t)
	wantTokenError(t, e.post(t, tokenReq{body: "grant_type=client_credentials&client_secret=secret-1", basic: [2]string{"client-1", "secret-1"}}), 400, "invalid_request")
}

func TestInvalidRequestSecretInURL(t *testing.T) {
	e := newOAuth(t)
	wantTokenError(t, e.post(t, tokenReq{body: "grant_type=client_credentials&client_id=client-1", query: "?client_secret=secret-1"}), 400, "invalid_request")
}

func TestInvalidRequestWrongMethod(t *testing.T) {
	rec := newOAuth(t).post(t, tokenReq{method: "GET"})
	wantTokenError(t, rec, 405, "invalid_request")
	if rec.Header().Get("Allow") != "POST" {
		t.Errorf("Allow = %q", rec.Header().Get("Allow"))
	}
}

func TestInvalidRequestBodyTooLarge(t *testing.T) {
	e := newOAuth(t)
	wantTokenError(t, e.post(t, tokenReq{body: "grant_type=client_credentials&pad=" + strings.Repeat("x", 20<<10)}), 413, "invalid_request")
}

func TestInvalidClientWrongSecretBody(t *testing.T) {
	rec := newOAuth(t).post(t, tokenReq{body: "grant_type=client_credentials&client_id=client-1&client_secret=wrong"})
	wantTokenError(t, rec, 401, "invalid_client")
	if rec.Header().Get("WWW-Authenticate") != "" {
		t.Error("WWW-Authenticate sent though Basic was not used")
	}
}

func TestInvalidClientWrongSecretBasic(t *testing.T) {
	rec := newOAuth(t).post(t, tokenReq{body: "grant_type=client_credentials", basic: [2]string{"client-1", "wrong"}})
	wantTokenError(t, rec, 401, "invalid_client")
	if h := rec.Header().Get("WWW-Authenticate"); !strings.HasPrefix(h, "Basic ") {
		t.Errorf("WWW-Authenticate = %q, want a Basic challenge (RFC 6749 §5.2)", h)
	}
}

func TestInvalidClientUnknown(t *testing.T) {
	wantTokenError(t, newOAuth(t).post(t, tokenReq{body: "grant_type=client_credentials&client_id=nobody&client_secret=secret-1"}), 401, "invalid_client")
}

func TestInvalidClientNoCredentials(t *testing.T) {
	wantTokenError(t, newOAuth(t).post(t, tokenReq{body: "grant_type=client_credentials"}), 401, "invalid_client")
	wantTokenError(t, newOAuth(t).post(t, tokenReq{body: "grant_type=client_credentials&client_id=client-1"}), 401, "invalid_client")
}

func TestInvalidClientNonBasicHeader(t *testing.T) {
	rec := newOAuth(t).post(t, tokenReq{body: "grant_type=client_credentials", header: "Bearer abc"})
	wantTokenError(t, rec, 401, "invalid_client")
	if rec.Header().Get("WWW-Authenticate") == "" {
		t.Error("no WWW-Authenticate after header authentication was tried")
	}
}

func TestUnsupportedGrantType(t *testing.T) {
	for _, g := range []string{"password", "authorization_code", "refresh_token", "urn:ietf:params:oauth:grant-type:jwt-bearer"} {
		wantTokenError(t, newOAuth(t).post(t, tokenReq{body: "grant_type=" + url.QueryEscape(g) + "&client_id=client-1&client_secret=secret-1"}), 400, "unsupported_grant_type")
	}
}

func TestUnauthorizedClientWithoutTenant(t *testing.T) {
	wantTokenError(t, newOAuth(t).post(t, tokenReq{body: "grant_type=client_credentials&client_id=orphan&client_secret=secret-2"}), 400, "unauthorized_client")
}

func TestInvalidScope(t *testing.T) {
	wantTokenError(t, newOAuth(t).post(t, tokenReq{body: "grant_type=client_credentials&client_id=client-1&client_secret=secret-1&scope=admin"}), 400, "invalid_scope")
}

type brokenClients struct{}

func (brokenClients) FindClient(context.Context, string) (auth.Client, error) {
	return auth.Client{}, errors.New("database unreachable at 10.0.0.9")
}

func TestServerErrorHidesCause(t *testing.T) {
	o := auth.NewOAuth2(brokenClients{}, auth.NewMemoryTokenStore())
	req := httptest.NewRequest("POST", "/oauth/token", strings.NewReader("grant_type=client_credentials&client_id=a&client_secret=b"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	o.TokenHandler().ServeHTTP(rec, req)
	wantTokenError(t, rec, 500, "server_error")
	if strings.Contains(rec.Body.String(), "10.0.0.9") {
		t.Error("cause leaked")
	}
}

// --- Authenticate ---

func TestAuthenticateExpiredToken(t *testing.T) {
	e := newOAuth(t, auth.WithTokenTTL(10*time.Minute))
	tok, _, err := e.o.IssueToken(context.Background(), auth.Client{ID: "client-1", TenantID: tenant})
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(10*time.Minute - time.Second)
	if _, err := e.o.Authenticate(bearer(tok)); err != nil {
		t.Fatalf("token rejected before expiry: %v", err)
	}
	e.clock.Advance(time.Second)
	if _, err := e.o.Authenticate(bearer(tok)); !errors.Is(err, auth.ErrExpiredToken) {
		t.Fatalf("expired token: %v", err)
	}
}

func TestAuthenticateUnknownToken(t *testing.T) {
	if _, err := newOAuth(t).o.Authenticate(bearer("never-issued")); !errors.Is(err, auth.ErrInvalidToken) {
		t.Fatalf("%v", err)
	}
}

func TestAuthenticateMissingToken(t *testing.T) {
	if _, err := newOAuth(t).o.Authenticate(httptest.NewRequest("GET", "/", nil)); !errors.Is(err, auth.ErrMissingToken) {
		t.Fatalf("%v", err)
	}
}

func TestExpiresInFollowsTTL(t *testing.T) {
	e := newOAuth(t, auth.WithTokenTTL(5*time.Minute))
	rec := e.post(t, tokenReq{body: "grant_type=client_credentials&client_id=client-1&client_secret=secret-1"})
	var tr auth.TokenResponse
	_ = json.Unmarshal(rec.Body.Bytes(), &tr)
	if tr.ExpiresIn != 300 {
		t.Fatalf("expires_in = %d", tr.ExpiresIn)
	}
}
