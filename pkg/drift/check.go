package drift

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3filter"

	"github.com/interop-data/interop/pkg/client"
	"github.com/interop-data/interop/pkg/contract"
)

// Classes of the tolerated variants found by walking an answer with its
// schema, beside the client's (client.WireVariants).
const (
	// VariantUnknownField: an object member the schema does not declare.
	VariantUnknownField = "unknown-field"
	// VariantUnknownValue: a value of an open vocabulary (x-known-values)
	// the spec does not list.
	VariantUnknownValue = "unknown-value"
)

// result is what checking one exchange found.
type result struct {
	violations []Violation
	variants   []string
	notChecked []string
	refutes    bool // the answer says the operation does not exist
}

func (r *Recorder) check(ctx context.Context, op *contract.Operation, params map[string]string, rel string, ex *Exchange) result {
	var res result
	reqHeader := ex.RequestHeader
	if reqHeader == nil {
		reqHeader = http.Header{}
	}
	req := &http.Request{
		Method: ex.Method,
		URL:    &url.URL{Path: ex.URL.Path, RawPath: ex.URL.RawPath, RawQuery: ex.URL.RawQuery},
		Header: reqHeader, Body: http.NoBody, Host: "interop.invalid",
	}

	// The request: parameters and headers, then the body.
	if err := r.c.ValidateRequest(ctx, op, req, params); err != nil {
		res.violations = append(res.violations, r.describe(err, "request"))
	}
	if ex.Cut {
		res.notChecked = append(res.notChecked, "cut short")
		return res
	}
	if ex.RequestTooLarge {
		res.notChecked = append(res.notChecked, "too large: request")
	} else if v := op.ValidateRequestBody(reqHeader.Get("Content-Type"), ex.RequestBody); v != nil {
		res.violations = append(res.violations, r.describe(v, "request"))
	}

	// The answer.
	status, h := ex.Status, ex.ResponseHeader
	if h == nil {
		h = http.Header{}
	}
	responses := op.Route.Operation.Responses
	if status >= 500 && responses.Status(status) == nil && responses.Default() == nil {
		// An undeclared 5xx is no violation: gateways and load balancers
		// answer them for the API (the client judges the same way).
		return res
	}
	switch {
	case ex.ResponseTooLarge:
		res.notChecked = append(res.notChecked, "too large: response")
		return res
	case ex.ResponseBodyMissing:
		res.notChecked = append(res.notChecked, "no body recorded")
		return res
	}
	body, why := r.inflate(h, ex.ResponseBody)
	if why != "" {
		res.notChecked = append(res.notChecked, why)
		return res
	}
	status2, canonical, variants := client.WireVariants(ex.Method, rel, status, h, ex.RequestBody, body)
	res.variants = append(res.variants, variants...)
	if len(variants) > 0 {
		h = h.Clone()
		h.Set("Content-Type", "application/json")
		h.Del("Content-Encoding")
		h.Set("Content-Length", strconv.Itoa(len(canonical)))
	}
	if err := r.c.ValidateResponse(ctx, op, req, status2, h, canonical); err != nil {
		res.violations = append(res.violations, r.describe(err, "response"))
		res.refutes = status == http.StatusNotFound
	} else if status2 >= 200 && status2 <= 299 {
		res.variants = append(res.variants, r.vocab.tolerated(op, status2, h.Get("Content-Type"), canonical)...)
	}
	return res
}

// inflate undoes a gzip Content-Encoding, within maxBody; why says why a
// body cannot be checked.
func (r *Recorder) inflate(h http.Header, body []byte) ([]byte, string) {
	switch strings.ToLower(strings.TrimSpace(h.Get("Content-Encoding"))) {
	case "", "identity":
		return body, ""
	case "gzip", "x-gzip":
		if len(body) == 0 {
			return body, ""
		}
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			return nil, "content-encoding: not gzip"
		}
		out, err := io.ReadAll(io.LimitReader(zr, r.maxBody+1))
		if err != nil {
			return nil, "content-encoding: not gzip"
		}
		if int64(len(out)) > r.maxBody {
			return nil, "too large: response"
		}
		return out, ""
	}
	return nil, "content-encoding"
}

// describe turns a validation error (the compiled validator's
// *contract.Violation or a kin-openapi error) into a violation naming its
// place and rule, never a value.
func (r *Recorder) describe(err error, dir string) Violation {
	v := Violation{Direction: dir}
	var vio *contract.Violation
	if errors.As(err, &vio) {
		v.Rule = vio.Rule
		v.Pointer = r.vocab.pointer(vio.Pointer)
		if vio.Rule == "contentType" {
			v.Pointer = "header Content-Type"
		}
		return v
	}
	if se, toks := contract.FirstSchemaError(err); se != nil {
		v.Pointer = r.vocab.tokens(toks)
		v.Rule = se.SchemaField
	}
	var reqErr *openapi3filter.RequestError
	if errors.As(err, &reqErr) && reqErr.Parameter != nil {
		v.Pointer = reqErr.Parameter.In + " parameter " + r.vocab.name(reqErr.Parameter.Name)
		if v.Rule == "" {
			v.Rule = "parameter"
		}
	}
	var respErr *openapi3filter.ResponseError
	if errors.As(err, &respErr) && v.Rule == "" {
		switch {
		case respErr.Reason == "status is not supported":
			v.Pointer, v.Rule = "status", "status"
		case strings.Contains(respErr.Reason, "header"):
			v.Pointer, v.Rule = "header", "header"
		default:
			v.Pointer, v.Rule = "body", "body"
		}
	}
	if v.Rule == "" {
		v.Rule = "request"
		if dir == "response" {
			v.Rule = "response"
		}
	}
	return v
}
