package reference_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/interop-data/interop/pkg/reference/referencetest"
)

// api is one tenant's view of a running server.
type api struct {
	t     *testing.T
	env   *referencetest.Env
	token string
}

func newAPI(t *testing.T, env *referencetest.Env, tenant int) *api {
	return &api{t: t, env: env, token: env.Token(t, tenant)}
}

// credential is a kind of caller. The isolation and task tests run as each
// (eachCredential): every guarantee an OAuth2 caller has holds for an LTI
// JWT caller too.
type credential string

const (
	oauth2Credential credential = "oauth2"
	ltiCredential    credential = "lti-jwt"
)

func eachCredential(t *testing.T, fn func(t *testing.T, cred credential)) {
	for _, c := range []credential{oauth2Credential, ltiCredential} {
		t.Run(string(c), func(t *testing.T) { fn(t, c) })
	}
}

// tokenAs is a bearer token of this kind for tenant i: an OAuth2 access
// token, or an LTI JWT of the test issuer naming the tenant.
func tokenAs(t *testing.T, env *referencetest.Env, cred credential, tenant int) string {
	if cred == ltiCredential {
		return env.LTIToken(t, tenant)
	}
	return env.Token(t, tenant)
}

// newAPIAs is newAPI with a credential of this kind.
func newAPIAs(t *testing.T, env *referencetest.Env, cred credential, tenant int) *api {
	return &api{t: t, env: env, token: tokenAs(t, env, cred, tenant)}
}

// do sends a request (path relative to the base URL, or absolute) and
// returns the status and body. Every answer must be JSON.
func (a *api) do(method, path string, body any) (int, []byte) {
	a.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		rd = bytes.NewReader(j)
	}
	u := path
	if !strings.HasPrefix(path, "http") {
		u = a.env.URL + path
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		a.t.Fatal(err)
	}
	if a.token != "" {
		req.Header.Set("Authorization", "Bearer "+a.token)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		a.t.Fatalf("%s %s: Content-Type %q: %s", method, path, ct, b)
	}
	return resp.StatusCode, b
}

// get expects 200 and decodes the body into v.
func (a *api) get(path string, v any) {
	a.t.Helper()
	code, b := a.do(http.MethodGet, path, nil)
	if code != http.StatusOK {
		a.t.Fatalf("GET %s = %d: %s", path, code, b)
	}
	if err := json.Unmarshal(b, v); err != nil {
		a.t.Fatalf("GET %s: %v", path, err)
	}
}

// wantError expects an error answer with this status and code.
func (a *api) wantError(method, path string, body any, status int, code string) string {
	a.t.Helper()
	got, b := a.do(method, path, body)
	var e struct {
		Error struct {
			Status  int    `json:"status"`
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal(b, &e); err != nil || got != status || e.Error.Status != status || e.Error.Code != code {
		a.t.Fatalf("%s %s = %d %s, want %d %s", method, path, got, b, status, code)
	}
	return e.Error.Message
}

type page struct {
	Data   []json.RawMessage `json:"data"`
	Paging struct {
		Next *string `json:"next"`
	} `json:"paging"`
}

type sysOnly struct {
	Sys struct {
		ID string `json:"id"`
	} `json:"$sys"`
}

// walk follows paging.next from the first page and returns every $sys.id,
// failing on an empty page other than a lone first one.
func (a *api) walk(path string) []string {
	a.t.Helper()
	var ids []string
	next := path
	for n := 0; ; n++ {
		var p page
		a.get(next, &p)
		if len(p.Data) == 0 && n > 0 {
			a.t.Fatalf("walk %s: empty page %d", path, n)
		}
		for _, raw := range p.Data {
			var s sysOnly
			_ = json.Unmarshal(raw, &s)
			ids = append(ids, s.Sys.ID)
		}
		if p.Paging.Next == nil {
			return ids
		}
		if !strings.HasPrefix(*p.Paging.Next, a.env.URL) {
			a.t.Fatalf("walk %s: next %q is not an absolute URL on the server", path, *p.Paging.Next)
		}
		next = *p.Paging.Next
	}
}

type taskView struct {
	ID       string `json:"id"`
	Sequence int64  `json:"sequence"`
	TenantID string `json:"tenant_id"`
	Action   string `json:"action"`
}

// tasks decodes a page of default-rendered tasks into their payloads.
func tasksOf(t *testing.T, b []byte) []taskView {
	t.Helper()
	var p struct {
		Data []map[string]json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	out := make([]taskView, 0, len(p.Data))
	for _, task := range p.Data {
		if len(task) != 1 {
			t.Fatalf("default rendering carries %d keys, want one payload key: %v", len(task), task)
		}
		for _, payload := range task {
			var v taskView
			_ = json.Unmarshal(payload, &v)
			out = append(out, v)
		}
	}
	return out
}

func (a *api) lease(path string) []taskView {
	a.t.Helper()
	code, b := a.do(http.MethodGet, path, nil)
	if code != 200 {
		a.t.Fatalf("GET %s = %d %s", path, code, b)
	}
	return tasksOf(a.t, b)
}

func ids(ts []taskView) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.ID
	}
	return out
}

func jsonDecode(resp *http.Response, v any) error {
	defer resp.Body.Close()
	return json.NewDecoder(resp.Body).Decode(v)
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
