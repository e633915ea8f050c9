package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// mount is the non-root path the fake API is served under: the client must
// work whatever base path its URL names.
const mount = "/mount/v2/interop/data"

// fakeAPI is an httptest server mounted under a non-root base path, with a
// token endpoint at the host's root as the vendor serves it.
type fakeAPI struct {
	srv        *httptest.Server
	mux        *http.ServeMux
	base       string
	tokenCalls atomic.Int32
	tokenTTL   atomic.Int64 // seconds; 3600 unless set
}

func newFakeAPI(t testing.TB) *fakeAPI {
	t.Helper()
	f := &fakeAPI{mux: http.NewServeMux()}
	f.tokenTTL.Store(3600)
	f.mux.HandleFunc("POST /oauth/token", func(w http.ResponseWriter, r *http.Request) {
		id, secret, ok := r.BasicAuth()
		if !ok {
			_ = r.ParseForm()
			id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
		}
		if id != "id" || secret != "secret" {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"error":"invalid_client","error_description":"unknown client"}`))
			return
		}
		n := f.tokenCalls.Add(1)
		writeJSON(w, 200, map[string]any{"access_token": fmt.Sprintf("tok-%d", n), "token_type": "Bearer", "expires_in": f.tokenTTL.Load()})
	})
	f.srv = httptest.NewServer(f.mux)
	t.Cleanup(f.srv.Close)
	f.base = f.srv.URL + mount
	return f
}

// handle registers h for "METHOD /path" relative to the API base.
func (f *fakeAPI) handle(method, path string, h http.HandlerFunc) {
	f.mux.HandleFunc(method+" "+mount+path, h)
}

// fakeSleep records the pauses a policy asks for and returns at once.
type fakeSleep struct {
	mu     sync.Mutex
	delays []time.Duration
}

func (s *fakeSleep) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.delays = append(s.delays, d)
	s.mu.Unlock()
	return ctx.Err()
}

func (s *fakeSleep) all() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.delays...)
}

// testPolicy retries fast with a recorded sleep and the full jitter ceiling.
func testPolicy(s *fakeSleep) RetryPolicy {
	p := DefaultRetryPolicy()
	p.clk = funcClock{sleep: s.sleep}
	p.jitter = func() float64 { return 0.5 }
	return p
}

func (f *fakeAPI) client(t testing.TB, s *fakeSleep, opts ...Option) *Client {
	t.Helper()
	if s == nil {
		s = &fakeSleep{}
	}
	all := append([]Option{
		WithHTTPClient(f.srv.Client()),
		WithRetryPolicy(testPolicy(s)),
		WithValidation(ValidationEnforce),
		WithBearerToken("static"),
	}, opts...)
	c, err := New(f.base, all...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]any{"status": status, "code": code, "message": msg}})
}

// person returns a contract-conformant person numbered i.
func person(i int) map[string]any {
	return map[string]any{
		"$sys":     map[string]any{"id": fmt.Sprintf("00000000-0000-4000-8000-%012d", i), "person_type": "Student", "label": fmt.Sprintf("Student %d", i)},
		"local_id": fmt.Sprintf("S%d", i),
		"name":     map[string]any{"first": "Ann", "last": fmt.Sprintf("Lee%d", i)},
		"email":    fmt.Sprintf("s%d@example.org", i),
		"dob":      "2014-03-09",
	}
}

func personsPage(from, n int, next any) map[string]any {
	data := make([]any, 0, n)
	for i := from; i < from+n; i++ {
		data = append(data, person(i))
	}
	return map[string]any{"data": data, "paging": map[string]any{"next": next}}
}
