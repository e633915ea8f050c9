package conformance

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"

	"github.com/interop-data/interop/internal/specroute"
	"github.com/interop-data/interop/pkg/contract"
)

// maxBody caps what the suite reads of one response: a server that streams
// forever must not hang or exhaust the suite.
const maxBody = 16 << 20

// tenant is one client of the server under test and its bearer token.
type tenant struct {
	label string // "tenant 1", "tenant 2": the report never prints secrets
	creds Credentials
	token string
}

// auth says what Authorization header a request carries.
type authMode int

const (
	authToken authMode = iota // the tenant's bearer token
	authNone                  // no Authorization header
	authBad                   // a bearer token the server never issued
	authBasic                 // the client's id and secret as HTTP Basic: not an API scheme
)

// request is one call the suite makes.
type request struct {
	method string
	path   string // relative to the base URL, e.g. /rostering/orgs
	query  url.Values
	rawURL string // absolute URL (a paging.next link); overrides path and query
	body   []byte // sent as application/json unless contentType says otherwise
	ctype  string
	as     *tenant
	auth   authMode
}

// exchange is a request and what came back, validated against the contract.
type exchange struct {
	Method string
	URL    string
	Rel    string // path and query relative to the base URL
	Sent   []byte
	Status int
	Header http.Header
	Body   []byte
	OpID   string
	// Violation is why the response breaks the contract (nil when it keeps it).
	Violation error
	// JSON is the decoded body (numbers as json.Number), nil when not JSON.
	JSON any
}

func (e *exchange) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", e.Method, e.Rel)
	if len(e.Sent) > 0 {
		fmt.Fprintf(&b, " %s", abridge(e.Sent, 200))
	}
	fmt.Fprintf(&b, " -> %d", e.Status)
	if len(e.Body) > 0 {
		fmt.Fprintf(&b, " %s", abridge(e.Body, 300))
	}
	return b.String()
}

func abridge(b []byte, n int) string {
	s := strings.TrimSpace(string(b))
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// validator checks responses against the embedded contract.
type validator struct {
	doc    *openapi3.T
	router routers.Router
	opts   *openapi3filter.Options
}

func newValidator() (*validator, error) {
	doc, router, err := specroute.NewRouter()
	if err != nil {
		return nil, err
	}
	opts := specroute.FilterOptions()
	// An undeclared status breaks the contract just as a wrong body does.
	opts.IncludeResponseStatus = true
	opts.MultiError = true
	return &validator{doc: doc, router: router, opts: opts}, nil
}

// check validates one response of the request method+rel (rel relative to the
// base URL) and returns the operation it belongs to.
func (v *validator) check(ctx context.Context, method, rel string, status int, h http.Header, body []byte) (string, error) {
	// Route on a synthetic URL under the contract's base path, so that a server
	// mounted anywhere is validated against the same operations.
	req, err := http.NewRequestWithContext(ctx, method, "http://conformance.invalid"+contract.BasePath+rel, nil)
	if err != nil {
		return "", err
	}
	route, params, err := v.router.FindRoute(req)
	if err != nil {
		return "", fmt.Errorf("no operation of the contract matches %s %s: %v", method, rel, err)
	}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: v.opts}
	err = openapi3filter.ValidateResponse(ctx, &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in,
		Status:                 status,
		Header:                 h,
		Body:                   io.NopCloser(bytes.NewReader(body)),
		Options:                v.opts,
	})
	if err != nil {
		return route.Operation.OperationID, errors.New(describeViolation(status, err))
	}
	return route.Operation.OperationID, nil
}

// describeViolation turns kin-openapi's error into one line that names what
// the contract promises.
func describeViolation(status int, err error) string {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "status is not supported"):
		return fmt.Sprintf("status %d is not one the contract declares for this operation", status)
	case strings.Contains(msg, "response Content-Type"), strings.Contains(msg, "header Content-Type"):
		return fmt.Sprintf("the contract promises application/json for status %d: %s", status, oneLine(msg))
	}
	return fmt.Sprintf("the %d response body does not match the contract's schema: %s", status, oneLine(msg))
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 400 {
		s = s[:400] + "…"
	}
	return s
}

// do sends one request and validates the response. A transport error is
// returned as is; a contract violation is recorded in the exchange.
func (r *run) do(ctx context.Context, q request) (*exchange, error) {
	var target *url.URL
	if q.rawURL != "" {
		u, err := url.Parse(q.rawURL)
		if err != nil {
			return nil, fmt.Errorf("parse %q: %w", q.rawURL, err)
		}
		target = u
	} else {
		u := *r.base
		u.Path = r.base.Path + q.path
		u.RawPath = ""
		if q.query != nil {
			u.RawQuery = q.query.Encode()
		}
		target = &u
	}
	rel, ok := r.relative(target)
	if !ok {
		return nil, fmt.Errorf("%s is not under the base URL %s", target, r.base)
	}
	var body io.Reader
	if q.body != nil {
		body = bytes.NewReader(q.body)
	}
	req, err := http.NewRequestWithContext(ctx, q.method, target.String(), body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	if q.body != nil {
		ct := q.ctype
		if ct == "" {
			ct = "application/json"
		}
		req.Header.Set("Content-Type", ct)
	}
	as := q.as
	if as == nil {
		as = r.tenants[0]
	}
	switch q.auth {
	case authToken:
		req.Header.Set("Authorization", "Bearer "+as.token)
	case authBad:
		req.Header.Set("Authorization", "Bearer conformance-invalid-"+randomUUID())
	case authBasic:
		req.SetBasicAuth(as.creds.ClientID, as.creds.ClientSecret)
	}
	resp, data, err := r.roundTrip(req)
	if err != nil {
		return nil, err
	}
	ex := &exchange{Method: q.method, URL: target.String(), Rel: rel, Sent: q.body,
		Status: resp.StatusCode, Header: resp.Header, Body: data}
	ex.OpID, ex.Violation = r.spec.check(ctx, q.method, rel, resp.StatusCode, resp.Header, data)
	if len(data) > 0 {
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		var v any
		if dec.Decode(&v) == nil {
			ex.JSON = v
		}
	}
	r.record(ex)
	return ex, nil
}

// roundTrip sends req and reads at most maxBody of the answer.
func (r *run) roundTrip(req *http.Request) (*http.Response, []byte, error) {
	resp, err := r.cfg.HTTPClient.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, nil, fmt.Errorf("read body: %w", err)
	}
	return resp, data, nil
}

// relative returns u's path and query relative to the base URL, and whether u
// lies under it (same scheme, host and base path). The suite never sends a
// token anywhere else.
func (r *run) relative(u *url.URL) (string, bool) {
	if !strings.EqualFold(u.Scheme, r.base.Scheme) || !strings.EqualFold(u.Host, r.base.Host) {
		return "", false
	}
	if u.Path != r.base.Path && !strings.HasPrefix(u.Path, r.base.Path+"/") {
		return "", false
	}
	rel := strings.TrimPrefix(u.EscapedPath(), r.base.EscapedPath())
	if u.RawQuery != "" {
		rel += "?" + u.RawQuery
	}
	return rel, true
}

// tokenRequest runs the client-credentials grant with the secret in the form
// body (the form every server must accept) and returns the raw exchange.
func (r *run) tokenRequest(ctx context.Context, form url.Values, basic *Credentials) (*tokenExchange, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.cfg.TokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if basic != nil {
		req.SetBasicAuth(url.QueryEscape(basic.ClientID), url.QueryEscape(basic.ClientSecret))
	}
	resp, data, err := r.roundTrip(req)
	if err != nil {
		return nil, err
	}
	tx := &tokenExchange{Form: redactForm(form), Basic: basic != nil, Status: resp.StatusCode, Header: resp.Header, Body: data}
	_ = json.Unmarshal(data, &tx.JSON)
	return tx, nil
}

// tokenExchange is one call of the token endpoint, secrets redacted.
type tokenExchange struct {
	Form   string
	Basic  bool
	Status int
	Header http.Header
	Body   []byte
	JSON   map[string]any
}

func (t *tokenExchange) String() string {
	auth := ""
	if t.Basic {
		auth = " (HTTP Basic)"
	}
	return fmt.Sprintf("POST token endpoint%s %s -> %d %s", auth, t.Form, t.Status, abridge(redactToken(t.Body), 300))
}

func redactForm(f url.Values) string {
	c := url.Values{}
	for k, v := range f {
		if k == "client_secret" {
			c[k] = []string{"***"}
			continue
		}
		c[k] = v
	}
	return c.Encode()
}

// redactToken hides access tokens from evidence: reports get pasted into issues.
func redactToken(body []byte) []byte {
	var m map[string]any
	if json.Unmarshal(body, &m) != nil {
		return body
	}
	if _, ok := m["access_token"]; ok {
		m["access_token"] = "***"
	}
	out, _ := json.Marshal(m)
	return out
}
