package server_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/interop-data/interop/gen/apiserver"
	"github.com/interop-data/interop/gen/models"
	"github.com/interop-data/interop/internal/fakeclock"
	"github.com/interop-data/interop/internal/syncbuf"
	"github.com/interop-data/interop/pkg/contract"
	"github.com/interop-data/interop/pkg/server"
	"github.com/interop-data/interop/pkg/server/auth"
)

const base = contract.BasePath

// fake is the small implementation the kit is tested with: each operation a
// test needs is a function field; the rest answer 501 through Unimplemented.
type fake struct {
	server.Unimplemented
	listPersons func(context.Context, apiserver.ListPersonsRequestObject) (apiserver.ListPersonsResponseObject, error)
	findPerson  func(context.Context, apiserver.FindPersonRequestObject) (apiserver.FindPersonResponseObject, error)
	ackTask     func(context.Context, apiserver.AcknowledgeTaskRequestObject) (apiserver.AcknowledgeTaskResponseObject, error)
}

func (f *fake) ListPersons(ctx context.Context, r apiserver.ListPersonsRequestObject) (apiserver.ListPersonsResponseObject, error) {
	if f.listPersons == nil {
		return f.Unimplemented.ListPersons(ctx, r)
	}
	return f.listPersons(ctx, r)
}

func (f *fake) FindPerson(ctx context.Context, r apiserver.FindPersonRequestObject) (apiserver.FindPersonResponseObject, error) {
	if f.findPerson == nil {
		return f.Unimplemented.FindPerson(ctx, r)
	}
	return f.findPerson(ctx, r)
}

func (f *fake) AcknowledgeTask(ctx context.Context, r apiserver.AcknowledgeTaskRequestObject) (apiserver.AcknowledgeTaskResponseObject, error) {
	if f.ackTask == nil {
		return f.Unimplemented.AcknowledgeTask(ctx, r)
	}
	return f.ackTask(ctx, r)
}

// raw is a response object that writes whatever it is given, to provoke
// off-contract responses.
type raw struct {
	status int
	ctype  string // default application/json
	body   string
}

func (r raw) write(w http.ResponseWriter) error {
	ct := r.ctype
	if ct == "" {
		ct = "application/json"
	}
	w.Header().Set("Content-Type", ct)
	w.WriteHeader(r.status)
	_, err := io.WriteString(w, r.body)
	return err
}

func (r raw) VisitFindPersonResponse(w http.ResponseWriter) error  { return r.write(w) }
func (r raw) VisitListPersonsResponse(w http.ResponseWriter) error { return r.write(w) }

// newClock is the injected clock tests advance instead of sleeping.
func newClock() *fakeclock.Clock {
	return fakeclock.New(time.Date(2025, 11, 16, 12, 0, 0, 0, time.UTC))
}

// syncBuffer is a log and output sink safe for the goroutines a test starts.
type syncBuffer = syncbuf.Buffer

type env struct {
	t      testing.TB
	srv    *server.Server
	oauth  *auth.OAuth2
	clock  *fakeclock.Clock
	tenant uuid.UUID
	token  string
	logs   *syncBuffer
}

const (
	clientID     = "client-1"
	clientSecret = "secret-1"
)

func newEnv(t testing.TB, impl apiserver.StrictServerInterface, opts ...server.Option) *env {
	t.Helper()
	e := &env{t: t, clock: newClock(), tenant: uuid.MustParse("5e0c8c53-8c6d-4e43-9a8f-6a1b6f1d2c11"), logs: &syncBuffer{}}
	clients := auth.NewMemoryClientStore(auth.Client{ID: clientID, TenantID: e.tenant, SecretHash: auth.HashSecret(clientSecret)})
	e.oauth = auth.NewOAuth2(clients, auth.NewMemoryTokenStore(), auth.WithClock(e.clock.Now))
	logger := slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	all := append([]server.Option{server.WithTokenEndpoint(e.oauth), server.WithLogger(logger), server.WithClock(e.clock.Now)}, opts...)
	srv, err := server.New(impl, all...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	e.srv = srv
	tok, _, err := e.oauth.IssueToken(context.Background(), auth.Client{ID: clientID, TenantID: e.tenant})
	if err != nil {
		t.Fatal(err)
	}
	e.token = tok
	return e
}

// do sends a request through the whole handler. headers alternate name and
// value; "Authorization" defaults to the env's valid token; the pseudo-headers
// "Host", "RemoteAddr" and "LocalAddr" set the request's Host, client address
// and the server address its connection arrived on.
func (e *env) do(method, path, body string, headers ...string) *httptest.ResponseRecorder {
	e.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, rd)
	req.Header.Set("Authorization", "Bearer "+e.token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i] == "Host" {
			req.Host = headers[i+1]
			continue
		}
		if headers[i] == "RemoteAddr" {
			req.RemoteAddr = headers[i+1]
			continue
		}
		if headers[i] == "LocalAddr" { // the address the connection arrived on
			addr, err := net.ResolveTCPAddr("tcp", headers[i+1])
			if err != nil {
				e.t.Fatal(err)
			}
			req = req.WithContext(context.WithValue(req.Context(), http.LocalAddrContextKey, addr))
			continue
		}
		if headers[i+1] == "" {
			req.Header.Del(headers[i])
		} else {
			req.Header.Set(headers[i], headers[i+1])
		}
	}
	rec := httptest.NewRecorder()
	e.srv.Handler().ServeHTTP(rec, req)
	return rec
}

// doBody sends a request whose body is body, declared as length bytes of
// JSON, with the env's token.
func (e *env) doBody(method, path string, body io.ReadCloser, length int64) *httptest.ResponseRecorder {
	e.t.Helper()
	req := httptest.NewRequest(method, path, nil)
	req.Body, req.ContentLength = body, length
	req.Header.Set("Authorization", "Bearer "+e.token)
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	e.srv.Handler().ServeHTTP(rec, req)
	return rec
}

var (
	errorSchemaOnce sync.Once
	errorSchemaDoc  *contractDoc
)

type contractDoc struct {
	validate func(v any) error
}

// errorSchema validates a decoded body against the spec's ErrorResponse.
func errorSchema(t testing.TB) *contractDoc {
	errorSchemaOnce.Do(func() {
		doc, err := contract.Load()
		if err != nil {
			t.Fatal(err)
		}
		s := doc.Components.Schemas["ErrorResponse"].Value
		errorSchemaDoc = &contractDoc{validate: func(v any) error { return s.VisitJSON(v, contract.SchemaOptions()...) }}
	})
	return errorSchemaDoc
}

// wantError checks that rec is the spec's error body with status and code,
// and returns it.
func wantError(t testing.TB, rec *httptest.ResponseRecorder, status int, code string) models.ErrorType {
	t.Helper()
	if rec.Code != status {
		t.Fatalf("status = %d, want %d; body %s", rec.Code, status, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	var generic any
	if err := json.Unmarshal(rec.Body.Bytes(), &generic); err != nil {
		t.Fatalf("body is not JSON: %v: %s", err, rec.Body)
	}
	if err := errorSchema(t).validate(generic); err != nil {
		t.Errorf("body does not match ErrorResponse: %v: %s", err, rec.Body)
	}
	var body models.ErrorResponse
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatal(err)
	}
	if int(body.Error.Status) != status || body.Error.Code != code {
		t.Errorf("error = %d %q, want %d %q (%s)", body.Error.Status, body.Error.Code, status, code, rec.Body)
	}
	for _, leak := range []string{"strconv", "json:", "goroutine", "runtime.", ".go:", "openapi3", "kin-openapi", "Error at"} {
		if strings.Contains(rec.Body.String(), leak) {
			t.Errorf("body leaks internals (%q): %s", leak, rec.Body)
		}
	}
	return body.Error
}

func details(e models.ErrorType) string {
	return e.Details
}

func personsPage(n int) apiserver.ListPersons200JSONResponse {
	data := make([]models.Person, n)
	for i := range data {
		id := uuid.New()
		first, last, email := "Zoë", "Núñez", "zoe@example.org"
		label := first + " " + last
		data[i] = models.Person{
			Sys:   models.PersonSysType{ID: id, Label: label, PersonType: "Student"},
			Name:  models.NameType{First: first, Last: last},
			Email: email,
		}
	}
	return apiserver.ListPersons200JSONResponse{PersonsPageJSONResponse: apiserver.PersonsPageJSONResponse{Data: data, Paging: models.Paging{}}}
}
