package conformance_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/interop-data/interop/pkg/conformance"
	"github.com/interop-data/interop/pkg/conformance/internal/fake"
)

// target is a server under test seen as a handler, whatever serves it: the
// in-package fake or a reverse proxy to the reference server.
type target struct {
	inner    http.Handler
	base     string // base path of the API, e.g. /v2/interop/data
	clients  [2]conformance.Credentials
	advance  func(time.Duration)
	lease    time.Duration
	tokenURL string // path of the token endpoint
	ltiToken string // a token standing for an LTI JWT of the first tenant

	mu       sync.Mutex
	byAuth   map[string]int // Authorization header -> client index
	firstIDs [2]string
}

// tenantOf tells which client's tenant r's token belongs to (-1: neither),
// by what the token sees: the suite's tokens are its own, not the test's.
func (tg *target) tenantOf(t testing.TB, r *http.Request) int {
	tg.mu.Lock()
	defer tg.mu.Unlock()
	authz := r.Header.Get("Authorization")
	if i, ok := tg.byAuth[authz]; ok {
		return i
	}
	first := func(authz string) string {
		rec := call(tg.inner, clone(r, "GET", tg.base+"/rostering/persons", url.Values{"page_size": {"1"}}, nil, authz))
		if rec.Code != 200 {
			return ""
		}
		data, _ := decode(rec.Body.Bytes())["data"].([]any)
		if len(data) == 0 {
			return ""
		}
		b, _ := json.Marshal(data[0])
		return string(b)
	}
	if tg.byAuth == nil {
		tg.byAuth = map[string]int{}
		tok := tg.tokens(t)
		tg.firstIDs = [2]string{first(tok[0]), first(tok[1])}
	}
	idx := -1
	if f := first(authz); f != "" {
		for i, id := range tg.firstIDs {
			if id == f {
				idx = i
			}
		}
	}
	tg.byAuth[authz] = idx
	return idx
}

func fakeTarget(t testing.TB) *target {
	t.Helper()
	f := fake.New(time.Minute)
	return &target{
		inner: f.Handler(),
		base:  fake.BasePath,
		clients: [2]conformance.Credentials{
			{ClientID: f.Clients[0].ID, ClientSecret: f.Clients[0].Secret},
			{ClientID: f.Clients[1].ID, ClientSecret: f.Clients[1].Secret},
		},
		advance:  f.Advance,
		lease:    time.Minute,
		tokenURL: "/oauth/token",
		ltiToken: f.LTIToken,
	}
}

// serve puts h (the target, possibly wrapped by a breakage) behind an
// httptest server and returns the suite's configuration for it.
func (tg *target) serve(t testing.TB, h http.Handler) conformance.Config {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return conformance.Config{
		BaseURL:   srv.URL + tg.base,
		TokenURL:  srv.URL + tg.tokenURL,
		Clients:   tg.clients[:],
		LeaseWait: tg.lease,
		Wait:      func(_ context.Context, d time.Duration) error { tg.advance(d); return nil },
		LTIToken:  tg.ltiToken,
	}
}

// call runs r through h and returns the recorded response.
func call(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec
}

// clone copies r with a new method, path, query, body and Authorization.
func clone(r *http.Request, method, path string, q url.Values, body []byte, authz string) *http.Request {
	u := *r.URL
	u.Path = path
	u.RawPath = ""
	if q != nil {
		u.RawQuery = q.Encode()
	}
	c := httptest.NewRequest(method, u.String(), bytes.NewReader(body)).WithContext(r.Context())
	c.Host = r.Host
	c.Header = r.Header.Clone()
	if authz != "" {
		c.Header.Set("Authorization", authz)
	}
	if body != nil {
		c.Header.Set("Content-Type", "application/json")
	}
	return c
}

// reply copies a recorded response to w.
func reply(w http.ResponseWriter, rec *httptest.ResponseRecorder) {
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func decode(b []byte) map[string]any {
	var m map[string]any
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	_ = d.Decode(&m)
	return m
}

// tokens obtains a bearer token of each client from the target itself.
func (tg *target) tokens(t testing.TB) [2]string {
	t.Helper()
	var out [2]string
	for i, c := range tg.clients {
		form := url.Values{"grant_type": {"client_credentials"}, "client_id": {c.ClientID}, "client_secret": {c.ClientSecret}}
		r := httptest.NewRequest("POST", tg.tokenURL, strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		rec := call(tg.inner, r)
		tok, _ := decode(rec.Body.Bytes())["access_token"].(string)
		if tok == "" {
			t.Fatalf("no token for client %d: %d %s", i+1, rec.Code, rec.Body)
		}
		out[i] = "Bearer " + tok
	}
	return out
}

// rel is r's path relative to the API base ("" when outside it).
func (tg *target) rel(r *http.Request) string {
	p, ok := strings.CutPrefix(r.URL.Path, tg.base)
	if !ok {
		return ""
	}
	return p
}

func readBody(r *http.Request) []byte {
	if r.Body == nil {
		return nil
	}
	b, _ := io.ReadAll(r.Body)
	return b
}
