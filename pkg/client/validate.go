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

	"github.com/getkin/kin-openapi/openapi3filter"

	"github.com/interop-data/interop/internal/schemaerr"
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
// against the embedded contract: kin-openapi checks parameters, headers and
// statuses, the contract's compiled schemas check bodies in one pass.
type validator struct {
	next     http.RoundTripper
	mode     ValidationMode
	contract *contract.Compiled // shared by every client of the process
	basePath string             // the path prefix of the client's base URL, e.g. /mount/v2/interop/data
	report   func(*ValidationError)
	logger   *slog.Logger
}

func newValidator(next http.RoundTripper, base *url.URL, mode ValidationMode, report func(*ValidationError), logger *slog.Logger) (*validator, error) {
	c, err := contract.Shared()
	if err != nil {
		return nil, err
	}
	if fb := c.Fallbacks(); len(fb) > 0 {
		logger.Warn("interop: some body schemas are validated by kin-openapi, not compiled", "schemas", fb)
	}
	return &validator{
		next:     next,
		mode:     mode,
		contract: c,
		basePath: strings.TrimSuffix(base.Path, "/"),
		report:   report,
		logger:   logger,
	}, nil
}

// relPath returns the request path (escaped, as on the wire) relative to
// basePath, the client's base URL's, or false when the request is not under
// it.
func relPath(u *url.URL, basePath string) (string, bool) {
	rel, ok := strings.CutPrefix(u.EscapedPath(), basePath)
	if !ok || rel != "" && rel[0] != '/' {
		return "", false
	}
	return rel, true
}

func (v *validator) RoundTrip(req *http.Request) (*http.Response, error) {
	if v.mode == ValidationOff {
		return v.next.RoundTrip(req)
	}
	ctx := req.Context()
	rel, ok := relPath(req.URL, v.basePath)
	var op *contract.Operation
	var params map[string]string
	err := fmt.Errorf("path %q is not under the base path %q", schemaerr.Bound(req.URL.Path, 256), v.basePath)
	if ok {
		op, params, err = v.contract.Find(req.Method, rel)
	}
	if err != nil {
		verr := &ValidationError{Direction: "request", Method: req.Method, Path: schemaerr.Bound(rel, 256), Rule: "operation",
			Reason: "no operation of the contract matches: " + err.Error(), Err: err}
		if ferr := v.fail(verr); ferr != nil {
			return nil, ferr
		}
		return v.next.RoundTrip(req)
	}

	// Request: parameters and headers by kin-openapi, the body (read, then
	// put back to be sent) by the compiled schema.
	var reqBody []byte
	if req.Body != nil && req.Body != http.NoBody {
		reqBody, err = io.ReadAll(req.Body)
		_ = req.Body.Close()
		if err != nil {
			return nil, err
		}
		req.Body = io.NopCloser(bytes.NewReader(reqBody))
	}
	if err := v.contract.ValidateRequest(ctx, op, withoutBody(req), params); err != nil {
		if ferr := v.fail(describe(err, op.ID, "request", req.Method, rel, 0)); ferr != nil {
			return nil, ferr
		}
	} else if vio := op.ValidateRequestBody(req.Header.Get("Content-Type"), reqBody); vio != nil {
		if ferr := v.fail(describe(vio, op.ID, "request", req.Method, rel, 0)); ferr != nil {
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
	if st, responses := resp.StatusCode, op.Route.Operation.Responses; st >= 500 && responses.Status(st) == nil && responses.Default() == nil {
		// An undeclared 5xx is no violation: gateways and load balancers
		// answer them for the API.
		return resp, nil
	}
	if err := v.contract.ValidateResponse(ctx, op, req, resp.StatusCode, resp.Header, body); err != nil {
		verr := describe(err, op.ID, "response", req.Method, rel, resp.StatusCode)
		if resp.StatusCode >= 400 {
			// The answer is still the server's: an undeclared 413 is a bad
			// request as much as a contract violation.
			verr.Response = newAPIError(op.ID, resp, body)
		}
		if ferr := v.fail(verr); ferr != nil {
			return nil, ferr
		}
	}
	return resp, nil
}

// withoutBody is req as kin-openapi's parameter check sees it: it must not
// read the body, which is checked apart.
func withoutBody(req *http.Request) *http.Request {
	r := *req
	r.Body = http.NoBody
	return &r
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

// describe turns a validation error (the compiled validator's
// *contract.Violation or a kin-openapi error) into a ValidationError naming
// the field and the rule, bounded in size.
func describe(err error, op, dir, method, path string, status int) *ValidationError {
	ve := &ValidationError{Operation: op, Direction: dir, Method: method, Path: schemaerr.Bound(path, 256), Status: status, Err: err,
		Reason: schemaerr.Bound(err.Error(), 512)}
	var vio *contract.Violation
	if errors.As(err, &vio) {
		ve.Field, ve.Rule, ve.Reason = vio.Pointer, vio.Rule, vio.Reason
		switch {
		case vio.Rule == "contentType":
			ve.Field = "header Content-Type"
		case vio.Pointer == "":
			ve.Field = "body"
		}
		return ve
	}
	if se, ptr := schemaerr.First(err); se != nil {
		// The innermost first error: under allOf the outer one stops at
		// the object, and each inner one already carries the whole pointer.
		ve.Field = schemaerr.Pointer(ptr)
		ve.Rule = se.SchemaField
		ve.Reason = schemaerr.Bound(se.Reason, 512)
	}
	var reqErr *openapi3filter.RequestError
	if errors.As(err, &reqErr) && reqErr.Parameter != nil {
		ve.Field = reqErr.Parameter.In + " parameter " + schemaerr.Bound(reqErr.Parameter.Name, 128)
		if ve.Rule == "" {
			ve.Rule = "parameter"
		}
	}
	var respErr *openapi3filter.ResponseError
	if errors.As(err, &respErr) && ve.Rule == "" {
		switch {
		case respErr.Reason == "status is not supported":
			ve.Field, ve.Rule = "status", "status"
			ve.Reason = fmt.Sprintf("status %d is not declared for this operation", status)
		case strings.Contains(respErr.Reason, "header"):
			ve.Field, ve.Rule = "header", "header"
		default:
			ve.Field, ve.Rule = "body", "body"
		}
	}
	if ve.Field == "" {
		ve.Field = "body"
	}
	return ve
}

// The validator has no state per request; compile-time check of its type.
var _ http.RoundTripper = (*validator)(nil)
