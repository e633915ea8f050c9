package client

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"

	"github.com/interop-data/interop/pkg/contract"
)

// ValidationMode says what the client does with a request or response that
// breaks the contract. It is the contract package's Mode, shared with the
// server kit.
type ValidationMode = contract.Mode

const (
	// ValidationOff skips validation entirely (the cheapest mode).
	ValidationOff = contract.ModeOff
	// ValidationReport validates, logs each violation (and hands it to the
	// WithValidationReporter callback) and lets the exchange proceed. It is
	// the default: a server that drifts from the contract is noticed without
	// breaking integrations that would cope.
	ValidationReport = contract.ModeReport
	// ValidationEnforce turns every violation into a *ValidationError: a bad
	// request is not sent, a bad response is not returned.
	ValidationEnforce = contract.ModeEnforce
)

// validator is the http.RoundTripper that checks every request and response
// against the embedded contract.
type validator struct {
	next     http.RoundTripper
	mode     ValidationMode
	router   routers.Router
	opts     *openapi3filter.Options // for requests and responses alike
	basePath string                  // the path prefix of the client's base URL, e.g. /mount/v2/interop/data
	report   func(*ValidationError)
	logger   *slog.Logger
}

func newValidator(next http.RoundTripper, base *url.URL, mode ValidationMode, report func(*ValidationError), logger *slog.Logger) (*validator, error) {
	_, router, err := contract.NewRouter()
	if err != nil {
		return nil, err
	}
	return &validator{
		next:     next,
		mode:     mode,
		router:   router,
		opts:     contract.FilterOptions(nil),
		basePath: strings.TrimSuffix(base.Path, "/"),
		report:   report,
		logger:   logger,
	}, nil
}

// relPath returns the request path relative to the client's base URL, or
// false when the request is not under it.
func (v *validator) relPath(u *url.URL) (string, bool) {
	p := u.Path
	if !strings.HasPrefix(p, v.basePath) {
		return "", false
	}
	rel := p[len(v.basePath):]
	if rel != "" && rel[0] != '/' {
		return "", false
	}
	return rel, true
}

// route finds the operation of req. The router knows only contract.BasePath,
// so the request path is re-rooted there: that makes validation independent
// of the host and of the mount point the base URL names.
func (v *validator) route(req *http.Request) (*routers.Route, map[string]string, *http.Request, string, error) {
	rel, ok := v.relPath(req.URL)
	if !ok {
		return nil, nil, nil, req.URL.Path, fmt.Errorf("path %q is not under the base path %q", req.URL.Path, v.basePath)
	}
	u := *req.URL
	u.Path = contract.BasePath + rel
	u.RawPath = ""
	rr := req.Clone(req.Context())
	rr.URL = &u
	route, params, err := v.router.FindRoute(rr)
	if err != nil {
		return nil, nil, nil, rel, err
	}
	return route, params, rr, rel, nil
}

func (v *validator) RoundTrip(req *http.Request) (*http.Response, error) {
	if v.mode == ValidationOff {
		return v.next.RoundTrip(req)
	}
	ctx := req.Context()
	route, params, routed, rel, err := v.route(req)
	if err != nil {
		verr := &ValidationError{Direction: "request", Method: req.Method, Path: rel, Rule: "operation", Reason: "no operation of the contract matches: " + err.Error(), Err: err}
		if ferr := v.fail(verr); ferr != nil {
			return nil, ferr
		}
		return v.next.RoundTrip(req)
	}
	op := route.Operation.OperationID

	// Request: validate a copy so the body can still be sent.
	var reqBody []byte
	if req.Body != nil && req.Body != http.NoBody {
		reqBody, err = io.ReadAll(req.Body)
		_ = req.Body.Close()
		if err != nil {
			return nil, err
		}
		req.Body = io.NopCloser(bytes.NewReader(reqBody))
		routed.Body = io.NopCloser(bytes.NewReader(reqBody))
	}
	in := &openapi3filter.RequestValidationInput{Request: routed, PathParams: params, Route: route, Options: v.opts}
	if err := openapi3filter.ValidateRequest(ctx, in); err != nil {
		if ferr := v.fail(describe(err, op, "request", req.Method, rel, 0)); ferr != nil {
			return nil, ferr
		}
	}

	resp, err := v.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	rin := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in,
		Status:                 resp.StatusCode,
		Header:                 resp.Header,
		Body:                   io.NopCloser(bytes.NewReader(body)),
		Options:                v.opts,
	}
	if st := resp.StatusCode; st < 500 && route.Operation.Responses.Status(st) == nil && route.Operation.Responses.Default() == nil {
		// A status the operation does not declare breaks the contract. 5xx
		// are exempt: gateways and load balancers answer them for the API.
		verr := &ValidationError{Operation: op, Direction: "response", Method: req.Method, Path: rel, Status: st,
			Field: "status", Rule: "status", Reason: fmt.Sprintf("status %d is not declared for this operation", st)}
		if ferr := v.fail(verr); ferr != nil {
			return nil, ferr
		}
	} else if err := openapi3filter.ValidateResponse(ctx, rin); err != nil {
		if ferr := v.fail(describe(err, op, "response", req.Method, rel, resp.StatusCode)); ferr != nil {
			return nil, ferr
		}
	}
	return resp, nil
}

// fail reports a violation and, in enforce mode, returns it as the error of
// the exchange.
func (v *validator) fail(e *ValidationError) error {
	if v.report != nil {
		v.report(e)
	}
	// A 5xx is reported but never enforced: its body may come from a
	// gateway rather than the API, and turning it into a ValidationError
	// would hide the server failure (and its retry) from the caller.
	if v.mode == ValidationEnforce && !(e.Direction == "response" && e.Status >= 500) {
		return e
	}
	v.logger.Warn("interop: contract violation", "operation", e.Operation, "direction", e.Direction,
		"status", e.Status, "field", e.Field, "rule", e.Rule, "reason", e.Reason)
	return nil
}

// describe turns a kin-openapi error into a ValidationError naming the
// field and the rule.
func describe(err error, op, dir, method, path string, status int) *ValidationError {
	ve := &ValidationError{Operation: op, Direction: dir, Method: method, Path: path, Status: status, Err: err, Reason: err.Error()}
	var se *openapi3.SchemaError
	if errors.As(err, &se) {
		// Combinators (allOf, anyOf) wrap the error of the element that
		// failed; its path continues the outer one. Descend to the
		// innermost error, which names the actual field and rule.
		path := se.JSONPointer()
		for se.Origin != nil {
			var inner *openapi3.SchemaError
			if !errors.As(se.Origin, &inner) {
				break
			}
			se = inner
			path = append(path, se.JSONPointer()...)
		}
		ve.Field = "/" + strings.Join(path, "/")
		ve.Rule = se.SchemaField
		ve.Reason = se.Reason
	}
	var reqErr *openapi3filter.RequestError
	if errors.As(err, &reqErr) {
		if reqErr.Parameter != nil {
			ve.Field = reqErr.Parameter.In + " parameter " + reqErr.Parameter.Name
			if ve.Rule == "" {
				ve.Rule = "parameter"
			}
		} else if reqErr.RequestBody != nil && se == nil {
			ve.Field = "body"
			ve.Rule = "body"
		}
		if se == nil {
			ve.Reason = reqErr.Error()
		}
	}
	var respErr *openapi3filter.ResponseError
	if errors.As(err, &respErr) && se == nil {
		switch {
		case strings.Contains(respErr.Reason, "header"):
			ve.Field = "header"
			ve.Rule = "header"
		default:
			ve.Field = "body"
			ve.Rule = "body"
		}
		ve.Reason = strings.TrimSpace(ve.Reason)
	}
	if ve.Field == "/" {
		ve.Field = "body"
	}
	return ve
}

// The validator has no state per request; compile-time check of its type.
var _ http.RoundTripper = (*validator)(nil)
