package client_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/interop-data/interop/pkg/client"
	"github.com/interop-data/interop/pkg/contract"
)

// fuzzTransport answers every request in-process: the first list page
// carries the fuzzed next link, every later request the fuzzed body. It
// records each request's origin so a target can check where the client
// sent its token.
type fuzzTransport struct {
	mu       sync.Mutex
	first    []byte
	rest     []byte
	status   int
	ctype    string
	requests int
	origins  []string
}

func (f *fuzzTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if req.Body != nil {
		_, _ = io.Copy(io.Discard, req.Body)
		req.Body.Close()
	}
	f.requests++
	f.origins = append(f.origins, req.URL.Scheme+"://"+req.URL.Host)
	body, status := f.rest, f.status
	if f.requests == 1 && f.first != nil {
		body, status = f.first, 200
	}
	return &http.Response{
		StatusCode: status, Status: strconv.Itoa(status) + " " + http.StatusText(status),
		Header:  http.Header{"Content-Type": {f.ctype}},
		Body:    io.NopCloser(bytes.NewReader(body)),
		Request: req, ProtoMajor: 1, ProtoMinor: 1,
	}, nil
}

const fuzzOrigin = "https://api.example.org"

func fuzzClient(t testing.TB, tr *fuzzTransport) *client.Client {
	c, err := client.New(fuzzOrigin+contract.BasePath, client.WithBearerToken("t"),
		client.WithHTTPClient(&http.Client{Transport: tr}), client.WithRetryPolicy(client.RetryPolicy{MaxAttempts: 1}))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

const person = `{"$sys":{"id":"0b6b1f5e-2d0c-4c59-9d43-1f4e8a3d9c01","type":"Person","person_type":"Student","label":"A B"},"name":{"first":"A","last":"B"}}`

// FuzzNextLink walks a list whose first page's paging.next is fuzzed and
// whose later pages are a fuzzed body. Properties: no panic; the walk ends
// (a fixed answer cannot page forever: a repeated link is ErrPagingLoop);
// and the client never sends a request, with its bearer token, to an origin
// other than its base URL's.
func FuzzNextLink(f *testing.F) {
	page2 := `{"data":[` + person + `],"paging":{"next":null}}`
	for _, s := range [][2]string{
		{fuzzOrigin + contract.BasePath + "/rostering/persons?page=1", page2},
		{"/v2/interop/data/rostering/persons?page=1", page2},
		{"?page=1", `{"data":[` + person + `],"paging":{"next":"?page=1"}}`},
		{"https://evil.example/steal", page2},
		{"//evil.example/x", page2},
		{"http://api.example.org/v2/interop/data/rostering/persons?page=1", page2},
		{"https://api.example.org:444/x", page2},
		{"https://API.example.org/x", page2},
		{"%zz", page2},
		{"", page2},
		{fuzzOrigin + "/other", `{"data":[],"paging":{"next":"x"}}`},
		{"?page=2", `{"data":[` + person + `],"paging":{"next":"https://evil.example/"}}`},
		{"?page=3", `{"data":[{}],"paging":{}}`},
		{"?page=4", `not json`},
	} {
		f.Add(s[0], []byte(s[1]))
	}
	f.Fuzz(func(t *testing.T, next string, rest []byte) {
		nextJSON, _ := json.Marshal(next)
		tr := &fuzzTransport{first: []byte(`{"data":[` + person + `],"paging":{"next":` + string(nextJSON) + `}}`), rest: rest, status: 200, ctype: "application/json"}
		c := fuzzClient(t, tr)
		n := 0
		for _, err := range c.Persons(context.Background(), nil) {
			if err != nil {
				break
			}
			if n++; n > 10_000 {
				t.Fatal("the walk does not end")
			}
		}
		if tr.requests > 1000 {
			t.Fatalf("%d requests for a fixed answer", tr.requests)
		}
		for _, o := range tr.origins {
			if o != fuzzOrigin {
				t.Fatalf("request sent to %s (base %s), next %q", o, fuzzOrigin, next)
			}
		}
	})
}

// FuzzDecodeResponse has the client decode an arbitrary answer (status,
// Content-Type, body) to a find and to a list. Properties: no panic; a
// success is only reported for a 2xx; every failure of a non-2xx answer
// is an *client.APIError carrying that status.
func FuzzDecodeResponse(f *testing.F) {
	for _, s := range []struct {
		status int
		ctype  string
		body   string
	}{
		{200, "application/json", `{"data":` + person + `}`},
		{200, "application/json", `{"data":[` + person + `],"paging":{"next":null}}`},
		{200, "application/json", `{"data":null}`},
		{200, "text/html", `<html>`},
		{404, "application/json", `{"error":{"status":404,"code":"not_found","message":"no"}}`},
		{400, "application/json", `{"error":"invalid_request"}`},
		{429, "application/json", `{"error":{"status":429,"code":"rate_limited","message":"slow"}}`},
		{500, "text/plain", `boom`},
		{200, "application/json", `{"data":{"$sys":{"id":"x"}}}`},
		{204, "", ``},
		{200, "application/json", strings.Repeat("[", 10000)},
	} {
		f.Add(s.status, s.ctype, []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, status int, ctype string, body []byte) {
		if status < 200 || status > 599 {
			return
		}
		tr := &fuzzTransport{rest: body, status: status, ctype: ctype}
		c := fuzzClient(t, tr)
		p, err := c.FindPerson(context.Background(), uuid.MustParse("0b6b1f5e-2d0c-4c59-9d43-1f4e8a3d9c01"))
		check := func(what string, ok bool, err error) {
			if status >= 300 && ok {
				t.Fatalf("%s: success reported for a %d", what, status)
			}
			var ae *client.APIError
			if status >= 400 && err != nil && (!errors.As(err, &ae) || ae.StatusCode != status) {
				t.Fatalf("%s: a %d answered %T %v", what, status, err, err)
			}
		}
		check("find", err == nil && p != nil, err)
		if err == nil && p == nil {
			t.Fatal("find: neither a person nor an error")
		}
		for _, err := range c.Persons(context.Background(), nil) {
			check("list", err == nil, err)
			if err != nil {
				break
			}
		}
	})
}

// A 3xx that http.Client does not follow (300, 304, a redirect without a
// Location) is not the operation's answer, even with a body that reads as
// one: it is an *APIError with its status (found by FuzzDecodeResponse).
func TestNon2xxWithAnswerBodyIsAnError(t *testing.T) {
	for _, status := range []int{300, 304, 302, 399} {
		tr := &fuzzTransport{rest: []byte(`{"data":` + person + `}`), status: status, ctype: "application/json"}
		p, err := fuzzClient(t, tr).FindPerson(context.Background(), uuid.MustParse("0b6b1f5e-2d0c-4c59-9d43-1f4e8a3d9c01"))
		var ae *client.APIError
		if p != nil || !errors.As(err, &ae) || ae.StatusCode != status {
			t.Errorf("%d: person %v, err %T %v; want an *APIError with status %d", status, p, err, err, status)
		}
	}
}
