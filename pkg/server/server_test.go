package server_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/interop-data/interop/gen/apiserver"
	"github.com/interop-data/interop/gen/models"
	"github.com/interop-data/interop/pkg/contract"
	"github.com/interop-data/interop/pkg/server"
	"github.com/interop-data/interop/pkg/server/auth"
)

func okPersons() *fake {
	return &fake{listPersons: func(context.Context, apiserver.ListPersonsRequestObject) (apiserver.ListPersonsResponseObject, error) {
		return personsPage(2), nil
	}}
}

func TestNewRequiresAnAuthenticator(t *testing.T) {
	if _, err := server.New(okPersons()); err == nil {
		t.Fatal("New without authenticator succeeded; a server must never be open by accident")
	}
	if _, err := server.New(nil, server.WithAuthenticator(auth.NewOAuth2(auth.NewMemoryClientStore(), auth.NewMemoryTokenStore()))); err == nil {
		t.Fatal("New(nil) succeeded")
	}
}

func TestValidRequestReachesHandler(t *testing.T) {
	e := newEnv(t, okPersons())
	rec := e.do("GET", base+"/rostering/persons?page=1&page_size=2", "")
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	var page models.PersonsResponse
	if err := json.Unmarshal(rec.Body.Bytes(), &page); err != nil || len(page.Data) != 2 {
		t.Fatalf("page = %+v, %v", page, err)
	}
}

func TestPrincipalReachesHandler(t *testing.T) {
	var got auth.Principal
	var ok bool
	f := &fake{listPersons: func(ctx context.Context, _ apiserver.ListPersonsRequestObject) (apiserver.ListPersonsResponseObject, error) {
		got, ok = auth.PrincipalFrom(ctx)
		return personsPage(0), nil
	}}
	e := newEnv(t, f)
	if rec := e.do("GET", base+"/rostering/persons", ""); rec.Code != 200 {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	if !ok || got.ClientID != clientID || got.Method != auth.MethodOAuth2 || !got.HasTenant(e.tenant) || len(got.TenantIDs) != 1 {
		t.Fatalf("principal = %+v, %v", got, ok)
	}
}

// --- authentication ---

func TestMissingTokenIs401(t *testing.T) {
	called := false
	f := &fake{listPersons: func(context.Context, apiserver.ListPersonsRequestObject) (apiserver.ListPersonsResponseObject, error) {
		called = true
		return personsPage(0), nil
	}}
	e := newEnv(t, f)
	rec := e.do("GET", base+"/rostering/persons", "", "Authorization", "")
	got := wantError(t, rec, 401, "unauthorized")
	if got.Message != "missing bearer token" {
		t.Errorf("message %q", got.Message)
	}
	if h := rec.Header().Get("WWW-Authenticate"); !strings.HasPrefix(h, "Bearer") {
		t.Errorf("WWW-Authenticate = %q", h)
	}
	if called {
		t.Error("handler ran without a principal")
	}
}

func TestMalformedTokenIs401(t *testing.T) {
	e := newEnv(t, okPersons())
	for _, h := range []string{"Bearer", "Bearer  ", "Basic Y2xpZW50OnNlY3JldA==", "Bearer a b", "Bearer tok\x7f", "token"} {
		rec := e.do("GET", base+"/rostering/persons", "", "Authorization", h)
		wantError(t, rec, 401, "unauthorized")
		if got := rec.Header().Get("WWW-Authenticate"); !strings.Contains(got, `error="invalid_token"`) {
			t.Errorf("%q: WWW-Authenticate = %q", h, got)
		}
	}
}

func TestUnknownTokenIs401(t *testing.T) {
	e := newEnv(t, okPersons())
	rec := e.do("GET", base+"/rostering/persons", "", "Authorization", "Bearer "+strings.Repeat("A", 43))
	wantError(t, rec, 401, "unauthorized")
}

func TestExpiredTokenIs401(t *testing.T) {
	e := newEnv(t, okPersons())
	if rec := e.do("GET", base+"/rostering/persons", ""); rec.Code != 200 {
		t.Fatalf("fresh token: %d", rec.Code)
	}
	e.clock.Advance(auth.DefaultTokenTTL)
	rec := e.do("GET", base+"/rostering/persons", "")
	got := wantError(t, rec, 401, "unauthorized")
	if got.Message != "access token is expired" {
		t.Errorf("message %q", got.Message)
	}
	if h := rec.Header().Get("WWW-Authenticate"); !strings.HasPrefix(h, "Bearer") || !strings.Contains(h, `error="invalid_token"`) {
		t.Errorf("WWW-Authenticate = %q", h)
	}
}

// A token is only as good as the store that issued it: one from another
// server (same client id, same tenant, same clock) is unknown here.
func TestTokenFromAnotherServerIs401(t *testing.T) {
	called := false
	e := newEnv(t, &fake{listPersons: func(context.Context, apiserver.ListPersonsRequestObject) (apiserver.ListPersonsResponseObject, error) {
		called = true
		return personsPage(0), nil
	}})
	other := newEnv(t, okPersons())
	if rec := other.do("GET", base+"/rostering/persons", ""); rec.Code != 200 {
		t.Fatalf("the other server rejects its own token: %d", rec.Code)
	}
	rec := e.do("GET", base+"/rostering/persons", "", "Authorization", "Bearer "+other.token)
	got := wantError(t, rec, 401, "unauthorized")
	if got.Message != "access token is invalid or expired" {
		t.Errorf("message %q", got.Message)
	}
	if h := rec.Header().Get("WWW-Authenticate"); !strings.HasPrefix(h, "Bearer") || !strings.Contains(h, `error="invalid_token"`) {
		t.Errorf("WWW-Authenticate = %q", h)
	}
	if called {
		t.Error("handler ran with another server's token")
	}
}

// downStore is a token store whose database is unreachable.
type downStore struct{ auth.TokenStore }

func (downStore) LookupToken(context.Context, string) (auth.Principal, time.Time, error) {
	return auth.Principal{}, time.Time{}, errors.New("dial tcp 10.0.0.9:5432: connection refused")
}

// When the authenticator itself fails, the caller gets a 500 (a 401 would
// tell it to drop a good token; a 500 is retried) with no internal detail,
// and the operator an error-level log line with the cause and the request id.
func TestAuthenticatorFailureIs500AndLogged(t *testing.T) {
	oauth := auth.NewOAuth2(auth.NewMemoryClientStore(), downStore{auth.NewMemoryTokenStore()})
	e := newEnv(t, okPersons(), server.WithAuthenticator(oauth))
	rec := e.do("GET", base+"/rostering/persons", "", "X-Request-Id", "auth-down-1")
	got := wantError(t, rec, 500, "internal_error")
	if got.Details == "" || !strings.Contains(got.Details, "auth-down-1") || strings.Contains(rec.Body.String(), "10.0.0.9") {
		t.Errorf("body %s", rec.Body)
	}
	if rec.Header().Get("WWW-Authenticate") != "" {
		t.Error("an outage asked the client to authenticate again")
	}
	if !logged(t, e.logs.String(), "authentication unavailable", "auth-down-1", "10.0.0.9") || !strings.Contains(e.logs.String(), `"level":"ERROR","msg":"authentication unavailable"`) {
		t.Errorf("store failure not logged as an error with its request id: %s", e.logs)
	}
}

// rsaJWKS returns a fresh RSA key and its one-key JWKS.
func rsaJWKS(t testing.TB, kid string) (*rsa.PrivateKey, []byte) {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	jwks, _ := json.Marshal(map[string]any{"keys": []map[string]string{{
		"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256",
		"n": base64.RawURLEncoding.EncodeToString(k.N.Bytes()),
		"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(k.E)).Bytes()),
	}}})
	return k, jwks
}

func TestLTIJWTThroughChain(t *testing.T) {
	key, jwks := rsaJWKS(t, "k1")
	other, _ := rsaJWKS(t, "k1")
	clk := newClock()
	lti, err := auth.NewLTIJWT(auth.LTIJWTConfig{Issuer: "https://platform.example", Audience: "tool", JWKS: jwks, Clock: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	var got auth.Principal
	f := &fake{listPersons: func(ctx context.Context, _ apiserver.ListPersonsRequestObject) (apiserver.ListPersonsResponseObject, error) {
		got, _ = auth.PrincipalFrom(ctx)
		return personsPage(0), nil
	}}
	var e *env
	e = newEnv(t, f, server.WithAuthenticator(auth.AuthenticatorFunc(func(r *http.Request) (auth.Principal, error) {
		return auth.Chain(e.oauth, lti).Authenticate(r)
	})))
	sign := func(k *rsa.PrivateKey) string {
		tok := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{
			"iss": "https://platform.example", "aud": "tool", "sub": "user-7",
			"iat": clk.Now().Unix(), "exp": clk.Now().Add(time.Hour).Unix(), "tenant_id": e.tenant.String(),
		})
		tok.Header["kid"] = "k1"
		s, err := tok.SignedString(k)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	rec := e.do("GET", base+"/rostering/persons", "", "Authorization", "Bearer "+sign(key))
	if rec.Code != 200 || got.Method != auth.MethodLTIJWT || got.Subject != "user-7" || !got.HasTenant(e.tenant) {
		t.Fatalf("valid JWT: %d %s, principal %+v", rec.Code, rec.Body, got)
	}
	t.Run("wrongly signed", func(t *testing.T) {
		wantError(t, e.do("GET", base+"/rostering/persons", "", "Authorization", "Bearer "+sign(other)), 401, "unauthorized")
	})
	t.Run("OAuth2 still accepted", func(t *testing.T) {
		if rec := e.do("GET", base+"/rostering/persons", ""); rec.Code != 200 {
			t.Fatalf("%d", rec.Code)
		}
	})
}

// --- token endpoint through the kit ---

func TestTokenEndpointEndToEnd(t *testing.T) {
	e := newEnv(t, okPersons())
	ts := httptest.NewServer(e.srv.Handler())
	defer ts.Close()
	resp, err := http.PostForm(ts.URL+"/oauth/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {clientID}, "client_secret": {clientSecret}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tr auth.TokenResponse
	if err := json.NewDecoder(resp.Body).Decode(&tr); err != nil || resp.StatusCode != 200 || tr.AccessToken == "" {
		t.Fatalf("token: %d %+v %v", resp.StatusCode, tr, err)
	}
	if resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("Cache-Control = %q", resp.Header.Get("Cache-Control"))
	}
	req, _ := http.NewRequest("GET", ts.URL+base+"/rostering/persons", nil)
	req.Header.Set("Authorization", "Bearer "+tr.AccessToken)
	r2, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	r2.Body.Close()
	if r2.StatusCode != 200 {
		t.Fatalf("using issued token: %d", r2.StatusCode)
	}
}

// --- request validation: one test per parameter type and rule ---

func TestIntegerOutOfRangeIs400(t *testing.T) {
	e := newEnv(t, okPersons())
	got := wantError(t, e.do("GET", base+"/rostering/persons?page_size=2001", ""), 400, "invalid_parameter")
	if !strings.Contains(got.Message, `"page_size"`) || !strings.Contains(details(got), "at most 2000") {
		t.Errorf("error does not name parameter and rule: %+v %q", got, details(got))
	}
}

func TestIntegerBelowMinimumIs400(t *testing.T) {
	e := newEnv(t, okPersons())
	got := wantError(t, e.do("GET", base+"/rostering/persons?page=-1", ""), 400, "invalid_parameter")
	if !strings.Contains(got.Message, `"page"`) || !strings.Contains(details(got), "at least 0") {
		t.Errorf("%+v %q", got, details(got))
	}
}

func TestNotAnIntegerIs400(t *testing.T) {
	e := newEnv(t, okPersons())
	got := wantError(t, e.do("GET", base+"/rostering/persons?page_size=ten", ""), 400, "invalid_parameter")
	if !strings.Contains(got.Message, `"page_size"`) || !strings.Contains(details(got), "integer") {
		t.Errorf("%+v %q", got, details(got))
	}
}

func TestBadUUIDPathIs400(t *testing.T) {
	called := false
	e := newEnv(t, &fake{findPerson: func(context.Context, apiserver.FindPersonRequestObject) (apiserver.FindPersonResponseObject, error) {
		called = true
		return nil, errors.New("unreachable")
	}})
	got := wantError(t, e.do("GET", base+"/rostering/persons/not-a-uuid", ""), 400, "invalid_parameter")
	if !strings.Contains(got.Message, `"id" in path`) || !strings.Contains(details(got), "uuid") {
		t.Errorf("%+v %q", got, details(got))
	}
	if called {
		t.Error("handler ran on an invalid id")
	}
}

func TestBadUUIDQueryIs400(t *testing.T) {
	e := newEnv(t, &fake{})
	got := wantError(t, e.do("GET", base+"/tasks?tenant_id=12345", ""), 400, "invalid_parameter")
	if !strings.Contains(got.Message, `"tenant_id" in query`) || !strings.Contains(details(got), "uuid") {
		t.Errorf("%+v %q", got, details(got))
	}
}

func TestStringTooLongIs400(t *testing.T) {
	e := newEnv(t, &fake{})
	got := wantError(t, e.do("GET", base+"/tasks?driver="+strings.Repeat("d", 257), ""), 400, "invalid_parameter")
	if !strings.Contains(got.Message, `"driver"`) || !strings.Contains(details(got), "256") {
		t.Errorf("%+v %q", got, details(got))
	}
}

func TestBadEnumInBodyIs400(t *testing.T) {
	e := newEnv(t, &fake{})
	got := wantError(t, e.do("PUT", base+"/tasks/"+uuid.NewString()+"/ack", `{"status":"done"}`), 400, "invalid_body")
	if !strings.Contains(details(got), `"/status"`) || !strings.Contains(details(got), "allowed values") {
		t.Errorf("details %q", details(got))
	}
}

func TestMissingRequiredFieldIs400(t *testing.T) {
	e := newEnv(t, &fake{})
	// TaskAck.status is optional (decision ack-body); a group item's task_id is not.
	got := wantError(t, e.do("PUT", base+"/tasks/ack", `[{"status":"success","message":"hi"}]`), 400, "invalid_body")
	if !strings.Contains(details(got), "task_id") {
		t.Errorf("details %q", details(got))
	}
}

func TestMalformedJSONBodyIs400(t *testing.T) {
	e := newEnv(t, &fake{})
	wantError(t, e.do("PUT", base+"/tasks/"+uuid.NewString()+"/ack", `{"status":`), 400, "invalid_body")
}

func TestMissingBodyIs400(t *testing.T) {
	e := newEnv(t, &fake{})
	got := wantError(t, e.do("PUT", base+"/tasks/"+uuid.NewString()+"/ack", "", "Content-Type", "application/json"), 400, "invalid_body")
	if got.Message != "request body is required" {
		t.Errorf("message %q", got.Message)
	}
}

func TestWrongContentTypeIs415(t *testing.T) {
	e := newEnv(t, &fake{})
	wantError(t, e.do("PUT", base+"/tasks/"+uuid.NewString()+"/ack", `status=success`, "Content-Type", "application/x-www-form-urlencoded"), 415, "unsupported_media_type")
}

func TestValidBodyReachesHandler(t *testing.T) {
	id := uuid.New()
	var got apiserver.AcknowledgeTaskRequestObject
	e := newEnv(t, &fake{ackTask: func(_ context.Context, r apiserver.AcknowledgeTaskRequestObject) (apiserver.AcknowledgeTaskResponseObject, error) {
		got = r
		return apiserver.AcknowledgeTask200JSONResponse{Data: models.TaskAckReceipt{TaskID: r.ID, Status: r.Body.Status, AcknowledgedAt: time.Now()}}, nil
	}})
	rec := e.do("PUT", base+"/tasks/"+id.String()+"/ack", `{"status":"retry","message":"later","$sys.app_id":"88"}`)
	if rec.Code != 200 {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	if got.ID != id || got.Body == nil || got.Body.Status != models.Retry || got.Body.Message == "" || got.Body.Message != "later" ||
		got.Body.SysAppID == "" || got.Body.SysAppID != "88" {
		t.Fatalf("request = %+v", got)
	}
}

func TestRequestValidationOff(t *testing.T) {
	e := newEnv(t, okPersons(), server.WithRequestValidation(false))
	// The spec's maximum is not checked, but the generated binder still
	// rejects what is not an integer, in the one error model.
	if rec := e.do("GET", base+"/rostering/persons?page_size=5000", ""); rec.Code != 200 {
		t.Fatalf("page_size over maximum with validation off: %d", rec.Code)
	}
	got := wantError(t, e.do("GET", base+"/rostering/persons/zzz", ""), 400, "invalid_parameter")
	if !strings.Contains(got.Message, `"id"`) {
		t.Errorf("%+v", got)
	}
}

// --- routing and transport errors ---

func TestUnknownRouteIs404(t *testing.T) {
	e := newEnv(t, &fake{})
	for _, p := range []string{base + "/nope", base + "/rostering/persons/" + uuid.NewString() + "/x", "/v1/anything"} { // "/" redirects to /docs: TestDocsServedByTheKit
		wantError(t, e.do("GET", p, ""), 404, "not_found")
	}
}

func TestWrongMethodIs405(t *testing.T) {
	e := newEnv(t, &fake{})
	rec := e.do("DELETE", base+"/rostering/persons", "")
	wantError(t, rec, 405, "method_not_allowed")
	if allow := rec.Header().Get("Allow"); !strings.Contains(allow, "GET") {
		t.Errorf("Allow = %q", allow)
	}
}

func TestOversizedBodyIs413(t *testing.T) {
	called := false
	e := newEnv(t, &fake{ackTask: func(context.Context, apiserver.AcknowledgeTaskRequestObject) (apiserver.AcknowledgeTaskResponseObject, error) {
		called = true
		return nil, errors.New("unreachable")
	}}, server.WithBodyLimit(1024))
	body := `{"status":"success","message":"` + strings.Repeat("x", 2000) + `"}`
	t.Run("declared length", func(t *testing.T) {
		wantError(t, e.do("PUT", base+"/tasks/"+uuid.NewString()+"/ack", body), 413, "payload_too_large")
	})
	// chunked sends body without a Content-Length, so only reading it finds
	// out it is too large.
	chunked := func(e *env) *httptest.ResponseRecorder {
		req := httptest.NewRequest("PUT", base+"/tasks/"+uuid.NewString()+"/ack", io.MultiReader(strings.NewReader(body)))
		req.ContentLength = -1
		req.Header.Set("Authorization", "Bearer "+e.token)
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		e.srv.Handler().ServeHTTP(rec, req)
		return rec
	}
	t.Run("chunked", func(t *testing.T) {
		wantError(t, chunked(e), 413, "payload_too_large")
	})
	t.Run("chunked, validation off", func(t *testing.T) {
		off := newEnv(t, &fake{}, server.WithBodyLimit(1024), server.WithRequestValidation(false), server.WithResponseValidation(server.ValidationOff))
		wantError(t, chunked(off), 413, "payload_too_large")
	})
	if called {
		t.Error("handler ran on an oversized body")
	}
}

func TestPanickingHandlerIs500(t *testing.T) {
	for _, mode := range []server.ValidationMode{server.ValidationOff, server.ValidationEnforce} {
		t.Run(mode.String(), func(t *testing.T) {
			e := newEnv(t, &fake{listPersons: func(context.Context, apiserver.ListPersonsRequestObject) (apiserver.ListPersonsResponseObject, error) {
				panic("boom: secret internal state")
			}}, server.WithResponseValidation(mode))
			rec := e.do("GET", base+"/rostering/persons", "", "X-Request-Id", "req-panic-1")
			got := wantError(t, rec, 500, "internal_error")
			if strings.Contains(rec.Body.String(), "boom") || details(got) != "request id req-panic-1" {
				t.Errorf("body %s", rec.Body)
			}
			if logs := e.logs.String(); !strings.Contains(logs, "boom: secret internal state") || !strings.Contains(logs, "req-panic-1") {
				t.Errorf("panic not logged with request id: %s", logs)
			}
			// The server survives.
			e2 := e.do("GET", base+"/rostering/persons/"+uuid.NewString(), "")
			wantError(t, e2, 501, "not_implemented")
		})
	}
}

func TestHandlerErrorsUseTheErrorModel(t *testing.T) {
	e := newEnv(t, &fake{
		findPerson: func(_ context.Context, r apiserver.FindPersonRequestObject) (apiserver.FindPersonResponseObject, error) {
			return nil, server.Errorf(404, server.CodeNotFound, "person %s not found", r.ID)
		},
		listPersons: func(context.Context, apiserver.ListPersonsRequestObject) (apiserver.ListPersonsResponseObject, error) {
			return nil, fmt.Errorf("db: connection refused to 10.0.0.7:5432")
		},
	})
	id := uuid.New()
	got := wantError(t, e.do("GET", base+"/rostering/persons/"+id.String(), ""), 404, "not_found")
	if got.Message != "person "+id.String()+" not found" {
		t.Errorf("message %q", got.Message)
	}
	rec := e.do("GET", base+"/rostering/persons", "", "X-Request-Id", "req-db-1")
	got = wantError(t, rec, 500, "internal_error")
	if strings.Contains(rec.Body.String(), "10.0.0.7") || details(got) != "request id req-db-1" {
		t.Errorf("body %s", rec.Body)
	}
	if !logged(t, e.logs.String(), "request failed", "req-db-1", "10.0.0.7") {
		t.Errorf("internal error not logged with its request id: %s", e.logs)
	}
}

// logged reports whether one JSON log line has message msg, the request id
// and an err attribute containing errText.
func logged(t *testing.T, logs, msg, requestID, errText string) bool {
	t.Helper()
	for line := range strings.Lines(logs) {
		var rec struct {
			Msg       string `json:"msg"`
			RequestID string `json:"request_id"`
			Err       string `json:"err"`
		}
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line is not JSON: %v: %s", err, line)
		}
		if rec.Msg == msg && rec.RequestID == requestID && strings.Contains(rec.Err, errText) {
			return true
		}
	}
	return false
}

func TestTypedErrorResponsePassesThrough(t *testing.T) {
	e := newEnv(t, &fake{findPerson: func(context.Context, apiserver.FindPersonRequestObject) (apiserver.FindPersonResponseObject, error) {
		return apiserver.FindPerson404JSONResponse{NotFoundJSONResponse: apiserver.NotFoundJSONResponse{Error: models.ErrorType{Status: 404, Code: "not_found", Message: "gone"}}}, nil
	}})
	wantError(t, e.do("GET", base+"/rostering/persons/"+uuid.NewString(), ""), 404, "not_found")
}

func TestUnimplementedIs501(t *testing.T) {
	e := newEnv(t, &fake{})
	got := wantError(t, e.do("GET", base+"/rostering/terms", ""), 501, "not_implemented")
	if !strings.Contains(got.Message, "listTerms") {
		t.Errorf("message %q", got.Message)
	}
}

// --- response validation in each mode ---

// badPerson answers findPerson with a body the spec forbids: $sys missing.
func badPerson() *fake {
	return &fake{findPerson: func(context.Context, apiserver.FindPersonRequestObject) (apiserver.FindPersonResponseObject, error) {
		return raw{status: 200, body: `{"data":{"local_id":"S1"}}`}, nil
	}}
}

func metricsText(t *testing.T, e *env) string {
	t.Helper()
	rec := e.do("GET", "/metrics", "")
	if rec.Code != 200 {
		t.Fatalf("/metrics: %d", rec.Code)
	}
	return rec.Body.String()
}

const responseFailure = `interop_validation_failures_total{direction="response",operation="findPerson"} 1`

func TestInvalidResponseEnforceIs500(t *testing.T) {
	e := newEnv(t, badPerson(), server.WithResponseValidation(server.ValidationEnforce))
	rec := e.do("GET", base+"/rostering/persons/"+uuid.NewString(), "", "X-Request-Id", "enf-1")
	got := wantError(t, rec, 500, "internal_error")
	if details(got) != "request id enf-1" || strings.Contains(rec.Body.String(), "S1") {
		t.Errorf("body %s", rec.Body)
	}
	if !strings.Contains(metricsText(t, e), responseFailure) {
		t.Error("failure not counted")
	}
	if logs := e.logs.String(); !strings.Contains(logs, "invalid response replaced by 500") || !strings.Contains(logs, "enf-1") {
		t.Errorf("not logged: %s", logs)
	}
}

func TestInvalidResponseReportIsSentAndCounted(t *testing.T) {
	e := newEnv(t, badPerson(), server.WithResponseValidation(server.ValidationReport))
	rec := e.do("GET", base+"/rostering/persons/"+uuid.NewString(), "")
	if rec.Code != 200 || rec.Body.String() != `{"data":{"local_id":"S1"}}` {
		t.Fatalf("report mode changed the response: %d %s", rec.Code, rec.Body)
	}
	if !strings.Contains(metricsText(t, e), responseFailure) {
		t.Error("failure not counted")
	}
	if !strings.Contains(e.logs.String(), "invalid response sent (report mode)") {
		t.Error("not logged")
	}
}

func TestInvalidResponseOffIsSentUnchecked(t *testing.T) {
	e := newEnv(t, badPerson(), server.WithResponseValidation(server.ValidationOff))
	rec := e.do("GET", base+"/rostering/persons/"+uuid.NewString(), "")
	if rec.Code != 200 || rec.Body.String() != `{"data":{"local_id":"S1"}}` {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	if strings.Contains(metricsText(t, e), `direction="response"`) {
		t.Error("off mode validated")
	}
}

// checkResponse decodes every response body as JSON; that is only right
// while the spec declares nothing else.
func TestEveryResponseIsJSON(t *testing.T) {
	doc, err := contract.Load()
	if err != nil {
		t.Fatal(err)
	}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			for status, ref := range op.Responses.Map() {
				for mt := range ref.Value.Content {
					if mt != "application/json" {
						t.Errorf("%s %s %s declares %s: teach checkResponse its decoder", method, path, status, mt)
					}
				}
			}
		}
	}
}

func TestInvalidResponseBodiesAre500(t *testing.T) {
	for name, r := range map[string]raw{
		"undeclared content type": {status: 200, ctype: "text/plain", body: `{"data":[],"paging":{"next":null}}`},
		"not JSON":                {status: 200, body: `{"data":[],"paging":`},
		"trailing data":           {status: 200, body: `{"data":[],"paging":{"next":null}} {}`},
		"error body on 400":       {status: 400, body: `{"error":{"code":"x"}}`},
	} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, &fake{listPersons: func(context.Context, apiserver.ListPersonsRequestObject) (apiserver.ListPersonsResponseObject, error) {
				return r, nil
			}})
			wantError(t, e.do("GET", base+"/rostering/persons", ""), 500, "internal_error")
			if !strings.Contains(metricsText(t, e), `interop_validation_failures_total{direction="response",operation="listPersons"} 1`) {
				t.Error("failure not counted")
			}
		})
	}
	// The same shapes, valid, pass: the check is not just failing everything.
	e := newEnv(t, &fake{listPersons: func(context.Context, apiserver.ListPersonsRequestObject) (apiserver.ListPersonsResponseObject, error) {
		return raw{status: 200, ctype: "application/json; charset=utf-8", body: "{\"data\":[],\"paging\":{\"next\":null}}\n"}, nil
	}})
	if rec := e.do("GET", base+"/rostering/persons", ""); rec.Code != 200 {
		t.Fatalf("valid raw page: %d %s", rec.Code, rec.Body)
	}
}

func TestUndeclaredStatusIsInvalid(t *testing.T) {
	e := newEnv(t, &fake{findPerson: func(context.Context, apiserver.FindPersonRequestObject) (apiserver.FindPersonResponseObject, error) {
		return raw{status: 418, body: `{"error":{"status":418,"code":"teapot","message":"no"}}`}, nil
	}})
	wantError(t, e.do("GET", base+"/rostering/persons/"+uuid.NewString(), ""), 500, "internal_error")
}

func TestNilResponseIsInvalid(t *testing.T) {
	e := newEnv(t, &fake{findPerson: func(context.Context, apiserver.FindPersonRequestObject) (apiserver.FindPersonResponseObject, error) {
		return nil, nil
	}})
	wantError(t, e.do("GET", base+"/rostering/persons/"+uuid.NewString(), ""), 500, "internal_error")
}

func TestValidResponseIsSentIntact(t *testing.T) {
	page := personsPage(3)
	e := newEnv(t, &fake{listPersons: func(context.Context, apiserver.ListPersonsRequestObject) (apiserver.ListPersonsResponseObject, error) {
		return page, nil
	}})
	rec := e.do("GET", base+"/rostering/persons", "")
	want, _ := json.Marshal(page)
	if rec.Code != 200 || strings.TrimSpace(rec.Body.String()) != string(want) {
		t.Fatalf("%d\n got %s\nwant %s", rec.Code, rec.Body, want)
	}
}

// --- plumbing ---

func TestRequestID(t *testing.T) {
	e := newEnv(t, &fake{})
	if got := e.do("GET", "/healthz", "", "X-Request-Id", "abc-123").Header().Get("X-Request-Id"); got != "abc-123" {
		t.Errorf("echoed id = %q", got)
	}
	for _, bad := range []string{"", "has space", strings.Repeat("x", 129), "new\nline"} {
		got := e.do("GET", "/healthz", "", "X-Request-Id", bad).Header().Get("X-Request-Id")
		if len(got) != 32 || got == bad {
			t.Errorf("for %q got id %q, want a fresh 32-hex id", bad, got)
		}
	}
}

func TestHealthz(t *testing.T) {
	e := newEnv(t, &fake{})
	rec := e.do("GET", "/healthz", "", "Authorization", "")
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"ok"`) {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
}

func TestReadyz(t *testing.T) {
	var fail error
	e := newEnv(t, &fake{}, server.WithReadiness(func(context.Context) error { return fail }))
	if rec := e.do("GET", "/readyz", "", "Authorization", ""); rec.Code != 200 {
		t.Fatalf("ready: %d", rec.Code)
	}
	fail = errors.New("database is locked")
	rec := e.do("GET", "/readyz", "", "Authorization", "")
	wantError(t, rec, 503, "unavailable")
	if strings.Contains(rec.Body.String(), "locked") {
		t.Errorf("readiness error leaked: %s", rec.Body)
	}
}

func TestMetrics(t *testing.T) {
	e := newEnv(t, okPersons())
	e.do("GET", base+"/rostering/persons", "")
	e.do("GET", base+"/rostering/persons?page_size=0", "")
	e.do("GET", base+"/no/such/path/"+uuid.NewString(), "")
	m := metricsText(t, e)
	for _, want := range []string{
		`interop_http_requests_total{code="200",method="GET",operation="listPersons"} 1`,
		`interop_http_requests_total{code="400",method="GET",operation="listPersons"} 1`,
		`interop_http_requests_total{code="404",method="GET",operation="unmatched"} 1`,
		`interop_validation_failures_total{direction="request",operation="listPersons"} 1`,
		`interop_http_request_duration_seconds_count{method="GET",operation="listPersons"} 2`,
		`go_goroutines`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	// Each server has its own registry: a second one starts from zero.
	e2 := newEnv(t, okPersons())
	if strings.Contains(metricsText(t, e2), `operation="listPersons"`) {
		t.Error("registries are shared between servers")
	}
}

// Validation failures are counted per operation and direction, and only
// there: a failure of one never shows under another.
func TestMetricsCountValidationFailuresPerOperationAndDirection(t *testing.T) {
	f := badPerson()
	f.listPersons = okPersons().listPersons
	e := newEnv(t, f)
	e.do("GET", base+"/rostering/persons?page_size=0", "")
	e.do("GET", base+"/rostering/persons?page=x", "")
	e.do("GET", base+"/rostering/persons", "") // valid both ways
	e.do("GET", base+"/rostering/persons/not-a-uuid", "")
	e.do("GET", base+"/rostering/persons/"+uuid.NewString(), "")
	var got []string
	for line := range strings.Lines(metricsText(t, e)) {
		if strings.HasPrefix(line, "interop_validation_failures_total{") {
			got = append(got, strings.TrimSpace(line))
		}
	}
	want := []string{
		`interop_validation_failures_total{direction="request",operation="findPerson"} 1`,
		`interop_validation_failures_total{direction="request",operation="listPersons"} 2`,
		`interop_validation_failures_total{direction="response",operation="findPerson"} 1`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("validation failure series:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestRequestURL(t *testing.T) {
	var got *url.URL
	f := &fake{listPersons: func(ctx context.Context, _ apiserver.ListPersonsRequestObject) (apiserver.ListPersonsResponseObject, error) {
		got = server.RequestURL(ctx)
		return personsPage(0), nil
	}}
	path := base + "/rostering/persons?page=2&page_size=5"
	local := "10.0.0.5:8080"
	const proxy = "192.0.2.0/24" // httptest's client address
	for _, c := range []struct {
		name string
		opts []server.Option
		hdrs []string
		want string
	}{
		// Issue 9: an unknown Host never reaches a link; the address the
		// connection arrived on does.
		{"forged Host", nil, []string{"Host", "evil.example:443"}, "http://" + local},
		{"Host is the local address", nil, []string{"Host", local}, "http://" + local},
		{"proxy headers untrusted", nil, []string{"Host", "api.internal:8080", "X-Forwarded-Proto", "https", "X-Forwarded-Host", "api.example.org"}, "http://" + local},
		{"allowed Host", []server.Option{server.WithAllowedHosts("API.internal:8080")}, []string{"Host", "api.internal:8080"}, "http://api.internal:8080"},
		{"Host not on the allow list", []server.Option{server.WithAllowedHosts("api.internal:8080")}, []string{"Host", "api.internal:9999"}, "http://" + local},
		{"public URL", []server.Option{server.WithPublicURL("https://api.example.org/interop/")}, []string{"Host", "evil.example", "X-Forwarded-Host", "evil.example"}, "https://api.example.org/interop"},
		{"public URL beats trusted proxy", []server.Option{server.WithPublicURL("https://api.example.org"), server.WithTrustedProxies(proxy)}, []string{"Host", "evil.example", "X-Forwarded-Host", "evil.example"}, "https://api.example.org"},
		{"trusted proxy", []server.Option{server.WithTrustedProxies(proxy), server.WithAllowedHosts("api.example.org")}, []string{"Host", "api.internal:8080", "X-Forwarded-Proto", "https", "X-Forwarded-Host", "api.example.org"}, "https://api.example.org"},
		{"trusted proxy, host not allowed", []server.Option{server.WithTrustedProxies(proxy), server.WithAllowedHosts("api.example.org")}, []string{"X-Forwarded-Proto", "https", "X-Forwarded-Host", "evil.example"}, "https://" + local},
		// Issue 20, item 7: without an allow list no forwarded host is taken.
		{"trusted proxy, no allow list", []server.Option{server.WithTrustedProxies(proxy)}, []string{"X-Forwarded-Proto", "https", "X-Forwarded-Host", "evil.example"}, "https://" + local},
		{"peer is not a named proxy", []server.Option{server.WithTrustedProxies("10.0.0.0/8"), server.WithAllowedHosts("api.example.org")}, []string{"X-Forwarded-Proto", "https", "X-Forwarded-Host", "api.example.org"}, "http://" + local},
		{"forged proxy headers", []server.Option{server.WithTrustedProxies(proxy)}, []string{"Host", "h", "X-Forwarded-Host", "evil.example/x?", "X-Forwarded-Proto", "javascript"}, "http://" + local},
	} {
		got = nil
		newEnv(t, f, c.opts...).do("GET", path, "", append([]string{"LocalAddr", local}, c.hdrs...)...)
		if want := c.want + path; got == nil || got.String() != want {
			t.Errorf("%s: %v, want %s", c.name, got, want)
		}
	}
	// localhost names a loopback listener as well as its address does.
	newEnv(t, f).do("GET", path, "", "LocalAddr", "127.0.0.1:8080", "Host", "localhost:8080")
	if got == nil || got.Host != "localhost:8080" {
		t.Errorf("localhost on a loopback listener: %v", got)
	}
	if server.RequestURL(context.Background()) != nil {
		t.Error("RequestURL outside a request is not nil")
	}
	for _, bad := range []string{"api.example.org", "ftp://x", "https://u:p@x", "https://x/?q=1", "https://"} {
		if _, err := server.New(f, server.WithAuthenticator(auth.NewOAuth2(auth.NewMemoryClientStore(), auth.NewMemoryTokenStore())), server.WithPublicURL(bad)); err == nil {
			t.Errorf("New accepted public URL %q", bad)
		}
	}
}

func TestWithMiddlewareSeesPrincipal(t *testing.T) {
	var seen bool
	mw := func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			_, seen = auth.PrincipalFrom(c.Request().Context())
			return next(c)
		}
	}
	e := newEnv(t, okPersons(), server.WithMiddleware(mw))
	if rec := e.do("GET", base+"/rostering/persons", ""); rec.Code != 200 || !seen {
		t.Fatalf("%d seen=%v", rec.Code, seen)
	}
}

func TestListenAndServeShutsDownGracefully(t *testing.T) {
	release := make(chan struct{})
	started := make(chan struct{})
	e := newEnv(t, &fake{listPersons: func(context.Context, apiserver.ListPersonsRequestObject) (apiserver.ListPersonsResponseObject, error) {
		close(started)
		<-release
		return personsPage(1), nil
	}})
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- e.srv.ListenAndServe(ctx, "127.0.0.1:0", func(a net.Addr) { addrc <- a.String() })
	}()
	addr := <-addrc
	status := make(chan int, 1)
	go func() {
		req, _ := http.NewRequest("GET", "http://"+addr+base+"/rostering/persons", nil)
		req.Header.Set("Authorization", "Bearer "+e.token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			status <- -1
			return
		}
		resp.Body.Close()
		status <- resp.StatusCode
	}()
	<-started
	cancel() // shutdown begins while a request is in flight
	// Release the handler only once shutdown has closed the listener, so a
	// server that dropped in-flight requests (Close instead of Shutdown)
	// would fail here rather than win a race.
	for {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			break
		}
		c.Close()
	}
	select {
	case err := <-done:
		t.Fatalf("ListenAndServe returned %v with a request in flight", err)
	default:
	}
	close(release)
	if s := <-status; s != 200 {
		t.Errorf("in-flight request got %d, want 200", s)
	}
	if err := <-done; err != nil {
		t.Fatalf("ListenAndServe: %v", err)
	}
}

// kin-openapi and the generated decoder accept data after the JSON value and
// repeated keys (the last wins); both are ambiguous and refused.
func TestAmbiguousJSONBodyIs400(t *testing.T) {
	called := false
	e := newEnv(t, &fake{ackTask: func(_ context.Context, r apiserver.AcknowledgeTaskRequestObject) (apiserver.AcknowledgeTaskResponseObject, error) {
		called = true
		return apiserver.AcknowledgeTask200JSONResponse{Data: models.TaskAckReceipt{TaskID: r.ID, Status: r.Body.Status, AcknowledgedAt: time.Now()}}, nil
	}})
	url := base + "/tasks/" + uuid.NewString() + "/ack"
	for body, want := range map[string]string{
		`{"status":"success"} junk`:                          "data after the JSON value",
		`{"status":"success"}{"status":"error"}`:             "data after the JSON value",
		`{"status":"success","status":"error"}`:              `field "/status": key appears more than once`,
		`{"status":"error","error":{"code":"a","code":"b"}}`: `field "/error/code": key appears more than once`,
		`{"status":"error","params":{"a/b":{"x":1,"x":2}}}`:  `field "/params/a~1b/x": key appears more than once`,
	} {
		got := wantError(t, e.do("PUT", url, body), 400, "invalid_body")
		if got.Details == "" || got.Details != want {
			t.Errorf("%s: details %v, want %q", body, got.Details, want)
		}
	}
	if called {
		t.Error("the handler ran on an ambiguous body")
	}
	// Whitespace around one value is fine, and the body still reaches the handler.
	if rec := e.do("PUT", url, " {\"status\":\"success\",\"params\":{\"a\":\"1\",\"b\":\"1\"}}\n "); rec.Code != 200 || !called {
		t.Fatalf("a plain body with surrounding whitespace: %d %s", rec.Code, rec.Body)
	}
}

// The one pass over the body keeps the order of the answers: what makes a
// body ambiguous or too costly comes before the parameters' checks, what
// breaks the schema (or the syntax) after them.
func TestBodyAnswersKeepTheirOrder(t *testing.T) {
	e := newEnv(t, &fake{})
	badID := base + "/tasks/not-a-uuid/ack"
	for body, want := range map[string]string{
		`{"status":"success","status":"error"}`: server.CodeInvalidBody,
		`{"status":"success"} junk`:             server.CodeInvalidBody,
		nested("[", "]", 100):                   server.CodeInvalidBody,
		`{"status":"bogus"}`:                    "invalid_parameter",
		`{"status":`:                            "invalid_parameter",
	} {
		wantError(t, e.do("PUT", badID, body), 400, want)
	}
}

// A 501 from Unimplemented is the server saying what it does not do: logged
// at INFO, while a handler's failure (500) is logged at ERROR.
func TestNotImplementedIsNotAnError(t *testing.T) {
	e := newEnv(t, &fake{})
	rec := e.do("GET", base+"/rostering/persons", "")
	if rec.Code != http.StatusNotImplemented {
		t.Fatalf("status %d", rec.Code)
	}
	logs := e.logs.String()
	if !strings.Contains(logs, `"status":501`) || strings.Contains(logs, `"level":"ERROR"`) {
		t.Fatalf("501 logged as an error:\n%s", logs)
	}
	e = newEnv(t, &fake{listPersons: func(context.Context, apiserver.ListPersonsRequestObject) (apiserver.ListPersonsResponseObject, error) {
		return nil, errors.New("store down")
	}})
	if rec := e.do("GET", base+"/rostering/persons", ""); rec.Code != http.StatusInternalServerError {
		t.Fatalf("status %d", rec.Code)
	}
	if logs := e.logs.String(); !strings.Contains(logs, `"level":"ERROR","msg":"request"`) {
		t.Fatalf("500 not logged as an error:\n%s", logs)
	}
}

// withHeaders is a response object that sets headers of its own before
// writing an off-contract body.
type withHeaders struct{ raw }

func (w withHeaders) VisitFindPersonResponse(rw http.ResponseWriter) error {
	rw.Header().Set("Location", "https://evil.example/")
	rw.Header().Set("Set-Cookie", "session=handler")
	rw.Header().Set("Cache-Control", "public, max-age=86400")
	return w.raw.write(rw)
}

// Issue 20: the 500 that replaces an invalid response in enforce mode
// carries none of the headers the handler had set for the response it
// replaces; report mode sends them with that response.
func TestInvalidResponseEnforceDropsHandlerHeaders(t *testing.T) {
	t.Parallel()
	impl := &fake{findPerson: func(context.Context, apiserver.FindPersonRequestObject) (apiserver.FindPersonResponseObject, error) {
		return withHeaders{raw{status: 200, body: `{"data":{"local_id":"S1"}}`}}, nil
	}}
	e := newEnv(t, impl, server.WithResponseValidation(server.ValidationEnforce))
	rec := e.do("GET", base+"/rostering/persons/"+uuid.NewString(), "", "X-Request-Id", "enf-2")
	wantError(t, rec, 500, "internal_error")
	for _, h := range []string{"Location", "Set-Cookie", "Cache-Control"} {
		if v := rec.Header().Get(h); v != "" {
			t.Errorf("the replacement 500 carries the handler's %s: %q", h, v)
		}
	}
	if got := rec.Header().Get(server.HeaderRequestID); got != "enf-2" {
		t.Errorf("X-Request-Id = %q, want the kit's own header kept", got)
	}

	e = newEnv(t, impl, server.WithResponseValidation(server.ValidationReport))
	rec = e.do("GET", base+"/rostering/persons/"+uuid.NewString(), "")
	if rec.Code != 200 || rec.Header().Get("Set-Cookie") != "session=handler" {
		t.Errorf("report mode: %d, Set-Cookie %q", rec.Code, rec.Header().Get("Set-Cookie"))
	}
}
